//! What the emulator's tests check that no other test does: the official
//! schema shapes written out (the tests must not read the reference files),
//! Cloud Storage's hashes and XML errors, the `--log` lines; and a ureq
//! agent. Starting an emulator, jobs, faults and the raw HTTP client are
//! the test kit's (`compliance_testkit`), re-exported here.

use std::path::Path;
use std::time::Duration;

use compliance_testkit::{Emulator, JobSnapshot};
use serde_json::Value;

pub use compliance_testkit::fault::{self, Times};
pub use compliance_testkit::http::*;
pub use compliance_testkit::{await_status, emulator, emulator_with, finished_job, ids, TempDir};

/// A finished tweets job of `n` IDs, and the results it gives.
pub fn finished_tweets(emu: &Emulator, n: u64) -> (JobSnapshot, Vec<u8>) {
    let body = ids(n);
    let job = finished_job(emu, "tweets", None, &body);
    (job, emu.expected_results("tweets", body.as_bytes()))
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
