//! Every stage against every fault the emulator can inject: each run either
//! succeeds with byte-exact results (after retries) or fails with a clear
//! error and a non-zero exit, and never leaves a partial or wrong results file.
//!
//! The README's table of faults and stages is this file, in prose.

use std::time::Duration;

use compliance_testkit::{
    assert_no_auth_to_storage, await_status, sibling_binary, upload, Config, Emulator, Fault,
    Output, Route, Stage, TempDir,
};

/// Faults every request can meet; `times: 1` so that one retry cures them.
fn common_faults() -> Vec<Fault> {
    vec![
        Fault::Status {
            status: 500,
            times: 1,
        },
        Fault::Status {
            status: 502,
            times: 1,
        },
        Fault::Status {
            status: 503,
            times: 1,
        },
        Fault::Status {
            status: 504,
            times: 1,
        },
        Fault::RateLimited {
            reset_after: Duration::from_secs(1),
            times: 1,
        },
        Fault::CloseResponseAfter { bytes: 0, times: 1 },
        Fault::CloseResponseAfter {
            bytes: 10,
            times: 1,
        },
        Fault::Stall {
            after_bytes: 10,
            times: 1,
        },
    ]
}

/// Faults on the bytes a request sends.
fn request_faults(offsets: &[u64]) -> Vec<Fault> {
    offsets
        .iter()
        .map(|&bytes| Fault::CloseRequestAfter { bytes, times: 1 })
        .collect()
}

/// Runs a stage with a short stall limit, so that a stalled read fails fast.
fn run(em: &Emulator, stage: &str, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--stall", "1"]);
    Stage::new(sibling_binary(stage), em).run(&all)
}

#[test]
fn create_job_makes_exactly_one_job() {
    let mut faults = common_faults();
    faults.extend(request_faults(&[0, 5]));
    for fault in faults {
        let em = Emulator::start(Config::default()).expect("start");
        em.fault(Route::CreateJob, fault.clone());
        let out = run(&em, "create-job", &["--type", "tweets", "--name", "f"]);
        out.assert_code(0).assert_stderr("retry 1/5");
        assert_eq!(em.jobs().len(), 1, "{fault:?}: {}", out.stderr);
        assert_eq!(out.json()["id"], em.jobs()[0].id.as_str(), "{fault:?}");
    }
}

#[test]
fn list_jobs_and_list_job_retry_reads() {
    for fault in common_faults() {
        let em = Emulator::start(Config::default()).expect("start");
        let job = em.create_job("users", None, false);
        em.fault(Route::ListJobs, fault.clone());
        let out = run(&em, "list-jobs", &["--type", "users"]);
        out.assert_code(0).assert_stderr("retry 1/5");
        assert_eq!(out.json()[0]["id"], job.id.as_str(), "{fault:?}");
        em.fault(Route::GetJob, fault.clone());
        let out = run(&em, "list-job", &["--id", &job.id]);
        out.assert_code(0).assert_stderr("retry 1/5");
        assert_eq!(out.json()["id"], job.id.as_str(), "{fault:?}");
    }
}

fn ids(n: u64) -> String {
    (0..n)
        .map(|i| format!("{}\n", 1_300_000_000_000_000_000 + i * 7_777))
        .collect()
}

#[test]
fn upload_ids_stores_the_exact_bytes() {
    let ids = ids(20_000); // 400 KB
    let mut faults = common_faults();
    faults.extend(request_faults(&[0, 1, 65_536, 399_999]));
    let dir = TempDir::new();
    let file = dir.write("ids.txt", &ids);
    for fault in faults {
        let em = Emulator::start(Config::default()).expect("start");
        let job = em.create_job("tweets", None, false);
        em.fault(Route::Upload, fault.clone());
        let out = run(&em, "upload-ids", &["--ids-file", &file, "--id", &job.id]);
        out.assert_code(0);
        assert_eq!(
            em.uploaded(&job.id).as_deref(),
            Some(ids.as_bytes()),
            "{fault:?}: {}",
            out.stderr
        );
        assert_no_auth_to_storage(&em);
    }
}

#[test]
fn upload_ids_gives_up_clearly() {
    let dir = TempDir::new();
    let file = dir.write("ids.txt", ids(100));
    let em = Emulator::start(Config::default()).expect("start");
    let job = em.create_job("tweets", None, false);
    em.fault(
        Route::Upload,
        Fault::Status {
            status: 503,
            times: 10,
        },
    );
    let out = run(
        &em,
        "upload-ids",
        &["--ids-file", &file, "--id", &job.id, "--retries", "2"],
    );
    out.assert_code(1)
        .assert_stderr("gave up after 3 attempts")
        .assert_stderr("HTTP 503");
    assert_eq!(
        out.stderr.lines().count(),
        3,
        "two retry lines and the error: {}",
        out.stderr
    );
    assert!(em.uploaded(&job.id).is_none());
}

#[test]
fn download_results_is_byte_exact_or_absent() {
    let ids = ids(20_000);
    let em = Emulator::start(Config {
        event_percent: 50,
        ..Config::default()
    })
    .expect("start");
    let job = em.create_job("tweets", None, false);
    assert_eq!(upload(&em, &job.id, ids.as_bytes()), 200);
    await_status(&em, &job.id, "complete", Duration::from_secs(10));
    let expected = em.expected_results("tweets", ids.as_bytes());
    assert!(expected.len() > 1_000_000);
    let mut faults = common_faults();
    faults
        .extend([0, 1, 4096, 1_000_000].map(|bytes| Fault::CloseResponseAfter { bytes, times: 1 }));
    faults.push(Fault::Stall {
        after_bytes: 500_000,
        times: 1,
    });
    faults.push(Fault::CloseResponseAfter {
        bytes: 100_000,
        times: 3,
    });
    let dir = TempDir::new();
    let path = dir.path("r.jsonl");
    let path = path.to_str().unwrap();
    for fault in faults {
        em.fault(Route::Download, fault.clone());
        let out = run(
            &em,
            "download-results",
            &["--id", &job.id, "--results-file", path],
        );
        out.assert_code(0).assert_stderr("retry 1/5");
        assert!(
            std::fs::read(path).unwrap() == expected,
            "{fault:?}: results differ"
        );
        assert_eq!(dir.names(), ["r.jsonl"]);
        std::fs::remove_file(path).unwrap();
    }
    // Out of retries: an error, and no file at all. (A fault that lets some
    // bytes through each time is retried for as long as it makes progress.)
    em.fault(
        Route::Download,
        Fault::Status {
            status: 503,
            times: 10,
        },
    );
    let out = run(
        &em,
        "download-results",
        &["--id", &job.id, "--results-file", path, "--retries", "2"],
    );
    out.assert_code(1).assert_stderr("gave up after 3 attempts");
    assert!(dir.names().is_empty(), "{:?}", dir.names());
    assert_no_auth_to_storage(&em);
}
