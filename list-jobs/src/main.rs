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

use compliance_core::{cli, JobType, Status};
use serde::Deserialize;

#[derive(Deserialize)]
struct Args {
    flag_type: Option<String>,
    flag_status: Option<String>,
}

fn main() {
    let (args, common): (Args, _) = cli::args(USAGE, env!("CARGO_PKG_VERSION"));
    cli::run(|| {
        let job_type = args
            .flag_type
            .as_deref()
            .map(JobType::from_flag)
            .transpose()?;
        let status = args
            .flag_status
            .as_deref()
            .map(Status::from_flag)
            .transpose()?;
        let client = cli::client("list-jobs", &common)?;
        let jobs = client.list_all(job_type, status.as_ref())?;
        cli::print_json(&jobs)
    })
}
