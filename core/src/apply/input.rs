//! Opening what apply reads: a file or standard input, gzip-compressed or
//! not, told by its first bytes. A gzip stream is inflated on a thread of
//! its own, so that inflating and applying overlap.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use crate::error::{bail_usage, Error, ErrorKind, Result};

/// The UTF-8 byte order mark, which some programs put first in a file.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The first bytes of every gzip stream.
const GZIP_MAGIC: &[u8] = b"\x1f\x8b";

/// How much is read at a time, and what an inflated piece holds.
pub(crate) const PIECE: usize = 1 << 20;

/// Where apply reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file (or a FIFO, read once).
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl Input {
    /// How to name it in a message.
    pub fn describe(&self) -> String {
        match self {
            Input::Path(path) => path.display().to_string(),
            Input::Stdin => "standard input".to_string(),
        }
    }

    /// The path, unless it is standard input.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Input::Path(path) => Some(path),
            Input::Stdin => None,
        }
    }
}

/// An open input, with whether it was gzip.
pub(crate) struct Opened {
    /// The bytes, inflated if they were compressed.
    pub reader: Box<dyn BufRead + Send>,
    /// Whether they were gzip.
    pub gzip: bool,
}

/// Opens `input`, inflating it if it is gzip.
pub(crate) fn open(input: &Input) -> Result<Box<dyn BufRead + Send>> {
    open_detected(input).map(|o| o.reader)
}

/// Opens `input`, inflating it if it is gzip, and says which it was.
pub(crate) fn open_detected(input: &Input) -> Result<Opened> {
    let name = input.describe();
    let raw: Box<dyn Read + Send> = match input {
        Input::Stdin => Box::new(io::stdin()),
        Input::Path(path) => {
            if path.is_dir() {
                bail_usage!("{name} is a folder, not a file");
            }
            Box::new(File::open(path).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => Error::usage(format!("{name}: no such file")),
                _ => Error::usage(format!("cannot open {name}: {e}")),
            })?)
        }
    };
    let (head, raw) = first_bytes(raw, GZIP_MAGIC.len()).map_err(|e| read_error(&name, e))?;
    let gzip = head == GZIP_MAGIC;
    let reader = BufReader::with_capacity(PIECE, io::Cursor::new(head).chain(raw));
    if !gzip {
        return Ok(Opened {
            reader: Box::new(reader),
            gzip,
        });
    }
    Ok(Opened {
        reader: Box::new(BufReader::with_capacity(PIECE, inflating(reader, name))),
        gzip,
    })
}

/// Reads the first `n` bytes of `raw` (fewer if it ends first; a pipe may
/// give them a byte at a time), and gives back what is left of it.
fn first_bytes<R: Read>(mut raw: R, n: usize) -> io::Result<(Vec<u8>, R)> {
    let mut head = vec![0; n];
    let mut filled = 0;
    while filled < n {
        match raw.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(filled);
    Ok((head, raw))
}

/// A reader of the inflated bytes of the gzip stream (one member or
/// several, as `cat a.gz b.gz` makes) in `compressed`, inflated on a
/// thread of its own a piece ahead.
fn inflating(compressed: impl BufRead + Send + 'static, name: String) -> impl Read + Send {
    let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(4);
    thread::spawn(move || {
        let mut decoder = flate2::bufread::MultiGzDecoder::new(compressed);
        loop {
            let mut piece = vec![0; PIECE];
            let mut filled = 0;
            let result = loop {
                match decoder.read(&mut piece[filled..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        filled += n;
                        if filled == piece.len() {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            piece.truncate(filled);
            let done = filled == 0 || result.is_err();
            let sent = match result {
                Err(e) if filled == 0 => tx.send(Err(e)),
                Err(e) => tx.send(Ok(piece)).and_then(|()| tx.send(Err(e))),
                Ok(()) if filled > 0 => tx.send(Ok(piece)),
                Ok(()) => Ok(()),
            };
            if done || sent.is_err() {
                return;
            }
        }
    });
    Inflated {
        rx,
        piece: Vec::new(),
        at: 0,
        name,
    }
}

struct Inflated {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    piece: Vec<u8>,
    at: usize,
    name: String,
}

impl Read for Inflated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.piece.len() {
            match self.rx.recv() {
                Ok(Ok(piece)) => (self.piece, self.at) = (piece, 0),
                Ok(Err(e)) => {
                    let kind = match e.kind() {
                        // Cut short, or not gzip after its first bytes.
                        io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::InvalidInput
                        | io::ErrorKind::InvalidData => io::ErrorKind::InvalidData,
                        kind => kind,
                    };
                    return Err(io::Error::new(
                        kind,
                        format!("{} is not whole, valid gzip: {e}", self.name),
                    ));
                }
                // The inflater ended: the stream is done.
                Err(mpsc::RecvError) => return Ok(0),
            }
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// An error reading `name`, with its name; corrupt gzip is bad input.
pub(crate) fn read_error(name: &str, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::InvalidData {
        Error::usage(e.to_string())
    } else {
        Error::from_source(ErrorKind::Io, e).context(format!("reading {name}"))
    }
}
