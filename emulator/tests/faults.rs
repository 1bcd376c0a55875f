//! Injected faults: each kind, on API and storage routes, applied in order
//! and for the number of requests asked.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use compliance_emulator::{Emulator, Fault, JobSnapshot, Route};
use serde_json::json;

const JOBS: &str = "/2/compliance/jobs";

fn complete_job(emu: &Emulator, n: u64) -> (JobSnapshot, Vec<u8>) {
    let job = emu.create_job("tweets", None, false);
    let body = ids(n);
    assert_eq!(put_ids(&job.upload_url, &body).status, 200);
    wait_status(emu, &job.id, "complete");
    (job.clone(), emu.expected_results("tweets", &body))
}

#[test]
fn status_faults_answer_then_run_out() {
    let emu = start(|_| {});
    emu.fault(
        Route::CreateJob,
        Fault::Status {
            status: 503,
            times: 2,
        },
    );
    emu.fault(
        Route::ListJobs,
        Fault::Status {
            status: 504,
            times: 1,
        },
    );
    emu.fault(
        Route::CancelJob,
        Fault::Status {
            status: 502,
            times: 1,
        },
    );
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
    emu.fault(
        Route::GetJob,
        Fault::Status {
            status: 500,
            times: 1,
        },
    );
    let r = send(&format!("{}{JOBS}/{id}", emu.base_url()), "GET", &[], b"");
    assert_eq!(r.status, 500);

    // Storage answers in XML.
    let job = emu.job(&id).expect("job");
    emu.fault(
        Route::Upload,
        Fault::Status {
            status: 500,
            times: 1,
        },
    );
    check_xml(&put_ids(&job.upload_url, b"1\n"), 500, "InternalError");
    assert_eq!(emu.job(&id).expect("job").status, "created");
    assert_eq!(put_ids(&job.upload_url, b"1\n").status, 200);
    wait_status(&emu, &id, "complete");
    emu.fault(
        Route::Download,
        Fault::Status {
            status: 503,
            times: 1,
        },
    );
    check_xml(
        &send(&job.download_url, "GET", &[], b""),
        503,
        "ServiceUnavailable",
    );
    assert_eq!(send(&job.download_url, "GET", &[], b"").status, 200);
}

#[test]
fn rate_limited_fault() {
    let emu = start(|_| {});
    emu.fault(
        Route::GetJob,
        Fault::RateLimited {
            reset_after: Duration::from_secs(30),
            times: 1,
        },
    );
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
    emu.fault(
        Route::GetJob,
        Fault::RateLimited {
            reset_after: Duration::from_secs(30),
            times: 1,
        },
    );
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
    let emu = start(|_| {});
    let job = emu.create_job("tweets", None, false);
    emu.fault(
        Route::Upload,
        Fault::CloseRequestAfter {
            bytes: 100,
            times: 1,
        },
    );
    let body = ids(50);
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
    emu.fault(
        Route::ListJobs,
        Fault::CloseRequestAfter { bytes: 0, times: 1 },
    );
    let auth = bearer(&emu);
    let url = format!("{}{JOBS}?type=tweets", emu.base_url());
    assert!(exchange(
        &url,
        &request_bytes(&url, "GET", &[("Authorization", &auth)], b"")
    )
    .is_empty());
    // With Expect: 100-continue the client is invited to send first.
    emu.fault(
        Route::Upload,
        Fault::CloseRequestAfter {
            bytes: 10,
            times: 1,
        },
    );
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
    let emu = start(|c| c.event_percent = 100);
    let (job, want) = complete_job(&emu, 100);
    emu.fault(
        Route::Download,
        Fault::CloseResponseAfter {
            bytes: 1000,
            times: 2,
        },
    );
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
    emu.fault(
        Route::Upload,
        Fault::CloseResponseAfter { bytes: 0, times: 1 },
    );
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
    check_xml(&put_ids(&users.upload_url, b"1\n"), 403, "AccessDenied");
}

#[test]
fn stall_keeps_the_socket_open_without_sending() {
    let emu = start(|c| c.event_percent = 100);
    let (job, want) = complete_job(&emu, 100);
    emu.fault(
        Route::Download,
        Fault::Stall {
            after_bytes: 500,
            times: 2,
        },
    );
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
    let emu = start(|c| c.event_percent = 100);
    let (job, want) = complete_job(&emu, 20);
    assert!(want.len() > 2000);
    let rate = 10_000;
    emu.fault(
        Route::Download,
        Fault::Slow {
            bytes_per_sec: rate,
            times: 1,
        },
    );
    let t = Instant::now();
    let r = send(&job.download_url, "GET", &[], b"");
    let took = t.elapsed();
    assert_eq!(r.body, want);
    let expected = Duration::from_secs_f64((want.len() as f64 - rate as f64 / 10.0) / rate as f64);
    assert!(took >= expected, "{took:?} < {expected:?}");

    let users = emu.create_job("users", None, false);
    let body = ids(1500); // 30_000 bytes
    emu.fault(
        Route::Upload,
        Fault::Slow {
            bytes_per_sec: 100_000,
            times: 1,
        },
    );
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
    let emu = start(|c| c.event_percent = 100);
    let (job, want) = complete_job(&emu, 30);
    emu.fault(
        Route::Download,
        Fault::Status {
            status: 500,
            times: 1,
        },
    );
    emu.fault(
        Route::Download,
        Fault::CloseResponseAfter {
            bytes: 10,
            times: 1,
        },
    );
    emu.fault(
        Route::Download,
        Fault::Status {
            status: 502,
            times: 0,
        },
    );
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
    emu.fault(
        Route::GetJob,
        Fault::Status {
            status: 503,
            times: 1,
        },
    );
    assert_eq!(api_get(&emu, &format!("{JOBS}?type=tweets")).status, 200);
    assert_eq!(send(&job.download_url, "GET", &[], b"").status, 200);
    assert_eq!(api_get(&emu, &format!("{JOBS}/{}", job.id)).status, 503);
}
