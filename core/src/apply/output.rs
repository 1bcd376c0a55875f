//! Where apply writes: the clean archive (gzip-compressed on a thread of
//! its own when its name ends in `.gz`, so that compressing overlaps the
//! rest), after checking that no output is one of the inputs.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc;
use std::thread;

use super::{input, Apply};
use crate::destination::{Destination, Sink};
use crate::error::{bail_usage, Context as _, Result};
use crate::report::Reporter;

/// Refuses, before anything is read, an output that is one of the inputs
/// (the archive would be lost) or the same as the other output.
pub(super) fn check_paths(job: &Apply) -> Result<()> {
    let mut inputs: Vec<(&str, &Path)> = job
        .results
        .iter()
        .map(|(of, p)| (of.flag(), p.as_path()))
        .collect();
    if let Some(archive) = job.archive.path() {
        inputs.insert(0, ("--archive", archive));
    }
    let mut outputs = vec![("--output", &job.output)];
    if let Some(removed) = &job.removed {
        outputs.push(("--removed", removed));
    }
    for (flag, dest) in &outputs {
        let Some(path) = dest.path() else { continue };
        for (input, given) in &inputs {
            if same_file(path, given) {
                bail_usage!(
                    "{flag} {} is {input} {}: the output must go to another file, or the \
                     input would be lost",
                    path.display(),
                    given.display()
                );
            }
        }
    }
    if let [(_, a), (_, b)] = outputs[..] {
        if (a, b) == (&Destination::Stdout, &Destination::Stdout) {
            bail_usage!("--output and --removed cannot both be - (standard output)");
        }
        if let (Some(pa), Some(pb)) = (a.path(), b.path()) {
            if matches!(a, Destination::File(_)) && same_file(pa, pb) {
                bail_usage!("--output and --removed are the same file, {}", pa.display());
            }
        }
    }
    Ok(())
}

/// Whether two paths name one file: the same inode, or the same path once
/// made absolute (for a file not there yet).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    let absolute = |p: &Path| std::path::absolute(p).ok();
    absolute(a).is_some_and(|x| Some(x) == absolute(b))
}

/// The clean archive on its way out: buffered, and gzip-compressed when its
/// name ends in `.gz`.
pub(super) enum Output {
    Plain(BufWriter<Sink>),
    Gzip(Compressing),
}

/// Whether output to `dest` is to be gzip-compressed: its name ends in `.gz`.
fn is_gzip(dest: &Destination) -> bool {
    dest.path()
        .and_then(Path::extension)
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

impl Output {
    pub(super) fn new(dest: &Destination, reporter: &Reporter) -> Result<Output> {
        let sink = BufWriter::with_capacity(input::PIECE, dest.create(reporter)?);
        Ok(match is_gzip(dest) {
            true => Output::Gzip(Compressing::start(sink)),
            false => Output::Plain(sink),
        })
    }

    /// Ends the output: the rest compressed and written, the file in place.
    pub(super) fn finish(self, dest: &Destination) -> Result<()> {
        let context = || format!("writing {}", dest.describe());
        let sink = match self {
            Output::Plain(w) => w,
            Output::Gzip(c) => c.finish().with_context(context)?,
        };
        sink.into_inner()
            .map_err(|e| e.into_error())
            .with_context(context)?
            .finish()
            .with_context(context)
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Plain(w) => w.write(buf),
            Output::Gzip(c) => c.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Plain(w) => w.flush(),
            Output::Gzip(c) => c.flush(),
        }
    }
}

/// A gzip writer on a thread of its own, fed pieces of [`input::PIECE`]
/// bytes: at gzip's usual level, compressing is the slowest part of a run.
pub(super) struct Compressing {
    piece: Vec<u8>,
    tx: Option<mpsc::SyncSender<Vec<u8>>>,
    thread: Option<thread::JoinHandle<io::Result<BufWriter<Sink>>>>,
}

impl Compressing {
    fn start(sink: BufWriter<Sink>) -> Compressing {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(4);
        let thread = thread::spawn(move || {
            let mut gz = flate2::write::GzEncoder::new(sink, flate2::Compression::default());
            for piece in rx {
                gz.write_all(&piece)?;
            }
            gz.finish()
        });
        Compressing {
            piece: Vec::with_capacity(input::PIECE),
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    /// Hands the piece to the thread; if the thread has stopped, its error.
    fn send(&mut self) -> io::Result<()> {
        let piece = std::mem::replace(&mut self.piece, Vec::with_capacity(input::PIECE));
        let sent = self.tx.as_ref().map(|tx| tx.send(piece));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self
                .join()
                .err()
                .unwrap_or_else(|| io::Error::other("the gzip writer stopped"))),
        }
    }

    fn join(&mut self) -> io::Result<BufWriter<Sink>> {
        self.tx = None;
        match self.thread.take().map(thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the gzip writer panicked")),
            None => Err(io::Error::other("the gzip writer stopped")),
        }
    }

    fn finish(mut self) -> io::Result<BufWriter<Sink>> {
        if !self.piece.is_empty() {
            self.send()?;
        }
        self.join()
    }
}

impl Drop for Compressing {
    /// After a failure: the thread ends with what it was given, and its
    /// temporary file goes with it, before the program can end.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Write for Compressing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.piece.extend_from_slice(buf);
        if self.piece.len() >= input::PIECE {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
