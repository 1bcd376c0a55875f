//! The `compliance-emulator` binary: usage errors, the printed
//! environment, and `--fault`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_compliance-emulator");

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--bogus"][..],
        &["--port", "x"],
        &["--flavour", "s3"],
        &["--event-percent", "101"],
        &["--fault", "create:teapot=1"],
        &["extra"],
    ] {
        let out = Command::new(BIN).args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(!out.stderr.is_empty());
    }
    let help = Command::new(BIN).arg("--help").output().expect("run");
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Usage:") && text.contains("ROUTE:KIND=VALUE[*TIMES]"),
        "{text}"
    );
}

#[test]
fn prints_the_environment_and_serves_with_faults() {
    // A killed process cannot clean up a temp dir: give it one to remove.
    let data = std::env::temp_dir().join(format!("emulator-binary-test-{}", std::process::id()));
    let mut child = Command::new(BIN)
        .args([
            "--token",
            "t0k",
            "--fault",
            "create:status=503*1",
            "--rate-limit",
            "7",
        ])
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = [String::new(), String::new()];
    for l in &mut lines {
        out.read_line(l).expect("line");
    }
    let mut err = String::new();
    BufReader::new(child.stderr.take().expect("stderr"))
        .read_line(&mut err)
        .expect("stderr line");
    assert!(err.contains("until interrupted"), "{err}");
    let url = lines[0]
        .trim()
        .strip_prefix("export X_API_URL=http://127.0.0.1:")
        .map(|port| format!("http://127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("{:?}", lines[0]));
    assert_eq!(lines[1].trim(), "export BEARER_TOKEN=t0k");
    let create = |auth: &str| {
        send(
            &format!("{url}/2/compliance/jobs"),
            "POST",
            &[
                ("Authorization", auth),
                ("Content-Type", "application/json"),
            ],
            br#"{"type":"tweets"}"#,
        )
    };
    assert_eq!(create("Bearer t0k").status, 503);
    let r = create("Bearer t0k");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-rate-limit-limit"), Some("7"));
    assert_eq!(create("Bearer emulator-token").status, 401);
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert!(data.join("uploads").is_dir());
    std::fs::remove_dir_all(&data).expect("remove data dir");
}
