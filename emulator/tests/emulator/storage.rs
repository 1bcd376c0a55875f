//! The `gcs` flavour's storage origin: signed URLs, simple and resumable
//! uploads, downloads with ranges, and the XML errors.

use std::io::{Read, Write};
use std::net::Shutdown;

use crate::common::*;
use compliance_emulator::Origin;

const SIGNATURE_MISMATCH: &str = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>SignatureDoesNotMatch</Code><Message>Access denied.</Message><Details>The request signature we calculated does not match the signature you provided. Check your Google secret key and signing method.</Details></Error>";

#[test]
fn simple_upload_then_download() {
    let emu = emulator_with(|c| c.event_percent = 30);
    let job = emu.create_job("tweets", None, false);
    // CRLF, blanks, spaces and junk lines are accepted; junk is ignored.
    let mut body = ids(2000).into_bytes();
    body.extend_from_slice(b"\r\n  1425543269983784962 \r\nnot-an-id\n\n-5\n1425543269983784963");
    let r = put_ids(&job.upload_url, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body.is_empty());
    assert!(r.header("etag").is_some_and(|e| e.starts_with('"')));
    assert!(r.header("x-rate-limit-limit").is_none());
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&body[..]));
    assert_eq!(
        std::fs::read(emu.uploaded_path(&job.id).expect("path")).expect("read"),
        body
    );
    await_status(&emu, &job.id, "complete");

    let r = send(&job.download_url, "GET", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert!(r.header("x-rate-limit-remaining").is_none());
    let want = emu.expected_results("tweets", &body);
    assert_eq!(
        r.header("content-length"),
        Some(want.len().to_string().as_str())
    );
    assert_eq!(r.body, want);
    // Every line is an event of an uploaded ID, in order.
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 400 && lines.len() < 800, "{}", lines.len());
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let id: u64 = v["id"].as_str().expect("id").parse().expect("digits");
        assert_eq!(
            compliance_emulator::event_line("tweets", id, 30).as_deref(),
            Some(*line)
        );
        assert_eq!(v["action"], "delete");
    }
    assert!(text.ends_with('\n'));
}

#[test]
fn a_second_simple_put_overwrites_the_object_but_not_the_job() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let job = emu.create_job("tweets", None, false);
    let first = ids(50).into_bytes();
    assert_eq!(put_ids(&job.upload_url, &first).status, 200);
    await_status(&emu, &job.id, "complete");
    let results = send(&job.download_url, "GET", &[], b"");
    assert_eq!(results.body, emu.expected_results("tweets", &first));
    // Cloud Storage overwrites the object and answers for the new bytes.
    let second = ids(80).into_bytes();
    let r = put_ids(&job.upload_url, &second);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("etag"), Some(md5_etag(&second).as_str()));
    assert_eq!(r.header("x-goog-hash"), Some(goog_hash(&second).as_str()));
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&second[..]));
    // The job does not start again: same status, same results.
    assert_eq!(emu.job(&job.id).expect("job").status, "complete");
    let again = send(&job.download_url, "GET", &[], b"");
    assert_eq!(again.body, results.body);
    assert_eq!(again.header("x-goog-hash"), results.header("x-goog-hash"));
    // Once the signed URL has expired it is refused as before.
    emu.shift_clock(900);
    check_xml(&put_ids(&job.upload_url, b"1\n"), 400, "ExpiredToken");
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&second[..]));

    // While the job is in progress too.
    let slow = emulator_with(|c| c.processing_delay = std::time::Duration::from_secs(3600));
    let job = slow.create_job("users", None, false);
    assert_eq!(put_ids(&job.upload_url, b"1\n").status, 200);
    assert_eq!(put_ids(&job.upload_url, b"2\n").status, 200);
    let snap = slow.job(&job.id).expect("job");
    assert_eq!(snap.status, "in_progress");
    assert_eq!(slow.uploaded(&job.id).as_deref(), Some(&b"2\n"[..]));
    slow.shift_clock(3600);
    await_status(&slow, &job.id, "complete");
    // The results are those of the upload that started the job.
    assert_eq!(
        send(&job.download_url, "GET", &[], b"").body,
        slow.expected_results("users", b"1\n")
    );
}

/// A chunk (or status query) on a session.
fn put_chunk(session: &str, range: &str, body: &[u8]) -> Reply {
    send(session, "PUT", &[("Content-Range", range)], body)
}

/// 256 KiB, the quantum of non-final chunks.
const Q: usize = 262_144;

#[test]
fn a_simple_put_that_arrived_in_time_may_end_after_the_window() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let job = emu.create_job("tweets", None, false);
    let body = ids(100).into_bytes();
    // The signature is checked when the request arrives, as Cloud Storage
    // does; the body ends after the window closed.
    let r = put_ending_after(&emu, &job.upload_url, &body, 900, || {
        // Meanwhile the job waits for it rather than expire.
        assert_eq!(emu.job(&job.id).expect("job").status, "created");
        assert!(emu.try_create_job("tweets", None, false).is_err());
    });
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&body[..]));
    await_status(&emu, &job.id, "complete");
    let results = send(&job.download_url, "GET", &[], b"");
    assert_eq!(results.body, emu.expected_results("tweets", &body));

    // One that arrives late is refused, and the job is expired for good.
    let never = emu.create_job("tweets", None, false);
    emu.shift_clock(900);
    check_xml(&put_ids(&never.upload_url, b"1\n"), 400, "ExpiredToken");
    assert_eq!(emu.job(&never.id).expect("job").status, "expired");
    assert!(emu.uploaded(&never.id).is_none());
}

#[test]
fn a_session_started_in_time_lives_a_week() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let job = emu.create_job("users", None, true);
    let session = start_session(&job.upload_url);
    let data = ids(30_000).into_bytes(); // 600_000 bytes
    let total = data.len();
    let r = put_chunk(&session, &format!("bytes 0-{}/*", Q - 1), &data[..Q]);
    assert_eq!(r.status, 308);
    // The window closes: the start URL is refused, but the session goes on
    // and the job waits for it, holding its type's slot.
    emu.shift_clock(900);
    check_xml(
        &send(&job.upload_url, "POST", &START, b""),
        400,
        "ExpiredToken",
    );
    assert_eq!(emu.job(&job.id).expect("job").status, "created");
    assert!(emu.try_create_job("users", None, false).is_err());
    // Days later, still inside the week.
    emu.shift_clock(6 * 86_400);
    let r = put_chunk(&session, &format!("bytes */{total}"), b"");
    assert_eq!((r.status, r.header("range")), (308, Some("bytes=0-262143")));
    let r = put_chunk(
        &session,
        &format!("bytes {Q}-{}/{total}", total - 1),
        &data[Q..],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-goog-hash"), Some(goog_hash(&data).as_str()));
    assert_eq!(emu.job(&job.id).expect("job").status, "in_progress");
    await_status(&emu, &job.id, "complete");
    let results = send(&job.download_url, "GET", &[], b"");
    assert_eq!(results.body, emu.expected_results("users", &data));

    // A session left open lapses a week after it started: then it is gone
    // (410, Cloud Storage's status for a session no longer available) and
    // the job, which nothing waits for any more, is expired for good.
    let left = emu.create_job("tweets", None, true);
    let session = start_session(&left.upload_url);
    let r = put_chunk(&session, &format!("bytes 0-{}/*", Q - 1), &data[..Q]);
    assert_eq!(r.status, 308);
    emu.shift_clock(7 * 86_400 - 1);
    assert_eq!(emu.job(&left.id).expect("job").status, "created");
    emu.shift_clock(1);
    assert_eq!(emu.job(&left.id).expect("job").status, "expired");
    let gone = put_chunk(
        &session,
        &format!("bytes {Q}-{}/{total}", total - 1),
        &data[Q..],
    );
    check_xml(&gone, 410, "Gone");
    check_xml(&put_chunk(&session, "bytes */*", b""), 410, "Gone");
    assert!(emu.uploaded(&left.id).is_none());
    let next = emu.create_job("tweets", None, false);
    assert_eq!(next.status, "created");
    assert_eq!(emu.job(&left.id).expect("job").status, "expired");

    // A session cancelled after the window leaves the job expired at once.
    let cancelled = emu.create_job("users", None, true);
    let session = start_session(&cancelled.upload_url);
    emu.shift_clock(900);
    assert_eq!(emu.job(&cancelled.id).expect("job").status, "created");
    assert_eq!(send(&session, "DELETE", &[], b"").status, 499);
    assert_eq!(emu.job(&cancelled.id).expect("job").status, "expired");
    check_xml(&put_chunk(&session, "bytes */*", b""), 404, "NoSuchUpload");
}

#[test]
fn sessions_of_one_object_the_last_to_complete_wins() {
    let emu = emulator_with(|c| {
        c.event_percent = 100;
        c.processing_delay = std::time::Duration::from_secs(3600);
    });
    let job = emu.create_job("tweets", None, true);
    let first = start_session(&job.upload_url);
    let second = start_session(&job.upload_url);
    assert_ne!(first, second);
    let a = ids(20_000).into_bytes(); // 400_000 bytes
    let b = ids(30).into_bytes();
    let r = put_chunk(&first, &format!("bytes 0-{}/*", Q - 1), &a[..Q]);
    assert_eq!(r.status, 308);
    // The second finishes first: the job takes its object.
    let done_b = send(&second, "PUT", &[("Content-Type", "text/plain")], &b);
    assert_eq!(done_b.status, 200, "{}", done_b.text());
    assert_eq!(emu.job(&job.id).expect("job").status, "in_progress");
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&b[..]));
    // Then the first: it overwrites the object, as a second simple PUT
    // does, with a newer generation; the job and its results stay.
    let range = format!("bytes {Q}-{}/{}", a.len() - 1, a.len());
    let done_a = put_chunk(&first, &range, &a[Q..]);
    assert_eq!(done_a.status, 200, "{}", done_a.text());
    assert_eq!(done_a.header("x-goog-hash"), Some(goog_hash(&a).as_str()));
    let generation = |r: &Reply| -> i64 {
        r.header("x-goog-generation")
            .expect("generation")
            .parse()
            .expect("a number")
    };
    assert!(generation(&done_a) > generation(&done_b));
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&a[..]));
    assert_eq!(emu.job(&job.id).expect("job").status, "in_progress");
    // Each session answers for its own object.
    let again = put_chunk(&second, &format!("bytes */{}", b.len()), b"");
    assert_eq!(again.status, 200);
    assert_eq!(
        again.header("x-goog-generation"),
        done_b.header("x-goog-generation")
    );
    // A session started on the stored object while the URL is valid is
    // allowed too.
    let third = start_session(&job.upload_url);
    assert_eq!(send(&third, "PUT", &[], b"9\n").status, 200);
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&b"9\n"[..]));
    emu.shift_clock(3600);
    await_status(&emu, &job.id, "complete");
    let results = send(&job.download_url, "GET", &[], b"").body;
    let from = |ids: &[u8]| results == emu.expected_results("tweets", ids);
    assert!(
        from(&b),
        "results from a: {}, {} bytes",
        from(&a),
        results.len()
    );
}

#[test]
fn objects_carry_their_generation_and_stored_form() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let job = emu.create_job("tweets", None, false);
    let body = ids(300).into_bytes();
    let stored = |r: &Reply, len: usize| {
        let generation: i64 = r
            .header("x-goog-generation")
            .expect("x-goog-generation")
            .parse()
            .expect("a number");
        assert!(generation > 0);
        assert_eq!(r.header("x-goog-metageneration"), Some("1"));
        let len = len.to_string();
        assert_eq!(r.header("x-goog-stored-content-length"), Some(len.as_str()));
        assert_eq!(r.header("x-goog-stored-content-encoding"), Some("identity"));
        generation
    };
    let first = put_ids(&job.upload_url, &body);
    assert_eq!(first.status, 200);
    let first_generation = stored(&first, body.len());
    // Each write of the object is a new generation.
    let again = put_ids(&job.upload_url, b"1\n");
    assert!(stored(&again, 2) > first_generation);
    await_status(&emu, &job.id, "complete");
    let want = emu.expected_results("tweets", &body);
    let full = send(&job.download_url, "GET", &[], b"");
    let results_generation = stored(&full, want.len());
    // The results are written once: one generation, also on a range.
    let part = send(&job.download_url, "GET", &[("Range", "bytes=10-19")], b"");
    assert_eq!(part.status, 206);
    assert_eq!(stored(&part, want.len()), results_generation);
    let later = send(&job.download_url, "GET", &[], b"");
    assert_eq!(stored(&later, want.len()), results_generation);
    // A completed session's answer carries them too.
    let resumable = emu.create_job("users", None, true);
    let r = send(&start_session(&resumable.upload_url), "PUT", &[], &body);
    assert_eq!(r.status, 200);
    stored(&r, body.len());
}

#[test]
fn objects_carry_their_hashes_like_cloud_storage() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let job = emu.create_job("tweets", None, false);
    let body = ids(300).into_bytes();
    let r = put_ids(&job.upload_url, &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), Some(md5_etag(&body).as_str()));
    assert_eq!(r.header("x-goog-hash"), Some(goog_hash(&body).as_str()));
    await_status(&emu, &job.id, "complete");
    let want = emu.expected_results("tweets", &body);
    let full = send(&job.download_url, "GET", &[], b"");
    assert_eq!(full.body, want);
    assert_eq!(full.header("x-goog-hash"), Some(goog_hash(&want).as_str()));
    assert_eq!(full.header("etag"), Some(md5_etag(&want).as_str()));
    // A range answer carries the hashes of the whole object.
    let part = send(&job.download_url, "GET", &[("Range", "bytes=100-199")], b"");
    assert_eq!((part.status, part.body.len()), (206, 100));
    assert_eq!(part.header("x-goog-hash"), full.header("x-goog-hash"));
    assert_eq!(part.header("etag"), full.header("etag"));

    // The empty object's well-known hashes.
    let empty = emulator_with(|c| c.event_percent = 0);
    let job = empty.create_job("users", None, false);
    assert_eq!(put_ids(&job.upload_url, &ids(10).into_bytes()).status, 200);
    await_status(&empty, &job.id, "complete");
    let r = send(&job.download_url, "GET", &[], b"");
    assert_eq!(r.body, b"");
    assert_eq!(
        r.header("x-goog-hash"),
        Some("crc32c=AAAAAA==,md5=1B2M2Y8AsgTpgAmY7PhCfg==")
    );
    assert_eq!(
        r.header("etag"),
        Some("\"d41d8cd98f00b204e9800998ecf8427e\"")
    );
}

#[test]
fn no_events_means_an_empty_file() {
    let emu = emulator_with(|c| c.event_percent = 0);
    let job = emu.create_job("users", None, false);
    assert_eq!(put_ids(&job.upload_url, &ids(100).into_bytes()).status, 200);
    await_status(&emu, &job.id, "complete");
    let r = send(&job.download_url, "GET", &[], b"");
    assert_eq!((r.status, r.header("content-length")), (200, Some("0")));
    check_xml(
        &send(&job.download_url, "GET", &[("Range", "bytes=0-")], b""),
        416,
        "InvalidRange",
    );
}

#[test]
fn user_results_use_user_reasons() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let job = emu.create_job("users", None, false);
    assert!(job.upload_url.contains("/twttr-user-compliance/"));
    assert_eq!(put_ids(&job.upload_url, &ids(200).into_bytes()).status, 200);
    await_status(&emu, &job.id, "complete");
    let text = send(&job.download_url, "GET", &[], b"").text();
    assert_eq!(text.lines().count(), 200);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let reason = v["reason"].as_str().expect("reason");
        assert!(["deleted", "suspended", "protected", "deactivated"].contains(&reason));
    }
}

#[test]
fn range_downloads() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let (job, want) = finished_tweets(&emu, 50);
    let len = want.len();
    let range = |h: &str| send(&job.download_url, "GET", &[("Range", h)], b"");
    let r = range("bytes=100-");
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 100-{}/{len}", len - 1).as_str())
    );
    assert_eq!(r.body, &want[100..]);
    let r = range("bytes=10-19");
    assert_eq!((r.status, &r.body[..]), (206, &want[10..20]));
    assert_eq!(r.header("content-length"), Some("10"));
    let r = range("bytes=-5");
    assert_eq!((r.status, &r.body[..]), (206, &want[len - 5..]));
    let r = range(&format!("bytes={len}-"));
    check_xml(&r, 416, "InvalidRange");
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    // Unusable ranges serve the whole object.
    let r = range("bytes=5-2");
    assert_eq!((r.status, r.body.len()), (200, len));
}

#[test]
fn download_before_complete_is_no_such_key() {
    let emu = emulator_with(|c| c.processing_delay = std::time::Duration::from_secs(3600));
    let job = emu.create_job("tweets", None, false);
    let r = send(&job.download_url, "GET", &[], b"");
    check_xml(&r, 404, "NoSuchKey");
    assert!(r
        .text()
        .contains("<Message>The specified key does not exist.</Message>"));
    assert_eq!(put_ids(&job.upload_url, &ids(10).into_bytes()).status, 200);
    assert_eq!(emu.job(&job.id).expect("job").status, "in_progress");
    check_xml(&send(&job.download_url, "GET", &[], b""), 404, "NoSuchKey");
    // Cancelled while in progress: failed, and there is nothing to fetch.
    let r = api_delete(&emu, &format!("/2/compliance/jobs/{}", job.id));
    assert_eq!(r.json()["data"]["status"], "failed");
    emu.shift_clock(3601);
    assert_eq!(emu.job(&job.id).expect("job").status, "failed");
    check_xml(&send(&job.download_url, "GET", &[], b""), 404, "NoSuchKey");
}

#[test]
fn signature_checks() {
    let emu = emulator();
    let job = emu.create_job("tweets", None, false);
    let url = &job.upload_url;
    let mismatch = |r: &Reply| {
        check_xml(r, 403, "SignatureDoesNotMatch");
        assert_eq!(r.text(), SIGNATURE_MISMATCH);
    };
    mismatch(&send(url, "PUT", &[], b"1\n"));
    mismatch(&send(
        url,
        "PUT",
        &[("Content-Type", "application/octet-stream")],
        b"1\n",
    ));
    mismatch(&send(
        url,
        "PUT",
        &[("Content-Type", "text/plain; charset=utf-8")],
        b"1\n",
    ));
    mismatch(&send(
        url,
        "POST",
        &[("Content-Type", "text/plain")],
        b"1\n",
    ));
    mismatch(&put_ids(
        &url.replace("X-Goog-Expires=900", "X-Goog-Expires=9000"),
        b"1\n",
    ));
    mismatch(&put_ids(
        &url.replace("X-Goog-Date=2", "X-Goog-Date=1"),
        b"1\n",
    ));
    mismatch(&put_ids(&format!("{url}&extra=1"), b"1\n"));
    let sig_at = url.find("X-Goog-Signature=").expect("signature") + "X-Goog-Signature=".len();
    let mut tampered = url.clone();
    let flipped = if &url[sig_at..=sig_at] == "0" {
        "1"
    } else {
        "0"
    };
    tampered.replace_range(sig_at..=sig_at, flipped);
    mismatch(&put_ids(&tampered, b"1\n"));
    // The download URL is not an upload URL.
    mismatch(&put_ids(&job.download_url, b"1\n"));
    // Without any signature: anonymous access is denied.
    let bare = url.split('?').next().expect("path");
    check_xml(&put_ids(bare, b"1\n"), 403, "AccessDenied");
    // Unknown buckets and objects.
    check_xml(
        &send(
            &format!("{}/other/1/submission/1_1", emu.storage_url()),
            "GET",
            &[],
            b"",
        ),
        404,
        "NoSuchBucket",
    );
    check_xml(
        &send(
            &format!("{}/twttr-tweet-compliance/1/x", emu.storage_url()),
            "GET",
            &[],
            b"",
        ),
        404,
        "NoSuchKey",
    );
    // The host is signed too.
    let (addr, target) = split_url(url);
    let raw = format!(
        "PUT {target} HTTP/1.1\r\nHost: localhost:{}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n1\n",
        addr.rsplit(':').next().expect("port")
    );
    mismatch(&parse_reply(&exchange(url, raw.as_bytes())));
    assert_eq!(emu.job(&job.id).expect("job").status, "created");
    assert_eq!(put_ids(url, b"1\n").status, 200);
}

#[test]
fn a_query_the_signature_does_not_cover_is_refused() {
    let emu = emulator();
    let job = emu.create_job("tweets", None, false);
    assert_eq!(put_ids(&job.upload_url, b"1\n").status, 200);
    await_status(&emu, &job.id, "complete");
    let mismatch = |url: &str, method: &str| {
        let r = send(url, method, &[("Content-Type", "text/plain")], b"");
        check_xml(&r, 403, "SignatureDoesNotMatch");
        assert_eq!(r.text(), SIGNATURE_MISMATCH, "{url}");
    };
    // A V4 signature covers the whole canonical query string: every
    // parameter but the signature itself.
    for extra in ["generation=1", "foo=bar", "X-Goog-Expires=1"] {
        mismatch(&format!("{}&{extra}", job.download_url), "GET");
        mismatch(&format!("{}&{extra}", job.upload_url), "PUT");
    }
    // On the results object `upload_id` is just another parameter.
    mismatch(&format!("{}&upload_id=ADPy1", job.download_url), "GET");
    let (base, query) = job.download_url.split_once('?').expect("a query");
    mismatch(&format!("{base}?generation=1&{query}"), "GET");
    assert_eq!(send(&job.download_url, "GET", &[], b"").status, 200);

    // A session URI is the upload URL plus `upload_id`: the session's own
    // capability, answered by the session it names.
    let resumable = emu.create_job("users", None, true);
    let started = send(&resumable.upload_url, "POST", &START, b"");
    let session = started.header("location").expect("Location");
    assert_eq!(send(session, "PUT", &[], b"2\n").status, 200);
    // `upload_id` names no session of the object: no such upload.
    let other = format!("{}&upload_id=ADPy1", resumable.upload_url);
    check_xml(&send(&other, "PUT", &[], b"2\n"), 404, "NoSuchUpload");
}

#[test]
fn an_authorization_header_is_refused_by_storage() {
    let emu = emulator();
    let job = emu.create_job("tweets", None, false);
    let auth = bearer(&emu);
    let r = send(
        &job.upload_url,
        "PUT",
        &[("Content-Type", "text/plain"), ("Authorization", &auth)],
        b"1\n",
    );
    check_xml(&r, 400, "InvalidArgument");
    assert_eq!(
        r.text(),
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>InvalidArgument</Code><Message>Invalid argument.</Message><Details>Cannot use multiple authentication methods: an Authorization header and a signed URL.</Details></Error>"
    );
    assert_eq!(emu.job(&job.id).expect("job").status, "created");
    let leaked: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.origin == Origin::Storage && r.header("authorization").is_some())
        .collect();
    assert_eq!(leaked.len(), 1);
    assert_eq!(leaked[0].status, 400);
    // Downloads too.
    assert_eq!(put_ids(&job.upload_url, b"1\n").status, 200);
    await_status(&emu, &job.id, "complete");
    check_xml(
        &send(&job.download_url, "GET", &[("Authorization", &auth)], b""),
        400,
        "InvalidArgument",
    );
}

#[test]
fn signed_urls_expire_on_the_emulator_clock() {
    let emu = emulator();
    let job = emu.create_job("tweets", None, false);
    let expires = job.json["upload_expires_at"]
        .as_str()
        .expect("ts")
        .to_string();
    emu.shift_clock(900);
    assert_eq!(emu.job(&job.id).expect("job").status, "expired");
    let r = put_ids(&job.upload_url, b"1\n");
    check_xml(&r, 400, "ExpiredToken");
    let when = format!("{}+00:00", &expires[..19]);
    assert!(
        r.text().contains(&format!("<Message>Invalid argument.</Message><Details>Request signature expired at: {when}</Details>")),
        "{}",
        r.text()
    );
    assert!(emu.uploaded(&job.id).is_none());

    let done = emu.create_job("users", None, false);
    assert_eq!(put_ids(&done.upload_url, b"1\n").status, 200);
    await_status(&emu, &done.id, "complete");
    assert_eq!(send(&done.download_url, "GET", &[], b"").status, 200);
    emu.shift_clock(7 * 86_400);
    check_xml(
        &send(&done.download_url, "GET", &[], b""),
        400,
        "ExpiredToken",
    );
    // Moving the clock back makes it valid again.
    emu.shift_clock(-7 * 86_400);
    assert_eq!(send(&done.download_url, "GET", &[], b"").status, 200);
}

#[test]
fn a_short_body_stores_nothing() {
    let emu = emulator();
    let job = emu.create_job("tweets", None, false);
    let (addr, target) = split_url(&job.upload_url);
    let mut s = connect(&addr);
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("head");
    s.write_all(&[b'1'; 500]).expect("half the body");
    s.shutdown(Shutdown::Write).expect("half close");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    let log = emu.requests();
    assert_eq!((log[0].status, log[0].body_bytes), (0, 500));
    assert_eq!(emu.job(&job.id).expect("job").status, "created");
    assert!(emu.uploaded(&job.id).is_none());
    assert!(emu.uploaded_path(&job.id).is_none());
    // The whole file afterwards is fine.
    assert_eq!(put_ids(&job.upload_url, b"7\n").status, 200);
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&b"7\n"[..]));
}

#[test]
fn chunked_bodies_expect_continue_and_keep_alive() {
    let emu = emulator();
    let job = emu.create_job("tweets", None, false);
    let (addr, target) = split_url(&job.upload_url);
    let mut s = connect(&addr);
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("head");
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).expect("100 Continue");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"4;ext=1\r\n111\n\r\nA\r\n222\n333\n44\r\n0\r\nX-Trailer: t\r\n\r\n")
        .expect("body");
    let mut first = Vec::new();
    let mut buf = [0u8; 4096];
    while !first.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0);
        first.extend_from_slice(&buf[..n]);
    }
    let r = parse_reply(&first);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&first));
    assert!(r.header("connection").is_none());
    assert_eq!(
        emu.uploaded(&job.id).as_deref(),
        Some(&b"111\n222\n333\n44"[..])
    );
    // Keep-alive: a second request on the same connection.
    await_status(&emu, &job.id, "complete");
    let again = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
        split_url(&job.download_url).1
    );
    s.write_all(again.as_bytes()).expect("second request");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let r2 = parse_reply(&rest);
    assert_eq!(r2.status, 200);
    assert_eq!(
        r2.body,
        emu.expected_results("tweets", b"111\n222\n333\n44")
    );
}

#[test]
fn resumable_upload_protocol() {
    let emu = emulator_with(|c| c.event_percent = 10);
    let job = emu.create_job("tweets", Some("resumable"), true);
    let url = &job.upload_url;
    assert!(url
        .contains("X-Goog-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-goog-resumable"));
    // Only the signed start request works on the signed URL.
    check_xml(
        &send(url, "PUT", &[("Content-Type", "text/plain")], b"1\n"),
        403,
        "SignatureDoesNotMatch",
    );
    check_xml(
        &send(
            url,
            "POST",
            &[("Content-Type", "text/plain"), ("Content-Length", "0")],
            b"",
        ),
        403,
        "SignatureDoesNotMatch",
    );
    let started = send(url, "POST", &START, b"");
    assert_eq!(started.status, 201, "{}", started.text());
    let session = started.header("location").expect("Location").to_string();
    assert!(
        session.starts_with(&format!("{url}&upload_id=")),
        "{session}"
    );
    let upload_id = session.rsplit('=').next().expect("id");
    assert_eq!(started.header("x-guploader-uploadid"), Some(upload_id));

    let data = ids(40_000).into_bytes(); // 800_000 bytes
    let total = data.len();
    let put = |range: &str, body: &[u8]| send(&session, "PUT", &[("Content-Range", range)], body);
    // Status query before any byte: 308 without Range.
    let r = put("bytes */*", b"");
    assert_eq!(r.status, 308);
    assert!(r.header("range").is_none());
    const Q: usize = 262_144;
    let r = put("bytes 0-262143/*", &data[..Q]);
    assert_eq!((r.status, r.header("range")), (308, Some("bytes=0-262143")));
    // Non-final chunks must be multiples of 256 KiB, in Cloud Storage's
    // own words (two spaces after a sentence included).
    let r = put(&format!("bytes {Q}-{}/*", Q + 999), &data[Q..Q + 1000]);
    check_xml(&r, 400, "InvalidArgument");
    assert!(
        r.text().contains(
            "<Details>Invalid request.  The number of bytes uploaded is required to be equal \
             or greater than 262144, except for the final request (it's recommended to be the \
             exact multiple of 262144).  The received request contained 1000 bytes, which does \
             not meet this requirement.</Details>"
        ),
        "{}",
        r.text()
    );
    // A chunk past the persisted end is refused.
    let r = put(
        &format!("bytes {}-{}/*", 2 * Q, 3 * Q - 1),
        &data[2 * Q..3 * Q],
    );
    check_xml(&r, 400, "InvalidArgument");
    // Re-sent bytes are skipped: this chunk overlaps the first one.
    let r = put(&format!("bytes 0-{}/*", 2 * Q - 1), &data[..2 * Q]);
    assert_eq!((r.status, r.header("range")), (308, Some("bytes=0-524287")));
    // A chunk cut short by the client keeps nothing of it.
    let (addr, target) = split_url(&session);
    let mut s = connect(&addr);
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Range: bytes {}-{}/*\r\nContent-Length: {Q}\r\n\r\n",
        2 * Q,
        3 * Q - 1
    );
    s.write_all(head.as_bytes()).expect("head");
    s.write_all(&data[2 * Q..2 * Q + 1000]).expect("part");
    s.shutdown(Shutdown::Write).expect("close");
    let mut nothing = Vec::new();
    let _ = s.read_to_end(&mut nothing);
    assert!(nothing.is_empty());
    let r = put(&format!("bytes */{total}"), b"");
    assert_eq!((r.status, r.header("range")), (308, Some("bytes=0-524287")));
    assert_eq!(emu.job(&job.id).expect("job").status, "created");
    // The final chunk completes the object.
    let r = put(
        &format!("bytes {}-{}/{total}", 2 * Q, total - 1),
        &data[2 * Q..],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // The hashes cover every persisted byte once, despite the re-sent and
    // the cut-short chunks.
    assert_eq!(r.header("etag"), Some(md5_etag(&data).as_str()));
    assert_eq!(r.header("x-goog-hash"), Some(goog_hash(&data).as_str()));
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&data[..]));
    await_status(&emu, &job.id, "complete");
    // A completed session answers 200 to a status query.
    let r = put(&format!("bytes */{total}"), b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-goog-hash"), Some(goog_hash(&data).as_str()));
    let r = send(&job.download_url, "GET", &[], b"");
    assert_eq!(r.body, emu.expected_results("tweets", &data));
    // A new start on a job that has its upload is allowed while the URL is
    // valid (see `sessions_of_one_object_the_last_to_complete_wins`).
    assert_eq!(send(url, "POST", &START, b"").status, 201);
    // Unknown sessions.
    check_xml(
        &send(&format!("{url}&upload_id=nope"), "PUT", &[], b""),
        404,
        "NoSuchUpload",
    );
}

#[test]
fn resumable_single_shot_total_from_status_query_and_cancel() {
    let emu = emulator();
    // A session cancelled with DELETE answers 499 and is gone.
    let job = emu.create_job("users", None, true);
    let session = start_session(&job.upload_url);
    assert_eq!(send(&session, "DELETE", &[], b"").status, 499);
    check_xml(
        &send(&session, "PUT", &[("Content-Range", "bytes */*")], b""),
        404,
        "NoSuchUpload",
    );
    assert_eq!(emu.job(&job.id).expect("job").status, "created");

    // The whole file in one PUT without Content-Range.
    let session = start_session(&job.upload_url);
    let r = send(
        &session,
        "PUT",
        &[("Content-Type", "text/plain")],
        b"5\n6\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&b"5\n6\n"[..]));

    // Chunks with unknown total, completed by a status query with the total.
    let tweets = emu.create_job("tweets", None, true);
    let session = start_session(&tweets.upload_url);
    let mut data = ids(26_215).into_bytes();
    data.truncate(524_288);
    let r = send(
        &session,
        "PUT",
        &[("Content-Range", "bytes 0-262143/*")],
        &data[..262_144],
    );
    assert_eq!(r.status, 308);
    // With the total unknown, a short chunk is not final, hence refused.
    let r = send(
        &session,
        "PUT",
        &[("Content-Range", "bytes 262144-262159/*")],
        &data[262_144..262_160],
    );
    check_xml(&r, 400, "InvalidArgument");
    let r = send(
        &session,
        "PUT",
        &[("Content-Range", "bytes 262144-524287/*")],
        &data[262_144..],
    );
    assert_eq!((r.status, r.header("range")), (308, Some("bytes=0-524287")));
    let r = send(&session, "PUT", &[("Content-Range", "bytes */524288")], b"");
    assert_eq!(r.status, 200);
    assert_eq!(emu.uploaded(&tweets.id).as_deref(), Some(&data[..]));
}
