//! Runs the stage binaries against an emulator, for the integration tests:
//! the one kit of the workspace's tests, the emulator's own included.
//!
//! Each test starts its own [`Emulator`] on a free loopback port, so tests run
//! in parallel without sharing anything; [`Stage`] runs a built binary with
//! `X_API_URL` and `BEARER_TOKEN` pointing at it and captures what it printed.
//!
//! - an emulator: [`emulator`], or [`emulator_with`] a config of its own;
//!   faults for it in a line each from [`fault`];
//! - a job: [`finished_job`] (created, given [`ids`], processed), or
//!   [`upload`] and [`await_status`] for the steps;
//! - a stage: [`Stage::new`] for a package's own binary, [`Stage::program`]
//!   for another built program, [`assert_refused_before_any_request`] for
//!   bad command lines;
//! - files: [`TempDir`], removed when dropped;
//! - the wire: [`http`], a raw client, and [`hostile`], a server that
//!   misbehaves on purpose.

pub mod archive;
pub mod fault;
pub mod hostile;
pub mod http;
#[cfg(target_os = "linux")]
pub mod pty;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use compliance_emulator::{
    Config, Emulator, Fault, Flavour, JobSnapshot, Origin, RateLimits, RequestRecord, Route,
};

/// The five stage programs.
pub const STAGES: [&str; 5] = [
    "create-job",
    "upload-ids",
    "list-job",
    "list-jobs",
    "download-results",
];

/// A file or folder of this repository, by its path from the root, as in
/// `in_repo("lifecycle.sh")`.
pub fn in_repo(path: &str) -> PathBuf {
    let testkit = Path::new(env!("CARGO_MANIFEST_DIR"));
    testkit.parent().expect("the repository").join(path)
}

/// An emulator with the default [`Config`], on free loopback ports.
pub fn emulator() -> Emulator {
    emulator_with(|_| {})
}

/// An emulator whose [`Config`] `tweak` changed from the default, as in
/// `emulator_with(|c| c.event_percent = 100)`.
pub fn emulator_with(tweak: impl FnOnce(&mut Config)) -> Emulator {
    let mut config = Config::default();
    tweak(&mut config);
    Emulator::start(config).expect("start the emulator")
}

/// `n` distinct IDs of 19 digits, tweet-like, one a line: 20 bytes each.
pub fn ids(n: u64) -> String {
    ids_from(1_425_543_269_983_784_962, n)
}

/// `n` IDs from `first` on, 7,919 apart (a prime: their events at any
/// share are spread), one a line; of 19 digits, 20 bytes each, while they
/// stay below 10^19.
pub fn ids_from(first: u64, n: u64) -> String {
    (0..n).map(|i| format!("{}\n", first + i * 7_919)).collect()
}

/// A job of `job_type` named `name`, made on `em` and given `ids` as a
/// user's run would, then processed: it is returned `complete`, its
/// results waiting behind its download URL.
#[track_caller]
pub fn finished_job(
    em: &Emulator,
    job_type: &str,
    name: Option<&str>,
    ids: impl AsRef<[u8]>,
) -> JobSnapshot {
    let job = em.create_job(job_type, name, false);
    assert_eq!(upload(em, &job.id, ids.as_ref()), 200, "the upload");
    await_status(em, &job.id, "complete")
}

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

impl From<std::process::Output> for Output {
    /// What a program run by [`Command::output`] printed, as text.
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
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

    /// Asserts a usage error as every program gives one: exit 2, nothing
    /// on stdout, and the last line of stderr pointing to `program -h`;
    /// returns the first line, the one that says what is wrong.
    #[track_caller]
    pub fn assert_usage_error(&self, program: &str) -> &str {
        self.assert_code(2);
        assert!(self.stdout.is_empty(), "stdout of a usage error: {self:?}");
        assert_eq!(
            self.stderr.lines().last(),
            Some(format!("see {program} -h for the options, --help for the manual").as_str()),
            "{}",
            self.stderr
        );
        self.stderr.lines().next().unwrap_or_default()
    }

    /// Asserts that stderr does not hold `needle`.
    #[track_caller]
    pub fn assert_stderr_lacks(&self, needle: &str) -> &Output {
        assert!(
            !self.stderr.contains(needle),
            "stderr holds {needle:?}:\n{}",
            self.stderr
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
    close_stdout: bool,
}

impl Stage {
    /// The binary at `path` (in a test, `env!("CARGO_BIN_EXE_<name>")`), aimed at `emulator`.
    pub fn new(path: impl AsRef<Path>, emulator: &Emulator) -> Stage {
        Stage::bare(path).at(emulator)
    }

    /// The built program `name` (a stage, apply-results, the emulator)
    /// with no API settings: see [`sibling_binary`].
    pub fn program(name: &str) -> Stage {
        Stage::bare(sibling_binary(name))
    }

    /// Aimed at `emulator`: its API's URL and token.
    pub fn at(self, emulator: &Emulator) -> Stage {
        self.api(&emulator.base_url(), emulator.token())
    }

    /// Aimed at the API at `origin` (`X_API_URL`) with `token` (`BEARER_TOKEN`).
    pub fn api(self, origin: &str, token: &str) -> Stage {
        self.env("X_API_URL", origin).env("BEARER_TOKEN", token)
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
            close_stdout: false,
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
        self.env("PATH", &programs_first_path())
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

    /// Gives the stage a pipe for standard output whose reader is gone
    /// before a byte is written, as `| head -c0` leaves it.
    pub fn stdout_closed(mut self) -> Stage {
        self.stdout = Some(Stdio::piped());
        self.close_stdout = true;
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
        if self.close_stdout {
            drop(child.stdout.take());
        }
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

/// Runs the stage at `path`, aimed at `emulator`, with each command line
/// of `cases`: each must be a usage error (exit 2) whose stderr says the
/// case's words. Then no request may have reached the emulator: bad input
/// is refused before anything is asked of the API.
#[track_caller]
pub fn assert_refused_before_any_request(
    path: impl AsRef<Path>,
    emulator: &Emulator,
    cases: &[(&[&str], &str)],
) {
    for (args, says) in cases {
        Stage::new(path.as_ref(), emulator)
            .run(args)
            .assert_code(2)
            .assert_stderr(says);
    }
    assert_no_requests(emulator);
}

/// Asserts that no request has reached `emulator`, on either origin;
/// else fails showing those that did.
#[track_caller]
pub fn assert_no_requests(emulator: &Emulator) {
    let requests = emulator.requests();
    assert!(
        requests.is_empty(),
        "requests reached the emulator: {requests:#?}"
    );
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

/// `PATH` with the built programs' folder first, as a user who installed
/// them has it: for scripts such as lifecycle.sh and the recipes.
pub fn programs_first_path() -> String {
    let built = sibling_binary("apply-results");
    let folder = built.parent().expect("target folder");
    format!(
        "{}:{}",
        folder.display(),
        std::env::var("PATH").unwrap_or_default()
    )
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

    /// A new folder holding one file, `name` with `contents`; returns the
    /// folder and the file's path, as a string for a command line.
    pub fn holding(name: &str, contents: impl AsRef<[u8]>) -> (TempDir, String) {
        let dir = TempDir::new();
        let file = dir.write(name, contents);
        (dir, file)
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

    /// A FIFO made in the folder by `mkfifo`; returns its path.
    #[track_caller]
    pub fn fifo(&self, name: &str) -> PathBuf {
        let fifo = self.path(name);
        let made = Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", fifo.display());
        fifo
    }

    /// A folder this test cannot write in: a read-only one in this folder,
    /// or, for root, who writes anywhere, /sys.
    #[cfg(unix)]
    pub fn unwritable_folder(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let folder = self.path("read-only");
        std::fs::create_dir(&folder).expect("create a folder");
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555))
            .expect("make it read-only");
        match std::fs::write(folder.join("probe"), b"") {
            Err(_) => folder,
            Ok(()) => PathBuf::from("/sys"),
        }
    }
}

/// Reads the file at `path` whole on a thread of its own: the reader of a
/// FIFO that a stage writes.
pub fn read_in_background(path: &Path) -> std::thread::JoinHandle<Vec<u8>> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    })
}

/// Asserts that the file at `path` holds exactly `want`, showing where not.
#[track_caller]
pub fn assert_file(path: &Path, want: &[u8]) {
    let got = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_same_bytes(&path.display().to_string(), &got, want);
}

/// Asserts that `got` is `want` byte for byte; else fails showing, as
/// text, the bytes around the first that differs. `what` names them.
#[track_caller]
pub fn assert_same_bytes(what: &str, got: &[u8], want: &[u8]) {
    if got == want {
        return;
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let around = |b: &[u8]| {
        String::from_utf8_lossy(&b[at.saturating_sub(80)..(at + 120).min(b.len())]).into_owned()
    };
    panic!(
        "{what} differs at byte {at} ({} bytes, want {}):\n got: {}\nwant: {}",
        got.len(),
        want.len(),
        around(got),
        around(want)
    );
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
    let job = emulator.job(job_id).expect("job exists");
    http::put_ids(&job.upload_url, body).status
}

/// Waits, polling the emulator's own state, until a job has `status`, and
/// returns it then; panics after 30 s, saying what status the job had.
#[track_caller]
pub fn await_status(emulator: &Emulator, job_id: &str, status: &str) -> JobSnapshot {
    let mut now = None;
    await_condition(
        Lazy(|| {
            let was = emulator.job(job_id).map(|j| j.status);
            format!("job {job_id} is {was:?}, not {status}")
        }),
        Duration::from_secs(30),
        || {
            now = emulator.job(job_id);
            now.as_ref().is_some_and(|j| j.status == status)
        },
    );
    now.expect("the job")
}

/// A message written only when shown.
struct Lazy<F>(F);

impl<F: Fn() -> String> fmt::Display for Lazy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&(self.0)())
    }
}
