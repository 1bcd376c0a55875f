//! Protocol-level behaviour of the small HTTP server: malformed heads,
//! framing, pipelining, and requests the routes refuse before reading.

mod common;

use std::io::{Read, Write};

use common::*;
use compliance_emulator::{Fault, Flavour, Route};

#[test]
fn malformed_requests_get_plain_errors() {
    let emu = start(|_| {});
    let url = emu.base_url();
    for (raw, status) in [
        (&b"GARBAGE\r\n\r\n"[..], 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\nbad header\r\n\r\n", 400),
        (b"PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (
            b"PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
    ] {
        let r = parse_reply(&exchange(&url, raw));
        assert_eq!(r.status, status, "{}", String::from_utf8_lossy(raw));
        assert_eq!(r.header("connection"), Some("close"));
    }
}

#[test]
fn malformed_heads_are_answered_in_plain_words() {
    let emu = start(|_| {});
    let url = emu.base_url();
    let mut crowded = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..201 {
        crowded.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    crowded.extend_from_slice(b"\r\n");
    let mut huge = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    huge.resize(70_000, b'a');
    huge.extend_from_slice(b"\r\n\r\n");
    let cases: [(&[u8], u16, &str); 10] = [
        (b"GARBAGE\r\n\r\n", 400, "malformed request line\n"),
        (b"GET / HTTP/1.1 x\r\n\r\n", 400, "malformed request line\n"),
        (
            b"GET / HTTP/2.0\r\n\r\n",
            505,
            "only HTTP/1.x is supported\n",
        ),
        (
            b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
            400,
            "malformed header line\n",
        ),
        (
            b"GET / HTTP/1.1\r\nA b: c\r\n\r\n",
            400,
            "malformed header name\n",
        ),
        (
            b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
            400,
            "obsolete line folding\n",
        ),
        (
            b"PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
            "unsupported transfer-encoding\n",
        ),
        (
            b"PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            400,
            "invalid content-length\n",
        ),
        (&crowded, 431, "too many header lines\n"),
        (&huge, 431, "request head too large\n"),
    ];
    for (raw, status, text) in cases {
        let r = parse_reply(&exchange(&url, raw));
        let shown = String::from_utf8_lossy(&raw[..raw.len().min(40)]).into_owned();
        assert_eq!((r.status, r.text().as_str()), (status, text), "{shown}");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(r.header("connection"), Some("close"));
    }
    // Empty lines before a request are allowed (RFC 9112, 2.2).
    let r = parse_reply(&exchange(
        &url,
        b"\r\n\nGET /nowhere HTTP/1.1\r\nConnection: close\r\n\r\n",
    ));
    assert_eq!(r.status, 404);
}

#[test]
fn pipelined_requests_and_drained_bodies_keep_the_connection() {
    let emu = start(|_| {});
    let (addr, _) = split_url(&emu.base_url());
    let auth = bearer(&emu);
    let mut s = connect(&addr);
    // A rejected create whose body is small is drained, so the next
    // pipelined request still parses.
    let reqs = format!(
        "POST /2/compliance/jobs HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nAuthorization: {auth}\r\nContent-Length: 5\r\n\r\nhello\
         GET /2/compliance/jobs?type=users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\r\n\
         GET /nowhere HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(reqs.as_bytes()).expect("write");
    let mut all = Vec::new();
    s.read_to_end(&mut all).expect("read");
    let text = String::from_utf8_lossy(&all);
    let statuses: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &text[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["400", "200", "404"], "{text}");
    assert_eq!(emu.requests().len(), 3);
}

#[test]
fn storage_needs_a_length_and_refuses_other_methods() {
    let emu = start(|_| {});
    let job = emu.create_job("tweets", None, false);
    let raw = format!(
        "PUT {} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n",
        split_url(&job.upload_url).1,
        split_url(&job.upload_url).0
    );
    check_xml(
        &parse_reply(&exchange(&job.upload_url, raw.as_bytes())),
        411,
        "MissingContentLength",
    );
    // An empty file with Content-Length: 0 is a valid upload.
    let r = send(
        &job.upload_url,
        "PUT",
        &[("Content-Type", "text/plain"), ("Content-Length", "0")],
        b"",
    );
    assert_eq!(r.status, 200);
    wait_status(&emu, &job.id, "complete");
    assert_eq!(send(&job.download_url, "GET", &[], b"").body, b"");

    // Session URIs only take PUT and DELETE; a cancelled job's session
    // cannot complete.
    let users = emu.create_job("users", None, true);
    let started = send(
        &users.upload_url,
        "POST",
        &[
            ("Content-Type", "text/plain"),
            ("Content-Length", "0"),
            ("x-goog-resumable", "start"),
        ],
        b"",
    );
    let session = started.header("location").expect("Location").to_string();
    check_xml(&send(&session, "POST", &[], b""), 405, "MethodNotAllowed");
    api_delete(&emu, &format!("/2/compliance/jobs/{}", users.id));
    check_xml(&send(&session, "PUT", &[], b"1\n"), 403, "AccessDenied");
    assert!(emu.uploaded(&users.id).is_none());
}

#[test]
fn faults_apply_to_api_flavour_uploads() {
    let emu = start(|c| c.flavour = Flavour::Api);
    let job = emu.create_job("tweets", None, false);
    emu.fault(
        Route::Upload,
        Fault::Stall {
            after_bytes: 0,
            times: 1,
        },
    );
    let (addr, _) = split_url(&job.upload_url);
    let mut s = connect(&addr);
    s.set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .expect("timeout");
    s.write_all(&request_bytes(
        &job.upload_url,
        "PUT",
        &[("Content-Type", "text/plain")],
        b"3\n",
    ))
    .expect("write");
    let mut buf = [0u8; 64];
    // The upload is stored, but its answer (a JSON body) stalls after 0 bytes:
    // the head arrives, the body does not.
    let n = s.read(&mut buf).expect("head");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200 OK"));
    let mut rest = Vec::new();
    let err = s.read_to_end(&mut rest).expect_err("stalled");
    assert!(matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&b"3\n"[..]));
}
