//! create-job, run as a built binary against the emulator.

use compliance_testkit::{
    assert_no_requests, assert_refused_before_any_request, emulator, fault, hostile, Route, Stage,
};

const BIN: &str = env!("CARGO_BIN_EXE_create-job");

#[test]
fn creates_a_named_job_and_prints_it() {
    let em = emulator();
    let out = Stage::new(BIN, &em).run(&["--type", "tweets", "--name", "archive-2026"]);
    out.assert_code(0);
    let job = out.json();
    assert_eq!(job["type"], "tweets");
    assert_eq!(job["status"], "created");
    assert_eq!(job["name"], "archive-2026");
    assert_eq!(job["resumable"], false);
    let id = job["id"].as_str().expect("id");
    // stdout is exactly the API's object.
    assert_eq!(job, em.job(id).expect("job in emulator").json);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn asks_for_a_resumable_upload() {
    let em = emulator();
    let out = Stage::new(BIN, &em).run(&["--type", "users", "--resumable"]);
    out.assert_code(0);
    assert_eq!(out.json()["resumable"], true);
    assert!(
        em.job(out.json()["id"].as_str().unwrap())
            .unwrap()
            .resumable
    );
}

#[test]
fn bad_flags_and_values_exit_2_before_any_request() {
    let em = emulator();
    let long_name = "n".repeat(65);
    let cases: &[(&[&str], &str)] = &[
        (&["--type", "tweet"], "--type must be tweets or users"),
        (&["--typo", "tweets"], "there is no flag --typo"),
        (&[], "Usage:"),
        (
            &["--type", "users", "--name", &long_name],
            "--name must be 1 to 64 characters",
        ),
        (
            &["--type", "users", "--name", ""],
            "--name must be 1 to 64 characters",
        ),
        (&["--type", "users", "extra"], "Usage:"),
    ];
    assert_refused_before_any_request(BIN, &em, cases);
}

#[test]
fn help_is_the_manual() {
    let out = Stage::bare(BIN).run(&["--help"]);
    out.assert_code(0);
    assert!(out.stdout.contains("Usage:") && out.stdout.contains("Exit codes:"));
}

#[test]
fn missing_token_exits_2_and_says_what_to_export() {
    let em = emulator();
    for token in [None, Some(""), Some("  ")] {
        let stage = Stage::new(BIN, &em);
        let stage = match token {
            None => stage.env_remove("BEARER_TOKEN"),
            Some(t) => stage.env("BEARER_TOKEN", t),
        };
        stage
            .run(&["--type", "tweets"])
            .assert_code(2)
            .assert_stderr("export BEARER_TOKEN=");
    }
    assert_no_requests(&em);
}

#[test]
fn wrong_token_says_to_check_it_and_never_prints_it() {
    let em = emulator();
    let out = Stage::new(BIN, &em)
        .env("BEARER_TOKEN", "canary-wrong-token-123")
        .run(&["--type", "tweets"]);
    out.assert_code(1)
        .assert_stderr("HTTP 401")
        .assert_stderr("check BEARER_TOKEN");
    assert!(!out.stderr.contains("canary-wrong-token-123") && !out.stdout.contains("canary"));
}

#[test]
fn a_name_is_reused_once_its_job_has_finished_not_while_active() {
    let em = emulator();
    let first = em.create_job("tweets", Some("mine"), false);
    // While the job with the name is active, the name is refused.
    let out = Stage::new(BIN, &em).run(&["--type", "tweets", "--name", "mine"]);
    out.assert_code(2)
        .assert_stderr(&format!("belongs to tweets job {}", first.id))
        .assert_stderr("still active")
        .assert_stderr("--replace");
    assert_eq!(em.jobs().len(), 1);
    // Once it has finished (here: expired), the name is free again.
    em.shift_clock(16 * 60);
    Stage::new(BIN, &em)
        .run(&["--type", "tweets", "--name", "mine"])
        .assert_code(0);
    // The same name on the other type is another handle.
    Stage::new(BIN, &em)
        .run(&["--type", "users", "--name", "mine"])
        .assert_code(0);
    assert_eq!(em.jobs().len(), 3);
}

#[test]
fn replace_cancels_the_active_job_and_says_which() {
    let em = emulator();
    let old = em.create_job("tweets", Some("monthly"), false);
    let out = Stage::new(BIN, &em).run(&["--type", "tweets", "--name", "monthly", "--replace"]);
    out.assert_code(0).assert_stderr(&format!(
        "cancelling tweets job {} (\"monthly\", created)",
        old.id
    ));
    assert_eq!(em.job(&old.id).unwrap().status, "failed");
    let new = out.json();
    assert_eq!(new["status"], "created");
    assert_ne!(new["id"], old.id.as_str());
    // Nothing active: --replace just creates.
    Stage::new(BIN, &em)
        .run(&["--type", "users", "--replace"])
        .assert_code(0);
}

#[test]
fn an_api_without_cancel_says_when_the_slot_frees() {
    let em = emulator();
    let old = em.create_job("tweets", None, false);
    em.fault(Route::CancelJob, fault::status(405));
    let out = Stage::new(BIN, &em).run(&["--type", "tweets", "--replace"]);
    out.assert_code(1)
        .assert_stderr("this API cannot cancel jobs")
        .assert_stderr("frees its slot when its upload window closes at");
    assert_eq!(em.job(&old.id).unwrap().status, "created");
    assert_eq!(em.jobs().len(), 1);
}

#[test]
fn conflict_names_the_active_job() {
    let em = emulator();
    let active = em.create_job("tweets", Some("first"), false);
    let out = Stage::new(BIN, &em).run(&["--type", "tweets"]);
    out.assert_code(1)
        .assert_stderr("HTTP 409")
        .assert_stderr(&format!("tweets job {} (\"first\", created)", active.id))
        .assert_stderr("or add --replace to cancel it");
    assert_eq!(em.jobs().len(), 1);
}

#[test]
fn server_errors_are_retried_and_never_make_two_jobs() {
    let em = emulator();
    em.fault(Route::CreateJob, fault::status(503));
    let out = Stage::new(BIN, &em).run(&["--type", "tweets", "--name", "r"]);
    out.assert_code(0)
        .assert_stderr("retry 1/5")
        .assert_stderr("HTTP 503");
    assert_eq!(em.jobs().len(), 1);
}

#[test]
fn without_retries_a_server_error_exits_1() {
    let em = emulator();
    em.fault(Route::CreateJob, fault::status(500));
    Stage::new(BIN, &em)
        .run(&["--type", "tweets", "--retries", "0"])
        .assert_code(1)
        .assert_stderr("HTTP 500");
    assert!(em.jobs().is_empty());
}

#[test]
fn plain_http_only_on_loopback() {
    Stage::bare(BIN)
        .env("BEARER_TOKEN", "t")
        .env("X_API_URL", "http://api.example.com")
        .run(&["--type", "tweets"])
        .assert_code(2)
        .assert_stderr("X_API_URL must be https://");
}

#[cfg(unix)]
#[test]
fn a_job_created_but_not_printed_is_named_on_stderr() {
    let em = emulator();
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    let Ok(full) = full else { return };
    let out = Stage::new(BIN, &em)
        .stdout(full)
        .run(&["--type", "tweets", "--name", "kept"]);
    out.assert_code(1)
        .assert_stderr("was created, but printing it failed");
    let jobs = em.jobs();
    assert_eq!(jobs.len(), 1);
    out.assert_stderr(&jobs[0].id);
}

#[test]
fn a_token_no_header_can_carry_is_a_usage_error_and_not_printed() {
    let em = emulator();
    for token in [
        "line1\r\nline2-secret",
        "tok\u{e9}n-secret",
        "two words-secret",
    ] {
        let out = Stage::new(BIN, &em)
            .env("BEARER_TOKEN", token)
            .run(&["--type", "tweets"]);
        out.assert_code(2)
            .assert_stderr("BEARER_TOKEN holds a character an HTTP header cannot carry")
            .assert_stderr_lacks("secret");
    }
    assert_no_requests(&em);
}

#[test]
fn a_503_never_adopts_the_job_another_run_made() {
    let em = emulator();
    // The first run makes its job.
    let first = Stage::new(BIN, &em).run(&["--type", "tweets"]);
    first.assert_code(0);
    let theirs = first.json()["id"].as_str().expect("id").to_string();
    // The second is answered a plain 503: its request made nothing, and the
    // first run's job, listed before it asked, is not its own.
    em.fault(Route::CreateJob, fault::status(503));
    let second = Stage::new(BIN, &em).run(&["--type", "tweets"]);
    second
        .assert_code(1)
        .assert_stderr("HTTP 503")
        .assert_stderr("HTTP 409")
        .assert_stderr(&format!("tweets job {theirs}"));
    second.assert_stderr_lacks("using it");
    assert_eq!(second.stdout, "", "no job is claimed");
    assert_eq!(em.jobs().len(), 1);
}

/// A job object as the API sends it, created at `created_at`.
fn job_json(id: &str, created_at: &str) -> String {
    let storage = format!("https://storage.googleapis.com/b/{id}");
    format!(
        r#"{{"id":"{id}","type":"tweets","status":"created","created_at":"{created_at}","upload_url":"{storage}/submission/x_{id}?X-Goog-Signature=s","upload_expires_at":"2099-01-01T00:00:00.000Z","download_url":"{storage}/delivery/x_{id}?X-Goog-Signature=s","download_expires_at":"2099-01-01T00:00:00.000Z","resumable":false}}"#
    )
}

/// An API whose list of jobs is `before` until a `POST` arrives, then
/// `after`; the `POST` loses its answer (the connection closes), a second
/// one is refused as a conflict.
fn api_losing_the_answer(before: &[String], after: &[String]) -> hostile::Hostile {
    let list = |jobs: &[String]| match jobs.is_empty() {
        true => "{}".to_string(),
        false => format!(r#"{{"data":[{}]}}"#, jobs.join(",")),
    };
    let (before, after) = (list(before), list(after));
    let posts = std::sync::atomic::AtomicUsize::new(0);
    hostile::Hostile::start(move |req, _| {
        use std::sync::atomic::Ordering;
        let json = [("Content-Type", "application/json")];
        match req.method.as_str() {
            "POST" if posts.fetch_add(1, Ordering::SeqCst) == 0 => {
                hostile::Answer::raw(Vec::new(), hostile::Then::Close)
            }
            "POST" => hostile::Answer::new(
                409,
                &[("Content-Type", "application/problem+json")],
                r#"{"type":"https://api.x.com/2/problems/conflict","title":"Conflict","detail":"A job of this type is already active."}"#,
            ),
            _ if posts.load(Ordering::SeqCst) == 0 => hostile::Answer::new(200, &json, &before),
            _ => hostile::Answer::new(200, &json, &after),
        }
    })
}

#[test]
fn after_a_lost_answer_only_a_job_that_can_be_this_runs_is_taken() {
    let now = compliance_core::time::Timestamp::now().to_string();
    let run = |api: &hostile::Hostile| {
        Stage::bare(BIN)
            .api(&api.origin(), "t")
            .run(&["--type", "tweets", "--retries", "1"])
    };
    // Listed before this run asked: another run's, even though created a
    // moment ago and just like the one asked for.
    let earlier = [job_json("111", &now)];
    let api = api_losing_the_answer(&earlier, &earlier);
    let out = run(&api);
    out.assert_code(1)
        .assert_stderr("retry 1/1")
        .assert_stderr("HTTP 409")
        .assert_stderr_lacks("using it");
    assert_eq!(out.stdout, "");
    // Two new jobs, either of which may be this run's: named, none taken.
    let api = api_losing_the_answer(&[], &[job_json("222", &now), job_json("333", &now)]);
    let out = run(&api);
    out.assert_code(1)
        .assert_stderr("tweets job 222")
        .assert_stderr("tweets job 333")
        .assert_stderr("none is taken as this run's")
        .assert_stderr("list-jobs --type tweets --status created");
    assert_eq!(out.stdout, "");
    assert_eq!(
        api.requests().iter().filter(|r| r.method == "POST").count(),
        1,
        "no second job asked for"
    );
    // One new job: this run's own, taken.
    let api = api_losing_the_answer(&[], &[job_json("444", &now)]);
    let out = run(&api);
    out.assert_code(0).assert_stderr("using it");
    assert_eq!(out.json()["id"], "444");
}
