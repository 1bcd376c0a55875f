//! A raw HTTP/1.1 client for byte-level checks and setup steps: requests
//! written out by hand over a fresh connection, and the answers parsed
//! as they came (a body shorter than announced is kept as it is). The
//! helpers at the end speak to an [`Emulator`]: its API with the bearer
//! token, and its signed upload URLs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::Emulator;

/// A parsed answer.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body, cut to its `Content-Length` when it has one.
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value, by its name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body if it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// The value of the header `name` (any case) among `headers`, whose names
/// are in lower case: of a [`Reply`], or of a request a
/// [`Hostile`](crate::hostile::Hostile) server read.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Splits `http://host:port/target` into the address and the target.
pub fn split_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.to_string(), "/".to_string()),
    }
}

/// A connection to `addr` whose reads give up after 10 s, so that a
/// server that never answers fails the test instead of hanging it.
pub fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    stream
}

/// The bytes of a request with `Connection: close`; adds `Host`, and a
/// `Content-Length` unless the caller gave framing headers.
pub fn request_bytes(url: &str, method: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let (addr, target) = split_url(url);
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let framed = headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    });
    if !framed && (!body.is_empty() || matches!(method, "PUT" | "POST")) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Sends raw bytes to the origin of `url` and reads until the server closes.
pub fn exchange(url: &str, bytes: &[u8]) -> Vec<u8> {
    let (addr, _) = split_url(url);
    let mut stream = connect(&addr);
    stream.write_all(bytes).expect("write the request");
    let mut out = Vec::new();
    // A reset after a complete answer is fine; keep what arrived.
    let _ = stream.read_to_end(&mut out);
    out
}

/// Parses an answer, after any interim `100 Continue`.
pub fn parse_reply(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer's head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status code in {head:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    if status == 100 {
        return parse_reply(&raw[end + 4..]);
    }
    let mut body = raw[end + 4..].to_vec();
    if let Some(len) = header(&headers, "content-length").and_then(|v| v.parse().ok()) {
        body.truncate(len);
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// One request over a fresh connection.
pub fn send(url: &str, method: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    parse_reply(&exchange(url, &request_bytes(url, method, headers, body)))
}

/// `Bearer TOKEN` for the emulator's token.
pub fn bearer(em: &Emulator) -> String {
    format!("Bearer {}", em.token())
}

/// A `GET` of `path` on the emulator's API, with the token.
pub fn api_get(em: &Emulator, path: &str) -> Reply {
    api(em, "GET", path, &[], b"")
}

/// A `POST` of the JSON `body` to `path` on the emulator's API, with the token.
pub fn api_post(em: &Emulator, path: &str, body: &str) -> Reply {
    let json = [("Content-Type", "application/json")];
    api(em, "POST", path, &json, body.as_bytes())
}

/// A `DELETE` of `path` on the emulator's API, with the token.
pub fn api_delete(em: &Emulator, path: &str) -> Reply {
    api(em, "DELETE", path, &[], b"")
}

fn api(em: &Emulator, method: &str, path: &str, more: &[(&str, &str)], body: &[u8]) -> Reply {
    let auth = bearer(em);
    let mut headers = vec![("Authorization", auth.as_str())];
    headers.extend_from_slice(more);
    send(&format!("{}{path}", em.base_url()), method, &headers, body)
}

/// The headers that start a resumable session.
pub const START: [(&str, &str); 3] = [
    ("Content-Type", "text/plain"),
    ("Content-Length", "0"),
    ("x-goog-resumable", "start"),
];

/// Starts a session on a resumable job's upload URL; returns its URI.
pub fn start_session(upload_url: &str) -> String {
    let r = send(upload_url, "POST", &START, b"");
    assert_eq!(r.status, 201, "{}", r.text());
    r.header("location").expect("Location").to_string()
}

/// A simple upload of `ids` to an upload URL of either flavour.
pub fn put_ids(url: &str, ids: &[u8]) -> Reply {
    send(url, "PUT", &[("Content-Type", "text/plain")], ids)
}

/// A simple `PUT` of `body` to `url` whose head is accepted (the server
/// answers `100 Continue`) but whose body only comes after the emulator's
/// clock has moved on `seconds`, and `meanwhile` has run: the upload
/// started in time and ends late.
pub fn put_ending_after(
    em: &Emulator,
    url: &str,
    body: &[u8],
    seconds: i64,
    meanwhile: impl FnOnce(),
) -> Reply {
    let (addr, target) = split_url(url);
    let mut stream = connect(&addr);
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send the head");
    // The request was accepted so far: the body is invited.
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).expect("100 Continue");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    em.shift_clock(seconds);
    meanwhile();
    stream.write_all(body).expect("send the body");
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    parse_reply(&rest)
}
