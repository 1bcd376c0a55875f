//! Every stage's work against every fault the emulator can inject: each run
//! either succeeds with byte-exact results (after retries) or fails with a
//! clear error, and never leaves a partial or wrong results file.
//!
//! The matrix runs in process: the core's calls, as the stage binaries make
//! them, through a client whose retry waits are milliseconds, each fault on
//! its own thread and emulator. What a stage prints on stderr is not seen
//! here, so "it retried" is read from the emulator's request log instead.
//! One smoke test per stage runs the built binary through a retry, so the
//! binaries' wiring (flags, environment, exit codes, messages) stays covered.
//!
//! The README's table of faults and stages is this file, in prose.

use std::path::Path;
use std::time::Duration;

use compliance_core::auth::Token;
use compliance_core::ids::IdFile;
use compliance_core::results::Format;
use compliance_core::retry::RetryPolicy;
use compliance_core::transfer::{download_results, upload_ids, Destination, UploadTo};
use compliance_core::{Client, JobId, JobType, NewJob};
use compliance_testkit::{
    assert_no_auth_to_storage, emulator, emulator_with,
    fault::{self, Times as _},
    from_the_tools, Emulator, Fault, Origin, Route, Stage, TempDir,
};
use compliance_testkit::{finished_job, ids};

/// Faults every request can meet; `times: 1` so that one retry cures them.
fn common_faults() -> Vec<Fault> {
    vec![
        fault::status(500),
        fault::status(502),
        fault::status(503),
        fault::status(504),
        fault::rate_limited(1),
        fault::close_response(0),
        fault::close_response(10),
        fault::stall(10),
    ]
}

/// Faults on the bytes a request sends.
fn request_faults(offsets: &[u64]) -> Vec<Fault> {
    offsets
        .iter()
        .map(|&bytes| fault::close_request(bytes))
        .collect()
}

/// A client of `em` as a stage makes one, but with retry waits of
/// milliseconds and `retries` retries; against a stall, a read that waits
/// 300 ms fails. (A rate limit is still waited out until its reset, a
/// second or two: the core adds a second to the reset it is given.)
fn client(em: &Emulator, retries: u32, fault: &Fault) -> Client {
    let mut config =
        compliance_core::Config::new(&em.base_url(), Token::new(em.token().to_string()), "test")
            .expect("config");
    config.retry = RetryPolicy {
        retries,
        budget: Duration::from_secs(60),
        first_wait: Duration::from_millis(2),
        max_wait: Duration::from_millis(20),
    };
    if matches!(fault, Fault::Stall { .. }) {
        config.read_timeout = Duration::from_millis(300);
    }
    Client::new(config).expect("client")
}

/// As many retries as a stage makes by default (its "retry 1/5").
const RETRIES: u32 = 5;

/// Runs `check` for every fault at once, each on a thread of its own named
/// after the fault: one fault's waits (a rate limit's second, a stall's
/// timeout) are then not added to every other's. Fails naming each fault
/// whose check failed.
fn each_fault(faults: Vec<Fault>, check: impl Fn(&Fault) + Sync) {
    let failed: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = faults
            .iter()
            .map(|fault| {
                let run = std::thread::Builder::new()
                    .name(format!("{fault:?}"))
                    .spawn_scoped(scope, || check(fault))
                    .expect("start a thread");
                (fault, run)
            })
            .collect();
        runs.into_iter()
            .filter_map(|(fault, run)| {
                let panic = run.join().err()?;
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                Some(format!("{fault:?}: {why}"))
            })
            .collect()
    });
    assert!(
        failed.is_empty(),
        "{} fault(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// The tools' requests to the API whose target starts with `path`.
fn api_requests(em: &Emulator, method: &str, path: &str) -> usize {
    em.requests()
        .iter()
        .filter(|r| r.origin == Origin::Api && r.method == method && r.target.starts_with(path))
        .filter(|r| from_the_tools(r))
        .count()
}

/// The tools' requests to storage.
fn storage_requests(em: &Emulator, method: &str) -> usize {
    em.requests()
        .iter()
        .filter(|r| r.origin == Origin::Storage && r.method == method && from_the_tools(r))
        .count()
}

fn id(job: &str) -> JobId {
    JobId::parse(job).expect("a job id")
}

#[test]
fn create_job_makes_exactly_one_job() {
    let mut faults = common_faults();
    faults.extend(request_faults(&[0, 5]));
    each_fault(faults, |fault| {
        let em = emulator();
        em.fault(Route::CreateJob, fault.clone());
        let new = NewJob {
            job_type: JobType::Tweets,
            name: Some("f".parse().expect("a name")),
            resumable: false,
        };
        let job = client(&em, RETRIES, fault)
            .create_job(&new)
            .expect("create");
        assert_eq!(em.jobs().len(), 1);
        assert_eq!(job.id(), em.jobs()[0].id);
        // Retried: after the faulted POST came another, or (when the job
        // was made though its answer was lost) the look for it.
        let requests = em.requests();
        let first_post = requests
            .iter()
            .position(|r| r.method == "POST")
            .expect("a POST");
        let posts = requests.iter().filter(|r| r.method == "POST").count();
        assert!(
            requests.len() > first_post + 1 && posts <= 2,
            "not one retry: {requests:#?}"
        );
    });
}

#[test]
fn create_job_never_adopts_a_job_made_before_it_asked() {
    // Another run's job exists; this run's request is answered with an
    // error worth another try: it made nothing, and the job listed before
    // it asked is never taken as its own. (The emulator loses only answers
    // without a body, and its answer here is a 409 with one.)
    let faults = vec![
        fault::status(500),
        fault::status(503),
        fault::rate_limited(1),
    ];
    each_fault(faults, |fault| {
        let em = emulator();
        let theirs = em.create_job("tweets", None, false);
        em.fault(Route::CreateJob, fault.clone());
        let new = NewJob {
            job_type: JobType::Tweets,
            name: None,
            resumable: false,
        };
        let e = client(&em, RETRIES, fault)
            .create_job(&new)
            .expect_err("another run's job taken as this run's");
        let e = format!("{e:#}");
        assert!(e.contains("HTTP 409") && e.contains(&theirs.id), "{e}");
        assert_eq!(em.jobs().len(), 1);
    });
}

#[test]
fn list_jobs_retries_reads() {
    each_fault(common_faults(), |fault| {
        let em = emulator();
        let job = em.create_job("users", None, false);
        em.fault(Route::ListJobs, fault.clone());
        let jobs = client(&em, RETRIES, fault)
            .list_all(Some(JobType::Users), None)
            .expect("list");
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].id(), job.id);
        assert_eq!(
            api_requests(&em, "GET", "/2/compliance/jobs?"),
            2,
            "retried"
        );
    });
}

#[test]
fn list_job_retries_reads() {
    each_fault(common_faults(), |fault| {
        let em = emulator();
        let job = em.create_job("users", None, false);
        em.fault(Route::GetJob, fault.clone());
        let got = client(&em, RETRIES, fault)
            .get_job(&id(&job.id))
            .expect("get");
        assert_eq!(got.id(), job.id);
        let path = format!("/2/compliance/jobs/{}", job.id);
        assert_eq!(api_requests(&em, "GET", &path), 2, "retried");
    });
}

/// Uploads the ID file at `file` to job `job` as upload-ids does with `--id`.
fn upload_file(client: &Client, job: &str, file: &Path) -> compliance_core::Result<()> {
    let job = client.get_job(&id(job))?;
    upload_ids(
        client,
        UploadTo::Job(&job),
        &IdFile::check(file, client.reporter())?,
    )
}

#[test]
fn upload_ids_stores_the_exact_bytes() {
    let ids = ids(20_000); // 400 KB
    let mut faults = common_faults();
    faults.extend(request_faults(&[0, 1, 65_536, 399_999]));
    let dir = TempDir::new();
    let file = dir.path("ids.txt");
    std::fs::write(&file, &ids).expect("write ids");
    each_fault(faults, |fault| {
        let em = emulator();
        let job = em.create_job("tweets", None, false);
        em.fault(Route::Upload, fault.clone());
        upload_file(&client(&em, RETRIES, fault), &job.id, &file).expect("upload");
        assert!(
            em.uploaded(&job.id).as_deref() == Some(ids.as_bytes()),
            "stored bytes differ"
        );
        assert!(storage_requests(&em, "PUT") >= 2, "not retried");
        assert_no_auth_to_storage(&em);
    });
}

#[test]
fn upload_ids_gives_up_clearly() {
    let dir = TempDir::new();
    let file = dir.path("ids.txt");
    std::fs::write(&file, ids(100)).expect("write ids");
    let em = emulator();
    let job = em.create_job("tweets", None, false);
    let fault = fault::status(503).times(10);
    em.fault(Route::Upload, fault.clone());
    let e = upload_file(&client(&em, 2, &fault), &job.id, &file).expect_err("gives up");
    let e = format!("{e:#}");
    assert!(e.contains("gave up after 3 attempts"), "{e}");
    assert!(e.contains("HTTP 503"), "{e}");
    assert_eq!(
        storage_requests(&em, "PUT"),
        3,
        "the first try and two retries"
    );
    assert!(em.uploaded(&job.id).is_none());
}

/// An emulator with one complete tweets job of `ids` (half of them with
/// events), and the results it should give.
fn complete_job(ids: &str) -> (Emulator, String, Vec<u8>) {
    let em = emulator_with(|c| c.event_percent = 50);
    let job = finished_job(&em, "tweets", None, ids);
    let expected = em.expected_results("tweets", ids.as_bytes());
    (em, job.id, expected)
}

/// Downloads job `job`'s results to `path` as download-results does with `--id`.
fn download_to(client: &Client, job: &str, path: &Path) -> compliance_core::Result<()> {
    let job = client.get_job(&id(job))?;
    let url = job.download_url().expect("a download URL");
    let dest = Destination::for_path("results file", path, "results.jsonl")?;
    download_results(client, url, &dest, Format::Jsonl)?;
    Ok(())
}

#[test]
fn download_results_is_byte_exact_or_absent() {
    let ids = ids(20_000);
    let mut faults = common_faults();
    faults.extend([0, 1, 4096, 1_000_000].map(fault::close_response));
    faults.push(fault::stall(500_000));
    faults.push(fault::close_response(100_000).times(3));
    each_fault(faults, |fault| {
        let (em, job, expected) = complete_job(&ids);
        assert!(expected.len() > 1_000_000);
        let dir = TempDir::new();
        let path = dir.path("r.jsonl");
        em.fault(Route::Download, fault.clone());
        download_to(&client(&em, RETRIES, fault), &job, &path).expect("download");
        assert!(std::fs::read(&path).unwrap() == expected, "results differ");
        assert_eq!(dir.names(), ["r.jsonl"]);
        assert!(storage_requests(&em, "GET") >= 2, "not retried");
        assert_no_auth_to_storage(&em);
    });
}

#[test]
fn download_results_out_of_retries_leaves_no_file() {
    // Out of retries: an error, and no file at all. (A fault that lets some
    // bytes through each time is retried for as long as it makes progress.)
    let (em, job, _) = complete_job(&ids(1_000));
    let fault = fault::status(503).times(10);
    em.fault(Route::Download, fault.clone());
    let dir = TempDir::new();
    let e = download_to(&client(&em, 2, &fault), &job, &dir.path("r.jsonl")).expect_err("gives up");
    let e = format!("{e:#}");
    assert!(e.contains("gave up after 3 attempts"), "{e}");
    assert_eq!(
        storage_requests(&em, "GET"),
        3,
        "the first try and two retries"
    );
    assert!(dir.names().is_empty(), "{:?}", dir.names());
    assert_no_auth_to_storage(&em);
}

#[test]
fn storage_s_own_statuses_are_called_storage_s() {
    use compliance_testkit::hostile::{Answer, Hostile};
    let config = compliance_core::Config::new("http://127.0.0.1:9", Token::new("t".into()), "test")
        .expect("config");
    let client = Client::new(config).expect("client");
    let dir = TempDir::new();
    for status in [204, 404, 416] {
        let storage = Hostile::start(move |_, _| Answer::new(status, &[], ""));
        let url = storage.url("/b/delivery/x?X-Goog-Signature=s");
        let dest = Destination::File(dir.path("r.jsonl"));
        let e = download_results(&client, &url, &dest, Format::Jsonl).expect_err("no results");
        let e = format!("{e:#}");
        let said = format!(
            "download from 127.0.0.1:{}",
            storage.origin().rsplit(':').next().unwrap()
        );
        assert!(
            e.contains(&format!("{said}: storage refused with HTTP {status}")),
            "{e}"
        );
        assert!(!e.contains("the API"), "{e}");
    }
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

/// The built binaries through one retry each (a 503, then success): their
/// flags, environment and exit code, and the retry line on stderr. The five
/// run at once, each against an emulator of its own: each waits out a
/// stage's first backoff, half a second to a second.
#[test]
fn each_stage_binary_retries_a_503() {
    let a_503 = |em: &Emulator, route| em.fault(route, fault::status(503));
    let stage = |em: &Emulator, name: &str| Stage::program(name).at(em);
    let dir = TempDir::new();
    let ids = ids(1_000);
    let ids_file = dir.write("ids.txt", &ids);
    let results = dir.path("r.jsonl");
    let results = results.to_str().unwrap();

    let create = emulator();
    a_503(&create, Route::CreateJob);
    let list = emulator();
    let listed = list.create_job("users", None, false);
    a_503(&list, Route::ListJobs);
    let get = emulator();
    let got = get.create_job("users", None, false);
    a_503(&get, Route::GetJob);
    let up = emulator();
    let uploaded = up.create_job("tweets", None, false);
    a_503(&up, Route::Upload);
    let (down, downloaded, expected) = complete_job(&ids);
    a_503(&down, Route::Download);

    let running = [
        stage(&create, "create-job").spawn(&["--type", "tweets", "--name", "f"]),
        stage(&list, "list-jobs").spawn(&["--type", "users"]),
        stage(&get, "list-job").spawn(&["--id", &got.id]),
        stage(&up, "upload-ids").spawn(&["--ids-file", &ids_file, "--id", &uploaded.id]),
        stage(&down, "download-results").spawn(&["--id", &downloaded, "--results-file", results]),
    ];
    let [create_out, list_out, get_out, up_out, down_out] =
        running.map(|stage| stage.wait_within(Duration::from_secs(60)));
    for out in [&create_out, &list_out, &get_out, &up_out, &down_out] {
        out.assert_code(0)
            .assert_stderr("retry 1/5")
            .assert_stderr("HTTP 503");
    }

    assert_eq!(create.jobs().len(), 1);
    assert_eq!(create_out.json()["id"], create.jobs()[0].id.as_str());
    assert_eq!(list_out.json()[0]["id"], listed.id.as_str());
    assert_eq!(get_out.json()["id"], got.id.as_str());
    assert_eq!(up.uploaded(&uploaded.id).as_deref(), Some(ids.as_bytes()));
    assert_no_auth_to_storage(&up);
    assert!(
        std::fs::read(results).unwrap() == expected,
        "results differ"
    );
    assert_eq!(dir.names(), ["ids.txt", "r.jsonl"]);
    assert_no_auth_to_storage(&down);
}
