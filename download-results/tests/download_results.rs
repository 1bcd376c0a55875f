//! download-results, run as a built binary against the emulator.

use compliance_testkit::fault::{self, Times as _};
use compliance_testkit::hostile::{Answer, Hostile, Then};
use compliance_testkit::{
    assert_no_auth_to_storage, assert_no_requests, assert_refused_before_any_request,
    await_condition, emulator, emulator_with, finished_job, ids, ids_from, read_in_background,
    upload, Config, Emulator, Flavour, Output, Route, Stage, TempDir,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_download-results");

/// How many IDs the jobs here hold: enough that some have events at the
/// emulator's default rate.
const IDS: u64 = 2000;

/// An emulator set up by `tweak`, with one complete tweets job, named
/// `name`, of [`IDS`] IDs: the emulator, the job's id, and the results the
/// job gives.
fn complete_job(
    tweak: impl FnOnce(&mut Config),
    name: Option<&str>,
) -> (Emulator, String, Vec<u8>) {
    let em = emulator_with(tweak);
    let ids = ids(IDS);
    let job = finished_job(&em, "tweets", name, &ids);
    let expected = em.expected_results("tweets", ids.as_bytes());
    (em, job.id, expected)
}

/// Every ID gets an event: a results file of a few hundred KB.
fn all_events(config: &mut Config) {
    config.event_percent = 100;
}

/// A new folder, and the path of r.jsonl in it (not yet made).
fn results_folder() -> (TempDir, PathBuf) {
    let dir = TempDir::new();
    let path = dir.path("r.jsonl");
    (dir, path)
}

/// Runs download-results against `em` for job `id` to `to`, with `more`.
fn download(em: &Emulator, id: &str, to: &Path, more: &[&str]) -> Output {
    let mut args = vec!["--id", id, "--results-file", to.to_str().unwrap()];
    args.extend_from_slice(more);
    Stage::new(BIN, em).run(&args)
}

#[test]
fn downloads_checked_results_by_id() {
    let (em, id, expected) = complete_job(|_| {}, None);
    let dir = TempDir::new();
    let path = dir.path("results.jsonl");
    let out = download(&em, &id, &path, &[]);
    out.assert_code(0).assert_stderr("compliance events (");
    assert!(!expected.is_empty(), "pick IDs that have events");
    assert_eq!(std::fs::read(&path).unwrap(), expected);
    assert_eq!(dir.names(), ["results.jsonl"], "no temporary file left");
    assert_eq!(out.json()["file"], path.to_str().unwrap());
    assert_no_auth_to_storage(&em);
}

#[test]
fn writes_to_stdout_with_a_dash() {
    let (em, id, expected) = complete_job(|_| {}, Some("n"));
    let out = Stage::new(BIN, &em).run(&["--name", "n", "--results-file", "-"]);
    out.assert_code(0);
    assert_eq!(out.stdout.as_bytes(), expected);
    let job = em.job(&id).unwrap();
    let out = Stage::new(BIN, &em).run(&["--url", &job.download_url, "--results-file", "-"]);
    out.assert_code(0);
    assert_eq!(out.stdout.as_bytes(), expected);
}

#[test]
fn no_events_is_an_empty_file_and_a_success() {
    let (em, id, _) = complete_job(|c| c.event_percent = 0, None);
    let (_dir, path) = results_folder();
    let out = download(&em, &id, &path, &[]);
    out.assert_code(0)
        .assert_stderr("every uploaded ID is compliant");
    assert_eq!(std::fs::read(&path).unwrap(), b"");
}

#[test]
fn waits_for_the_job_with_wait() {
    let em = emulator_with(|c| c.processing_delay = Duration::from_millis(500));
    let job = em.create_job("users", None, false);
    assert_eq!(upload(&em, &job.id, ids(IDS).as_bytes()), 200);
    let (_dir, path) = results_folder();
    let args = [
        "--id",
        job.id.as_str(),
        "--results-file",
        path.to_str().unwrap(),
    ];
    if em.job(&job.id).unwrap().status != "complete" {
        Stage::new(BIN, &em)
            .run(&args)
            .assert_code(1)
            .assert_stderr("not complete yet");
        assert!(!path.exists());
    }
    let mut waiting = args.to_vec();
    waiting.extend(["--wait", "--interval", "0.1"]);
    Stage::new(BIN, &em).run(&waiting).assert_code(0);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        em.expected_results("users", ids(IDS).as_bytes())
    );
}

#[test]
fn a_broken_download_resumes_byte_exact() {
    let (em, id, expected) = complete_job(|c| c.event_percent = 50, None);
    let (dir, path) = results_folder();
    em.fault(Route::Download, fault::close_response(1000).times(2));
    em.fault(Route::Download, fault::status(503));
    let out = download(&em, &id, &path, &[]);
    out.assert_code(0);
    assert_eq!(out.stderr.matches("retry ").count(), 3, "{}", out.stderr);
    assert_eq!(std::fs::read(&path).unwrap(), expected);
    // The second and later attempts asked only for the missing bytes.
    let ranges: Vec<_> = em
        .requests()
        .iter()
        .filter_map(|r| r.header("range").map(str::to_string))
        .collect();
    assert_eq!(
        ranges.first().map(String::as_str),
        Some("bytes=1000-"),
        "{ranges:?}"
    );
    assert_eq!(dir.names(), ["r.jsonl"]);
}

#[test]
fn a_failed_download_leaves_no_file() {
    let (em, id, _) = complete_job(|c| c.event_percent = 50, None);
    let (dir, path) = results_folder();
    std::fs::write(
        dir.path(".r.jsonl.part"),
        "stale part of an interrupted run",
    )
    .unwrap();
    let faults = [
        fault::close_response(1000),
        fault::status(503),
        fault::status(500),
    ];
    for fault in faults {
        em.fault(Route::Download, fault);
        let out = download(&em, &id, &path, &["--retries", "0"]);
        out.assert_code(1);
        assert!(!path.exists(), "a results file after {}", out.stderr);
        assert!(dir.names().is_empty(), "left behind: {:?}", dir.names());
    }
}

#[test]
fn an_error_page_is_never_written_as_results() {
    let (em, id, _) = complete_job(|_| {}, None);
    let job = em.job(&id).unwrap();
    let (dir, path) = results_folder();
    let tampered = job
        .download_url
        .replace("X-Goog-Expires=604800", "X-Goog-Expires=604801");
    let out =
        Stage::new(BIN, &em).run(&["--url", &tampered, "--results-file", path.to_str().unwrap()]);
    out.assert_code(1).assert_stderr("SignatureDoesNotMatch");
    assert!(dir.names().is_empty());
}

#[test]
fn job_state_is_checked_first() {
    let em = emulator();
    let (dir, path) = results_folder();
    let created = em.create_job("tweets", None, false);
    Stage::new(BIN, &em)
        .run(&[
            "--id",
            &created.id,
            "--results-file",
            path.to_str().unwrap(),
        ])
        .assert_code(1)
        .assert_stderr("has no IDs yet");
    em.shift_clock(16 * 60);
    Stage::new(BIN, &em)
        .run(&[
            "--id",
            &created.id,
            "--results-file",
            path.to_str().unwrap(),
            "--wait",
            "--interval",
            "0",
        ])
        .assert_code(1)
        .assert_stderr("expired");
    Stage::new(BIN, &em)
        .run(&["--id", "42", "--results-file", path.to_str().unwrap()])
        .assert_code(1)
        .assert_stderr("not found");
    assert!(dir.names().is_empty());
}

#[test]
fn expired_results_say_so() {
    let (em, id, _) = complete_job(|_| {}, None);
    em.shift_clock(8 * 24 * 3600);
    let (dir, path) = results_folder();
    download(&em, &id, &path, &[])
        .assert_code(1)
        .assert_stderr("expired");
    assert!(dir.names().is_empty());
}

#[test]
fn api_host_flavour() {
    let (em, id, expected) = complete_job(|c| c.flavour = Flavour::Api, None);
    let out = Stage::new(BIN, &em).run(&["--id", &id, "--results-file", "-"]);
    out.assert_code(0);
    assert_eq!(out.stdout.as_bytes(), expected);
}

#[test]
fn bad_flags_exit_2_before_any_request() {
    let em = emulator();
    let cases: &[(&[&str], &str)] = &[
        (&["--id", "1"], "Usage:"),
        (&["--id", "x1", "--results-file", "r"], "--id must be"),
        (
            &["--id", "1", "--results-file", "/no/such/folder/r.jsonl"],
            "does not exist",
        ),
        (
            &["--id", "1", "--results-file", ""],
            "--results-file must name a file",
        ),
        (
            &["--id", "1", "--results-file", "r", "--interval", "x"],
            "--interval",
        ),
        (
            &["--url", "u", "--id", "1", "--results-file", "r"],
            "Usage:",
        ),
        (
            &[
                "--url",
                "http://127.0.0.1:9/r",
                "--results-file",
                "r",
                "--wait",
            ],
            "--wait needs the job itself",
        ),
    ];
    Stage::new(BIN, &em)
        .env_remove("BEARER_TOKEN")
        .run(&["--id", "1", "--results-file", "-"])
        .assert_code(2);
    assert_refused_before_any_request(BIN, &em, cases);
}

#[test]
fn token_missing_or_wrong() {
    let (em, id, _) = complete_job(|_| {}, None);
    let (dir, path) = results_folder();
    let before = em.requests().len();
    Stage::new(BIN, &em)
        .env_remove("BEARER_TOKEN")
        .run(&["--id", &id, "--results-file", path.to_str().unwrap()])
        .assert_code(2)
        .assert_stderr("BEARER_TOKEN is not set");
    assert_eq!(em.requests().len(), before, "no request without a token");
    Stage::new(BIN, &em)
        .env("BEARER_TOKEN", "wrong")
        .run(&["--id", &id, "--results-file", path.to_str().unwrap()])
        .assert_code(1)
        .assert_stderr("check BEARER_TOKEN");
    assert!(dir.names().is_empty());
}

#[test]
fn two_runs_to_one_results_file_each_rename_their_own_whole_file() {
    let (em, id, expected) = complete_job(all_events, None);
    let (dir, path) = results_folder();
    let target = path.to_str().unwrap();
    // The first run is the quicker one, so it ends while the second writes.
    for bytes_per_sec in [expected.len() as u64, expected.len() as u64 / 2] {
        em.fault(Route::Download, fault::slow(bytes_per_sec));
    }
    let temporary = |dir: &TempDir| dir.names().iter().filter(|n| n.ends_with(".part")).count();
    let first = Stage::new(BIN, &em).spawn(&["--id", &id, "--results-file", target]);
    await_condition("the first run writes", Duration::from_secs(10), || {
        temporary(&dir) == 1
    });
    let second = Stage::new(BIN, &em).spawn(&["--id", &id, "--results-file", target]);
    await_condition("the second run writes", Duration::from_secs(10), || {
        temporary(&dir) == 2
    });
    first.wait().assert_code(0);
    assert!(
        std::fs::read(&path).unwrap() == expected,
        "the first run's file"
    );
    second.wait().assert_code(0);
    assert!(
        std::fs::read(&path).unwrap() == expected,
        "the second run's file"
    );
    assert_eq!(dir.names(), ["r.jsonl"]);
}

#[cfg(unix)]
#[test]
fn devices_and_fifos_are_written_straight_and_links_followed() {
    use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
    let (em, id, expected) = complete_job(|_| {}, None);

    // A character device is written to, not replaced. A node of our own for
    // the null device (where we may make one), so that a broken build cannot
    // replace the machine's /dev/null.
    let dir = TempDir::new();
    let node = dir.path("null");
    let made = std::process::Command::new("mknod")
        .args([node.to_str().unwrap(), "c", "1", "3"])
        .stderr(std::process::Stdio::null())
        .status();
    let device = match made {
        Ok(status) if status.success() => node.to_str().unwrap().to_string(),
        _ => "/dev/null".to_string(),
    };
    Stage::new(BIN, &em)
        .run(&["--id", &id, "--results-file", &device])
        .assert_code(0)
        .assert_stderr(&format!("writing straight to {device}"));
    assert!(std::fs::metadata(&device)
        .unwrap()
        .file_type()
        .is_char_device());
    let _ = std::fs::remove_file(&node);

    // A FIFO gets the results as they come, and stays a FIFO.
    let fifo = dir.fifo("fifo");
    let reader = read_in_background(&fifo);
    download(&em, &id, &fifo, &[]).assert_code(0);
    assert!(reader.join().unwrap() == expected);
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    // CSV too, with its JSON summary naming the FIFO.
    let reader = read_in_background(&fifo);
    let out = download(&em, &id, &fifo, &["--format", "csv"]);
    out.assert_code(0);
    let (csv, summary) = expected_csv(&expected);
    assert_eq!(reader.join().unwrap(), csv.as_bytes());
    let json = out.json();
    assert_eq!(json["file"], fifo.to_str().unwrap());
    assert_eq!(json["bytes"], csv.len() as u64);
    assert_eq!(json["events"], summary["events"]);

    // A link is followed: the file it points to is replaced, the link stays,
    // and a 0600 file stays 0600.
    let elsewhere = TempDir::new();
    let real = elsewhere.path("real.jsonl");
    std::fs::write(&real, "old\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path("link.jsonl");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    download(&em, &id, &link, &[]).assert_code(0);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read(&real).unwrap() == expected);
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(elsewhere.names(), ["real.jsonl"], "no temporary file left");

    // A folder, with or without a trailing slash, is refused before any request.
    let before = em.requests().len();
    let folder = dir.path("");
    let folder = folder.to_str().unwrap();
    for value in [folder.to_string(), folder.trim_end_matches('/').to_string()] {
        Stage::new(BIN, &em)
            .run(&["--id", &id, "--results-file", &value])
            .assert_code(2)
            .assert_stderr("folder");
    }
    assert_eq!(em.requests().len(), before, "nothing asked of the API");
}

#[test]
fn an_expired_download_url_says_the_results_expired() {
    let (em, id, _) = complete_job(|_| {}, None);
    let url = em.job(&id).unwrap().download_url;
    em.shift_clock(8 * 24 * 3600);
    let (dir, path) = results_folder();
    let out = Stage::new(BIN, &em).run(&["--url", &url, "--results-file", path.to_str().unwrap()]);
    out.assert_code(1)
        .assert_stderr("ExpiredToken")
        .assert_stderr("the results have expired")
        .assert_stderr("a new job is needed to check these IDs again")
        .assert_stderr_lacks("for an upload");
    assert!(dir.names().is_empty());
}

#[test]
fn a_url_that_is_not_one_is_a_usage_error() {
    let cases: &[(&[&str], &str)] = &[
        (&["--url", "not a url", "--results-file", "-"], "--url"),
        (
            &["--url", "ftp://example.com/r", "--results-file", "-"],
            "--url",
        ),
        (
            &["--url", "http://example.com/r", "--results-file", "-"],
            "--url",
        ),
        (&["--url", "/relative", "--results-file", "-"], "--url"),
    ];
    assert_refused_before_any_request(BIN, &emulator(), cases);
}

#[test]
fn retry_time_bounds_a_download_that_keeps_breaking_a_little_further() {
    let (em, id, _) = complete_job(all_events, None);
    em.fault(Route::Download, fault::close_response(200).times(10_000));
    let (dir, path) = results_folder();
    let started = std::time::Instant::now();
    let out = download(&em, &id, &path, &["--retries", "2", "--retry-time", "3"]);
    out.assert_code(1).assert_stderr("of retrying");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "{took:?} with --retry-time 3"
    );
    assert!(
        out.stderr.matches("retry ").count() > 2,
        "progress resets the count"
    );
    assert!(dir.names().is_empty());
}

#[test]
fn timeout_bounds_the_wait_for_a_rate_limit_too() {
    let em = emulator_with(|c| {
        c.processing_delay = Duration::from_secs(600);
        c.rate_limits = compliance_testkit::RateLimits::uniform(1_000_000);
    });
    let job = em.create_job("tweets", None, false);
    assert_eq!(upload(&em, &job.id, ids(IDS).as_bytes()), 200);
    em.fault(Route::GetJob, fault::pass());
    em.fault(Route::GetJob, fault::rate_limited(900));
    let started = std::time::Instant::now();
    Stage::new(BIN, &em)
        .run(&[
            "--id",
            &job.id,
            "--results-file",
            "-",
            "--wait",
            "--timeout",
            "3",
        ])
        .assert_code(1)
        .assert_stderr("the rate limit resets at");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_206_for_part_of_the_body_goes_on_from_where_it_ends() {
    let (em, id, expected) = complete_job(all_events, None);
    let half = expected.len() as u64 / 2;
    // The first answer, to a request without Range, is a 206 for the first
    // half; then two more come short.
    em.fault(Route::Download, fault::partial(half));
    em.fault(Route::Download, fault::partial(1000).times(2));
    let (_dir, path) = results_folder();
    download(&em, &id, &path, &[]).assert_code(0);
    assert!(std::fs::read(&path).unwrap() == expected, "whole and exact");
    let ranges: Vec<_> = em
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.target.contains("/delivery/"))
        .map(|r| r.header("range").map(str::to_string))
        .collect();
    assert_eq!(
        ranges,
        [
            None,
            Some(format!("bytes={half}-")),
            Some(format!("bytes={}-", half + 1000)),
            Some(format!("bytes={}-", half + 2000)),
        ]
    );
}

/// The offset of a digit of an ID in `results`: flipping its lowest bit
/// keeps the line valid JSON, so only the hashes can tell.
fn a_digit_in(results: &[u8], after: usize) -> u64 {
    let at = after
        + results[after..]
            .windows(7)
            .position(|w| w == b"\"id\":\"1")
            .expect("an id")
        + 8;
    assert!(results[at].is_ascii_digit());
    at as u64
}

#[test]
fn a_body_corrupted_in_transit_leaves_no_results_file() {
    let (em, id, expected) = complete_job(all_events, None);
    let (dir, path) = results_folder();
    let at = a_digit_in(&expected, 5000);
    em.fault(Route::Download, fault::corrupt(at));
    let out = download(&em, &id, &path, &[]);
    out.assert_code(1)
        .assert_stderr("corrupted in transit")
        .assert_stderr("no results file was written");
    assert!(dir.names().is_empty(), "{:?}", dir.names());

    // Across a resume: the first answer breaks, the second is corrupt.
    em.fault(Route::Download, fault::close_response(1000));
    let at = a_digit_in(&expected, 3000) - 1000;
    em.fault(Route::Download, fault::corrupt(at));
    download(&em, &id, &path, &[])
        .assert_code(1)
        .assert_stderr("corrupted in transit");
    assert!(dir.names().is_empty());

    // And clean, the same resume passes the check.
    em.fault(Route::Download, fault::close_response(1000));
    download(&em, &id, &path, &[]).assert_code(0);
    assert!(std::fs::read(&path).unwrap() == expected);
}

#[test]
fn a_body_that_trickles_is_a_stall() {
    let (em, id, _) = complete_job(all_events, None);
    // The head comes at once, the body at 100 bytes a second.
    em.fault(Route::Download, fault::slow(100));
    let (dir, path) = results_folder();
    let out = Stage::new(BIN, &em)
        .spawn(&[
            "--id",
            &id,
            "--results-file",
            path.to_str().unwrap(),
            "--stall",
            "1",
            "--retries",
            "0",
        ])
        .wait_within(Duration::from_secs(20));
    out.assert_code(1).assert_stderr("stalled");
    assert!(dir.names().is_empty());
}

#[test]
fn a_head_that_trickles_meets_its_deadline() {
    let (em, id, _) = complete_job(|_| {}, None);
    em.fault(Route::GetJob, fault::trickle(1));
    let out = Stage::new(BIN, &em)
        .spawn(&[
            "--id",
            &id,
            "--results-file",
            "-",
            "--stall",
            "1",
            "--retries",
            "0",
        ])
        .wait_within(Duration::from_secs(20));
    out.assert_code(1);
}

#[test]
fn a_line_of_white_space_is_corrupt() {
    let (em, id, _) = complete_job(|_| {}, None);
    em.fault(
        Route::Download,
        fault::body(
            200,
            "text/plain",
            b"{\"id\":\"1\",\"action\":\"delete\",\"reason\":\"deleted\"}\n   \n",
        ),
    );
    let (dir, path) = results_folder();
    download(&em, &id, &path, &[])
        .assert_code(1)
        .assert_stderr("results line 2 is not a JSON object");
    assert!(dir.names().is_empty());
}

#[test]
fn a_plain_http_url_from_the_api_is_its_failure_not_a_usage_error() {
    let (em, id, _) = complete_job(|_| {}, None);
    let mut job = em.job(&id).unwrap().json;
    job["download_url"] = "http://storage.example.com/b/o?X-Goog-Signature=abc".into();
    em.fault(
        Route::GetJob,
        fault::body(
            200,
            "application/json",
            serde_json::to_vec(&serde_json::json!({ "data": job })).unwrap(),
        ),
    );
    let out = Stage::new(BIN, &em).run(&["--id", &id, "--results-file", "-"]);
    out.assert_code(1).assert_stderr("plain http://");
    assert!(
        !out.stderr.contains("abc"),
        "signature redacted: {}",
        out.stderr
    );
}

/// A CSV field as RFC 4180 quotes it, for the expected files below.
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// What the summary of `jsonl` says, and its CSV, each worked out here
/// from the lines parsed with serde_json.
fn expected_csv(jsonl: &[u8]) -> (String, serde_json::Value) {
    let mut csv = String::from("id,action,reason,created_at,redacted_at\n");
    let (mut lines, mut events, mut others) = (0u64, 0u64, 0u64);
    let mut reasons = serde_json::Map::new();
    for line in jsonl.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        lines += 1;
        let record: serde_json::Value = serde_json::from_slice(line).unwrap();
        let text = |key: &str| record.get(key).and_then(|v| v.as_str());
        let (Some(id), Some(action), Some(reason)) = (text("id"), text("action"), text("reason"))
        else {
            others += 1;
            continue;
        };
        events += 1;
        let n = reasons.entry(reason).or_insert(0.into());
        *n = (n.as_u64().unwrap() + 1).into();
        let row: Vec<String> = [
            Some(id),
            Some(action),
            Some(reason),
            text("created_at"),
            text("redacted_at"),
        ]
        .iter()
        .map(|v| csv_field(v.unwrap_or("")))
        .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let summary = serde_json::json!({
        "lines": lines,
        "events": events,
        "reasons": reasons,
        "other_records": others,
    });
    (csv, summary)
}

/// Asserts the JSON summary on stdout: its keys in order, and its values.
#[track_caller]
fn assert_summary(out: &Output, file: &std::path::Path, format: &str, want: &serde_json::Value) {
    let json = out.json();
    let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "file",
            "format",
            "bytes",
            "lines",
            "events",
            "reasons",
            "other_records"
        ]
    );
    assert_eq!(json["file"], file.to_str().unwrap());
    assert_eq!(json["format"], format);
    let size = std::fs::metadata(file).unwrap().len();
    assert_eq!(json["bytes"], size, "bytes: the file's size");
    for key in ["lines", "events", "reasons", "other_records"] {
        assert_eq!(json[key], want[key], "{key}");
    }
}

#[test]
fn csv_to_a_file_has_a_row_per_event() {
    let (em, id, expected) = complete_job(|_| {}, None);
    let jsonl = expected;
    let (want, summary) = expected_csv(&jsonl);
    assert!(want.contains(",\n"), "an event without redacted_at");
    assert!(summary["events"].as_u64().unwrap() > 10);
    let dir = TempDir::new();
    let path = dir.path("r.csv");
    let out = download(&em, &id, &path, &["--format", "csv"]);
    out.assert_code(0).assert_stderr(&format!(
        "{}: {} compliance events (",
        path.display(),
        summary["events"]
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
    assert_summary(&out, &path, "csv", &summary);
    assert_eq!(dir.names(), ["r.csv"], "no temporary file left");
}

/// Hand-made results: quotes, commas and a line break in fields, CRLF, a
/// missing and a null redacted_at, and a record that is not an event.
const ODD_LINES: &str = concat!(
    r#"{"id":"1","action":"delete","created_at":"2019-10-29T17:02:47.000Z","redacted_at":"2020-07-29T17:02:47.000Z","reason":"deleted"}"#,
    "\r\n",
    r#"{"id":"2","action":"delete","created_at":"2013-03-26T02:46:15+00:00","reason":"protected"}"#,
    "\n",
    r#"{"notice":{"title":"Something, somewhere"}}"#,
    "\n\n",
    r#"{"id":"3","action":"delete","created_at":"2021-10-04T19:11:41.540Z","redacted_at":null,"reason":"new, \"odd\" reason"}"#,
    "\n",
    r#"{"reason":"two\nlines","id":"4","action":"delete","created_at":"2021-10-04T19:11:41Z"}"#,
);

#[test]
fn csv_quotes_odd_fields_and_leaves_out_other_records() {
    let (em, id, _) = complete_job(|_| {}, None);
    em.fault(
        Route::Download,
        fault::body(200, "application/octet-stream", ODD_LINES.as_bytes()),
    );
    let dir = TempDir::new();
    let path = dir.path("odd.csv");
    let out = download(&em, &id, &path, &["--format", "csv"]);
    out.assert_code(0)
        .assert_stderr("1 other record(s) left out, not events");
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        written,
        "id,action,reason,created_at,redacted_at\n\
         1,delete,deleted,2019-10-29T17:02:47.000Z,2020-07-29T17:02:47.000Z\n\
         2,delete,protected,2013-03-26T02:46:15+00:00,\n\
         3,delete,\"new, \"\"odd\"\" reason\",2021-10-04T19:11:41.540Z,\n\
         4,delete,\"two\nlines\",2021-10-04T19:11:41Z,\n"
    );
    let (independent, summary) = expected_csv(ODD_LINES.as_bytes());
    assert_eq!(written, independent);
    assert_summary(&out, &path, "csv", &summary);
    assert_eq!(out.json()["lines"], 5);
    assert_eq!(out.json()["other_records"], 1);
}

#[test]
fn csv_across_a_resumed_download_is_the_clean_csv() {
    let (em, id, expected) = complete_job(all_events, None);
    let (want, summary) = expected_csv(&expected);
    let dir = TempDir::new();
    let clean = dir.path("clean.csv");
    let resumed = dir.path("resumed.csv");
    let run = |path: &Path| download(&em, &id, path, &["--format", "csv"]);
    run(&clean).assert_code(0);
    // Breaks in the middle of lines, each resumed with Range.
    for bytes in [1000, 77, 4096] {
        em.fault(Route::Download, fault::close_response(bytes));
    }
    let out = run(&resumed);
    out.assert_code(0);
    assert_eq!(out.stderr.matches("retry ").count(), 3, "{}", out.stderr);
    let ranges = em
        .requests()
        .iter()
        .filter(|r| r.header("range").is_some())
        .count();
    assert_eq!(ranges, 3, "each resume asked for the rest");
    assert_eq!(std::fs::read_to_string(&resumed).unwrap(), want);
    assert!(std::fs::read(&clean).unwrap() == std::fs::read(&resumed).unwrap());
    assert_summary(&out, &resumed, "csv", &summary);
}

#[test]
fn csv_to_stdout_is_the_data_alone() {
    let (em, id, expected) = complete_job(|_| {}, None);
    let (want, summary) = expected_csv(&expected);
    em.fault(Route::Download, fault::close_response(500));
    let out = Stage::new(BIN, &em).run(&["--id", &id, "--results-file", "-", "--format", "csv"]);
    out.assert_code(0).assert_stderr(&format!(
        "standard output: {} compliance events (",
        summary["events"]
    ));
    assert_eq!(out.stdout, want, "no JSON summary on stdout");
}

#[test]
fn jsonl_to_stdout_has_no_json_summary() {
    let (em, id, expected) = complete_job(|_| {}, None);
    let out = Stage::new(BIN, &em).run(&["--id", &id, "--results-file", "-", "-q"]);
    out.assert_code(0);
    assert!(out.stdout.as_bytes() == expected);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn the_json_summary_says_what_the_file_holds_even_when_quiet() {
    let (em, id, expected) = complete_job(|_| {}, None);
    let jsonl = expected;
    let (_, summary) = expected_csv(&jsonl);
    let (dir, path) = results_folder();
    let out = download(&em, &id, &path, &["--quiet"]);
    out.assert_code(0);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert_summary(&out, &path, "jsonl", &summary);
    assert_eq!(out.json()["bytes"], jsonl.len() as u64);
    assert_eq!(out.json()["other_records"], 0);
    assert!(out.stdout.starts_with("{\n  \"file\": "), "pretty JSON");

    // No events: an empty file, and zeros.
    let (em, id, _) = complete_job(|c| c.event_percent = 0, None);
    let path = dir.path("none.csv");
    let out = download(&em, &id, &path, &["--format", "csv"]);
    out.assert_code(0)
        .assert_stderr("every uploaded ID is compliant");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "id,action,reason,created_at,redacted_at\n"
    );
    assert_summary(
        &out,
        &path,
        "csv",
        &serde_json::json!({"lines": 0, "events": 0, "reasons": {}, "other_records": 0}),
    );
}

#[test]
fn an_unknown_format_exits_2_before_any_request() {
    let em = emulator();
    let dir = TempDir::new();
    let path = dir.path("r.xml");
    for format in ["xml", "CSV", ""] {
        Stage::new(BIN, &em)
            .run(&[
                "--id",
                "1",
                "--results-file",
                path.to_str().unwrap(),
                "--format",
                format,
            ])
            .assert_code(2)
            .assert_stderr("--format must be jsonl or csv");
    }
    Stage::new(BIN, &em)
        .run(&["--id", "1", "--results-file", "-", "--format"])
        .assert_code(2)
        .assert_stderr("--format");
    assert_no_requests(&em);
    assert!(dir.names().is_empty());
}

#[test]
fn a_job_without_ids_says_to_upload_first_and_waits_only_for_its_window() {
    let em = emulator_with(|c| {
        c.upload_window = Duration::from_secs(3);
        c.rate_limits = compliance_testkit::RateLimits::uniform(1_000_000);
    });
    let job = em.create_job("tweets", None, false);
    Stage::new(BIN, &em)
        .run(&["--id", &job.id, "--results-file", "-"])
        .assert_code(1)
        .assert_stderr("has no IDs yet: upload them first (upload-ids --ids-file FILE --id");
    let started = std::time::Instant::now();
    let out = Stage::new(BIN, &em)
        .spawn(&["--id", &job.id, "--results-file", "-", "--wait"])
        .wait_within(Duration::from_secs(30));
    out.assert_code(1)
        .assert_stderr("has no IDs yet: waiting for them to be uploaded")
        .assert_stderr("its upload window closed without IDs");
    let first = out.stderr.find("waiting for them").unwrap();
    assert!(
        first < out.stderr.find("error:").unwrap(),
        "said before waiting"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

/// The IDs of part `part` of a split run: 2000 of their own.
fn part_ids(part: u64) -> String {
    ids_from(1_400_000_000_000_000_000 + part * 100_000_000, 2000)
}

/// A complete job of `em`, of `job_type`, named `name`, of `ids`: its id.
fn add_complete_job(em: &Emulator, job_type: &str, name: &str, ids: &str) -> String {
    finished_job(em, job_type, Some(name), ids).id
}

#[test]
fn the_first_part_of_a_split_run_warns_that_it_holds_part_1_only() {
    let em = emulator();
    // As lifecycle.sh names the parts: m, m-2, m-3; and a users job m-4.
    for part in 1..=3 {
        let name = match part {
            1 => "m".to_string(),
            n => format!("m-{n}"),
        };
        add_complete_job(&em, "tweets", &name, &part_ids(part));
    }
    em.create_job("users", Some("m-4"), false);
    let (_dir, path) = results_folder();
    let out = Stage::new(BIN, &em).run(&["--name", "m", "--results-file", path.to_str().unwrap()]);
    out.assert_code(0)
        .assert_stderr(
            "warning: \"m\" is part 1 of 3 of a split run: the tweets jobs \"m-2\" to \"m-3\" \
             are parts 2 to 3, as lifecycle.sh names parts.",
        )
        .assert_stderr(&format!(
            "{} holds part 1 only; lifecycle.sh writes all parts into the one --results-file \
             it was given, or download each part with --type tweets --name \"m-2\" to \"m-3\".",
            path.display()
        ));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        em.expected_results("tweets", part_ids(1).as_bytes()),
        "part 1, downloaded as asked"
    );
    assert_eq!(out.json()["file"], path.to_str().unwrap());
    let (summary, warning) = (
        out.stderr.find("compliance events (").unwrap(),
        out.stderr.find("warning:").unwrap(),
    );
    assert!(summary < warning, "after the download: {}", out.stderr);
    // A warning: --quiet does not silence it, and it is one line.
    let out = Stage::new(BIN, &em).run(&["--name", "m", "--results-file", "-", "--quiet"]);
    out.assert_code(0);
    assert!(
        out.stderr.starts_with("warning: \"m\" is part 1 of 3 ")
            && out.stderr.ends_with("standard output holds part 1 only; lifecycle.sh writes all parts into the one --results-file it was given, or download each part with --type tweets --name \"m-2\" to \"m-3\".\n")
            && out.stderr.lines().count() == 1,
        "{}",
        out.stderr
    );
}

#[test]
fn a_name_without_parts_of_its_run_gets_no_word_of_them() {
    let em = emulator();
    let (_dir, path) = results_folder();
    let download = |name: &str| {
        Stage::new(BIN, &em).run(&["--name", name, "--results-file", path.to_str().unwrap()])
    };
    let silent = |out: &Output| {
        out.assert_code(0)
            .assert_stderr("compliance events (")
            .assert_stderr_lacks("warning")
            .assert_stderr_lacks("part");
    };
    add_complete_job(&em, "tweets", "solo", &part_ids(1));
    silent(&download("solo"));

    // Last month's m-2 is a part of last month's run; a users job m-2 is of
    // another type.
    add_complete_job(&em, "tweets", "m-2", &part_ids(2));
    add_complete_job(&em, "tweets", "m", &part_ids(1));
    em.create_job("users", Some("m-2"), false);
    silent(&download("m"));

    // This month's m-2 makes m the first of two parts.
    add_complete_job(&em, "tweets", "m-2", &part_ids(2));
    download("m").assert_code(0).assert_stderr(
        "warning: \"m\" is part 1 of 2 of a split run: the tweets job \"m-2\" is part 2, as \
         lifecycle.sh names parts.",
    );
    let out = download("m");
    assert!(
        out.stderr
            .trim_end()
            .ends_with("or download part 2 with --type tweets --name \"m-2\"."),
        "{}",
        out.stderr
    );
}

/// A results line as the API writes it.
fn event(id: u64, reason: &str) -> String {
    format!(
        r#"{{"id":"{id}","action":"delete","created_at":"2021-10-04T19:11:41.540Z","reason":"{reason}"}}"#
    )
}

/// Runs download-results with `args` against a hostile server, which stands
/// for storage (and, without a job lookup, for the API too).
fn against(server: &Hostile, args: &[&str]) -> Output {
    Stage::bare(BIN)
        .api(&server.origin(), "hostile-canary-token")
        .run(args)
}

/// The download's own arguments, to `path` in `format`, no retries.
fn from_url<'a>(url: &'a str, path: &'a std::path::Path, format: &'a str) -> Vec<&'a str> {
    vec![
        "--url",
        url,
        "--results-file",
        path.to_str().unwrap(),
        "--format",
        format,
        "--retries",
        "0",
    ]
}

#[test]
fn a_200_that_is_an_api_error_is_a_failure_in_both_formats() {
    let bodies = [
        (
            r#"{"errors":[{"message":"Sorry, that page does not exist","code":34}]}"#.to_string(),
            "Sorry, that page does not exist",
        ),
        (
            r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#
                .to_string(),
            "Unauthorized",
        ),
        // Flat, as the fast path takes lines, and after a result.
        (
            format!(
                "{}\n{}\n",
                event(1, "deleted"),
                r#"{"title":"Service Unavailable","detail":"Try again later","type":"about:blank"}"#
            ),
            "Service Unavailable: Try again later",
        ),
    ];
    for (body, says) in bodies {
        let server = Hostile::start(move |_, _| {
            Answer::new(200, &[("Content-Type", "application/json")], body.clone())
        });
        let url = server.url("/results?X-Goog-Signature=s");
        for format in ["jsonl", "csv"] {
            let dir = TempDir::new();
            let path = dir.path("r");
            let out = against(&server, &from_url(&url, &path, format));
            out.assert_code(1)
                .assert_stderr("is an error from the server, not a result")
                .assert_stderr(says)
                .assert_stderr_lacks("compliant");
            assert!(dir.names().is_empty(), "{format}: {:?}", dir.names());
        }
    }
}

#[test]
fn a_line_that_is_not_text_fails_in_both_formats() {
    let first = event(1, "deleted");
    let bodies: [(&[u8], &str); 4] = [
        (
            b"{\"id\":\"2\",\"action\":\"delete\",\"reason\":\"caf\xe9\"}\n",
            "not UTF-8",
        ),
        (
            b"{\"id\":\"2\",\"action\":\"delete\",\"reason\":\"deleted\",\"note\":\"\xff\"}\n",
            "not UTF-8",
        ),
        (
            br#"{"id":"2","action":"delete","reason":"\ud800"}"#,
            "half a surrogate pair alone",
        ),
        (
            br#"{"id":"2","action":"delete","reason":"deleted","note":"x\udc00"}"#,
            "half a surrogate pair alone",
        ),
    ];
    for (second, says) in bodies {
        let body = [first.as_bytes(), b"\n", second].concat();
        let server = Hostile::start(move |_, _| Answer::new(200, &[], body.clone()));
        let url = server.url("/results?X-Goog-Signature=s");
        for format in ["jsonl", "csv"] {
            let dir = TempDir::new();
            let path = dir.path("r");
            let out = against(&server, &from_url(&url, &path, format));
            out.assert_code(1)
                .assert_stderr("results line 2 is not text")
                .assert_stderr(says);
            assert!(dir.names().is_empty(), "{format}: {:?}", dir.names());
        }
    }
}

/// CRC32C (Castagnoli), as storage's `x-goog-hash` sends it: base64 of the
/// four bytes, big-endian.
fn crc32c_header(data: &[u8]) -> String {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    let bytes = (!crc).to_be_bytes();
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let n = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
    let mut text: String = (0..4)
        .map(|k| ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char)
        .collect();
    let last = u32::from(bytes[3]) << 16;
    text.push(ALPHABET[(last >> 18 & 63) as usize] as char);
    text.push(ALPHABET[(last >> 12 & 63) as usize] as char);
    format!("crc32c={text}==")
}

/// Storage that sends `whole` with a length and this `x-goog-hash`.
fn hashed_object(whole: &str, hash: &str) -> Hostile {
    let bytes = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nx-goog-hash: {hash}\r\n\r\n{whole}",
        whole.len()
    );
    Hostile::start(move |_, _| Answer::raw(bytes.clone(), Then::Close))
}

#[test]
fn crc32c_is_the_check_when_storage_offers_it_and_md5_only_without_it() {
    let whole = format!("{}\n{}\n", event(1, "deleted"), event(2, "protected"));
    let crc = crc32c_header(whole.as_bytes());
    let wrong_crc = crc32c_header(b"other bytes");
    let wrong_md5 = "md5=AAAAAAAAAAAAAAAAAAAAAA==";
    for (hash, code, named) in [
        // CRC32C right, no MD5 offered (a composite object).
        (crc.clone(), 0, ""),
        // CRC32C right: the MD5 is not computed, as gcloud does not.
        (format!("{crc},{wrong_md5}"), 0, ""),
        (format!("{wrong_crc},{wrong_md5}"), 1, "crc32c"),
        (wrong_crc.clone(), 1, "crc32c"),
        // Only an MD5: that is the check.
        (wrong_md5.to_string(), 1, "md5"),
    ] {
        let server = hashed_object(&whole, &hash);
        let dir = TempDir::new();
        let path = dir.path("r.jsonl");
        let url = server.url("/results?X-Goog-Signature=s");
        let out = against(&server, &from_url(&url, &path, "jsonl"));
        out.assert_code(code);
        if code == 0 {
            assert_eq!(std::fs::read_to_string(&path).unwrap(), whole, "{hash}");
        } else {
            out.assert_stderr("corrupted in transit")
                .assert_stderr(named);
            assert!(dir.names().is_empty(), "{hash}: {:?}", dir.names());
        }
    }
}

#[test]
fn a_body_without_length_or_chunks_is_trusted_only_when_a_hash_covers_it() {
    let whole = format!(
        "{}\n{}\n{}\n",
        event(1, "deleted"),
        event(2, "protected"),
        event(3, "suspended")
    );
    // Cut at a line boundary: it looks whole.
    let cut = whole[..whole.find('\n').unwrap() + 1].to_string();
    let heads = [
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n".to_string(),
        "HTTP/1.0 200 OK\r\n\r\n".to_string(),
    ];
    for head in &heads {
        let bytes = format!("{head}{cut}");
        let server = Hostile::start(move |_, _| Answer::raw(bytes.clone(), Then::Close));
        let url = server.url("/results?X-Goog-Signature=s");
        for format in ["jsonl", "csv"] {
            let dir = TempDir::new();
            let path = dir.path("r");
            let out = against(&server, &from_url(&url, &path, format));
            out.assert_code(1)
                .assert_stderr("neither a length nor chunks")
                .assert_stderr("not trusted");
            assert!(dir.names().is_empty(), "{head:?}: {:?}", dir.names());
        }
    }
    // With the hash of the whole object, the cut shows, and the whole passes.
    let hash = crc32c_header(whole.as_bytes());
    for (body, code) in [(&cut, 1), (&whole, 0)] {
        let bytes = format!("HTTP/1.1 200 OK\r\nx-goog-hash: {hash}\r\n\r\n{body}");
        let server = Hostile::start(move |_, _| Answer::raw(bytes.clone(), Then::Close));
        let dir = TempDir::new();
        let path = dir.path("r.jsonl");
        let url = server.url("/results?X-Goog-Signature=s");
        against(&server, &from_url(&url, &path, "jsonl")).assert_code(code);
        match code {
            0 => assert_eq!(std::fs::read_to_string(&path).unwrap(), whole),
            _ => assert!(dir.names().is_empty()),
        }
    }
    // A length marks the end, a length of 0 too: nothing is missing.
    let server = Hostile::start(|_, _| {
        Answer::raw("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", Then::Close)
    });
    let (_dir, path) = results_folder();
    let url = server.url("/results?X-Goog-Signature=s");
    against(&server, &from_url(&url, &path, "jsonl"))
        .assert_code(0)
        .assert_stderr("every uploaded ID is compliant");
    assert_eq!(std::fs::read(&path).unwrap(), b"");
    // Chunks mark their end: a chunked body needs no hash.
    let chunked = format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{whole}\r\n0\r\n\r\n",
        whole.len()
    );
    let server = Hostile::start(move |_, _| Answer::raw(chunked.clone(), Then::Close));
    let (_dir, path) = results_folder();
    let url = server.url("/results?X-Goog-Signature=s");
    against(&server, &from_url(&url, &path, "jsonl")).assert_code(0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
}

#[cfg(unix)]
#[test]
fn a_fifo_whose_reader_stops_early_is_a_failure() {
    use std::io::Read as _;
    let (em, id, expected) = complete_job(all_events, None);
    // More than a pipe holds, so that writes go on after the reader is gone.
    assert!(expected.len() > 2 * 65_536, "{}", expected.len());
    let dir = TempDir::new();
    let fifo = dir.fifo("fifo");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut first = [0u8; 100];
            let mut file = std::fs::File::open(fifo).unwrap();
            file.read_exact(&mut first).unwrap();
            first
        })
    };
    let out = download(&em, &id, &fifo, &[]);
    assert_eq!(&reader.join().unwrap()[..], &expected[..100]);
    out.assert_code(1).assert_stderr(&format!(
        "the reader of {} closed it before the end",
        fifo.display()
    ));
    assert!(out.stdout.is_empty(), "no summary: {}", out.stdout);
}

#[test]
fn a_redirect_to_plain_http_on_another_host_is_refused() {
    // The proxy stands for the network: it redirects, and it would serve
    // the other host's results if it were asked for them. (A request goes
    // through it in a CONNECT tunnel.)
    let body = format!("{}\n", event(1, "deleted"));
    let proxy = Hostile::start(move |request, _| {
        let to_other_host = request.target.contains("results.example")
            || request
                .header("host")
                .is_some_and(|h| h.contains("results.example"));
        match (request.method.as_str(), to_other_host) {
            ("CONNECT", _) => Answer::raw(
                "HTTP/1.1 200 Connection established\r\n\r\n",
                Then::KeepOpen,
            ),
            (_, true) => Answer::new(200, &[], body.clone()),
            (_, false) => Answer::new(
                302,
                &[(
                    "Location",
                    "http://results.example/r?X-Goog-Signature=secret-signature",
                )],
                "",
            ),
        }
    });
    let (dir, path) = results_folder();
    let out = Stage::bare(BIN)
        .api("http://127.0.0.1:9", "hostile-canary-token")
        .env("HTTP_PROXY", &proxy.origin())
        .run(&from_url(
            "http://127.0.0.1:9/results?X-Goog-Signature=s",
            &path,
            "jsonl",
        ));
    out.assert_code(1)
        .assert_stderr("redirected (HTTP 302) to plain http:// on results.example:80")
        .assert_stderr("refused")
        .assert_stderr_lacks("secret-signature");
    let asked: Vec<String> = proxy
        .requests()
        .into_iter()
        .map(|r| format!("{} {} {:?}", r.method, r.target, r.header("host")))
        .collect();
    assert!(
        asked.iter().all(|t| !t.contains("results.example")),
        "{asked:?}"
    );
    assert!(!asked.is_empty(), "the download went through the proxy");
    assert!(dir.names().is_empty());

    // On this machine, a redirect is followed, a relative one too, and the
    // token does not follow it.
    let body = format!("{}\n", event(2, "protected"));
    let expected = body.clone();
    let server = Hostile::start(
        move |request, _| match request.target.starts_with("/moved") {
            true => Answer::new(200, &[], body.clone()),
            false => Answer::new(307, &[("Location", "/moved?X-Goog-Signature=t")], ""),
        },
    );
    let url = server.url("/results?X-Goog-Signature=s");
    against(&server, &from_url(&url, &path, "jsonl")).assert_code(0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests[0].header("authorization").is_some(),
        "to the API origin"
    );
    assert!(
        requests[1].header("authorization").is_none(),
        "not after a redirect"
    );
}

#[cfg(unix)]
#[test]
fn a_folder_that_takes_no_file_is_exit_1_before_any_request_or_wait() {
    let em = emulator_with(|c| c.processing_delay = Duration::from_secs(600));
    let job = em.create_job("tweets", None, false);
    assert_eq!(upload(&em, &job.id, ids(IDS).as_bytes()), 200);
    let dir = TempDir::new();
    let folder = dir.unwritable_folder();
    let path = folder.join("r.jsonl");
    let path = path.to_str().unwrap();
    let before = em.requests().len();
    let out = Stage::new(BIN, &em)
        .spawn(&[
            "--id",
            &job.id,
            "--results-file",
            path,
            "--wait",
            "--timeout",
            "600",
        ])
        .wait_within(Duration::from_secs(30));
    out.assert_code(1)
        .assert_stderr(&format!("cannot create a file in {}", folder.display()));
    assert_eq!(em.requests().len(), before, "nothing asked of the API");
    // --check finds it too, without a token.
    Stage::bare(BIN)
        .run(&["--results-file", path, "--check"])
        .assert_code(1)
        .assert_stderr("cannot create a file in");
}

#[test]
fn several_jobs_go_into_one_results_file_in_the_order_given() {
    let em = emulator_with(all_events);
    let first = add_complete_job(&em, "tweets", "p", &part_ids(1));
    let second = add_complete_job(&em, "tweets", "p-2", &part_ids(2));
    let expected = [
        em.expected_results("tweets", part_ids(1).as_bytes()),
        em.expected_results("tweets", part_ids(2).as_bytes()),
    ];
    let (dir, path) = results_folder();
    let file = path.to_str().unwrap();
    let out = Stage::new(BIN, &em).run(&["--id", &second, "--id", &first, "--results-file", file]);
    out.assert_code(0);
    let whole = [expected[1].clone(), expected[0].clone()].concat();
    assert_eq!(std::fs::read(&path).unwrap(), whole);
    let lines = whole
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(out.json()["events"], lines as u64);
    assert_eq!(out.json()["bytes"], whole.len() as u64);
    // CSV: one header, then the rows of each job in turn.
    let csv = dir.path("r.csv");
    let out = Stage::new(BIN, &em).run(&[
        "--id",
        &second,
        "--id",
        &first,
        "--results-file",
        csv.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    out.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        expected_csv(&whole).0
    );
    // A job that is not there fails the lookup, before any download.
    let downloads = |em: &Emulator| {
        em.requests()
            .iter()
            .filter(|r| r.target.contains("download"))
            .count()
    };
    let before = downloads(&em);
    Stage::new(BIN, &em)
        .run(&["--id", &first, "--id", "42", "--results-file", file])
        .assert_code(1)
        .assert_stderr("not found");
    assert_eq!(downloads(&em), before, "nothing downloaded");
    assert_eq!(dir.names(), ["r.csv", "r.jsonl"]);
}

#[test]
fn a_body_without_a_last_line_end_does_not_join_the_next() {
    // The first body lacks its last line end; the second has one.
    let server = Hostile::start(|request, _| {
        let body = match request.target.starts_with("/one") {
            true => event(1, "deleted"),
            false => format!("{}\n", event(2, "protected")),
        };
        Answer::new(200, &[], body)
    });
    let (one, two) = (server.url("/one?s=1"), server.url("/two?s=2"));
    let dir = TempDir::new();
    for (format, want) in [
        (
            "jsonl",
            format!("{}\n{}\n", event(1, "deleted"), event(2, "protected")),
        ),
        (
            "csv",
            "id,action,reason,created_at,redacted_at\n\
             1,delete,deleted,2021-10-04T19:11:41.540Z,\n\
             2,delete,protected,2021-10-04T19:11:41.540Z,\n"
                .to_string(),
        ),
    ] {
        let path = dir.path(&format!("r.{format}"));
        let file = path.to_str().unwrap();
        let out = against(
            &server,
            &[
                "--url",
                &one,
                "--url",
                &two,
                "--results-file",
                file,
                "--format",
                format,
            ],
        );
        out.assert_code(0);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
        assert_eq!(out.json()["events"], 2);
    }
}

#[test]
fn an_unknown_id_points_to_list_jobs_and_a_name_to_its_type() {
    let em = emulator();
    let users = em.create_job("users", Some("demo"), false);
    let (dir, path) = results_folder();
    let path = path.to_str().unwrap();
    Stage::new(BIN, &em)
        .run(&["--id", "999", "--results-file", path])
        .assert_code(1)
        .assert_stderr("job 999 not found")
        .assert_stderr("list-jobs shows the jobs of both types");
    Stage::new(BIN, &em)
        .run(&["--name", "demo", "--type", "tweets", "--results-file", path])
        .assert_code(1)
        .assert_stderr(&format!(
            "no tweets job named \"demo\" is listed, but users job {}",
            users.id
        ))
        .assert_stderr("use --type users");
    assert!(dir.names().is_empty());
}

#[test]
fn an_https_url_to_plain_http_storage_fails_at_once_naming_the_host() {
    let em = emulator();
    let job = em.create_job("tweets", None, false);
    let url = job.download_url.replacen("http://", "https://", 1);
    let host = em.storage_url().replacen("http://", "", 1);
    let signature = url.split("X-Goog-Signature=").nth(1).expect("signed");
    // Nothing waits between the TLS hello and its refusal: milliseconds.
    let started = std::time::Instant::now();
    let out = Stage::new(BIN, &em).run(&["--url", &url, "--results-file", "-"]);
    let took = started.elapsed();
    out.assert_code(2)
        .assert_stderr(&format!(
            "download from {host}: the server answered in plain HTTP, not TLS"
        ))
        .assert_stderr("http://");
    assert!(took < Duration::from_secs(2), "{took:?}: {}", out.stderr);
    out.assert_stderr_lacks(signature);
    out.assert_stderr_lacks("retry");
    assert_eq!(out.stdout, "");
}
