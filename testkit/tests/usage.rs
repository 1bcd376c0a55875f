//! Every stage's command line, as a new user gets it wrong: the first line
//! names the flag, the exit code is 2, and the last line says where the
//! manual is. Nothing is asked of the API.

use compliance_testkit::{sibling_binary, Stage};

/// Runs `stage` with `args` and no API settings; checks the error's shape.
fn refused(stage: &str, args: &[&str], first_line: &str) {
    let out = Stage::bare(sibling_binary(stage)).run(args);
    out.assert_code(2);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(first_line),
        "{stage} {args:?}:\n{}",
        out.stderr
    );
    assert_eq!(
        lines.last().copied(),
        Some(format!("see {stage} --help").as_str()),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_and_conflicting_flags_are_named() {
    refused("create-job", &[], "error: --type is required");
    refused("list-job", &[], "error: give one of --id or --name");
    refused(
        "list-job",
        &["--id", "1", "--name", "x"],
        "error: --id and --name cannot go together: give one of --id or --name",
    );
    refused(
        "upload-ids",
        &["--id", "1"],
        "error: --ids-file is required",
    );
    refused(
        "download-results",
        &["--id", "1"],
        "error: --results-file is required",
    );
    refused(
        "download-results",
        &["--results-file", "r"],
        "error: give one of --url, --id or --name",
    );
    refused(
        "list-jobs",
        &["--typo", "tweets"],
        "error: there is no flag --typo",
    );
    refused("list-jobs", &["--type"], "error: --type needs a value");
    refused(
        "create-job",
        &["tweets"],
        "error: \"tweets\" is not a flag; values follow their flag, as --name <name>",
    );
}
