//! What `upload-ids --check` does, and prints on stdout.

use compliance_core::cli::CommonFlags;
use compliance_core::transfer::API_HOST_UPLOAD_LIMIT;
use compliance_core::{usage_bail, Result};
use serde::Serialize;

use crate::{open, Args};

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

/// `--check`: the check of an upload, and the count of duplicates; no job,
/// no token, no request.
pub(crate) fn check(args: &Args, common: &CommonFlags) -> Result<()> {
    let job_flags = [
        &args.flag_url,
        &args.flag_id,
        &args.flag_name,
        &args.flag_type,
    ];
    if job_flags.iter().any(|flag| flag.is_some()) {
        usage_bail!("--check takes no job: leave out --url, --id, --name and --type");
    }
    let ids = open(common, &args.flag_ids_file)?;
    let duplicate_ids = ids.count_duplicates(common.reporter())?;
    let stats = ids.stats();
    let over_api_host_limit = stats.normalised_bytes > API_HOST_UPLOAD_LIMIT;
    common.reporter().note(format!(
        "{} passes: {} IDs ({duplicate_ids} duplicate(s)), {} blank line(s) skipped, \
         {} bytes to send",
        ids.name(),
        stats.ids,
        stats.skipped,
        stats.normalised_bytes
    ));
    if over_api_host_limit {
        common.reporter().note(format!(
            "{} bytes are over the API host's limit of {API_HOST_UPLOAD_LIMIT} bytes (1 GiB) \
             for one upload (the 2026 flow): split the IDs over several jobs",
            stats.normalised_bytes
        ));
    }
    common.print_json(&CheckSummary {
        file: &args.flag_ids_file,
        ids: stats.ids,
        blank_lines: stats.skipped,
        duplicate_ids,
        bytes: stats.normalised_bytes,
        over_api_host_limit,
    })
}
