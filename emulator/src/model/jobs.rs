//! Compliance jobs as data: what a job is, its status computed lazily
//! from the emulator clock, and the job object the API shows.

use std::collections::HashMap;
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
    /// None are made: the job fails when its processing ends (the
    /// `FailJob` fault).
    WillFail,
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
    /// Uploads under way that started inside the upload window.
    pub(crate) open_uploads: OpenUploads,
}

/// The uploads of a job's object that started while its upload URL was
/// valid and have not ended yet: a simple `PUT` whose body is still coming,
/// or an open resumable session. Cloud Storage checks a signed URL when a
/// request arrives, and a session lives a week from its start, so these
/// may complete after the window; until they end, the job is not
/// `expired`.
#[derive(Debug, Default)]
pub(crate) struct OpenUploads {
    /// The time (ms) each lapses at if it has not ended, by number.
    until: HashMap<u64, i64>,
    last: u64,
}

impl OpenUploads {
    /// Records an upload that lapses at `until_ms`; returns its number.
    pub(crate) fn begin(&mut self, until_ms: i64) -> u64 {
        self.last += 1;
        self.until.insert(self.last, until_ms);
        self.last
    }

    /// Forgets an upload that ended (completed, failed or cancelled).
    pub(crate) fn end(&mut self, number: u64) {
        self.until.remove(&number);
    }

    /// True if an upload is under way at `now_ms`.
    pub(crate) fn any_at(&self, now_ms: i64) -> bool {
        self.until.values().any(|&until| now_ms < until)
    }
}

impl Job {
    /// The status as of `now_ms`.
    pub(crate) fn status(&self, now_ms: i64, delay_ms: i64) -> Status {
        if self.cancelled.load(Ordering::SeqCst) || self.results == Outcome::Failed {
            return Status::Failed;
        }
        match self.uploaded_ms {
            Some(up)
                if self.results == Outcome::WillFail && now_ms >= up.saturating_add(delay_ms) =>
            {
                Status::Failed
            }
            Some(up) if self.results == Outcome::Ready && now_ms >= up.saturating_add(delay_ms) => {
                Status::Complete
            }
            Some(_) => Status::InProgress,
            // Expired once the window has closed with no upload that
            // started inside it still under way: then for good, since no
            // upload can start any more.
            None if now_ms >= self.upload_expires_ms && !self.open_uploads.any_at(now_ms) => {
                Status::Expired
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_under_way_keeps_the_job_from_expiring() {
        let job = |open_uploads| Job {
            id: "1".into(),
            kind: Kind::Tweets,
            name: None,
            resumable: true,
            created_ms: 0,
            upload_expires_ms: 900_000,
            download_expires_ms: 604_800_000,
            upload_url: String::new(),
            download_url: String::new(),
            uploaded_ms: None,
            results: Outcome::Pending,
            results_hashes: None,
            cancelled: Arc::new(AtomicBool::new(false)),
            open_uploads,
        };
        let mut plain = job(OpenUploads::default());
        assert_eq!(plain.status(899_999, 0), Status::Created);
        assert_eq!(plain.status(900_000, 0), Status::Expired);
        // A session started in time, lapsing a week later.
        let lapses = 604_800_000;
        let session = plain.open_uploads.begin(lapses);
        assert_eq!(plain.status(900_000, 0), Status::Created);
        assert_eq!(plain.status(lapses - 1, 0), Status::Created);
        assert_eq!(plain.status(lapses, 0), Status::Expired);
        // Ended (cancelled, say): nothing keeps the job any more.
        plain.open_uploads.end(session);
        assert_eq!(plain.status(900_000, 0), Status::Expired);
        let mut two = job(OpenUploads::default());
        let a = two.open_uploads.begin(i64::MAX);
        let b = two.open_uploads.begin(i64::MAX);
        assert_ne!(a, b);
        two.open_uploads.end(a);
        assert_eq!(two.status(900_000, 0), Status::Created);
        two.open_uploads.end(b);
        assert_eq!(two.status(900_000, 0), Status::Expired);
    }
}
