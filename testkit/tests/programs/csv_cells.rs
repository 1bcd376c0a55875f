//! Results as CSV never hand a spreadsheet a formula: a cell that would
//! start with `=`, `+`, `-`, `@`, a tab, CR or NUL gets a `'` before it,
//! inside its quotes (OWASP's advice on CSV injection), and apply-results
//! reads such a CSV back to the same verdicts as the JSON Lines it came from.
//!
//! The API's own results never start a cell so (ids are digits, actions and
//! reasons words, times digits); a server that is not the API, or a body
//! altered on the way, may start any of them so.

use compliance_testkit::hostile::{Answer, Hostile};
use compliance_testkit::{Output, Stage, TempDir};

const BODY: &str = concat!(
    r#"{"id":"10","action":"delete","reason":"=HYPERLINK(\"http://x.test\",\"y\")","created_at":"-1+1","redacted_at":"@SUM(1)"}"#,
    "\n",
    r#"{"id":"11","action":"+delete","reason":"-deleted","created_at":-5}"#,
    "\n",
    r#"{"id":"12","action":"delete","reason":"'=already","created_at":"\t=x","redacted_at":"\r=y"}"#,
    "\n",
    r#"{"id":"13","action":"delete","reason":"deleted","created_at":"2020-01-01T00:00:00.000Z"}"#,
    "\n",
    r#"{"id":"14","action":"delete","reason":"\u0000=z","created_at":"'x"}"#,
    "\n",
);

const CSV: &str = concat!(
    "id,action,reason,created_at,redacted_at\n",
    "10,delete,\"'=HYPERLINK(\"\"http://x.test\"\",\"\"y\"\")\",\"'-1+1\",\"'@SUM(1)\"\n",
    "11,\"'+delete\",\"'-deleted\",\"'-5\",\n",
    "12,delete,\"''=already\",\"'\t=x\",\"'\r=y\"\n",
    "13,delete,deleted,2020-01-01T00:00:00.000Z,\n",
    "14,delete,\"'\0=z\",'x,\n",
);

const ARCHIVE: &str = concat!(
    r#"{"id":"10","author_id":"1","text":"a"}"#,
    "\n",
    r#"{"id":"11","author_id":"1","text":"b"}"#,
    "\n",
    r#"{"id":"12","author_id":"1","text":"c"}"#,
    "\n",
    r#"{"id":"13","author_id":"1","text":"d"}"#,
    "\n",
    r#"{"id":"14","author_id":"1","text":"e"}"#,
    "\n",
    r#"{"id":"15","author_id":"1","text":"kept"}"#,
    "\n",
);

/// Downloads `body`, served by a test server, as download-results does.
fn download(body: &'static str, to: &str, format: &str) -> Output {
    let server = Hostile::start(move |_, _| Answer::new(200, &[], body));
    Stage::program("download-results")
        .api("http://127.0.0.1:1", "AAAAAAAAAAAAAAAAAAAAAAAAcsv")
        .run(&[
            "--url",
            &server.url("/results?X-Goog-Signature=s"),
            "--results-file",
            to,
            "--format",
            format,
        ])
}

#[test]
fn cells_that_a_spreadsheet_would_run_are_guarded_and_read_back_alike() {
    let dir = TempDir::new();
    let csv = dir.path("r.csv");
    let jsonl = dir.path("r.jsonl");
    download(BODY, csv.to_str().unwrap(), "csv").assert_code(0);
    download(BODY, jsonl.to_str().unwrap(), "jsonl").assert_code(0);
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), CSV);
    assert_eq!(std::fs::read_to_string(&jsonl).unwrap(), BODY);

    let archive = dir.write("archive.jsonl", ARCHIVE);
    let apply = |results: &std::path::Path, tag: &str| {
        let (output, removed) = (
            dir.path(&format!("{tag}.out")),
            dir.path(&format!("{tag}.rm")),
        );
        let out = Stage::program("apply-results").run(&[
            "--archive",
            &archive,
            "--tweets-results",
            results.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--removed",
            removed.to_str().unwrap(),
        ]);
        out.assert_code(0);
        let report = std::fs::read_to_string(&removed)
            .unwrap()
            .replace(results.to_str().unwrap(), "RESULTS");
        let mut summary = out.json();
        summary["output"] = serde_json::Value::Null;
        (
            std::fs::read_to_string(&output).unwrap(),
            report,
            summary,
            out.stderr,
        )
    };
    let (from_csv, from_jsonl) = (apply(&csv, "csv"), apply(&jsonl, "jsonl"));
    assert_eq!(
        from_csv.0,
        "{\"id\":\"15\",\"author_id\":\"1\",\"text\":\"kept\"}\n"
    );
    assert_eq!(from_csv.0, from_jsonl.0, "the clean archives");
    assert_eq!(from_csv.1, from_jsonl.1, "the reports of what was removed");
    assert_eq!(from_csv.2, from_jsonl.2, "the summaries");
    for reason in ["=HYPERLINK(", "-deleted", "'=already"] {
        assert!(from_csv.1.contains(reason), "{reason}: {}", from_csv.1);
    }
    assert!(!from_csv.1.contains("''=already"), "{}", from_csv.1);
    // The warnings name the same reasons (the CSV's lines are one further
    // on, after its header).
    let warned = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .filter_map(|l| l.strip_prefix("warning: "))
            .map(|l| l.split_once(": ").map_or(l, |(_, why)| why).to_string())
            .collect()
    };
    assert_eq!(warned(&from_csv.3), warned(&from_jsonl.3), "the warnings");
    assert_eq!(warned(&from_csv.3).len(), 4, "{}", from_csv.3);
}

#[test]
fn an_id_that_is_not_one_is_refused_alike_in_both_formats() {
    const ODD: &str = "{\"id\":\"=1+1\",\"action\":\"delete\",\"reason\":\"deleted\"}\n";
    let (dir, archive) = TempDir::holding("archive.jsonl", ARCHIVE);
    let mut said = Vec::new();
    for format in ["csv", "jsonl"] {
        let results = dir.path(&format!("r.{format}"));
        download(ODD, results.to_str().unwrap(), format).assert_code(0);
        let out = Stage::program("apply-results").run(&[
            "--archive",
            &archive,
            "--tweets-results",
            results.to_str().unwrap(),
            "--output",
            dir.path("out.jsonl").to_str().unwrap(),
        ]);
        out.assert_code(2)
            .assert_stderr("the id \"=1+1\" is not 1 to 19 digits");
        said.push(out.stderr);
    }
    assert!(std::fs::read_to_string(dir.path("r.csv"))
        .unwrap()
        .contains("\"'=1+1\""));
}
