//! Transfers: the ID file up to the job's upload URL, the results down from
//! its download URL.
//!
//! Both URLs are opaque and signed: they carry their own credential, so the
//! bearer token goes along only when they are on the API's own origin (the
//! 2026 flow). Both stream; neither holds the file in memory.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ureq::http::Response;
use ureq::{Body, SendBody};

use crate::auth::{redact_in, Origin};
use crate::cli::note;
use crate::client::{rate_limit_reset, read_limited, Client};
use crate::ids::{IdFile, NormalisedIds};
use crate::jobs::{Job, JobId, Status};
use crate::problem::{ApiError, MAX_ERROR_BODY};
use crate::progress::{Counted, Progress};
use crate::results::{ResultsChecker, Summary};
use crate::retry::{with_retries, Retrier, Transient};
use crate::time::{human_duration, Timestamp};

/// The size of each chunk of a resumable upload: a multiple of 256 KiB, as
/// Cloud Storage requires of every chunk but the last.
pub const RESUMABLE_CHUNK: u64 = 8 * 1024 * 1024;

/// The largest single upload the API host takes in the 2026 flow.
pub const API_HOST_UPLOAD_LIMIT: u64 = 1024 * 1024 * 1024;

/// How much of a download is read, written and checked at a time: small
/// enough to be checked while it is still in the CPU's cache.
const COPY_BUFFER: usize = 256 * 1024;

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
            status => anyhow::bail!(
                "{} is {status}, not created: it takes IDs only once, right after it is created",
                self.describe()
            ),
        }
        if let Some(at) = self.upload_expires_at().filter(|at| *at <= now) {
            return Err(closed(Some(at)));
        }
        self.upload_url()
            .with_context(|| format!("{} has no upload_url", self.describe()))
    }

    /// The download URL, if the results can be fetched at `now`: status
    /// `complete` and the download not expired. Otherwise an error saying why.
    pub fn ready_download_url(&self, now: Timestamp) -> anyhow::Result<&str> {
        match self.status() {
            Status::Complete => {}
            Status::Created | Status::InProgress => anyhow::bail!(
                "{} is not complete yet: wait with --wait, or later run list-job --id {} --wait",
                self.describe(),
                self.id()
            ),
            _ => anyhow::bail!("{} has no results to download", self.describe()),
        }
        if let Some(at) = self.download_expires_at().filter(|at| *at <= now) {
            anyhow::bail!(
                "the results of {} expired at {at}; they can no longer be downloaded: \
                 create a new job and upload the IDs again",
                self.describe()
            );
        }
        self.download_url()
            .with_context(|| format!("{} has no download_url", self.describe()))
    }
}

/// Whether an upload URL takes the resumable protocol: a job created with
/// `resumable: true`, or a URL signed for the `x-goog-resumable` header.
pub fn is_resumable_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.contains("x-goog-signedheaders=") && lower.contains("x-goog-resumable")
}

/// Where an upload goes: a raw upload URL, or a job looked up by id or name.
#[derive(Clone, Copy, Debug)]
pub enum UploadTo<'a> {
    /// An upload URL given as it is (`--url`): nothing more is known.
    Url(&'a str),
    /// A job whose upload window was open when it was looked up.
    Job(&'a Job),
}

/// Uploads the normalised form of a checked ID file.
///
/// Every line is checked again as it is sent, so a file changed since its
/// check fails the upload rather than sending unchecked lines. A resumable
/// job or URL gets the Cloud Storage resumable protocol, in chunks of
/// [`RESUMABLE_CHUNK`]; a simple upload that fails is sent again whole while
/// the job's upload window is open. When the answer to an upload is lost but
/// the job has moved on, the upload arrived: that is a success.
pub fn upload_ids(client: &Client, to: UploadTo, ids: &IdFile) -> anyhow::Result<()> {
    let (url, job) = match to {
        UploadTo::Url(url) => (url, None),
        UploadTo::Job(job) => (job.open_upload_url(Timestamp::now())?, Some(job)),
    };
    let target = Target::new(client, url)?;
    let bytes = ids.stats.normalised_bytes;
    if target.auth.is_some() && bytes > API_HOST_UPLOAD_LIMIT {
        crate::usage_bail!(
            "{}: {bytes} bytes of IDs are over the API host's limit of {API_HOST_UPLOAD_LIMIT} \
             bytes (1 GiB) for one upload; split the IDs over several jobs",
            ids.path.display()
        );
    }
    let sent = if job.is_some_and(Job::resumable) || is_resumable_url(url) {
        upload_resumable(client, &target, ids)
    } else {
        upload_simple(client, &target, ids, job)
    };
    match (sent, job) {
        (Ok(()), _) => Ok(()),
        (Err(e), Some(job)) => match client.get_job(&JobId::from_flag(job.id())?) {
            Ok(now) if !matches!(now.status(), Status::Created | Status::Expired) => {
                note(format!(
                    "{} is {}: the upload arrived though its answer was lost",
                    now.label(),
                    now.status()
                ));
                Ok(())
            }
            _ => Err(e),
        },
        (Err(e), None) => Err(e),
    }
}

/// A simple upload: one `PUT` of the whole file, sent again whole after a
/// failure, since storage keeps nothing of a broken one.
fn upload_simple(
    client: &Client,
    target: &Target,
    ids: &IdFile,
    job: Option<&Job>,
) -> anyhow::Result<()> {
    let progress = Progress::bytes("upload", Some(ids.stats.normalised_bytes));
    let mut attempt = 0;
    with_retries(client.config().retry, || {
        attempt += 1;
        progress.set_position(0);
        if let Some(job) = job.filter(|_| attempt > 1) {
            job.open_upload_url(Timestamp::now())?;
        }
        let mut body = NormalisedIds::open(ids)?;
        let mut request = client
            .agent()
            .put(&target.url)
            .header("content-type", "text/plain")
            .header("content-length", ids.stats.normalised_bytes.to_string());
        if let Some(auth) = &target.auth {
            request = request.header("authorization", auth);
        }
        let response = request.send(SendBody::from_reader(&mut Counted::new(
            &mut body, &progress,
        )));
        body.check()?;
        target.expect_success("upload to", response, &[200, 201])?;
        Ok(())
    })
}

/// The Cloud Storage resumable protocol: start a session, send chunks, and
/// after a failure ask the session what it holds and go on from there.
fn upload_resumable(client: &Client, target: &Target, ids: &IdFile) -> anyhow::Result<()> {
    let total = ids.stats.normalised_bytes;
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
    let mut body = NormalisedIds::open(ids)?;
    let mut position = 0; // bytes of the normalised file read so far
    let mut offset = 0; // bytes storage holds
    let mut retrier = Retrier::new(policy);
    let progress = Progress::bytes("upload", Some(total));
    loop {
        progress.set_position(offset);
        let len = RESUMABLE_CHUNK.min(total - offset);
        if position != offset {
            // Storage holds less than was read: read again from where it stopped.
            body = NormalisedIds::open(ids)?;
            io::copy(&mut (&mut body).take(offset), &mut io::sink())?;
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
        body.check()?;
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
                    retrier = Retrier::new(policy);
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

/// Where results go.
#[derive(Clone, Debug)]
pub enum Destination {
    /// A file, written beside it under a temporary name and renamed when whole.
    File(PathBuf),
    /// Standard output (`-`), streamed as it is checked.
    Stdout,
}

impl Destination {
    /// `-` is stdout; anything else a file path, whose folder must exist (checked
    /// now, before any request, rather than after a long wait).
    pub fn from_flag(value: &str) -> anyhow::Result<Destination> {
        if value == "-" {
            return Ok(Destination::Stdout);
        }
        let path = PathBuf::from(value);
        if value.is_empty() || path.file_name().is_none() || path.is_dir() {
            crate::usage_bail!("--results-file must name a file, not {value:?}");
        }
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !folder.is_dir() {
            crate::usage_bail!(
                "--results-file {value}: the folder {} does not exist",
                folder.display()
            );
        }
        Ok(Destination::File(path))
    }
}

/// Downloads the results at `url` to `dest`, checking every line, and returns
/// the summary.
///
/// A file appears at its path only when the body is whole and checked; a
/// non-2xx answer, a broken connection or a corrupt line leaves no file there.
pub fn download_results(client: &Client, url: &str, dest: &Destination) -> anyhow::Result<Summary> {
    let target = Target::new(client, url)?;
    match dest {
        Destination::Stdout => fetch_checked(client, &target, io::stdout().lock()),
        Destination::File(path) => {
            let part = PartFile::create(path)?;
            let summary = fetch_checked(
                client,
                &target,
                EarlyWriteback::new(&part.file, WRITEBACK_STEP),
            )?;
            part.persist()?;
            Ok(summary)
        }
    }
}

/// Streams the body at `target` into `out`, checking it; after a broken
/// connection, goes on with a `Range` request from the bytes already written.
fn fetch_checked(client: &Client, target: &Target, mut out: impl Write) -> anyhow::Result<Summary> {
    let policy = client.config().retry;
    let mut retrier = Retrier::new(policy);
    let mut checker = ResultsChecker::new();
    let mut buffer = vec![0; COPY_BUFFER];
    let mut written = 0u64;
    let mut progress = None;
    loop {
        let mut request = client.agent().get(&target.url);
        if let Some(auth) = &target.auth {
            request = request.header("authorization", auth);
        }
        if written > 0 {
            request = request.header("range", format!("bytes={written}-"));
        }
        let mut response = match target.expect_success("download from", request.call(), &[200, 206])
        {
            Ok(r) => r,
            Err(e) => {
                retrier.after_failure(e)?;
                continue;
            }
        };
        // Where this body starts, and how many of its bytes were written already.
        let mut skip = 0;
        if response.status().as_u16() == 206 {
            let range = response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok());
            let start = range
                .and_then(|r| r.strip_prefix("bytes "))
                .and_then(|r| r.split('-').next())
                .and_then(|s| s.parse::<u64>().ok());
            if start != Some(written) {
                anyhow::bail!(
                    "download from {}: asked for bytes from {written}, got {range:?}",
                    target.host
                );
            }
        } else {
            // The server ignored Range: the body starts afresh.
            skip = written;
        }
        let expected = response.body().content_length().map(|n| n + written - skip);
        let progress = progress.get_or_insert_with(|| Progress::bytes("download", expected));
        progress.set_position(written);
        let mut reader = response.body_mut().as_reader();
        let before = written;
        let broke = loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(target.transient("download from", &e.to_string())),
            };
            let mut piece = &buffer[..n];
            if skip > 0 {
                let dropped = skip.min(n as u64);
                piece = &piece[dropped as usize..];
                skip -= dropped;
            }
            // Checked, then written: a piece with a corrupt line is not written.
            checker.feed(piece)?;
            out.write_all(piece).context("writing the results")?;
            written += piece.len() as u64;
            progress.inc(piece.len() as u64);
        };
        let broke = broke.or_else(|| match expected {
            Some(expected) if expected != written => Some(target.transient(
                "download from",
                &format!("the body ended after {written} of {expected} bytes"),
            )),
            _ => None,
        });
        match broke {
            None => break,
            Some(e) => {
                if written > before {
                    retrier = Retrier::new(policy);
                }
                retrier.after_failure(e)?;
            }
        }
    }
    out.flush().context("writing the results")?;
    checker.finish()
}

/// A file written front to back, whose data is handed to the disk every
/// `step` bytes ([`WRITEBACK_STEP`]) rather than all at the end.
///
/// The results must be on disk before the file is renamed into place; syncing
/// 700 MB at the end alone took a third of a download here. Started early,
/// the disk writes overlap the download and the final sync has little left.
struct EarlyWriteback<'f> {
    file: &'f File,
    step: u64,
    written: u64,
    started: u64,
}

/// How much is written between two starts of writeback.
const WRITEBACK_STEP: u64 = 32 * 1024 * 1024;

impl<'f> EarlyWriteback<'f> {
    fn new(file: &'f File, step: u64) -> EarlyWriteback<'f> {
        EarlyWriteback {
            file,
            step,
            written: 0,
            started: 0,
        }
    }

    /// Starts writing bytes `started..written` to disk, without waiting.
    #[cfg(target_os = "linux")]
    fn start_writeback(&mut self) {
        use std::os::fd::AsRawFd as _;
        let (offset, len) = (self.started as i64, (self.written - self.started) as i64);
        // SAFETY: sync_file_range only reads its integer arguments; the file
        // descriptor stays open while `self.file` is borrowed. A failure only
        // means the final sync does all the work, so its result is ignored.
        unsafe {
            libc::sync_file_range(
                self.file.as_raw_fd(),
                offset,
                len,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn start_writeback(&mut self) {}
}

impl Write for EarlyWriteback<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= self.step {
            self.start_writeback();
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A temporary file beside the destination, removed unless persisted.
struct PartFile {
    file: File,
    part: PathBuf,
    path: PathBuf,
    persisted: bool,
}

impl PartFile {
    fn create(path: &Path) -> anyhow::Result<PartFile> {
        let name = path
            .file_name()
            .with_context(|| format!("{}: not a file name", path.display()))?;
        let mut part_name = std::ffi::OsString::from(".");
        part_name.push(name);
        part_name.push(".part");
        let part = path.with_file_name(part_name);
        // A part file left by an interrupted run is stale: start afresh.
        let _ = fs::remove_file(&part);
        let file =
            File::create(&part).with_context(|| format!("cannot create {}", part.display()))?;
        Ok(PartFile {
            file,
            part,
            path: path.to_path_buf(),
            persisted: false,
        })
    }

    fn persist(mut self) -> anyhow::Result<()> {
        // The data must be on disk before the name says the file is whole.
        self.file
            .sync_data()
            .with_context(|| format!("writing {}", self.part.display()))?;
        fs::rename(&self.part, &self.path).with_context(|| {
            format!(
                "cannot move {} to {}",
                self.part.display(),
                self.path.display()
            )
        })?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.part);
        }
    }
}

/// A signed URL to talk to, with what may be said about it in messages.
struct Target {
    url: String,
    host: String,
    auth: Option<String>,
}

impl Target {
    fn new(client: &Client, url: &str) -> anyhow::Result<Target> {
        let origin = Origin::of(url)?;
        if !origin.is_https() && !origin.is_loopback() {
            crate::usage_bail!(
                "{}: plain http:// is only for loopback hosts; the URL must be https://",
                crate::auth::redact_url(url)
            );
        }
        Ok(Target {
            url: url.to_string(),
            host: origin.host_port(),
            auth: client.authorization_for(url),
        })
    }

    /// Passes a response with one of the `ok` statuses; anything else becomes
    /// an error naming the host and what storage (or the API) said. A failed
    /// connection is [`Transient`]: worth another try.
    fn expect_success(
        &self,
        what: &str,
        sent: Result<Response<Body>, ureq::Error>,
        ok: &[u16],
    ) -> anyhow::Result<Response<Body>> {
        let mut response = sent.map_err(|e| self.transient(what, &e.to_string()))?;
        let status = response.status().as_u16();
        if ok.contains(&status) {
            return Ok(response);
        }
        let reset = rate_limit_reset(&response);
        let body = read_limited(&mut response, MAX_ERROR_BODY);
        let request = format!("{what} {}", self.host);
        match storage_error(&body) {
            Some(said) => Err(StorageError {
                request,
                status,
                said,
            }
            .into()),
            None => Err(ApiError::decode(request, status, reset, &body).into()),
        }
    }

    /// A `PUT` of one chunk (or a status query) to a resumable session.
    fn put(
        &self,
        client: &Client,
        range: &str,
        len: u64,
        body: SendBody,
    ) -> anyhow::Result<Response<Body>> {
        let mut request = client
            .agent()
            .put(&self.url)
            // 308 here is Cloud Storage's "Resume Incomplete", not a redirect.
            .config()
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .header("content-type", "text/plain")
            .header("content-length", len.to_string())
            .header("content-range", range);
        if let Some(auth) = &self.auth {
            request = request.header("authorization", auth);
        }
        self.expect_success("upload to", request.send(body), &[200, 201, 308])
    }

    /// A failure of the connection, for the retry policy, with the URL's secrets redacted.
    fn transient(&self, what: &str, why: &str) -> anyhow::Error {
        let why = redact_in(why, &self.url);
        anyhow::Error::new(Transient(format!("{what} {}: {why}", self.host)))
    }
}

/// An error answer from storage, with what its XML body said.
#[derive(Debug)]
pub struct StorageError {
    /// What was asked, and of which host.
    pub request: String,
    /// The HTTP status.
    pub status: u16,
    /// The error's code, message and details.
    pub said: String,
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: storage refused with HTTP {}: {}",
            self.request, self.status, self.said
        )?;
        if self.said.starts_with("ExpiredToken") {
            write!(
                f,
                "; the signed URL has expired: for an upload, create a new job"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for StorageError {}

/// The `Code`, `Message` and `Details` of a Cloud Storage XML error body.
fn storage_error(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.trim_start().starts_with('<') {
        return None;
    }
    let tag = |name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(crate::problem::one_line(&text[start..end]))
    };
    let parts: Vec<String> = ["Code", "Message", "Details"]
        .iter()
        .filter_map(|t| tag(t))
        .collect();
    match parts.is_empty() {
        true => Some("an XML error without a code".into()),
        false => Some(parts.join(": ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cloud_storage_errors() {
        let body = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SignatureDoesNotMatch</Code><Message>Access denied.</Message><Details>The request signature we calculated does not match.</Details></Error>";
        assert_eq!(
            storage_error(body).unwrap(),
            "SignatureDoesNotMatch: Access denied.: The request signature we calculated does not match."
        );
        assert_eq!(storage_error(b"{\"title\":\"x\"}"), None);
    }

    #[test]
    fn early_writeback_writes_every_byte_and_starts_each_step() {
        let path = std::env::temp_dir().join(format!("compliance-wb-{}", std::process::id()));
        let file = File::create(&path).unwrap();
        let mut out = EarlyWriteback::new(&file, 1000);
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(300) {
            out.write_all(piece).unwrap();
        }
        // Writeback starts once 1000 bytes are waiting: after 1200, 2400, ... 9600.
        assert_eq!((out.written, out.started), (10_000, 9_600));
        drop(file);
        assert_eq!(fs::read(&path).unwrap(), data);
        let _ = fs::remove_file(&path);
    }

    #[test]
    fn spots_resumable_urls() {
        assert!(is_resumable_url("https://s/b/o?X-Goog-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-goog-resumable&X-Goog-Signature=1"));
        assert!(!is_resumable_url(
            "https://s/b/o?X-Goog-SignedHeaders=content-type%3Bhost"
        ));
    }
}
