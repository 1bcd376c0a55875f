//! The download of a job's results: checked line by line as they arrive,
//! resumed with `Range` after a break, and renamed into place only when whole.
//! The results of several jobs (the parts of a split run) go into one file
//! the same way, one after another ([`ResultsDownload`]).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use ureq::http::Response;
use ureq::Body;

use super::integrity::{Hashes, Mismatch, Verifier};
use super::storage::{unredirected, Target};
use crate::auth::{redact_url, Origin};
use crate::client::{bounded, Client};
use crate::destination::{Destination, Sink};
use crate::error::{fail, Context as _, Error, ErrorKind, Result};
use crate::jobs::{Job, JobRef, Status};
use crate::report::Reporter;
use crate::results::{CsvWriter, Format, ResultsChecker, Summary};
use crate::time::Timestamp;
use crate::wait::{wait_for_job, Patience};

/// How much of a download is read, written and checked at a time: small
/// enough to be checked while it is still in the CPU's cache.
const COPY_BUFFER: usize = 256 * 1024;

/// A body that brings fewer bytes than this in a whole `--stall` period is
/// stalled, though it never goes silent: a server trickling a byte a
/// second must not hold a download forever.
const STALL_MIN_BYTES: u64 = 1024;

/// The most redirects followed on the way to the results.
const MAX_REDIRECTS: usize = 5;

/// The download URL of a job looked up by `--id` or `--name`: at once, or
/// (with `wait`) once the job is done. A job that has no IDs yet has nothing
/// to wait for unless someone uploads them: that is said before waiting,
/// and the wait ends when its upload window closes.
pub fn results_url(client: &Client, job: Job, wait: Option<Patience>) -> Result<String> {
    let Some(patience) = wait else {
        return job.ready_download_url(Timestamp::now()).map(str::to_string);
    };
    if job.status() == Status::Created {
        let until = job
            .upload_expires_at()
            .map_or(String::new(), |at| format!(" at {at}"));
        client.reporter().note(format!(
            "{} has no IDs yet: waiting for them to be uploaded (someone else may be \
             uploading), at most until its upload window closes{until}",
            job.describe()
        ));
    }
    let job = wait_for_job(client, job, patience)?;
    job.ready_download_url(Timestamp::now()).map(str::to_string)
}

/// Where one job's results come from: a download URL given, or a job to
/// look up by `--id` or `--name`.
#[derive(Clone, Debug)]
pub enum Source {
    /// A download URL, as create-job printed it.
    Url(String),
    /// A job, looked up first.
    Job(JobRef),
}

/// Downloads the results of every source, in order, into one destination:
/// download-results with several `--id` or `--url`, and lifecycle.sh's
/// parts. The destination is opened first (a folder that takes no file
/// fails before any request), then every job is looked up within
/// `patience`'s deadline, then each is waited for (with `wait`) and
/// downloaded. Returns what was written and the jobs looked up, in order.
pub fn download_sources(
    client: &Client,
    sources: &[Source],
    dest: &Destination,
    format: Format,
    patience: Patience,
    wait: bool,
) -> Result<(Downloaded, Vec<Job>)> {
    let mut download = ResultsDownload::start(dest, format, client.reporter())?;
    let mut jobs = Vec::new();
    for source in sources {
        if let Source::Job(job_ref) = source {
            jobs.push(client.find_job_within(job_ref, patience.deadline())?);
        }
    }
    let (count, mut found) = (sources.len(), jobs.iter());
    for (k, source) in sources.iter().enumerate() {
        let (url, which) = match source {
            Source::Url(url) => (url.clone(), format!("--url {} of {count}", k + 1)),
            Source::Job(_) => {
                let job = found
                    .next()
                    .ok_or_else(|| Error::new(ErrorKind::Usage, "a job looked up for each --id"))?;
                let url = results_url(client, job.clone(), wait.then_some(patience))?;
                (url, format!("{} ({} of {count})", job.describe(), k + 1))
            }
        };
        let added = download.add(client, &url);
        match count {
            1 => added?,
            _ => added.with_context(|| format!("the results of {which}"))?,
        }
    }
    Ok((download.finish()?, jobs))
}

/// What a download wrote, once whole and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Downloaded {
    /// What the results hold: lines, events per reason, other records.
    pub summary: Summary,
    /// The format the results were written in.
    pub format: Format,
    /// Bytes written to the destination: the body as downloaded for JSON
    /// Lines, the CSV for CSV.
    pub bytes: u64,
}

/// Downloads the results at `url` to `dest` in `format`, checking every
/// line and, when storage sends them, the hashes of the whole body (the
/// bytes downloaded, whatever the format); returns what was written.
///
/// A file appears at its path only when the body is whole and checked; a
/// non-2xx answer, a broken connection, a corrupt line or a hash that does
/// not match leaves no file there. A FIFO, a character device or standard
/// output gets the results as they are checked. In CSV, each checked line
/// becomes a row once, however often the download resumes.
pub fn download_results(
    client: &Client,
    url: &str,
    dest: &Destination,
    format: Format,
) -> Result<Downloaded> {
    let mut download = ResultsDownload::start(dest, format, client.reporter())?;
    download.add(client, url)?;
    download.finish()
}

/// The results of one job, or of several one after another (the parts of
/// a run split into jobs), downloaded into one destination as one file:
/// JSON Lines as they came (with a line end put between two bodies when
/// the first has none at its end), or one CSV with one header.
///
/// Each body is fetched and checked as [`download_results`] fetches one,
/// its hashes included; a regular file appears at its path only when
/// every body is whole ([`ResultsDownload::finish`]), and a failure in any
/// leaves the path as it was.
pub struct ResultsDownload<'d> {
    dest: &'d Destination,
    format: Format,
    out: Out,
    summary: Summary,
}

/// Where the checked bodies go: as they came, or converted to CSV.
enum Out {
    Jsonl(Counted<Sink>),
    Csv(CsvWriter<Counted<Sink>>),
}

impl<'d> ResultsDownload<'d> {
    /// Starts writing to `dest`: a regular file's temporary file is created
    /// now, so a folder where no file can be written fails before any
    /// request or wait (exit 1).
    pub fn start(
        dest: &'d Destination,
        format: Format,
        reporter: &Reporter,
    ) -> Result<ResultsDownload<'d>> {
        let sink = Counted {
            inner: dest.create(reporter)?,
            bytes: 0,
            last: None,
        };
        let out = match format {
            Format::Jsonl => Out::Jsonl(sink),
            Format::Csv => Out::Csv(CsvWriter::new(sink)),
        };
        Ok(ResultsDownload {
            dest,
            format,
            out,
            summary: Summary::default(),
        })
    }

    /// Downloads the results at `url` after those already written.
    pub fn add(&mut self, client: &Client, url: &str) -> Result<()> {
        let target = Target::new(client, url)?;
        let dest = self.dest;
        let writing = || format!("writing the results to {}", dest.describe());
        if let Out::Jsonl(out) = &mut self.out {
            // The next body's first line must not join the last one's.
            if out.last.is_some_and(|b| b != b'\n') {
                out.write_all(b"\n").with_context(writing)?;
            }
        }
        let summary = fetch_checked(client, &target, &mut self.out, dest)?;
        if let Out::Csv(csv) = &mut self.out {
            // The last line is checked now: it may be a row.
            csv.write_rows().with_context(writing)?;
        }
        self.summary.add(summary);
        Ok(())
    }

    /// Ends the output once every body is whole: a regular file is renamed
    /// into place. Returns what was written, all bodies together.
    pub fn finish(self) -> Result<Downloaded> {
        let writing = || format!("writing the results to {}", self.dest.describe());
        let out = match self.out {
            Out::Jsonl(out) => out,
            // A row for each event the summary counts: both take the
            // checker's events.
            Out::Csv(csv) => csv.finish_into_inner().with_context(writing)?.1,
        };
        out.inner.finish().with_context(writing)?;
        Ok(Downloaded {
            summary: self.summary,
            format: self.format,
            bytes: out.bytes,
        })
    }
}

/// A writer that counts the bytes it passes on, and keeps the last.
struct Counted<W> {
    inner: W,
    bytes: u64,
    last: Option<u8>,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        self.last = buf[..n].last().copied().or(self.last);
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)?;
        self.bytes += buf.len() as u64;
        self.last = buf.last().copied().or(self.last);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What the head of a download answer says of its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    /// Where in the object the body starts.
    start: u64,
    /// How long the body is, if the answer says.
    len: Option<u64>,
    /// How long the whole object is, if the answer says.
    total: Option<u64>,
}

impl Span {
    /// Reads a `200` (the whole object: its length is the total) or a `206`
    /// (`Content-Range: bytes A-B/TOTAL`, which must start at or before
    /// `from`, the first byte still missing).
    fn of(response: &Response<Body>, from: u64) -> Result<Span, String> {
        let length = response.body().content_length();
        if response.status().as_u16() != 206 {
            return Ok(Span {
                start: 0,
                len: length,
                total: length,
            });
        }
        let value = response
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok());
        let Some((start, end, total)) = value.and_then(parse_content_range) else {
            return Err(format!(
                "a 206 answer with an unusable Content-Range ({value:?})"
            ));
        };
        let len = end - start + 1;
        if start > from {
            return Err(format!(
                "asked for the bytes from {from}, got a 206 for {start}-{end}"
            ));
        }
        if length.is_some_and(|n| n != len) || total.is_some_and(|t| end >= t) {
            return Err(format!(
                "a 206 answer whose Content-Range ({}) does not fit its length ({length:?})",
                value.unwrap_or_default()
            ));
        }
        Ok(Span {
            start,
            len: Some(len),
            total,
        })
    }
}

/// Parses `bytes A-B/TOTAL` (or `bytes A-B/*`) into `(A, B, TOTAL)`.
fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let (a, b) = (number(a)?, number(b)?);
    let total = match total.trim() {
        "*" => None,
        t => Some(number(t)?),
    };
    (a <= b).then_some((a, b, total))
}

/// Streams the body at `target` into `out`, checking it. A broken body goes
/// on with a `Range` request from the bytes already written, and a `206` for
/// part of what was asked goes on from where it ends, until the object's
/// total is reached.
fn fetch_checked(
    client: &Client,
    target: &Target,
    out: &mut Out,
    dest: &Destination,
) -> Result<Summary> {
    let stall = client.config().read_timeout;
    let mut retrier = client.retrier();
    let mut checker = ResultsChecker::new();
    let mut verifier = Verifier::new();
    let mut buffer = vec![0; COPY_BUFFER];
    let mut written = 0u64;
    let mut total = None;
    let mut progress = None;
    let refuse = |kind: ErrorKind, why: String| {
        Error::new(kind, format!("download from {}: {why}", target.host))
    };
    // Whether the first answer's hashes cover the whole body.
    let mut hashed = None;
    while total != Some(written) {
        let mut response = match get(client, target, written, retrier.time_left()) {
            Ok(r) => r,
            Err(e) => {
                retrier.after_failure(e)?;
                continue;
            }
        };
        let span = Span::of(&response, written).map_err(|why| refuse(ErrorKind::BadAnswer, why))?;
        let hashes = Hashes::from_headers(response.headers());
        let hashed = *hashed.get_or_insert(hashes != Hashes::default());
        if span.len.is_none() && !delimited(&response) && !hashed {
            return Err(refuse(
                ErrorKind::Integrity,
                format!(
                    "the answer has neither a length nor chunks: its body ends wherever the \
                 connection closes, so a body cut short would look whole, and no hash \
                 covers it to tell; it is not trusted: {}",
                    not_whole(dest)
                ),
            ));
        }
        match (total, span.total) {
            (Some(before), Some(now)) if before != now => {
                return Err(refuse(
                    ErrorKind::Integrity,
                    format!(
                        "the results changed on the server during the download (they were \
                         {before} bytes, now {now}); run download-results again"
                    ),
                ))
            }
            _ => total = total.or(span.total),
        }
        if let Err(Mismatch::Changed) = verifier.expect(hashes) {
            return Err(refuse(
                ErrorKind::Integrity,
                "the results changed on the server during the download (their hashes \
                 differ between answers); run download-results again"
                    .into(),
            ));
        }
        let progress = progress.get_or_insert_with(|| client.reporter().bytes("download", total));
        progress.set_position(written);
        // The bytes of this body before `written` were written already.
        let mut skip = written - span.start;
        let mut received = 0u64;
        let before = written;
        let mut pace = Pace::new(stall);
        let mut reader = response.body_mut().as_reader();
        let broke = loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(target.transient("download from", &e.to_string())),
            };
            received += n as u64;
            let mut piece = &buffer[..n];
            if skip > 0 {
                let dropped = skip.min(n as u64);
                piece = &piece[dropped as usize..];
                skip -= dropped;
            }
            // Checked, then written (or converted): a piece with a corrupt
            // line is not written.
            let wrote = match out {
                Out::Jsonl(out) => {
                    checker.feed(piece)?;
                    out.write_all(piece)
                }
                Out::Csv(csv) => {
                    checker.feed_into(piece, csv)?;
                    csv.write_rows()
                }
            };
            wrote.with_context(|| format!("writing the results to {}", dest.describe()))?;
            verifier.update(piece);
            written += piece.len() as u64;
            progress.inc(piece.len() as u64);
            if !pace.saw(n as u64) {
                break Some(target.transient(
                    "download from",
                    &format!(
                        "the body stalled: under {STALL_MIN_BYTES} bytes in {}s (--stall)",
                        stall.as_secs_f64()
                    ),
                ));
            }
        };
        let broke = broke.or_else(|| match span.len {
            Some(len) if received != len => Some(target.transient(
                "download from",
                &format!("the body ended after {received} of {len} bytes"),
            )),
            _ => None,
        });
        if broke.is_none() && span.len.is_none() {
            // A body without a length (chunked) ends the object where it ends.
            total = Some(written);
        }
        match broke {
            None if written > before || total == Some(written) => retrier.progressed(),
            None => {
                let e = target.transient("download from", "an answer brought no new bytes");
                retrier.after_failure(e)?;
            }
            Some(e) => {
                if written > before {
                    retrier.progressed();
                }
                retrier.after_failure(e)?;
            }
        }
    }
    match out {
        Out::Jsonl(out) => out.flush(),
        Out::Csv(csv) => csv.flush(),
    }
    .with_context(|| format!("writing the results to {}", dest.describe()))?;
    if let Err(Mismatch::Corrupt { hash, ours, theirs }) = verifier.verify() {
        return Err(refuse(
            ErrorKind::Integrity,
            format!(
                "the download was corrupted in transit: its {hash} is {ours}, storage says \
                 {theirs}; {}; run download-results again",
                not_whole(dest)
            ),
        ));
    }
    match out {
        Out::Jsonl(_) => checker.finish(),
        Out::Csv(csv) => checker.finish_into(csv),
    }
}

/// What became of the output of a download that failed.
fn not_whole(dest: &Destination) -> String {
    match dest {
        Destination::File(_) => "no results file was written".to_string(),
        _ => format!("what was written to {} is not the results", dest.describe()),
    }
}

/// GETs the results from byte `written` on, following redirects by hand:
/// every hop must be `https://`, or `http://` on this machine (as `--url`
/// may be), and the token goes with the first request alone, when that is
/// on the API's own origin.
fn get(
    client: &Client,
    target: &Target,
    written: u64,
    left: Option<Duration>,
) -> Result<Response<Body>> {
    let mut hop = Target {
        url: target.url.clone(),
        host: target.host.clone(),
        auth: target.auth.clone(),
    };
    for _ in 0..=MAX_REDIRECTS {
        let mut request = bounded(unredirected(client.agent().get(&hop.url)), left);
        if let Some(auth) = &hop.auth {
            request = request.header("authorization", auth);
        }
        if written > 0 {
            request = request.header("range", format!("bytes={written}-"));
        }
        let ok = [200, 206, 301, 302, 303, 307, 308];
        let response = hop.expect_success("download from", request.call(), &ok)?;
        let status = response.status().as_u16();
        if matches!(status, 200 | 206) {
            return Ok(response);
        }
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::BadAnswer,
                    format!(
                        "download from {}: a redirect (HTTP {status}) without a Location",
                        hop.host
                    ),
                )
            })?;
        let next = resolve(&hop.url, location);
        let origin = Origin::of(&next)
            .map_err(|e| e.into_kind(ErrorKind::BadAnswer))
            .with_context(|| {
                format!(
                    "download from {}: a redirect (HTTP {status}) to {:?}",
                    hop.host,
                    redact_url(&next)
                )
            })?;
        if !origin.is_https() && !origin.is_loopback() {
            fail!(
                Refused,
                "download from {}: redirected (HTTP {status}) to plain http:// on {}, which \
                 is not this machine; refused: results are fetched over https:// only",
                hop.host,
                origin.host_port()
            );
        }
        hop = Target {
            url: next,
            host: origin.host_port(),
            auth: None,
        };
    }
    fail!(
        BadAnswer,
        "download from {}: more than {MAX_REDIRECTS} redirects",
        target.host
    )
}

/// A redirect's `Location` made absolute against the URL that answered it.
fn resolve(base: &str, location: &str) -> String {
    if Origin::of(location).is_ok() {
        return location.to_string();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let origin_end = base[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(base.len(), |i| scheme_end + i);
    if location.starts_with("//") {
        return format!("{}{location}", &base[..scheme_end.saturating_sub(2)]);
    }
    if location.starts_with('/') {
        return format!("{}{location}", &base[..origin_end]);
    }
    // Relative to the folder of the base's path.
    let path_end = base[origin_end..]
        .find(['?', '#'])
        .map_or(base.len(), |i| origin_end + i);
    let folder_end = base[origin_end..path_end]
        .rfind('/')
        .map_or(origin_end, |i| origin_end + i);
    format!("{}/{location}", &base[..folder_end])
}

/// Whether an answer says where its body ends: by its `Content-Length`
/// (`0` included), or by chunks (in HTTP/1.1 only). Without either, the
/// body ends where the connection closes, and a cut looks like the end.
fn delimited(response: &Response<Body>) -> bool {
    let chunked = response.version() != ureq::http::Version::HTTP_10
        && response
            .headers()
            .get_all("transfer-encoding")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("chunked"));
    chunked || response.headers().contains_key("content-length")
}

/// Watches that a body keeps coming: at least [`STALL_MIN_BYTES`] in every
/// `window` (`--stall`).
struct Pace {
    window: Duration,
    since: Instant,
    bytes: u64,
}

impl Pace {
    fn new(window: Duration) -> Pace {
        Pace {
            window,
            since: Instant::now(),
            bytes: 0,
        }
    }

    /// Counts `n` bytes; `false` once a whole window brought too few.
    fn saw(&mut self, n: u64) -> bool {
        self.bytes += n;
        if self.since.elapsed() < self.window {
            return true;
        }
        let enough = self.bytes >= STALL_MIN_BYTES;
        self.since = Instant::now();
        self.bytes = 0;
        enough
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(
            parse_content_range("bytes 0-50999/102000"),
            Some((0, 50_999, Some(102_000)))
        );
        assert_eq!(parse_content_range("bytes 7-7/*"), Some((7, 7, None)));
        for bad in [
            "bytes 5-4/10",
            "bytes */10",
            "items 0-1/2",
            "bytes -1/2",
            "bytes 0-1",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn redirects_resolve_against_the_url_that_answered() {
        let base = "https://s.test/bucket/r.json?sig=1";
        for (location, want) in [
            ("https://o.test/x?y=1", "https://o.test/x?y=1"),
            ("//o.test/x", "https://o.test/x"),
            ("/x/y", "https://s.test/x/y"),
            ("other?z=2", "https://s.test/bucket/other?z=2"),
        ] {
            assert_eq!(resolve(base, location), want, "{location}");
        }
        assert_eq!(resolve("http://h:1", "x"), "http://h:1/x");
    }

    #[test]
    fn a_trickle_is_a_stall() {
        let mut pace = Pace::new(Duration::ZERO);
        assert!(!pace.saw(1));
        assert!(pace.saw(STALL_MIN_BYTES));
        let mut pace = Pace::new(Duration::from_secs(3600));
        assert!(pace.saw(1), "a window not over yet");
    }
}
