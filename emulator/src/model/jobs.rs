//! Compliance jobs: creation, the lifecycle computed lazily from the
//! emulator clock, accepted uploads and the results they lead to.

use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use serde_json::{json, Map, Value};

use super::clock;
use super::hashes::{Hasher, Hashes, HashingWriter};
use super::results::{self, Kind};
use super::signed_urls::{self, Folder};
use super::tokens::{self, Purpose};
use crate::config::Flavour;
use crate::state::{lock, Shared};

/// The buffer the upload is read through while its results are written.
const READ_BUF: usize = 256 * 1024;
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

    fn find_mut(&mut self, id: &str) -> Option<&mut Job> {
        self.list.iter_mut().find(|j| j.id == id)
    }

    /// A snowflake-like id: milliseconds since the snowflake epoch, then a
    /// sequence; kept strictly increasing even if the clock goes back.
    fn next_id(&mut self, now_ms: i64) -> u64 {
        let since = u64::try_from(now_ms - SNOWFLAKE_EPOCH_MS).unwrap_or(0);
        // Bits 12..22 are the "worker": fixed, to look like real ids.
        let candidate = (since << 22) | (0x1d << 12);
        self.last_id = candidate.max(self.last_id + 1);
        self.last_id
    }
}

/// Reasons a job cannot be created.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CreateError {
    /// A job of the type is `created` or `in_progress`.
    Conflict,
}

/// Creates a job and returns its snapshot.
pub(crate) fn create(
    shared: &Shared,
    kind: Kind,
    name: Option<String>,
    resumable: bool,
) -> Result<JobSnapshot, CreateError> {
    let now = shared.clock.now_ms();
    let delay = delay_ms(shared);
    // The real API shows whole seconds (".000Z").
    let created_ms = now - now.rem_euclid(1000);
    let mut jobs = lock(&shared.jobs);
    let busy = jobs.list.iter().any(|j| {
        j.kind == kind && matches!(j.status(now, delay), Status::Created | Status::InProgress)
    });
    if busy {
        return Err(CreateError::Conflict);
    }
    let id = jobs.next_id(now).to_string();
    let upload_expires_ms = created_ms.saturating_add(ms(shared.config.upload_window));
    let download_expires_ms = created_ms.saturating_add(ms(shared.config.download_window));
    let (upload_url, download_url) = match shared.config.flavour {
        Flavour::Gcs => {
            let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            let object = |folder| signed_urls::object_path(kind, &id, shared.account, folder);
            let (signer, base) = (&shared.signer, shared.storage_base.as_str());
            (
                signed_urls::upload_url(
                    signer,
                    base,
                    &object(Folder::Submission),
                    created_ms,
                    secs(shared.config.upload_window),
                    resumable,
                ),
                signed_urls::download_url(
                    signer,
                    base,
                    &object(Folder::Delivery),
                    created_ms,
                    secs(shared.config.download_window),
                ),
            )
        }
        Flavour::Api => {
            let (signer, base) = (&shared.signer, shared.api_base.as_str());
            (
                tokens::url(signer, base, Purpose::Upload, &id, upload_expires_ms),
                tokens::url(signer, base, Purpose::Download, &id, download_expires_ms),
            )
        }
    };
    let job = Job {
        id,
        kind,
        name,
        resumable,
        created_ms,
        upload_expires_ms,
        download_expires_ms,
        upload_url,
        download_url,
        uploaded_ms: None,
        results: Outcome::Pending,
        results_hashes: None,
        cancelled: Arc::new(AtomicBool::new(false)),
    };
    let snapshot = job.snapshot(now, delay);
    jobs.list.push(job);
    Ok(snapshot)
}

/// Why a cancel was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CancelError {
    NotFound,
    /// The job already finished, with this status.
    Finished(Status),
}

/// Cancels a job that has not finished: it becomes `failed`.
pub(crate) fn cancel(shared: &Shared, id: &str) -> Result<Value, CancelError> {
    let now = shared.clock.now_ms();
    let delay = delay_ms(shared);
    let jobs = lock(&shared.jobs);
    let job = jobs.find(id).ok_or(CancelError::NotFound)?;
    match job.status(now, delay) {
        Status::Created | Status::InProgress => {
            job.cancelled.store(true, Ordering::SeqCst);
            Ok(job.json(now, delay))
        }
        s => Err(CancelError::Finished(s)),
    }
}

/// The configured processing delay in ms.
pub(crate) fn delay_ms(shared: &Shared) -> i64 {
    ms(shared.config.processing_delay)
}

/// A duration in ms, saturating.
pub(crate) fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Why an upload was not accepted.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The job was cancelled or failed, or already has an upload that this
    /// kind of upload may not replace.
    NotAccepting,
    /// The upload window closed, at this time (ms), before the upload
    /// completed: the job is `expired`, for good.
    Expired(i64),
    Io(io::Error),
}

/// What an upload does to a job that already has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Again {
    /// Refused: resumable sessions and the `api` flavour.
    Refuse,
    /// A simple `PUT` to the signed URL overwrites the object, as on Cloud
    /// Storage; the job keeps its status and its results.
    Replace,
}

/// True if the job exists and can take an upload now.
pub(crate) fn accepts_upload(shared: &Shared, id: &str, again: Again) -> bool {
    let now = shared.clock.now_ms();
    let jobs = lock(&shared.jobs);
    jobs.find(id)
        .is_some_and(|j| match j.status(now, delay_ms(shared)) {
            Status::Created => true,
            Status::InProgress | Status::Complete => again == Again::Replace,
            Status::Failed | Status::Expired => false,
        })
}

/// Takes a fully received upload (`staged`, renamed into place), moves the
/// job to `in_progress` and starts generating its results. Returns the job
/// object as of now.
///
/// `expired` is terminal: an upload that completes once the upload window
/// has closed is refused, even if its request (or resumable session)
/// started inside it, as Cloud Storage refuses an expired signed URL. A
/// job that already has an upload takes a new one only with
/// [`Again::Replace`], and then only the stored bytes change.
pub(crate) fn accept_upload(
    shared: &Arc<Shared>,
    id: &str,
    staged: &Path,
    again: Again,
) -> Result<Value, Refusal> {
    let now = shared.clock.now_ms();
    let delay = delay_ms(shared);
    let mut jobs = lock(&shared.jobs);
    let job = jobs.find_mut(id).ok_or(Refusal::NotAccepting)?;
    if job.cancelled.load(Ordering::SeqCst) {
        return Err(Refusal::NotAccepting);
    }
    if now >= job.upload_expires_ms {
        return Err(Refusal::Expired(job.upload_expires_ms));
    }
    if job.uploaded_ms.is_some() {
        let replaceable = matches!(
            job.status(now, delay),
            Status::InProgress | Status::Complete
        );
        if again == Again::Replace && replaceable {
            // The results generator keeps reading the bytes it opened.
            fs::rename(staged, shared.dirs.upload(id)).map_err(Refusal::Io)?;
            return Ok(job.json(now, delay));
        }
        return Err(Refusal::NotAccepting);
    }
    fs::rename(staged, shared.dirs.upload(id)).map_err(Refusal::Io)?;
    job.uploaded_ms = Some(now);
    let kind = job.kind;
    let cancelled = Arc::clone(&job.cancelled);
    let sh = Arc::clone(shared);
    let job_id = id.to_string();
    let spawned = thread::Builder::new()
        .name("emulator-results".into())
        .spawn(move || {
            let written = write_results(&sh, &job_id, kind, &cancelled);
            if let Some(job) = lock(&sh.jobs).find_mut(&job_id) {
                match written {
                    Ok(hashes) => {
                        job.results_hashes = Some(hashes);
                        job.results = Outcome::Ready;
                    }
                    Err(_) => job.results = Outcome::Failed,
                }
            }
        });
    match spawned {
        Ok(handle) => {
            let mut workers = lock(&shared.workers);
            workers.retain(|h| !h.is_finished());
            workers.push(handle);
        }
        Err(_) => job.results = Outcome::Failed,
    }
    Ok(job.json(now, delay))
}

/// Streams the stored upload into the results file, hashing it on the way.
fn write_results(
    shared: &Shared,
    id: &str,
    kind: Kind,
    cancelled: &AtomicBool,
) -> io::Result<Hashes> {
    let input = BufReader::with_capacity(READ_BUF, File::open(shared.dirs.upload(id))?);
    let tmp = shared.tmp_path("results");
    let stop = || cancelled.load(Ordering::SeqCst) || shared.stopping();
    let written = File::create(&tmp).and_then(|out| {
        let mut out = HashingWriter::new(out, Hasher::default());
        results::generate(kind, shared.config.event_percent, input, &mut out, &stop)?;
        Ok(out.hasher().finish())
    });
    match written.and_then(|h| fs::rename(&tmp, shared.dirs.results(id)).map(|()| h)) {
        Ok(h) => Ok(h),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}
