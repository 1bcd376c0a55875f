//! Runs the stage binaries against an emulator, for the integration tests.
//!
//! Each test starts its own [`Emulator`] on a free loopback port, so tests run
//! in parallel without sharing anything; [`Stage`] runs a built binary with
//! `X_API_URL` and `BEARER_TOKEN` pointing at it and captures what it printed.

pub mod archive;
pub mod hostile;
#[cfg(target_os = "linux")]
pub mod pty;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use compliance_emulator::{
    Config, Emulator, Fault, Flavour, Origin, RateLimits, RequestRecord, Route,
};

/// What a finished stage printed, and how it exited.
#[derive(Debug)]
pub struct Output {
    /// The exit code (-1 if killed by a signal).
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Output {
    /// stdout parsed as JSON; panics with both streams if it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self:?}"))
    }

    /// Asserts the exit code, showing both streams if it differs.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stderr holds `needle`.
    #[track_caller]
    pub fn assert_stderr(&self, needle: &str) -> &Output {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// One stage binary, run with a clean environment.
pub struct Stage {
    command: Command,
    stdin: Option<Vec<u8>>,
    stdout: Option<Stdio>,
}

impl Stage {
    /// The binary at `path` (in a test, `env!("CARGO_BIN_EXE_<name>")`), aimed at `emulator`.
    pub fn new(path: impl AsRef<Path>, emulator: &Emulator) -> Stage {
        Stage::bare(path)
            .env("X_API_URL", &emulator.base_url())
            .env("BEARER_TOKEN", emulator.token())
    }

    /// The binary at `path` with no API settings at all.
    pub fn bare(path: impl AsRef<Path>) -> Stage {
        let mut command = Command::new(path.as_ref());
        for var in [
            "X_API_URL",
            "BEARER_TOKEN",
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            command.env_remove(var);
        }
        command.stdin(Stdio::null());
        Stage {
            command,
            stdin: None,
            stdout: None,
        }
    }

    /// Sets an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Stage {
        self.command.env(name, value);
        self
    }

    /// Sets an environment variable to any bytes, text or not.
    pub fn env_os(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Stage {
        self.command.env(name, value);
        self
    }

    /// Runs it in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Stage {
        self.command.current_dir(dir);
        self
    }

    /// Puts the built programs (the stages, apply-results, the emulator)
    /// first on `PATH`, as a user who installed them has them: for scripts
    /// such as lifecycle.sh and the recipes.
    pub fn programs_first_on_path(self) -> Stage {
        let built = sibling_binary("apply-results");
        let folder = built.parent().expect("target folder");
        let path = format!(
            "{}:{}",
            folder.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        self.env("PATH", &path)
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, name: &str) -> Stage {
        self.command.env_remove(name);
        self
    }

    /// Sends the stage's standard output there instead of capturing it.
    pub fn stdout(mut self, to: impl Into<Stdio>) -> Stage {
        self.stdout = Some(to.into());
        self
    }

    /// Gives the stage `bytes` on standard input, through a pipe (else
    /// its standard input is empty, `/dev/null`).
    pub fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Stage {
        self.stdin = Some(bytes.into());
        self
    }

    /// Runs with `args` and waits for the exit.
    pub fn run(self, args: &[&str]) -> Output {
        self.spawn(args).wait()
    }

    /// Starts with `args`, without waiting: for a test that acts while the
    /// stage runs.
    pub fn spawn(mut self, args: &[&str]) -> Running {
        use std::io::{Read, Write};
        let stdout = self.stdout.take().unwrap_or_else(Stdio::piped);
        self.command
            .args(args)
            .stdout(stdout)
            .stderr(Stdio::piped());
        if self.stdin.is_some() {
            self.command.stdin(Stdio::piped());
        }
        let mut child = self
            .command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", self.command.get_program()));
        // Each stream on its own thread, so that none fills up and blocks the stage.
        let feed = child.stdin.take().zip(self.stdin).map(|(mut pipe, bytes)| {
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes); // the stage may stop reading early
            })
        });
        let drain = |stream: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                if let Some(mut stream) = stream {
                    let _ = stream.read_to_end(&mut text);
                }
                String::from_utf8_lossy(&text).into_owned()
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        Running {
            child,
            feed,
            stdout,
            stderr,
        }
    }
}

/// A stage started by [`Stage::spawn`].
pub struct Running {
    child: std::process::Child,
    feed: Option<std::thread::JoinHandle<()>>,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Running {
    /// Waits for the exit.
    pub fn wait(mut self) -> Output {
        let status = self.child.wait().expect("wait for the stage");
        self.output(Some(status))
    }

    /// Waits for the exit; a stage still running after `limit` is killed, and
    /// the test fails showing what it printed.
    #[track_caller]
    pub fn wait_within(mut self, limit: Duration) -> Output {
        let mut status = None;
        let exited = poll(limit, || {
            status = self.child.try_wait().expect("wait for the stage");
            status.is_some()
        });
        if !exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let out = self.output(status);
        assert!(exited, "still running after {limit:?}, killed: {out:?}");
        out
    }

    fn output(self, status: Option<std::process::ExitStatus>) -> Output {
        if let Some(feed) = self.feed {
            let _ = feed.join();
        }
        Output {
            code: status.and_then(|s| s.code()).unwrap_or(-1),
            stdout: self.stdout.join().unwrap_or_default(),
            stderr: self.stderr.join().unwrap_or_default(),
        }
    }
}

/// Polls `condition` every 10 ms until it holds; panics with `what` after
/// `limit`. A condition awaited, not a sleep guessed: the one poller of the
/// tests. `what` is formatted only on failure, so it may show the state then.
#[track_caller]
pub fn await_condition(what: impl fmt::Display, limit: Duration, condition: impl FnMut() -> bool) {
    if !poll(limit, condition) {
        panic!("{what}: not so after {limit:?}");
    }
}

/// The loop behind [`await_condition`]: whether `condition` held within `limit`.
fn poll(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if condition() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The path of a sibling stage binary in the same target folder as the
/// running test, for tests that drive several stages (`cargo test --workspace`
/// builds them all).
pub fn sibling_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target folder");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace`",
        path.display()
    );
    path
}

/// A fresh folder for a test's files, removed when dropped: a
/// [`tempfile::TempDir`] with a few conveniences for the stage tests.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// A new empty folder under the system temp folder, unique to this test.
    pub fn new() -> TempDir {
        TempDir(
            tempfile::Builder::new()
                .prefix("compliance-test-")
                .tempdir()
                .expect("create temp folder"),
        )
    }

    /// A path inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Writes a file inside the folder and returns its path as a string.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write test file");
        path.to_string_lossy().into_owned()
    }

    /// The names of the files in the folder, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.0.path())
            .expect("read temp folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

/// Whether a request came from one of the tools (a stage, or the core in
/// process): they all send a `compliance-tools/…` User-Agent, which a
/// test's own setup requests (such as [`upload`]) do not.
pub fn from_the_tools(request: &RequestRecord) -> bool {
    request
        .header("user-agent")
        .is_some_and(|agent| agent.starts_with("compliance-tools/"))
}

/// Asserts that the tools sent requests to storage and that no request
/// there carried an `Authorization` header. Storage requests from the tools
/// must be there: a stage that never reached storage (or an emulator of the
/// `api` flavour, which has none) fails the check instead of passing it
/// unexamined.
#[track_caller]
pub fn assert_no_auth_to_storage(emulator: &Emulator) {
    let requests = emulator.requests();
    let storage: Vec<&RequestRecord> = requests
        .iter()
        .filter(|r| r.origin == Origin::Storage)
        .collect();
    assert!(
        storage.iter().any(|r| from_the_tools(r)),
        "no request from the tools reached storage, so none could be checked: {requests:#?}"
    );
    for r in &storage {
        assert!(
            r.header("authorization").is_none(),
            "Authorization reached storage: {} {}",
            r.method,
            r.target
        );
    }
}

/// For an emulator of the `api` flavour, whose upload and download URLs are
/// on the API's origin: asserts that nothing went to storage, that the tools
/// both uploaded and downloaded, and that every one of those requests went
/// to the API's origin with the bearer token, as the API asks.
#[track_caller]
pub fn assert_transfers_on_the_api_origin(emulator: &Emulator) {
    let requests = emulator.requests();
    let storage = requests
        .iter()
        .filter(|r| r.origin == Origin::Storage)
        .count();
    assert_eq!(storage, 0, "requests reached storage: {requests:#?}");
    let token = format!("Bearer {}", emulator.token());
    for kind in ["/upload?", "/download?"] {
        let transfers: Vec<&RequestRecord> = requests
            .iter()
            .filter(|r| r.target.contains(kind) && from_the_tools(r))
            .collect();
        assert!(
            !transfers.is_empty(),
            "no {kind} request from the tools: {requests:#?}"
        );
        for r in transfers {
            assert_eq!(r.origin, Origin::Api, "{} {}", r.method, r.target);
            assert_eq!(
                r.header("authorization"),
                Some(token.as_str()),
                "{} {} without the token",
                r.method,
                r.target
            );
        }
    }
}

/// Uploads `body` to a job's simple upload URL with a bare HTTP/1.1 `PUT`, as
/// a test's setup step; returns the HTTP status.
pub fn upload(emulator: &Emulator, job_id: &str, body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let job = emulator.job(job_id).expect("job exists");
    let rest = job
        .upload_url
        .strip_prefix("http://")
        .expect("loopback http URL");
    let (host, target) = rest.split_at(rest.find('/').expect("URL has a path"));
    let mut stream = std::net::TcpStream::connect(host).expect("connect to the emulator");
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send head");
    stream.write_all(body).expect("send body");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read answer");
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

/// Waits, polling the emulator's own state, until a job has `status`; panics
/// after `limit`, saying what status the job had then.
#[track_caller]
pub fn await_status(emulator: &Emulator, job_id: &str, status: &str, limit: Duration) {
    let now = || emulator.job(job_id).map(|j| j.status);
    await_condition(
        Lazy(|| format!("job {job_id} is {:?}, not {status}", now())),
        limit,
        || now().as_deref() == Some(status),
    );
}

/// A message written only when shown.
struct Lazy<F>(F);

impl<F: Fn() -> String> fmt::Display for Lazy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&(self.0)())
    }
}
