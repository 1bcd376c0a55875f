//! The SQL recipes of `recipes/` (quoted in the README) give the clean
//! archive apply-results gives, on the same made-up archive and results:
//!
//! - `duckdb.sql` on a flattened archive: the same lines; those
//!   apply-results keeps as they were byte for byte, those it changes
//!   equal as JSON with their members in the same order; line ends as the
//!   archive's.
//! - `sqlite.sql` on a table imported from a CSV archive: the same records,
//!   field by field, in LF rows; run again on the same database, the same.
//!
//! The programs run as a user runs them: `duckdb` and `sqlite3` from PATH,
//! in the folder of the files, the recipe on standard input. A test whose
//! program is missing fails, saying how to install it (`.ci/run` does).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use compliance_testkit::archive::{Archive, Style};
use compliance_testkit::{in_repo, Stage, TempDir};

/// A program a recipe runs in, and how to install it.
struct Program {
    name: &'static str,
    install: &'static str,
}

const DUCKDB: Program = Program {
    name: "duckdb",
    install: "pip install duckdb-cli==1.5.6 (or python3 -m pip install duckdb-cli==1.5.6, \
              as .ci/run does)",
};

const SQLITE: Program = Program {
    name: "sqlite3",
    install: "apt-get install sqlite3",
};

impl Program {
    /// Runs it in `dir` with `args` and the file `stdin` (if any) on
    /// standard input; it must exit 0. Returns what it printed.
    #[track_caller]
    fn run(&self, dir: &TempDir, args: &[&str], stdin: Option<&Path>) -> String {
        let input = match stdin {
            Some(path) => Stdio::from(std::fs::File::open(path).unwrap()),
            None => Stdio::null(),
        };
        let out = match Command::new(self.name)
            .args(args)
            .current_dir(dir.path(""))
            .stdin(input)
            .output()
        {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "{} is not installed (not on PATH), and the recipe tests run it: {}",
                self.name, self.install
            ),
            Err(e) => panic!("cannot run {}: {e}", self.name),
        };
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{} {args:?} < {stdin:?}: {}\n--- stdout\n{stdout}\n--- stderr\n{}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

fn recipe(name: &str) -> PathBuf {
    in_repo("recipes").join(name)
}

/// Results as `download-results --format csv` writes them, from JSON
/// Lines ones, rows ending in `end`.
fn results_csv(jsonl: &[u8], end: &str) -> Vec<u8> {
    let mut csv = format!("id,action,reason,created_at,redacted_at{end}").into_bytes();
    for line in jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let row = ["id", "action", "reason", "created_at", "redacted_at"]
            .map(field)
            .join(",");
        csv.extend_from_slice(format!("{row}{end}").as_bytes());
    }
    csv
}

/// Writes the archive's results in `dir` as the recipes read them: JSON
/// Lines, and CSV (the tweets' in LF rows as download-results writes them,
/// the users' in CRLF rows as other tools do). Returns how many events
/// each has.
fn write_results(dir: &TempDir, archive: &Archive) -> (usize, usize) {
    let (tweets, users) = (archive.tweets_results(), archive.users_results());
    dir.write("tweets-results.jsonl", &tweets);
    dir.write("users-results.jsonl", &users);
    dir.write("tweets-results.csv", results_csv(&tweets, "\n"));
    dir.write("users-results.csv", results_csv(&users, "\r\n"));
    let events = |b: &[u8]| b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).count();
    (events(&tweets), events(&users))
}

/// Runs apply-results in `dir` on the files named there; returns its
/// output and its summary.
fn apply_results(
    dir: &TempDir,
    archive: &str,
    tweets: &str,
    users: &str,
    output: &str,
) -> (Vec<u8>, serde_json::Value) {
    let path = |name: &str| dir.path(name).to_string_lossy().into_owned();
    let out = Stage::bare(env!("CARGO_BIN_EXE_apply-results")).run(&[
        "--archive",
        &path(archive),
        "--tweets-results",
        &path(tweets),
        "--users-results",
        &path(users),
        "--output",
        &path(output),
    ]);
    out.assert_code(0);
    (std::fs::read(dir.path(output)).unwrap(), out.json())
}

/// The lines of a file that ends in LF, without their LF (a CR stays).
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let body = bytes
        .strip_suffix(b"\n")
        .unwrap_or_else(|| panic!("no LF at the end: {:?}", tail(bytes)));
    body.split(|&b| b == b'\n').collect()
}

fn tail(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(40)..]).into_owned()
}

fn show(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.into_owned(),
    }
}

/// A JSON line as serde_json writes it: members in their order (the
/// workspace's serde_json preserves it), numbers and strings normalised.
fn json(line: &[u8]) -> String {
    let body = line.strip_suffix(b"\r").unwrap_or(line);
    let value: serde_json::Value =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", show(line)));
    serde_json::to_string(&value).unwrap()
}

/// Compares the recipe's lines (`got`) with apply-results' (`want`): the
/// same number; a line apply-results kept as it was (one of the archive's)
/// byte for byte; a line it changed equal as JSON, members in the same
/// order; every line ending in CRLF if `crlf`, else in LF alone. Returns
/// how many lines apply-results changed.
fn same_json_lines(archive: &[u8], want: &[u8], got: &[u8], crlf: bool) -> usize {
    let archive: HashSet<&[u8]> = lines(archive).into_iter().collect();
    let (want, got) = (lines(want), lines(got));
    assert_eq!(got.len(), want.len(), "the recipe's lines");
    let mut changed = 0;
    for (n, (w, g)) in want.iter().zip(&got).enumerate() {
        let n = n + 1;
        assert_eq!(
            (w.ends_with(b"\r"), g.ends_with(b"\r")),
            (crlf, crlf),
            "line {n}: CR before the LF (apply-results, recipe)\nwant: {}\n got: {}",
            show(w),
            show(g)
        );
        if archive.contains(w) {
            assert!(
                g == w,
                "line {n}: kept as it was by apply-results, not by the recipe\nwant: {}\n got: {}",
                show(w),
                show(g)
            );
        } else {
            changed += 1;
            assert_eq!(json(g), json(w), "line {n}: changed, differently");
        }
    }
    changed
}

/// Runs apply-results and the DuckDB recipe on the flattened archive in
/// `style` and compares them; returns apply-results' summary and how many
/// lines it changed.
fn duckdb_matches(dir: &TempDir, archive: &Archive, style: Style) -> (serde_json::Value, usize) {
    let mut input = Vec::new();
    archive.write_flattened(&mut input, style, None).unwrap();
    dir.write("archive.jsonl", &input);
    let (want, summary) = apply_results(
        dir,
        "archive.jsonl",
        "tweets-results.jsonl",
        "users-results.jsonl",
        "apply-results.clean.jsonl",
    );
    DUCKDB.run(dir, &[], Some(&recipe("duckdb.sql")));
    let got = std::fs::read(dir.path("archive.clean.jsonl")).unwrap();
    let changed = same_json_lines(&input, &want, &got, style.crlf);
    (summary, changed)
}

/// The summary's count of `key`.
fn count(summary: &serde_json::Value, key: &str) -> u64 {
    summary
        .pointer(key)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("no {key} in {summary}"))
}

#[track_caller]
fn every_rule_ran(summary: &serde_json::Value, changed: usize) {
    // The fixture has all: Tweets removed by their own results and their
    // authors', users removed, geo scrubbed, copies cut back.
    assert!(count(summary, "/removed_by_author") > 0, "{summary}");
    assert!(count(summary, "/geo_scrubbed") > 0, "{summary}");
    assert!(count(summary, "/cut_back") > 0, "{summary}");
    assert!(count(summary, "/removed/deleted") > 0, "{summary}");
    assert!(
        changed > 0
            && changed as u64 <= count(summary, "/geo_scrubbed") + count(summary, "/cut_back")
    );
}

#[test]
fn duckdb_recipe_on_a_python_style_lf_archive() {
    let dir = TempDir::new();
    let archive = Archive::small(41, 3000);
    write_results(&dir, &archive);
    let (summary, changed) = duckdb_matches(&dir, &archive, Style::TWARC);
    every_rule_ran(&summary, changed);
}

#[test]
fn duckdb_recipe_on_a_compact_crlf_archive_with_a_blank_line_at_the_end() {
    let dir = TempDir::new();
    let archive = Archive::small(42, 3000);
    write_results(&dir, &archive);
    let style = Style {
        python: false,
        crlf: true,
        blank_line_at_end: true,
    };
    let (summary, changed) = duckdb_matches(&dir, &archive, style);
    every_rule_ran(&summary, changed);
    let got = std::fs::read(dir.path("archive.clean.jsonl")).unwrap();
    assert!(
        got.ends_with(b"}\r\n\r\n"),
        "the blank line at the end: {:?}",
        tail(&got)
    );
}

#[test]
fn duckdb_recipe_with_an_empty_users_results_file() {
    let dir = TempDir::new();
    let archive = Archive::small(43, 3000);
    write_results(&dir, &archive);
    dir.write("users-results.jsonl", "");
    let (summary, changed) = duckdb_matches(&dir, &archive, Style::TWARC);
    assert_eq!(count(&summary, "/removed_by_author"), 0);
    assert!(changed > 0);
    // No results at all: the archive as it was, byte for byte.
    dir.write("tweets-results.jsonl", "");
    let (_, changed) = duckdb_matches(&dir, &archive, Style::TWARC);
    assert_eq!(changed, 0);
    assert_eq!(
        std::fs::read(dir.path("archive.clean.jsonl")).unwrap(),
        std::fs::read(dir.path("archive.jsonl")).unwrap()
    );
}

#[test]
fn duckdb_recipe_on_the_rules_edge_cases() {
    let dir = TempDir::new();
    let event = |id: &str, reason: &str| {
        format!("{{\"id\":\"{id}\",\"action\":\"delete\",\"reason\":\"{reason}\"}}\n")
    };
    let tweets: String = [
        ("100", "deleted"),
        ("101", "scrub_geo"),
        ("102", "scrub_geo"),
        ("102", "deleted"),
        ("103", "scrub_geo"),
        ("104", "scrub_geo"),
        ("109", "bounced"),
        ("110", "scrub_geo"),
        ("113", "scrub_geo"),
        ("200", "deleted"),
        ("201", "scrub_geo"),
        ("202", "deleted"),
        ("204", "scrub_geo"),
        ("204", "protected"),
        ("902", "scrub_geo"),
        ("903", "deleted"),
    ]
    .map(|(id, reason)| event(id, reason))
    .concat();
    let users = [event("900", "suspended"), event("901", "deactivated")].concat();
    dir.write("tweets-results.jsonl", &tweets);
    dir.write("users-results.jsonl", &users);
    let archive = [
        r#"{"id": "100", "text": "removed"}"#,
        r#"{"id": "101", "text": "loses geo", "geo": {"place_id": "x", "geo": {"bbox": [-74.026675, 40.683935]}}, "lang": "en"}"#,
        r#"{"id": 102, "text": "scrubbed and deleted: removed", "geo": {"place_id": "x"}}"#,
        r#"{"id": "103", "text": "scrub_geo without geo: as it was"}"#,
        r#"{"id": "104", "geo": null, "text": "a null geo goes too"}"#,
        "   ",
        r#"{"id": "105", "author_id": "900", "text": "by a removed user"}"#,
        r#"{"id": "106", "referenced_tweets": [{"type": "quoted", "id": "200", "text": "cut back", "author_id": "5"}, "not a Tweet", {"type": "replied_to", "id": "201", "geo": {"place_id": "y"}, "text": "loses geo"}, {"type": "retweeted", "id": "300", "author_id": "900", "text": "by a removed user: cut back"}, {"id": "204", "type": "quoted", "geo": {}, "text": "scrubbed and removed: cut back"}, {"type": "quoted", "id": 200, "text": "a number id"}, {"id": "203", "type": "quoted", "text": "kept whole"}], "text": "t"}"#,
        r#"{"id": "107", "referenced_tweets": [{"type": "quoted", "id": "202"}], "text": "already cut back: as it was"}"#,
        r#"{"id": "900", "username": "removed", "name": "x"}"#,
        r#"{"id": "901", "username": null}"#,
        r#"{"id": "902", "username": "a user keeps geo", "geo": {"a": 1}}"#,
        r#"{"id": "903", "username": "named by tweets results only: stays"}"#,
        r#"{"id": "108", "author_id": "903", "text": "its author is in the tweets results only: stays"}"#,
        "\u{c}",
        r#"{"id": "0109", "text": "leading zero, removed"}"#,
        r#"{"id": "110", "text": "caf\u00e9 \ud83d\ude00 \"q\" \\", "n": 1460000000000000000, "f": 2.5e-3, "geo": {"place_id": "z"}, "z": [true, null, {}]}"#,
        "  {\"id\": \"111\", \"author_id\": 901, \"text\": \"a number author\"}  ",
        " {\"id\": \"113\", \"geo\": {}, \"text\": \"spaces around\"}\t",
        r#"{"id": "112", "entities": {"mentions": [{"username": "not the record's"}]}, "author": {"id": "900", "username": "x"}}"#,
    ]
    .map(|line| format!("{line}\n"))
    .concat();
    dir.write("archive.jsonl", &archive);
    let (want, summary) = apply_results(
        &dir,
        "archive.jsonl",
        "tweets-results.jsonl",
        "users-results.jsonl",
        "apply-results.clean.jsonl",
    );
    assert_eq!(count(&summary, "/cut_back"), 4, "{summary}");
    DUCKDB.run(&dir, &[], Some(&recipe("duckdb.sql")));
    let got = std::fs::read(dir.path("archive.clean.jsonl")).unwrap();
    let changed = same_json_lines(archive.as_bytes(), &want, &got, false);
    assert_eq!(changed, 5, "101, 104, 106, 110 and 113");
    assert_eq!(lines(&want).len(), 13);
}

/// The records of RFC 4180 CSV: fields apart at commas, a field in quotes
/// holding commas, quotes (doubled) and line ends; records ending in CRLF
/// or LF. Anything else fails.
fn csv_records(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).expect("CSV in UTF-8");
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    // Whether the field began with a quote, and whether it is inside one.
    let (mut quoted, mut inside) = (false, false);
    while let Some(c) = chars.next() {
        if inside {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => inside = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted => (quoted, inside) = (true, true),
            ',' => {
                record.push(std::mem::take(&mut field));
                quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                quoted = false;
            }
            c if quoted => panic!(
                "{c:?} after a closing quote, in record {}",
                records.len() + 1
            ),
            '"' | '\r' => panic!("a bare {c:?} in record {}", records.len() + 1),
            c => field.push(c),
        }
    }
    assert!(!inside, "a quoted field that does not end");
    assert!(
        field.is_empty() && record.is_empty(),
        "no line end after the last record"
    );
    records
}

/// Compares two CSV files record by record, field by field.
fn same_records(want: &[u8], got: &[u8]) {
    let (want, got) = (csv_records(want), csv_records(got));
    assert_eq!(got.len(), want.len(), "records, the header included");
    let header = &want[0];
    for (n, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(g.len(), w.len(), "record {}: fields", n + 1);
        for (column, (wf, gf)) in header.iter().zip(w.iter().zip(g)) {
            assert_eq!(gf, wf, "record {} (id {}), column {column}", n + 1, w[0]);
        }
    }
}

/// Imports the CSV archive in `dir` into a new archive.db as a user does,
/// then runs the SQLite recipe on it.
fn sqlite_recipe(dir: &TempDir) -> Vec<u8> {
    SQLITE.run(
        dir,
        &["archive.db", ".import --csv archive.csv tweets"],
        None,
    );
    sqlite_recipe_again(dir)
}

/// Runs the SQLite recipe on archive.db; returns what it wrote.
fn sqlite_recipe_again(dir: &TempDir) -> Vec<u8> {
    SQLITE.run(dir, &["archive.db"], Some(&recipe("sqlite.sql")));
    // Its temporary file gone, nothing else left beside the database.
    assert_eq!(
        dir.names(),
        [
            "apply-results.clean.csv",
            "archive.clean.csv",
            "archive.csv",
            "archive.db",
            "tweets-results.csv",
            "tweets-results.jsonl",
            "users-results.csv",
            "users-results.jsonl",
        ]
    );
    let got = std::fs::read(dir.path("archive.clean.csv")).unwrap();
    // A header, then LF rows (the fixture's fields hold no CR).
    assert!(
        got.starts_with(format!("{}\n", Archive::CSV_HEADER).as_bytes()),
        "{}",
        show(&got)
    );
    assert!(
        !got.contains(&b'\r') && got.ends_with(b"\n"),
        "LF rows only"
    );
    got
}

/// Writes the CSV archive, runs apply-results and the SQLite recipe on it
/// (with the CSV results) and compares them; returns apply-results' summary.
fn sqlite_matches(dir: &TempDir, archive: &Archive, crlf: bool) -> serde_json::Value {
    let mut input = Vec::new();
    archive.write_csv(&mut input, crlf, None).unwrap();
    dir.write("archive.csv", &input);
    let (want, summary) = apply_results(
        dir,
        "archive.csv",
        "tweets-results.csv",
        "users-results.csv",
        "apply-results.clean.csv",
    );
    let _ = std::fs::remove_file(dir.path("archive.db"));
    let got = sqlite_recipe(dir);
    same_records(&want, &got);
    summary
}

#[test]
fn sqlite_recipe_on_an_lf_csv_archive() {
    let dir = TempDir::new();
    let archive = Archive::small(51, 3000);
    write_results(&dir, &archive);
    let summary = sqlite_matches(&dir, &archive, false);
    assert!(count(&summary, "/removed_by_author") > 0, "{summary}");
    assert!(count(&summary, "/geo_scrubbed") > 0, "{summary}");
    assert!(count(&summary, "/removed/deleted") > 0, "{summary}");
}

#[test]
fn sqlite_recipe_on_a_crlf_csv_archive() {
    let dir = TempDir::new();
    let archive = Archive::small(52, 3000);
    write_results(&dir, &archive);
    let summary = sqlite_matches(&dir, &archive, true);
    assert!(count(&summary, "/geo_scrubbed") > 0, "{summary}");
}

#[test]
fn sqlite_recipe_run_again_on_the_same_database_gives_the_same() {
    let dir = TempDir::new();
    let archive = Archive::small(53, 3000);
    let (tweets, users) = write_results(&dir, &archive);
    sqlite_matches(&dir, &archive, false);
    let first = std::fs::read(dir.path("archive.clean.csv")).unwrap();
    let second = sqlite_recipe_again(&dir);
    assert!(first == second, "a second run changed the clean archive");
    // The results tables hold this month's events, once, and no header.
    let rows = SQLITE.run(
        &dir,
        &[
            "archive.db",
            "SELECT (SELECT count(*) FROM tweets_results), (SELECT count(*) FROM users_results), \
             (SELECT count(*) FROM tweets_results WHERE id = 'id')",
        ],
        None,
    );
    assert_eq!(rows.trim_end(), format!("{tweets}|{users}|0"));
}

#[test]
fn sqlite_recipe_with_an_empty_users_results_file() {
    let dir = TempDir::new();
    let archive = Archive::small(54, 3000);
    write_results(&dir, &archive);
    // Nothing at all, and the header alone (download-results' for no event).
    for users in ["", "id,action,reason,created_at,redacted_at\n"] {
        dir.write("users-results.csv", users);
        let summary = sqlite_matches(&dir, &archive, false);
        assert_eq!(count(&summary, "/removed_by_author"), 0);
        assert!(count(&summary, "/geo_scrubbed") > 0, "{summary}");
    }
}
