//! lifecycle.sh, the whole run in one command, against the emulator: split
//! into parts, stopped by a failure in the middle, and finished by the
//! re-run; a bad ID file creates no job. And as a hostile user runs it: a
//! state that belongs to other IDs, a run interrupted while it reads
//! standard input, two runs at once, results files that are not plain
//! files, names and sizes that cannot work.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use compliance_testkit::{
    await_condition, await_status, sibling_binary, Config, Emulator, Fault, Output, Route, TempDir,
};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lifecycle.sh")
}

/// lifecycle.sh with `args`, the built programs first on PATH, aimed at
/// the API at `api`; in a process group of its own, so that a test can
/// stop it and every program it started, as Ctrl-C would.
fn command(api: &str, token: &str, args: &[&str]) -> Command {
    let programs = sibling_binary("create-job");
    let programs = programs.parent().expect("target folder");
    let path = format!(
        "{}:{}",
        programs.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .arg(script())
        .args(args)
        .env("PATH", path)
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
    let out = child.wait_with_output().expect("wait for lifecycle.sh");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
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

/// Kills a lifecycle.sh and every program it started (its process group).
fn kill_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let killed = Command::new("kill").args(["-KILL", "--", &group]).status();
    assert!(killed.is_ok_and(|s| s.success()), "kill {group}");
    let _ = child.wait();
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
    Emulator::start(Config {
        event_percent: 30,
        rate_limits: compliance_testkit::RateLimits::uniform(100_000),
        ..Config::default()
    })
    .expect("start emulator")
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
        &[
            "--type",
            "tweets",
            "--ids-file",
            &file,
            "--results-file",
            results.to_str().unwrap(),
            "--name",
            "monthly",
            "--part-size",
            "1000",
        ],
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
    em.fault(
        Route::Upload,
        Fault::Slow {
            bytes_per_sec: 1 << 30,
            times: 1,
        },
    );
    em.fault(
        Route::Upload,
        Fault::Status {
            status: 403,
            times: 1,
        },
    );
    let out = lifecycle(&em, &args, Some(messy.as_bytes()));
    out.assert_code(1)
        .assert_stderr("upload-ids failed (exit 1) for part 2 of 3")
        .assert_stderr("It left behind job")
        .assert_stderr("Run the same lifecycle.sh command again to go on");
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
    let dir = TempDir::new();
    let file = dir.write("ids.txt", "1\nnot an id\n");
    let results = dir.path("r.jsonl");
    let out = lifecycle(
        &em,
        &[
            "--type",
            "tweets",
            "--ids-file",
            &file,
            "--results-file",
            results.to_str().unwrap(),
        ],
        None,
    );
    out.assert_code(2).assert_stderr("line 2 \"not an id\"");
    assert!(em.jobs().is_empty());
    assert!(em.requests().is_empty());
}

#[test]
fn one_part_without_splitting() {
    let em = emulator();
    let dir = TempDir::new();
    let (messy, normalised) = ids();
    let file = dir.write("ids.txt", &messy);
    let results = dir.path("r.jsonl");
    lifecycle(
        &em,
        &[
            "--type",
            "tweets",
            "--ids-file",
            &file,
            "--results-file",
            results.to_str().unwrap(),
        ],
        None,
    )
    .assert_code(0);
    assert_eq!(em.jobs().len(), 1);
    assert_eq!(
        std::fs::read(&results).unwrap(),
        em.expected_results("tweets", normalised.as_bytes())
    );
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
    em.fault(
        Route::Download,
        Fault::Slow {
            bytes_per_sec: 1 << 30,
            times: 1,
        },
    );
    em.fault(
        Route::Download,
        Fault::Status {
            status: 403,
            times: 1,
        },
    );
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
    let dir = TempDir::new();
    let file = dir.write("ids.txt", "1\n");
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
    assert!(em.requests().is_empty());
    assert_eq!(dir.names(), ["ids.txt"]);
    let help = lifecycle(&em, &["--help"], None);
    help.assert_code(0);
    assert!(
        help.stdout.contains("[--format jsonl|csv]") && help.stdout.contains("--format F "),
        "{}",
        help.stdout
    );
}

/// `n` IDs of 19 digits from `base`, one a line.
fn id_lines(base: u64, n: u64) -> String {
    (0..n).map(|i| format!("{}\n", base + i * 7_919)).collect()
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

/// Makes the next `n` downloads fail with a 403 after `ok` of them.
fn refuse_downloads(em: &Emulator, ok: u32) {
    if ok > 0 {
        em.fault(
            Route::Download,
            Fault::Slow {
                bytes_per_sec: 1 << 30,
                times: ok,
            },
        );
    }
    em.fault(
        Route::Download,
        Fault::Status {
            status: 403,
            times: 1,
        },
    );
}

#[test]
fn an_interrupted_run_leaves_no_copy_of_standard_input_for_the_next() {
    let em = emulator();
    let dir = TempDir::new();
    let results = dir.path("results.jsonl");
    let all = id_lines(1_450_000_000_000_000_000, 1000);
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
    assert_eq!(
        std::fs::read(&results).unwrap(),
        em.expected_results("tweets", all.as_bytes())
    );
}

#[test]
fn a_second_run_for_the_same_results_file_stops_at_once() {
    let em = Emulator::start(Config {
        processing_delay: Duration::from_secs(3),
        rate_limits: compliance_testkit::RateLimits::uniform(100_000),
        ..Config::default()
    })
    .expect("start emulator");
    let dir = TempDir::new();
    let all = id_lines(1_450_000_000_000_000_000, 1000);
    let file = dir.write("ids.txt", &all);
    let results = dir.path("results.jsonl");
    let args = run_args(&file, &results, &[]);
    let first = spawn(&em, &args);
    await_condition("the first run's job", Duration::from_secs(20), || {
        em.jobs().len() == 1
    });
    await_status(
        &em,
        &em.jobs()[0].id,
        "in_progress",
        Duration::from_secs(20),
    );
    let second = lifecycle(&em, &args, None);
    second
        .assert_code(1)
        .assert_stderr("another lifecycle.sh run is using");
    finish(first).assert_code(0);
    assert_eq!(em.jobs().len(), 1);
    assert_eq!(
        std::fs::read(&results).unwrap(),
        em.expected_results("tweets", all.as_bytes())
    );
    assert_eq!(dir.names(), ["ids.txt", "results.jsonl"]);
}

#[test]
fn a_re_run_for_other_ids_starts_afresh() {
    let em = emulator();
    let dir = TempDir::new();
    let results = dir.path("results.jsonl");
    let file = dir.write("ids.txt", id_lines(1_450_000_000_000_000_000, 120));
    let args = run_args(&file, &results, &["--part-size", "1000"]);
    refuse_downloads(&em, 0);
    lifecycle(&em, &args, None).assert_code(1);
    assert_eq!(em.jobs().len(), 3);
    let earlier: Vec<String> = em.jobs().iter().map(|j| j.id.clone()).collect();

    // Other IDs in the same file: the earlier jobs are not this run's.
    let other = id_lines(1_460_000_000_000_000_000, 120);
    dir.write("ids.txt", &other);
    let out = lifecycle(&em, &args, None);
    out.assert_code(0)
        .assert_stderr("holds an unfinished run for other IDs or flags: starting afresh")
        .assert_stderr(&earlier.join(" "));
    assert_eq!(em.jobs().len(), 6, "three new jobs");
    assert_eq!(
        std::fs::read(&results).unwrap(),
        em.expected_results("tweets", other.as_bytes())
    );
    assert_eq!(dir.names(), ["ids.txt", "results.jsonl"]);
}

#[test]
fn a_re_run_for_the_same_ids_however_written_goes_on() {
    let em = emulator();
    let dir = TempDir::new();
    let results = dir.path("results.jsonl");
    let sorted = id_lines(1_450_000_000_000_000_000, 120);
    let file = dir.write("ids.txt", &sorted);
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
    assert_eq!(
        std::fs::read(&results).unwrap(),
        em.expected_results("tweets", sorted.as_bytes())
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_a_device_or_a_link_as_results_file_is_written_by_download_results_rules() {
    use std::os::unix::fs::FileTypeExt as _;
    let em = emulator();
    let dir = TempDir::new();
    let all = id_lines(1_450_000_000_000_000_000, 200);
    let file = dir.write("ids.txt", &all);
    let mut want = Vec::new();

    // A FIFO gets the results, and stays a FIFO.
    let fifo = dir.path("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
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
    let dir = TempDir::new();
    let file = dir.write("ids.txt", id_lines(1_450_000_000_000_000_000, 10));
    std::fs::create_dir(dir.path("out")).unwrap();
    let folder = dir.path("out");
    let slash = format!("{}/", folder.display());
    for results in [folder.clone(), PathBuf::from(&slash)] {
        lifecycle(&em, &run_args(&file, &results, &[]), None)
            .assert_code(2)
            .assert_stderr("folder; give a file name");
    }
    assert!(em.requests().is_empty());
    assert_eq!(dir.names(), ["ids.txt", "out"]);
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0);
}

/// A folder this test cannot write in: a read-only one, or, for root, who
/// writes anywhere, /sys.
fn unwritable_folder(dir: &TempDir) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let folder = dir.path("read-only");
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    match std::fs::write(folder.join("probe"), b"") {
        Err(_) => folder,
        Ok(()) => PathBuf::from("/sys"),
    }
}

#[cfg(unix)]
#[test]
fn a_folder_that_takes_no_file_is_exit_1_before_any_job() {
    let em = emulator();
    let dir = TempDir::new();
    let file = dir.write("ids.txt", id_lines(1_450_000_000_000_000_000, 10));
    let folder = unwritable_folder(&dir);
    let results = folder.join("results.jsonl");
    lifecycle(&em, &run_args(&file, &results, &[]), None)
        .assert_code(1)
        .assert_stderr(&format!("cannot create a file in {}", folder.display()));
    assert!(em.requests().is_empty());
}

#[test]
fn the_id_file_as_results_file_is_exit_2() {
    let em = emulator();
    let dir = TempDir::new();
    let ids = id_lines(1_450_000_000_000_000_000, 10);
    let file = dir.write("ids.txt", &ids);
    let link = dir.path("results.jsonl");
    std::os::unix::fs::symlink("ids.txt", &link).unwrap();
    for results in [PathBuf::from(&file), link] {
        lifecycle(&em, &run_args(&file, &results, &[]), None)
            .assert_code(2)
            .assert_stderr("--ids-file and --results-file are the same file");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), ids);
    assert!(em.requests().is_empty());
    assert_eq!(dir.names(), ["ids.txt", "results.jsonl"]);
}

#[test]
fn a_part_size_that_is_not_a_whole_number_of_bytes_is_exit_2() {
    let em = emulator();
    let dir = TempDir::new();
    let file = dir.write("ids.txt", id_lines(1_450_000_000_000_000_000, 10));
    let results = dir.path("r.jsonl");
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
    assert!(em.requests().is_empty());
    assert_eq!(dir.names(), ["ids.txt"]);
}

#[test]
fn a_name_too_long_for_the_last_part_is_refused_before_any_job() {
    let em = emulator();
    let dir = TempDir::new();
    let file = dir.write("ids.txt", id_lines(1_450_000_000_000_000_000, 120));
    let results = dir.path("r.jsonl");
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
    let all = id_lines(1_450_000_000_000_000_000, 120);
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
    assert_eq!(
        std::fs::read(&results).unwrap(),
        em.expected_results("tweets", all.as_bytes())
    );
}

#[test]
fn an_interrupted_create_job_says_what_it_may_have_left() {
    let em = emulator();
    let dir = TempDir::new();
    let all = id_lines(1_450_000_000_000_000_000, 50);
    let file = dir.write("ids.txt", &all);
    let results = dir.path("r.jsonl");
    // The job is made, and its answer withheld.
    em.fault(
        Route::CreateJob,
        Fault::Stall {
            after_bytes: 0,
            times: 1,
        },
    );
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
        .assert_stderr("or add --replace to cancel it");
    // As it says: --replace cancels the job left, and the run goes on.
    let args = run_args(&file, &results, &["--name", "ctrl-c", "--replace"]);
    lifecycle(&em, &args, None).assert_code(0);
    assert_eq!(em.jobs().len(), 2);
    assert_eq!(em.jobs()[0].status, "failed", "cancelled");
    assert_eq!(
        std::fs::read(&results).unwrap(),
        em.expected_results("tweets", all.as_bytes())
    );
}

#[test]
fn a_state_from_another_api_starts_afresh() {
    let first = emulator();
    let dir = TempDir::new();
    let all = id_lines(1_450_000_000_000_000_000, 50);
    let file = dir.write("ids.txt", &all);
    let results = dir.path("r.jsonl");
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
    let dir = TempDir::new();
    let all = id_lines(1_450_000_000_000_000_000, 50);
    let file = dir.write("ids.txt", &all);
    let results = dir.path("r.jsonl");
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
    assert_eq!(
        std::fs::read(&results).unwrap(),
        em.expected_results("tweets", all.as_bytes())
    );
}

#[test]
fn an_interrupted_download_leaves_no_temporary_file() {
    let em = emulator();
    let dir = TempDir::new();
    let all = id_lines(1_450_000_000_000_000_000, 2000);
    let file = dir.write("ids.txt", &all);
    let results = dir.path("r.jsonl");
    let args = run_args(&file, &results, &[]);
    em.fault(
        Route::Download,
        Fault::Slow {
            bytes_per_sec: 100,
            times: 1,
        },
    );
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
    assert_eq!(
        std::fs::read(&results).unwrap(),
        em.expected_results("tweets", all.as_bytes())
    );
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
