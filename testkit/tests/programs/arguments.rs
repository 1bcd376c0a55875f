//! Arguments that are not text (not UTF-8): a Linux file name may be any
//! bytes but `/` and NUL, so a file flag takes it and the file is the one
//! named, byte for byte; any other value is exit 2 naming its flag. Never a
//! panic (exit 101).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use compliance_testkit::{await_status, emulator, ids, sibling_binary, Output, TempDir};

/// `bytes` as an argument, text or not.
fn arg(bytes: &[u8]) -> OsString {
    OsString::from_vec(bytes.to_vec())
}

/// A path in `dir` whose last part is `name`, any bytes.
fn path_in(dir: &TempDir, name: &[u8]) -> PathBuf {
    dir.path("").join(OsStr::from_bytes(name))
}

/// Runs `stage` with `args` (any bytes) and only the given environment.
fn run(stage: &str, args: &[&OsStr], env: &[(&str, &str)]) -> Output {
    let out = Command::new(sibling_binary(stage))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .output();
    Output::from(out.unwrap_or_else(|e| panic!("cannot run {stage}: {e}")))
}

/// Text arguments as `OsStr`s, with `other` put in where `None` stands.
fn with<'a>(args: &[Option<&'a str>], other: &'a OsStr) -> Vec<&'a OsStr> {
    args.iter().map(|a| a.map_or(other, OsStr::new)).collect()
}

#[test]
fn a_value_that_is_not_text_is_exit_2_naming_its_flag_in_every_program() {
    let bad = arg(b"caf\xe9");
    let cases: &[(&str, &[Option<&str>], &str)] = &[
        (
            "create-job",
            &[Some("--type"), Some("tweets"), Some("--name"), None],
            "--name",
        ),
        ("create-job", &[Some("--type"), None], "--type"),
        (
            "upload-ids",
            &[Some("--ids-file"), Some("ids.txt"), Some("--name"), None],
            "--name",
        ),
        (
            "list-job",
            &[Some("--name"), None, Some("--wait")],
            "--name",
        ),
        (
            "list-job",
            &[Some("--id"), Some("1"), Some("--timeout"), None],
            "--timeout",
        ),
        ("list-jobs", &[Some("--type"), None], "--type"),
        (
            "download-results",
            &[Some("--id"), None, Some("--results-file"), Some("r.jsonl")],
            "--id",
        ),
        (
            "download-results",
            &[Some("--url"), None, Some("--results-file"), Some("r.jsonl")],
            "--url",
        ),
        (
            "apply-results",
            &[
                Some("--archive"),
                Some("a.jsonl"),
                Some("--tweets-results"),
                Some("t.jsonl"),
                Some("--output"),
                Some("o.jsonl"),
                Some("--id-column"),
                None,
            ],
            "--id-column",
        ),
    ];
    for (stage, args, flag) in cases {
        let out = run(stage, &with(args, &bad), &[]);
        let first = out.assert_usage_error(stage);
        assert!(
            first.starts_with(&format!("error: {flag} ")) && first.contains("not text"),
            "{stage}: the first line names {flag}: {out:?}"
        );
        assert!(first.contains("caf\u{fffd}"), "shown as text: {first}");
    }
}

#[test]
fn a_word_that_is_not_text_and_no_file_flags_value_is_exit_2() {
    let cases: [(&str, Vec<OsString>); 4] = [
        ("list-jobs", vec![arg(b"\xff")]),
        ("list-jobs", vec![arg(b"--typ\xe9"), arg(b"tweets")]),
        (
            "download-results",
            vec![
                arg(b"--id"),
                arg(b"1"),
                arg(b"--results-file=r\xff.jsonl"),
                arg(b"--format=c\xffv"),
            ],
        ),
        (
            "create-job",
            vec![arg(b"--type"), arg(b"tweets"), arg(b"--"), arg(b"\xff")],
        ),
    ];
    for (stage, args) in cases {
        let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
        let out = run(stage, &args, &[]);
        assert_eq!(out.code, 2, "{stage} {args:?}: {out:?}");
        assert!(out.stderr.starts_with("error: "), "{out:?}");
        assert!(out.stderr.contains("not text"), "{out:?}");
    }
}

#[test]
fn upload_ids_checks_an_id_file_whose_name_is_not_text() {
    let dir = TempDir::new();
    let file = path_in(&dir, b"latin\xe9.txt");
    std::fs::write(&file, "1\n2\n\n3\n").unwrap();
    let out = run(
        "upload-ids",
        &[
            OsStr::new("--ids-file"),
            file.as_os_str(),
            OsStr::new("--check"),
        ],
        &[],
    );
    out.assert_code(0).assert_stderr("latin\u{fffd}.txt passes");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(json["ids"], 3);
    assert!(
        json["file"]
            .as_str()
            .unwrap()
            .ends_with("latin\u{fffd}.txt"),
        "{json}"
    );
    // The inline form names the same file.
    let mut inline = b"--ids-file=".to_vec();
    inline.extend_from_slice(file.as_os_str().as_bytes());
    let out = run("upload-ids", &[&arg(&inline), OsStr::new("--check")], &[]);
    out.assert_code(0);
    // A missing one is named, shown as text.
    let missing = path_in(&dir, b"gone\xe9.txt");
    let out = run(
        "upload-ids",
        &[
            OsStr::new("--ids-file"),
            missing.as_os_str(),
            OsStr::new("--check"),
        ],
        &[],
    );
    out.assert_code(2).assert_stderr("gone\u{fffd}.txt");
}

#[test]
fn upload_ids_sends_and_download_results_writes_files_whose_names_are_not_text() {
    let em = emulator();
    let env = [
        ("X_API_URL", em.base_url()),
        ("BEARER_TOKEN", em.token().to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = TempDir::new();
    let ids = ids(500);
    let file = path_in(&dir, b"ids\xe9.txt");
    std::fs::write(&file, &ids).unwrap();
    let job = em.create_job("tweets", None, false);
    let out = run(
        "upload-ids",
        &[
            OsStr::new("--ids-file"),
            file.as_os_str(),
            OsStr::new("--id"),
            OsStr::new(&job.id),
        ],
        &env,
    );
    out.assert_code(0);
    await_status(&em, &job.id, "complete");
    let expected = em.expected_results("tweets", ids.as_bytes());
    assert!(!expected.is_empty(), "pick IDs that have events");

    let results = path_in(&dir, b"r\xe9sults.jsonl");
    let out = run(
        "download-results",
        &[
            OsStr::new("--id"),
            OsStr::new(&job.id),
            OsStr::new("--results-file"),
            results.as_os_str(),
        ],
        &env,
    );
    out.assert_code(0).assert_stderr("r\u{fffd}sults.jsonl");
    assert_eq!(std::fs::read(&results).unwrap(), expected);
    let mut inline = b"--results-file=".to_vec();
    let csv = path_in(&dir, b"r\xe9sults.csv");
    inline.extend_from_slice(csv.as_os_str().as_bytes());
    let out = run(
        "download-results",
        &[
            OsStr::new("--id"),
            OsStr::new(&job.id),
            &arg(&inline),
            OsStr::new("--format"),
            OsStr::new("csv"),
        ],
        &env,
    );
    out.assert_code(0);
    assert!(std::fs::read(&csv)
        .unwrap()
        .starts_with(b"id,action,reason"));
    let mut names = dir.names();
    names.sort();
    assert_eq!(
        names,
        [
            "ids\u{fffd}.txt",
            "r\u{fffd}sults.csv",
            "r\u{fffd}sults.jsonl"
        ],
        "the files named, and no temporary file left"
    );
}

#[test]
fn apply_results_reads_and_writes_files_whose_names_are_not_text() {
    let dir = TempDir::new();
    let name = |n: &str| {
        let mut bytes = n.as_bytes().to_vec();
        bytes.splice(1..1, [0xe9]);
        path_in(&dir, &bytes)
    };
    let (archive, tweets, users, output, removed) = (
        name("archive.jsonl"),
        name("tweets.jsonl"),
        name("users.jsonl"),
        name("clean.jsonl"),
        name("removed.jsonl"),
    );
    std::fs::write(
        &archive,
        concat!(
            r#"{"id":"10","author_id":"1","text":"kept"}"#,
            "\n",
            r#"{"id":"11","author_id":"1","text":"deleted"}"#,
            "\n",
            r#"{"id":"12","author_id":"2","text":"its author is suspended"}"#,
            "\n",
        ),
    )
    .unwrap();
    std::fs::write(
        &tweets,
        "{\"id\":\"11\",\"action\":\"delete\",\"reason\":\"deleted\"}\n",
    )
    .unwrap();
    std::fs::write(
        &users,
        "{\"id\":\"2\",\"action\":\"delete\",\"reason\":\"suspended\"}\n",
    )
    .unwrap();
    let flag = OsStr::new;
    let out = run(
        "apply-results",
        &[
            flag("--archive"),
            archive.as_os_str(),
            flag("--tweets-results"),
            tweets.as_os_str(),
            flag("--users-results"),
            users.as_os_str(),
            flag("--output"),
            output.as_os_str(),
            flag("--removed"),
            removed.as_os_str(),
        ],
        &[],
    );
    out.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "{\"id\":\"10\",\"author_id\":\"1\",\"text\":\"kept\"}\n"
    );
    let report = std::fs::read_to_string(&removed).unwrap();
    assert_eq!(report.lines().count(), 2, "{report}");
    assert!(report.contains("t\u{fffd}weets.jsonl"), "{report}");
    // A missing results file is named, shown as text.
    let missing = name("missing.jsonl");
    let out = run(
        "apply-results",
        &[
            flag("--archive"),
            archive.as_os_str(),
            flag("--tweets-results"),
            missing.as_os_str(),
            flag("--output"),
            output.as_os_str(),
        ],
        &[],
    );
    out.assert_code(2).assert_stderr("m\u{fffd}issing.jsonl");
    assert!(Path::new(&output).exists(), "the earlier output stays");
}
