//! A small HTTP/1.1 server over `std::net`: a thread per connection,
//! keep-alive, `Content-Length` and chunked request bodies, `Expect:
//! 100-continue`, and byte-level control over responses for the faults.
//!
//! Bodies stream through 256 KiB buffers, so neither uploads nor results
//! are held in memory, and large transfers take few system calls.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::faults::{Fault, Route, StandIn};
use crate::state::{lock, Shared};
use crate::Origin;

/// Buffer size for streaming bodies.
pub(crate) const BUF_SIZE: usize = 256 * 1024;
/// The most a request head may take.
const MAX_HEAD: u64 = 64 * 1024;
/// The most header lines a request may have.
const MAX_HEADERS: usize = 200;
/// Idle and per-operation socket timeout.
const IO_TIMEOUT: Duration = Duration::from_secs(120);
/// Unread request bodies up to this size are drained to keep the
/// connection; larger ones make the server close it instead.
const DRAIN_LIMIT: u64 = 1 << 20;
/// How long a closing connection keeps reading what the client still sends,
/// so that the kernel does not reset the connection before the client has
/// read the response.
const LINGER: Duration = Duration::from_secs(2);
/// The longest a stalled response keeps its connection.
const STALL_LIMIT: Duration = Duration::from_secs(300);
/// Granularity of the waits that must notice shutdown.
const TICK: Duration = Duration::from_millis(50);

/// How a request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// `path?query` as received.
    pub(crate) target: String,
    /// The path, not decoded.
    pub(crate) path: String,
    /// The query without `?`, not decoded.
    pub(crate) query: String,
    /// Header names lower-case, values trimmed.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) keep_alive: bool,
    pub(crate) framing: Framing,
    pub(crate) expect_continue: bool,
}

impl Request {
    /// The first value of a header (name in lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The decoded query parameters, in order.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        query_pairs(&self.query)
    }
}

/// Why a request head could not be read.
enum HeadError {
    /// The client closed or timed out between requests: no answer.
    Closed,
    /// The head is malformed: answer with this status, then close.
    Bad(u16, &'static str),
}

/// Reads one line into `buf`, spending from the head budget.
fn read_line(
    reader: &mut BufReader<TcpStream>,
    buf: &mut Vec<u8>,
    budget: &mut u64,
) -> io::Result<usize> {
    let n = reader.by_ref().take(*budget).read_until(b'\n', buf)?;
    *budget -= n as u64;
    Ok(n)
}

fn read_head(reader: &mut BufReader<TcpStream>) -> Result<Request, HeadError> {
    let mut budget = MAX_HEAD;
    let mut line = Vec::with_capacity(256);
    let mut next_line = |line: &mut Vec<u8>, budget: &mut u64| -> Result<(), HeadError> {
        line.clear();
        let n = read_line(reader, line, budget).map_err(|_| HeadError::Closed)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        if line.last() != Some(&b'\n') {
            return Err(if *budget == 0 {
                HeadError::Bad(431, "request head too large\n")
            } else {
                HeadError::Closed
            });
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(())
    };
    // Clients may send empty lines before a request (RFC 9112, 2.2).
    loop {
        next_line(&mut line, &mut budget)?;
        if !line.is_empty() {
            break;
        }
    }
    let request_line = String::from_utf8_lossy(&line).into_owned();
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) if !m.is_empty() && !t.is_empty() => (m, t, v),
        _ => return Err(HeadError::Bad(400, "malformed request line\n")),
    };
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(HeadError::Bad(505, "only HTTP/1.x is supported\n")),
    };
    let mut headers = Vec::new();
    loop {
        next_line(&mut line, &mut budget)?;
        if line.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(HeadError::Bad(431, "too many header lines\n"));
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(HeadError::Bad(400, "obsolete line folding\n"));
        }
        let text = String::from_utf8_lossy(&line);
        let (name, value) = text
            .split_once(':')
            .ok_or(HeadError::Bad(400, "malformed header line\n"))?;
        if name.is_empty() || name.contains(' ') {
            return Err(HeadError::Bad(400, "malformed header name\n"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }

    let find_all = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let framing = if let Some(te) = find_all("transfer-encoding").last() {
        if !te
            .rsplit(',')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("chunked")
        {
            return Err(HeadError::Bad(501, "unsupported transfer-encoding\n"));
        }
        Framing::Chunked
    } else {
        let lengths = find_all("content-length");
        match lengths.first() {
            None => Framing::None,
            Some(first) => {
                if lengths.iter().any(|l| l != first) || !first.bytes().all(|c| c.is_ascii_digit())
                {
                    return Err(HeadError::Bad(400, "invalid content-length\n"));
                }
                let n: u64 = first
                    .parse()
                    .map_err(|_| HeadError::Bad(400, "invalid content-length\n"))?;
                if n == 0 {
                    Framing::None
                } else {
                    Framing::Length(n)
                }
            }
        }
    };
    let connection = find_all("connection").join(",").to_ascii_lowercase();
    let keep_alive = if http11 {
        !connection.split(',').any(|t| t.trim() == "close")
    } else {
        connection.split(',').any(|t| t.trim() == "keep-alive")
    };
    let expect_continue = http11
        && find_all("expect")
            .iter()
            .any(|e| e.eq_ignore_ascii_case("100-continue"));

    // Accept the absolute form too, as proxies send it.
    let origin_form = match target.find("://") {
        Some(i) if !target.starts_with('/') => {
            let rest = &target[i + 3..];
            rest.find('/').map_or("/", |j| &rest[j..])
        }
        _ => target,
    };
    let (path, query) = origin_form.split_once('?').unwrap_or((origin_form, ""));
    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        keep_alive,
        framing,
        expect_continue,
    })
}

/// Paces a transfer at a fixed byte rate (the `Slow` fault).
#[derive(Debug)]
struct Pace {
    rate: u64,
    start: Instant,
    done: u64,
}

impl Pace {
    fn new(rate: u64) -> Pace {
        Pace {
            rate: rate.max(1),
            start: Instant::now(),
            done: 0,
        }
    }

    /// The largest slice to move at once: about a tenth of a second's worth.
    fn slice(&self) -> usize {
        (self.rate / 10).clamp(1, BUF_SIZE as u64) as usize
    }

    /// Sleeps until the bytes moved so far are due, waking early on shutdown.
    fn wait(&self, shutdown: &AtomicBool) {
        let due = Duration::from_nanos(
            (u128::from(self.done) * 1_000_000_000 / u128::from(self.rate))
                .min(u128::from(u64::MAX)) as u64,
        );
        while !shutdown.load(Ordering::SeqCst) {
            let elapsed = self.start.elapsed();
            if elapsed >= due {
                break;
            }
            thread::sleep((due - elapsed).min(TICK));
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    fn new(
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

    fn set_pace(&mut self, rate: u64) {
        self.pace = Some(Pace::new(rate));
    }

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
            p.done += n as u64;
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

/// A response body.
#[derive(Debug)]
pub(crate) enum Payload {
    Empty,
    Bytes(Vec<u8>),
    /// `len` bytes from the file's current position.
    File {
        file: File,
        len: u64,
    },
    /// Valid JSON of exactly this many bytes, generated as it is sent.
    PaddedJson(u64),
}

/// Generates a valid JSON text of an exact length (at least 1 byte):
/// `{"data":[],"pad":"xx…"}` from 20 bytes on, `{}` padded with spaces
/// below, and `0` for a single byte.
#[derive(Debug)]
pub(crate) struct PaddedJson {
    len: u64,
    at: u64,
    prefix: &'static [u8],
    fill: u8,
    suffix: &'static [u8],
}

impl PaddedJson {
    pub(crate) fn new(len: u64) -> PaddedJson {
        let (prefix, fill, suffix): (&[u8], u8, &[u8]) = match len {
            0 | 1 => (b"0", b' ', b""),
            2..=19 => (b"{}", b' ', b""),
            _ => (br#"{"data":[],"pad":""#, b'x', br#""}"#),
        };
        PaddedJson {
            len: len.max(1),
            at: 0,
            prefix,
            fill,
            suffix,
        }
    }
}

impl Read for PaddedJson {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let fill_end = self.len - self.suffix.len() as u64;
        let mut n = 0;
        while n < buf.len() && self.at < self.len {
            let at = self.at;
            let piece = if at < self.prefix.len() as u64 {
                let rest = &self.prefix[at as usize..];
                let k = rest.len().min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&rest[..k]);
                k
            } else if at < fill_end {
                let k = usize::try_from(fill_end - at)
                    .unwrap_or(usize::MAX)
                    .min(buf.len() - n);
                buf[n..n + k].fill(self.fill);
                k
            } else {
                let rest = &self.suffix[(at - fill_end) as usize..];
                let k = rest.len().min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&rest[..k]);
                k
            };
            n += piece;
            self.at += piece as u64;
        }
        Ok(n)
    }
}

/// A response to send.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Payload,
}

impl Response {
    /// An empty response with a status.
    pub(crate) fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Payload::Empty,
        }
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets an in-memory body and its type.
    pub(crate) fn bytes(self, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        let mut r = self.header("Content-Type", content_type);
        r.body = Payload::Bytes(body.into());
        r
    }

    /// A JSON body of the given type.
    pub(crate) fn json(status: u16, content_type: &str, value: &serde_json::Value) -> Response {
        Response::new(status).bytes(content_type, value.to_string())
    }

    /// A file body.
    pub(crate) fn file(mut self, content_type: &str, file: File, len: u64) -> Response {
        self = self.header("Content-Type", content_type);
        self.body = Payload::File { file, len };
        self
    }

    /// A `200` `application/json` answer whose body is valid JSON of
    /// exactly `len` bytes (at least 1), generated as it is sent.
    pub(crate) fn padded_json(len: u64) -> Response {
        let mut r = Response::new(200).header("Content-Type", "application/json");
        r.body = Payload::PaddedJson(len.max(1));
        r
    }

    /// Length of the body.
    pub(crate) fn body_len(&self) -> u64 {
        match &self.body {
            Payload::Empty => 0,
            Payload::Bytes(b) => b.len() as u64,
            Payload::File { len, .. } => *len,
            Payload::PaddedJson(len) => *len,
        }
    }

    /// Cuts a download answer (a `200` or `206` with a file body) to at
    /// most `most` bytes from where it starts, as a `206` with a matching
    /// `Content-Range` (the `Partial` fault). Anything else is unchanged.
    fn shorten(mut self, most: u64) -> Response {
        let status = self.status;
        let Payload::File { len, .. } = &mut self.body else {
            return self;
        };
        if !matches!(status, 200 | 206) || *len == 0 {
            return self;
        }
        let (start, total) = if status == 206 {
            let range = self
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-range"))
                .and_then(|(_, v)| parse_content_range(v));
            match range {
                Some(r) => r,
                None => return self,
            }
        } else {
            (0, *len)
        };
        let served = (*len).min(most.max(1));
        *len = served;
        self.status = 206;
        self.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-range"));
        self.headers.push((
            "Content-Range".into(),
            format!("bytes {start}-{}/{total}", start + served - 1),
        ));
        self
    }
}

/// The first byte and the total of a `bytes A-B/TOTAL` answer range.
fn parse_content_range(v: &str) -> Option<(u64, u64)> {
    let (range, total) = v.strip_prefix("bytes ")?.split_once('/')?;
    let (a, _) = range.split_once('-')?;
    Some((a.parse().ok()?, total.parse().ok()?))
}

/// How a response is sent, per the fault that applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    Normal,
    CloseAfter(u64),
    StallAfter(u64),
    Slow(u64),
    Trickle(u64),
    Corrupt(u64),
}

/// How the bytes of a response go out.
#[derive(Debug)]
struct Shape {
    /// The most body bytes sent.
    limit: u64,
    /// The pace of the body, and of the head when `head_paced`.
    pace: Option<Pace>,
    head_paced: bool,
    /// The body offset whose lowest bit is flipped on the way.
    flip: Option<u64>,
}

impl Shape {
    /// Everything, at full speed, unchanged.
    fn plain() -> Shape {
        Shape {
            limit: u64::MAX,
            pace: None,
            head_paced: false,
            flip: None,
        }
    }

    fn of(plan: Plan) -> Shape {
        let plain = Shape::plain();
        match plan {
            Plan::Normal => plain,
            Plan::CloseAfter(k) | Plan::StallAfter(k) => Shape { limit: k, ..plain },
            Plan::Slow(rate) => Shape {
                pace: Some(Pace::new(rate)),
                ..plain
            },
            Plan::Trickle(rate) => Shape {
                pace: Some(Pace::new(rate)),
                head_paced: true,
                ..plain
            },
            Plan::Corrupt(offset) => Shape {
                flip: Some(offset),
                ..plain
            },
        }
    }

    /// True when the bytes go out as they are, as fast as they can.
    fn is_plain(&self) -> bool {
        self.pace.is_none() && self.flip.is_none()
    }
}

pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        308 => "Resume Incomplete",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        499 => "Client Closed Request",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Writes the head, then up to `shape.limit` body bytes, paced and
/// damaged as the shape says.
fn send(
    mut w: &TcpStream,
    resp: Response,
    shape: Shape,
    close: bool,
    shutdown: &AtomicBool,
) -> io::Result<()> {
    let len = resp.body_len();
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {len}\r\n"));
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    let limit = shape.limit.min(len);
    let plain = shape.is_plain();
    match resp.body {
        Payload::Empty if plain => w.write_all(&out),
        Payload::Bytes(b) if plain => {
            out.extend_from_slice(&b[..limit as usize]);
            w.write_all(&out)
        }
        Payload::File { mut file, len } if plain && limit == len => {
            w.write_all(&out)?;
            // Large reads and writes: io::copy's 8 KiB buffer costs a
            // third of the throughput here.
            let mut buf = vec![0u8; BUF_SIZE];
            let mut left = len;
            while left > 0 {
                let want = left.min(BUF_SIZE as u64) as usize;
                let n = file.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "results file shrank",
                    ));
                }
                w.write_all(&buf[..n])?;
                left -= n as u64;
            }
            Ok(())
        }
        body => {
            let mut pace = shape.pace;
            if shape.head_paced {
                let head_len = out.len() as u64;
                pump(w, &mut &out[..], head_len, &mut pace, None, shutdown)?;
            } else {
                w.write_all(&out)?;
            }
            let mut source: Box<dyn Read> = match body {
                Payload::Empty => Box::new(io::empty()),
                Payload::Bytes(b) => Box::new(io::Cursor::new(b)),
                Payload::File { file, .. } => Box::new(file),
                Payload::PaddedJson(len) => Box::new(PaddedJson::new(len)),
            };
            pump(w, &mut source, limit, &mut pace, shape.flip, shutdown)
        }
    }
}

/// Copies `limit` bytes from `source` to `w`, at the pace if any, flipping
/// the lowest bit of the byte at offset `flip`.
fn pump(
    mut w: &TcpStream,
    source: &mut dyn Read,
    limit: u64,
    pace: &mut Option<Pace>,
    flip: Option<u64>,
    shutdown: &AtomicBool,
) -> io::Result<()> {
    let mut buf = vec![
        0u8;
        BUF_SIZE
            .min(usize::try_from(limit).unwrap_or(BUF_SIZE))
            .max(1)
    ];
    let mut sent = 0u64;
    while sent < limit {
        let mut want = (limit - sent).min(buf.len() as u64) as usize;
        if let Some(p) = pace.as_ref() {
            p.wait(shutdown);
            want = want.min(p.slice());
        }
        if shutdown.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "shutting down"));
        }
        let n = source.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "body source shrank",
            ));
        }
        if let Some(at) = flip.filter(|&at| at >= sent && at < sent + n as u64) {
            buf[(at - sent) as usize] ^= 1;
        }
        w.write_all(&buf[..n])?;
        sent += n as u64;
        if let Some(p) = pace.as_mut() {
            p.done += n as u64;
        }
    }
    Ok(())
}

/// Keeps a stalled connection open, reading and dropping anything the
/// client sends, until it goes away, the emulator stops, or the limit.
fn stall(reader: &mut BufReader<TcpStream>, shutdown: &AtomicBool) {
    drain(reader, STALL_LIMIT, Some(shutdown));
}

/// Closes after a response while the client may still be sending: stop
/// writing, then read and drop for a while so that unread data does not
/// make the kernel reset the connection under the response.
fn linger(reader: &mut BufReader<TcpStream>) {
    let _ = reader.get_ref().shutdown(Shutdown::Write);
    drain(reader, LINGER, None);
}

/// Reads and drops what the client sends until it goes away, `limit`
/// passes, or (with `shutdown`) the emulator stops.
fn drain(reader: &mut BufReader<TcpStream>, limit: Duration, shutdown: Option<&AtomicBool>) {
    let _ = reader.get_ref().set_read_timeout(Some(TICK));
    let start = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    while !shutdown.is_some_and(|s| s.load(Ordering::SeqCst)) && start.elapsed() < limit {
        match reader.get_mut().read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => break,
        }
    }
}

/// What the server asks of the routes of one origin. The server knows
/// nothing of what the routes mean; it reads requests, applies the faults
/// queued for the route a request counts against, and sends the answers.
pub(crate) trait Handler: Send + Sync {
    /// The route a request counts against, for faults and rate limits;
    /// `None` when it names none.
    fn route(&self, req: &Request) -> Option<Route>;

    /// Answers a request, reading as much of its body as it needs.
    fn handle(&self, req: &Request, body: &mut Body<'_>) -> Response;

    /// The answer a fault on `route` gives in place of the request's own.
    fn stand_in(&self, route: Route, req: &Request, stand_in: StandIn) -> Response;
}

/// Starts the accept loop of one origin.
pub(crate) fn spawn_listener(
    listener: TcpListener,
    origin: Origin,
    handler: Arc<dyn Handler>,
    shared: Arc<Shared>,
) -> io::Result<JoinHandle<()>> {
    let name = match origin {
        Origin::Api => "emulator-api",
        Origin::Storage => "emulator-storage",
    };
    thread::Builder::new()
        .name(name.into())
        .spawn(move || accept_loop(listener, origin, handler, shared))
}

fn accept_loop(
    listener: TcpListener,
    origin: Origin,
    handler: Arc<dyn Handler>,
    shared: Arc<Shared>,
) {
    for conn in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(_) => {
                // Out of descriptors and the like: back off instead of spinning.
                thread::sleep(TICK);
                continue;
            }
        };
        let Ok(handle_for_registry) = stream.try_clone() else {
            continue;
        };
        let key = shared.add_connection(handle_for_registry);
        let sh = Arc::clone(&shared);
        let handler = Arc::clone(&handler);
        let spawned = thread::Builder::new()
            .name("emulator-conn".into())
            .spawn(move || {
                serve(&sh, origin, handler.as_ref(), stream);
                sh.remove_connection(key);
            });
        match spawned {
            Ok(h) => shared.set_connection_thread(key, h),
            Err(_) => shared.remove_connection(key),
        }
    }
}

/// Serves one connection until it closes.
fn serve(shared: &Arc<Shared>, origin: Origin, handler: &dyn Handler, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(BUF_SIZE, stream);
    loop {
        if shared.stopping() {
            return;
        }
        let req = match read_head(&mut reader) {
            Ok(r) => r,
            Err(HeadError::Closed) => return,
            Err(HeadError::Bad(status, why)) => {
                let resp = Response::new(status).bytes("text/plain; charset=utf-8", why);
                let _ = send(&writer, resp, Shape::plain(), true, &shared.shutdown);
                linger(&mut reader);
                return;
            }
        };
        let index = shared.log_request(origin, &req.method, &req.target, &req.headers);
        let route = handler.route(&req);
        let fault = route.and_then(|r| lock(&shared.faults).take(r).map(|f| (r, f)));

        let mut body = Body::new(&mut reader, &writer, &req, &shared.shutdown);
        let (resp, plan) = match fault {
            Some((_, Fault::CloseRequestAfter { bytes, .. })) => {
                let _ = body.discard(bytes);
                shared.log_outcome(index, 0, body.bytes_read());
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Some((route, Fault::Status { status, .. })) => (
                handler.stand_in(route, &req, StandIn::Status(status)),
                Plan::Normal,
            ),
            Some((route, Fault::RateLimited { reset_after, .. })) => (
                handler.stand_in(route, &req, StandIn::RateLimited(reset_after)),
                Plan::Normal,
            ),
            Some((_, Fault::Slow { bytes_per_sec, .. })) => {
                body.set_pace(bytes_per_sec);
                (handler.handle(&req, &mut body), Plan::Slow(bytes_per_sec))
            }
            Some((_, Fault::CloseResponseAfter { bytes, .. })) => {
                (handler.handle(&req, &mut body), Plan::CloseAfter(bytes))
            }
            Some((_, Fault::Stall { after_bytes, .. })) => (
                handler.handle(&req, &mut body),
                Plan::StallAfter(after_bytes),
            ),
            Some((_, Fault::Partial { bytes, .. })) => {
                (handler.handle(&req, &mut body).shorten(bytes), Plan::Normal)
            }
            Some((_, Fault::Corrupt { offset, .. })) => {
                (handler.handle(&req, &mut body), Plan::Corrupt(offset))
            }
            Some((_, Fault::Trickle { bytes_per_sec, .. })) => (
                handler.handle(&req, &mut body),
                Plan::Trickle(bytes_per_sec),
            ),
            Some((route, Fault::EchoAuth { status, .. })) => (
                handler.stand_in(route, &req, StandIn::EchoAuth(status)),
                Plan::Normal,
            ),
            Some((
                _,
                Fault::Body {
                    status,
                    content_type,
                    body: bytes,
                    ..
                },
            )) => (
                Response::new(status).bytes(&content_type, bytes),
                Plan::Normal,
            ),
            Some((_, Fault::Oversized { bytes, .. })) => {
                (Response::padded_json(bytes), Plan::Normal)
            }
            None => (handler.handle(&req, &mut body), Plan::Normal),
        };
        if body.is_broken() {
            // The client went away mid-body: nobody to answer.
            shared.log_outcome(index, 0, body.bytes_read());
            return;
        }
        let mut close = !req.keep_alive || shared.stopping();
        let mut must_linger = false;
        if !body.is_done() {
            match body.remaining() {
                Some(n) if n <= DRAIN_LIMIT && !body.continue_pending => {
                    if body.discard(n).is_err() {
                        shared.log_outcome(index, 0, body.bytes_read());
                        return;
                    }
                }
                _ => {
                    close = true;
                    must_linger = true;
                }
            }
        }
        let body_bytes = body.bytes_read();

        let cut = matches!(plan, Plan::CloseAfter(_) | Plan::StallAfter(_));
        // With nothing in the body to cut, the fault withholds the whole
        // response (e.g. a successful upload whose answer is lost).
        let withheld = cut && resp.body_len() == 0;
        shared.log_outcome(index, if withheld { 0 } else { resp.status }, body_bytes);
        let sent = if withheld {
            Ok(())
        } else {
            send(&writer, resp, Shape::of(plan), close, &shared.shutdown)
        };
        match plan {
            Plan::CloseAfter(_) => {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Plan::StallAfter(_) => {
                stall(&mut reader, &shared.shutdown);
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            _ => {}
        }
        if sent.is_err() {
            return;
        }
        if close {
            if must_linger {
                linger(&mut reader);
            }
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// A byte range of a download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Range {
    /// No (usable) `Range` header: the whole object.
    Full,
    /// Inclusive first and last byte.
    Partial(u64, u64),
    /// Nothing of the object is in range: 416.
    Unsatisfiable,
}

/// Interprets a `Range` header against an object of `len` bytes. Only a
/// single `bytes=` range is honoured; anything else serves the whole object,
/// as RFC 9110 allows.
pub(crate) fn parse_range(header: Option<&str>, len: u64) -> Range {
    let Some(h) = header else {
        return Range::Full;
    };
    let Some(spec) = h
        .trim()
        .strip_prefix("bytes=")
        .or_else(|| h.trim().strip_prefix("BYTES="))
    else {
        return Range::Full;
    };
    if spec.contains(',') {
        return Range::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Range::Full;
    };
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Range::Full,
        (true, false) => match num(b) {
            // Suffix range: the last N bytes.
            Some(0) => Range::Unsatisfiable,
            Some(_) if len == 0 => Range::Unsatisfiable,
            Some(n) => Range::Partial(len.saturating_sub(n), len - 1),
            None => Range::Full,
        },
        (false, true) => match num(a) {
            Some(start) if start < len => Range::Partial(start, len - 1),
            Some(_) => Range::Unsatisfiable,
            None => Range::Full,
        },
        (false, false) => match (num(a), num(b)) {
            (Some(start), Some(end)) if start <= end => {
                if start >= len {
                    Range::Unsatisfiable
                } else {
                    Range::Partial(start, end.min(len - 1))
                }
            }
            _ => Range::Full,
        },
    }
}

/// Decoded `key=value` pairs of a query string (`+` is a space).
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (k, v) = s.split_once('=').unwrap_or((s, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+`; malformed escapes stay as they are.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hexval = |c: u8| (c as char).to_digit(16);
                match (hexval(b[i + 1]), hexval(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), Range::Full);
        assert_eq!(parse_range(Some("bytes=2-"), 10), Range::Partial(2, 9));
        assert_eq!(parse_range(Some("bytes=2-4"), 10), Range::Partial(2, 4));
        assert_eq!(parse_range(Some("bytes=2-40"), 10), Range::Partial(2, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Range::Partial(7, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=4-2"), 10), Range::Full);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Range::Full);
        assert_eq!(parse_range(Some("items=0-1"), 10), Range::Full);
    }

    #[test]
    fn padded_json_is_valid_and_exact() {
        for len in [0u64, 1, 2, 3, 19, 20, 21, 1000, 300_000] {
            let mut out = Vec::new();
            let mut src = PaddedJson::new(len);
            // Small reads cross the prefix, fill and suffix boundaries.
            let mut buf = [0u8; 7];
            loop {
                let n = src.read(&mut buf).expect("in memory");
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(out.len() as u64, len.max(1), "{len}");
            let v: serde_json::Value = serde_json::from_slice(&out)
                .unwrap_or_else(|e| panic!("{len}: {e}: {}", String::from_utf8_lossy(&out)));
            if len >= 20 {
                assert_eq!(v["data"], serde_json::json!([]));
            }
        }
    }

    #[test]
    fn answer_ranges() {
        assert_eq!(parse_content_range("bytes 5-9/10"), Some((5, 10)));
        assert_eq!(parse_content_range("bytes */10"), None);
    }

    #[test]
    fn percent_coding() {
        assert_eq!(percent_decode("content-type%3Bhost"), "content-type;host");
        assert_eq!(percent_decode("a+b%2"), "a b%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(
            query_pairs("type=tweets&&x=&compliance_job.fields=a%2Cb"),
            vec![
                ("type".to_string(), "tweets".to_string()),
                ("x".to_string(), String::new()),
                ("compliance_job.fields".to_string(), "a,b".to_string())
            ]
        );
    }
}
