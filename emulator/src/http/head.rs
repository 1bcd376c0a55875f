//! Request heads: reading one off the connection, and what it says about
//! the body that follows (its framing, `Expect: 100-continue`) and about
//! the connection (keep-alive).

use std::io::{self, BufRead, BufReader, Read};
use std::net::TcpStream;

use super::query::query_pairs;

/// The most a request head may take.
const MAX_HEAD: u64 = 64 * 1024;
/// The most header lines a request may have.
const MAX_HEADERS: usize = 200;

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
pub(crate) enum HeadError {
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

/// Reads the next request head, skipping empty lines before it.
pub(crate) fn read_head(reader: &mut BufReader<TcpStream>) -> Result<Request, HeadError> {
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
