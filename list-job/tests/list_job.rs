//! list-job, run as a built binary against the emulator.

use compliance_testkit::{
    assert_no_requests, assert_refused_before_any_request, await_status, emulator, emulator_with,
    fault, upload, Config, Emulator, Route, Stage,
};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_list-job");

#[test]
fn shows_a_job_by_id() {
    let em = emulator();
    let job = em.create_job("tweets", None, false);
    let out = Stage::new(BIN, &em).run(&["--id", &job.id]);
    out.assert_code(0);
    assert_eq!(out.json(), job.json);
}

#[test]
fn finds_exactly_the_name_never_another_job() {
    let em = emulator();
    let wanted = em.create_job("tweets", Some("abc"), false);
    em.create_job("users", Some("abcd"), false);
    let out = Stage::new(BIN, &em).run(&["--name", "abc"]);
    out.assert_code(0);
    assert_eq!(out.json()["id"], wanted.id.as_str());
    for (args, says) in [
        (&["--name", "ab"][..], "no tweets or users job named \"ab\""),
        (
            &["--name", "abc", "--type", "users"],
            "no users job named \"abc\"",
        ),
    ] {
        Stage::new(BIN, &em)
            .run(args)
            .assert_code(1)
            .assert_stderr(says);
    }
}

#[test]
fn several_with_the_name_takes_the_newest_and_says_so() {
    let em = emulator();
    let old = em.create_job("tweets", Some("dup"), false);
    em.shift_clock(16 * 60);
    let new = em.create_job("tweets", Some("dup"), false);
    let out = Stage::new(BIN, &em).run(&["--name", "dup", "--type", "tweets"]);
    out.assert_code(0)
        .assert_stderr("2 jobs are named \"dup\"")
        .assert_stderr(&format!("taking the newest, tweets job {} (", new.id))
        .assert_stderr(", created 20");
    assert_eq!(out.json()["id"], new.id.as_str());
    assert!(!out.stderr.contains(&old.id), "the one taken is named");
}

#[test]
fn unknown_id_is_not_found() {
    let em = emulator();
    Stage::new(BIN, &em)
        .run(&["--id", "1234567890123456789"])
        .assert_code(1)
        .assert_stderr("job 1234567890123456789 not found");
}

#[test]
fn bad_flags_exit_2_before_any_request() {
    let em = emulator();
    let cases: &[(&[&str], &str)] = &[
        (&["--id", "12ab"], "--id must be a job id of 1 to 19 digits"),
        (&["--id", "12345678901234567890"], "--id must be"),
        (&["--id", "1", "--name", "x"], "Usage:"),
        (&["--name", "x", "--type", "both"], "--type must be"),
        (
            &["--id", "1", "--interval", "soon"],
            "--interval takes a number of seconds",
        ),
        (&["--id", "1", "--wiat"], "there is no flag --wiat"),
        (&[], "Usage:"),
    ];
    assert_refused_before_any_request(BIN, &em, cases);
}

#[test]
fn wait_polls_until_complete() {
    let em = emulator_with(|c| c.processing_delay = Duration::from_millis(700));
    let job = em.create_job("tweets", Some("w"), false);
    assert_eq!(upload(&em, &job.id, b"20\n21\n"), 200);
    await_status(&em, &job.id, "in_progress");
    let out = Stage::new(BIN, &em).run(&["--name", "w", "--wait", "--interval", "0.1"]);
    out.assert_code(0)
        .assert_stderr("in_progress")
        .assert_stderr("complete after");
    assert_eq!(out.json()["status"], "complete");
}

#[test]
fn wait_on_a_job_that_fails_in_processing_exits_1() {
    let em = emulator_with(|c| c.processing_delay = Duration::from_millis(700));
    let job = em.create_job("tweets", None, false);
    // The upload goes through; the processing it starts ends in `failed`.
    em.fault(Route::Upload, fault::fail_job());
    assert_eq!(upload(&em, &job.id, b"20\n21\n"), 200);
    await_status(&em, &job.id, "in_progress");
    let out = Stage::new(BIN, &em).run(&["--id", &job.id, "--wait", "--interval", "0.1"]);
    out.assert_code(1)
        .assert_stderr("in_progress")
        .assert_stderr("failed after")
        .assert_stderr("ended without results");
    assert_eq!(out.json()["status"], "failed");
}

#[test]
fn wait_on_an_expired_job_exits_1() {
    let em = emulator();
    let job = em.create_job("users", None, false);
    em.shift_clock(16 * 60);
    let out = Stage::new(BIN, &em).run(&["--id", &job.id, "--wait", "--interval", "0"]);
    out.assert_code(1).assert_stderr("expired");
    assert_eq!(out.json()["status"], "expired");
    // Without --wait, showing an expired job is a success.
    Stage::new(BIN, &em).run(&["--id", &job.id]).assert_code(0);
}

#[test]
fn wrong_token_exits_1() {
    let em = emulator();
    let job = em.create_job("users", None, false);
    Stage::new(BIN, &em)
        .env("BEARER_TOKEN", "x")
        .run(&["--id", &job.id])
        .assert_code(1)
        .assert_stderr("HTTP 401");
}

#[test]
fn missing_token_exits_2_before_any_request() {
    let em = emulator();
    Stage::new(BIN, &em)
        .env_remove("BEARER_TOKEN")
        .run(&["--id", "1"])
        .assert_code(2)
        .assert_stderr("export BEARER_TOKEN=");
    assert_no_requests(&em);
}

/// GETs of one job the emulator has seen.
fn polls(em: &Emulator, id: &str) -> usize {
    let path = format!("/2/compliance/jobs/{id}");
    em.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.target.starts_with(&path))
        .count()
}

/// A job that stays in progress for `secs`.
fn in_progress_for(secs: u64, config: Config) -> (Emulator, String) {
    let em = Emulator::start(Config {
        processing_delay: Duration::from_secs(secs),
        ..config
    })
    .expect("start emulator");
    let job = em.create_job("tweets", None, false);
    assert_eq!(upload(&em, &job.id, b"1\n2\n"), 200);
    (em, job.id)
}

/// A rate limit so generous that spreading it sets no pace.
fn generous() -> Config {
    Config {
        rate_limits: compliance_testkit::RateLimits::uniform(1_000_000),
        ..Config::default()
    }
}

#[test]
fn timeout_bounds_a_rate_limit_wait_and_names_the_reset() {
    let (em, id) = in_progress_for(600, generous());
    // The lookup passes; the first poll meets a rate limit 100 s from resetting.
    em.fault(Route::GetJob, fault::pass());
    em.fault(Route::GetJob, fault::rate_limited(100));
    let started = Instant::now();
    let out = Stage::new(BIN, &em).run(&["--id", &id, "--wait", "--timeout", "3"]);
    out.assert_code(1)
        .assert_stderr("the rate limit resets at")
        .assert_stderr("--timeout");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn polls_never_come_faster_than_once_a_second() {
    let (em, id) = in_progress_for(3, generous());
    let started = Instant::now();
    Stage::new(BIN, &em)
        .run(&["--id", &id, "--wait", "--interval", "0"])
        .assert_code(0);
    let secs = started.elapsed().as_secs_f64();
    let polls = polls(&em, &id);
    assert!(
        polls as f64 <= secs + 2.0,
        "{polls} GETs in {secs:.1}s with --interval 0"
    );
}

#[test]
fn polls_spread_what_the_rate_limit_has_left_over_its_window() {
    // Three requests a minute: after the lookup, two are left for 60 s.
    let (em, id) = in_progress_for(
        600,
        Config {
            rate_limits: compliance_testkit::RateLimits::uniform(3),
            rate_window: Duration::from_secs(60),
            ..Config::default()
        },
    );
    let out =
        Stage::new(BIN, &em).run(&["--id", &id, "--wait", "--interval", "0", "--timeout", "3"]);
    out.assert_code(1).assert_stderr("gave up waiting");
    assert_eq!(
        polls(&em, &id),
        1,
        "only the lookup: the next poll is 30 s away"
    );
}

#[test]
fn https_to_the_plain_http_emulator_fails_at_once_saying_to_use_http() {
    let em = emulator();
    let plain = em.base_url();
    let https = plain.replacen("http://", "https://", 1);
    // Nothing waits between the TLS hello and its refusal (no timeout, no
    // retry): milliseconds on loopback, against the 2 s the message must
    // come within.
    let started = Instant::now();
    let out = Stage::new(BIN, &em)
        .env("X_API_URL", &https)
        .run(&["--id", "1"]);
    let took = started.elapsed();
    out.assert_code(2)
        .assert_stderr("answered in plain HTTP, not TLS")
        .assert_stderr(&format!("use X_API_URL={plain} "));
    assert!(took < Duration::from_secs(2), "{took:?}: {}", out.stderr);
    out.assert_stderr_lacks("retry");
    assert_no_requests(&em);
}

#[test]
fn an_unknown_id_or_name_says_where_to_look() {
    let em = emulator();
    let tweets = em.create_job("tweets", Some("demo"), false);
    Stage::new(BIN, &em)
        .run(&["--id", "999"])
        .assert_code(1)
        .assert_stderr("job 999 not found")
        .assert_stderr("; list-jobs shows the jobs of both types, with their ids");
    // A name that only the other type's jobs have.
    Stage::new(BIN, &em)
        .run(&["--name", "demo", "--type", "users"])
        .assert_code(1)
        .assert_stderr(&format!(
            "no users job named \"demo\" is listed, but tweets job {} (\"demo\", created",
            tweets.id
        ))
        .assert_stderr(": use --type tweets");
    Stage::new(BIN, &em)
        .run(&["--name", "nobody", "--type", "users"])
        .assert_code(1)
        .assert_stderr(
            "no users job named \"nobody\" is listed, and no tweets job either; \
             list-jobs --type users shows the users jobs",
        );
    Stage::new(BIN, &em)
        .run(&["--name", "nobody"])
        .assert_code(1)
        .assert_stderr("; list-jobs shows the jobs of both types, with their names");
}

/// On a terminal, a table of one row for a person; piped, or with
/// `--json`, the JSON scripts have always read.
#[cfg(target_os = "linux")]
mod terminal {
    use super::*;
    use compliance_core::Job;
    use compliance_testkit::pty::{column, on_a_terminal, to_the_minute};

    /// Asserts that `table` is the header and one row for `job` (the API's
    /// JSON of it), with `until` under RESULTS UNTIL.
    #[track_caller]
    fn assert_one_row(table: &str, job: &serde_json::Value, until: &str) {
        assert!(table.starts_with("ID  "), "{table}");
        assert_eq!(table.lines().count(), 2, "{table}");
        let name = job["name"].as_str().unwrap_or("-");
        let created = to_the_minute(&job["created_at"]);
        for (title, cell) in [
            ("ID", job["id"].as_str().unwrap()),
            ("TYPE", job["type"].as_str().unwrap()),
            ("NAME", name),
            ("STATUS", job["status"].as_str().unwrap()),
            ("CREATED", &created),
            ("RESULTS UNTIL", until),
        ] {
            assert_eq!(column(table, title), [cell], "{title}:\n{table}");
        }
    }

    #[test]
    fn a_table_of_one_row() {
        let em = emulator();
        let job = em.create_job("tweets", Some("my-archive"), false);
        let (out, table) = on_a_terminal(Stage::new(BIN, &em), &["--name", "my-archive"]);
        out.assert_code(0);
        assert_one_row(&table, &job.json, "-");
    }

    #[test]
    fn piped_or_with_json_the_json_of_before_byte_for_byte() {
        let em = emulator();
        let job = em.create_job("users", None, false);
        let core = Job::from_value(job.json.clone()).expect("a job");
        let before = serde_json::to_string_pretty(&core).unwrap() + "\n";
        let piped = Stage::new(BIN, &em).run(&["--id", &job.id]);
        piped.assert_code(0);
        assert_eq!(piped.stdout, before);
        let asked = Stage::new(BIN, &em).run(&["--id", &job.id, "--json"]);
        asked.assert_code(0);
        assert_eq!(asked.stdout, before);
        let (out, shown) = on_a_terminal(Stage::new(BIN, &em), &["--id", &job.id, "--json"]);
        out.assert_code(0);
        assert_eq!(shown, before, "--json on a terminal");
    }

    #[test]
    fn wait_shows_progress_on_stderr_then_the_table_with_the_results_time() {
        let em = emulator_with(|c| c.processing_delay = Duration::from_millis(700));
        let job = em.create_job("tweets", None, false);
        assert_eq!(upload(&em, &job.id, b"20\n21\n"), 200);
        await_status(&em, &job.id, "in_progress");
        let (out, table) = on_a_terminal(
            Stage::new(BIN, &em),
            &["--id", &job.id, "--wait", "--interval", "0.1"],
        );
        out.assert_code(0).assert_stderr("complete after");
        let now = em.job(&job.id).expect("the job").json;
        assert_one_row(&table, &now, &to_the_minute(&now["download_expires_at"]));
    }

    #[test]
    fn a_wait_that_ends_without_results_shows_the_table_and_exits_1() {
        let em = emulator();
        let job = em.create_job("users", None, false);
        em.shift_clock(16 * 60);
        let (out, table) = on_a_terminal(
            Stage::new(BIN, &em),
            &["--id", &job.id, "--wait", "--interval", "0"],
        );
        out.assert_code(1).assert_stderr("ended without results");
        let now = em.job(&job.id).expect("the job").json;
        assert_eq!(now["status"], "expired");
        assert_one_row(&table, &now, "-");
    }
}
