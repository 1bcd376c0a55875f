//! The `compliance-emulator` binary: usage errors, the printed
//! environment, and `--fault`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

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
    assert!(
        text.contains("see in_progress [default: 5]"),
        "the binary's delay: {text}"
    );
}

#[test]
fn version_names_the_program() {
    let want = format!("compliance-emulator {}\n", env!("CARGO_PKG_VERSION"));
    for flag in ["--version", "-V"] {
        let out = Command::new(BIN).arg(flag).output().expect("run");
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{flag}");
    }
}

/// A running binary, its API URL, and its data directory as printed.
struct Running {
    child: Child,
    url: String,
    data: PathBuf,
    _stderr: BufReader<ChildStderr>,
}

/// Starts the binary and reads what it prints at start: once the data
/// directory is printed, the stop signals are being waited for.
fn run(args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("stdout line");
    let url = first
        .trim()
        .strip_prefix("export X_API_URL=")
        .unwrap_or_else(|| panic!("{first:?}"))
        .to_string();
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let data = loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).expect("stderr line") > 0,
            "no data line"
        );
        if let Some(dir) = line
            .trim_end()
            .strip_prefix("compliance-emulator: data in ")
        {
            break PathBuf::from(dir);
        }
    };
    Running {
        child,
        url,
        data,
        _stderr: err,
    }
}

/// Waits (bounded) for the process to exit.
fn exit_of(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the emulator did not stop");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sends a signal to our own child; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// Puts a job with an upload and results into the data directory.
fn fill(url: &str) {
    let create = send(
        &format!("{url}/2/compliance/jobs"),
        "POST",
        &[
            ("Authorization", "Bearer emulator-token"),
            ("Content-Type", "application/json"),
        ],
        br#"{"type":"tweets"}"#,
    );
    assert_eq!(create.status, 200, "{}", create.text());
    let upload_url = create.json()["data"]["upload_url"]
        .as_str()
        .expect("upload_url")
        .to_string();
    assert_eq!(put_ids(&upload_url, &ids(100)).status, 200);
}

fn stops_on(sig: i32, code: i32) {
    let mut emu = run(&[]);
    assert!(emu.data.starts_with(std::env::temp_dir()), "{:?}", emu.data);
    fill(&emu.url);
    assert!(
        std::fs::read_dir(emu.data.join("uploads"))
            .expect("uploads")
            .count()
            > 0
    );
    signal(&emu.child, sig);
    let status = exit_of(&mut emu.child);
    assert_eq!(status.code(), Some(code));
    assert!(!emu.data.exists(), "{:?} left behind", emu.data);
}

#[test]
fn sigint_removes_the_temp_dir_and_exits_130() {
    stops_on(libc::SIGINT, 130);
}

#[test]
fn sigterm_removes_the_temp_dir_and_exits_143() {
    stops_on(libc::SIGTERM, 143);
}

#[test]
fn a_given_data_dir_stays() {
    let data = std::env::temp_dir().join(format!("emulator-binary-keep-{}", std::process::id()));
    let path = data.to_str().expect("utf-8 path");
    let mut emu = run(&["--data-dir", path]);
    assert_eq!(emu.data, data);
    fill(&emu.url);
    signal(&emu.child, libc::SIGTERM);
    assert_eq!(exit_of(&mut emu.child).code(), Some(143));
    assert!(data.join("uploads").is_dir());
    std::fs::remove_dir_all(&data).expect("remove data dir");
}

#[test]
fn the_binary_shows_in_progress_by_default() {
    let mut emu = run(&[]);
    let create = send(
        &format!("{}/2/compliance/jobs", emu.url),
        "POST",
        &[
            ("Authorization", "Bearer emulator-token"),
            ("Content-Type", "application/json"),
        ],
        br#"{"type":"users"}"#,
    );
    let job = create.json()["data"].clone();
    let upload = put_ids(job["upload_url"].as_str().expect("url"), &ids(10));
    assert_eq!(upload.status, 200);
    let id = job["id"].as_str().expect("id");
    let got = send(
        &format!("{}/2/compliance/jobs/{id}", emu.url),
        "GET",
        &[("Authorization", "Bearer emulator-token")],
        b"",
    );
    // Five seconds of processing: far longer than this took.
    let job = &got.json()["data"];
    assert_eq!(job["status"], "in_progress");
    let secs_of_day = |k: &str| {
        let t = job[k].as_str().unwrap_or_else(|| panic!("{k}: {job}"));
        let p = |r: std::ops::Range<usize>| t[r].parse::<i64>().expect("digits");
        p(11..13) * 3600 + p(14..16) * 60 + p(17..19)
    };
    let ahead =
        (secs_of_day("estimated_completion") - secs_of_day("created_at")).rem_euclid(86_400);
    assert!((5..=7).contains(&ahead), "{job}");
    signal(&emu.child, libc::SIGTERM);
    assert_eq!(exit_of(&mut emu.child).code(), Some(143));
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
