//! The upload of a checked ID file: one simple `PUT`, or the Cloud Storage
//! resumable protocol in chunks.

use std::io::{self, Read};

use anyhow::Context as _;
use ureq::http::{Response, Uri};
use ureq::{Body, SendBody};

use super::storage::Target;
use crate::client::Client;
use crate::error::bail_usage;
use crate::error::Transient;
use crate::ids::IdFile;
use crate::jobs::{Job, JobId, Status};
use crate::messages::note;
use crate::progress::{Counted, Progress};
use crate::retry::{with_retries, Retrier};
use crate::time::{human_duration, Timestamp};

/// The size of each chunk of a resumable upload: a multiple of 256 KiB, as
/// Cloud Storage requires of every chunk but the last.
pub(crate) const RESUMABLE_CHUNK: u64 = 8 * 1024 * 1024;

/// The largest single upload the API host takes in the 2026 flow.
pub const API_HOST_UPLOAD_LIMIT: u64 = 1024 * 1024 * 1024;

impl Job {
    /// The upload URL, if the job still takes its IDs: status `created` and
    /// the upload window open at `now`. Otherwise an error saying why.
    pub fn open_upload_url(&self, now: Timestamp) -> anyhow::Result<&str> {
        let closed = |at: Option<Timestamp>| {
            let when = match at {
                Some(at) => format!(" at {at} ({} ago)", human_duration(at.until(now))),
                None => String::new(),
            };
            anyhow::anyhow!(
                "the upload window of {} closed{when}; IDs can no longer be uploaded to it: \
                 create a new job",
                self.describe()
            )
        };
        match self.status() {
            Status::Created => {}
            Status::Expired => return Err(closed(self.upload_expires_at())),
            Status::InProgress | Status::Complete => anyhow::bail!(
                "{} already has its IDs: a job takes them once; to check IDs again, \
                 create a new job",
                self.describe()
            ),
            status => anyhow::bail!(
                "{} is {status} and takes no IDs; to check IDs, create a new job",
                self.describe()
            ),
        }
        if let Some(at) = self.upload_expires_at().filter(|at| *at <= now) {
            return Err(closed(Some(at)));
        }
        self.upload_url()
            .with_context(|| format!("{} has no upload_url", self.describe()))
    }
}

/// Whether an upload URL takes the resumable protocol: a job created with
/// `resumable: true`, or a URL signed for the `x-goog-resumable` header.
pub(crate) fn is_resumable_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.contains("x-goog-signedheaders=") && lower.contains("x-goog-resumable")
}

/// Where an upload goes: a raw upload URL, or a job looked up by id or name.
#[derive(Clone, Copy, Debug)]
pub enum UploadTo<'a> {
    /// An upload URL given as it is (`--url`): its job is known only when
    /// it is the API host's own form, `…/2/compliance/jobs/{id}/upload`.
    Url(&'a str),
    /// A job whose upload window was open when it was looked up.
    Job(&'a Job),
}

/// Uploads the normalised form of a checked ID file.
///
/// Every line is checked again as it is sent, so a file changed since its
/// check fails the upload, at once and for good, rather than send unchecked
/// lines. A resumable job or URL gets the Cloud Storage resumable protocol,
/// in chunks of 8 MiB; a simple upload that fails is sent
/// again whole while the job's upload window is open.
///
/// When an attempt sent every byte but its answer was lost, the upload may
/// have arrived though the attempts after it fail (the job no longer takes
/// IDs). Where the job is known (looked up, or named by an upload URL of the
/// API host's own form), it is asked: if it has moved on, the upload arrived
/// and that is a success. Elsewhere the error says how to find out.
pub fn upload_ids(client: &Client, to: UploadTo, ids: &IdFile) -> anyhow::Result<()> {
    let (url, job) = match to {
        UploadTo::Url(url) => (url, None),
        UploadTo::Job(job) => (job.open_upload_url(Timestamp::now())?, Some(job)),
    };
    let target = Target::new(client, url)?;
    let bytes = ids.stats().normalised_bytes;
    if target.auth.is_some() && bytes > API_HOST_UPLOAD_LIMIT {
        bail_usage!(
            "{}: {bytes} bytes of IDs are over the API host's limit of {API_HOST_UPLOAD_LIMIT} \
             bytes (1 GiB) for one upload; split the IDs over several jobs",
            ids.name()
        );
    }
    let mut unanswered = false;
    let sent = if job.is_some_and(Job::resumable) || is_resumable_url(url) {
        upload_resumable(client, &target, ids, &mut unanswered)
    } else {
        upload_simple(client, &target, ids, job, &mut unanswered)
    };
    let Err(e) = sent else {
        return Ok(());
    };
    if !unanswered {
        return Err(e);
    }
    let known = match job {
        Some(job) => JobId::parse(job.id()),
        // The API host's own upload URL names its job; a storage URL may
        // seem to, but nothing says so.
        None if target.auth.is_some() => api_upload_job(url),
        None => None,
    };
    let Some(id) = known else {
        let check = match named_job(url) {
            Some(id) => format!("`list-job --id {id}`"),
            None => "`list-job --name <name>` (or `--id <id>`)".to_string(),
        };
        return Err(e.context(format!(
            "the upload may have arrived though its answer was lost: {check} shows \
             whether the job took the IDs (its status is no longer created)"
        )));
    };
    match client.get_job(&id) {
        Ok(now) if !matches!(now.status(), Status::Created | Status::Expired) => {
            note(format!(
                "{} is {}: the upload arrived though its answer was lost",
                now.label(),
                now.status()
            ));
            Ok(())
        }
        Ok(_) => Err(e),
        Err(lookup) => Err(e.context(format!(
            "the upload may have arrived though its answer was lost, but job {id} could not \
             be looked up ({lookup:#}): `list-job --id {id}` shows whether it took the IDs"
        ))),
    }
}

/// The job an upload URL names, where it says so itself: a URL on the API's
/// own origin, of the API host's form `…/2/compliance/jobs/{id}/upload`.
/// `None` for any other (a storage URL may seem to name its job, but
/// nothing says so), as when a lost answer is checked with the job.
pub fn upload_url_job(client: &Client, url: &str) -> Option<JobId> {
    client.authorization_for(url)?;
    api_upload_job(url)
}

/// The job of an upload URL of the API host's form,
/// `…/2/compliance/jobs/{id}/upload?token=…`.
fn api_upload_job(url: &str) -> Option<JobId> {
    let uri: Uri = url.parse().ok()?;
    let (jobs, id) = uri.path().strip_suffix("/upload")?.rsplit_once('/')?;
    jobs.ends_with("/2/compliance/jobs")
        .then(|| JobId::parse(id))
        .flatten()
}

/// The job an upload URL seems to name, for a hint: the API host's form, or
/// a storage URL of the form `/{bucket}/{id}/submission/{…}_{id}`.
fn named_job(url: &str) -> Option<JobId> {
    if let Some(id) = api_upload_job(url) {
        return Some(id);
    }
    let uri: Uri = url.parse().ok()?;
    let parts: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    match parts[..] {
        [_, id, "submission", object] if object.ends_with(&format!("_{id}")) => JobId::parse(id),
        _ => None,
    }
}

/// Whether a failed request may have been received: the connection failed,
/// so no answer said otherwise.
fn no_answer(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Transient>())
}

/// A simple upload: one `PUT` of the whole file, sent again whole after a
/// failure, since storage keeps nothing of a broken one. Sets `unanswered`
/// when an attempt sent every byte and got no answer.
fn upload_simple(
    client: &Client,
    target: &Target,
    ids: &IdFile,
    job: Option<&Job>,
    unanswered: &mut bool,
) -> anyhow::Result<()> {
    let progress = Progress::bytes("upload", Some(ids.stats().normalised_bytes));
    let mut attempt = 0;
    with_retries(client.config().retry, || {
        attempt += 1;
        progress.set_position(0);
        if let Some(job) = job.filter(|_| attempt > 1) {
            job.open_upload_url(Timestamp::now())?;
        }
        let mut body = ids.body();
        let mut request = client
            .agent()
            .put(&target.url)
            .header("content-type", "text/plain")
            .header("content-length", ids.stats().normalised_bytes.to_string());
        if let Some(auth) = &target.auth {
            request = request.header("authorization", auth);
        }
        let response = request.send(SendBody::from_reader(&mut Counted::new(
            &mut body, &progress,
        )));
        // The file's own failure first: it changed, and no retry can cure that.
        body.check()?;
        let response = target.expect_success("upload to", response, &[200, 201]);
        if response.as_ref().is_err_and(no_answer) && body.is_complete() {
            *unanswered = true;
        }
        response?;
        Ok(())
    })
}

/// The Cloud Storage resumable protocol: start a session, send chunks, and
/// after a failure ask the session what it holds and go on from there.
fn upload_resumable(
    client: &Client,
    target: &Target,
    ids: &IdFile,
    unanswered: &mut bool,
) -> anyhow::Result<()> {
    let total = ids.stats().normalised_bytes;
    let policy = client.config().retry;
    let session = with_retries(policy, || {
        let mut start = client
            .agent()
            .post(&target.url)
            .header("content-type", "text/plain")
            .header("content-length", "0")
            .header("x-goog-resumable", "start");
        if let Some(auth) = &target.auth {
            start = start.header("authorization", auth);
        }
        let response =
            target.expect_success("upload session start at", start.send(&[][..]), &[200, 201])?;
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .with_context(|| format!("{}: the upload session start gave no Location", target.host))
    })?;
    let session = Target::new(client, &session)?;
    let mut body = ids.body();
    let mut position = 0; // bytes of the normalised file read so far
    let mut offset = 0; // bytes storage holds
    let mut retrier = Retrier::new(policy);
    let progress = Progress::bytes("upload", Some(total));
    loop {
        progress.set_position(offset);
        let len = RESUMABLE_CHUNK.min(total - offset);
        if position != offset {
            // Storage holds less than was read: read again from where it stopped.
            body = ids.body();
            if let Err(e) = io::copy(&mut (&mut body).take(offset), &mut io::sink()) {
                body.check()?;
                return Err(e.into());
            }
            position = offset;
        }
        if len == 0 {
            // Storage holds every byte yet called the upload incomplete.
            let query = format!("bytes */{total}");
            let status = session.put(client, &query, 0, SendBody::from_reader(&mut io::empty()));
            match status.and_then(|r| session_progress(&session, &r, total)) {
                Ok(None) => return Ok(()),
                Ok(Some(_)) => anyhow::bail!(
                    "{}: storage holds all {total} bytes but does not finish the upload",
                    session.host
                ),
                Err(e) => {
                    retrier.after_failure(e)?;
                    continue;
                }
            }
        }
        let range = format!("bytes {offset}-{}/{total}", offset + len - 1);
        let mut chunk = Counted::new((&mut body).take(len), &progress);
        let response = session.put(client, &range, len, SendBody::from_reader(&mut chunk));
        position += len - chunk.into_inner().limit();
        // The file's own failure first: it changed, and no retry can cure that.
        body.check()?;
        if response.as_ref().is_err_and(no_answer) && body.is_complete() {
            *unanswered = true;
        }
        let held = match response.and_then(|r| session_progress(&session, &r, total)) {
            Ok(held) => held,
            Err(e) => {
                retrier.after_failure(e)?;
                // Ask the session what it has, then go on from the next byte.
                let query = format!("bytes */{total}");
                let status =
                    session.put(client, &query, 0, SendBody::from_reader(&mut io::empty()));
                match status.and_then(|r| session_progress(&session, &r, total)) {
                    Ok(held) => held,
                    Err(e) => {
                        retrier.after_failure(e)?;
                        continue;
                    }
                }
            }
        };
        match held {
            None => return Ok(()),
            Some(held) => {
                if held > offset {
                    retrier.progressed();
                }
                offset = held;
            }
        }
    }
}

/// What a session's answer says it holds: `None` when the upload is complete,
/// else the number of bytes persisted (from `Range: bytes=0-LAST`).
fn session_progress(
    session: &Target,
    response: &Response<Body>,
    total: u64,
) -> anyhow::Result<Option<u64>> {
    if response.status().as_u16() != 308 {
        return Ok(None);
    }
    let held = match response
        .headers()
        .get("range")
        .and_then(|v| v.to_str().ok())
    {
        None => 0,
        Some(range) => range
            .strip_prefix("bytes=0-")
            .and_then(|last| last.trim().parse::<u64>().ok())
            .map(|last| last + 1)
            .with_context(|| {
                format!("{}: storage answered an odd Range {range:?}", session.host)
            })?,
    };
    if held > total {
        anyhow::bail!("{}: storage holds {held} bytes of {total}", session.host);
    }
    Ok(Some(held))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_job_of_an_upload_url() {
        let api = "https://api.x.com/2/compliance/jobs/123/upload?token=1.ab";
        assert_eq!(api_upload_job(api), JobId::parse("123"));
        assert_eq!(named_job(api), JobId::parse("123"));
        let gcs = "https://storage.googleapis.com/twttr-tweet-compliance/1425543269983784962/submission/1202726487847104512_1425543269983784962?X-Goog-Signature=x";
        assert_eq!(api_upload_job(gcs), None);
        assert_eq!(named_job(gcs), JobId::parse("1425543269983784962"));
        for odd in [
            "https://api.x.com/2/compliance/jobs/12a/upload?token=1",
            "https://api.x.com/2/compliance/jobs/12345678901234567890/upload",
            "https://api.x.com/2/compliance/jobs//upload",
            "https://s/b/1/submission/x_2",
            "https://s/b/1/delivery/x_1",
            "not a url",
        ] {
            assert_eq!(named_job(odd), None, "{odd}");
        }
    }

    #[test]
    fn spots_resumable_urls() {
        assert!(is_resumable_url("https://s/b/o?X-Goog-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-goog-resumable&X-Goog-Signature=1"));
        assert!(!is_resumable_url(
            "https://s/b/o?X-Goog-SignedHeaders=content-type%3Bhost"
        ));
    }
}
