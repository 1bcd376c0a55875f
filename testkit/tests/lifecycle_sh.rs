//! lifecycle.sh, the whole run in one command, against the emulator: split
//! into parts, stopped by a failure in the middle, and finished by the
//! re-run; a bad ID file creates no job.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use compliance_testkit::{sibling_binary, Config, Emulator, Fault, Output, Route, TempDir};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lifecycle.sh")
}

/// Runs lifecycle.sh with the built programs first on PATH.
fn lifecycle(em: &Emulator, args: &[&str], stdin: Option<&[u8]>) -> Output {
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
        .env("X_API_URL", em.base_url())
        .env("BEARER_TOKEN", em.token())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run bash lifecycle.sh");
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write as _;
        pipe.write_all(bytes).expect("feed stdin");
    }
    let out = child.wait_with_output().expect("wait for lifecycle.sh");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn emulator() -> Emulator {
    Emulator::start(Config {
        event_percent: 30,
        rate_limit: 100_000,
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
    // The first part's download goes through; the second's is refused.
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
    let out = lifecycle(&em, &args, Some(messy.as_bytes()));
    out.assert_code(1)
        .assert_stderr("download-results failed (exit 1) for part 2 of 3")
        .assert_stderr("It left behind job")
        .assert_stderr("run the same lifecycle.sh command again");
    assert!(
        !results.exists(),
        "no results file before every part is done"
    );
    assert_eq!(em.jobs().len(), 2);

    // The same command again (standard input is not read again).
    let out = lifecycle(&em, &args, None);
    out.assert_code(0)
        .assert_stderr("part 1: done in an earlier run");
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
    // Four parts of 20 IDs (400 bytes each): the first and third without
    // an event, so their CSV is the header alone.
    let has_event = |id: &u64| {
        !em.expected_results("users", format!("{id}\n").as_bytes())
            .is_empty()
    };
    let candidates = || (0..2000u64).map(|i| 1_500_000_000_000_000_000 + i * 104_729);
    let quiet: Vec<u64> = candidates().filter(|id| !has_event(id)).take(40).collect();
    let mixed: Vec<u64> = candidates().skip(1000).take(40).collect();
    let ids: String = [&quiet[..20], &mixed[..20], &quiet[20..], &mixed[20..]]
        .concat()
        .iter()
        .map(|id| format!("{id}\n"))
        .collect();
    let file = dir.write("ids.txt", &ids);
    let jsonl = em.expected_results("users", ids.as_bytes());
    let part_events = |part: usize| {
        let of_part = ids.lines().skip(part * 20).take(20).collect::<Vec<_>>();
        let part_jsonl = em.expected_results("users", (of_part.join("\n") + "\n").as_bytes());
        part_jsonl
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
    };
    assert_eq!((part_events(0), part_events(2)), (0, 0));
    assert!(part_events(1) > 0 && part_events(3) > 0, "IDs with events");
    let results = dir.path("results.csv");
    let args = |format: &'static str| {
        vec![
            "--type".to_string(),
            "users".into(),
            "--ids-file".into(),
            file.clone(),
            "--results-file".into(),
            results.to_str().unwrap().into(),
            "--part-size".into(),
            "400".into(),
            "--format".into(),
            format.into(),
        ]
    };
    let run = |format| {
        let args = args(format);
        lifecycle(
            &em,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            None,
        )
    };
    // Part 2's download is refused: the run stops with parts 1 and 2 to do.
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
    run("csv")
        .assert_code(1)
        .assert_stderr("--format csv --results-file")
        .assert_stderr("failed (exit 1) for part 2 of 4");
    // Its parts are CSV: going on as JSON Lines would mix the two.
    run("jsonl")
        .assert_code(2)
        .assert_stderr("holds an unfinished run with other arguments");
    run("csv")
        .assert_code(0)
        .assert_stderr("part 1: done in an earlier run")
        .assert_stderr("holds the results of 4 job(s)");
    assert_eq!(em.jobs().len(), 4);
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
