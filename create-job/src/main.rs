//! The create-job program: `-h` prints USAGE; `--help` prints it, then the
//! manual (manual.txt).

const USAGE: &str = concat!(
    "
Create a batch compliance job: POST /2/compliance/jobs.

Usage:
  create-job --type <type> [options]
  create-job (-h | --help)
  create-job (-V | --version)

Options:
  --type <type>         tweets or users: what the IDs you will upload are.
  --name <name>         A name for the job, 1 to 64 characters, to find it
                        again by (--name in the other stages takes the
                        newest job of that name). A name may be used again
                        once its job has finished (complete, failed or
                        expired), not while an active job of the type has it.
  --resumable           Ask for an upload URL that takes resumable uploads.
  --replace             Only one job of a type may be active: cancel the
                        active one (created or in_progress; it becomes
                        failed) and say which, then create the new job.
",
    compliance_core::common_options!(),
    "\n",
    compliance_core::environment!(),
    compliance_core::exit_codes!(),
);

use compliance_core::cli::{self, flags, CommonFlags};
use compliance_core::{NewJob, Result};
use serde::Deserialize;

#[derive(Deserialize)]
struct Args {
    flag_type: String,
    flag_name: Option<String>,
    flag_resumable: bool,
    flag_replace: bool,
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
    let new = NewJob {
        job_type: flags::value("--type", &args.flag_type)?,
        name: flags::name(args.flag_name.as_deref())?,
        resumable: args.flag_resumable,
    };
    let client = cli::client("create-job", &common)?;
    if args.flag_replace {
        client.cancel_active(new.job_type)?;
    }
    let job = client.create_job(&new)?;
    // The job exists now: if stdout fails, even for a reader that has gone,
    // stderr still names it and the run fails.
    common.print_json(&job).map_err(|e| {
        let what = format!("{} was created, but printing it failed", job.describe());
        e.mattered(format!("{what} (list-job --id {} shows it)", job.id()))
    })
}
