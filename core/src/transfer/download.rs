//! The download of a job's results: checked line by line as they arrive,
//! resumed with `Range` after a break, and renamed into place only when whole.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::storage::Target;
use crate::client::Client;
use crate::jobs::{Job, Status};
use crate::progress::Progress;
use crate::results::{ResultsChecker, Summary};
use crate::retry::Retrier;
use crate::time::Timestamp;

/// How much of a download is read, written and checked at a time: small
/// enough to be checked while it is still in the CPU's cache.
const COPY_BUFFER: usize = 256 * 1024;
impl Job {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
