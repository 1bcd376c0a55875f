const USAGE: &str = "
List batch compliance jobs: GET /2/compliance/jobs.

Prints the jobs as a JSON array on stdout, newest first; `[]` if there are
none. Without --type, lists both tweets and users jobs.

Usage:
  list-jobs [options]
  list-jobs (-h | --help)
  list-jobs --version

Options:
  --type <type>         tweets or users (default: both).
  --status <status>     Only jobs with this status: created, in_progress,
                        complete, failed or expired.
  --retries <n>         Retries of a failed request or transfer [default: 5].
  --retry-time <secs>   The longest the retries of one step take [default: 900].
  --stall <secs>        Seconds without a byte before a read fails [default: 60].
  -q, --quiet           No progress or notes on stderr; errors still show.
  -h, --help            Show this text.
  --version             Show the version.

Environment:
  BEARER_TOKEN          Your app's app-only bearer token (required).
  X_API_URL             The API base (default https://api.x.com).

Exit codes:
  0  the jobs were listed (maybe none)
  1  the API or the network failed
  2  usage error: a bad flag or value, no BEARER_TOKEN
";

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
