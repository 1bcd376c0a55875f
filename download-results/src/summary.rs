//! What download-results prints on stdout when the results went to a file.

use std::collections::BTreeMap;

use compliance_core::transfer::{Destination, Downloaded};
use serde::Serialize;

/// The summary printed on stdout when the results went to a file; its keys
/// are for scripts, and stay.
#[derive(Serialize)]
pub(crate) struct JsonSummary<'a> {
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
    pub(crate) fn new(dest: &Destination, done: &'a Downloaded) -> JsonSummary<'a> {
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
