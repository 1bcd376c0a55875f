//! Injected faults: each kind, on API and storage routes, applied in order
//! and for the number of requests asked.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::*;
use compliance_emulator::{Emulator, Flavour, Route};
use serde_json::json;

const JOBS: &str = "/2/compliance/jobs";

#[test]
fn status_faults_answer_then_run_out() {
    let emu = emulator();
    emu.fault(Route::CreateJob, fault::status(503).times(2));
    emu.fault(Route::ListJobs, fault::status(504));
    emu.fault(Route::CancelJob, fault::status(502));
    for _ in 0..2 {
        let r = api_post(&emu, JOBS, r#"{"type":"tweets"}"#);
        assert_eq!(r.status, 503);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(
            r.json(),
            json!({"title":"Service Unavailable","type":"about:blank","status":503,"detail":"Service Unavailable"})
        );
        assert_eq!(r.header("x-rate-limit-limit"), Some("150"));
    }
    assert!(emu.jobs().is_empty(), "faulted requests are not handled");
    let job = api_post(&emu, JOBS, r#"{"type":"tweets"}"#);
    assert_eq!(job.status, 200);
    let id = job.json()["data"]["id"].as_str().expect("id").to_string();
    assert_eq!(api_get(&emu, &format!("{JOBS}?type=tweets")).status, 504);
    assert_eq!(api_get(&emu, &format!("{JOBS}?type=tweets")).status, 200);
    assert_eq!(api_delete(&emu, &format!("{JOBS}/{id}")).status, 502);
    assert_eq!(emu.job(&id).expect("job").status, "created");
    // Faults apply before authentication, like a proxy's.
    emu.fault(Route::GetJob, fault::status(500));
    let r = send(&format!("{}{JOBS}/{id}", emu.base_url()), "GET", &[], b"");
    assert_eq!(r.status, 500);

    // Storage answers in XML.
    let job = emu.job(&id).expect("job");
    emu.fault(Route::Upload, fault::status(500));
    check_xml(&put_ids(&job.upload_url, b"1\n"), 500, "InternalError");
    assert_eq!(emu.job(&id).expect("job").status, "created");
    assert_eq!(put_ids(&job.upload_url, b"1\n").status, 200);
    await_status(&emu, &id, "complete");
    emu.fault(Route::Download, fault::status(503));
    check_xml(
        &send(&job.download_url, "GET", &[], b""),
        503,
        "ServiceUnavailable",
    );
    assert_eq!(send(&job.download_url, "GET", &[], b"").status, 200);
}

#[test]
fn rate_limited_fault() {
    let emu = emulator();
    emu.fault(Route::GetJob, fault::rate_limited(30));
    let r = api_get(&emu, &format!("{JOBS}/1"));
    assert_eq!(r.status, 429);
    assert_eq!(
        r.json(),
        json!({"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429})
    );
    assert_eq!(r.header("x-rate-limit-remaining"), Some("0"));
    assert_eq!(r.header("x-rate-limit-limit"), Some("150"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let reset: i64 = r
        .header("x-rate-limit-reset")
        .expect("reset")
        .parse()
        .expect("secs");
    assert!((reset - now - 30).abs() <= 2, "{reset} vs {now}");
    // The emulator clock is what counts.
    emu.shift_clock(1000);
    emu.fault(Route::GetJob, fault::rate_limited(30));
    let reset2: i64 = api_get(&emu, &format!("{JOBS}/1"))
        .header("x-rate-limit-reset")
        .expect("reset")
        .parse()
        .expect("secs");
    assert!((reset2 - now - 1030).abs() <= 2);
    assert_eq!(api_get(&emu, &format!("{JOBS}/1")).status, 200);
}

#[test]
fn close_request_after_stores_nothing() {
    let emu = emulator();
    let job = emu.create_job("tweets", None, false);
    emu.fault(Route::Upload, fault::close_request(100));
    let body = ids(50).into_bytes();
    let raw = exchange(
        &job.upload_url,
        &request_bytes(
            &job.upload_url,
            "PUT",
            &[("Content-Type", "text/plain")],
            &body,
        ),
    );
    assert!(raw.is_empty(), "{}", String::from_utf8_lossy(&raw));
    let log = emu.requests();
    assert_eq!((log[0].status, log[0].body_bytes), (0, 100));
    assert_eq!(emu.job(&job.id).expect("job").status, "created");
    assert!(emu.uploaded(&job.id).is_none());
    // Requests without a body are simply dropped.
    emu.fault(Route::ListJobs, fault::close_request(0));
    let auth = bearer(&emu);
    let url = format!("{}{JOBS}?type=tweets", emu.base_url());
    assert!(exchange(
        &url,
        &request_bytes(&url, "GET", &[("Authorization", &auth)], b"")
    )
    .is_empty());
    // With Expect: 100-continue the client is invited to send first.
    emu.fault(Route::Upload, fault::close_request(10));
    let raw = exchange(
        &job.upload_url,
        &request_bytes(
            &job.upload_url,
            "PUT",
            &[("Content-Type", "text/plain"), ("Expect", "100-continue")],
            &body,
        ),
    );
    assert_eq!(raw, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(put_ids(&job.upload_url, &body).status, 200);
    assert_eq!(emu.uploaded(&job.id), Some(body));
}

#[test]
fn close_response_after_cuts_the_body() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let (job, want) = finished_tweets(&emu, 100);
    emu.fault(Route::Download, fault::close_response(1000).times(2));
    let get = request_bytes(&job.download_url, "GET", &[], b"");
    let mut cuts = Vec::new();
    for _ in 0..2 {
        let raw = exchange(&job.download_url, &get);
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
        let r = parse_reply(&raw);
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-length"),
            Some(want.len().to_string().as_str())
        );
        assert_eq!(&raw[end..], &want[..1000]);
        cuts.push(String::from_utf8_lossy(&raw).into_owned());
    }
    assert_eq!(cuts[0], cuts[1], "deterministic");
    assert_eq!(send(&job.download_url, "GET", &[], b"").body, want);
    // With no body to cut, the whole answer is lost, after the upload was stored.
    let users = emu.create_job("users", None, false);
    emu.fault(Route::Upload, fault::close_response(0));
    let raw = exchange(
        &users.upload_url,
        &request_bytes(
            &users.upload_url,
            "PUT",
            &[("Content-Type", "text/plain")],
            b"1\n",
        ),
    );
    assert!(raw.is_empty());
    assert_eq!(emu.uploaded(&users.id).as_deref(), Some(&b"1\n"[..]));
    let last = emu.requests().pop().expect("logged");
    assert_eq!((last.status, last.body_bytes), (0, 2));
    // Sending it again overwrites the object, as on Cloud Storage.
    assert_eq!(put_ids(&users.upload_url, b"1\n").status, 200);
}

#[test]
fn stall_keeps_the_socket_open_without_sending() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let (job, want) = finished_tweets(&emu, 100);
    emu.fault(Route::Download, fault::stall(500).times(2));
    let (addr, _) = split_url(&job.download_url);
    let mut s = connect(&addr);
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    s.write_all(&request_bytes(&job.download_url, "GET", &[], b""))
        .expect("request");
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let stalled = loop {
        match s.read(&mut buf) {
            Ok(0) => break false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break true
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert!(stalled, "the connection stayed open");
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    assert_eq!(&got[end..], &want[..500]);
    drop(s);
    // A second stalled connection is still open when the emulator drops:
    // dropping must not wait for it.
    let mut s2 = connect(&addr);
    s2.write_all(&request_bytes(&job.download_url, "GET", &[], b""))
        .expect("request");
    let mut first = [0u8; 64];
    assert!(s2.read(&mut first).expect("head arrives") > 0);
    let t = Instant::now();
    drop(emu);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let mut rest = Vec::new();
    let _ = s2.read_to_end(&mut rest);
}

#[test]
fn slow_paces_downloads_and_uploads() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let (job, want) = finished_tweets(&emu, 20);
    assert!(want.len() > 2000);
    let rate = 10_000;
    emu.fault(Route::Download, fault::slow(rate));
    let t = Instant::now();
    let r = send(&job.download_url, "GET", &[], b"");
    let took = t.elapsed();
    assert_eq!(r.body, want);
    let expected = Duration::from_secs_f64((want.len() as f64 - rate as f64 / 10.0) / rate as f64);
    assert!(took >= expected, "{took:?} < {expected:?}");

    let users = emu.create_job("users", None, false);
    let body = ids(1500).into_bytes(); // 30_000 bytes
    emu.fault(Route::Upload, fault::slow(100_000));
    let t = Instant::now();
    assert_eq!(put_ids(&users.upload_url, &body).status, 200);
    // The first tenth of a second's worth goes at once.
    assert!(
        t.elapsed() >= Duration::from_millis(195),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(emu.uploaded(&users.id), Some(body));
}

#[test]
fn faults_apply_in_the_order_queued() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let (job, want) = finished_tweets(&emu, 30);
    emu.fault(Route::Download, fault::status(500));
    emu.fault(Route::Download, fault::close_response(10));
    emu.fault(Route::Download, fault::status(502).times(0));
    check_xml(
        &send(&job.download_url, "GET", &[], b""),
        500,
        "InternalError",
    );
    let cut = parse_reply(&exchange(
        &job.download_url,
        &request_bytes(&job.download_url, "GET", &[], b""),
    ));
    assert_eq!(cut.body, &want[..10]);
    assert_eq!(send(&job.download_url, "GET", &[], b"").body, want);
    // Faults only touch their own route.
    emu.fault(Route::GetJob, fault::status(503));
    assert_eq!(api_get(&emu, &format!("{JOBS}?type=tweets")).status, 200);
    assert_eq!(send(&job.download_url, "GET", &[], b"").status, 200);
    assert_eq!(api_get(&emu, &format!("{JOBS}/{}", job.id)).status, 503);
}

#[test]
fn partial_serves_less_than_asked_as_a_206() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let (job, want) = finished_tweets(&emu, 100);
    let len = want.len();
    assert!(len > 3000);
    let full = send(&job.download_url, "GET", &[], b"");
    emu.fault(Route::Download, fault::partial(1000).times(3));
    // Without Range: a 206 nobody asked for, with the first 1000 bytes and
    // nothing more on the wire.
    let raw = exchange(
        &job.download_url,
        &request_bytes(&job.download_url, "GET", &[], b""),
    );
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    assert_eq!(&raw[end..], &want[..1000]);
    let r = parse_reply(&raw);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-999/{len}").as_str())
    );
    assert_eq!(r.header("content-length"), Some("1000"));
    assert_eq!(r.header("x-goog-hash"), full.header("x-goog-hash"));
    assert_eq!(r.header("etag"), full.header("etag"));
    assert_eq!(r.header("x-goog-hash"), Some(goog_hash(&want).as_str()));
    // From the requested start.
    let r = send(&job.download_url, "GET", &[("Range", "bytes=1500-")], b"");
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 1500-2499/{len}").as_str())
    );
    assert_eq!(r.body, &want[1500..2500]);
    // A range shorter than the cut is served as asked.
    let r = send(&job.download_url, "GET", &[("Range", "bytes=10-19")], b"");
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 10-19/{len}").as_str())
    );
    assert_eq!(r.body, &want[10..20]);
    // Used up.
    assert_eq!(send(&job.download_url, "GET", &[], b"").body, want);
    // An error answer goes out unchanged.
    let users = emu.create_job("users", None, false);
    emu.fault(Route::Download, fault::partial(5));
    check_xml(
        &send(&users.download_url, "GET", &[], b""),
        404,
        "NoSuchKey",
    );

    // The api flavour's downloads too.
    let api = emulator_with(|c| {
        c.flavour = Flavour::Api;
        c.event_percent = 100;
    });
    let (job, want) = finished_tweets(&api, 50);
    api.fault(Route::Download, fault::partial(64));
    let r = send(&job.download_url, "GET", &[("Range", "bytes=100-")], b"");
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 100-163/{}", want.len()).as_str())
    );
    assert_eq!(r.body, &want[100..164]);
    assert!(r.header("x-goog-hash").is_none());
}

#[test]
fn corrupt_flips_one_bit_of_one_byte() {
    let emu = emulator_with(|c| c.event_percent = 100);
    let (job, want) = finished_tweets(&emu, 100);
    emu.fault(Route::Download, fault::corrupt(777));
    let r = send(&job.download_url, "GET", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), want.len());
    let len = want.len().to_string();
    assert_eq!(r.header("content-length"), Some(len.as_str()));
    // The head still describes the object as stored.
    assert_eq!(r.header("x-goog-hash"), Some(goog_hash(&want).as_str()));
    let differ: Vec<usize> = (0..want.len()).filter(|&i| r.body[i] != want[i]).collect();
    assert_eq!(differ, vec![777]);
    assert_eq!(r.body[777] ^ want[777], 1);
    // Past the end of the body: nothing to damage.
    emu.fault(Route::Download, fault::corrupt(want.len() as u64));
    assert_eq!(send(&job.download_url, "GET", &[], b"").body, want);
    // On a range answer the offset counts in the body sent.
    emu.fault(Route::Download, fault::corrupt(0));
    let r = send(&job.download_url, "GET", &[("Range", "bytes=50-59")], b"");
    assert_eq!(r.body[0], want[50] ^ 1);
    assert_eq!(&r.body[1..], &want[51..60]);
    // And on API answers: the opening brace becomes a 'z'.
    emu.fault(Route::GetJob, fault::corrupt(0));
    let r = api_get(&emu, &format!("{JOBS}/{}", job.id));
    assert_eq!(r.status, 200);
    assert_eq!(r.body[0], b'z');
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body[1..]).is_err());
}

#[test]
fn echo_auth_quotes_the_authorization_header() {
    let emu = emulator();
    let secret = "Bearer s3cret-token/with+chars%2F";
    emu.fault(Route::ListJobs, fault::echo_auth(401));
    let url = format!("{}{JOBS}?type=tweets", emu.base_url());
    let r = send(&url, "GET", &[("Authorization", secret)], b"");
    let v = check_problem(&r, 401, "about:blank");
    assert_eq!(v["detail"], format!("bad header: {secret}"));
    assert!(r.text().contains(secret));
    // It answered in place of the request: no quota spent.
    assert_eq!(r.header("x-rate-limit-remaining"), Some("150"));
    let next = api_get(&emu, &format!("{JOBS}?type=tweets"));
    assert_eq!(next.header("x-rate-limit-remaining"), Some("149"));

    // Storage answers in XML; the job is untouched.
    let job = emu.create_job("tweets", None, false);
    emu.fault(Route::Upload, fault::echo_auth(400).times(2));
    let r = send(
        &job.upload_url,
        "PUT",
        &[
            ("Content-Type", "text/plain"),
            ("Authorization", "Bearer storage-secret"),
        ],
        b"1\n",
    );
    check_xml(&r, 400, "InvalidRequest");
    assert!(
        r.text()
            .contains("<Details>bad header: Bearer storage-secret</Details>"),
        "{}",
        r.text()
    );
    // Without the header there is nothing to quote.
    let r = put_ids(&job.upload_url, b"1\n");
    assert!(
        r.text().contains("<Details>bad header: </Details>"),
        "{}",
        r.text()
    );
    assert_eq!(emu.job(&job.id).expect("job").status, "created");
    assert_eq!(put_ids(&job.upload_url, b"1\n").status, 200);
}

#[test]
fn trickle_paces_the_head_too() {
    let emu = emulator();
    let rate = 200;
    emu.fault(Route::ListJobs, fault::trickle(rate));
    let url = format!("{}{JOBS}?type=tweets", emu.base_url());
    let auth = bearer(&emu);
    let (addr, _) = split_url(&url);
    let mut s = connect(&addr);
    let t = Instant::now();
    s.write_all(&request_bytes(
        &url,
        "GET",
        &[("Authorization", &auth)],
        b"",
    ))
    .expect("request");
    let mut got = Vec::new();
    let mut first_read = None;
    let mut head_at = None;
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        first_read.get_or_insert(n);
        got.extend_from_slice(&buf[..n]);
        if head_at.is_none() && got.windows(4).any(|w| w == b"\r\n\r\n") {
            head_at = Some(t.elapsed());
        }
    }
    let head_len = got.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    // A tenth of a second's worth at a time, from the first byte of the head.
    assert!(first_read.expect("bytes") <= (rate / 10) as usize);
    let due = Duration::from_secs_f64((head_len as u64 - rate / 10) as f64 / rate as f64);
    let head_at = head_at.expect("whole head");
    assert!(head_at >= due, "{head_at:?} < {due:?}");
    let r = parse_reply(&got);
    // The next answer is the same, at full speed.
    let t = Instant::now();
    let normal = api_get(&emu, &format!("{JOBS}?type=tweets"));
    assert!(t.elapsed() < due);
    assert_eq!((r.status, &r.body), (200, &normal.body));
}

#[test]
fn body_answers_exactly_what_was_given() {
    let emu = emulator();
    let page = b"<html><body>502 Bad Gateway</body></html>".to_vec();
    emu.fault(
        Route::CreateJob,
        fault::body(502, "text/html", page.clone()),
    );
    let r = api_post(&emu, JOBS, r#"{"type":"tweets"}"#);
    assert_eq!(r.status, 502);
    assert_eq!(r.body, page);
    let mut names: Vec<&str> = r.headers.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["connection", "content-length", "content-type"]);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert!(emu.jobs().is_empty(), "not handled");
    assert_eq!(api_post(&emu, JOBS, r#"{"type":"tweets"}"#).status, 200);
}

#[test]
fn oversized_sends_valid_json_of_the_asked_length() {
    let emu = emulator();
    let n = 5_000_000u64;
    emu.fault(Route::ListJobs, fault::oversized(n));
    let r = api_get(&emu, &format!("{JOBS}?type=tweets"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-length"), Some(n.to_string().as_str()));
    assert_eq!(r.body.len() as u64, n);
    let v = r.json();
    assert_eq!(v["data"], json!([]));
    assert!(r.header("x-rate-limit-remaining").is_none());
    // No quota was spent on it.
    let next = api_get(&emu, &format!("{JOBS}?type=tweets"));
    assert_eq!(next.header("x-rate-limit-remaining"), Some("149"));
    // Tiny sizes stay valid JSON.
    for n in [1u64, 2, 19, 20] {
        emu.fault(Route::GetJob, fault::oversized(n));
        let r = api_get(&emu, &format!("{JOBS}/1"));
        assert_eq!(r.body.len() as u64, n);
        r.json();
    }
}

/// How long a job is `in_progress` in the fail-job tests, in seconds.
const PROCESSING_SECS: i64 = 60;

/// An emulator whose jobs are `in_progress` for [`PROCESSING_SECS`].
fn processing_emulator(flavour: Flavour) -> Emulator {
    emulator_with(|c| {
        c.flavour = flavour;
        c.processing_delay = Duration::from_secs(PROCESSING_SECS as u64);
        c.event_percent = 100;
    })
}

/// The job object the API shows now.
fn job_json(emu: &Emulator, id: &str) -> serde_json::Value {
    let r = api_get(emu, &format!("{JOBS}/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["data"].clone()
}

#[test]
fn fail_job_fails_the_job_when_processing_ends() {
    let emu = processing_emulator(Flavour::Gcs);
    let job = emu.create_job("tweets", Some("doomed"), false);
    emu.fault(Route::Upload, fault::fail_job());
    let body = ids(100).into_bytes();
    // The upload itself goes as any other: stored, and answered 200.
    let r = put_ids(&job.upload_url, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-goog-hash"), Some(goog_hash(&body).as_str()));
    assert_eq!(emu.uploaded(&job.id), Some(body.clone()));
    let seen = job_json(&emu, &job.id);
    assert_eq!(seen["status"], "in_progress");
    assert!(seen["estimated_completion"].is_string(), "{seen}");

    emu.shift_clock(PROCESSING_SECS);
    let failed = job_json(&emu, &job.id);
    check_job_schema(&failed);
    assert_eq!(failed["status"], "failed");
    assert!(failed.get("estimated_completion").is_none(), "{failed}");
    // The schema requires the URLs: they stay, but nothing is behind the
    // download URL.
    assert_eq!(failed["download_url"], job.download_url.as_str());
    assert_eq!(emu.job(&job.id).expect("job").status, "failed");
    let listed = api_get(&emu, &format!("{JOBS}?type=tweets&status=failed")).json();
    assert_eq!(listed["data"][0]["id"], job.id.as_str(), "{listed}");
    check_xml(&send(&job.download_url, "GET", &[], b""), 404, "NoSuchKey");
    // A failed job is over: it takes no upload, and has nothing to cancel.
    check_xml(&put_ids(&job.upload_url, &body), 403, "AccessDenied");
    check_problem(
        &api_delete(&emu, &format!("{JOBS}/{}", job.id)),
        409,
        &problem_uri("conflict"),
    );

    // The fault is used up: the next job of the type completes.
    let next = emu.create_job("tweets", None, false);
    assert_eq!(put_ids(&next.upload_url, &body).status, 200);
    emu.shift_clock(PROCESSING_SECS);
    await_status(&emu, &next.id, "complete");
    let r = send(&next.download_url, "GET", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, emu.expected_results("tweets", &body));
}

#[test]
fn fail_job_fails_the_job_of_a_resumable_session_it_started() {
    let emu = processing_emulator(Flavour::Gcs);
    let job = emu.create_job("users", None, true);
    // Queued for the next upload request: the session's start.
    emu.fault(Route::Upload, fault::fail_job());
    let session = start_session(&job.upload_url);
    let body = ids(10).into_bytes();
    let r = send(
        &session,
        "PUT",
        &[(
            "Content-Range",
            &format!("bytes 0-{0}/{1}", body.len() - 1, body.len()),
        )],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(emu.uploaded(&job.id), Some(body));
    assert_eq!(job_json(&emu, &job.id)["status"], "in_progress");
    emu.shift_clock(PROCESSING_SECS);
    assert_eq!(job_json(&emu, &job.id)["status"], "failed");
    check_xml(&send(&job.download_url, "GET", &[], b""), 404, "NoSuchKey");
}

#[test]
fn fail_job_in_the_api_flavour() {
    let emu = processing_emulator(Flavour::Api);
    emu.fault(Route::Upload, fault::fail_job().times(2));
    // On other routes the fault does nothing.
    emu.fault(Route::GetJob, fault::fail_job());
    for kind in ["tweets", "users"] {
        let job = emu.create_job(kind, None, false);
        let r = put_ids(&job.upload_url, b"1\n2\n");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["data"]["status"], "in_progress");
        assert_eq!(job_json(&emu, &job.id)["status"], "in_progress");
        emu.shift_clock(PROCESSING_SECS);
        assert_eq!(job_json(&emu, &job.id)["status"], "failed");
        let r = send(&job.download_url, "GET", &[], b"");
        check_problem(&r, 404, &problem_uri("resource-not-found"));
    }
    // Two uploads took the two failures; the third job completes.
    let job = emu.create_job("tweets", None, false);
    let r = put_ids(&job.upload_url, b"1\n2\n");
    assert_eq!(r.status, 200, "{}", r.text());
    emu.shift_clock(PROCESSING_SECS);
    await_status(&emu, &job.id, "complete");
    let r = send(&job.download_url, "GET", &[], b"");
    assert_eq!(r.body, emu.expected_results("tweets", b"1\n2\n"));
}
