//! The core as a library user meets it: the whole check, with the default
//! configuration, against the emulator, and nothing written to the user's
//! stderr on the way, retries included.
//!
//! The check runs in a child process (this test binary again, told so by
//! an environment variable), so that its stderr can be read whole; the
//! emulator runs in the parent, whose own output does not count.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use compliance_core::auth::Token;
use compliance_core::destination::Destination;
use compliance_core::ids::IdFile;
use compliance_core::report::Reporter;
use compliance_core::results::Format;
use compliance_core::transfer::{download_results, results_url, upload_ids, UploadTo};
use compliance_core::wait::Patience;
use compliance_core::{Client, Config, JobType, NewJob};
use compliance_emulator::{Emulator, Fault, Route};

/// Set in the child: the folder it works in.
const CHILD: &str = "COMPLIANCE_CORE_LIBRARY_TEST_DIR";
const TEST: &str = "the_whole_check_with_the_default_config_writes_nothing_to_stderr";

#[test]
fn the_whole_check_with_the_default_config_writes_nothing_to_stderr() {
    if let Some(dir) = std::env::var_os(CHILD) {
        return whole_check(PathBuf::from(dir));
    }
    let em = Emulator::start(compliance_emulator::Config {
        processing_delay: Duration::from_millis(200),
        ..compliance_emulator::Config::default()
    })
    .expect("an emulator");
    // A failure worth a retry on each transfer: a library that told of its
    // retries would write to stderr here.
    em.fault(
        Route::Upload,
        Fault::Status {
            status: 503,
            times: 1,
        },
    );
    em.fault(
        Route::Download,
        Fault::Status {
            status: 503,
            times: 1,
        },
    );
    let dir = tempfile::tempdir().expect("a temporary folder");
    let ids: String = (1..=500u64).map(|n| format!("{}\n", 20 + n * 7)).collect();
    std::fs::write(dir.path().join("ids.txt"), ids).expect("the ID file");
    let out = Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, dir.path())
        .env("X_API_URL", em.base_url())
        .env("BEARER_TOKEN", em.token())
        .output()
        .expect("the child runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the check failed: {stderr}{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr, "", "a library user's stderr was written to");
    let results = std::fs::read(dir.path().join("results.jsonl")).expect("the results");
    let expected = em.expected_results(
        "tweets",
        &std::fs::read(dir.path().join("ids.txt")).unwrap(),
    );
    assert_eq!(results, expected, "the results as the emulator made them");
    let retried = em.requests().iter().filter(|r| r.status == 503).count();
    assert_eq!(retried, 2, "both faults were met, and retried past");
}

/// The check as the crate's documentation shows it.
fn whole_check(dir: PathBuf) {
    let url = std::env::var("X_API_URL").expect("X_API_URL");
    let token = Token::new(std::env::var("BEARER_TOKEN").expect("BEARER_TOKEN"));
    let mut config = Config::new(&url, token, "library-test").expect("a config");
    config.retry.first_wait = Duration::from_millis(50);
    let client = Client::new(config).expect("a client");
    let ids = IdFile::check(&dir.join("ids.txt"), &Reporter::silent()).expect("a good ID file");
    let job = client
        .create_job(&NewJob {
            job_type: JobType::Tweets,
            name: Some("library".parse().expect("a name")),
            resumable: false,
        })
        .expect("a job");
    upload_ids(&client, UploadTo::Job(&job), &ids).expect("the upload");
    let patience = Patience::new(Duration::from_millis(200), Some(Duration::from_secs(60)));
    let url = results_url(&client, job, Some(patience)).expect("the results URL");
    let dest = Destination::for_path("results file", &dir.join("results.jsonl"), "results.jsonl")
        .expect("a destination");
    download_results(&client, &url, &dest, Format::Jsonl).expect("the download");
}
