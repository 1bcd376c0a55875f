//! Responses: what the routes answer, and how an answer goes on the wire.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpStream;

use super::head::Request;
use super::BUF_SIZE;

/// A response body.
pub(crate) enum Payload {
    /// No body.
    Empty,
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// `len` bytes from the file's current position: a stored object.
    File {
        /// The open file.
        file: File,
        /// How many bytes of it to send.
        len: u64,
    },
    /// `len` bytes generated as they are sent.
    Generated {
        /// Where the bytes come from.
        source: Box<dyn Read>,
        /// How many bytes of it to send.
        len: u64,
    },
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Empty => f.write_str("Empty"),
            Payload::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Payload::File { len, .. } => write!(f, "File({len} bytes)"),
            Payload::Generated { len, .. } => write!(f, "Generated({len} bytes)"),
        }
    }
}

/// A response to send.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Payload,
    /// The `Content-Length` of an answer to `HEAD`: the length of the body
    /// the same answer to `GET` has, none of which is sent.
    head_of: Option<u64>,
}

impl Response {
    /// An empty response with a status.
    pub(crate) fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Payload::Empty,
            head_of: None,
        }
    }

    /// The answer as HTTP has it go out to `req` (RFC 9110): with the
    /// `Date` it is sent at (`date`, the origin's clock as an IMF-fixdate),
    /// and, to a `HEAD`, with the headers of the full answer but no body.
    pub(crate) fn finish(mut self, req: &Request, date: String) -> Response {
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("date"))
        {
            self.headers.push(("Date".into(), date));
        }
        if req.method == "HEAD" {
            self.head_of = Some(self.body_len());
            // Dropping a file or generator closes it; nothing is read.
            self.body = Payload::Empty;
        }
        self
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

    /// A body of `len` bytes read from `source` as it is sent.
    pub(crate) fn generated(
        mut self,
        content_type: &str,
        source: Box<dyn Read>,
        len: u64,
    ) -> Response {
        self = self.header("Content-Type", content_type);
        self.body = Payload::Generated { source, len };
        self
    }

    /// Length of the body that is sent (none for an answer to `HEAD`).
    pub(crate) fn body_len(&self) -> u64 {
        match &self.body {
            Payload::Empty => 0,
            Payload::Bytes(b) => b.len() as u64,
            Payload::File { len, .. } | Payload::Generated { len, .. } => *len,
        }
    }

    /// The head as sent: the status line, the headers, `Content-Length`
    /// (of the body a `HEAD` does not get, for its answer), and
    /// `Connection: close` when the connection closes after it.
    pub(crate) fn head(&self, close: bool) -> Vec<u8> {
        let len = self.head_of.unwrap_or_else(|| self.body_len());
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
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
        head.into_bytes()
    }

    /// Sends the whole response as fast as the connection takes it: a body
    /// in memory goes out with the head in one write, a streamed one
    /// through large reads and writes.
    pub(crate) fn send(self, mut w: &TcpStream, close: bool) -> io::Result<()> {
        let mut out = self.head(close);
        match self.body {
            Payload::Empty => w.write_all(&out),
            Payload::Bytes(b) => {
                out.extend_from_slice(&b);
                w.write_all(&out)
            }
            Payload::File { mut file, len } => {
                w.write_all(&out)?;
                copy(&mut file, w, len)
            }
            Payload::Generated { mut source, len } => {
                w.write_all(&out)?;
                copy(&mut source, w, len)
            }
        }
    }
}

/// Copies exactly `len` bytes from `source` to `w`. Large reads and writes:
/// `io::copy`'s 8 KiB buffer costs a third of the throughput here.
fn copy(source: &mut dyn Read, mut w: &TcpStream, len: u64) -> io::Result<()> {
    let mut buf = vec![
        0u8;
        BUF_SIZE
            .min(usize::try_from(len).unwrap_or(BUF_SIZE))
            .max(1)
    ];
    let mut left = len;
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let n = source.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "body source shrank",
            ));
        }
        w.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// The reason phrase of a status.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::read_head;

    fn request(raw: &[u8]) -> Request {
        match read_head(&mut &raw[..]) {
            Ok(req) => req,
            Err(_) => panic!("a valid head"),
        }
    }

    #[test]
    fn a_head_answer_announces_the_body_it_does_not_carry() {
        let date = "Wed, 11 Aug 2021 19:42:55 GMT";
        let answer = || Response::new(200).bytes("text/plain", "12345");
        let head = answer().finish(&request(b"HEAD /x HTTP/1.1\r\n\r\n"), date.into());
        assert_eq!(head.body_len(), 0);
        let text = String::from_utf8(head.head(false)).expect("ASCII");
        assert!(text.contains("\r\nContent-Length: 5\r\n"), "{text}");
        assert!(text.contains(&format!("\r\nDate: {date}\r\n")), "{text}");
        let get = answer().finish(&request(b"GET /x HTTP/1.1\r\n\r\n"), date.into());
        assert_eq!(get.body_len(), 5);
        // A `Date` the answer has already is kept, and not doubled.
        let dated = answer()
            .header("date", "Thu, 01 Jan 1970 00:00:00 GMT")
            .finish(&request(b"GET /x HTTP/1.1\r\n\r\n"), date.into());
        let dates: Vec<_> = dated
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("date"))
            .collect();
        assert_eq!(dates.len(), 1);
    }
}
