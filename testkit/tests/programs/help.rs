//! Every program's help as a teaching example: `-h` is the short usage,
//! `--help` the manual after it, `main.rs` starts with the usage and stays
//! short, and a misspelt flag is named with the closest real one. Nothing
//! is asked of the API.

use compliance_testkit::{in_repo, Output, Stage, STAGES};

/// The six programs: the five stages and apply-results.
fn programs() -> impl Iterator<Item = &'static str> {
    STAGES.into_iter().chain(["apply-results"])
}

/// The most lines `-h` prints.
const SHORT_USAGE_LINES: usize = 30;

fn run(program: &str, args: &[&str]) -> Output {
    Stage::program(program).run(args)
}

#[test]
fn h_is_the_short_usage_and_help_the_manual_after_it() {
    for program in programs() {
        let short = run(program, &["-h"]);
        short.assert_code(0);
        let lines: Vec<&str> = short.stdout.lines().collect();
        assert!(
            lines.len() <= SHORT_USAGE_LINES,
            "{program} -h is {} lines:\n{}",
            lines.len(),
            short.stdout
        );
        // What the program does, then how to call it, then its exit codes.
        let purpose = lines.first().copied().unwrap_or_default();
        assert!(
            !purpose.is_empty() && !purpose.starts_with("Usage:"),
            "{program}: {purpose:?}"
        );
        let usage = lines.iter().position(|l| *l == "Usage:");
        assert!(
            usage.is_some_and(|at| at <= 3),
            "{program}:\n{}",
            short.stdout
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("  {program} "))),
            "{program}: the patterns:\n{}",
            short.stdout
        );
        assert!(
            lines.iter().any(|l| l.starts_with("Exit codes: 0 done")),
            "{program}: the exit codes in short:\n{}",
            short.stdout
        );
        let manual = run(program, &["--help"]);
        manual.assert_code(0);
        assert!(
            manual.stdout.starts_with(&format!("{}\n", short.stdout)),
            "{program} --help starts with -h and a blank line:\n{}",
            manual.stdout
        );
        assert!(
            manual.stdout.lines().count() > lines.len() + 10,
            "{program} --help: the manual is missing"
        );
        assert!(manual.stderr.is_empty() && short.stderr.is_empty());
    }
}

#[test]
fn main_rs_starts_with_the_usage_and_the_prose_lives_beside_it() {
    for program in programs() {
        let src = in_repo(program).join("src");
        let main = std::fs::read_to_string(src.join("main.rs")).expect("main.rs");
        let usage = main.lines().position(|l| l == "Usage:");
        assert!(
            usage.is_some_and(|at| at < 20),
            "{program}/src/main.rs: Usage: at line {:?}",
            usage.map(|at| at + 1)
        );
        let code = main.lines().filter(|l| !l.trim().is_empty()).count();
        assert!(
            code <= 100,
            "{program}/src/main.rs: {code} lines that are not blank"
        );
        assert!(main.contains("include_str!(\"manual.txt\")"), "{program}");
        let manual = std::fs::read_to_string(src.join("manual.txt")).expect("manual.txt");
        assert!(manual.lines().count() > 1, "{program}/src/manual.txt");
    }
}

/// `program args` is refused, naming `flag` and, if any, the closest real
/// flags `meant`.
fn misspelt(program: &str, args: &[&str], flag: &str, meant: Option<&str>) {
    let first = match meant {
        Some(meant) => format!("error: there is no flag {flag}; did you mean {meant}?"),
        None => format!("error: there is no flag {flag}"),
    };
    let out = run(program, args);
    assert_eq!(out.assert_usage_error(program), first, "{program} {args:?}");
}

#[test]
fn a_misspelt_flag_is_named_with_the_closest_real_one() {
    // A prefix (docopt takes none), two letters swapped, one dropped.
    misspelt("create-job", &["--typ", "tweets"], "--typ", Some("--type"));
    misspelt(
        "create-job",
        &["--type", "users", "--nmae", "x"],
        "--nmae",
        Some("--name"),
    );
    misspelt("list-jobs", &["--tpye", "tweets"], "--tpye", Some("--type"));
    misspelt("list-job", &["--nam", "x"], "--nam", Some("--name"));
    misspelt(
        "list-job",
        &["--id", "1", "--Wait"],
        "--Wait",
        Some("--wait"),
    );
    misspelt(
        "upload-ids",
        &["--ids-fil", "ids.txt", "--id", "1"],
        "--ids-fil",
        Some("--ids-file"),
    );
    // The start of one flag and a letter from another: both.
    misspelt(
        "upload-ids",
        &["--ids", "ids.txt", "--id", "1"],
        "--ids",
        Some("--ids-file or --id"),
    );
    misspelt(
        "download-results",
        &["--id", "1", "--result-file", "r.jsonl"],
        "--result-file",
        Some("--results-file"),
    );
    misspelt(
        "apply-results",
        &["--archvie", "a", "--tweets-results", "r", "--output", "o"],
        "--archvie",
        Some("--archive"),
    );
    misspelt("list-jobs", &["-type", "tweets"], "-type", Some("--type"));
    misspelt("create-job", &["--bogus"], "--bogus", None);
}
