//! list-job, run as a built binary against the emulator.

use compliance_testkit::{await_status, upload, Config, Emulator, Stage};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_list-job");

fn emulator() -> Emulator {
    Emulator::start(Config::default()).expect("start emulator")
}

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
    Stage::new(BIN, &em)
        .run(&["--name", "ab"])
        .assert_code(1)
        .assert_stderr("no tweets or users job named \"ab\"");
    Stage::new(BIN, &em)
        .run(&["--name", "abc", "--type", "users"])
        .assert_code(1)
        .assert_stderr("no users job named \"abc\"");
}

#[test]
fn several_with_the_name_takes_the_newest_and_says_so() {
    let em = emulator();
    let old = em.create_job("tweets", Some("dup"), false);
    em.shift_clock(16 * 60);
    let new = em.create_job("tweets", Some("dup"), false);
    let out = Stage::new(BIN, &em).run(&["--name", "dup", "--type", "tweets"]);
    out.assert_code(0).assert_stderr("2 jobs are named \"dup\"");
    assert_eq!(out.json()["id"], new.id.as_str());
    assert!(out.stderr.contains(&old.id));
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
        (&["--id", "1", "--wiat"], "Unknown flag"),
        (&[], "Usage:"),
    ];
    for (args, message) in cases {
        Stage::new(BIN, &em)
            .run(args)
            .assert_code(2)
            .assert_stderr(message);
    }
    assert!(em.requests().is_empty());
}

#[test]
fn wait_polls_until_complete() {
    let em = Emulator::start(Config {
        processing_delay: Duration::from_millis(700),
        ..Config::default()
    })
    .expect("start emulator");
    let job = em.create_job("tweets", Some("w"), false);
    assert_eq!(upload(&em, &job.id, b"20\n21\n"), 200);
    await_status(&em, &job.id, "in_progress", Duration::from_secs(10));
    let out = Stage::new(BIN, &em).run(&["--name", "w", "--wait", "--interval", "0.1"]);
    out.assert_code(0)
        .assert_stderr("in_progress")
        .assert_stderr("complete after");
    assert_eq!(out.json()["status"], "complete");
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
    assert!(em.requests().is_empty());
}
