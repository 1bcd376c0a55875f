const USAGE: &str = "
Show one batch compliance job: GET /2/compliance/jobs/:id.

Prints the job as JSON on stdout. By --name, finds the job with exactly that
name among the jobs of --type, or of both types; if several have it, says so
on stderr and shows the newest. With --wait, polls until the job is
complete, failed or expired, showing its status on stderr, then prints it.

Usage:
  list-job (--id <id> | --name <name>) [options]
  list-job (-h | --help)
  list-job --version

Options:
  --id <id>             The job id (1 to 19 digits).
  --name <name>         The job's name.
  --type <type>         With --name: look only among tweets or users jobs.
  --wait                Poll until the job is complete, failed or expired.
  --interval <secs>     The longest pause between polls [default: 30].
  --timeout <secs>      Stop waiting after this long (default: no limit).
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
  0  the job was shown (with --wait: it is complete)
  1  the API or the network failed, no such job, or (with --wait) the job
     failed or expired
  2  usage error: a bad flag or value, no BEARER_TOKEN
";

use compliance_core::wait::{wait_for_job, Patience};
use compliance_core::{cli, JobRef, Status};
use serde::Deserialize;

#[derive(Deserialize)]
struct Args {
    flag_id: String,
    flag_name: String,
    flag_type: String,
    flag_wait: bool,
    flag_interval: String,
    flag_timeout: String,
}

fn main() {
    let (args, common): (Args, _) = cli::args(USAGE, env!("CARGO_PKG_VERSION"));
    cli::run(|| {
        let job_ref = JobRef::from_flags(&args.flag_id, &args.flag_name, &args.flag_type)?;
        let patience = Patience::from_flags(&args.flag_interval, &args.flag_timeout)?;
        let client = cli::client("list-job", &common)?;
        let mut job = client.find_job(&job_ref)?;
        if args.flag_wait {
            job = wait_for_job(&client, job, patience)?;
        }
        cli::print_json(&job)?;
        match job.status() {
            Status::Failed | Status::Expired if args.flag_wait => {
                anyhow::bail!("{} ended without results", job.describe())
            }
            _ => Ok(()),
        }
    })
}
