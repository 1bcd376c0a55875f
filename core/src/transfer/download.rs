//! The download of a job's results: checked line by line as they arrive,
//! resumed with `Range` after a break, and renamed into place only when whole.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ureq::http::Response;
use ureq::Body;

use super::integrity::{Hashes, Mismatch, Verifier};
use super::storage::Target;
use crate::client::{bounded, Client};
use crate::destination::Destination;
use crate::jobs::{Job, Status};
use crate::messages::note;
use crate::progress::Progress;
use crate::results::{CsvWriter, Format, ResultsChecker, Summary};
use crate::retry::Retrier;
use crate::time::Timestamp;
use crate::wait::{wait_for_job, Patience};

/// How much of a download is read, written and checked at a time: small
/// enough to be checked while it is still in the CPU's cache.
const COPY_BUFFER: usize = 256 * 1024;

/// A body that brings fewer bytes than this in a whole `--stall` period is
/// stalled, though it never goes silent: a server trickling a byte a
/// second must not hold a download forever.
const STALL_MIN_BYTES: u64 = 1024;

impl Job {
    /// The download URL, if the results can be fetched at `now`: status
    /// `complete` and the download not expired. Otherwise an error saying why.
    pub fn ready_download_url(&self, now: Timestamp) -> anyhow::Result<&str> {
        match self.status() {
            Status::Complete => {}
            Status::Created => anyhow::bail!(
                "{} has no IDs yet: upload them first (upload-ids --ids-file FILE --id {}), \
                 then download its results",
                self.describe(),
                self.id()
            ),
            Status::InProgress => anyhow::bail!(
                "{} is not complete yet: wait with --wait, or later run list-job --id {} --wait",
                self.describe(),
                self.id()
            ),
            Status::Expired => anyhow::bail!(
                "{} has no results: its upload window closed without IDs; to check IDs, \
                 create a new job",
                self.describe()
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

/// The download URL of a job looked up by `--id` or `--name`: at once, or
/// (with `wait`) once the job is done. A job that has no IDs yet has nothing
/// to wait for unless someone uploads them: that is said before waiting,
/// and the wait ends when its upload window closes.
pub fn results_url(client: &Client, job: Job, wait: Option<Patience>) -> anyhow::Result<String> {
    let Some(patience) = wait else {
        return job.ready_download_url(Timestamp::now()).map(str::to_string);
    };
    if job.status() == Status::Created {
        let until = job
            .upload_expires_at()
            .map_or(String::new(), |at| format!(" at {at}"));
        note(format!(
            "{} has no IDs yet: waiting for them to be uploaded (someone else may be \
             uploading), at most until its upload window closes{until}",
            job.describe()
        ));
    }
    let job = wait_for_job(client, job, patience)?;
    job.ready_download_url(Timestamp::now()).map(str::to_string)
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
) -> anyhow::Result<Downloaded> {
    let target = Target::new(client, url)?;
    let mut sink = dest.create()?;
    let downloaded = deliver(client, &target, &mut sink, dest, format)?;
    sink.finish()
        .with_context(|| format!("writing the results to {}", dest.describe()))?;
    Ok(downloaded)
}

/// Fetches the checked body into `out`, as it came or converted to CSV,
/// counting the bytes written.
fn deliver(
    client: &Client,
    target: &Target,
    out: impl Write,
    dest: &Destination,
    format: Format,
) -> anyhow::Result<Downloaded> {
    let mut out = Counted {
        inner: out,
        bytes: 0,
    };
    let summary = match format {
        Format::Jsonl => fetch_checked(client, target, &mut out, dest)?,
        Format::Csv => {
            let mut csv = CsvWriter::new(&mut out);
            let summary = fetch_checked(client, target, &mut csv, dest)?;
            // The last line is checked now: it may become the last row.
            let rows = csv
                .finish()
                .with_context(|| format!("writing the results to {}", dest.describe()))?;
            if rows != summary.events {
                anyhow::bail!(
                    "the CSV has {rows} rows for {} compliance events: this is a bug; \
                     download the results with --format jsonl",
                    summary.events
                );
            }
            summary
        }
    };
    Ok(Downloaded {
        summary,
        format,
        bytes: out.bytes,
    })
}

/// A writer that counts the bytes it passes on.
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)?;
        self.bytes += buf.len() as u64;
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
    out: &mut dyn Write,
    dest: &Destination,
) -> anyhow::Result<Summary> {
    let stall = client.config().read_timeout;
    let mut retrier = Retrier::new(client.config().retry);
    let mut checker = ResultsChecker::new();
    let mut verifier = Verifier::new();
    let mut buffer = vec![0; COPY_BUFFER];
    let mut written = 0u64;
    let mut total = None;
    let mut progress = None;
    let refuse = |why: String| anyhow::anyhow!("download from {}: {why}", target.host);
    while total != Some(written) {
        let mut request = bounded(client.agent().get(&target.url), retrier.time_left());
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
        let span = Span::of(&response, written).map_err(refuse)?;
        match (total, span.total) {
            (Some(before), Some(now)) if before != now => {
                return Err(refuse(format!(
                    "the results changed on the server during the download (they were \
                     {before} bytes, now {now}); run download-results again"
                )))
            }
            _ => total = total.or(span.total),
        }
        if let Err(Mismatch::Changed) = verifier.expect(Hashes::from_headers(response.headers())) {
            return Err(refuse(
                "the results changed on the server during the download (their hashes \
                 differ between answers); run download-results again"
                    .into(),
            ));
        }
        let progress = progress.get_or_insert_with(|| Progress::bytes("download", total));
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
            checker.feed(piece)?;
            out.write_all(piece)
                .with_context(|| format!("writing the results to {}", dest.describe()))?;
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
    out.flush()
        .with_context(|| format!("writing the results to {}", dest.describe()))?;
    if let Err(Mismatch::Corrupt { hash, ours, theirs }) = verifier.verify() {
        let kept = match dest {
            Destination::File(_) => "no results file was written".to_string(),
            _ => format!("what was written to {} is not the results", dest.describe()),
        };
        return Err(refuse(format!(
            "the download was corrupted in transit: its {hash} is {ours}, storage says \
             {theirs}; {kept}; run download-results again"
        )));
    }
    checker.finish()
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
    fn a_trickle_is_a_stall() {
        let mut pace = Pace::new(Duration::ZERO);
        assert!(!pace.saw(1));
        assert!(pace.saw(STALL_MIN_BYTES));
        let mut pace = Pace::new(Duration::from_secs(3600));
        assert!(pace.saw(1), "a window not over yet");
    }
}
