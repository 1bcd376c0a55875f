//! Helpers shared by the integration tests: a raw HTTP/1.1 client for
//! byte-level checks, a ureq agent, polling, and the official schema
//! shapes written out (the tests must not read the reference files).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use compliance_emulator::{Config, Emulator, JobSnapshot};
use serde_json::Value;

/// Starts an emulator with a config tweak.
pub fn start(tweak: impl FnOnce(&mut Config)) -> Emulator {
    let mut config = Config::default();
    tweak(&mut config);
    Emulator::start(config).expect("emulator starts")
}

/// A parsed response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Splits `http://host:port/target` into the address and the target.
pub fn split_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.to_string(), "/".to_string()),
    }
}

/// Connects with test-friendly timeouts.
pub fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

/// The bytes of a request with `Connection: close`; adds `Host` and a
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

/// Sends raw bytes and reads until the server closes.
pub fn exchange(url: &str, bytes: &[u8]) -> Vec<u8> {
    let (addr, _) = split_url(url);
    let mut s = connect(&addr);
    s.write_all(bytes).expect("write request");
    let mut out = Vec::new();
    // A reset after a complete answer is fine; keep what arrived.
    let _ = s.read_to_end(&mut out);
    out
}

/// Parses a response (tolerating a body shorter than announced).
pub fn parse_reply(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    let reply = Reply {
        status,
        headers,
        body,
    };
    // Skip an interim 100 Continue.
    if reply.status == 100 {
        return parse_reply(&raw[end + 4..]);
    }
    reply
}

/// One request over a fresh connection.
pub fn send(url: &str, method: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    parse_reply(&exchange(url, &request_bytes(url, method, headers, body)))
}

/// `Authorization: Bearer` for the emulator's token.
pub fn bearer(emu: &Emulator) -> String {
    format!("Bearer {}", emu.token())
}

/// An authorised API GET.
pub fn api_get(emu: &Emulator, path: &str) -> Reply {
    let auth = bearer(emu);
    send(
        &format!("{}{path}", emu.base_url()),
        "GET",
        &[("Authorization", &auth)],
        b"",
    )
}

/// An authorised API request with a JSON body.
pub fn api_post(emu: &Emulator, path: &str, body: &str) -> Reply {
    let auth = bearer(emu);
    send(
        &format!("{}{path}", emu.base_url()),
        "POST",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
}

/// An authorised API DELETE.
pub fn api_delete(emu: &Emulator, path: &str) -> Reply {
    let auth = bearer(emu);
    send(
        &format!("{}{path}", emu.base_url()),
        "DELETE",
        &[("Authorization", &auth)],
        b"",
    )
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

/// A simple upload to a GCS-flavour URL.
pub fn put_ids(url: &str, ids: &[u8]) -> Reply {
    send(url, "PUT", &[("Content-Type", "text/plain")], ids)
}

/// A simple PUT of `body` to `url` whose head is accepted (the server
/// answers `100 Continue`) but whose body only comes after the emulator's
/// clock has moved on `seconds`, and `meanwhile` has run: the upload
/// started in time and ends late.
pub fn put_ending_after(
    emu: &Emulator,
    url: &str,
    body: &[u8],
    seconds: i64,
    meanwhile: impl FnOnce(),
) -> Reply {
    let (addr, target) = split_url(url);
    let mut s = connect(&addr);
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("head");
    // The request was accepted so far: the body is invited.
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).expect("100 Continue");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    emu.shift_clock(seconds);
    meanwhile();
    s.write_all(body).expect("body");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    parse_reply(&rest)
}

/// Waits (bounded) until the job has the status.
pub fn wait_status(emu: &Emulator, id: &str, status: &str) -> JobSnapshot {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let job = emu.job(id).expect("job exists");
        if job.status == status {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} stuck in {}",
            job.status
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `n` ID lines, tweet-like.
pub fn ids(n: u64) -> Vec<u8> {
    (0..n)
        .map(|i| format!("{}\n", 1_425_543_269_983_784_962u64 + i * 7_919))
        .collect::<String>()
        .into_bytes()
}

/// The `x-goog-hash` value Cloud Storage sends for an object of these
/// bytes: base64 of the big-endian CRC32C, and of the MD5.
pub fn goog_hash(bytes: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest;
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "crc32c={},md5={}",
        b64.encode(crc32c::crc32c(bytes).to_be_bytes()),
        b64.encode(md5::Md5::digest(bytes))
    )
}

/// The `ETag` of a non-composite object: its hex MD5 in quotes.
pub fn md5_etag(bytes: &[u8]) -> String {
    use md5::Digest;
    let hex: String = md5::Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// A ureq agent that returns error statuses as responses.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// Timestamps as the API writes them: `2021-08-11T19:42:55.000Z`.
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 24
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..23)
        && b[23] == b'Z'
}

/// Checks a job object against the official `ComplianceJob` schema
/// (classic spec 2.166): required fields, id pattern, enums, name length,
/// date-time and uri formats.
pub fn check_job_schema(job: &Value) {
    let obj = job
        .as_object()
        .unwrap_or_else(|| panic!("job is not an object: {job}"));
    for field in [
        "id",
        "type",
        "created_at",
        "upload_url",
        "download_url",
        "upload_expires_at",
        "download_expires_at",
        "status",
    ] {
        assert!(obj.contains_key(field), "missing required {field}: {job}");
    }
    let s = |k: &str| {
        obj[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} is not a string: {job}"))
    };
    let id = s("id");
    assert!(
        (1..=19).contains(&id.len()) && id.bytes().all(|c| c.is_ascii_digit()),
        "id {id} does not match ^[0-9]{{1,19}}$"
    );
    assert!(["tweets", "users"].contains(&s("type")), "type enum: {job}");
    assert!(
        ["created", "in_progress", "failed", "complete", "expired"].contains(&s("status")),
        "status enum: {job}"
    );
    for k in ["created_at", "upload_expires_at", "download_expires_at"] {
        assert!(is_timestamp(s(k)), "{k} format: {}", s(k));
    }
    for k in ["upload_url", "download_url"] {
        assert!(s(k).starts_with("http://"), "{k} is not a URI: {}", s(k));
    }
    if let Some(name) = obj.get("name") {
        let name = name.as_str().expect("name is a string");
        assert!(name.chars().count() <= 64, "name maxLength 64");
    }
    if let Some(r) = obj.get("resumable") {
        assert!(r.is_boolean(), "resumable is a boolean");
    }
    if let Some(e) = obj.get("estimated_completion") {
        assert!(
            is_timestamp(e.as_str().expect("string")),
            "estimated_completion format"
        );
    }
    let allowed = [
        "id",
        "type",
        "name",
        "status",
        "created_at",
        "upload_url",
        "upload_expires_at",
        "download_url",
        "download_expires_at",
        "resumable",
        "estimated_completion",
    ];
    for k in obj.keys() {
        assert!(allowed.contains(&k.as_str()), "unexpected field {k}");
    }
}

/// Checks a Problem: `type` and `title` required, `detail` and `status`
/// present as the reference says they always are, and the media type.
pub fn check_problem(reply: &Reply, status: u16, type_: &str) -> Value {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    let v = reply.json();
    assert_eq!(v["type"], type_, "{v}");
    assert!(v["title"].is_string() && v["detail"].is_string(), "{v}");
    assert_eq!(v["status"], status, "{v}");
    v
}

/// The problem URI of a slug.
pub fn problem_uri(slug: &str) -> String {
    format!("https://api.x.com/2/problems/{slug}")
}

/// Checks a GCS XML error body.
pub fn check_xml(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/xml"));
    let text = reply.text();
    assert!(
        text.starts_with("<?xml version='1.0' encoding='UTF-8'?><Error><Code>"),
        "{text}"
    );
    assert!(text.contains(&format!("<Code>{code}</Code>")), "{text}");
    assert!(reply.header("x-rate-limit-limit").is_none());
}

/// A path under the system temp dir for this test process, named by `tag`:
/// the caller creates and removes what is there.
pub fn temp_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("emulator-test-{tag}-{}", std::process::id()))
}

/// The raw value of a query parameter of a URL, as it appears there.
pub fn query_value<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// The lines of a `--log` file, each checked to be a JSON object with the
/// fields every line has, in their order, and a timestamp in the API's
/// format.
pub fn log_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading the log {}: {e}", path.display()));
    assert!(text.ends_with('\n'), "a line cut short: {text:?}");
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
            let keys: Vec<&str> = v
                .as_object()
                .unwrap_or_else(|| panic!("not an object: {line}"))
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                keys,
                [
                    "time",
                    "origin",
                    "method",
                    "path",
                    "status",
                    "bytes_received",
                    "bytes_sent"
                ],
                "{line}"
            );
            assert!(is_timestamp(v["time"].as_str().expect("time")), "{line}");
            v
        })
        .collect()
}
