//! `--timeout` bounds a run from its start, the first lookup included, and
//! the waits a server asks for are honoured and said: a hostile API (a
//! rate limit far ahead, a 429 without a reset, a run of 503s, a server
//! that never answers, `Retry-After`) played by [`Hostile`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use compliance_testkit::hostile::{Answer, Hostile, Request, Then};
use compliance_testkit::{Output, Stage, TempDir};

/// The longest any run here may take before it is killed as hung: far
/// beyond every bound a test asserts, far short of the waits that were bugs.
const HUNG: Duration = Duration::from_secs(45);

/// A job of the API, as `GET /2/compliance/jobs/:id` or a list holds it.
fn job(status: &str) -> String {
    format!(
        r#"{{"id":"7","type":"tweets","name":"w","status":"{status}","created_at":"2030-01-01T00:00:00.000Z"}}"#
    )
}

/// The answer of the API holding `job(status)`: alone, or in a list.
fn ok(request: &Request, status: &str, headers: &[(&str, &str)]) -> Answer {
    let body = match request.target.starts_with("/2/compliance/jobs?") {
        true => format!(r#"{{"data":[{}]}}"#, job(status)),
        false => format!(r#"{{"data":{}}}"#, job(status)),
    };
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    Answer::new(200, &all, body)
}

/// Unix seconds `secs` from now, as `x-rate-limit-reset` gives them.
fn unix_in(secs: u64) -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + secs
}

/// `unix` seconds as the tools print a time, to the second:
/// `2026-12-01T10:00:00` (the civil date of Howard Hinnant's algorithm).
fn time_of(unix: u64) -> String {
    let (days, secs) = ((unix / 86_400) as i64, unix % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

const PROBLEM_429: &str = r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#;

/// Runs `stage` against `server` with `args`; returns what it printed and
/// how long it took. A run still going after [`HUNG`] fails the test.
fn run(server: &Hostile, stage: &str, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Stage::program(stage)
        .api(&server.origin(), "AAAAAAAAAAAAAAAAAAAAAAAAwaits")
        .spawn(args)
        .wait_within(HUNG);
    (out, started.elapsed())
}

/// Runs each of `cases`, a stage and its arguments, against `server`, all
/// at once, each timed on its own: their waits overlap.
fn run_each(server: &Hostile, cases: &[(&str, Vec<&str>)]) -> Vec<(Output, Duration)> {
    std::thread::scope(|scope| {
        let runs: Vec<_> = cases
            .iter()
            .map(|(stage, args)| scope.spawn(move || run(server, stage, args)))
            .collect();
        runs.into_iter().map(|r| r.join().expect("a run")).collect()
    })
}

/// The waits of list-job, by id and by name, and of download-results, by
/// `download_by` (`--id` or `--name`), each with `--timeout timeout`.
fn three_waits(timeout: &str, download_by: &str) -> Vec<(&'static str, Vec<String>)> {
    let wait = |by: &str, job: &str| {
        [by, job, "--wait", "--timeout", timeout]
            .map(String::from)
            .to_vec()
    };
    let job = match download_by {
        "--id" => "7",
        _ => "w",
    };
    let mut download = wait(download_by, job);
    download.extend(["--results-file".to_string(), "-".to_string()]);
    vec![
        ("list-job", wait("--id", "7")),
        ("list-job", wait("--name", "w")),
        ("download-results", download),
    ]
}

/// [`run_each`] of [`three_waits`].
fn run_three(server: &Hostile, timeout: &str, download_by: &str) -> Vec<(Output, Duration)> {
    let cases = three_waits(timeout, download_by);
    let cases: Vec<(&str, Vec<&str>)> = cases
        .iter()
        .map(|(stage, args)| (*stage, args.iter().map(String::as_str).collect()))
        .collect();
    run_each(server, &cases)
}

/// Asserts that a run stopped well within `limit` with exit 1.
#[track_caller]
fn stopped_within(out: &Output, took: Duration, limit: Duration) {
    out.assert_code(1);
    assert!(took < limit, "took {took:?}, over {limit:?}: {out:?}");
}

#[test]
fn timeout_bounds_the_first_lookup_against_a_rate_limit_far_ahead() {
    let reset = unix_in(120);
    let server = Hostile::start(move |_, _| {
        Answer::new(
            429,
            &[
                ("Content-Type", "application/problem+json"),
                ("x-rate-limit-remaining", "0"),
                ("x-rate-limit-reset", &reset.to_string()),
            ],
            PROBLEM_429,
        )
    });
    let dir = TempDir::new();
    let results = dir.path("r.jsonl");
    let results = results.to_str().unwrap();
    let cases = [
        ("list-job", vec!["--id", "7", "--wait", "--timeout", "5"]),
        ("list-job", vec!["--id", "7", "--timeout", "5"]),
        ("list-job", vec!["--name", "w", "--wait", "--timeout", "5"]),
        (
            "download-results",
            vec![
                "--id",
                "7",
                "--wait",
                "--timeout",
                "5",
                "--results-file",
                results,
            ],
        ),
        (
            "download-results",
            vec![
                "--name",
                "w",
                "--type",
                "tweets",
                "--wait",
                "--timeout",
                "5",
                "--results-file",
                results,
            ],
        ),
    ];
    for (out, took) in run_each(&server, &cases) {
        stopped_within(&out, took, Duration::from_secs(30));
        out.assert_stderr("the rate limit resets at")
            .assert_stderr(&time_of(reset))
            .assert_stderr("--timeout");
    }
    assert!(dir.names().is_empty(), "no results file: {:?}", dir.names());
}

#[test]
fn timeout_bounds_a_429_without_a_usable_reset() {
    let servers = [None, Some("soon"), Some("")].map(|reset| {
        Hostile::start(move |_, _| {
            let mut headers = vec![("Content-Type", "application/problem+json")];
            if let Some(reset) = reset {
                headers.push(("x-rate-limit-reset", reset));
            }
            Answer::new(429, &headers, PROBLEM_429)
        })
    });
    std::thread::scope(|scope| {
        for server in &servers {
            scope.spawn(move || {
                for (out, took) in run_three(server, "5", "--id") {
                    stopped_within(&out, took, Duration::from_secs(30));
                    out.assert_stderr("HTTP 429").assert_stderr("--timeout");
                }
            });
        }
    });
}

#[test]
fn timeout_bounds_a_run_of_503s() {
    let server = Hostile::start(|_, _| Answer::new(503, &[], "Service Unavailable"));
    for (out, took) in run_three(&server, "2", "--id") {
        // Five retries back off for 15 s at the least: --timeout ends them.
        stopped_within(&out, took, Duration::from_secs(12));
        out.assert_stderr("HTTP 503").assert_stderr("--timeout");
    }
}

#[test]
fn timeout_bounds_a_server_that_never_answers() {
    let server = Hostile::start(|_, _| Answer::raw(Vec::new(), Then::Hang));
    for (out, took) in run_three(&server, "1", "--name") {
        // Without the bound, each attempt waits --stall (60 s).
        stopped_within(&out, took, Duration::from_secs(30));
        out.assert_stderr("--timeout");
    }
}

/// A server whose first answers are `first`, then the job complete; it
/// notes when each request came.
fn after(first: Vec<Answer>) -> (Hostile, Arc<Mutex<Vec<Instant>>>) {
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = times.clone();
    let server = Hostile::start(move |request, n| {
        seen.lock().unwrap().push(Instant::now());
        match first.get(n) {
            Some(answer) => answer.clone(),
            None => ok(request, "complete", &[]),
        }
    });
    (server, times)
}

/// The pause before the second request.
fn gap(times: &Mutex<Vec<Instant>>) -> Duration {
    let times = times.lock().unwrap();
    assert!(times.len() >= 2, "{} requests", times.len());
    times[1] - times[0]
}

#[test]
fn retry_after_is_honoured_on_a_429() {
    let problem = [
        ("Content-Type", "application/problem+json"),
        ("Retry-After", "2"),
    ];
    let (server, times) = after(vec![Answer::new(429, &problem, PROBLEM_429)]);
    let (out, took) = run(&server, "list-job", &["--id", "7", "--wait"]);
    out.assert_code(0).assert_stderr("HTTP 429");
    assert!(
        gap(&times) >= Duration::from_millis(1900),
        "{:?}",
        gap(&times)
    );
    assert!(took < Duration::from_secs(30), "a 2 s wait took {took:?}");
}

#[test]
fn retry_after_is_honoured_on_a_503() {
    let (server, times) = after(vec![Answer::new(503, &[("Retry-After", "3")], "busy")]);
    let (out, _) = run(&server, "list-job", &["--name", "w"]);
    out.assert_code(0).assert_stderr("HTTP 503");
    assert!(
        gap(&times) >= Duration::from_millis(2900),
        "{:?}",
        gap(&times)
    );
}

#[test]
fn a_retry_after_past_timeout_stops_the_run_at_once_naming_the_time() {
    let later = [
        ("Content-Type", "application/problem+json"),
        ("Retry-After", "120"),
    ];
    let (server, _) = after(vec![Answer::new(429, &later, PROBLEM_429); 10]);
    let asked = unix_in(120);
    let (out, took) = run(
        &server,
        "list-job",
        &["--id", "7", "--wait", "--timeout", "5"],
    );
    stopped_within(&out, took, Duration::from_secs(30));
    out.assert_stderr("--timeout").assert_stderr("Retry-After");
    assert!(
        (asked..=unix_in(120)).any(|t| out.stderr.contains(&time_of(t))),
        "the time asked for is named: {out:?}"
    );
}

#[test]
fn no_requests_left_until_a_reset_is_waited_out_and_said() {
    // Spent for three seconds: the next poll waits for the reset, and says so.
    let reset = unix_in(3).to_string();
    let spent = [
        ("x-rate-limit-remaining", "0"),
        ("x-rate-limit-reset", reset.as_str()),
    ];
    let first = ok(&Request::default(), "in_progress", &spent);
    let (server, times) = after(vec![first]);
    let (out, _) = run(
        &server,
        "list-job",
        &["--id", "7", "--wait", "--interval", "1"],
    );
    out.assert_code(0).assert_stderr("rate limit");
    assert!(
        gap(&times) >= Duration::from_millis(1500),
        "{:?}",
        gap(&times)
    );
}

#[test]
fn no_requests_left_until_a_reset_absurdly_far_is_not_slept_on() {
    // Spent for ten years: not slept on silently.
    let far = unix_in(10 * 365 * 86_400);
    let reset = far.to_string();
    let spent = [
        ("x-rate-limit-remaining", "0"),
        ("x-rate-limit-reset", reset.as_str()),
    ];
    let first = ok(&Request::default(), "in_progress", &spent);
    let (server, _) = after(vec![first.clone()]);
    let (out, took) = run(&server, "list-job", &["--id", "7", "--wait"]);
    out.assert_code(0).assert_stderr(&time_of(far));
    assert!(took < Duration::from_secs(30), "{took:?}: {out:?}");
    // With --timeout, the run stops at once and names the reset.
    let (server, _) = after(vec![first.clone(), first]);
    let (out, took) = run(
        &server,
        "list-job",
        &["--id", "7", "--wait", "--timeout", "5"],
    );
    stopped_within(&out, took, Duration::from_secs(30));
    out.assert_stderr(&time_of(far)).assert_stderr("--timeout");
}
