//! The bearer token never shows: all five stages, on success and on error,
//! run with a canary token that must appear in no output and reach no storage.

use compliance_testkit::{
    assert_transfers_on_the_api_origin, await_status, emulator_with, fault, from_the_tools, ids,
    Emulator, Flavour, Origin, Output, Route, Stage, TempDir,
};

const CANARY: &str = "canary-AAAAx7Qk93fJd0token";

fn assert_clean(out: &Output) {
    assert!(
        !out.stdout.contains(CANARY) && !out.stderr.contains(CANARY),
        "the token leaked:\n{out:?}"
    );
    // Nor any recognisable part of it.
    assert!(
        !out.stdout.contains("x7Qk93") && !out.stderr.contains("x7Qk93"),
        "{out:?}"
    );
}

#[test]
fn the_token_appears_nowhere() {
    let em = emulator_with(|c| {
        c.token = CANARY.into();
        c.event_percent = 20;
    });
    let (dir, file) = TempDir::holding("ids.txt", ids(500));
    let results = dir.path("r.jsonl");
    let stage = |name: &str| Stage::program(name).at(&em);
    let mut outs = Vec::new();

    outs.push(stage("create-job").run(&["--type", "tweets", "--name", "canary"]));
    outs.push(stage("list-jobs").run(&[]));
    em.fault(Route::Upload, fault::status(503));
    outs.push(stage("upload-ids").run(&["--ids-file", &file, "--name", "canary"]));
    outs.push(stage("list-job").run(&["--name", "canary", "--wait", "--interval", "0.05"]));
    em.fault(Route::Download, fault::close_response(100));
    outs.push(stage("download-results").run(&[
        "--name",
        "canary",
        "--results-file",
        results.to_str().unwrap(),
    ]));
    for out in &outs {
        out.assert_code(0);
        assert_clean(out);
    }
    // Error paths too: a wrong state, an unknown id, a refused URL.
    outs.clear();
    outs.push(stage("upload-ids").run(&["--ids-file", &file, "--name", "canary"]));
    outs.push(stage("list-job").run(&["--id", "1"]));
    outs.push(stage("download-results").run(&[
        "--url",
        "http://127.0.0.1:9/x?X-Goog-Signature=s",
        "--results-file",
        "-",
        "--retries",
        "0",
    ]));
    // Another tweets job is active: a conflict.
    em.create_job("tweets", Some("in-the-way"), false);
    outs.push(stage("create-job").run(&["--type", "tweets", "--name", "canary"]));
    for out in &outs {
        assert_ne!(out.code, 0);
        assert_clean(out);
    }
    let requests = em.requests();
    let storage: Vec<_> = requests
        .iter()
        .filter(|r| r.origin == Origin::Storage)
        .collect();
    for r in &storage {
        assert!(
            r.headers.iter().all(|(_, v)| !v.contains(CANARY)),
            "token sent to storage: {} {}",
            r.method,
            r.target
        );
        assert!(!r.target.contains(CANARY));
    }
    // What was checked: the upload and its retry after the 503, and the
    // download and its resume after the broken answer, all the tools'.
    let tools = |method: &str| {
        storage
            .iter()
            .filter(|r| r.method == method && from_the_tools(r))
            .count()
    };
    assert_eq!(
        (tools("PUT"), tools("GET")),
        (2, 2),
        "storage requests checked: {storage:#?}"
    );
}

/// An emulator of the `api` flavour (spec 2.168) whose token is the
/// canary; a folder; and an ID file of two IDs in it.
fn api_flavour_with_the_canary() -> (Emulator, TempDir, String) {
    let em = emulator_with(|c| {
        c.token = CANARY.into();
        c.flavour = Flavour::Api;
    });
    let (dir, file) = TempDir::holding("ids.txt", "5\n6\n");
    (em, dir, file)
}

#[test]
fn the_token_goes_only_to_the_api_origin_in_the_2026_flow() {
    let (em, _dir, file) = api_flavour_with_the_canary();
    let job = em.create_job("users", None, false);
    let stage = |name: &str| Stage::program(name).at(&em);
    let out = stage("upload-ids").run(&["--ids-file", &file, "--id", &job.id]);
    out.assert_code(0);
    assert_clean(&out);
    await_status(&em, &job.id, "complete");
    let out = stage("download-results").run(&["--id", &job.id, "--results-file", "-"]);
    out.assert_code(0);
    assert_clean(&out);
    // Same origin: upload and download carry the token, as the API asks.
    assert_transfers_on_the_api_origin(&em);
}

#[test]
fn a_server_that_echoes_the_token_is_scrubbed_in_every_stage() {
    let (em, _dir, file) = api_flavour_with_the_canary();
    let stage = |name: &str| Stage::program(name).at(&em);
    let echo = |route| em.fault(route, fault::echo_auth(400));
    let mut outs = Vec::new();
    echo(Route::CreateJob);
    outs.push(stage("create-job").run(&["--type", "users", "--name", "echo"]));
    echo(Route::ListJobs);
    outs.push(stage("list-jobs").run(&["--type", "users"]));
    let job = em.create_job("users", Some("echo"), false);
    echo(Route::GetJob);
    outs.push(stage("list-job").run(&["--id", &job.id]));
    echo(Route::Upload);
    outs.push(stage("upload-ids").run(&["--ids-file", &file, "--id", &job.id, "--retries", "0"]));
    assert_eq!(compliance_testkit::upload(&em, &job.id, b"5\n6\n"), 200);
    await_status(&em, &job.id, "complete");
    echo(Route::Download);
    outs.push(stage("download-results").run(&["--id", &job.id, "--results-file", "-"]));
    for out in &outs {
        out.assert_code(1)
            .assert_stderr("bad header: Bearer <redacted>");
        assert_clean(out);
    }
}

/// A server that echoes the token cut in two by a line break (and its JSON
/// escape), as a wrapped log line would: no piece of it may be printed,
/// although the message is folded to one line.
#[test]
fn a_token_echoed_with_a_line_break_inside_leaves_no_piece() {
    use compliance_testkit::hostile::{Answer, Hostile};
    let token = "AAAAAAAAAAAAAAAAAAAAAWrapTestToken0123456789abcdefXYZqrs";
    let (head, tail) = token.split_at(29);
    let server = Hostile::start(move |_, n| {
        let body = match n % 2 {
            0 => format!("{{\"title\":\"Unauthorized\",\"detail\":\"Bearer {head}\\n{tail} is not valid\",\"type\":\"about:blank\",\"status\":401}}"),
            _ => format!("{{\"title\":\"Unauthorized\",\"detail\":\"seen: {head}\r\n  {tail}\",\"type\":\"about:blank\",\"status\":401}}"),
        };
        Answer::new(401, &[("Content-Type", "application/problem+json")], body)
    });
    for _ in 0..2 {
        let out = Stage::program("list-jobs")
            .api(&server.origin(), token)
            .run(&["--type", "tweets"]);
        out.assert_code(1);
        for piece in token.as_bytes().windows(12) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(
                !out.stderr.contains(piece) && !out.stdout.contains(piece),
                "{piece:?} printed:\n{}",
                out.stderr
            );
        }
        out.assert_stderr("<redacted>");
    }
}

/// Whatever a server sends is shown, never obeyed: a reason holding
/// terminal escapes (retitle, clear the screen, CSI) reaches stderr as
/// escapes, and the JSON on stdout holds none raw.
#[test]
fn terminal_escapes_from_a_server_are_shown_not_obeyed() {
    use compliance_testkit::hostile::{Answer, Hostile};
    let body = "{\"id\":\"1\",\"action\":\"delete\",\"reason\":\"\\u001b]0;pwned\\u0007\\u001b[2J\\u009b1m\"}\n";
    let server =
        Hostile::start(move |_, _| Answer::new(200, &[("Content-Type", "text/plain")], body));
    let dir = TempDir::new();
    let out = Stage::program("download-results")
        .api(&server.origin(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .run(&[
            "--url",
            &server.url("/results"),
            "--results-file",
            dir.path("r.jsonl").to_str().unwrap(),
        ]);
    out.assert_code(0);
    let acts = |c: char| c.is_control() && c != '\n';
    assert!(
        !out.stderr.chars().any(acts),
        "raw control characters on stderr: {:?}",
        out.stderr
    );
    assert!(
        !out.stdout.chars().any(acts),
        "raw control characters on stdout: {:?}",
        out.stdout
    );
    assert!(out.stderr.contains("\\u{1b}]0;pwned"), "{}", out.stderr);
    let json: serde_json::Value = out.json();
    assert!(json["reasons"]
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.contains("pwned")));
}
