//! lifecycle.sh, the whole run in one command, against the emulator: split
//! into parts, stopped by a failure in the middle, and finished by the
//! re-run; a bad ID file creates no job. And as a hostile user runs it: a
//! state that belongs to other IDs, a run interrupted while it reads
//! standard input, two runs at once, results files that are not plain
//! files, names and sizes that cannot work.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use compliance_testkit::fault::{self, Times as _};
use compliance_testkit::{
    assert_no_requests, await_condition, await_status, emulator_with, ids_from, in_repo,
    programs_first_path, read_in_background, Emulator, Output, Route, TempDir, STAGES,
};

fn script() -> PathBuf {
    in_repo("lifecycle.sh")
}

/// lifecycle.sh with `args`, the built programs first on PATH, aimed at
/// the API at `api`; in a process group of its own, so that a test can
/// stop it and every program it started, as Ctrl-C would.
fn command(api: &str, token: &str, args: &[&str]) -> Command {
    let mut command = bash(api, token);
    command.arg(script()).args(args);
    command
}

/// bash, set up as [`command`] runs lifecycle.sh, for the arguments given.
fn bash(api: &str, token: &str) -> Command {
    let mut command = Command::new("bash");
    command
        .env("PATH", programs_first_path())
        .env("X_API_URL", api)
        .env("BEARER_TOKEN", token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    command
}

/// Starts lifecycle.sh against `em` with a pipe on its standard input.
fn spawn(em: &Emulator, args: &[&str]) -> Child {
    command(&em.base_url(), em.token(), args)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run bash lifecycle.sh")
}

/// Waits for a lifecycle.sh started by [`spawn`].
fn finish(child: Child) -> Output {
    Output::from(child.wait_with_output().expect("wait for lifecycle.sh"))
}

/// Runs lifecycle.sh against `em`, with `stdin` on its standard input.
fn lifecycle(em: &Emulator, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = spawn(em, args);
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        // The run may stop before it reads them all.
        let _ = pipe.write_all(bytes);
    }
    drop(pipe);
    finish(child)
}

/// A command line lifecycle.sh printed, pasted into bash as a person would,
/// in the environment of [`command`].
fn pasted(em: &Emulator, line: &str) -> Output {
    let out = bash(&em.base_url(), em.token()).args(["-c", line]).output();
    Output::from(out.expect("run bash -c"))
}

/// Sends `signal` to a lifecycle.sh and every program it started (its
/// process group), as a terminal sends Ctrl-C.
fn signal_group(child: &Child, signal: &str) {
    let group = format!("-{}", child.id());
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), "--", &group])
        .status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -{signal} {group}");
}

/// Kills a lifecycle.sh and every program it started (its process group).
fn kill_group(child: &mut Child) {
    signal_group(child, "KILL");
    let _ = child.wait();
}

/// A lifecycle.sh started by [`spawn`] whose stderr the test reads as it
/// comes, to act at a point of the run.
struct Watched {
    child: Child,
    stderr: Arc<Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Watched {
    fn new(mut child: Child) -> Watched {
        let pipe = child.stderr.take().expect("stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            let mut pipe = BufReader::new(pipe);
            let mut line = Vec::new();
            while pipe.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&line));
                line.clear();
            }
        });
        Watched {
            child,
            stderr,
            reader,
        }
    }

    /// Waits until stderr holds `text`.
    fn await_stderr(&self, text: &str) {
        await_condition(SoFar(text, &self.stderr), Duration::from_secs(30), || {
            self.stderr.lock().unwrap().contains(text)
        });
    }

    fn finish(self) -> Output {
        let mut out = finish(self.child);
        self.reader.join().expect("stderr reader");
        out.stderr = self.stderr.lock().unwrap().clone();
        out
    }
}

/// What a watched run awaits on stderr, and what it printed so far: shown
/// when the wait fails.
struct SoFar<'a>(&'a str, &'a Mutex<String>);

impl std::fmt::Display for SoFar<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let so_far = self.1.lock().unwrap();
        write!(f, "stderr holds {:?}; so far:\n{so_far}", self.0)
    }
}

/// The process `name` that `parent` started, if it runs now.
fn child_named(parent: u32, name: &str) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // pid (comm) state ppid ...
            let (head, rest) = stat.rsplit_once(") ")?;
            let comm = head.split_once(" (")?.1;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (comm == name && ppid == parent).then_some(pid)
        })
}

/// Waits until no process holds the lock on the state folder `state` (the
/// programs of a killed run may take a moment to go).
fn await_unlocked(state: &Path) {
    await_condition(
        format!("the lock on {} is free", state.display()),
        Duration::from_secs(10),
        || {
            !state.exists()
                || Command::new("flock")
                    .args(["-n", state.to_str().unwrap(), "true"])
                    .status()
                    .is_ok_and(|s| s.success())
        },
    );
}

fn emulator() -> Emulator {
    emulator_processing(Duration::ZERO)
}

/// An emulator whose jobs stay `in_progress` for `delay` after an upload.
fn emulator_processing(delay: Duration) -> Emulator {
    emulator_with(|c| {
        c.event_percent = 30;
        c.processing_delay = delay;
        c.rate_limits = compliance_testkit::RateLimits::uniform(100_000);
    })
}

/// 120 IDs of 19 digits: 2,400 bytes normalised, with CRLF and blank lines.
fn ids() -> (String, String) {
    let ids: Vec<String> = (0..120u64)
        .map(|i| (1_500_000_000_000_000_000 + i * 104_729).to_string())
        .collect();
    let messy: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| format!("{id}\r\n{}", if i % 50 == 0 { "\r\n" } else { "" }))
        .collect();
    let normalised: String = ids.iter().map(|id| format!("{id}\n")).collect();
    (messy, normalised)
}

#[test]
fn a_split_run_puts_every_part_in_one_results_file() {
    let em = emulator();
    let dir = TempDir::new();
    let (messy, normalised) = ids();
    let file = dir.write("ids.txt", &messy);
    let results = dir.path("results.jsonl");
    let out = lifecycle(
        &em,
        &run_args(
            &file,
            &results,
            &["--name", "monthly", "--part-size", "1000"],
        ),
        None,
    );
    out.assert_code(0)
        .assert_stderr("$ upload-ids --ids-file")
        .assert_stderr("$ create-job --type tweets --name monthly-3")
        .assert_stderr("holds the results of 3 job(s)");
    let jobs = em.jobs();
    assert_eq!(jobs.len(), 3, "one job a part");
    let names: Vec<_> = jobs
        .iter()
        .map(|j| j.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["monthly", "monthly-2", "monthly-3"]);
    let sent: Vec<u8> = jobs
        .iter()
        .flat_map(|j| em.uploaded(&j.id).expect("uploaded"))
        .collect();
    assert_eq!(sent, normalised.as_bytes(), "every ID once, in order");
    let expected = em.expected_results("tweets", normalised.as_bytes());
    assert!(!expected.is_empty());
    assert_eq!(std::fs::read(&results).unwrap(), expected);
    assert_eq!(dir.names(), ["ids.txt", "results.jsonl"], "no state left");
}

#[test]
fn a_failure_in_the_middle_stops_and_the_re_run_finishes() {
    let em = emulator();
    let dir = TempDir::new();
    let (messy, normalised) = ids();
    let results = dir.path("results.jsonl");
    let args = [
        "--type",
        "users",
        "--ids-file",
        "-",
        "--results-file",
        results.to_str().unwrap(),
        "--part-size",
        "1000",
    ];
    // The first part's upload goes through; the second's is refused.
    em.fault(Route::Upload, fault::pass());
    em.fault(Route::Upload, fault::status(403));
    let out = lifecycle(&em, &args, Some(messy.as_bytes()));
    out.assert_code(1)
        .assert_stderr("upload-ids failed (exit 1) for part 2 of 3")
        .assert_stderr("It leaves users job")
        .assert_stderr("To go on from there, run the same command again: ");
    assert_sentences_stand_alone(&out);
    assert!(
        !results.exists(),
        "no results file before every part is done"
    );
    assert_eq!(em.jobs().len(), 2);

    // The same command again, the same IDs on standard input.
    let out = lifecycle(&em, &args, Some(messy.as_bytes()));
    let first = &em.jobs()[0].id;
    out.assert_code(0)
        .assert_stderr("going on with the unfinished run")
        .assert_stderr(&format!(
            "part 1: job {first} of an earlier run is complete"
        ))
        .assert_stderr("of an earlier run is created");
    assert_eq!(em.jobs().len(), 3, "part 2 went on with its job");
    let expected = em.expected_results("users", normalised.as_bytes());
    assert_eq!(std::fs::read(&results).unwrap(), expected);
    assert_eq!(dir.names(), ["results.jsonl"]);
}

#[test]
fn a_bad_id_file_creates_no_job() {
    let em = emulator();
    let (dir, file) = TempDir::holding("ids.txt", "1\nnot an id\n");
    let results = dir.path("r.jsonl");
    let out = lifecycle(&em, &run_args(&file, &results, &[]), None);
    out.assert_code(2).assert_stderr("line 2 \"not an id\"");
    assert!(em.jobs().is_empty());
    assert_no_requests(&em);
}

#[test]
fn one_part_without_splitting() {
    let em = emulator();
    let dir = TempDir::new();
    let (messy, normalised) = ids();
    let file = dir.write("ids.txt", &messy);
    let results = dir.path("r.jsonl");
    lifecycle(&em, &run_args(&file, &results, &[]), None).assert_code(0);
    assert_eq!(em.jobs().len(), 1);
    assert_results(&em, &results, "tweets", &normalised);
}

/// The CSV download-results writes of the emulator's `jsonl` results (whose
/// fields never need quotes).
fn csv_of(jsonl: &[u8]) -> String {
    let mut csv = String::from("id,action,reason,created_at,redacted_at\n");
    for line in jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let event: serde_json::Value = serde_json::from_slice(line).expect("a results line");
        let field = |key: &str| event[key].as_str().unwrap_or_default().to_string();
        let row = ["id", "action", "reason", "created_at", "redacted_at"].map(field);
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    csv
}

#[test]
fn a_split_csv_run_has_one_header_then_every_part_s_rows() {
    let em = emulator();
    let dir = TempDir::new();
    // Four parts of 20 IDs (400 bytes each) once sorted: the first two
    // without an event, so their CSV would be the header alone.
    let has_event = |id: &u64| {
        !em.expected_results("users", format!("{id}\n").as_bytes())
            .is_empty()
    };
    let candidates = || (0..2000u64).map(|i| 1_500_000_000_000_000_000 + i * 104_729);
    let quiet: Vec<u64> = candidates().filter(|id| !has_event(id)).take(40).collect();
    let mixed: Vec<u64> = candidates().skip(1000).take(40).collect();
    let lines = |ids: &[u64]| -> String { ids.iter().map(|id| format!("{id}\n")).collect() };
    // In the file, out of order: the IDs are sent sorted.
    let file = dir.write(
        "ids.txt",
        lines(&[&mixed[20..], &quiet[..20], &mixed[..20], &quiet[20..]].concat()),
    );
    let sorted = lines(&[&quiet[..], &mixed[..]].concat());
    let jsonl = em.expected_results("users", sorted.as_bytes());
    let part_events = |part: usize| {
        let of_part: String = sorted
            .lines()
            .skip(part * 20)
            .take(20)
            .map(|l| format!("{l}\n"))
            .collect();
        let part_jsonl = em.expected_results("users", of_part.as_bytes());
        part_jsonl
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
    };
    assert_eq!((part_events(0), part_events(1)), (0, 0));
    assert!(part_events(2) > 0 && part_events(3) > 0, "IDs with events");
    let results = dir.path("results.csv");
    let args = [
        "--type",
        "users",
        "--ids-file",
        &file,
        "--results-file",
        results.to_str().unwrap(),
        "--part-size",
        "400",
        "--format",
        "csv",
    ];
    // The second job's results are refused: the run stops with every job done.
    em.fault(Route::Download, fault::pass());
    em.fault(Route::Download, fault::status(403));
    lifecycle(&em, &args, None)
        .assert_code(1)
        .assert_stderr("--format csv --results-file")
        .assert_stderr("download-results failed (exit 1); the 4 job(s) of this run are complete");
    assert!(!results.exists());
    let out = lifecycle(&em, &args, None);
    out.assert_code(0)
        .assert_stderr("of an earlier run is complete")
        .assert_stderr("holds the results of 4 job(s)");
    assert_eq!(em.jobs().len(), 4, "no job made again");
    let csv = std::fs::read_to_string(&results).unwrap();
    assert_eq!(csv, csv_of(&jsonl));
    assert_eq!(csv.matches("id,action").count(), 1, "one header line");
    assert_eq!(dir.names(), ["ids.txt", "results.csv"], "no state left");
}

#[test]
fn a_bad_format_is_exit_2_before_any_job() {
    let em = emulator();
    let (dir, file) = TempDir::holding("ids.txt", "1\n");
    let results = dir.path("r.csv");
    let results = results.to_str().unwrap();
    let base = [
        "--type",
        "tweets",
        "--ids-file",
        &file,
        "--results-file",
        results,
    ];
    for (format, says) in [
        (
            &["--format", "xml"][..],
            "--format must be jsonl or csv, not 'xml'",
        ),
        (
            &["--format", "CSV"],
            "--format must be jsonl or csv, not 'CSV'",
        ),
        (&["--format", ""], "--format must be jsonl or csv, not ''"),
        (&["--format"], "--format needs a value"),
    ] {
        let args = [&base[..], format].concat();
        lifecycle(&em, &args, None)
            .assert_code(2)
            .assert_stderr(says);
    }
    assert_no_requests(&em);
    assert_eq!(dir.names(), ["ids.txt"]);
    let help = lifecycle(&em, &["--help"], None);
    help.assert_code(0);
    assert!(
        help.stdout.contains("[--format jsonl|csv]") && help.stdout.contains("--format F "),
        "{}",
        help.stdout
    );
}

/// Asserts that `results` holds exactly what the emulator gives a `kind`
/// job for `ids`.
#[track_caller]
fn assert_results(em: &Emulator, results: &Path, kind: &str, ids: &str) {
    assert_eq!(
        std::fs::read(results).unwrap(),
        em.expected_results(kind, ids.as_bytes())
    );
}

/// The first of the IDs most runs here send.
const FIRST_ID: u64 = 1_450_000_000_000_000_000;

/// The first of other IDs, none of them among those from [`FIRST_ID`].
const OTHER_FIRST_ID: u64 = 1_460_000_000_000_000_000;

/// What most runs here start from: a folder, `n` IDs from [`FIRST_ID`]
/// in its ids.txt, that file's path, and r.jsonl there (not yet made) for
/// the results.
fn setup(n: u64) -> (TempDir, String, String, PathBuf) {
    let dir = TempDir::new();
    let all = ids_from(FIRST_ID, n);
    let file = dir.write("ids.txt", &all);
    let results = dir.path("r.jsonl");
    (dir, all, file, results)
}

/// The arguments of a run of tweets from `ids` to `results`.
fn run_args<'a>(ids: &'a str, results: &'a Path, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--type",
        "tweets",
        "--ids-file",
        ids,
        "--results-file",
        results.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    args
}

/// Every ID the jobs of `em` were sent, in order.
fn uploaded(em: &Emulator) -> String {
    let sent: Vec<u8> = em
        .jobs()
        .iter()
        .flat_map(|j| em.uploaded(&j.id).unwrap_or_default())
        .collect();
    String::from_utf8(sent).unwrap()
}

/// Makes the next download fail with a 403 after `ok` of them.
fn refuse_downloads(em: &Emulator, ok: u32) {
    em.fault(Route::Download, fault::pass().times(ok));
    em.fault(Route::Download, fault::status(403));
}

#[test]
fn an_interrupted_run_leaves_no_copy_of_standard_input_for_the_next() {
    let em = emulator();
    let dir = TempDir::new();
    let results = dir.path("results.jsonl");
    let all = ids_from(FIRST_ID, 1000);
    // Half the IDs, then half an ID: where the copy stops when the run does.
    let half = all.split_inclusive('\n').take(500).collect::<String>() + "14500000";
    let state = dir.path(".results.jsonl.lifecycle");
    let args = run_args("-", &results, &[]);
    let mut first = spawn(&em, &args);
    let mut stdin = first.stdin.take().expect("stdin");
    stdin.write_all(half.as_bytes()).unwrap();
    let copied = || {
        std::fs::read_dir(&state).is_ok_and(|files| {
            files
                .flatten()
                .any(|f| f.metadata().is_ok_and(|m| m.len() == half.len() as u64))
        })
    };
    await_condition(
        "the run copies what it read",
        Duration::from_secs(20),
        copied,
    );
    kill_group(&mut first);
    drop(stdin);
    await_unlocked(&state);
    assert!(em.jobs().is_empty());

    let out = lifecycle(&em, &args, Some(all.as_bytes()));
    out.assert_code(0);
    assert_eq!(uploaded(&em), all, "every ID of this run's standard input");
    assert_results(&em, &results, "tweets", &all);
}

#[test]
fn a_second_run_for_the_same_results_file_stops_at_once() {
    let em = emulator_processing(Duration::from_secs(3));
    let (dir, all, file, results) = setup(1000);
    let args = run_args(&file, &results, &[]);
    let first = spawn(&em, &args);
    await_condition("the first run's job", Duration::from_secs(20), || {
        em.jobs().len() == 1
    });
    await_status(&em, &em.jobs()[0].id, "in_progress");
    let second = lifecycle(&em, &args, None);
    second
        .assert_code(1)
        .assert_stderr("another lifecycle.sh run is using");
    finish(first).assert_code(0);
    assert_eq!(em.jobs().len(), 1);
    assert_results(&em, &results, "tweets", &all);
    assert_eq!(dir.names(), ["ids.txt", "r.jsonl"]);
}

#[test]
fn a_re_run_for_other_ids_starts_afresh() {
    let em = emulator();
    let (dir, _, file, results) = setup(120);
    let args = run_args(&file, &results, &["--part-size", "1000"]);
    refuse_downloads(&em, 0);
    lifecycle(&em, &args, None).assert_code(1);
    assert_eq!(em.jobs().len(), 3);
    let earlier: Vec<String> = em.jobs().iter().map(|j| j.id.clone()).collect();

    // Other IDs in the same file: the earlier jobs are not this run's.
    let other = ids_from(OTHER_FIRST_ID, 120);
    dir.write("ids.txt", &other);
    let out = lifecycle(&em, &args, None);
    out.assert_code(0)
        .assert_stderr("holds an unfinished run for other IDs or flags: starting afresh")
        .assert_stderr(&earlier.join(" "));
    assert_eq!(em.jobs().len(), 6, "three new jobs");
    assert_results(&em, &results, "tweets", &other);
    assert_eq!(dir.names(), ["ids.txt", "r.jsonl"]);
}

#[test]
fn a_re_run_for_the_same_ids_however_written_goes_on() {
    let em = emulator();
    let (dir, sorted, file, results) = setup(120);
    let args = run_args(&file, &results, &["--part-size", "1000"]);
    refuse_downloads(&em, 1);
    lifecycle(&em, &args, None).assert_code(1);
    // The same IDs, backwards, some twice, with CRLF and blank lines.
    let messy: String = sorted
        .lines()
        .rev()
        .enumerate()
        .map(|(i, id)| match i % 10 {
            0 => format!("{id}\r\n\r\n{id}\r\n"),
            _ => format!(" {id}\r\n"),
        })
        .collect();
    dir.write("ids.txt", messy);
    let out = lifecycle(&em, &args, None);
    out.assert_code(0)
        .assert_stderr("going on with the unfinished run");
    assert_eq!(em.jobs().len(), 3, "no job made again");
    assert_results(&em, &results, "tweets", &sorted);
}

#[cfg(unix)]
#[test]
fn a_fifo_a_device_or_a_link_as_results_file_is_written_by_download_results_rules() {
    use std::os::unix::fs::FileTypeExt as _;
    let em = emulator();
    let dir = TempDir::new();
    let all = ids_from(FIRST_ID, 200);
    let file = dir.write("ids.txt", &all);
    let mut want = Vec::new();

    // A FIFO gets the results, and stays a FIFO.
    let fifo = dir.fifo("fifo");
    let reader = read_in_background(&fifo);
    lifecycle(&em, &run_args(&file, &fifo, &[]), None).assert_code(0);
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    // Asked first: a FIFO replaced would leave the reader waiting forever.
    assert!(kind.is_fifo(), "{kind:?}");
    want.extend(em.expected_results("tweets", all.as_bytes()));
    assert!(reader.join().unwrap() == want);

    // A character device: a node of our own for the null device where we
    // may make one, so that a broken script cannot replace /dev/null.
    let node = dir.path("null");
    let made = Command::new("mknod")
        .args([node.to_str().unwrap(), "c", "1", "3"])
        .stderr(Stdio::null())
        .status();
    if made.is_ok_and(|s| s.success()) {
        lifecycle(&em, &run_args(&file, &node, &[]), None).assert_code(0);
        let kind = std::fs::symlink_metadata(&node).unwrap().file_type();
        assert!(kind.is_char_device(), "{kind:?}");
        std::fs::remove_file(&node).unwrap();
    }

    // A link is followed: the file it points to gets the results.
    let elsewhere = TempDir::new();
    let real = elsewhere.path("real.jsonl");
    std::fs::write(&real, "last month's\n").unwrap();
    let link = dir.path("link.jsonl");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    lifecycle(&em, &run_args(&file, &link, &[]), None).assert_code(0);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read(&real).unwrap() == want);
    assert_eq!(elsewhere.names(), ["real.jsonl"]);
    assert_eq!(dir.names(), ["fifo", "ids.txt", "link.jsonl"]);
}

#[test]
fn a_folder_as_results_file_is_refused_before_any_job() {
    let em = emulator();
    let (dir, file) = TempDir::holding("ids.txt", ids_from(FIRST_ID, 10));
    std::fs::create_dir(dir.path("out")).unwrap();
    let folder = dir.path("out");
    let slash = format!("{}/", folder.display());
    for results in [folder.clone(), PathBuf::from(&slash)] {
        lifecycle(&em, &run_args(&file, &results, &[]), None)
            .assert_code(2)
            .assert_stderr("folder; give a file name");
    }
    assert_no_requests(&em);
    assert_eq!(dir.names(), ["ids.txt", "out"]);
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn a_folder_that_takes_no_file_is_exit_1_before_any_job() {
    let em = emulator();
    let (dir, file) = TempDir::holding("ids.txt", ids_from(FIRST_ID, 10));
    let folder = dir.unwritable_folder();
    let results = folder.join("results.jsonl");
    lifecycle(&em, &run_args(&file, &results, &[]), None)
        .assert_code(1)
        .assert_stderr(&format!("cannot create a file in {}", folder.display()));
    assert_no_requests(&em);
}

#[test]
fn the_id_file_as_results_file_is_exit_2() {
    let em = emulator();
    let dir = TempDir::new();
    let ids = ids_from(FIRST_ID, 10);
    let file = dir.write("ids.txt", &ids);
    let link = dir.path("results.jsonl");
    std::os::unix::fs::symlink("ids.txt", &link).unwrap();
    for results in [PathBuf::from(&file), link] {
        lifecycle(&em, &run_args(&file, &results, &[]), None)
            .assert_code(2)
            .assert_stderr("--ids-file and --results-file are the same file");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), ids);
    assert_no_requests(&em);
    assert_eq!(dir.names(), ["ids.txt", "results.jsonl"]);
}

#[test]
fn a_part_size_that_is_not_a_whole_number_of_bytes_is_exit_2() {
    let em = emulator();
    let (dir, _, file, results) = setup(10);
    for size in [
        "00",
        "0",
        "-1",
        "1e3",
        "0x10",
        "",
        " 5",
        "1000000000000000000",
    ] {
        lifecycle(
            &em,
            &run_args(&file, &results, &["--part-size", size]),
            None,
        )
        .assert_code(2)
        .assert_stderr("--part-size takes a whole number of bytes, 1 or more");
    }
    assert_no_requests(&em);
    assert_eq!(dir.names(), ["ids.txt"]);
}

#[test]
fn a_name_too_long_for_the_last_part_is_refused_before_any_job() {
    let em = emulator();
    let (_dir, _, file, results) = setup(120);
    // Fits as it is, and as NAME-2; three parts need NAME-3 to fit too.
    let name = "n".repeat(63);
    let args = run_args(&file, &results, &["--name", &name, "--part-size", "1000"]);
    lifecycle(&em, &args, None)
        .assert_code(2)
        .assert_stderr(&format!("part 3 would be named \"{name}-3\""));
    assert!(em.jobs().is_empty(), "no job made");
    let name = "n".repeat(62);
    let args = run_args(&file, &results, &["--name", &name, "--part-size", "1000"]);
    lifecycle(&em, &args, None).assert_code(0);
    assert_eq!(em.jobs().len(), 3);
}

#[test]
fn an_id_in_two_parts_gets_its_events_once() {
    let em = emulator();
    let dir = TempDir::new();
    let all = ids_from(FIRST_ID, 120);
    // The file holds every ID, then the first sixty again: other parts.
    let twice: String = all.clone()
        + &all
            .lines()
            .take(60)
            .map(|l| format!("{l}\n"))
            .collect::<String>();
    let file = dir.write("ids.txt", &twice);
    let results = dir.path("r.jsonl");
    lifecycle(
        &em,
        &run_args(&file, &results, &["--part-size", "1000"]),
        None,
    )
    .assert_code(0);
    assert_eq!(uploaded(&em), all, "each ID sent once");
    assert_results(&em, &results, "tweets", &all);
}

#[test]
fn an_interrupted_create_job_says_what_it_may_have_left() {
    let em = emulator();
    let (_dir, all, file, results) = setup(50);
    // The job is made, and its answer withheld.
    em.fault(Route::CreateJob, fault::stall(0));
    let args = run_args(&file, &results, &["--name", "ctrl-c"]);
    let run = spawn(&em, &args);
    await_condition("the job is made", Duration::from_secs(20), || {
        em.jobs().len() == 1
    });
    let mut create_job = None;
    await_condition("create-job runs", Duration::from_secs(20), || {
        create_job = child_named(run.id(), "create-job");
        create_job.is_some()
    });
    let pid = create_job.unwrap().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -INT {pid}");
    let out = finish(run);
    assert!(out.code > 128, "{out:?}");
    out.assert_stderr("create-job failed")
        .assert_stderr("may have created a job this run does not know of")
        .assert_stderr("list-jobs --type tweets --status created")
        .assert_stderr("add --replace, which cancels that job");
    assert_sentences_stand_alone(&out);
    // As it says: --replace cancels the job left, and the run goes on.
    let args = run_args(&file, &results, &["--name", "ctrl-c", "--replace"]);
    lifecycle(&em, &args, None).assert_code(0);
    assert_eq!(em.jobs().len(), 2);
    assert_eq!(em.jobs()[0].status, "failed", "cancelled");
    assert_results(&em, &results, "tweets", &all);
}

#[test]
fn a_state_from_another_api_starts_afresh() {
    let first = emulator();
    let (_dir, all, file, results) = setup(50);
    let args = run_args(&file, &results, &[]);
    refuse_downloads(&first, 0);
    lifecycle(&first, &args, None).assert_code(1);
    // Its jobs are unknown to another API: a new run there starts afresh.
    let second = emulator();
    lifecycle(&second, &args, None)
        .assert_code(0)
        .assert_stderr("starting afresh");
    assert_eq!(second.jobs().len(), 1);
    assert_eq!(
        std::fs::read(&results).unwrap(),
        second.expected_results("tweets", all.as_bytes())
    );
}

#[test]
fn expired_results_say_to_start_afresh_and_that_works() {
    let em = emulator();
    let (dir, all, file, results) = setup(50);
    let args = run_args(&file, &results, &[]);
    refuse_downloads(&em, 0);
    lifecycle(&em, &args, None).assert_code(1);
    // A week and a day later, storage has let the results go.
    em.shift_clock(8 * 24 * 3600);
    let state = dir.path(".r.jsonl.lifecycle");
    lifecycle(&em, &args, None)
        .assert_code(1)
        .assert_stderr("the results have expired")
        .assert_stderr(&format!(
            "If download-results said the results expired, remove {}",
            state.display()
        ));
    std::fs::remove_dir_all(&state).unwrap();
    lifecycle(&em, &args, None).assert_code(0);
    assert_eq!(em.jobs().len(), 2, "a new job");
    assert_results(&em, &results, "tweets", &all);
}

#[test]
fn an_interrupted_download_leaves_no_temporary_file() {
    let em = emulator();
    let (dir, all, file, results) = setup(2000);
    let args = run_args(&file, &results, &[]);
    em.fault(Route::Download, fault::slow(100));
    let mut run = spawn(&em, &args);
    // Its temporary file is made before the download starts: wait for bytes.
    let writing = || {
        dir.names().iter().any(|n| {
            n.ends_with(".part") && std::fs::metadata(dir.path(n)).is_ok_and(|m| m.len() > 0)
        })
    };
    await_condition("the download writes", Duration::from_secs(30), writing);
    kill_group(&mut run);
    await_unlocked(&dir.path(".r.jsonl.lifecycle"));
    lifecycle(&em, &args, None).assert_code(0);
    assert_eq!(
        dir.names(),
        ["ids.txt", "r.jsonl"],
        "no temporary file left"
    );
    assert_results(&em, &results, "tweets", &all);
}

#[test]
fn the_help_states_the_state_rules() {
    let em = emulator();
    let help = lifecycle(&em, &["--help"], None);
    help.assert_code(0);
    for rule in [
        "A re-run goes on with it when it is for the same IDs",
        "Otherwise the re-run starts afresh",
        "--ids-file - reads standard input afresh on every run",
        "A run holds a lock on the state (flock)",
    ] {
        assert!(help.stdout.contains(rule), "{rule}:\n{}", help.stdout);
    }
}

/// The message lifecycle.sh ends a stopped run with (after its blank
/// line): every line starts a sentence, none carries on the one before.
fn assert_sentences_stand_alone(out: &Output) {
    let (_, message) = out.stderr.rsplit_once("\n\n").expect("a closing message");
    for line in message.lines() {
        assert!(
            line.starts_with("lifecycle.sh: ") || line.starts_with(|c: char| c.is_uppercase()),
            "{line:?} does not start a sentence:\n{message}"
        );
    }
}

#[test]
fn a_run_of_one_part_that_stops_says_part_1_of_1() {
    let em = emulator();
    let (_dir, _, file, results) = setup(50);
    em.fault(Route::Upload, fault::status(403));
    let out = lifecycle(&em, &run_args(&file, &results, &["--name", "one"]), None);
    let job = &em.jobs()[0].id;
    out.assert_code(1)
        .assert_stderr("lifecycle.sh: upload-ids failed (exit 1) for part 1 of 1.\n")
        .assert_stderr(&format!("It leaves tweets job {job} (\"one\")"));
    assert_sentences_stand_alone(&out);
}

#[test]
fn ctrl_c_or_sigterm_while_waiting_names_the_job_and_the_command_that_goes_on() {
    let em = emulator_processing(Duration::from_secs(3600));
    let (dir, all, file, results) = setup(50);
    let args = run_args(&file, &results, &["--name", "monthly"]);
    let state = dir.path(".r.jsonl.lifecycle");
    // Stopped while list-job waits, first by SIGTERM, then, going on with
    // the same job, by Ctrl-C.
    let mut again = String::new();
    for (signal, code, says) in [
        (
            "TERM",
            143,
            "list-job was stopped by SIGTERM for part 1 of 1.",
        ),
        (
            "INT",
            130,
            "list-job was stopped by Ctrl-C (SIGINT) for part 1 of 1.",
        ),
    ] {
        let run = Watched::new(spawn(&em, &args));
        run.await_stderr("in_progress after");
        signal_group(&run.child, signal);
        let out = run.finish();
        let job = &em.jobs()[0].id;
        out.assert_code(code)
            .assert_stderr(says)
            .assert_stderr(&format!(
                "It leaves tweets job {job} (\"monthly\"); see it with: list-job --id {job}\n"
            ))
            .assert_stderr("To give the run up instead, remove its state (rm -rf ");
        assert_sentences_stand_alone(&out);
        let line = out
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("To go on from there, run the same command again: "))
            .expect("the command that goes on");
        again = line.trim_end_matches('.').to_string();
        assert!(state.exists(), "the state stays for the run that goes on");
    }
    assert_eq!(em.jobs().len(), 1);
    // The job completes; the command printed, pasted, goes on with it.
    em.shift_clock(3600);
    let out = pasted(&em, &again);
    let job = &em.jobs()[0].id;
    out.assert_code(0)
        .assert_stderr(&format!("part 1: job {job} of an earlier run is complete"));
    assert_eq!(em.jobs().len(), 1, "no job made again");
    assert_results(&em, &results, "tweets", &all);
    assert_eq!(dir.names(), ["ids.txt", "r.jsonl"]);
}

#[test]
fn every_command_printed_pastes_into_bash_with_spaces_and_quotes_in_its_paths() {
    let em = emulator();
    let dir = TempDir::new();
    let folder = dir.path("it's a \"folder\"");
    std::fs::create_dir(&folder).unwrap();
    let all = ids_from(FIRST_ID, 120);
    let ids = folder.join("my ids $HOME.txt");
    std::fs::write(&ids, &all).unwrap();
    let results = folder.join("results `x`.jsonl");
    let (ids, results) = (ids.to_str().unwrap(), results.to_str().unwrap());
    let out = lifecycle(
        &em,
        &run_args(
            ids,
            Path::new(results),
            &["--part-size", "1000", "--name", "a b"],
        ),
        None,
    );
    out.assert_code(0);
    let printed: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .collect();
    assert_eq!(printed.len(), 2 + 3 * 3 + 1, "{}", out.stderr);
    // Each line, pasted, gives the words the program was run with.
    let words = |line: &str| -> Vec<String> {
        let out = pasted(&em, &format!("printf '%s\\n' {line}"));
        out.assert_code(0);
        out.stdout.lines().map(String::from).collect()
    };
    assert_eq!(
        words(printed[1]),
        ["upload-ids", "--ids-file", ids, "--check"]
    );
    assert_eq!(
        words(printed[2]),
        ["create-job", "--type", "tweets", "--name", "a b"]
    );
    let download = words(printed.last().unwrap());
    assert_eq!(download[0], "download-results");
    assert_eq!(download.last().map(String::as_str), Some(results));
    // And run as pasted, the check works on the same file.
    pasted(&em, printed[1])
        .assert_code(0)
        .assert_stderr("passes: 120 IDs");
}

#[test]
fn version_and_short_usage() {
    let em = emulator();
    let version = lifecycle(&em, &["--version"], None);
    version.assert_code(0);
    assert_eq!(
        version.stdout,
        format!("lifecycle.sh {}\n", env!("CARGO_PKG_VERSION"))
    );
    let usage = lifecycle(&em, &["-h"], None);
    usage.assert_code(0);
    let manual = lifecycle(&em, &["--help"], None);
    manual.assert_code(0);
    assert!(usage.stdout.lines().count() <= 30, "{}", usage.stdout);
    assert!(
        manual.stdout.starts_with(&usage.stdout),
        "{}",
        manual.stdout
    );
    for flag in [
        "--type",
        "--ids-file",
        "--results-file",
        "--name",
        "--replace",
        "--part-size",
        "--format",
        "--help",
        "--version",
    ] {
        assert!(usage.stdout.contains(flag), "{flag}:\n{}", usage.stdout);
    }
    assert!(usage.stdout.contains("Usage:\n  ./lifecycle.sh --type"));
}

#[test]
fn the_totals_by_reason_over_every_part_end_the_run() {
    let em = emulator();
    let (_dir, all, file, results) = setup(120);
    let out = lifecycle(
        &em,
        &run_args(&file, &results, &["--part-size", "1000"]),
        None,
    );
    out.assert_code(0);
    assert_eq!(em.jobs().len(), 3);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let expected = em.expected_results("tweets", all.as_bytes());
    for line in expected.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let event: serde_json::Value = serde_json::from_slice(line).expect("a results line");
        *reasons
            .entry(event["reason"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(reasons.len() > 1, "{reasons:?}");
    let counts: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
    let events: usize = reasons.values().sum();
    let totals = format!(
        "{}: {events} compliance events ({})",
        results.display(),
        counts.join(", ")
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines[lines.len() - 2..],
        [
            totals.as_str(),
            &format!(
                "lifecycle.sh: {} holds the results of 3 job(s)",
                results.display()
            )
        ],
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("compliance events").count(),
        1,
        "shown once"
    );
}

#[test]
fn a_failed_check_leaves_no_state_and_the_corrected_re_run_works() {
    let em = emulator();
    let dir = TempDir::new();
    let all = ids_from(FIRST_ID, 120);
    let file = dir.write("ids.txt", format!("{all}not an id\n"));
    let results = dir.path("r.jsonl");
    lifecycle(&em, &run_args(&file, &results, &[]), None)
        .assert_code(2)
        .assert_stderr("line 121 \"not an id\"");
    assert_eq!(dir.names(), ["ids.txt"], "no state left");
    // The file corrected, a name too long for the last of three parts.
    dir.write("ids.txt", &all);
    let long = "n".repeat(63);
    let split = ["--part-size", "1000", "--name"];
    lifecycle(
        &em,
        &run_args(&file, &results, &[&split[..], &[&long]].concat()),
        None,
    )
    .assert_code(2)
    .assert_stderr("part 3 would be named");
    assert_eq!(dir.names(), ["ids.txt"], "no state left");
    assert_no_requests(&em);
    // Corrected, the run goes through; its download refused, it stops
    // with its state, which a failed check then leaves as it is.
    let args = run_args(&file, &results, &[&split[..], &["monthly"]].concat());
    refuse_downloads(&em, 0);
    lifecycle(&em, &args, None).assert_code(1);
    dir.write("bad.txt", "x\n");
    let bad = dir.path("bad.txt");
    lifecycle(
        &em,
        &run_args(bad.to_str().unwrap(), &results, &split[..2]),
        None,
    )
    .assert_code(2);
    lifecycle(&em, &args, None)
        .assert_code(0)
        .assert_stderr("going on with the unfinished run");
    assert_eq!(em.jobs().len(), 3, "no job made again");
    assert_results(&em, &results, "tweets", &all);
    assert_eq!(dir.names(), ["bad.txt", "ids.txt", "r.jsonl"]);
}

#[test]
fn a_run_that_replaces_an_earlier_results_file_says_so() {
    let em = emulator();
    let (_dir, all, file, results) = setup(50);
    let args = run_args(&file, &results, &[]);
    let first = lifecycle(&em, &args, None);
    first.assert_code(0).assert_stderr_lacks("replaces");
    // Next month, the same command over last month's results.
    let out = lifecycle(&em, &args, None);
    out.assert_code(0)
        .assert_stderr(&format!(
            "lifecycle.sh: {} exists (last written ",
            results.display()
        ))
        .assert_stderr("this run replaces it once every part's results are whole");
    assert_eq!(em.jobs().len(), 2);
    assert_results(&em, &results, "tweets", &all);
}

#[test]
fn an_unknown_or_misspelt_flag_is_named_with_the_closest_real_one() {
    let em = emulator();
    let (dir, file) = TempDir::holding("ids.txt", "1\n");
    let results = dir.path("r.jsonl");
    for (wrong, says) in [
        ("--typ", "there is no flag --typ; did you mean --type?"),
        ("--tpye", "there is no flag --tpye; did you mean --type?"),
        ("-type", "there is no flag -type; did you mean --type?"),
        ("--ids", "there is no flag --ids; did you mean --ids-file?"),
        (
            "--re",
            "there is no flag --re; did you mean --results-file or --replace?",
        ),
        (
            "--fromat",
            "there is no flag --fromat; did you mean --format?",
        ),
        (
            "--output",
            "there is no flag --output; see ./lifecycle.sh -h",
        ),
        ("tweets", "'tweets' is not a flag"),
    ] {
        let mut args = run_args(&file, &results, &[]);
        args.insert(0, wrong);
        lifecycle(&em, &args, None)
            .assert_code(2)
            .assert_stderr(&format!("lifecycle.sh: {says}"));
    }
    // --flag=value, as the stages take it.
    lifecycle(&em, &run_args(&file, &results, &["--format=xml"]), None)
        .assert_code(2)
        .assert_stderr("--format must be jsonl or csv, not 'xml'");
    assert_no_requests(&em);
    assert_eq!(dir.names(), ["ids.txt"]);
}

#[test]
fn without_the_programs_on_path_the_newest_build_is_used() {
    let em = emulator();
    let dir = TempDir::new();
    // A checkout of its own: the script, and a debug build only.
    let checkout = TempDir::new();
    let copy = checkout.path("lifecycle.sh");
    std::fs::copy(script(), &copy).unwrap();
    let debug = checkout.path("target/debug");
    std::fs::create_dir_all(&debug).unwrap();
    for program in STAGES {
        std::os::unix::fs::symlink(
            compliance_testkit::sibling_binary(program),
            debug.join(program),
        )
        .unwrap();
    }
    let all = ids_from(FIRST_ID, 50);
    let file = dir.write("ids.txt", &all);
    let results = dir.path("r.jsonl");
    let out = Command::new("bash")
        .arg(&copy)
        .args(run_args(&file, &results, &[]))
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env_remove("CARGO_TARGET_DIR")
        .env("X_API_URL", em.base_url())
        .env("BEARER_TOKEN", em.token())
        .output()
        .expect("run bash lifecycle.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_results(&em, &results, "tweets", &all);
}
