//! The list-jobs program: `-h` prints USAGE; `--help` prints it, then the
//! manual (manual.txt).

const USAGE: &str = concat!(
    "
List batch compliance jobs: GET /2/compliance/jobs.

Usage:
  list-jobs [options]
  list-jobs (-h | --help)
  list-jobs (-V | --version)

Options:
  --type <type>         tweets or users (default: both).
  --status <status>     Only jobs with this status: created, in_progress,
                        complete, failed or expired.
  --json                JSON even on a terminal (piped, it always is).
",
    compliance_core::common_options!(),
    "\n",
    compliance_core::environment!(),
    compliance_core::exit_codes!(),
);

use compliance_core::cli::{self, flags, CommonFlags};
use compliance_core::Result;
use serde::Deserialize;

#[derive(Deserialize)]
struct Args {
    flag_type: Option<String>,
    flag_status: Option<String>,
    flag_json: bool,
}

fn main() -> std::process::ExitCode {
    cli::main(
        USAGE,
        include_str!("manual.txt"),
        env!("CARGO_PKG_VERSION"),
        run,
    )
}

fn run(args: Args, common: CommonFlags) -> Result<()> {
    let job_type = flags::job_type(args.flag_type.as_deref())?;
    let status = flags::status(args.flag_status.as_deref())?;
    let client = cli::client("list-jobs", &common)?;
    let jobs = client.list_all(job_type, status.as_ref())?;
    cli::table::print_jobs(&common, &jobs, job_type, status.as_ref(), args.flag_json)
}
