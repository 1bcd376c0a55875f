//! Request heads: reading one off the connection, and what it says about
//! the body that follows (its framing, `Expect: 100-continue`) and about
//! the connection (keep-alive).

use std::io::{BufRead, Read};

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

/// The answer to a head too large to read.
const TOO_LARGE: HeadError = HeadError::Bad(431, "request head too large\n");
/// The answer to a head with more than [`MAX_HEADERS`] header lines.
const TOO_MANY: HeadError = HeadError::Bad(431, "too many header lines\n");

/// Reads the next request head, skipping empty lines before it.
pub(crate) fn read_head(reader: &mut impl BufRead) -> Result<Request, HeadError> {
    let (head, fields_at) = read_head_bytes(reader)?;
    parse_head(&head, fields_at)
}

/// The answer to bytes that no request line starts with, such as a TLS
/// ClientHello (its first byte is 0x16) from a client given `https://`.
const NOT_HTTP: HeadError = HeadError::Bad(
    400,
    "not an HTTP request; this server speaks plain http, not TLS\n",
);

/// Refuses at once what cannot start a line of a request head: a TLS
/// hello may hold no line break at all, and waiting for one would keep
/// its client waiting for a handshake until a timeout.
fn refuse_binary(reader: &mut impl BufRead) -> Result<(), HeadError> {
    match reader.fill_buf().map_err(|_| HeadError::Closed)?.first() {
        Some(b) if !b.is_ascii_graphic() && !b.is_ascii_whitespace() => Err(NOT_HTTP),
        _ => Ok(()),
    }
}

/// Reads one line onto `head`, spending from the head budget; true when
/// it is an empty line.
fn read_line(
    reader: &mut impl BufRead,
    head: &mut Vec<u8>,
    budget: &mut u64,
) -> Result<bool, HeadError> {
    let start = head.len();
    let n = reader
        .take(*budget)
        .read_until(b'\n', head)
        .map_err(|_| HeadError::Closed)?;
    *budget -= n as u64;
    if n == 0 {
        return Err(HeadError::Closed);
    }
    if head.last() != Some(&b'\n') {
        return Err(if *budget == 0 {
            TOO_LARGE
        } else {
            HeadError::Closed
        });
    }
    Ok(matches!(&head[start..], b"\n" | b"\r\n"))
}

/// The bytes of the next head, from its request line to the empty line
/// that ends it, and where its header lines start. Reading stops early,
/// without the empty line, once there are too many header lines.
fn read_head_bytes(reader: &mut impl BufRead) -> Result<(Vec<u8>, usize), HeadError> {
    let mut budget = MAX_HEAD;
    let mut head = Vec::with_capacity(1024);
    loop {
        refuse_binary(reader)?;
        if !read_line(reader, &mut head, &mut budget)? {
            break;
        }
        // Clients may send empty lines before a request (RFC 9112, 2.2).
        head.clear();
    }
    let fields_at = head.len();
    let mut lines = 0;
    while !read_line(reader, &mut head, &mut budget)? {
        lines += 1;
        if lines > MAX_HEADERS {
            break;
        }
    }
    Ok((head, fields_at))
}

/// Parses a head read by [`read_head_bytes`], and says what it means for
/// the body that follows and for the connection.
fn parse_head(head: &[u8], fields_at: usize) -> Result<Request, HeadError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut fields);
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        // Only a head cut short after one header line too many is partial.
        Ok(httparse::Status::Partial) => return Err(TOO_MANY),
        Err(e) => return Err(refusal(e, head, fields_at)),
    }
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(HeadError::Bad(400, "malformed request line\n"));
    };
    let http11 = version == 1;
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            let value = String::from_utf8_lossy(h.value);
            (h.name.to_ascii_lowercase(), value.trim().to_string())
        })
        .collect();

    let find_all = |name: &str| values(&headers, name);
    let framing = framing(&find_all("transfer-encoding"), &find_all("content-length"))?;
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

/// The values of a header, in order.
fn values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// How the body is delimited, from the `Transfer-Encoding` and
/// `Content-Length` values (RFC 9112, 6.3): chunked when the last coding
/// is, else the length that every `Content-Length` agrees on.
fn framing(codings: &[&str], lengths: &[&str]) -> Result<Framing, HeadError> {
    if let Some(te) = codings.last() {
        if !te
            .rsplit(',')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("chunked")
        {
            return Err(HeadError::Bad(501, "unsupported transfer-encoding\n"));
        }
        return Ok(Framing::Chunked);
    }
    let Some(first) = lengths.first() else {
        return Ok(Framing::None);
    };
    let invalid = HeadError::Bad(400, "invalid content-length\n");
    if lengths.iter().any(|l| l != first) || !first.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid);
    }
    match first.parse::<u64>() {
        Ok(0) => Ok(Framing::None),
        Ok(n) => Ok(Framing::Length(n)),
        Err(_) => Err(invalid),
    }
}

/// What to answer a head that httparse refuses. httparse says that the
/// head is wrong; this finds where, and says what is wrong in the words
/// the emulator has always used.
fn refusal(e: httparse::Error, head: &[u8], fields_at: usize) -> HeadError {
    let (line, fields) = head.split_at(fields_at);
    if httparse::Request::new(&mut []).parse(line).is_err() {
        return request_line_refusal(line);
    }
    let refused = |line: &[u8]| httparse::parse_headers(line, &mut [httparse::EMPTY_HEADER]).err();
    let first_refused = fields
        .split_inclusive(|&b| b == b'\n')
        .enumerate()
        .find_map(|(i, line)| refused(line).map(|e| (i, line, e)));
    match first_refused {
        // The count is checked before a line is read.
        Some((i, _, _)) if i >= MAX_HEADERS => TOO_MANY,
        Some((_, line, e)) => header_line_refusal(line, e),
        None if e == httparse::Error::TooManyHeaders => TOO_MANY,
        None => HeadError::Bad(400, "malformed header line\n"),
    }
}

/// A request line is three words with single spaces between them. One
/// whose third word is not `HTTP/1.0` or `HTTP/1.1` asks for a version the
/// server lacks; anything else wrong with it makes it malformed.
fn request_line_refusal(line: &[u8]) -> HeadError {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    match words[..] {
        [method, target, version]
            if !method.is_empty()
                && !target.is_empty()
                && version != b"HTTP/1.1"
                && version != b"HTTP/1.0" =>
        {
            HeadError::Bad(505, "only HTTP/1.x is supported\n")
        }
        _ => HeadError::Bad(400, "malformed request line\n"),
    }
}

/// What is wrong with a header line that httparse refuses on its own.
fn header_line_refusal(line: &[u8], e: httparse::Error) -> HeadError {
    match e {
        // A line that starts with white space continues the one before
        // (RFC 9112, 5.2): obsolete.
        _ if line.starts_with(b" ") || line.starts_with(b"\t") => {
            HeadError::Bad(400, "obsolete line folding\n")
        }
        httparse::Error::HeaderName if line.contains(&b':') => {
            HeadError::Bad(400, "malformed header name\n")
        }
        _ => HeadError::Bad(400, "malformed header line\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &[u8]) -> Result<Request, HeadError> {
        read_head(&mut &raw[..])
    }

    fn refused(raw: &[u8]) -> (u16, &'static str) {
        match read(raw) {
            Err(HeadError::Bad(status, why)) => (status, why),
            Err(HeadError::Closed) => (0, "closed"),
            Ok(req) => panic!("accepted: {req:?}"),
        }
    }

    #[test]
    fn reads_what_a_head_says() {
        let raw = b"\r\n\nPUT /a/b?x=1&y HTTP/1.1\r\nHost: h\r\nX-Two:  a b \r\n\
                    Content-Length: 5\r\nExpect: 100-Continue\r\n\r\nhello";
        let Ok(req) = read(raw) else {
            panic!("a valid head");
        };
        assert_eq!(req.method, "PUT");
        assert_eq!(
            (req.target.as_str(), req.path.as_str()),
            ("/a/b?x=1&y", "/a/b")
        );
        assert_eq!(req.query, "x=1&y");
        assert_eq!(req.header("x-two"), Some("a b"));
        assert_eq!(req.framing, Framing::Length(5));
        assert!(req.keep_alive && req.expect_continue);

        let Ok(req) = read(b"GET http://h:1/p?q HTTP/1.0\nTransfer-Encoding: gzip, chunked\n\n")
        else {
            panic!("a valid head");
        };
        assert_eq!((req.path.as_str(), req.query.as_str()), ("/p", "q"));
        assert_eq!(req.framing, Framing::Chunked);
        assert!(!req.keep_alive && !req.expect_continue);
    }

    #[test]
    fn says_what_is_wrong_with_a_head() {
        let line = "malformed request line\n";
        let version = "only HTTP/1.x is supported\n";
        let header = "malformed header line\n";
        let name = "malformed header name\n";
        let not_http = "not an HTTP request; this server speaks plain http, not TLS\n";
        for (raw, answer) in [
            (&b"GARBAGE\r\n\r\n"[..], (400, line)),
            (b"GET /  HTTP/1.1\r\n\r\n", (400, line)),
            (b"GET / HTTP/1.1 x\r\n\r\n", (400, line)),
            (b"GE@T / HTTP/1.1\r\n\r\n", (400, line)),
            (b"GET / HTTP/2.0\r\n\r\n", (505, version)),
            (b"GET / HTTP/1.1x\r\n\r\n", (505, version)),
            (b"GET / HTTP/1.1\r\nbad header\r\n\r\n", (400, header)),
            (b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", (400, header)),
            (b"GET / HTTP/1.1\r\nA b: c\r\n\r\n", (400, name)),
            (b"GET / HTTP/1.1\r\n:c\r\n\r\n", (400, name)),
            (b"GET / HTTP/1.1\r\nX@y: 1\r\n\r\n", (400, name)),
            (
                b"GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n",
                (400, "obsolete line folding\n"),
            ),
            (
                b"PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                (400, "invalid content-length\n"),
            ),
            (
                b"PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                (501, "unsupported transfer-encoding\n"),
            ),
            (b"GET / HTTP/1.1\r\nHost: h\r\n", (0, "closed")),
            (b"\x16\x03\x01\x00\xc4\x01", (400, not_http)),
            (b"\r\n\x80\x2e\x01", (400, not_http)),
        ] {
            assert_eq!(refused(raw), answer, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn bounds_the_head() {
        let mut crowded = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            crowded.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        // Refused at one line too many, without waiting for the end.
        assert_eq!(refused(&crowded), (431, "too many header lines\n"));
        crowded.extend_from_slice(b"bad line\r\n\r\n");
        assert_eq!(refused(&crowded), (431, "too many header lines\n"));

        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_HEAD as usize + 10, b'a');
        huge.extend_from_slice(b"\r\n\r\n");
        assert_eq!(refused(&huge), (431, "request head too large\n"));
        // Empty lines count too; running out among them is a silent close.
        assert_eq!(refused(&vec![b'\n'; MAX_HEAD as usize + 10]), (0, "closed"));
    }
}
