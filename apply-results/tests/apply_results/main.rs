//! apply-results, run as a user runs it, on archives in each shape (each
//! also gzipped): the clean archive must be what the test renders on its
//! own from the archive's model with the results applied, byte for byte.
//! And bad input: exit 2, naming the file and line, nothing at the output.
//! The SQL recipes, in `recipes`, share this test binary.

mod recipes;

use std::io::Write as _;

use compliance_testkit::archive::{Applied, Archive, Style};
use compliance_testkit::{assert_file, sibling_binary, Output, Stage, TempDir};

fn apply(args: &[&str]) -> Output {
    Stage::program("apply-results").run(args)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out).unwrap();
    out
}

/// The archive's results: tweets as JSON Lines, users as CSV (as
/// download-results --format csv writes them), and what they say.
struct Results {
    tweets: String,
    users: String,
    applied: Applied,
}

fn results(dir: &TempDir, archive: &Archive) -> Results {
    let (tweets, users) = (archive.tweets_results(), archive.users_results());
    let mut csv = b"id,action,reason,created_at,redacted_at\n".to_vec();
    for line in users.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        csv.extend_from_slice(
            format!(
                "{},{},{},{},{}\r\n",
                field("id"),
                field("action"),
                field("reason"),
                field("created_at"),
                field("redacted_at")
            )
            .as_bytes(),
        );
    }
    Results {
        tweets: dir.write("tweets-results.jsonl", &tweets),
        users: dir.write("users-results.csv", &csv),
        applied: Applied::from_results(&[&tweets], &[&users]),
    }
}

/// Runs apply-results on `input`, plain and gzipped, and compares the
/// output with `expected` byte for byte; returns the plain run's summary.
fn applies_exactly(dir: &TempDir, r: &Results, input: &[u8], expected: &[u8]) -> serde_json::Value {
    let mut summary = None;
    for (name, bytes) in [("archive", input.to_vec()), ("archive.gz", gzip(input))] {
        let archive = dir.write(name, &bytes);
        let output = dir.path(&format!("{name}.clean"));
        let removed = dir.path(&format!("{name}.removed.jsonl"));
        let out = apply(&[
            "--archive",
            &archive,
            "--tweets-results",
            &r.tweets,
            "--users-results",
            &r.users,
            "--output",
            output.to_str().unwrap(),
            "--removed",
            removed.to_str().unwrap(),
        ]);
        out.assert_code(0);
        assert_file(&output, expected);
        let json = out.json();
        assert_eq!(json["gzip"], name.ends_with(".gz"));
        let report = std::fs::read_to_string(&removed).unwrap();
        assert!(report
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
        summary.get_or_insert((json, report));
    }
    let (json, report) = summary.unwrap();
    let changes = report.lines().count() as u64;
    let counted = json["records"]["removed"].as_u64().unwrap()
        + json["geo_scrubbed"].as_u64().unwrap()
        + json["cut_back"].as_u64().unwrap()
        + json["includes_removed"].as_u64().unwrap();
    assert_eq!(changes, counted, "one --removed line per change");
    json
}

/// As twarc2 writes JSON, and compact with CRLF lines and a blank line at
/// the end.
const STYLES: [Style; 2] = [
    Style::TWARC,
    Style {
        python: false,
        crlf: true,
        blank_line_at_end: true,
    },
];

#[test]
fn a_flattened_archive_comes_out_as_the_rules_say() {
    let dir = TempDir::new();
    let archive = Archive::small(11, 2000);
    let r = results(&dir, &archive);
    for style in STYLES {
        let (mut input, mut expected) = (Vec::new(), Vec::new());
        archive.write_flattened(&mut input, style, None).unwrap();
        archive
            .write_flattened(&mut expected, style, Some(&r.applied))
            .unwrap();
        assert_ne!(input, expected, "the results change something");
        let json = applies_exactly(&dir, &r, &input, &expected);
        assert_eq!(json["shape"], "records");
        let per_reason: std::collections::BTreeMap<String, u64> =
            serde_json::from_value(json["removed"].clone()).unwrap();
        assert_eq!(per_reason, archive.removed_per_reason(&r.applied));
        assert!(json["geo_scrubbed"].as_u64().unwrap() > 0);
        assert!(json["cut_back"].as_u64().unwrap() > 0);
        assert!(json["removed_by_author"].as_u64().unwrap() > 0);
        // Two tweets results name IDs the archive does not have.
        assert_eq!(json["results"]["tweets"]["unmatched"], 2);
        assert_eq!(json["results"]["users"]["unmatched"], 0);
        assert_eq!(json["records"]["read"], 2000 + archive.users);
    }
}

#[test]
fn pages_come_out_as_the_rules_say() {
    let dir = TempDir::new();
    let archive = Archive::small(12, 2000);
    let r = results(&dir, &archive);
    for style in STYLES {
        let (mut input, mut expected) = (Vec::new(), Vec::new());
        archive.write_pages(&mut input, style, 100, None).unwrap();
        archive
            .write_pages(&mut expected, style, 100, Some(&r.applied))
            .unwrap();
        let json = applies_exactly(&dir, &r, &input, &expected);
        assert_eq!(json["shape"], "pages");
        assert!(json["includes_removed"].as_u64().unwrap() > 0);
        assert_eq!(json["lines"], 20 + u64::from(style.blank_line_at_end));
    }
}

#[test]
fn a_csv_archive_comes_out_as_the_rules_say() {
    let dir = TempDir::new();
    let archive = Archive::small(13, 2000);
    let r = results(&dir, &archive);
    for crlf in [false, true] {
        let (mut input, mut expected) = (Vec::new(), Vec::new());
        archive.write_csv(&mut input, crlf, None).unwrap();
        archive
            .write_csv(&mut expected, crlf, Some(&r.applied))
            .unwrap();
        let json = applies_exactly(&dir, &r, &input, &expected);
        assert_eq!(json["shape"], "csv");
        assert_eq!(json["records"]["read"], 2000);
    }
}

#[test]
fn a_gz_output_name_writes_gzip_and_standard_input_works() {
    let dir = TempDir::new();
    let archive = Archive::small(14, 300);
    let r = results(&dir, &archive);
    let (mut input, mut expected) = (Vec::new(), Vec::new());
    archive
        .write_flattened(&mut input, Style::TWARC, None)
        .unwrap();
    archive
        .write_flattened(&mut expected, Style::TWARC, Some(&r.applied))
        .unwrap();
    let output = dir.path("clean.jsonl.gz");
    let out = Stage::program("apply-results")
        .stdin_bytes(gzip(&input))
        .run(&[
            "--archive",
            "-",
            "--tweets-results",
            &r.tweets,
            "--users-results",
            &r.users,
            "--output",
            output.to_str().unwrap(),
        ]);
    out.assert_code(0);
    assert_eq!(gunzip(&std::fs::read(&output).unwrap()), expected);
    assert_eq!(out.json()["archive"], "standard input");
    // To standard output: the archive alone there, the summary on stderr.
    let out = Stage::program("apply-results").stdin_bytes(input).run(&[
        "--archive",
        "-",
        "--tweets-results",
        &r.tweets,
        "--users-results",
        &r.users,
        "--output",
        "-",
    ]);
    out.assert_code(0);
    assert_eq!(out.stdout.as_bytes(), expected);
    out.assert_stderr("standard output: ");
    // The report to standard output: its lines alone there.
    let clean = dir.path("clean.jsonl");
    let out = apply(&[
        "--archive",
        &dir.write("a.jsonl", &expected),
        "--tweets-results",
        &r.tweets,
        "--output",
        clean.to_str().unwrap(),
        "--removed",
        "-",
    ]);
    out.assert_code(0);
    assert!(out
        .stdout
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["action"].is_string()));
    let out = apply(&[
        "--archive",
        "-",
        "--tweets-results",
        &r.tweets,
        "--output",
        "-",
        "--removed",
        "-",
    ]);
    out.assert_code(2).assert_stderr("cannot both be -");
}

/// Runs apply-results expecting exit 2, an error naming `needle`, and no
/// file at the output's path.
fn refused(dir: &TempDir, archive: &[u8], tweets: &[u8], needle: &str) {
    let archive = dir.write("bad-archive", archive);
    let tweets = dir.write("bad-results", tweets);
    let output = dir.path("bad.clean");
    let out = apply(&[
        "--archive",
        &archive,
        "--tweets-results",
        &tweets,
        "--output",
        output.to_str().unwrap(),
    ]);
    out.assert_code(2).assert_stderr(needle);
    assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(!output.exists(), "nothing at the output after: {needle}");
    assert_eq!(
        dir.names()
            .iter()
            .filter(|n| n.contains("bad.clean"))
            .count(),
        0,
        "no temporary file left either: {:?}",
        dir.names()
    );
}

#[test]
fn bad_input_is_exit_2_naming_file_and_line_with_nothing_at_the_output() {
    let dir = TempDir::new();
    let event = b"{\"id\":\"1\",\"action\":\"delete\",\"reason\":\"deleted\"}\n";
    let good = "{\"id\": \"2\", \"text\": \"x\"}\n";
    refused(
        &dir,
        format!("{good}{{\"id\": \"3\", \"text\": \"cut sh").as_bytes(),
        event,
        "bad-archive line 2: not JSON",
    );
    refused(
        &dir,
        format!("{good}{good}not json\n").as_bytes(),
        event,
        "bad-archive line 3: not JSON",
    );
    refused(
        &dir,
        format!("{good}{{\"text\": \"no id\"}}\n").as_bytes(),
        event,
        "bad-archive line 2: an object with neither an id",
    );
    refused(
        &dir,
        format!("{good}{{\"id\": \"12a\"}}\n").as_bytes(),
        event,
        "line 2: a record whose id is not 1 to 19 digits",
    );
    refused(
        &dir,
        format!("{good}{{\"data\": []}}\n").as_bytes(),
        event,
        "line 2: a page where the lines before are records",
    );
    refused(
        &dir,
        b"{\"data\": [{\"text\": \"x\"}]}\n",
        event,
        "line 1: an item data[0] without an id",
    );
    refused(
        &dir,
        b"[{\"id\": \"1\"}]\n",
        event,
        "is one JSON array, not JSON Lines",
    );
    refused(
        &dir,
        b"name,text\nx,y\n",
        event,
        "line 1: a header without a column \"id\"",
    );
    refused(
        &dir,
        b"id,text\n1,y\n2,\"open\n",
        event,
        "bad-archive line 3:",
    );
    refused(
        &dir,
        b"id,text\n1,y\nx,z\n",
        event,
        "line 3: the id \"x\" is not 1 to 19 digits",
    );
    refused(&dir, b"BZh91AY&SY", event, "is bzip2-compressed");
    refused(
        &dir,
        &gzip(good.as_bytes())[..20],
        event,
        "is not whole, valid gzip",
    );
    // Results that are not results.
    refused(
        &dir,
        good.as_bytes(),
        good.as_bytes(),
        "bad-results line 1: not a compliance event",
    );
    refused(
        &dir,
        good.as_bytes(),
        b"id,text\n1,x\n",
        "bad-results line 1: not a JSON object",
    );
    refused(
        &dir,
        good.as_bytes(),
        &[event as &[u8], b"{\"id\":\"1\",\"action\""].concat(),
        "bad-results line 2: not JSON",
    );
}

#[test]
fn an_output_that_is_an_input_is_refused_before_a_byte_is_read() {
    let (dir, archive) = TempDir::holding("a.jsonl", "{\"id\": \"1\"}\n");
    let results = dir.write(
        "r.jsonl",
        "{\"id\":\"1\",\"action\":\"delete\",\"reason\":\"deleted\"}\n",
    );
    let link = dir.path("link.jsonl");
    std::os::unix::fs::symlink("a.jsonl", &link).unwrap();
    for (output, needle) in [
        (archive.as_str(), "--output"),
        (link.to_str().unwrap(), "is --archive"),
        (results.as_str(), "is --tweets-results"),
    ] {
        let out = apply(&[
            "--archive",
            &archive,
            "--tweets-results",
            &results,
            "--output",
            output,
        ]);
        out.assert_code(2).assert_stderr(needle);
    }
    assert_eq!(
        std::fs::read_to_string(&archive).unwrap(),
        "{\"id\": \"1\"}\n",
        "the archive is untouched"
    );
    let out = apply(&[
        "--archive",
        &archive,
        "--tweets-results",
        &results,
        "--output",
        dir.path("o").to_str().unwrap(),
        "--removed",
        &archive,
    ]);
    out.assert_code(2).assert_stderr("--removed");
    let out = apply(&[
        "--archive",
        &archive,
        "--output",
        dir.path("o").to_str().unwrap(),
    ]);
    out.assert_code(2).assert_stderr("--tweets-results");
    let out = apply(&[
        "--archive",
        &archive,
        "--tweets-results",
        &results,
        "--output",
        dir.path("").to_str().unwrap(),
    ]);
    out.assert_code(2).assert_stderr("names a folder");
    let out = apply(&[
        "--archive",
        &archive,
        "--tweets-results",
        &results,
        "--output",
        "o",
        "--output-file",
        "x",
    ]);
    out.assert_code(2).assert_stderr("--output-file");
}

#[test]
fn devices_fifos_and_links_as_the_output() {
    let (dir, archive) = TempDir::holding("a.jsonl", "{\"id\": \"1\"}\n{\"id\": \"2\"}\n");
    let results = dir.write(
        "r.jsonl",
        "{\"id\":\"1\",\"action\":\"delete\",\"reason\":\"deleted\"}\n",
    );
    apply(&[
        "--archive",
        &archive,
        "--tweets-results",
        &results,
        "--output",
        "/dev/null",
    ])
    .assert_code(0);
    let target = dir.path("target.jsonl");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path("link.jsonl");
    std::os::unix::fs::symlink("target.jsonl", &link).unwrap();
    apply(&[
        "--archive",
        &archive,
        "--tweets-results",
        &results,
        "--output",
        link.to_str().unwrap(),
    ])
    .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "{\"id\": \"2\"}\n"
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
}

#[test]
fn the_readme_gives_the_rules_of_the_manual_word_for_word() {
    let manual = apply(&["--help"]).stdout;
    let start = manual
        .find("  results  reason")
        .expect("the rules in --help");
    let table = &manual[start..start + manual[start..].find("\n\n").expect("its end")];
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    assert!(
        readme.contains(&format!("```\n{table}\n```")),
        "README.md lacks:\n{table}"
    );
}

#[test]
fn a_closed_standard_output_is_quiet_unless_a_report_is_lost() {
    use std::process::{Command, Stdio};
    let dir = TempDir::new();
    let lines: String = (1..=200_000u64)
        .map(|i| format!("{{\"id\": \"{i}\"}}\n"))
        .collect();
    let archive = dir.write("a.jsonl", &lines);
    let results = dir.write(
        "r.jsonl",
        "{\"id\":\"1\",\"action\":\"delete\",\"reason\":\"deleted\"}\n",
    );
    let removed = dir.path("removed.jsonl");
    let run = |report: bool| {
        let mut command = Command::new(sibling_binary("apply-results"));
        command.args([
            "--archive",
            &archive,
            "--tweets-results",
            &results,
            "--output",
            "-",
        ]);
        if report {
            command.args(["--removed", removed.to_str().unwrap()]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before a byte is read, as `| head -c0` would.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(run(false), (Some(0), String::new()), "quiet, as for | head");
    let (code, stderr) = run(true);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the report of removals was not written"),
        "{stderr}"
    );
    assert!(!removed.exists());
}
