const USAGE: &str = "
Upload a file of IDs to a batch compliance job's signed upload URL.

The file holds one Tweet or user ID per line (1 to 19 digits). It is checked
in full before a byte is sent: spaces and tabs around an ID, CRLF line ends,
a UTF-8 byte order mark at the start and blank lines are normalised away; any
other line is an error naming the file, its line number and content, and
nothing is sent. What is sent is the normalised file (one ID per line, LF),
streamed, as text/plain. By --id or --name, the job is looked up first and
must still be `created` with its upload window (15 minutes) open. A note
goes to stderr, and a summary to stdout as JSON, for scripts:

  {
    \"job\": \"1425543269983784962\",
    \"file\": \"ids.txt\",
    \"ids\": 1000,
    \"blank_lines\": 3,
    \"bytes\": 20000
  }

job is the job's id; null for a --url that does not name its job (only the
API host's own form does, .../2/compliance/jobs/<id>/upload). file is the
file as given (\"-\" for standard input); ids the IDs sent; blank_lines the
blank lines skipped; bytes the size of what was sent, the normalised file.

The IDs may come from a pipe: `--ids-file -` reads standard input (e.g.
`jq -r .id archive.jsonl | upload-ids --ids-file - --name x`), and a FIFO,
`/dev/stdin` or a process substitution such as `<(cut -f1 ids.tsv)` work
too. Anything that is not a regular file is read once, to its end, into a
private temporary file in $TMPDIR (or /tmp), unnamed and readable by this
process alone, gone when it ends however it ends; that copy is checked and
sent. It takes as much disk as the input: for a big file, give its name. (A
file named `-` is `./-`.)

A regular file is read where it is, once to check it and again to send it,
checked again as it goes: if it changes in between (shorter, longer, a line
no longer as checked), the upload stops, incomplete, and fails (exit 1).

When an upload's answer is lost and the retry is refused, the upload may
well have arrived: the job is asked (by --id or --name, or a --url of the
API host's own form, .../2/compliance/jobs/<id>/upload), and if it has
moved on the upload counts as done. With any other --url the error says how
to check with list-job.

Usage:
  upload-ids --ids-file <file> (--url <upload-url> | --id <id> | --name <name>) [options]
  upload-ids (-h | --help)
  upload-ids --version

Options:
  --ids-file <file>     The ID file; - for standard input.
  --url <upload-url>    The job's upload_url, as create-job printed it.
  --id <id>             The job id (1 to 19 digits).
  --name <name>         The job's name (the newest job with that name).
  --type <type>         With --name: look only among tweets or users jobs.
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
  0  the IDs were uploaded; the job starts processing them
  1  the API, storage or the network failed, no such job, the job no longer
     takes IDs (already uploaded, or its upload window closed), or the ID
     file changed while it was being sent
  2  usage or input error: a bad flag, a bad or empty ID file, no BEARER_TOKEN
";

use std::path::Path;

use compliance_core::ids::IdFile;
use compliance_core::transfer::{upload_ids, upload_url_job, UploadTo};
use compliance_core::{cli, JobRef};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Args {
    flag_ids_file: String,
    flag_url: String,
    flag_id: String,
    flag_name: String,
    flag_type: String,
}

/// What an upload prints on stdout. The keys are for scripts: keep them.
#[derive(Serialize)]
struct UploadSummary<'a> {
    /// The job's id; `None` (null) for a `--url` that does not name its job.
    job: Option<String>,
    /// The file as given; "-" for standard input.
    file: &'a str,
    /// IDs sent.
    ids: u64,
    /// Blank lines skipped.
    blank_lines: u64,
    /// Bytes sent: the normalised file.
    bytes: u64,
}

fn main() {
    let (args, common): (Args, _) = cli::args(USAGE, env!("CARGO_PKG_VERSION"));
    cli::run(|| upload(&args, &common))
}

/// Checks the ID file as given: a path, or "-" for standard input.
fn open(file: &str) -> anyhow::Result<IdFile> {
    match file {
        "-" => IdFile::check_stdin(),
        path => IdFile::check(Path::new(path)),
    }
}

/// The upload to a job by `--url`, `--id` or `--name`.
fn upload(args: &Args, common: &cli::CommonFlags) -> anyhow::Result<()> {
    let job_ref = JobRef::from_flags_or_url(
        &args.flag_url,
        &args.flag_id,
        &args.flag_name,
        &args.flag_type,
    )?;
    let client = cli::client("upload-ids", common)?;
    let ids = open(&args.flag_ids_file)?;
    let job = job_ref.map(|r| client.find_job(&r)).transpose()?;
    let (to, label) = match &job {
        Some(job) => (UploadTo::Job(job), job.label()),
        None => (UploadTo::Url(&args.flag_url), "the upload URL".to_string()),
    };
    upload_ids(&client, to, &ids)?;
    let stats = ids.stats();
    cli::note(format!(
        "uploaded {} IDs from {} to {label}; {} blank line(s) skipped",
        stats.ids,
        ids.name(),
        stats.skipped
    ));
    let job = match &job {
        Some(job) => Some(job.id().to_string()),
        None => upload_url_job(&client, &args.flag_url).map(|id| id.as_str().to_string()),
    };
    cli::print_json(&UploadSummary {
        job,
        file: &args.flag_ids_file,
        ids: stats.ids,
        blank_lines: stats.skipped,
        bytes: stats.normalised_bytes,
    })
}
