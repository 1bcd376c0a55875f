//! The `api` flavour (spec 2.168): token-signed upload and download routes
//! on the API origin.

use crate::common::*;
use compliance_emulator::{Emulator, Flavour, RateLimits};
use serde_json::json;

fn api_emulator(percent: u32) -> Emulator {
    emulator_with(|c| {
        c.flavour = Flavour::Api;
        c.event_percent = percent;
    })
}

#[test]
fn urls_point_at_the_api_with_a_token() {
    let emu = api_emulator(3);
    let r = api_post(&emu, "/2/compliance/jobs", r#"{"type":"tweets"}"#);
    assert_eq!(r.status, 200);
    let job = &r.json()["data"];
    check_job_schema(job);
    let id = job["id"].as_str().expect("id");
    let base = emu.base_url();
    assert!(job["upload_url"]
        .as_str()
        .expect("url")
        .starts_with(&format!("{base}/2/compliance/jobs/{id}/upload?token=")));
    assert!(job["download_url"]
        .as_str()
        .expect("url")
        .starts_with(&format!("{base}/2/compliance/jobs/{id}/download?token=")));
    // Resumable uploads do not exist here.
    let r = api_post(
        &emu,
        "/2/compliance/jobs",
        r#"{"type":"users","resumable":true}"#,
    );
    let v = check_problem(&r, 400, &problem_uri("invalid-request"));
    assert_eq!(v["errors"][0]["parameters"], json!({"resumable": ["true"]}));
    assert_eq!(
        api_post(
            &emu,
            "/2/compliance/jobs",
            r#"{"type":"users","resumable":false}"#
        )
        .status,
        200
    );
}

#[test]
fn upload_and_download_with_ureq() {
    let emu = api_emulator(40);
    let job = emu.create_job("tweets", None, false);
    let agent = agent();
    let body = ids(3000).into_bytes();
    // No bearer needed: the token authorises.
    let mut r = agent
        .put(&job.upload_url)
        .header("Content-Type", "application/octet-stream")
        .send(&body[..])
        .expect("upload");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers().get("x-rate-limit-limit").is_some());
    let v: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json");
    check_job_schema(&v["data"]);
    assert!(["in_progress", "complete"].contains(&v["data"]["status"].as_str().expect("status")));
    assert_eq!(emu.uploaded(&job.id), Some(body.clone()));
    await_status(&emu, &job.id, "complete");

    let mut r = agent
        .get(&job.download_url)
        .header("Authorization", &bearer(&emu))
        .call()
        .expect("download");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/octet-stream")
    );
    let got = r.body_mut().read_to_vec().expect("body");
    let want = emu.expected_results("tweets", &body);
    assert_eq!(got, want);
    // X's own download route is not Cloud Storage: no object hashes.
    assert!(r.headers().get("x-goog-hash").is_none());
    assert!(r.headers().get("etag").is_none());

    let r = send(&job.download_url, "GET", &[("Range", "bytes=7-")], b"");
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &want[7..]);
    assert!(r.header("x-goog-hash").is_none());
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 7-{}/{}", want.len() - 1, want.len()).as_str())
    );
    let r = send(
        &job.download_url,
        "GET",
        &[("Range", &format!("bytes={}-", want.len()))],
        b"",
    );
    check_problem(&r, 416, &problem_uri("range-not-satisfiable"));
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{}", want.len()).as_str())
    );
}

#[test]
fn upload_errors() {
    let emu = api_emulator(3);
    let job = emu.create_job("tweets", None, false);
    let url = &job.upload_url;
    let forbidden = |r: &Reply| check_problem(r, 403, &problem_uri("not-authorized-for-resource"));
    // A wrong bearer is refused even with a good token.
    let r = send(
        url,
        "PUT",
        &[
            ("Content-Type", "text/plain"),
            ("Authorization", "Bearer nope"),
        ],
        b"1\n",
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["type"], "about:blank");
    // Token missing, tampered, or for the other direction.
    let bare = url.split('?').next().expect("path");
    forbidden(&send(
        bare,
        "PUT",
        &[("Content-Type", "text/plain")],
        b"1\n",
    ));
    let (prefix, token) = url.split_once("token=").expect("token");
    let tampered = format!("{prefix}token={}", token.replacen('.', ".0", 1));
    forbidden(&send(
        &tampered,
        "PUT",
        &[("Content-Type", "text/plain")],
        b"1\n",
    ));
    let download_token = job.download_url.split_once("token=").expect("token").1;
    forbidden(&send(
        &format!("{prefix}token={download_token}"),
        "PUT",
        &[("Content-Type", "text/plain")],
        b"1\n",
    ));
    // Other job ids do not share tokens.
    let other = url.replace(&format!("/jobs/{}/", job.id), "/jobs/1/");
    forbidden(&send(
        &other,
        "PUT",
        &[("Content-Type", "text/plain")],
        b"1\n",
    ));
    // Media types.
    let r = send(url, "PUT", &[("Content-Type", "application/json")], b"1\n");
    check_problem(&r, 415, &problem_uri("unsupported-media-type"));
    // Too large by Content-Length, refused before reading.
    let r = send(
        url,
        "PUT",
        &[
            ("Content-Type", "text/plain"),
            ("Content-Length", "1073741825"),
        ],
        b"",
    );
    check_problem(&r, 413, &problem_uri("payload-too-large"));
    assert_eq!(r.header("connection"), Some("close"));
    // Malformed id.
    let bad = url.replace(&format!("/jobs/{}/", job.id), "/jobs/x1/");
    check_problem(
        &send(&bad, "PUT", &[("Content-Type", "text/plain")], b"1\n"),
        400,
        &problem_uri("invalid-request"),
    );
    // Wrong method.
    assert_eq!(
        send(url, "POST", &[("Content-Type", "text/plain")], b"1\n").status,
        405
    );
    assert_eq!(emu.job(&job.id).expect("job").status, "created");

    // Success with the right bearer, then a second upload conflicts.
    let auth = bearer(&emu);
    let r = send(
        url,
        "PUT",
        &[("Content-Type", "text/plain"), ("Authorization", &auth)],
        b"1\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(url, "PUT", &[("Content-Type", "text/plain")], b"2\n");
    check_problem(&r, 409, &problem_uri("conflict"));
    assert_eq!(emu.uploaded(&job.id).as_deref(), Some(&b"1\n"[..]));

    // Expired token.
    let late = emu.create_job("users", None, false);
    emu.shift_clock(900);
    let v = forbidden(&send(
        &late.upload_url,
        "PUT",
        &[("Content-Type", "text/plain")],
        b"1\n",
    ));
    assert!(v["detail"].as_str().expect("detail").contains("expired"));
}

#[test]
fn an_upload_that_ends_after_the_window_is_refused() {
    let emu = api_emulator(3);
    let job = emu.create_job("tweets", None, false);
    let reply = put_ending_after(&emu, &job.upload_url, &ids(100).into_bytes(), 900, || {});
    let v = check_problem(&reply, 403, &problem_uri("not-authorized-for-resource"));
    assert!(
        v["detail"].as_str().expect("detail").contains("expired"),
        "{v}"
    );
    assert_eq!(emu.job(&job.id).expect("job").status, "expired");
    assert!(emu.uploaded(&job.id).is_none());
}

#[test]
fn download_errors() {
    let emu = emulator_with(|c| {
        c.flavour = Flavour::Api;
        c.processing_delay = std::time::Duration::from_secs(60);
    });
    let job = emu.create_job("tweets", None, false);
    let nf = send(&job.download_url, "GET", &[], b"");
    let v = check_problem(&nf, 404, &problem_uri("resource-not-found"));
    assert_eq!(v["resource_id"], job.id.as_str());
    assert_eq!(v["resource_type"], "job");
    assert_eq!(
        send(
            &job.upload_url,
            "PUT",
            &[("Content-Type", "text/plain")],
            &ids(10).into_bytes()
        )
        .status,
        200
    );
    check_problem(
        &send(&job.download_url, "GET", &[], b""),
        404,
        &problem_uri("resource-not-found"),
    );
    emu.shift_clock(61);
    await_status(&emu, &job.id, "complete");
    let r = send(&job.download_url, "GET", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.header("x-rate-limit-remaining").is_some());
    let bare = job.download_url.split('?').next().expect("path");
    check_problem(
        &send(bare, "GET", &[], b""),
        403,
        &problem_uri("not-authorized-for-resource"),
    );
    emu.shift_clock(7 * 86_400);
    check_problem(
        &send(&job.download_url, "GET", &[], b""),
        403,
        &problem_uri("not-authorized-for-resource"),
    );
}

#[test]
fn upload_and_download_have_their_own_rate_limits() {
    let emu = emulator_with(|c| {
        c.flavour = Flavour::Api;
        c.rate_limits = RateLimits::uniform(1);
    });
    let job = emu.create_job("tweets", None, false);
    let r = send(&job.download_url, "GET", &[], b"");
    assert_eq!(
        (r.status, r.header("x-rate-limit-remaining")),
        (404, Some("0"))
    );
    assert_eq!(send(&job.download_url, "GET", &[], b"").status, 429);
    let r = send(
        &job.upload_url,
        "PUT",
        &[("Content-Type", "text/plain")],
        b"1\n",
    );
    assert_eq!(
        (r.status, r.header("x-rate-limit-remaining")),
        (200, Some("0"))
    );
}

#[test]
fn the_log_file_redacts_the_tokens_and_dates_by_the_emulator_clock() {
    let dir = TempDir::new();
    let path = dir.path("requests.jsonl");
    let emu = emulator_with(|c| {
        c.flavour = Flavour::Api;
        c.event_percent = 50;
        c.log = Some(path.clone());
    });
    let job = emu.create_job("tweets", None, false);
    let upload = send(
        &job.upload_url,
        "PUT",
        &[("Content-Type", "text/plain")],
        &ids(20).into_bytes(),
    );
    assert_eq!(upload.status, 200, "{}", upload.text());
    await_status(&emu, &job.id, "complete");
    let download = send(&job.download_url, "GET", &[], b"");
    assert_eq!(download.status, 200);
    assert!(!download.body.is_empty());
    // Fifty years on, by the emulator's clock.
    emu.shift_clock(50 * 365 * 86_400);
    assert_eq!(api_get(&emu, "/2/compliance/jobs?type=tweets").status, 200);
    drop(emu);

    let text = std::fs::read_to_string(&path).expect("log");
    for url in [&job.upload_url, &job.download_url] {
        let token = query_value(url, "token").expect("token");
        assert!(!text.contains(token), "{token} in {text}");
    }
    let lines = log_lines(&path);
    assert_eq!(lines.len(), 3, "{text}");
    let id = &job.id;
    assert_eq!(
        lines[0],
        json!({
            "time": lines[0]["time"],
            "origin": "api",
            "method": "PUT",
            "path": format!("/2/compliance/jobs/{id}/upload?token=REDACTED"),
            "status": 200,
            "bytes_received": ids(20).into_bytes().len(),
            "bytes_sent": upload.body.len(),
        })
    );
    assert_eq!(
        lines[1]["path"],
        format!("/2/compliance/jobs/{id}/download?token=REDACTED")
    );
    assert_eq!(
        (&lines[1]["bytes_received"], &lines[1]["bytes_sent"]),
        (&json!(0), &json!(download.body.len()))
    );
    let year = |v: &serde_json::Value| -> i64 {
        v["time"].as_str().expect("time")[..4]
            .parse()
            .expect("year")
    };
    assert!(year(&lines[2]) >= year(&lines[1]) + 49, "{text}");
}
