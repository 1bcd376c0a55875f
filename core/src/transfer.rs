//! Transfers: the ID file up to the job's upload URL, the results down from
//! its download URL.
//!
//! Both URLs are opaque and signed: they carry their own credential, so the
//! bearer token goes along only when they are on the API's own origin (the
//! 2026 flow). Both stream; neither holds the file in memory.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ureq::http::Response;
use ureq::{Body, SendBody};

use crate::auth::{redact_in, Origin};
use crate::client::{rate_limit_reset, read_limited, Client};
use crate::ids::{check_file, IdStats, NormalisedIds};
use crate::jobs::{Job, Status};
use crate::problem::{ApiError, MAX_ERROR_BODY};
use crate::results::{ResultsChecker, Summary};
use crate::time::{human_duration, Timestamp};

/// The size of each chunk of a resumable upload: a multiple of 256 KiB, as
/// Cloud Storage requires of every chunk but the last.
pub const RESUMABLE_CHUNK: u64 = 8 * 1024 * 1024;

/// The largest single upload the API host takes in the 2026 flow.
pub const API_HOST_UPLOAD_LIMIT: u64 = 1024 * 1024 * 1024;

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

/// Checks the ID file in full, then uploads its normalised form to `url`.
///
/// Nothing is sent unless every line is an ID. A resumable URL gets the Cloud
/// Storage resumable protocol, in chunks of [`RESUMABLE_CHUNK`].
pub fn upload_ids(
    client: &Client,
    url: &str,
    ids: &Path,
    resumable: bool,
) -> anyhow::Result<IdStats> {
    let stats = check_file(ids)?;
    let target = Target::new(client, url)?;
    if target.auth.is_some() && stats.normalised_bytes > API_HOST_UPLOAD_LIMIT {
        anyhow::bail!(
            "{}: {} bytes of IDs are over the API host's limit of {API_HOST_UPLOAD_LIMIT} bytes \
             (1 GiB) for one upload; split the IDs over several jobs",
            ids.display(),
            stats.normalised_bytes
        );
    }
    let mut body = NormalisedIds::open(ids)?;
    if resumable || is_resumable_url(url) {
        upload_resumable(client, &target, &mut body, stats.normalised_bytes)?;
    } else {
        let mut request = client
            .agent()
            .put(url)
            .header("content-type", "text/plain")
            .header("content-length", stats.normalised_bytes.to_string());
        if let Some(auth) = &target.auth {
            request = request.header("authorization", auth);
        }
        let response = request.send(SendBody::from_reader(&mut body));
        target.expect_success("upload", response, &[200, 201])?;
    }
    Ok(stats)
}

fn upload_resumable(
    client: &Client,
    target: &Target,
    body: &mut NormalisedIds,
    total: u64,
) -> anyhow::Result<()> {
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
        target.expect_success("upload session start", start.send(&[][..]), &[200, 201])?;
    let session = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .with_context(|| format!("{}: the upload session start gave no Location", target.host))?;
    let session = Target::new(client, &session)?;
    let mut sent = 0;
    loop {
        let len = RESUMABLE_CHUNK.min(total - sent);
        let range = if len == 0 {
            format!("bytes */{total}")
        } else {
            format!("bytes {sent}-{}/{total}", sent + len - 1)
        };
        let mut chunk = (&mut *body).take(len);
        let mut request = client
            .agent()
            .put(&session.url)
            .header("content-type", "text/plain")
            .header("content-length", len.to_string())
            .header("content-range", range);
        if let Some(auth) = &session.auth {
            request = request.header("authorization", auth);
        }
        let response = request.send(SendBody::from_reader(&mut chunk));
        let response = session.expect_success("upload", response, &[200, 201, 308])?;
        sent += len;
        if response.status().as_u16() != 308 {
            if sent != total {
                anyhow::bail!(
                    "{}: the upload ended after {sent} of {total} bytes",
                    session.host
                );
            }
            return Ok(());
        }
        if sent == total {
            anyhow::bail!(
                "{}: storage still wants bytes after all {total} were sent",
                session.host
            );
        }
    }
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
    /// `-` is stdout; anything else a file path.
    pub fn from_flag(value: &str) -> Destination {
        match value {
            "-" => Destination::Stdout,
            path => Destination::File(PathBuf::from(path)),
        }
    }
}

/// Downloads the results at `url` to `dest`, checking every line, and returns
/// the summary.
///
/// A file appears at its path only when the body is whole and checked; a
/// non-2xx answer, a broken connection or a corrupt line leaves no file there.
pub fn download_results(client: &Client, url: &str, dest: &Destination) -> anyhow::Result<Summary> {
    let target = Target::new(client, url)?;
    let mut request = client.agent().get(url);
    if let Some(auth) = &target.auth {
        request = request.header("authorization", auth);
    }
    let mut response = target.expect_success("download", request.call(), &[200])?;
    let expected = response.body().content_length();
    let mut reader = response.body_mut().as_reader();
    match dest {
        Destination::Stdout => {
            let out = io::stdout().lock();
            copy_checked(&mut reader, out, expected, &target)
        }
        Destination::File(path) => {
            let part = PartFile::create(path)?;
            let summary = copy_checked(&mut reader, BufWriter::new(&part.file), expected, &target)?;
            part.persist()?;
            Ok(summary)
        }
    }
}

fn copy_checked(
    reader: &mut impl Read,
    mut out: impl Write,
    expected: Option<u64>,
    target: &Target,
) -> anyhow::Result<Summary> {
    let mut checker = ResultsChecker::new();
    let mut buf = vec![0; COPY_BUFFER];
    let mut received = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => anyhow::bail!(
                "download from {} broke off after {received} bytes: {}",
                target.host,
                redact_in(&e.to_string(), &target.url)
            ),
        };
        received += n as u64;
        checker.feed(&buf[..n])?;
        out.write_all(&buf[..n]).context("writing the results")?;
    }
    if let Some(expected) = expected.filter(|e| *e != received) {
        anyhow::bail!(
            "download from {} ended after {received} of {expected} bytes",
            target.host
        );
    }
    out.flush().context("writing the results")?;
    checker.finish()
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
        self.file
            .sync_all()
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
    /// an error naming the host and what storage (or the API) said.
    fn expect_success(
        &self,
        what: &str,
        sent: Result<Response<Body>, ureq::Error>,
        ok: &[u16],
    ) -> anyhow::Result<Response<Body>> {
        let mut response = sent.map_err(|e| {
            anyhow::anyhow!(
                "{what} to {}: {}",
                self.host,
                redact_in(&e.to_string(), &self.url)
            )
        })?;
        let status = response.status().as_u16();
        if ok.contains(&status) {
            return Ok(response);
        }
        let reset = rate_limit_reset(&response);
        let body = read_limited(&mut response, MAX_ERROR_BODY);
        let request = format!("{what} at {}", self.host);
        match storage_error(&body) {
            Some(said) => anyhow::bail!("{request}: storage refused with HTTP {status}: {said}"),
            None => Err(ApiError::decode(request, status, reset, &body).into()),
        }
    }
}

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
        Some(text[start..end].trim().to_string())
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
    fn spots_resumable_urls() {
        assert!(is_resumable_url("https://s/b/o?X-Goog-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-goog-resumable&X-Goog-Signature=1"));
        assert!(!is_resumable_url(
            "https://s/b/o?X-Goog-SignedHeaders=content-type%3Bhost"
        ));
    }
}
