//! The download-results program: `-h` prints USAGE; `--help` prints it,
//! then the manual (manual.txt).

const USAGE: &str = concat!(
    r#"
Download a batch compliance job's results from its signed download URL.

Usage:
  download-results (--url <download-url> [--url <download-url>]... | --id <id> [--id <id>]... | --name <name>) --results-file <file> [options]
  download-results --results-file <file> --check [--name <name>] [--format <fmt>]
  download-results (-h | --help)
  download-results (-V | --version)

Options:
  --url <download-url>  The job's download_url; repeated, several jobs.
  --id <id>             The job id (1 to 19 digits); repeated, several jobs.
  --name <name>         The job's name (the newest job with that name).
  --type <type>         With --name: look only among tweets or users jobs.
  --results-file <file>
                        Where to write the results; - for stdout.
  --format <fmt>        jsonl or csv [default: jsonl].
  --wait                Wait for the job to complete first.
  --interval <secs>     The longest pause between polls [default: 30].
  --timeout <secs>      Stop waiting after this long (default: no limit).
  --check               Check the flags and --results-file, then stop.
"#,
    compliance_core::common_options!(),
    "\n",
    compliance_core::environment!(),
    compliance_core::exit_codes!(),
);

mod summary;

use compliance_core::cli::{self, flags, CommonFlags};
use compliance_core::transfer::{download_sources, Destination, Source};
use compliance_core::{JobRef, Result};
use serde::Deserialize;
use summary::JsonSummary;

#[derive(Deserialize)]
struct Args {
    flag_url: Vec<String>,
    flag_id: Vec<String>,
    flag_name: Option<String>,
    flag_type: Option<String>,
    flag_results_file: String,
    flag_format: String,
    flag_wait: bool,
    flag_interval: String,
    flag_timeout: Option<String>,
    flag_check: bool,
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
    let patience = flags::patience(&args.flag_interval, args.flag_timeout.as_deref())?;
    let format = flags::format(&args.flag_format)?;
    let dest = flags::results_file(&common, &args.flag_results_file)?;
    if args.flag_check {
        // A name, when given, must be one a job can have (lifecycle.sh's
        // longest part name).
        flags::name(args.flag_name.as_deref())?;
        return dest.check(common.reporter());
    }
    let sources = flags::sources(
        &args.flag_url,
        &args.flag_id,
        args.flag_name.as_deref(),
        args.flag_type.as_deref(),
        args.flag_wait,
    )?;
    let client = cli::client("download-results", &common)?;
    let (done, mut jobs) =
        download_sources(&client, &sources, &dest, format, patience, args.flag_wait)?;
    client.reporter().note(format!(
        "{}: {}",
        dest.describe(),
        done.summary.describe(format)
    ));
    // The job found by --name: it may be the first part of a split run.
    let named = match &sources[..] {
        [Source::Job(JobRef::Name { .. })] => jobs.pop(),
        _ => None,
    };
    // Even with --quiet: a script must learn that the file is part 1 only.
    if let Some(warning) =
        named.and_then(|first| client.split_run_warning(&first, &dest.describe()))
    {
        client.reporter().warn(warning);
    }
    // On standard output the results are the data: no summary there.
    if dest != Destination::Stdout {
        common.print_json(&JsonSummary::new(&dest, &done))?;
    }
    Ok(())
}
