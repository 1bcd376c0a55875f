//! The upload of a checked ID file: one simple `PUT`, or the Cloud Storage
//! resumable protocol in chunks.

use std::io::{self, Read};
use std::time::Instant;

use ureq::http::{Response, Uri};
use ureq::{Body, SendBody};

use super::storage::{unredirected, Target};
use crate::client::Client;
use crate::error::{bail_usage, fail, one_line, Error, ErrorKind, Result};
use crate::ids::IdFile;
use crate::jobs::{Job, JobId, Status};
use crate::report::Counted;
use crate::retry::with_retries;
use crate::time::Timestamp;

/// The size of each chunk of a resumable upload: a multiple of 256 KiB, as
/// Cloud Storage requires of every chunk but the last.
pub(crate) const RESUMABLE_CHUNK: u64 = 8 * 1024 * 1024;

/// The largest single upload the API host takes in the 2026 flow.
pub const API_HOST_UPLOAD_LIMIT: u64 = 1024 * 1024 * 1024;

/// Whether an upload URL takes the resumable protocol: a job created with
/// `resumable: true`, or a URL signed for the `x-goog-resumable` header.
pub(crate) fn is_resumable_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.contains("x-goog-signedheaders=") && lower.contains("x-goog-resumable")
}

/// An error met before an upload began (the ID file's check, above all),
/// as the upload reports it: with "nothing was uploaded" added, its kind
/// kept. A check alone (`upload-ids --check`) reports its errors without
/// it, since no upload was going to happen.
pub fn nothing_uploaded(e: Error) -> Error {
    Error::new(e.kind(), format!("{e:#}; nothing was uploaded"))
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
///
/// A job takes one upload: where it is known, it is looked at again just
/// before the byte that completes the upload, and if another upload has
/// reached it meanwhile, this one stops short of its end and fails. Storage
/// is held to what was sent: a redirect, a `200` before the last byte, or a
/// session that claims more than it was sent is a failure.
pub fn upload_ids(client: &Client, to: UploadTo, ids: &IdFile) -> Result<()> {
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
    let known = match job {
        Some(job) => JobId::parse(job.id()),
        // The API host's own upload URL names its job; a storage URL may
        // seem to, but nothing says so.
        None if target.auth.is_some() => api_upload_job(url),
        None => None,
    };
    let look = LastLook {
        client,
        job: known.as_ref(),
        file: ids.name(),
    };
    let mut unanswered = false;
    let sent = if job.is_some_and(Job::resumable) || is_resumable_url(url) {
        upload_resumable(client, &target, ids, &look, &mut unanswered)
    } else {
        upload_simple(client, &target, ids, job, &look, &mut unanswered)
    };
    let Err(e) = sent else {
        return Ok(());
    };
    if !unanswered {
        return Err(e);
    }
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
            client.reporter().note(format!(
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
fn no_answer(e: &Error) -> bool {
    e.kind() == ErrorKind::Transient
}

/// The last look at an upload's job, just before the byte that completes
/// the upload: a job that has moved on since it was looked up took another
/// upload's IDs (two uploads to one job at once), and this one must not
/// complete, nor call itself done. A job that is not known (a storage
/// `--url`) cannot be looked at.
struct LastLook<'a> {
    client: &'a Client,
    job: Option<&'a JobId>,
    /// The ID file, for the message.
    file: &'a str,
}

impl LastLook<'_> {
    /// `Ok` when the job still waits for its IDs, or is not known. A job
    /// that cannot be looked up within `--stall` (the upload's connection
    /// waits meanwhile) stops the upload too: it cannot be told to be free.
    fn check(&self) -> Result<()> {
        let Some(id) = self.job else {
            return Ok(());
        };
        let deadline = Instant::now() + self.client.config().read_timeout;
        let job = self
            .client
            .get_job_within(id, Some(deadline))
            .map_err(|e| {
                // Not retried: whether the job is free is not known.
                Error::new(
                    ErrorKind::Job,
                    format!(
                        "job {id} could not be looked at before the last byte of the upload \
                         ({e:#}), so whether another upload reached it meanwhile is not known; \
                         this upload was stopped before its end and the job still waits for its \
                         IDs: run it again"
                    ),
                )
            })?;
        match job.status() {
            Status::Created => job.open_upload_url(Timestamp::now()).map(|_| ()),
            Status::InProgress | Status::Complete => fail!(
                Job,
                "{} took the IDs of another upload while this one was being sent (two \
                 uploads to one job at once?); this one was stopped before its last byte. The \
                 job's results will be for the other upload's IDs: to check {}, create a new \
                 job and upload them to it",
                job.describe(),
                self.file
            ),
            _ => job.open_upload_url(Timestamp::now()).map(|_| ()),
        }
    }
}

/// A body that hands out every byte but the last freely, and the last only
/// once `look` passes: an upload that must not complete stops one byte
/// short, and storage keeps nothing of it.
struct HoldLast<'a, R> {
    inner: R,
    /// Bytes of the body not yet handed out.
    left: u64,
    look: Option<&'a LastLook<'a>>,
    /// Why the last byte was held back, when it was.
    refused: Option<Error>,
}

impl<'a, R> HoldLast<'a, R> {
    fn new(inner: R, len: u64, look: &'a LastLook<'a>) -> HoldLast<'a, R> {
        HoldLast {
            inner,
            left: len,
            look: Some(look),
            refused: None,
        }
    }
}

impl<R: Read> Read for HoldLast<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 1 {
            if let Some(look) = self.look.take() {
                if let Err(e) = look.check() {
                    self.refused = Some(e);
                    return Err(io::Error::other(
                        "the upload was stopped before its last byte",
                    ));
                }
            }
        }
        let most = match self.look {
            Some(_) => self.left.saturating_sub(1),
            None => self.left,
        };
        let most = buf.len().min(usize::try_from(most).unwrap_or(usize::MAX));
        if most == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..most])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// A simple upload: one `PUT` of the whole file, sent again whole after a
/// failure, since storage keeps nothing of a broken one. Sets `unanswered`
/// when an attempt sent every byte and got no answer.
fn upload_simple(
    client: &Client,
    target: &Target,
    ids: &IdFile,
    job: Option<&Job>,
    look: &LastLook,
    unanswered: &mut bool,
) -> Result<()> {
    let total = ids.stats().normalised_bytes;
    let progress = client.reporter().bytes("upload", Some(total));
    let mut attempt = 0;
    with_retries(client.config().retry, client.reporter().clone(), || {
        attempt += 1;
        progress.set_position(0);
        if let Some(job) = job.filter(|_| attempt > 1) {
            job.open_upload_url(Timestamp::now())?;
        }
        let mut body = ids.body();
        // A redirect is an answer, not a place to send the IDs; and with
        // `Expect`, a refusal (a 413 for a body too big) comes before the
        // body rather than as a broken pipe in the middle of it.
        let mut request = unredirected(client.agent().put(&target.url))
            .header("content-type", "text/plain")
            .header("content-length", total.to_string())
            .header("expect", "100-continue");
        if let Some(auth) = &target.auth {
            request = request.header("authorization", auth);
        }
        let mut held = HoldLast::new(Counted::new(&mut body, &progress), total, look);
        let response = request.send(SendBody::from_reader(&mut held));
        let refused = held.refused.take();
        // The file's own failure first: it changed, and no retry can cure that.
        body.check()?;
        if let Some(e) = refused {
            return Err(e);
        }
        let response = target.expect_success("upload to", response, &[200, 201]);
        if response.as_ref().is_err_and(no_answer) && body.is_complete() {
            *unanswered = true;
        }
        let response = response?;
        if !body.is_complete() {
            // Answered before the body was all sent (in place of `100
            // Continue`, say): storage cannot hold the file.
            fail!(
                Refused,
                "upload to {}: storage answered HTTP {} before the upload was sent whole; it \
                 cannot hold the {total} bytes of {}",
                target.host,
                response.status().as_u16(),
                ids.name()
            );
        }
        Ok(())
    })
}

/// The Cloud Storage resumable protocol: start a session, send chunks, and
/// after a failure ask the session what it holds and go on from there.
///
/// Storage's word is checked against what was sent: an upload called
/// complete before its last byte went out, or a session that claims bytes
/// never sent, or that loses bytes it had confirmed, is a failure saying
/// what storage claimed. A chunk of which storage keeps nothing counts as a
/// failed attempt, against `--retries` and `--retry-time`.
fn upload_resumable(
    client: &Client,
    target: &Target,
    ids: &IdFile,
    look: &LastLook,
    unanswered: &mut bool,
) -> Result<()> {
    let total = ids.stats().normalised_bytes;
    let session = with_retries(client.config().retry, client.reporter().clone(), || {
        let mut start = unredirected(client.agent().post(&target.url))
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
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::BadAnswer,
                    format!("{}: the upload session start gave no Location", target.host),
                )
            })
    })?;
    let session = Target::new(client, &session)?;
    let mut body = ids.body();
    let mut position = 0; // bytes of the normalised file read so far
    let mut sent = Sent {
        furthest: 0,
        held: 0,
        total,
    };
    let mut retrier = client.retrier();
    let progress = client.reporter().bytes("upload", Some(total));
    loop {
        let offset = sent.held;
        progress.set_position(offset);
        let len = RESUMABLE_CHUNK.min(total - offset);
        if position != offset {
            // Storage holds less than was read: read again from where it stopped.
            body = ids.body();
            if let Err(e) = io::copy(&mut (&mut body).take(offset), &mut io::sink()) {
                body.check()?;
                return Err(Error::from_source(ErrorKind::Io, e)
                    .context(format!("reading {} again", ids.name())));
            }
            position = offset;
        }
        if len == 0 {
            // Storage holds every byte yet called the upload incomplete.
            let query = format!("bytes */{total}");
            let status = session.put(client, &query, 0, SendBody::from_reader(&mut io::empty()));
            match status.and_then(|r| sent.answer(&session, &r)) {
                Ok(None) => return Ok(()),
                Ok(Some(_)) => fail!(
                    Integrity,
                    "upload to {}: storage holds all {total} bytes but does not finish the upload",
                    session.host
                ),
                Err(e) => {
                    retrier.after_failure(e)?;
                    continue;
                }
            }
        }
        if offset + len == total {
            // The chunk that completes the upload: not if the job moved on.
            look.check()?;
        }
        let range = format!("bytes {offset}-{}/{total}", offset + len - 1);
        let mut chunk = Counted::new((&mut body).take(len), &progress);
        let response = session.put(client, &range, len, SendBody::from_reader(&mut chunk));
        position += len - chunk.into_inner().limit();
        sent.furthest = sent.furthest.max(position);
        // The file's own failure first: it changed, and no retry can cure that.
        body.check()?;
        if response.as_ref().is_err_and(no_answer) && body.is_complete() {
            *unanswered = true;
        }
        match response.and_then(|r| sent.answer(&session, &r)) {
            Ok(None) => return Ok(()),
            Ok(Some(held)) if held > offset => retrier.progressed(),
            Ok(Some(held)) => {
                // An answer, but no progress: as good as a failed attempt, or
                // a session that keeps nothing would be sent to forever.
                let e = Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "upload to {}: storage kept none of the {len} bytes sent (it holds \
                         {held} of {total})",
                        session.host
                    ),
                );
                retrier.after_failure(e)?;
            }
            Err(e) => {
                retrier.after_failure(e)?;
                // Ask the session what it has, then go on from the next byte.
                let query = format!("bytes */{total}");
                let status =
                    session.put(client, &query, 0, SendBody::from_reader(&mut io::empty()));
                match status.and_then(|r| sent.answer(&session, &r)) {
                    Ok(None) => return Ok(()),
                    Ok(Some(held)) if held > offset => retrier.progressed(),
                    Ok(Some(_)) => {}
                    Err(e) => retrier.after_failure(e)?,
                }
            }
        }
    }
}

/// What a resumable session was sent, and what it confirmed holding.
struct Sent {
    /// The most bytes of the file ever sent to the session.
    furthest: u64,
    /// The bytes the session last said it holds.
    held: u64,
    /// The size of the whole upload.
    total: u64,
}

impl Sent {
    /// What a session's answer says: `None` when the upload is complete, else
    /// the bytes it holds (from `Range: bytes=0-LAST`; none without one),
    /// which become `held`. A claim that what was sent cannot back is an
    /// error saying what storage claimed.
    fn answer(&mut self, session: &Target, response: &Response<Body>) -> Result<Option<u64>> {
        let (host, total, furthest) = (&session.host, self.total, self.furthest);
        if response.status().as_u16() != 308 {
            if furthest < total {
                fail!(
                    Integrity,
                    "upload to {host}: storage called the upload complete (HTTP {}) when only \
                     {furthest} of its {total} bytes had been sent; it cannot hold the file",
                    response.status().as_u16()
                );
            }
            return Ok(None);
        }
        let range = response.headers().get("range").map(|v| v.to_str());
        let held = match range {
            None => 0,
            Some(range) => {
                let range = range.unwrap_or("(not text)");
                range
                    .strip_prefix("bytes=0-")
                    .and_then(|last| last.trim().parse::<u64>().ok())
                    .map(|last| last + 1)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::Integrity,
                            format!(
                                "upload to {host}: storage claims to hold the bytes {:?} of the \
                                 upload; a session holds the first bytes of a file, from byte 0",
                                one_line(range)
                            ),
                        )
                    })?
            }
        };
        if held > furthest {
            fail!(
                Integrity,
                "upload to {host}: storage claims to hold {held} bytes of the upload, but only \
                 {furthest} of its {total} had been sent"
            );
        }
        if held < self.held {
            fail!(
                Integrity,
                "upload to {host}: storage claims to hold {held} bytes of the upload, after it \
                 had said it held {}: it lost bytes it had confirmed",
                self.held
            );
        }
        self.held = held;
        Ok(Some(held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_uploaded_is_said_by_the_upload_not_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.txt");
        std::fs::write(&path, "1\nabc\n").unwrap();
        let checked = IdFile::check(&path, &crate::report::Reporter::silent()).unwrap_err();
        assert!(!format!("{checked:#}").contains("uploaded"), "{checked:#}");
        let e = nothing_uploaded(checked);
        assert_eq!(e.kind(), ErrorKind::Usage);
        let msg = format!("{e:#}");
        assert!(
            msg.contains("line 2 \"abc\"") && msg.ends_with("; nothing was uploaded"),
            "{msg}"
        );
        let other = nothing_uploaded(Error::new(ErrorKind::Io, "cannot make a temporary file"));
        assert_eq!(other.kind(), ErrorKind::Io);
    }

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
