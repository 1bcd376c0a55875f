//! list-jobs, run as a built binary against the emulator.

use compliance_testkit::fault::{self, Times as _};
use compliance_testkit::{assert_refused_before_any_request, emulator, Emulator, Route, Stage};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_list-jobs");

fn ids(out: &compliance_testkit::Output) -> Vec<String> {
    let list = out.json();
    let list = list.as_array().expect("a JSON array");
    list.iter()
        .map(|j| j["id"].as_str().expect("id").to_string())
        .collect()
}

#[test]
fn no_jobs_is_an_empty_array() {
    let em = emulator();
    let out = Stage::new(BIN, &em).run(&[]);
    out.assert_code(0);
    assert_eq!(out.stdout.trim(), "[]");
}

#[test]
fn lists_both_types_newest_first() {
    let em = emulator();
    let tweets = em.create_job("tweets", Some("t"), false);
    em.shift_clock(1);
    let users = em.create_job("users", None, false);
    let out = Stage::new(BIN, &em).run(&[]);
    out.assert_code(0);
    assert_eq!(ids(&out), [users.id.clone(), tweets.id.clone()]);
    // Each job exactly as the API has it.
    assert_eq!(out.json()[1], tweets.json);

    let out = Stage::new(BIN, &em).run(&["--type", "users"]);
    assert_eq!(ids(&out), [users.id]);
}

#[test]
fn filters_by_status_and_expired_locally() {
    let em = emulator();
    let old = em.create_job("tweets", None, false);
    em.shift_clock(16 * 60);
    let new = em.create_job("tweets", None, false);
    let out = Stage::new(BIN, &em).run(&["--type", "tweets", "--status", "created"]);
    assert_eq!(ids(&out), [new.id]);
    let out = Stage::new(BIN, &em).run(&["--type", "tweets", "--status", "expired"]);
    out.assert_code(0);
    assert_eq!(ids(&out), [old.id]);
    // The API rejects status=expired, so it must never be asked for.
    assert!(em
        .requests()
        .iter()
        .all(|r| !r.target.contains("status=expired")));
}

#[test]
fn bad_values_exit_2_before_any_request() {
    let em = emulator();
    Stage::new(BIN, &em)
        .env_remove("BEARER_TOKEN")
        .run(&[])
        .assert_code(2)
        .assert_stderr("BEARER_TOKEN");
    let cases: &[(&[&str], &str)] = &[
        (&["--status", "done"], "--status must be one of"),
        (&["--type", "all"], "--type must be"),
        (&["--stauts", "created"], "there is no flag --stauts"),
    ];
    assert_refused_before_any_request(BIN, &em, cases);
}

#[test]
fn wrong_token_and_rate_limit_exit_1() {
    let em = emulator();
    Stage::new(BIN, &em)
        .env("BEARER_TOKEN", "nope")
        .run(&[])
        .assert_code(1)
        .assert_stderr("check BEARER_TOKEN");
    // A reset further off than the retries may take: fail at once, saying when.
    em.fault(Route::ListJobs, fault::rate_limited(3600));
    Stage::new(BIN, &em)
        .run(&["--type", "tweets", "--retry-time", "60"])
        .assert_code(1)
        .assert_stderr("the rate limit resets at");
}

#[test]
fn a_near_rate_limit_reset_is_waited_for() {
    let em = emulator();
    em.fault(Route::ListJobs, fault::rate_limited(1));
    let out = Stage::new(BIN, &em).run(&["--type", "tweets"]);
    out.assert_code(0)
        .assert_stderr("waiting until the rate limit resets at");
    assert_eq!(out.stdout.trim(), "[]");
}

#[test]
fn errors_alone_are_a_failure_with_the_apis_message() {
    let em = emulator();
    em.fault(
        Route::ListJobs,
        fault::body(200, "application/json", br#"{"errors":[{"title":"Service Unavailable","detail":"Compliance is down for maintenance."}]}"#),
    );
    let out = Stage::new(BIN, &em).run(&["--type", "tweets"]);
    out.assert_code(1)
        .assert_stderr("Compliance is down for maintenance");
    assert!(out.stdout.is_empty(), "no [] that looks like an answer");
}

#[test]
fn an_empty_list_is_empty_in_either_form() {
    let em = emulator();
    for body in [&b"{}"[..], br#"{"meta":{"result_count":0}}"#] {
        em.fault(Route::ListJobs, fault::body(200, "application/json", body));
        let out = Stage::new(BIN, &em).run(&["--type", "tweets"]);
        out.assert_code(0);
        assert_eq!(out.json(), serde_json::json!([]));
    }
}

#[test]
fn an_answer_too_big_for_the_api_fails_at_once() {
    let em = emulator();
    em.fault(Route::ListJobs, fault::oversized(65 << 20).times(10));
    let out = Stage::new(BIN, &em).run(&["--type", "tweets"]);
    out.assert_code(1).assert_stderr("64 MiB");
    assert_eq!(em.requests().len(), 1, "not retried");
}

#[test]
fn a_refused_connection_is_tried_once_more_and_names_x_api_url() {
    let started = std::time::Instant::now();
    let out = Stage::bare(BIN)
        .api("http://127.0.0.1:1", "token-for-nobody")
        .run(&["--type", "tweets"]);
    out.assert_code(1)
        .assert_stderr("refused the connection")
        .assert_stderr("X_API_URL=http://127.0.0.1:1")
        .assert_stderr("(or the emulator) running?")
        .assert_stderr("gave up after 2 attempts");
    assert_eq!(out.stderr.matches("retry ").count(), 1, "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn x_api_url_must_be_an_origin() {
    for url in [
        "http://127.0.0.1:1/2",
        "https://api.x.com/2/compliance",
        "https://api.x.com?a=b",
    ] {
        Stage::bare(BIN)
            .api(url, "token")
            .run(&["--type", "tweets"])
            .assert_code(2)
            .assert_stderr("must be an origin")
            .assert_stderr("such as https://api.x.com");
    }
}

/// On a terminal, a table for a person; piped, or with `--json`, the JSON
/// scripts have always read.
#[cfg(target_os = "linux")]
mod terminal {
    use super::*;
    use compliance_core::Job;
    use compliance_testkit::pty::{column, on_a_terminal, to_the_minute};
    use compliance_testkit::{await_status, upload};

    /// A complete tweets job named `my-archive`, then a users job without
    /// a name: the jobs as the API has them now, newest first.
    fn two_jobs(em: &Emulator) -> Vec<serde_json::Value> {
        let tweets = em.create_job("tweets", Some("my-archive"), false);
        assert_eq!(upload(em, &tweets.id, b"20\n21\n"), 200);
        await_status(em, &tweets.id, "complete");
        em.shift_clock(1);
        let users = em.create_job("users", None, false);
        [users.id, tweets.id]
            .iter()
            .map(|id| em.job(id).expect("the job").json)
            .collect()
    }

    #[test]
    fn a_table_of_the_jobs_newest_first() {
        let em = emulator();
        let jobs = two_jobs(&em);
        let (out, table) = on_a_terminal(Stage::new(BIN, &em), &[]);
        out.assert_code(0);
        assert!(table.starts_with("ID  "), "{table}");
        assert_eq!(table.lines().count(), 3, "{table}");
        let created: Vec<_> = jobs
            .iter()
            .map(|j| to_the_minute(&j["created_at"]))
            .collect();
        let until = to_the_minute(&jobs[1]["download_expires_at"]);
        let expected: [(&str, [&str; 2]); 6] = [
            (
                "ID",
                [
                    jobs[0]["id"].as_str().unwrap(),
                    jobs[1]["id"].as_str().unwrap(),
                ],
            ),
            ("TYPE", ["users", "tweets"]),
            ("NAME", ["-", "my-archive"]),
            ("STATUS", ["created", "complete"]),
            ("CREATED", [&created[0], &created[1]]),
            ("RESULTS UNTIL", ["-", &until]),
        ];
        for (title, cells) in expected {
            assert_eq!(column(&table, title), cells, "{title}:\n{table}");
        }
    }

    #[test]
    fn piped_or_with_json_the_json_of_before_byte_for_byte() {
        let em = emulator();
        let jobs: Vec<Job> = two_jobs(&em)
            .into_iter()
            .map(|j| Job::from_value(j).expect("a job"))
            .collect();
        let before = serde_json::to_string_pretty(&jobs).unwrap() + "\n";
        let piped = Stage::new(BIN, &em).run(&[]);
        piped.assert_code(0);
        assert_eq!(piped.stdout, before);
        let asked = Stage::new(BIN, &em).run(&["--json"]);
        asked.assert_code(0);
        assert_eq!(asked.stdout, before);
        let (out, shown) = on_a_terminal(Stage::new(BIN, &em), &["--json"]);
        out.assert_code(0);
        assert_eq!(shown, before, "--json on a terminal");
    }

    #[test]
    fn no_jobs_is_one_line_saying_which() {
        let em = emulator();
        em.create_job("users", None, false);
        let (out, shown) = on_a_terminal(Stage::new(BIN, &em), &["--type", "tweets"]);
        out.assert_code(0);
        assert_eq!(shown, "no tweets jobs\n");
        let (out, shown) = on_a_terminal(Stage::new(BIN, &em), &["--status", "complete"]);
        out.assert_code(0);
        assert_eq!(shown, "no tweets or users jobs with status complete\n");
    }
}
