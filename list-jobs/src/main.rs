const USAGE: &str = concat!(
    "
List batch compliance jobs: GET /2/compliance/jobs.

Prints the jobs as a JSON array on stdout, newest first; `[]` if there are
none. Without --type, lists both tweets and users jobs.

Usage:
  list-jobs [options]
  list-jobs (-h | --help)
  list-jobs (-V | --version)

Options:
  --type <type>         tweets or users (default: both).
  --status <status>     Only jobs with this status: created, in_progress,
                        complete, failed or expired.
",
    compliance_core::common_options!(),
    "\n",
    compliance_core::environment!(),
    "\n",
    compliance_core::exit_codes!(),
);

use compliance_core::cli::{self, flags, CommonFlags};
use serde::Deserialize;

#[derive(Deserialize)]
struct Args {
    flag_type: Option<String>,
    flag_status: Option<String>,
}

fn main() -> std::process::ExitCode {
    cli::main(USAGE, env!("CARGO_PKG_VERSION"), run)
}

fn run(args: Args, common: CommonFlags) -> compliance_core::anyhow::Result<()> {
    let job_type = flags::job_type(args.flag_type.as_deref())?;
    let status = flags::status(args.flag_status.as_deref())?;
    let client = cli::client("list-jobs", &common)?;
    let jobs = client.list_all(job_type, status.as_ref())?;
    cli::print_json(&jobs)
}
