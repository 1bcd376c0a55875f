//! The `compliance-emulator` binary: usage errors, the printed
//! environment, `--fault`, `--access-level`, `--log`; and a start that
//! fails, from the binary and from the library.

use std::io::{self, BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use compliance_emulator::{Config, Emulator};

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
fn help_to_a_reader_that_has_gone_is_no_panic() {
    // A pipe whose reader is gone before the first byte: `| head -0`.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(BIN)
        .arg("--help")
        .stdout(writer)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_export_lines_paste_into_a_shell_whatever_the_token() {
    for token in ["t0k", "a'b$c;d`e\\f\"g", "x=y"] {
        let mut emu = Spawned::new(&["--token", token]);
        let mut out = BufReader::new(emu.child.stdout.take().expect("stdout"));
        let mut lines = String::new();
        for _ in 0..2 {
            out.read_line(&mut lines).expect("line");
        }
        drop(emu);
        let script = format!("{lines}printf %s \"$BEARER_TOKEN\"");
        let shell = Command::new("bash")
            .args(["-c", &script])
            .output()
            .expect("bash");
        assert_eq!(String::from_utf8_lossy(&shell.stdout), token, "{lines}");
    }
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

/// The binary with `args`, its stdout and stderr piped, and the stop
/// signals at their default action whatever this test process inherited:
/// under `nohup`, or in a shell's background job, SIGHUP or SIGINT comes
/// ignored, and the emulator rightly keeps a signal it was started with
/// ignored so (see its usage). The tests of stopping want it as a
/// terminal gives it.
fn command(args: &[&str]) -> Command {
    use std::os::unix::process::CommandExt as _;
    let mut command = Command::new(BIN);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls may be made: signal(2) is one, and
    // nothing is allocated.
    unsafe {
        command.pre_exec(|| {
            for stop in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                if libc::signal(stop, libc::SIG_DFL) == libc::SIG_ERR {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    command
}

/// A started binary, stopped when dropped, on every path (a failed
/// assertion's too): SIGTERM, on which it removes its temp directory, and
/// SIGKILL if it has not gone within 5 s; then its data directory, once
/// known, is removed if still there.
struct Spawned {
    child: Child,
    data: Option<PathBuf>,
}

impl Spawned {
    fn new(args: &[&str]) -> Spawned {
        Spawned {
            child: command(args).spawn().expect("spawn"),
            data: None,
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(&self.child, libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(data) = &self.data {
            let _ = std::fs::remove_dir_all(data);
        }
    }
}

/// A running binary, its API URL, and its data directory as printed.
struct Running {
    process: Spawned,
    url: String,
    data: PathBuf,
    _stderr: BufReader<ChildStderr>,
}

impl Running {
    /// Sends `sig` and waits (bounded) for the exit.
    fn stop(&mut self, sig: i32) -> ExitStatus {
        signal(&self.process.child, sig);
        exit_of(&mut self.process.child)
    }
}

/// Starts the binary and reads what it prints at start: once the data
/// directory is printed, the stop signals are being waited for.
fn run(args: &[&str]) -> Running {
    let mut process = Spawned::new(args);
    let mut out = BufReader::new(process.child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("stdout line");
    let url = first
        .trim()
        .strip_prefix("export X_API_URL=")
        .unwrap_or_else(|| panic!("{first:?}"))
        .to_string();
    let mut err = BufReader::new(process.child.stderr.take().expect("stderr"));
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
    process.data = Some(data.clone());
    Running {
        process,
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

/// The emulator's default token, as the `Authorization` header gives it.
const BEARER: &str = "Bearer emulator-token";

/// `POST /2/compliance/jobs` of the JSON `body` to the API at `url`, with
/// `auth` as the `Authorization` header.
fn post_job(url: &str, auth: &str, body: &str) -> Reply {
    let headers = [
        ("Authorization", auth),
        ("Content-Type", "application/json"),
    ];
    send(
        &format!("{url}/2/compliance/jobs"),
        "POST",
        &headers,
        body.as_bytes(),
    )
}

/// `GET` of `path` from the API at `url`, with `auth` as the
/// `Authorization` header.
fn get(url: &str, path: &str, auth: &str) -> Reply {
    send(
        &format!("{url}{path}"),
        "GET",
        &[("Authorization", auth)],
        b"",
    )
}

/// Puts a job with an upload and results into the data directory.
fn fill(url: &str) {
    let create = post_job(url, BEARER, r#"{"type":"tweets"}"#);
    assert_eq!(create.status, 200, "{}", create.text());
    let upload_url = create.json()["data"]["upload_url"]
        .as_str()
        .expect("upload_url")
        .to_string();
    assert_eq!(put_ids(&upload_url, &ids(100).into_bytes()).status, 200);
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
    assert_eq!(emu.stop(sig).code(), Some(code));
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
    let dir = TempDir::new();
    let data = dir.path("data");
    let mut emu = run(&["--data-dir", data.to_str().expect("utf-8 path")]);
    assert_eq!(emu.data, data);
    fill(&emu.url);
    assert_eq!(emu.stop(libc::SIGTERM).code(), Some(143));
    assert!(data.join("uploads").is_dir());
}

#[test]
fn the_binary_shows_in_progress_by_default() {
    let mut emu = run(&[]);
    let create = post_job(&emu.url, BEARER, r#"{"type":"users"}"#);
    let job = create.json()["data"].clone();
    let upload = put_ids(
        job["upload_url"].as_str().expect("url"),
        &ids(10).into_bytes(),
    );
    assert_eq!(upload.status, 200);
    let id = job["id"].as_str().expect("id");
    let got = get(&emu.url, &format!("/2/compliance/jobs/{id}"), BEARER);
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
    assert_eq!(emu.stop(libc::SIGTERM).code(), Some(143));
}

#[test]
fn prints_the_environment_and_serves_with_faults() {
    let dir = TempDir::new();
    let data = dir.path("data");
    let mut emu = Spawned::new(&[
        "--token",
        "t0k",
        "--fault",
        "create:status=503*1",
        "--rate-limit",
        "7",
        "--data-dir",
        data.to_str().expect("utf-8 path"),
    ]);
    let mut out = BufReader::new(emu.child.stdout.take().expect("stdout"));
    let mut lines = [String::new(), String::new()];
    for l in &mut lines {
        out.read_line(l).expect("line");
    }
    let mut err = String::new();
    BufReader::new(emu.child.stderr.take().expect("stderr"))
        .read_line(&mut err)
        .expect("stderr line");
    assert!(err.contains("until interrupted"), "{err}");
    let url = lines[0]
        .trim()
        .strip_prefix("export X_API_URL=http://127.0.0.1:")
        .map(|port| format!("http://127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("{:?}", lines[0]));
    assert_eq!(lines[1].trim(), "export BEARER_TOKEN=t0k");
    let create = |auth: &str| post_job(&url, auth, r#"{"type":"tweets"}"#);
    assert_eq!(create("Bearer t0k").status, 503);
    let r = create("Bearer t0k");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-rate-limit-limit"), Some("7"));
    assert_eq!(create("Bearer emulator-token").status, 401);
    drop(emu);
    assert!(data.join("uploads").is_dir(), "a given data dir stays");
}

/// Runs the binary, which must refuse to start; returns its exit status
/// and stderr. Bounded: a binary that serves instead is killed.
fn refused(args: &[&str], tmpdir: Option<&std::path::Path>) -> (ExitStatus, String) {
    let mut cmd = command(args);
    if let Some(dir) = tmpdir {
        cmd.env("TMPDIR", dir);
    }
    let mut child = cmd.spawn().expect("spawn");
    let status = exit_of(&mut child);
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("stdout");
    assert!(out.is_empty(), "{args:?} printed {out:?}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    (status, err)
}

#[test]
fn values_no_client_can_use_exit_2_naming_the_flag() {
    let dir = TempDir::new();
    let missing = dir.path("no-such-dir").join("requests.log");
    let missing = missing.to_str().expect("utf-8 path");
    for (args, named) in [
        (&["--rate-limit", "0"][..], "--rate-limit"),
        (&["--rate-window", "0"], "--rate-window"),
        (&["--upload-window", "0"], "--upload-window"),
        (&["--download-window", "0"], "--download-window"),
        (&["--read-timeout", "0"], "--read-timeout"),
        (&["--token", ""], "--token"),
        (&["--token", "two words"], "--token"),
        (&["--token", "tab\there"], "--token"),
        (&["--token", "t\r\nX-Injected: 1"], "--token"),
        (&["--access-level", "enterprise"], "--access-level"),
        (
            &["--access-level", "basic", "--rate-limit", "0"],
            "--rate-limit",
        ),
        (&["--log", missing], missing),
    ] {
        let (status, err) = refused(args, None);
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        let first = err.lines().next().unwrap_or("");
        assert!(
            first.starts_with("compliance-emulator: ") && first.contains(named),
            "{args:?}: {err}"
        );
    }
    assert!(!std::path::Path::new(missing).exists());
}

#[test]
fn an_access_level_by_flag_sets_each_endpoints_limit() {
    let limits = |args: &[&str]| {
        let mut emu = run(args);
        let create = post_job(&emu.url, BEARER, r#"{"type":"tweets"}"#);
        let list = get(&emu.url, "/2/compliance/jobs?type=tweets", BEARER);
        assert_eq!(emu.stop(libc::SIGTERM).code(), Some(143));
        let limit = |r: &Reply| r.header("x-rate-limit-limit").map(str::to_string);
        (limit(&create), limit(&list))
    };
    let some = |n: &str| Some(n.to_string());
    assert_eq!(limits(&[]), (some("150"), some("150")));
    assert_eq!(
        limits(&["--access-level", "basic"]),
        (some("15"), some("5"))
    );
    // --rate-limit overrides the level's limits, on every endpoint.
    assert_eq!(
        limits(&["--access-level", "free", "--rate-limit", "9"]),
        (some("9"), some("9"))
    );
}

#[test]
fn a_start_on_a_port_in_use_creates_nothing() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let dir = TempDir::new();
    let data = dir.path("data");
    for (api, storage, origin) in [(port, 0, "API"), (0, port, "storage")] {
        let config = Config {
            data_dir: Some(data.clone()),
            ..Config::default()
        };
        let err = Emulator::start_on(config, api, storage).expect_err("the port is taken");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(
            err.to_string()
                .contains(&format!("{origin} on 127.0.0.1:{port}")),
            "{err}"
        );
        assert!(!data.exists(), "{data:?} left behind");
    }
    // A log file that cannot be opened fails the start the same way.
    let config = Config {
        data_dir: Some(data.clone()),
        log: Some(data.join("no-such-dir").join("requests.log")),
        ..Config::default()
    };
    let err = Emulator::start(config).expect_err("no such directory");
    assert!(err.to_string().contains("requests.log"), "{err}");
    assert!(!data.exists(), "{data:?} left behind");
}

#[test]
fn a_start_that_fails_exits_1_and_leaves_no_temp_dir() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    // The binary's temp directory goes under TMPDIR: one of our own, so
    // that what other tests create does not count.
    let tmp = TempDir::new();
    for flag in ["--port", "--storage-port"] {
        let (status, err) = refused(&[flag, &port], Some(&tmp.path("")));
        assert_eq!(status.code(), Some(1), "{flag}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("compliance-emulator: cannot start: ") && err.contains(&port),
            "{err}"
        );
        assert!(
            tmp.names().is_empty(),
            "{flag}: left behind {:?}",
            tmp.names()
        );
    }
}

#[test]
fn the_log_has_a_json_line_per_request_without_secrets() {
    let dir = TempDir::new();
    let path = dir.path("requests.jsonl");
    let mut emu = run(&["--log", path.to_str().expect("utf-8 path")]);
    let create_body = r#"{"type":"tweets","resumable":true}"#;
    let create = post_job(&emu.url, BEARER, create_body);
    assert_eq!(create.status, 200, "{}", create.text());
    let job = create.json()["data"].clone();
    let upload_url = job["upload_url"].as_str().expect("upload_url");
    let session = start_session(upload_url);
    let put = send(
        &session,
        "PUT",
        &[("Content-Range", "bytes 0-3/4")],
        b"1\n2\n",
    );
    assert_eq!(put.status, 200, "{}", put.text());
    let id = job["id"].as_str().expect("id");
    let got = get(&emu.url, &format!("/2/compliance/jobs/{id}"), BEARER);
    assert_eq!(got.status, 200);
    let refused = get(&emu.url, "/2/compliance/jobs", "Bearer not-the-token");
    assert_eq!(refused.status, 401);
    assert_eq!(emu.stop(libc::SIGTERM).code(), Some(143));

    let text = std::fs::read_to_string(&path).expect("log");
    let signature = query_value(upload_url, "X-Goog-Signature").expect("signature");
    let upload_id = query_value(&session, "upload_id").expect("upload_id");
    for secret in [
        signature,
        upload_id,
        "emulator-token",
        "not-the-token",
        "Bearer",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let lines = log_lines(&path);
    let summary: Vec<(&str, &str, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["origin"].as_str().expect("origin"),
                l["method"].as_str().expect("method"),
                l["status"].as_u64().expect("status"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("api", "POST", 200),
            ("storage", "POST", 201),
            ("storage", "PUT", 200),
            ("api", "GET", 200),
            ("api", "GET", 401),
        ],
        "{text}"
    );
    assert_eq!(lines[0]["path"], "/2/compliance/jobs");
    assert_eq!(lines[0]["bytes_received"], create_body.len());
    assert_eq!(lines[0]["bytes_sent"], create.body.len());
    // The signed URL as sent, its signature and session id redacted.
    let (_, upload_target) = split_url(upload_url);
    assert_eq!(
        lines[1]["path"],
        upload_target.replace(signature, "REDACTED")
    );
    let (_, session_target) = split_url(&session);
    assert_eq!(
        lines[2]["path"],
        session_target
            .replace(signature, "REDACTED")
            .replace(upload_id, "REDACTED")
    );
    assert_eq!(
        (&lines[2]["bytes_received"], &lines[2]["bytes_sent"]),
        (&serde_json::json!(4), &serde_json::json!(put.body.len()))
    );
    assert_eq!(lines[3]["bytes_sent"], got.body.len());
}
