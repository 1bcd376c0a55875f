//! The API origin: routes, success shapes against the official schema,
//! every error body, auth, rate limits, the lifecycle, the request log,
//! and the read timeout of its connections.

use std::io::{Read, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::*;
use compliance_emulator::{AccessLevel, Emulator, Flavour, Origin, RateLimits, Route};
use serde_json::{json, Value};

const JOBS: &str = "/2/compliance/jobs";

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Seconds since the epoch of an API timestamp.
fn ts_secs(s: &str) -> i64 {
    let (y, mo, d) = (&s[0..4], &s[5..7], &s[8..10]);
    let (h, mi, se) = (&s[11..13], &s[14..16], &s[17..19]);
    let p = |x: &str| x.parse::<i64>().expect("digits");
    // Days from civil, as in the emulator but written independently.
    let (y, m) = if p(mo) <= 2 {
        (p(y) - 1, p(mo) + 9)
    } else {
        (p(y), p(mo) - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * m + 2) / 5 + p(d) - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    days * 86_400 + p(h) * 3600 + p(mi) * 60 + p(se)
}

#[test]
fn create_get_and_list_match_the_schema() {
    let emu = emulator();
    let r = api_post(&emu, JOBS, r#"{"type":"tweets","name":"my-job"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(r.header("x-rate-limit-limit"), Some("150"));
    assert_eq!(r.header("x-rate-limit-remaining"), Some("149"));
    let body = r.json();
    assert_eq!(
        body.as_object().expect("object").len(),
        1,
        "only data: {body}"
    );
    let job = &body["data"];
    check_job_schema(job);
    assert_eq!(job["type"], "tweets");
    assert_eq!(job["name"], "my-job");
    assert_eq!(job["status"], "created");
    assert_eq!(job["resumable"], false);
    assert_eq!(job["id"].as_str().map(str::len), Some(19));
    let created = job["created_at"].as_str().expect("created_at");
    assert!(created.ends_with(".000Z"));
    assert!((ts_secs(created) - now_secs()).abs() <= 2);
    assert_eq!(
        ts_secs(job["upload_expires_at"].as_str().expect("s")),
        ts_secs(created) + 900
    );
    assert_eq!(
        ts_secs(job["download_expires_at"].as_str().expect("s")),
        ts_secs(created) + 7 * 86_400
    );
    let id = job["id"].as_str().expect("id").to_string();
    let up = job["upload_url"].as_str().expect("upload_url");
    assert!(up.starts_with(&format!(
        "{}/twttr-tweet-compliance/{id}/submission/",
        emu.storage_url()
    )));
    assert!(up.contains(&format!(
        "_{id}?X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Credential="
    )));
    assert!(up.contains(
        "&X-Goog-Expires=900&X-Goog-SignedHeaders=content-type%3Bhost&X-Goog-Signature="
    ));
    let down = job["download_url"].as_str().expect("download_url");
    assert!(down.contains(&format!("/twttr-tweet-compliance/{id}/delivery/")));
    assert!(down.contains("&X-Goog-Expires=604800&X-Goog-SignedHeaders=host&X-Goog-Signature="));

    // GET returns the same object; so does the library snapshot.
    let got = api_get(&emu, &format!("{JOBS}/{id}"));
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), json!({"data": job}));
    assert_eq!(emu.job(&id).expect("snapshot").json, *job);

    // A job without name has no name field.
    let users = api_post(&emu, JOBS, r#"{"type":"users"}"#).json();
    check_job_schema(&users["data"]);
    assert!(users["data"].get("name").is_none());
    assert!(users["data"]["upload_url"]
        .as_str()
        .expect("url")
        .contains("/twttr-user-compliance/"));

    let list = api_get(&emu, &format!("{JOBS}?type=tweets"));
    assert_eq!(list.status, 200);
    let v = list.json();
    assert!(v["meta"]["result_count"].is_u64());
    assert_eq!(v["meta"]["result_count"], 1);
    let data = v["data"].as_array().expect("data array");
    assert_eq!(data.len(), 1);
    data.iter().for_each(check_job_schema);
    assert_eq!(data[0], *job);

    let none = api_get(&emu, &format!("{JOBS}?type=tweets&status=complete"));
    assert_eq!(none.status, 200);
    // The live API answers an empty list with `{}` (twarc learnt it in
    // September 2021, and fails on a `meta`-only body).
    assert_eq!(none.text(), "{}");
    assert_eq!(
        none.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        api_get(&emu, &format!("{JOBS}?type=users&status=failed")).text(),
        "{}"
    );
    let fields = api_get(
        &emu,
        &format!("{JOBS}?type=users&compliance_job.fields=id%2Cstatus,created_at"),
    );
    assert_eq!(fields.json()["meta"]["result_count"], 1);
}

#[test]
fn list_is_oldest_first_and_filters_by_status() {
    let emu = emulator();
    let first = emu.create_job("tweets", Some("one"), false);
    let cancelled = api_delete(&emu, &format!("{JOBS}/{}", first.id));
    assert_eq!(cancelled.status, 200);
    assert_eq!(cancelled.json()["data"]["status"], "failed");
    check_job_schema(&cancelled.json()["data"]);
    let second = emu.create_job("tweets", Some("two"), false);
    let v = api_get(&emu, &format!("{JOBS}?type=tweets")).json();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|j| j["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [first.id.as_str(), second.id.as_str()]);
    assert!(first.id < second.id);
    let failed = api_get(&emu, &format!("{JOBS}?type=tweets&status=failed")).json();
    assert_eq!(failed["meta"]["result_count"], 1);
    assert_eq!(failed["data"][0]["id"], first.id.as_str());
    let created = api_get(&emu, &format!("{JOBS}?type=tweets&status=created")).json();
    assert_eq!(created["data"][0]["id"], second.id.as_str());
}

#[test]
fn every_route_requires_the_bearer_token() {
    let emu = emulator();
    let job = emu.create_job("tweets", None, false);
    let unauthorized =
        json!({"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"});
    let base = emu.base_url();
    let routes = [
        ("POST", format!("{base}{JOBS}")),
        ("GET", format!("{base}{JOBS}?type=tweets")),
        ("GET", format!("{base}{JOBS}/{}", job.id)),
        ("DELETE", format!("{base}{JOBS}/{}", job.id)),
    ];
    for (method, url) in &routes {
        for auth in [None, Some("Bearer wrong"), Some("Basic abc")] {
            let mut headers = vec![("Content-Type", "application/json")];
            if let Some(a) = auth {
                headers.push(("Authorization", a));
            }
            let r = send(url, method, &headers, br#"{"type":"users"}"#);
            assert_eq!(r.status, 401, "{method} {url} {auth:?}");
            assert_eq!(r.header("content-type"), Some("application/problem+json"));
            assert_eq!(r.json(), unauthorized);
            assert_eq!(r.header("x-rate-limit-limit"), Some("150"));
            // Refused requests do not use up the quota.
            assert_eq!(r.header("x-rate-limit-remaining"), Some("150"));
        }
    }
    assert_eq!(emu.job(&job.id).expect("job").status, "created");
    assert_eq!(emu.jobs().len(), 1);
}

#[test]
fn list_query_errors_have_the_documented_shape() {
    let emu = emulator();
    let invalid = |r: &Reply| -> Value {
        let v = check_problem(r, 400, &problem_uri("invalid-request"));
        assert_eq!(v["title"], "Invalid Request");
        assert_eq!(
            v["detail"],
            "One or more parameters to your request was invalid."
        );
        v
    };
    // The exact body X returned to its own client (CC PR #1), plus status.
    let r = api_get(&emu, &format!("{JOBS}?job_type=tweets"));
    assert_eq!(
        invalid(&r),
        json!({
            "errors": [
                {"parameters": {"type": []}, "message": "The `type` query parameter can not be empty"},
                {"parameters": {"job_type": ["tweets"]},
                 "message": "The query parameter [job_type] is not one of [type,status,compliance_job.fields]"}
            ],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.x.com/2/problems/invalid-request",
            "status": 400
        })
    );
    let r = api_get(&emu, JOBS);
    assert_eq!(
        invalid(&r)["errors"],
        json!([{"parameters": {"type": []}, "message": "The `type` query parameter can not be empty"}])
    );
    let r = api_get(&emu, &format!("{JOBS}?type="));
    assert_eq!(
        invalid(&r)["errors"][0]["message"],
        "The `type` query parameter can not be empty"
    );
    let r = api_get(&emu, &format!("{JOBS}?type=spaces"));
    assert_eq!(
        invalid(&r)["errors"],
        json!([{"parameters": {"type": ["spaces"]},
                "message": "The `type` query parameter value [spaces] is not one of [tweets,users]"}])
    );
    let r = api_get(&emu, &format!("{JOBS}?type=tweets&status=expired"));
    assert_eq!(
        invalid(&r)["errors"],
        json!([{"parameters": {"status": ["expired"]},
                "message": "The `status` query parameter value [expired] is not one of [created,in_progress,failed,complete]"}])
    );
    let r = api_get(
        &emu,
        &format!("{JOBS}?type=tweets&compliance_job.fields=id,bogus"),
    );
    let v = invalid(&r);
    assert_eq!(
        v["errors"][0]["parameters"],
        json!({"compliance_job.fields": ["bogus"]})
    );
    let r = api_get(&emu, &format!("{JOBS}?type=tweets&type=users"));
    assert_eq!(
        invalid(&r)["errors"][0]["parameters"],
        json!({"type": ["tweets", "users"]})
    );
}

#[test]
fn malformed_and_unknown_ids() {
    let emu = emulator();
    for bad in ["abc", "12345678901234567890", "-1", "1.5"] {
        for method in ["GET", "DELETE"] {
            let auth = bearer(&emu);
            let r = send(
                &format!("{}{JOBS}/{bad}", emu.base_url()),
                method,
                &[("Authorization", &auth)],
                b"",
            );
            let v = check_problem(&r, 400, &problem_uri("invalid-request"));
            assert_eq!(
                v["errors"],
                json!([{"parameters": {"id": [bad]},
                        "message": format!("The `id` query parameter value [{bad}] does not match ^[0-9]{{1,19}}$")}])
            );
        }
    }
    let unknown = "1234567890123456789";
    let expected = json!({"errors": [{
        "value": unknown,
        "detail": format!("Could not find job with id: [{unknown}]."),
        "title": "Not Found Error",
        "resource_type": "job",
        "parameter": "id",
        "resource_id": unknown,
        "type": "https://api.x.com/2/problems/resource-not-found"
    }]});
    let r = api_get(&emu, &format!("{JOBS}/{unknown}"));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(r.json(), expected);
    let r = api_delete(&emu, &format!("{JOBS}/{unknown}"));
    assert_eq!((r.status, r.json()), (200, expected));
    let r = api_get(&emu, &format!("{JOBS}/{unknown}?expansions=x"));
    let v = check_problem(&r, 400, &problem_uri("invalid-request"));
    assert_eq!(
        v["errors"][0]["message"],
        "The query parameter [expansions] is not one of [id,compliance_job.fields]"
    );
}

#[test]
fn create_body_errors() {
    let emu = emulator();
    let cases: Vec<(&str, Value)> = vec![
        ("not json", json!({"parameters": {}})),
        (
            "[1]",
            json!({"parameters": {}, "message": "$: array found, object expected"}),
        ),
        (
            "{}",
            json!({"parameters": {"type": []}, "message": "$.type: is missing but it is required"}),
        ),
        (
            r#"{"type":"spaces"}"#,
            json!({"parameters": {"type": ["spaces"]},
                   "message": "$.type: does not have a value in the enumeration [tweets, users]"}),
        ),
        (
            r#"{"type":7}"#,
            json!({"parameters": {"type": ["7"]}, "message": "$.type: integer found, string expected"}),
        ),
        (
            r#"{"type":"tweets","resumable":"yes"}"#,
            json!({"parameters": {"resumable": ["yes"]},
                   "message": "$.resumable: string found, boolean expected"}),
        ),
        (
            r#"{"type":"tweets","job_name":"x"}"#,
            json!({"parameters": {"job_name": ["x"]},
                   "message": "$.job_name: is not defined in the schema and the schema does not allow additional properties"}),
        ),
    ];
    for (body, want) in cases {
        let r = api_post(&emu, JOBS, body);
        let v = check_problem(&r, 400, &problem_uri("invalid-request"));
        let errors = v["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{body}: {v}");
        assert_eq!(errors[0]["parameters"], want["parameters"], "{body}");
        if let Some(m) = want.get("message") {
            assert_eq!(errors[0]["message"], *m, "{body}");
        } else {
            assert!(errors[0]["message"]
                .as_str()
                .expect("message")
                .contains("not valid JSON"));
        }
    }
    let long = "x".repeat(65);
    let r = api_post(
        &emu,
        JOBS,
        &format!(r#"{{"type":"tweets","name":"{long}"}}"#),
    );
    let v = check_problem(&r, 400, &problem_uri("invalid-request"));
    assert_eq!(
        v["errors"],
        json!([{"parameters": {"name": [long]}, "message": "$.name: may only be 64 characters long"}])
    );
    // Not JSON by content type.
    let auth = bearer(&emu);
    let r = send(
        &format!("{}{JOBS}", emu.base_url()),
        "POST",
        &[("Authorization", &auth), ("Content-Type", "text/plain")],
        br#"{"type":"tweets"}"#,
    );
    let v = check_problem(&r, 400, &problem_uri("invalid-request"));
    assert_eq!(
        v["errors"][0]["message"],
        "Requests with bodies must have content-type of application/json."
    );
    let r = api_post(&emu, &format!("{JOBS}?type=tweets"), r#"{"type":"tweets"}"#);
    check_problem(&r, 400, &problem_uri("invalid-request"));
    assert!(emu.jobs().is_empty());
    // 64 characters (not bytes) is fine.
    let name = "é".repeat(64);
    let r = api_post(
        &emu,
        JOBS,
        &format!(r#"{{"type":"tweets","name":"{name}","resumable":true}}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    check_job_schema(&r.json()["data"]);
    assert_eq!(r.json()["data"]["resumable"], true);
}

#[test]
fn one_open_job_per_type_and_cancel_frees_the_slot() {
    let emu = emulator();
    let first = api_post(&emu, JOBS, r#"{"type":"tweets"}"#).json()["data"].clone();
    let id = first["id"].as_str().expect("id");
    let conflict = api_post(&emu, JOBS, r#"{"type":"tweets"}"#);
    assert_eq!(
        check_problem(&conflict, 409, &problem_uri("conflict")),
        json!({"title": "Conflict", "type": "https://api.x.com/2/problems/conflict", "status": 409,
               "detail": "You cannot create a new job if one is already in progress."})
    );
    assert!(emu.try_create_job("tweets", None, false).is_err());
    assert_eq!(api_post(&emu, JOBS, r#"{"type":"users"}"#).status, 200);

    let cancelled = api_delete(&emu, &format!("{JOBS}/{id}"));
    assert_eq!(cancelled.status, 200);
    assert!(cancelled.header("x-rate-limit-remaining").is_some());
    let data = &cancelled.json()["data"];
    check_job_schema(data);
    assert_eq!(data["status"], "failed");
    assert_eq!(emu.job(id).expect("job").status, "failed");
    // Uploading to a cancelled job is refused.
    let r = put_ids(first["upload_url"].as_str().expect("url"), b"1\n");
    check_xml(&r, 403, "AccessDenied");
    // Cancelling a finished job is a conflict.
    let again = api_delete(&emu, &format!("{JOBS}/{id}"));
    let v = check_problem(&again, 409, &problem_uri("conflict"));
    assert_eq!(
        v["detail"],
        format!("Job [{id}] has already finished (status: failed) and cannot be cancelled.")
    );
    assert_eq!(api_post(&emu, JOBS, r#"{"type":"tweets"}"#).status, 200);
}

#[test]
fn lifecycle_follows_the_clock() {
    let emu = emulator_with(|c| c.processing_delay = Duration::from_secs(60));
    let job = emu.create_job("tweets", None, false);
    let body = ids(100).into_bytes();
    let r = put_ids(&job.upload_url, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let snap = emu.job(&job.id).expect("job");
    assert_eq!(snap.status, "in_progress");
    let est = snap.json["estimated_completion"]
        .as_str()
        .expect("estimated_completion");
    assert!(is_timestamp(est));
    assert!((ts_secs(est) - now_secs() - 60).abs() <= 2, "{est}");
    let got = api_get(&emu, &format!("{JOBS}/{}", job.id)).json();
    check_job_schema(&got["data"]);
    assert_eq!(got["data"]["status"], "in_progress");
    // An in-progress job blocks its type.
    assert_eq!(api_post(&emu, JOBS, r#"{"type":"tweets"}"#).status, 409);
    emu.shift_clock(61);
    let done = await_status(&emu, &job.id, "complete");
    assert!(done.json.get("estimated_completion").is_none());
    check_job_schema(&done.json);
    let again = api_delete(&emu, &format!("{JOBS}/{}", job.id));
    assert_eq!(again.status, 409);

    // A job left without upload expires with its upload window.
    let users = emu.create_job("users", None, false);
    emu.shift_clock(899);
    assert_eq!(emu.job(&users.id).expect("job").status, "created");
    emu.shift_clock(1);
    assert_eq!(emu.job(&users.id).expect("job").status, "expired");
    let listed = api_get(&emu, &format!("{JOBS}?type=users")).json();
    assert_eq!(listed["data"][0]["status"], "expired");
    check_job_schema(&listed["data"][0]);
    let created = api_get(&emu, &format!("{JOBS}?type=users&status=created")).json();
    assert_eq!(created, json!({}));
    // An expired job does not block a new one.
    assert_eq!(api_post(&emu, JOBS, r#"{"type":"users"}"#).status, 200);
}

#[test]
fn rate_limits_count_per_endpoint_and_reset() {
    let emu = emulator_with(|c| {
        c.rate_limits = RateLimits::uniform(3);
        c.rate_window = Duration::from_secs(60);
    });
    let path = format!("{JOBS}?type=tweets");
    let mut reset = 0;
    for remaining in ["2", "1", "0"] {
        let r = api_get(&emu, &path);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-rate-limit-limit"), Some("3"));
        assert_eq!(r.header("x-rate-limit-remaining"), Some(remaining));
        reset = r
            .header("x-rate-limit-reset")
            .expect("reset")
            .parse::<i64>()
            .expect("secs");
        assert!((reset - now_secs() - 60).abs() <= 2, "{reset}");
    }
    let r = api_get(&emu, &path);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(
        r.json(),
        json!({"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429})
    );
    assert_eq!(r.header("x-rate-limit-remaining"), Some("0"));
    assert_eq!(
        r.header("x-rate-limit-reset"),
        Some(reset.to_string().as_str())
    );
    // Other endpoints have their own budget.
    let r = api_get(&emu, &format!("{JOBS}/1"));
    assert_eq!(
        (r.status, r.header("x-rate-limit-remaining")),
        (200, Some("2"))
    );
    // A new window once the reset time has passed on the emulator clock.
    emu.shift_clock(61);
    let r = api_get(&emu, &path);
    assert_eq!(
        (r.status, r.header("x-rate-limit-remaining")),
        (200, Some("2"))
    );
}

#[test]
fn the_basic_level_limits_each_endpoint_as_documented() {
    let emu = emulator_with(|c| c.rate_limits = RateLimits::of_level(AccessLevel::Basic));
    // 15 creates per window; those that find a job in progress count too.
    for n in 1..=15 {
        let r = api_post(&emu, JOBS, r#"{"type":"tweets"}"#);
        assert!(matches!(r.status, 200 | 409), "create {n}: {}", r.text());
        assert_eq!(r.header("x-rate-limit-limit"), Some("15"), "create {n}");
        assert_eq!(
            r.header("x-rate-limit-remaining"),
            Some((15 - n).to_string().as_str())
        );
    }
    let r = api_post(&emu, JOBS, r#"{"type":"users"}"#);
    check_problem(&r, 429, "about:blank");
    assert_eq!(
        (
            r.header("x-rate-limit-limit"),
            r.header("x-rate-limit-remaining")
        ),
        (Some("15"), Some("0"))
    );
    // 5 gets and 5 lists, each endpoint in its own window.
    let id = emu.jobs()[0].id.clone();
    for path in [format!("{JOBS}/{id}"), format!("{JOBS}?type=tweets")] {
        for n in 1..=5 {
            let r = api_get(&emu, &path);
            assert_eq!(r.status, 200, "{path} {n}: {}", r.text());
            assert_eq!(r.header("x-rate-limit-limit"), Some("5"), "{path}");
        }
        let r = api_get(&emu, &path);
        assert_eq!(
            (
                r.status,
                r.header("x-rate-limit-limit"),
                r.header("x-rate-limit-remaining")
            ),
            (429, Some("5"), Some("0")),
            "{path}"
        );
    }
}

#[test]
fn a_rate_limited_fault_reports_the_routes_own_limit() {
    let emu = emulator_with(|c| c.rate_limits = RateLimits::of_level(AccessLevel::Basic));
    let fault = fault::rate_limited(30);
    emu.fault(Route::GetJob, fault.clone());
    emu.fault(Route::CreateJob, fault);
    let r = api_get(&emu, &format!("{JOBS}/1"));
    assert_eq!((r.status, r.header("x-rate-limit-limit")), (429, Some("5")));
    let r = api_post(&emu, JOBS, r#"{"type":"tweets"}"#);
    assert_eq!(
        (r.status, r.header("x-rate-limit-limit")),
        (429, Some("15"))
    );
}

#[test]
fn a_silent_connection_is_cut_after_the_read_timeout() {
    let emu = emulator_with(|c| c.read_timeout = Duration::from_millis(200));
    let (addr, _) = split_url(&emu.base_url());
    let silent = connect(&addr);
    let mut mid_head = connect(&addr);
    mid_head
        .write_all(format!("GET {JOBS} HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
        .expect("part of a head");
    let mut mid_body = connect(&addr);
    let head = format!(
        "POST {JOBS} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{{\"type\"",
        bearer(&emu)
    );
    mid_body.write_all(head.as_bytes()).expect("part of a body");
    // Other clients are answered meanwhile.
    assert_eq!(api_get(&emu, &format!("{JOBS}?type=tweets")).status, 200);
    for (what, mut s) in [
        ("silent", silent),
        ("mid-head", mid_head),
        ("mid-body", mid_body),
    ] {
        // The client's own timeout (10 s) is far longer than the server's.
        let mut got = Vec::new();
        s.read_to_end(&mut got)
            .unwrap_or_else(|e| panic!("{what}: not closed by the emulator: {e}"));
        assert!(got.is_empty(), "{what}: {}", String::from_utf8_lossy(&got));
    }
    // The request cut mid-body got no answer.
    let log = emu.requests();
    let cut = log.iter().find(|r| r.method == "POST").expect("logged");
    assert_eq!((cut.status, cut.body_bytes), (0, 7));
    assert!(emu.jobs().is_empty());
}

#[test]
fn a_slow_client_that_keeps_sending_is_not_cut() {
    let timeout = Duration::from_millis(1000);
    let emu = emulator_with(|c| c.read_timeout = timeout);
    let url = format!("{}{JOBS}", emu.base_url());
    let auth = bearer(&emu);
    let request = request_bytes(
        &url,
        "POST",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        br#"{"type":"tweets"}"#,
    );
    let mut s = connect(&split_url(&url).0);
    s.set_nodelay(true).expect("nodelay");
    // Head and body in 15 pieces: each well within the timeout, the whole
    // well beyond it.
    let started = Instant::now();
    for piece in request.chunks(request.len().div_ceil(15)) {
        s.write_all(piece).expect("piece");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(started.elapsed() > timeout);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let r = parse_reply(&out);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn unknown_routes_and_methods() {
    let emu = emulator();
    let r = api_get(&emu, "/2/tweets");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]})
    );
    // The api-flavour routes do not exist in the gcs flavour.
    assert_eq!(
        api_get(&emu, &format!("{JOBS}/1/download?token=x")).status,
        404
    );
    let auth = bearer(&emu);
    for (method, path, allow) in [
        ("PUT", JOBS.to_string(), "GET, POST"),
        ("POST", format!("{JOBS}/1"), "GET, DELETE"),
    ] {
        let r = send(
            &format!("{}{path}", emu.base_url()),
            method,
            &[("Authorization", &auth)],
            b"",
        );
        let v = check_problem(&r, 405, "about:blank");
        assert_eq!(v["title"], "Method Not Allowed");
        assert_eq!(r.header("allow"), Some(allow));
    }
}

#[test]
fn create_job_shortcut_applies_the_rules() {
    let emu = emulator();
    let job = emu.create_job("users", Some("n"), true);
    assert_eq!(
        (job.job_type.as_str(), job.name.as_deref(), job.resumable),
        ("users", Some("n"), true)
    );
    assert_eq!(job.status, "created");
    check_job_schema(&job.json);
    assert!(job
        .upload_url
        .contains("X-Goog-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-goog-resumable"));
    assert!(emu.try_create_job("users", None, false).is_err());
    assert!(emu.try_create_job("spaces", None, false).is_err());
    assert!(emu
        .try_create_job("tweets", Some(&"x".repeat(65)), false)
        .is_err());
    let api = emulator_with(|c| c.flavour = Flavour::Api);
    assert!(api.try_create_job("tweets", None, true).is_err());
}

#[test]
fn the_request_log_records_both_origins() {
    let emu = emulator();
    let job = api_post(&emu, JOBS, r#"{"type":"tweets"}"#).json()["data"].clone();
    let upload = job["upload_url"].as_str().expect("url");
    assert_eq!(put_ids(upload, b"1\n2\n").status, 200);
    let log = emu.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].origin, Origin::Api);
    assert_eq!(
        (log[0].method.as_str(), log[0].target.as_str()),
        ("POST", JOBS)
    );
    assert_eq!(log[0].status, 200);
    assert_eq!(log[0].body_bytes, 17);
    assert_eq!(log[0].header("Authorization"), Some(bearer(&emu).as_str()));
    assert!(log[0]
        .headers
        .iter()
        .all(|(k, _)| *k == k.to_ascii_lowercase()));
    assert_eq!(log[1].origin, Origin::Storage);
    assert_eq!(log[1].method, "PUT");
    assert_eq!(upload, format!("{}{}", emu.storage_url(), log[1].target));
    assert_eq!((log[1].status, log[1].body_bytes), (200, 4));
    assert!(log[1].header("authorization").is_none());
}

#[test]
fn ureq_end_to_end() {
    let emu = emulator_with(|c| c.event_percent = 50);
    let agent = agent();
    let auth = bearer(&emu);
    let mut r = agent
        .post(&format!("{}{JOBS}", emu.base_url()))
        .header("Authorization", &auth)
        .header("Content-Type", "application/json")
        .send(r#"{"type":"tweets","name":"ureq"}"#)
        .expect("create");
    assert_eq!(r.status().as_u16(), 200);
    let job: Value =
        serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json");
    let job = &job["data"];
    let body = ids(5000).into_bytes();
    let r = agent
        .put(job["upload_url"].as_str().expect("url"))
        .header("Content-Type", "text/plain")
        .send(&body[..])
        .expect("upload");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers().get("etag").is_some());
    let id = job["id"].as_str().expect("id");
    // Poll over the (pooled, kept-alive) connection.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut r = agent
            .get(&format!("{}{JOBS}/{id}", emu.base_url()))
            .header("Authorization", &auth)
            .call()
            .expect("get");
        let v: Value =
            serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json");
        if v["data"]["status"] == "complete" {
            break;
        }
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut r = agent
        .get(job["download_url"].as_str().expect("url"))
        .call()
        .expect("download");
    assert_eq!(r.status().as_u16(), 200);
    let got = r
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .expect("body");
    let want = emu.expected_results("tweets", &body);
    assert!(!want.is_empty());
    assert_eq!(got, want);
    assert_eq!(emu.uploaded(id), Some(body));
}

#[test]
fn ids_are_unique_snowflakes() {
    let emu = emulator();
    let mut last = 0u64;
    for i in 0..20 {
        let kind = if i % 2 == 0 { "tweets" } else { "users" };
        let job = emu.create_job(kind, None, false);
        assert_eq!(job.id.len(), 19);
        let n: u64 = job.id.parse().expect("digits");
        assert!(n > last);
        last = n;
        api_delete(&emu, &format!("{JOBS}/{}", job.id));
    }
}

#[test]
fn the_handle_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Emulator>();
    let emu = std::sync::Arc::new(emulator());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let emu = std::sync::Arc::clone(&emu);
            std::thread::spawn(move || api_get(&emu, &format!("{JOBS}?type=tweets")).status)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread"), 200);
    }
    assert_eq!(emu.requests().len(), 4);
}
