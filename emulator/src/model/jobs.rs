//! Compliance jobs as data: what a job is, its status computed lazily
//! from the emulator clock, and the job object the API shows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::clock;
use super::hashes::Hashes;
use super::results::Kind;

/// The snowflake epoch, for job ids.
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;

/// The documented job statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Created,
    InProgress,
    Failed,
    Complete,
    Expired,
}

impl Status {
    /// The API's value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::InProgress => "in_progress",
            Status::Failed => "failed",
            Status::Complete => "complete",
            Status::Expired => "expired",
        }
    }
}

/// Where the results of an uploaded job stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pending,
    Ready,
    Failed,
}

/// A job as of the emulator's clock when the snapshot was taken.
#[derive(Clone, Debug, PartialEq)]
pub struct JobSnapshot {
    /// The job id.
    pub id: String,
    /// `tweets` or `users`.
    pub job_type: String,
    /// The name given at creation.
    pub name: Option<String>,
    /// `created`, `in_progress`, `complete`, `failed` or `expired`.
    pub status: String,
    /// Whether uploads use the resumable protocol.
    pub resumable: bool,
    /// The signed upload URL.
    pub upload_url: String,
    /// The signed download URL.
    pub download_url: String,
    /// The job object exactly as the API would return it now.
    pub json: serde_json::Value,
}

/// One job.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) id: String,
    pub(crate) kind: Kind,
    pub(crate) name: Option<String>,
    pub(crate) resumable: bool,
    pub(crate) created_ms: i64,
    pub(crate) upload_expires_ms: i64,
    pub(crate) download_expires_ms: i64,
    pub(crate) upload_url: String,
    pub(crate) download_url: String,
    /// Emulator time at which the upload completed.
    pub(crate) uploaded_ms: Option<i64>,
    pub(crate) results: Outcome,
    /// The hashes of the results object, once it is written.
    pub(crate) results_hashes: Option<Hashes>,
    /// Set by a cancel; also polled by the results generator.
    pub(crate) cancelled: Arc<AtomicBool>,
}

impl Job {
    /// The status as of `now_ms`.
    pub(crate) fn status(&self, now_ms: i64, delay_ms: i64) -> Status {
        if self.cancelled.load(Ordering::SeqCst) || self.results == Outcome::Failed {
            return Status::Failed;
        }
        match self.uploaded_ms {
            Some(up) if self.results == Outcome::Ready && now_ms >= up.saturating_add(delay_ms) => {
                Status::Complete
            }
            Some(_) => Status::InProgress,
            None if now_ms >= self.upload_expires_ms => Status::Expired,
            None => Status::Created,
        }
    }

    /// The job object as the API returns it at `now_ms`.
    pub(crate) fn json(&self, now_ms: i64, delay_ms: i64) -> Value {
        let status = self.status(now_ms, delay_ms);
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("type".into(), json!(self.kind.as_str()));
        if let Some(name) = &self.name {
            m.insert("name".into(), json!(name));
        }
        m.insert("status".into(), json!(status.as_str()));
        m.insert(
            "created_at".into(),
            json!(clock::timestamp(self.created_ms)),
        );
        m.insert("upload_url".into(), json!(self.upload_url));
        m.insert(
            "upload_expires_at".into(),
            json!(clock::timestamp(self.upload_expires_ms)),
        );
        m.insert("download_url".into(), json!(self.download_url));
        m.insert(
            "download_expires_at".into(),
            json!(clock::timestamp(self.download_expires_ms)),
        );
        m.insert("resumable".into(), json!(self.resumable));
        if let (Status::InProgress, Some(up)) = (status, self.uploaded_ms) {
            m.insert(
                "estimated_completion".into(),
                json!(clock::timestamp(up.saturating_add(delay_ms))),
            );
        }
        Value::Object(m)
    }

    /// The public snapshot at `now_ms`.
    pub(crate) fn snapshot(&self, now_ms: i64, delay_ms: i64) -> JobSnapshot {
        JobSnapshot {
            id: self.id.clone(),
            job_type: self.kind.as_str().to_string(),
            name: self.name.clone(),
            status: self.status(now_ms, delay_ms).as_str().to_string(),
            resumable: self.resumable,
            upload_url: self.upload_url.clone(),
            download_url: self.download_url.clone(),
            json: self.json(now_ms, delay_ms),
        }
    }
}

/// All jobs, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    pub(crate) list: Vec<Job>,
    last_id: u64,
}

impl Jobs {
    /// The job with this id.
    pub(crate) fn find(&self, id: &str) -> Option<&Job> {
        self.list.iter().find(|j| j.id == id)
    }

    /// The job with this id, to change.
    pub(crate) fn find_mut(&mut self, id: &str) -> Option<&mut Job> {
        self.list.iter_mut().find(|j| j.id == id)
    }

    /// A snowflake-like id: milliseconds since the snowflake epoch, then a
    /// sequence; kept strictly increasing even if the clock goes back.
    pub(crate) fn next_id(&mut self, now_ms: i64) -> u64 {
        let since = u64::try_from(now_ms - SNOWFLAKE_EPOCH_MS).unwrap_or(0);
        // Bits 12..22 are the "worker": fixed, to look like real ids.
        let candidate = (since << 22) | (0x1d << 12);
        self.last_id = candidate.max(self.last_id + 1);
        self.last_id
    }
}
