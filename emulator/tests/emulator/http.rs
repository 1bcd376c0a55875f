//! Protocol-level behaviour of the small HTTP server: malformed heads,
//! framing, pipelining, and requests the routes refuse before reading.

use std::io::{Read, Write};

use crate::common::*;
use compliance_emulator::{Flavour, Route};

#[test]
fn malformed_requests_get_plain_errors() {
    let emu = emulator();
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
    let emu = emulator();
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
fn a_tls_hello_gets_a_400_and_the_connection_closes() {
    let emu = emulator();
    let (addr, _) = split_url(&emu.base_url());
    // The start of a TLS 1.2 ClientHello, as a client given https:// sends
    // it: a handshake record, and no line break anywhere in it.
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0xc4, 0x01, 0x00, 0x00, 0xc0, 0x03, 0x03,
    ];
    hello.extend((0..32u8).map(|i| i.wrapping_mul(37) | 0x80));
    let mut s = connect(&addr);
    s.write_all(&hello).expect("write the hello");
    let mut all = Vec::new();
    // EOF, not the 10 s read timeout connect() sets: the emulator closed.
    s.read_to_end(&mut all)
        .expect("the emulator closes the connection after its answer");
    let r = parse_reply(&all);
    assert!(all.starts_with(b"HTTP/1.1 400 "), "{:?}", r);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(r.text().contains("plain http, not TLS"), "{}", r.text());
}

#[test]
fn pipelined_requests_and_drained_bodies_keep_the_connection() {
    let emu = emulator();
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
    let emu = emulator();
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
    await_status(&emu, &job.id, "complete");
    assert_eq!(send(&job.download_url, "GET", &[], b"").body, b"");

    // Session URIs only take PUT and DELETE; a cancelled job's session
    // cannot complete.
    let users = emu.create_job("users", None, true);
    let started = send(&users.upload_url, "POST", &START, b"");
    let session = started.header("location").expect("Location").to_string();
    check_xml(&send(&session, "POST", &[], b""), 405, "MethodNotAllowed");
    api_delete(&emu, &format!("/2/compliance/jobs/{}", users.id));
    check_xml(&send(&session, "PUT", &[], b"1\n"), 403, "AccessDenied");
    assert!(emu.uploaded(&users.id).is_none());
}

#[test]
fn faults_apply_to_api_flavour_uploads() {
    let emu = emulator_with(|c| c.flavour = Flavour::Api);
    let job = emu.create_job("tweets", None, false);
    emu.fault(Route::Upload, fault::stall(0));
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

/// Sends `HEAD` to `url`, then a `GET` of a path that is not there on the
/// same connection; returns the answer to the `HEAD` and every byte that
/// came after its head.
fn head_then_next(url: &str, headers: &[(&str, &str)]) -> (Reply, Vec<u8>) {
    let (addr, target) = split_url(url);
    let mut raw = format!("HEAD {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str(&format!(
        "\r\nGET /nowhere HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    ));
    let all = exchange(url, raw.as_bytes());
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    (parse_reply(&all[..end]), all[end..].to_vec())
}

/// Checks that a `HEAD` to `url` gets the answer `like` gets, the same
/// `Content-Length` included, with no body: the next answer on the
/// connection follows its head at once.
fn check_head(url: &str, headers: &[(&str, &str)], like: &Reply) {
    let (head, next) = head_then_next(url, headers);
    assert_eq!(head.status, like.status, "{url}");
    assert!(
        !like.body.is_empty(),
        "{url}: compare with an answer that has a body"
    );
    assert_eq!(
        head.header("content-length"),
        Some(like.body.len().to_string().as_str()),
        "{url}"
    );
    assert_eq!(head.header("content-type"), like.header("content-type"));
    assert!(
        next.starts_with(b"HTTP/1.1 404 "),
        "{url}: bytes after the head: {:?}",
        String::from_utf8_lossy(&next[..next.len().min(120)])
    );
}

#[test]
fn answers_to_head_have_no_body() {
    let emu = emulator();
    let auth = bearer(&emu);
    let api = emu.base_url();
    // The API takes HEAD nowhere: the answer is the 404 or 405 another
    // method gets, without its body.
    let nowhere = format!("{api}/nowhere");
    check_head(&nowhere, &[], &send(&nowhere, "GET", &[], b""));
    let jobs = format!("{api}/2/compliance/jobs?type=tweets");
    let bearer_header = [("Authorization", auth.as_str())];
    let patch = send(&jobs, "PATCH", &bearer_header, b"");
    assert_eq!(patch.status, 405);
    check_head(&jobs, &bearer_header, &patch);

    // Storage: the download URL is signed for GET, and the method is
    // signed, so HEAD is refused as Cloud Storage refuses it.
    let job = emu.create_job("tweets", None, true);
    let r = send(&start_session(&job.upload_url), "PUT", &[], b"1\n");
    assert_eq!(r.status, 200);
    await_status(&emu, &job.id, "complete");
    let mismatch = send(&job.download_url, "PUT", &[], b"");
    assert_eq!(mismatch.status, 403);
    check_head(&job.download_url, &[], &mismatch);
    check_head(&job.upload_url, &[], &mismatch);
    let session = start_session(&job.upload_url);
    // 405, naming the method: POST has as many letters as HEAD.
    check_head(&session, &[], &send(&session, "POST", &[], b""));
    let bucket = format!("{}/other/1/submission/1_1", emu.storage_url());
    check_head(&bucket, &[], &send(&bucket, "GET", &[], b""));
    // A fault's answer in place of the object's, too.
    let fault = || fault::status(503);
    emu.fault(Route::Download, fault());
    let faulted = send(&job.download_url, "GET", &[], b"");
    assert_eq!(faulted.status, 503);
    emu.fault(Route::Download, fault());
    check_head(&job.download_url, &[], &faulted);

    // With `Connection: close` the connection ends right after the head.
    let (addr, target) = split_url(&nowhere);
    let raw = format!("HEAD {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let all = exchange(&nowhere, raw.as_bytes());
    assert!(
        all.ends_with(b"\r\n\r\n"),
        "{}",
        String::from_utf8_lossy(&all)
    );
}

/// Unix seconds of an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`,
/// checking its form and its day of the week.
fn imf_fixdate_secs(date: &str) -> i64 {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = date.as_bytes();
    assert!(
        b.len() == 29 && &date[3..5] == ", " && &date[25..] == " GMT",
        "{date}"
    );
    let num = |r: std::ops::Range<usize>| -> i64 { date[r].parse().expect("digits") };
    let month = MONTHS
        .iter()
        .position(|m| *m == &date[8..11])
        .expect("month") as i64
        + 1;
    let secs = unix_secs(
        num(12..16),
        month,
        num(5..7),
        num(17..19),
        num(20..22),
        num(23..25),
    );
    assert_eq!(DAYS[(secs / 86_400 % 7) as usize], &date[..3], "{date}");
    secs
}

/// Unix seconds of an API timestamp, `2021-08-11T19:42:55.000Z`.
fn timestamp_secs(ts: &str) -> i64 {
    assert!(is_timestamp(ts), "{ts}");
    let num = |r: std::ops::Range<usize>| -> i64 { ts[r].parse().expect("digits") };
    unix_secs(
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    )
}

/// Unix seconds of a UTC civil time (days from civil, Howard Hinnant's).
fn unix_secs(y: i64, m: i64, d: i64, hh: i64, mm: i64, ss: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss
}

#[test]
fn every_answer_is_dated_by_the_emulator_clock() {
    let emu = emulator();
    // A year and a day ahead: a Date from the system clock would show.
    emu.shift_clock(366 * 86_400);
    let auth = bearer(&emu);
    let created = api_post(&emu, "/2/compliance/jobs", r#"{"type":"tweets"}"#);
    assert_eq!(created.status, 200, "{}", created.text());
    let job = &created.json()["data"];
    let created_at = timestamp_secs(job["created_at"].as_str().expect("created_at"));
    let date = |r: &Reply| imf_fixdate_secs(r.header("date").expect("Date"));
    let create_date = date(&created);
    assert!((created_at..created_at + 60).contains(&create_date));
    // The rate limit resets a window after the first request.
    let reset: i64 = created
        .header("x-rate-limit-reset")
        .expect("reset")
        .parse()
        .expect("seconds");
    assert!((900..=901).contains(&(reset - create_date)), "{reset}");

    let id = job["id"].as_str().expect("id").to_string();
    let upload_url = job["upload_url"].as_str().expect("url").to_string();
    let download_url = job["download_url"].as_str().expect("url").to_string();
    emu.fault(Route::GetJob, fault::status(503));
    emu.fault(Route::Download, fault::status(500));
    let answers = [
        api_get(&emu, &format!("/2/compliance/jobs/{id}")),
        api_get(&emu, "/2/compliance/jobs?type=tweets"),
        send(&format!("{}/nowhere", emu.base_url()), "GET", &[], b""),
        send(
            &format!("{}/2/compliance/jobs?type=users", emu.base_url()),
            "GET",
            &[("Authorization", "Bearer wrong")],
            b"",
        ),
        send(
            &format!("{}/2/compliance/jobs", emu.base_url()),
            "HEAD",
            &[("Authorization", &auth)],
            b"",
        ),
        put_ids(&upload_url, &ids(10).into_bytes()),
        send(&upload_url, "PUT", &[], b"1\n"),
        send(
            &format!("{}/other/1/x/1_1", emu.storage_url()),
            "GET",
            &[],
            b"",
        ),
        send(&download_url, "GET", &[], b""),
        send(&upload_url, "HEAD", &[], b""),
    ];
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [503, 200, 404, 401, 405, 200, 403, 404, 500, 403],
        "{answers:?}"
    );
    for r in &answers {
        let d = date(r);
        assert!((create_date..create_date + 60).contains(&d), "{r:?}");
    }
}
