//! What an upload does, and prints on stdout.

use compliance_core::cli::{self, flags, CommonFlags};
use compliance_core::transfer::{nothing_uploaded, upload_ids, upload_url_job, UploadTo};
use compliance_core::Result;
use serde::Serialize;

use crate::{open, Args};

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

/// The upload to a job by `--url`, `--id` or `--name`.
pub(crate) fn upload(args: &Args, common: &CommonFlags) -> Result<()> {
    let job_ref = flags::job_or_url(
        args.flag_url.as_deref(),
        args.flag_id.as_deref(),
        args.flag_name.as_deref(),
        args.flag_type.as_deref(),
    )?;
    let client = cli::client("upload-ids", common)?;
    let ids = open(common, &args.flag_ids_file).map_err(nothing_uploaded)?;
    let job = job_ref.map(|r| client.find_job(&r)).transpose()?;
    let url = args.flag_url.as_deref().unwrap_or_default();
    let (to, label) = match &job {
        Some(job) => (UploadTo::Job(job), job.label()),
        None => (UploadTo::Url(url), "the upload URL".to_string()),
    };
    upload_ids(&client, to, &ids)?;
    let stats = ids.stats();
    client.reporter().note(format!(
        "uploaded {} IDs from {} to {label}; {} blank line(s) skipped",
        stats.ids,
        ids.name(),
        stats.skipped
    ));
    let job = match &job {
        Some(job) => Some(job.id().to_string()),
        None => upload_url_job(&client, url).map(|id| id.as_str().to_string()),
    };
    common.print_json(&UploadSummary {
        job,
        file: &args.flag_ids_file,
        ids: stats.ids,
        blank_lines: stats.skipped,
        bytes: stats.normalised_bytes,
    })
}
