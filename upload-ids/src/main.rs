const USAGE: &str = concat!(
    r#"
Upload a file of IDs to a batch compliance job's signed upload URL, or only
check it (--check).

The file holds one Tweet or user ID per line (1 to 19 digits). It is checked
in full before a byte is sent: spaces and tabs around an ID, CRLF line ends,
a UTF-8 byte order mark at the start and blank lines are normalised away; any
other line is an error naming the file, its line number and content, and
nothing is sent. What is sent is the normalised file (one ID per line, LF),
streamed, as text/plain. By --id or --name, the job is looked up first and
must still be `created` with its upload window (15 minutes) open. A note
goes to stderr, and a summary to stdout as JSON, for scripts:

  {
    "job": "1425543269983784962",
    "file": "ids.txt",
    "ids": 1000,
    "blank_lines": 3,
    "bytes": 20000
  }

job is the job's id; null for a --url that does not name its job (only the
API host's own form does, .../2/compliance/jobs/<id>/upload). file is the
file as given ("-" for standard input); ids the IDs sent; blank_lines the
blank lines skipped; bytes the size of what was sent, the normalised file.

With --check, no job, token or network is needed: the file is checked and
normalised just as for an upload (a pipe too), nothing is sent, and the
summary on stdout also counts the duplicates (exit 0: the file passes):

  {
    "file": "ids.txt",
    "ids": 1000,
    "blank_lines": 3,
    "duplicate_ids": 2,
    "bytes": 20000,
    "over_api_host_limit": false
  }

duplicate_ids counts the IDs that repeat an earlier one (an ID there three
times counts two). They are compared as text, as the API takes them: 007
and 7 are two IDs. over_api_host_limit is true when bytes is over 1 GiB, the
most one upload takes on the API host (the 2026 flow), which refuses such a
file before it is sent: split it over several jobs. A bad file is an error
(exit 2), as for an upload, and prints nothing on stdout. The count sorts
the IDs in runs of half a million: memory stays flat, and a file of more
IDs takes up to 8 bytes an ID in a private temporary file in $TMPDIR (or
/tmp), unnamed, gone when the check ends. An upload does not count them.

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
no longer as checked), the upload stops, incomplete, and fails (exit 1). A
job that already has its IDs, or whose upload window has closed, takes no
more (exit 1): a new check needs a new job.

When an upload's answer is lost and the retry is refused, the upload may
well have arrived: the job is asked (by --id or --name, or a --url of the
API host's own form, .../2/compliance/jobs/<id>/upload), and if it has
moved on the upload counts as done. With any other --url the error says how
to check with list-job.

A job takes one upload. Where the job is known (the same three ways), it is
looked at again just before the last byte: if it has moved on meanwhile,
another upload reached it first, and this one stops short of its end and
fails (exit 1). Two uploads that end within the same moment, or any to a
storage --url, cannot be told apart: run one upload per job.

Storage is held to what was sent: a redirect, an upload called complete
before its last byte, or a resumable session that claims bytes never sent
or loses bytes it had confirmed is a failure saying what storage answered;
a chunk of which storage keeps nothing counts against --retries and
--retry-time.

Usage:
  upload-ids --ids-file <file> (--url <upload-url> | --id <id> | --name <name>) [options]
  upload-ids --ids-file <file> --check [options]
  upload-ids (-h | --help)
  upload-ids (-V | --version)

Options:
  --ids-file <file>     The ID file; - for standard input.
  --url <upload-url>    The job's upload_url, as create-job printed it.
  --id <id>             The job id (1 to 19 digits).
  --name <name>         The job's name (the newest job with that name).
  --type <type>         With --name: look only among tweets or users jobs.
  --check               Only check the file and count its duplicates; send
                        nothing (no job, no token, no request).
"#,
    compliance_core::common_options!(),
    "\n",
    compliance_core::environment!(),
    "\n",
    compliance_core::exit_codes!(),
);

use compliance_core::anyhow::Result;
use compliance_core::cli::{self, flags, CommonFlags};
use compliance_core::ids::IdFile;
use compliance_core::transfer::{upload_ids, upload_url_job, UploadTo, API_HOST_UPLOAD_LIMIT};
use compliance_core::usage_bail;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Args {
    flag_ids_file: String,
    flag_url: Option<String>,
    flag_id: Option<String>,
    flag_name: Option<String>,
    flag_type: Option<String>,
    flag_check: bool,
}

/// What `--check` prints on stdout. The keys are for scripts: keep them.
#[derive(Serialize)]
struct CheckSummary<'a> {
    /// The file as given; "-" for standard input.
    file: &'a str,
    /// IDs found: what an upload sends.
    ids: u64,
    /// Blank lines skipped.
    blank_lines: u64,
    /// IDs that repeat an earlier one, compared as text.
    duplicate_ids: u64,
    /// The size of the normalised file: what an upload sends.
    bytes: u64,
    /// `bytes` is over the single-upload limit of the API host (1 GiB).
    over_api_host_limit: bool,
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

fn main() -> std::process::ExitCode {
    cli::main(
        USAGE,
        env!("CARGO_PKG_VERSION"),
        |args: Args, common| match args.flag_check {
            true => check(&args),
            false => upload(&args, &common),
        },
    )
}

/// Checks the ID file as given: a path, or "-" for standard input.
fn open(file: &str) -> Result<IdFile> {
    match file {
        "-" => IdFile::check_stdin(),
        path => IdFile::check(&cli::path(path)),
    }
}

/// `--check`: the check of an upload, and the count of duplicates; no job,
/// no token, no request.
fn check(args: &Args) -> Result<()> {
    let job_flags = [
        &args.flag_url,
        &args.flag_id,
        &args.flag_name,
        &args.flag_type,
    ];
    if job_flags.iter().any(|flag| flag.is_some()) {
        usage_bail!("--check takes no job: leave out --url, --id, --name and --type");
    }
    let ids = open(&args.flag_ids_file)?;
    let duplicate_ids = ids.count_duplicates()?;
    let stats = ids.stats();
    let over_api_host_limit = stats.normalised_bytes > API_HOST_UPLOAD_LIMIT;
    cli::note(format!(
        "{} passes: {} IDs ({duplicate_ids} duplicate(s)), {} blank line(s) skipped, \
         {} bytes to send",
        ids.name(),
        stats.ids,
        stats.skipped,
        stats.normalised_bytes
    ));
    if over_api_host_limit {
        cli::note(format!(
            "{} bytes are over the API host's limit of {API_HOST_UPLOAD_LIMIT} bytes (1 GiB) \
             for one upload (the 2026 flow): split the IDs over several jobs",
            stats.normalised_bytes
        ));
    }
    cli::print_json(&CheckSummary {
        file: &args.flag_ids_file,
        ids: stats.ids,
        blank_lines: stats.skipped,
        duplicate_ids,
        bytes: stats.normalised_bytes,
        over_api_host_limit,
    })
}

/// The upload to a job by `--url`, `--id` or `--name`.
fn upload(args: &Args, common: &CommonFlags) -> Result<()> {
    let job_ref = flags::job_or_url(
        args.flag_url.as_deref(),
        args.flag_id.as_deref(),
        args.flag_name.as_deref(),
        args.flag_type.as_deref(),
    )?;
    let client = cli::client("upload-ids", common)?;
    let ids = open(&args.flag_ids_file)?;
    let job = job_ref.map(|r| client.find_job(&r)).transpose()?;
    let url = args.flag_url.as_deref().unwrap_or_default();
    let (to, label) = match &job {
        Some(job) => (UploadTo::Job(job), job.label()),
        None => (UploadTo::Url(url), "the upload URL".to_string()),
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
        None => upload_url_job(&client, url).map(|id| id.as_str().to_string()),
    };
    cli::print_json(&UploadSummary {
        job,
        file: &args.flag_ids_file,
        ids: stats.ids,
        blank_lines: stats.skipped,
        bytes: stats.normalised_bytes,
    })
}
