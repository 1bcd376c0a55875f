//! A job's life, as the routes and the `Emulator` handle drive it:
//! creation, cancelling, the upload it takes, and the results that upload
//! leads to. Status itself is computed lazily from the clock (`jobs`).

use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use super::clock::ms;
use super::hashes::{Hasher, Hashes, HashingWriter};
use super::jobs::{Job, JobSnapshot, OpenUploads, Outcome, Status};
use super::results::{self, Kind};
use super::signed_urls::{self, Folder};
use super::tokens::{self, Purpose};
use super::Model;
use crate::config::Flavour;
use crate::lock::lock;

/// The buffer the upload is read through while its results are written.
const READ_BUF: usize = 256 * 1024;

/// Reasons a job cannot be created.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CreateError {
    /// A job of the type is `created` or `in_progress`.
    Conflict,
}

/// Why a cancel was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CancelError {
    /// No job has this id.
    NotFound,
    /// The job already finished, with this status.
    Finished(Status),
}

/// Why an upload was not accepted.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The job was cancelled or failed, or already has an upload that this
    /// kind of upload may not replace.
    NotAccepting,
    /// The upload window closed, at this time (ms), with no upload that
    /// started inside it under way: the job is `expired`, for good.
    Expired(i64),
    /// The upload could not be stored.
    Io(io::Error),
}

/// What an upload does to a job that already has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Again {
    /// Refused: the `api` flavour.
    Refuse,
    /// A simple `PUT` or a resumable session on the signed URL overwrites
    /// the object, as on Cloud Storage; the job keeps its status and its
    /// results.
    Replace,
}

impl Model {
    /// Creates a job and returns its snapshot.
    pub(crate) fn create_job(
        &self,
        kind: Kind,
        name: Option<String>,
        resumable: bool,
    ) -> Result<JobSnapshot, CreateError> {
        let now = self.clock.now_ms();
        let delay = self.delay_ms();
        // The real API shows whole seconds (".000Z").
        let created_ms = now - now.rem_euclid(1000);
        let mut jobs = lock(&self.jobs);
        let busy = jobs.list.iter().any(|j| {
            j.kind == kind && matches!(j.status(now, delay), Status::Created | Status::InProgress)
        });
        if busy {
            return Err(CreateError::Conflict);
        }
        let id = jobs.next_id(now).to_string();
        let upload_expires_ms = created_ms.saturating_add(ms(self.config.upload_window));
        let download_expires_ms = created_ms.saturating_add(ms(self.config.download_window));
        let (upload_url, download_url) = match self.config.flavour {
            Flavour::Gcs => self.signed_urls(&id, kind, created_ms, resumable),
            Flavour::Api => (
                self.token_url(Purpose::Upload, &id, upload_expires_ms),
                self.token_url(Purpose::Download, &id, download_expires_ms),
            ),
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
            open_uploads: OpenUploads::default(),
        };
        let snapshot = job.snapshot(now, delay);
        jobs.list.push(job);
        Ok(snapshot)
    }

    /// The signed upload and download URLs of a `gcs` job, dated at its
    /// creation and valid for the configured windows.
    fn signed_urls(
        &self,
        id: &str,
        kind: Kind,
        created_ms: i64,
        resumable: bool,
    ) -> (String, String) {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let object = |folder| signed_urls::object_path(kind, id, self.account, folder);
        let base = &self.storage_base;
        let upload = signed_urls::upload_url(
            &self.signer,
            base,
            &object(Folder::Submission),
            created_ms,
            secs(self.config.upload_window),
            resumable,
        );
        let download = signed_urls::download_url(
            &self.signer,
            base,
            &object(Folder::Delivery),
            created_ms,
            secs(self.config.download_window),
        );
        (upload, download)
    }

    /// A token URL of the `api` flavour.
    fn token_url(&self, purpose: Purpose, id: &str, expires_ms: i64) -> String {
        tokens::url(&self.signer, &self.api_base, purpose, id, expires_ms)
    }

    /// Cancels a job that has not finished: it becomes `failed`. Returns
    /// the job object as of now.
    pub(crate) fn cancel_job(&self, id: &str) -> Result<Value, CancelError> {
        let now = self.clock.now_ms();
        let delay = self.delay_ms();
        let jobs = lock(&self.jobs);
        let job = jobs.find(id).ok_or(CancelError::NotFound)?;
        match job.status(now, delay) {
            Status::Created | Status::InProgress => {
                job.cancelled.store(true, Ordering::SeqCst);
                Ok(job.json(now, delay))
            }
            s => Err(CancelError::Finished(s)),
        }
    }

    /// True if the job exists and can take an upload now.
    pub(crate) fn accepts_upload(&self, id: &str, again: Again) -> bool {
        let now = self.clock.now_ms();
        let jobs = lock(&self.jobs);
        jobs.find(id)
            .is_some_and(|j| match j.status(now, self.delay_ms()) {
                Status::Created => true,
                Status::InProgress | Status::Complete => again == Again::Replace,
                Status::Failed | Status::Expired => false,
            })
    }

    /// Makes the next upload that [`Model::accept_upload`] takes as a
    /// job's first fail that job: it is `in_progress` for the processing
    /// delay, then `failed`, without results. Calls add up.
    pub(crate) fn fail_next_job(&self) {
        self.jobs_to_fail.fetch_add(1, Ordering::SeqCst);
    }

    /// Takes a fully received upload (`staged`, renamed into place), moves
    /// the job to `in_progress` and starts generating its results, or,
    /// after [`Model::fail_next_job`], makes none. Returns the job object
    /// as of now.
    ///
    /// `expired` is terminal: an upload that completes once the job has
    /// expired is refused. One that started inside the window and is still
    /// among the job's open uploads (a simple `PUT` whose request arrived
    /// in time, a resumable session started in time) keeps the job from
    /// expiring, so it completes. A job that already has an upload takes a
    /// new one only with [`Again::Replace`], and then only the stored bytes
    /// change.
    pub(crate) fn accept_upload(
        self: &Arc<Self>,
        id: &str,
        staged: &Path,
        again: Again,
    ) -> Result<Value, Refusal> {
        let now = self.clock.now_ms();
        let delay = self.delay_ms();
        let mut jobs = lock(&self.jobs);
        let job = jobs.find_mut(id).ok_or(Refusal::NotAccepting)?;
        if job.cancelled.load(Ordering::SeqCst) {
            return Err(Refusal::NotAccepting);
        }
        if job.status(now, delay) == Status::Expired {
            return Err(Refusal::Expired(job.upload_expires_ms));
        }
        if job.uploaded_ms.is_some() {
            let replaceable = matches!(
                job.status(now, delay),
                Status::InProgress | Status::Complete
            );
            if again == Again::Replace && replaceable {
                // The results generator keeps reading the bytes it opened.
                fs::rename(staged, self.files.upload(id)).map_err(Refusal::Io)?;
                return Ok(job.json(now, delay));
            }
            return Err(Refusal::NotAccepting);
        }
        // Opened before it is in place: an upload that replaces it at once
        // cannot change what the results are made of.
        let input = File::open(staged).map_err(Refusal::Io)?;
        fs::rename(staged, self.files.upload(id)).map_err(Refusal::Io)?;
        job.uploaded_ms = Some(now);
        let doomed = self
            .jobs_to_fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if doomed {
            job.results = Outcome::WillFail;
            return Ok(job.json(now, delay));
        }
        let kind = job.kind;
        let cancelled = Arc::clone(&job.cancelled);
        let model = Arc::clone(self);
        let job_id = id.to_string();
        let spawned = thread::Builder::new()
            .name("emulator-results".into())
            .spawn(move || {
                let written = model.write_results(&job_id, kind, input, &cancelled);
                if let Some(job) = lock(&model.jobs).find_mut(&job_id) {
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
                let mut workers = lock(&self.workers);
                workers.retain(|h| !h.is_finished());
                workers.push(handle);
            }
            Err(_) => job.results = Outcome::Failed,
        }
        Ok(job.json(now, delay))
    }

    /// Streams the stored upload (`input`) into the results file, hashing
    /// it on the way.
    fn write_results(
        &self,
        id: &str,
        kind: Kind,
        input: File,
        cancelled: &AtomicBool,
    ) -> io::Result<Hashes> {
        let input = BufReader::with_capacity(READ_BUF, input);
        let tmp = self.files.tmp_path("results");
        let stop = || cancelled.load(Ordering::SeqCst) || self.stopping();
        let written = File::create(&tmp).and_then(|out| {
            let mut out = HashingWriter::new(out, Hasher::default());
            results::generate(kind, self.config.event_percent, input, &mut out, &stop)?;
            Ok(out.hasher().finish())
        });
        match written.and_then(|h| fs::rename(&tmp, self.files.results(id)).map(|()| h)) {
            Ok(h) => Ok(h),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}
