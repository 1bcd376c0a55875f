//! A standard output whose reader has gone: quiet exit 0 only when the
//! reader chose to stop and nothing that matters is lost. A job that now
//! exists, or a wait whose job failed, is not something a closed pipe may
//! swallow.

use compliance_testkit::{emulator, finished_job, ids, Emulator, Output, Stage};

/// Runs `stage` against `em` with its standard output a pipe whose reader
/// is gone before a byte is written, as `| (exec 0<&-; ...)` makes it.
fn with_stdout_closed(em: &Emulator, stage: &str, args: &[&str]) -> Output {
    Stage::program(stage).at(em).stdout_closed().run(args)
}

#[test]
fn create_job_names_the_job_it_made_when_stdout_is_closed() {
    let em = emulator();
    let out = with_stdout_closed(&em, "create-job", &["--type", "tweets", "--name", "lost"]);
    let jobs = em.jobs();
    assert_eq!(jobs.len(), 1, "the job was made: {jobs:?}");
    out.assert_code(1)
        .assert_stderr(&format!("tweets job {} (\"lost\"", jobs[0].id))
        .assert_stderr("was created")
        .assert_stderr(&format!("list-job --id {}", jobs[0].id));
    assert!(
        !out.stderr.contains(&jobs[0].upload_url),
        "the signed URL stays out of messages: {}",
        out.stderr
    );
}

#[test]
fn a_wait_whose_job_failed_is_exit_1_even_when_stdout_is_closed() {
    let em = emulator();
    let job = em.create_job("users", None, false);
    em.shift_clock(16 * 60);
    let out = with_stdout_closed(&em, "list-job", &["--id", &job.id, "--wait"]);
    out.assert_code(1).assert_stderr("expired");
    // Shown without --wait, an expired job is no failure: quiet, 0.
    let out = with_stdout_closed(&em, "list-job", &["--id", &job.id]);
    out.assert_code(0);
    assert_eq!(out.stderr, "", "quietly");
}

#[test]
fn results_on_stdout_that_a_reader_closed_end_quietly() {
    let em = emulator();
    let job = finished_job(&em, "tweets", None, ids(5000));
    let out = with_stdout_closed(
        &em,
        "download-results",
        &["--id", &job.id, "--results-file", "-", "--quiet"],
    );
    out.assert_code(0);
    assert_eq!(out.stderr, "", "quietly");
}
