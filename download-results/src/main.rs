const USAGE: &str = concat!(
    r#"
Download a batch compliance job's results from its signed download URL.

The results are JSON Lines, one object per compliance event (id, action,
created_at, redacted_at, reason); IDs without an event are compliant. Each
line is checked as it streams into a temporary file beside --results-file,
and storage's hash (its CRC32C, or its MD5 when it sends no CRC32C) is
checked over the bytes downloaded; the file is renamed into place only when the body is whole and checked: after
a failure there is no file at that path. A line that is not a JSON
object, that is not text (bytes that are not UTF-8, or half a surrogate
pair escaped alone) or that is an error from the server rather than a
result fails the download, in either format; so does a body that ends
where the connection closes (no length, no chunks) unless storage's
hashes cover it. A redirect is followed only to https:// (or to this
machine), without the token. A FIFO or a device is written straight
through (a FIFO whose reader stops before the end is a failure), a
symbolic link is followed, and a replaced file keeps its permissions. `-` writes the results to stdout instead. Given by the
job's --id or --name, the job is looked up first and must be complete (or,
with --wait, is waited for) and its download not expired (7 days after the
job was created). A job without IDs yet has no results: with --wait, the wait
goes on until someone uploads them or its upload window closes. A folder
where no file can be written is found before any request or wait.

Several --id (or --url) put the results of several jobs into the one
results file, in the order given, as lifecycle.sh does with the jobs of a
run it split into parts: JSON Lines one body after another (a line end put
between two when the first lacks one), CSV under one header. The jobs are
looked up first; each is waited for (with --wait) and downloaded in turn,
and checked as a download of its own. The file appears only when every
job's results are whole; the summaries count them all.

With --check, the command line and --results-file are checked as a
download would check them (a folder, or one that does not exist, is exit
2; a folder where no file can be written, exit 1), and so is the name of
a --name, and that is all: no token is needed and no request is made.

With --format jsonl (the default) the lines are written exactly as they
came. With --format csv the file starts with the header
  id,action,reason,created_at,redacted_at
then has one row per event. Rows end in LF (\n). A field is quoted only
when it holds a comma, a double quote, CR or LF, a double quote inside
doubled (RFC 4180). A missing or null field (often redacted_at) is empty;
a value that is not a string is written as its JSON text. Records that are
not events (objects without string id, action and reason) are left out of
the CSV and counted in the summaries. No cell is a formula to a
spreadsheet (OWASP's advice on CSV injection): a value that starts with
=, +, -, @, a tab, CR or NUL (after any ' of its own) is quoted with a '
put first ("'=1+1"). The API's results never start so; a server that is
not the API may. apply-results takes the ' off again.

When the results go to a file (or a FIFO or a device), a JSON summary is
printed on stdout once they are whole and checked, even with --quiet:
  {"file": <path written>, "format": "jsonl" or "csv",
   "bytes": <bytes written>, "lines": <non-empty lines downloaded>,
   "events": <events>, "reasons": {<reason>: <events>, ...},
   "other_records": <lines that are not events>}
With -, stdout carries the results alone. Either way a one-line summary
goes to stderr (not with --quiet), such as
  results.csv: 3 compliance events (deleted 2, protected 1)

Usage:
  download-results (--url <download-url> [--url <download-url>]... | --id <id> [--id <id>]... | --name <name>) --results-file <file> [options]
  download-results --results-file <file> --check [--name <name>] [--format <fmt>]
  download-results (-h | --help)
  download-results (-V | --version)

Options:
  --url <download-url>  The job's download_url, as create-job printed it;
                        repeated, the URLs of several jobs.
  --id <id>             The job id (1 to 19 digits); repeated, several jobs.
  --name <name>         The job's name (the newest job with that name).
  --type <type>         With --name: look only among tweets or users jobs.
  --results-file <file>
                        Where to write the results; - for stdout.
  --format <fmt>        jsonl or csv [default: jsonl].
  --wait                Wait for the job to complete first.
  --interval <secs>     The longest pause between polls [default: 30]. Polls
                        start sooner, come at most once a second, and share
                        out what the rate limit has left over its window.
  --timeout <secs>      Stop after this long from the start: the lookup of
                        the job and the wait, their retries and rate-limit
                        pauses included, not the download that follows; a
                        rate limit that resets later stops at once, naming
                        the reset (default: no limit).
  --check               Check the flags and --results-file, then stop.
"#,
    compliance_core::common_options!(),
    "\n",
    compliance_core::environment!(),
    "\n",
    compliance_core::exit_codes!(),
);

use std::collections::BTreeMap;

use compliance_core::anyhow;
use compliance_core::cli::{self, flags, CommonFlags};
use compliance_core::transfer::{download_sources, Destination, Downloaded, Source};
use compliance_core::JobRef;
use serde::{Deserialize, Serialize};

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
    cli::main(USAGE, env!("CARGO_PKG_VERSION"), run)
}

fn run(args: Args, common: CommonFlags) -> anyhow::Result<()> {
    let patience = flags::patience(&args.flag_interval, args.flag_timeout.as_deref())?;
    let format = flags::format(&args.flag_format)?;
    let dest = flags::results_file(&args.flag_results_file)?;
    if args.flag_check {
        // A name, when given, must be one a job can have (lifecycle.sh's
        // longest part name).
        flags::name(args.flag_name.as_deref())?;
        return dest.check();
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
    cli::note(format!(
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
        cli::warn(warning);
    }
    // On standard output the results are the data: no summary there.
    if dest != Destination::Stdout {
        cli::print_json(&JsonSummary::new(&dest, &done))?;
    }
    Ok(())
}

/// The summary printed on stdout when the results went to a file; its keys
/// are for scripts, and stay.
#[derive(Serialize)]
struct JsonSummary<'a> {
    /// The path written (a symbolic link followed).
    file: String,
    format: &'static str,
    /// Bytes written to the file.
    bytes: u64,
    /// Non-empty lines of the download: events and other records.
    lines: u64,
    events: u64,
    reasons: &'a BTreeMap<String, u64>,
    other_records: u64,
}

impl<'a> JsonSummary<'a> {
    fn new(dest: &Destination, done: &'a Downloaded) -> JsonSummary<'a> {
        JsonSummary {
            file: dest.describe(),
            format: done.format.as_str(),
            bytes: done.bytes,
            lines: done.summary.lines,
            events: done.summary.events,
            reasons: &done.summary.reasons,
            other_records: done.summary.other_records,
        }
    }
}
