//! The list-job program: `-h` prints USAGE; `--help` prints it, then the
//! manual (manual.txt).

const USAGE: &str = concat!(
    "
Show one batch compliance job: GET /2/compliance/jobs/:id.

Usage:
  list-job (--id <id> | --name <name>) [options]
  list-job (-h | --help)
  list-job (-V | --version)

Options:
  --id <id>             The job id (1 to 19 digits).
  --name <name>         The job's name.
  --type <type>         With --name: look only among tweets or users jobs.
  --wait                Poll until the job is complete, failed or expired.
  --interval <secs>     The longest pause between polls [default: 30].
  --timeout <secs>      Stop after this long (default: no limit).
  --json                JSON even on a terminal (piped, it always is).
",
    compliance_core::common_options!(),
    "\n",
    compliance_core::environment!(),
    compliance_core::exit_codes!(),
);

use compliance_core::cli::{self, flags, CommonFlags};
use compliance_core::wait::wait_for_job;
use compliance_core::{Error, ErrorKind, Result, Status};
use serde::Deserialize;

#[derive(Deserialize)]
struct Args {
    flag_id: Option<String>,
    flag_name: Option<String>,
    flag_type: Option<String>,
    flag_wait: bool,
    flag_interval: String,
    flag_timeout: Option<String>,
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
    let job_ref = flags::job(
        args.flag_id.as_deref(),
        args.flag_name.as_deref(),
        args.flag_type.as_deref(),
    )?;
    // First: --timeout counts from here.
    let patience = flags::patience(&args.flag_interval, args.flag_timeout.as_deref())?;
    let client = cli::client("list-job", &common)?;
    let mut job = client.find_job_within(&job_ref, patience.deadline())?;
    if args.flag_wait {
        job = wait_for_job(&client, job, patience)?;
    }
    let printed = cli::table::print_job(&common, &job, args.flag_json);
    // A wait that ends without results fails, even if stdout's reader has gone.
    match job.status() {
        Status::Failed | Status::Expired if args.flag_wait => Err(Error::new(
            ErrorKind::Job,
            format!("{} ended without results", job.describe()),
        )),
        _ => printed,
    }
}
