//! Every stage's command line, as a new user gets it wrong: the first line
//! names the flag, the exit code is 2, and the last line says where the
//! manual is. Nothing is asked of the API.

use compliance_testkit::{emulator, in_repo, Stage, STAGES};

/// Runs `stage` with `args` and no API settings; checks the error's shape.
#[track_caller]
fn refused(stage: &str, args: &[&str], first_line: &str) {
    let out = Stage::program(stage).run(args);
    assert_eq!(
        out.assert_usage_error(stage),
        first_line,
        "{stage} {args:?}"
    );
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
        "error: there is no flag --typo; did you mean --type?",
    );
    refused("list-jobs", &["--type"], "error: --type needs a value");
    refused(
        "create-job",
        &["tweets"],
        "error: \"tweets\" is not a flag; values follow their flag, as --name <name>",
    );
    refused(
        "apply-results",
        &["--tweets-results", "r.jsonl", "--output", "o.jsonl"],
        "error: --archive is required",
    );
    refused(
        "apply-results",
        &["--archive", "a.jsonl", "--tweets-results", "r.jsonl"],
        "error: --output is required",
    );
    refused(
        "apply-results",
        &["--archive", "a", "--tweet-results", "r", "--output", "o"],
        "error: there is no flag --tweet-results; did you mean --tweets-results?",
    );
    refused(
        "apply-results",
        &["--archive", "a", "--output", "o"],
        "error: give one of --tweets-results or --users-results",
    );
}

#[test]
fn environment_that_is_not_text_is_named_and_nothing_is_sent() {
    use std::os::unix::ffi::OsStrExt as _;
    let not_text = |bytes: &[u8]| std::ffi::OsStr::from_bytes(bytes).to_os_string();
    let out = Stage::program("list-jobs")
        .env("BEARER_TOKEN", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .env_os("X_API_URL", not_text(b"http://127.0.0.1:1/caf\xe9"))
        .run(&[]);
    out.assert_code(2)
        .assert_stderr("X_API_URL=")
        .assert_stderr("not text (not UTF-8)");
    let out = Stage::program("list-jobs")
        .env("X_API_URL", "http://127.0.0.1:1")
        .env_os("BEARER_TOKEN", not_text(b"AAAA\xe9AAAA"))
        .run(&[]);
    out.assert_code(2)
        .assert_stderr("BEARER_TOKEN holds bytes that are not text");
    let out = Stage::program("list-jobs")
        .api("http://127.0.0.1:1", "  ")
        .run(&[]);
    out.assert_code(2).assert_stderr("BEARER_TOKEN is empty");
    let out = Stage::program("list-jobs")
        .api(
            "http://me:hunter2@127.0.0.1:99999",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .run(&[]);
    out.assert_code(2).assert_stderr_lacks("hunter2");
    let out = Stage::program("list-jobs")
        .api("http://127.0.0.1:99999", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .run(&[]);
    out.assert_code(2).assert_stderr("99999 is not a port");
}

/// The exit codes as README.md writes them: the block that starts with
/// `Exit codes:` in its code fence.
fn readme_exit_codes() -> String {
    let readme = std::fs::read_to_string(in_repo("README.md")).expect("README.md");
    let start = readme
        .find("```\nExit codes:\n")
        .expect("the exit codes in README.md")
        + 4;
    let end = start + readme[start..].find("```").expect("the end of the fence");
    readme[start..end].to_string()
}

#[test]
fn the_readme_and_every_manual_give_the_same_exit_codes() {
    let readme = readme_exit_codes();
    assert!(readme.contains("  2  usage or input error"), "{readme}");
    for stage in STAGES {
        let out = Stage::program(stage).run(&["--help"]);
        out.assert_code(0);
        let manual = &out.stdout[out.stdout.find("Exit codes:\n").expect("exit codes")..];
        assert_eq!(manual.trim_end(), readme.trim_end(), "{stage} --help");
        assert!(
            out.stdout.contains("HTTPS_PROXY") && out.stdout.contains("X_API_URL"),
            "{stage}: the Environment section"
        );
    }
}

#[test]
fn version_and_v_name_the_program() {
    let version = env!("CARGO_PKG_VERSION");
    for stage in STAGES
        .iter()
        .copied()
        .chain(["compliance-emulator", "apply-results"])
    {
        for flag in ["--version", "-V"] {
            let out = Stage::program(stage).run(&[flag]);
            out.assert_code(0);
            assert_eq!(
                out.stdout.trim(),
                format!("{stage} {version}"),
                "{stage} {flag}"
            );
        }
    }
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let em = emulator();
    for _ in 0..3 {
        em.create_job("tweets", None, false);
        em.shift_clock(16 * 60);
    }
    // The reader goes away before a byte is read, as `| head -c0` would.
    let out = Stage::program("list-jobs").at(&em).stdout_closed().run(&[]);
    out.assert_code(0);
    assert_eq!(out.stderr, "", "quietly");
}
