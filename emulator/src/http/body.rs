//! Request bodies: `Content-Length` and chunked framing, and the
//! `100 Continue` a client may wait for before sending.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::AtomicBool;

use super::head::{Framing, Request};
use super::pace::Pace;
use super::BUF_SIZE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// Where reading a body stands.
enum BodyState {
    Length { left: u64 },
    Chunked { left: u64, need_crlf: bool },
    Done,
}

/// The body of a request, read through the connection's buffer.
///
/// Reading sends `100 Continue` first when the client asked for it. An error
/// or a premature end marks the body broken: the connection is then closed
/// without an answer, as the client has gone.
pub(crate) struct Body<'a> {
    reader: &'a mut BufReader<TcpStream>,
    writer: &'a TcpStream,
    state: BodyState,
    continue_pending: bool,
    read: u64,
    broken: bool,
    pace: Option<Pace>,
    shutdown: &'a AtomicBool,
}

impl<'a> Body<'a> {
    /// The body of `req`, read from `reader`; `writer` sends the
    /// `100 Continue`, and `shutdown` cuts paced waits short.
    pub(crate) fn new(
        reader: &'a mut BufReader<TcpStream>,
        writer: &'a TcpStream,
        req: &Request,
        shutdown: &'a AtomicBool,
    ) -> Body<'a> {
        let state = match req.framing {
            Framing::None => BodyState::Done,
            Framing::Length(n) => BodyState::Length { left: n },
            Framing::Chunked => BodyState::Chunked {
                left: 0,
                need_crlf: false,
            },
        };
        Body {
            reader,
            writer,
            state,
            continue_pending: req.expect_continue && state != BodyState::Done,
            read: 0,
            broken: false,
            pace: None,
            shutdown,
        }
    }

    /// Bytes of body delivered so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.read
    }

    /// True once the whole body has been read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == BodyState::Done
    }

    /// True if reading failed or the client closed early.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
    }

    /// What is left of a body that the client is sending, when its length
    /// is known: reading it off keeps the connection. `None` when the
    /// length is unknown (chunked), or when the client still waits for a
    /// `100 Continue`, which no one will send now.
    pub(crate) fn unread(&self) -> Option<u64> {
        if self.continue_pending {
            return None;
        }
        self.remaining()
    }

    /// Bytes still to come when the length is known.
    fn remaining(&self) -> Option<u64> {
        match self.state {
            BodyState::Length { left } => Some(left),
            BodyState::Chunked { .. } => None,
            BodyState::Done => Some(0),
        }
    }

    /// Reads and drops up to `limit` bytes of body.
    pub(crate) fn discard(&mut self, limit: u64) -> io::Result<u64> {
        let mut buf = vec![
            0u8;
            BUF_SIZE
                .min(usize::try_from(limit).unwrap_or(BUF_SIZE))
                .max(1)
        ];
        let mut total = 0;
        while total < limit {
            let want = (limit - total).min(buf.len() as u64) as usize;
            let n = self.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        Ok(total)
    }

    /// Copies the rest of the body to `out`, giving up past `limit` bytes
    /// (in which case it returns `Ok(None)` and the body is left unread).
    pub(crate) fn copy_to(&mut self, out: &mut impl Write, limit: u64) -> io::Result<Option<u64>> {
        let mut buf = vec![0u8; BUF_SIZE];
        let mut total = 0u64;
        loop {
            let n = match self.read(&mut buf) {
                Ok(0) => return Ok(Some(total)),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted && !self.broken => continue,
                Err(e) => return Err(e),
            };
            total += n as u64;
            if total > limit {
                return Ok(None);
            }
            out.write_all(&buf[..n])?;
        }
    }

    /// Reads the rest of the body at `rate` bytes per second.
    pub(crate) fn pace(&mut self, rate: u64) {
        self.pace = Some(Pace::new(rate));
    }

    /// Sends the `100 Continue` the client waits for, once, before the
    /// body is read.
    fn send_continue(&mut self) -> io::Result<()> {
        if self.continue_pending {
            self.continue_pending = false;
            let mut w = self.writer;
            w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        Ok(())
    }

    /// Reads one CRLF-terminated line of chunk framing.
    fn framing_line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        let n = self
            .reader
            .by_ref()
            .take(4096)
            .read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated chunk framing",
            ));
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(line)
    }

    /// Reads the next piece of body into `buf`, through the chunk framing
    /// and at the pace if any; 0 at the end.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.state == BodyState::Done {
            return Ok(0);
        }
        self.send_continue()?;
        let mut max = buf.len();
        if let Some(p) = &self.pace {
            p.wait(self.shutdown);
            max = max.min(p.slice());
        }
        let left = match self.state {
            BodyState::Done => return Ok(0),
            BodyState::Length { left } => left,
            BodyState::Chunked { left: 0, need_crlf } => {
                if need_crlf && !self.framing_line()?.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "chunk data overran its size",
                    ));
                }
                let line = self.framing_line()?;
                let text = String::from_utf8_lossy(&line);
                let size_text = text.split(';').next().unwrap_or("").trim();
                let size = u64::from_str_radix(size_text, 16)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
                if size == 0 {
                    // Trailer fields, up to the empty line.
                    while !self.framing_line()?.is_empty() {}
                    self.state = BodyState::Done;
                    return Ok(0);
                }
                size
            }
            BodyState::Chunked { left, .. } => left,
        };
        let want = max.min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.reader.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "request body cut short",
            ));
        }
        let left = left - n as u64;
        self.state = match self.state {
            BodyState::Length { .. } if left == 0 => BodyState::Done,
            BodyState::Length { .. } => BodyState::Length { left },
            _ => BodyState::Chunked {
                left,
                need_crlf: left == 0,
            },
        };
        if let Some(p) = &mut self.pace {
            p.moved(n);
        }
        Ok(n)
    }
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.broken {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "request body already failed",
            ));
        }
        loop {
            match self.fill(buf) {
                Ok(n) => {
                    self.read += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.broken = true;
                    return Err(e);
                }
            }
        }
    }
}
