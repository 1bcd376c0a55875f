//! upload-ids, run as a built binary against the emulator.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use compliance_testkit::fault::{self, Times as _};
use compliance_testkit::hostile::{Answer, Hostile, Request, Then};
use compliance_testkit::{
    assert_no_auth_to_storage, assert_no_requests, assert_refused_before_any_request, emulator,
    emulator_with, Emulator, Flavour, JobSnapshot, Origin, Output, Route, Stage, TempDir,
};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_upload-ids");

/// An emulator with a tweets job waiting for its IDs, and a folder whose
/// ids.txt holds `ids`: the emulator, the folder, the file's path, the job.
fn tweets_job_and_ids(ids: &str) -> (Emulator, TempDir, String, JobSnapshot) {
    let em = emulator();
    let (dir, file) = TempDir::holding("ids.txt", ids);
    let job = em.create_job("tweets", None, false);
    (em, dir, file, job)
}

fn storage_requests(em: &Emulator) -> usize {
    em.requests()
        .iter()
        .filter(|r| matches!(r.origin, Origin::Storage) || r.target.contains("/upload"))
        .count()
}

#[test]
fn uploads_the_normalised_file_by_id() {
    let em = emulator();
    let dir = TempDir::new();
    let file = dir.write(
        "ids.txt",
        "\u{feff} 1417856744319971329 \r\n\r\n1415457498803232770\n\n42",
    );
    let job = em.create_job("tweets", None, false);
    let out = Stage::new(BIN, &em).run(&["--ids-file", &file, "--id", &job.id]);
    out.assert_code(0)
        .assert_stderr("uploaded 3 IDs")
        .assert_stderr("2 blank line(s) skipped");
    assert_eq!(
        em.uploaded(&job.id).expect("stored"),
        b"1417856744319971329\n1415457498803232770\n42\n"
    );
    assert_eq!(
        out.json(),
        json!({"job": job.id, "file": file, "ids": 3, "blank_lines": 2, "bytes": 43})
    );
    assert_no_auth_to_storage(&em);
}

#[test]
fn the_summary_after_an_upload_names_the_job_where_it_is_known() {
    let (_dir, file) = TempDir::holding("ids.txt", "1\n\n2\n2\n");
    let summary = |job: serde_json::Value| json!({"job": job, "file": file, "ids": 3, "blank_lines": 1, "bytes": 6});
    // A storage URL does not say which job it belongs to; by --name the job
    // was looked up; -q silences the note, not the summary.
    let em = emulator();
    let job = em.create_job("tweets", Some("t"), false);
    let out = Stage::new(BIN, &em).run(&["--ids-file", &file, "--url", &job.upload_url]);
    assert_eq!(out.assert_code(0).json(), summary(json!(null)));
    let job = em.create_job("users", Some("u"), false);
    let out = Stage::new(BIN, &em).run(&["--ids-file", &file, "--name", "u", "-q"]);
    assert_eq!(out.assert_code(0).json(), summary(json!(job.id)));
    assert_eq!(out.stderr, "");
    // The API host's own upload URL names its job.
    let em = emulator_with(|c| c.flavour = Flavour::Api);
    let job = em.create_job("tweets", None, false);
    assert!(job
        .upload_url
        .contains(&format!("/2/compliance/jobs/{}/upload", job.id)));
    let out = Stage::new(BIN, &em).run(&["--ids-file", &file, "--url", &job.upload_url]);
    assert_eq!(out.assert_code(0).json(), summary(json!(job.id)));
    assert_eq!(em.uploaded(&job.id).unwrap(), b"1\n2\n2\n");
}

#[test]
fn check_sums_up_a_file_without_a_job_or_a_token() {
    let dir = TempDir::new();
    // 7 IDs: 1 three times, 7 twice (007 is another ID), 2 and 007 once.
    let file = dir.write("ids.txt", "1\n2\n\n1\n007\n7\n  \n1\n7\n\n");
    let out = Stage::bare(BIN).run(&["--ids-file", &file, "--check"]);
    out.assert_code(0).assert_stderr("7 IDs (3 duplicate(s))");
    assert_eq!(
        out.json(),
        json!({
            "file": file,
            "ids": 7,
            "blank_lines": 3,
            "duplicate_ids": 3,
            "bytes": 16,
            "over_api_host_limit": false
        })
    );
    // Pretty, in this order: for a person, for jq and for sed alike.
    let keys: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"')?.split('"').next())
        .collect();
    assert_eq!(
        keys,
        [
            "file",
            "ids",
            "blank_lines",
            "duplicate_ids",
            "bytes",
            "over_api_host_limit"
        ]
    );
    assert!(
        out.stdout.contains("\n  \"bytes\": 16,\n"),
        "{}",
        out.stdout
    );
    // -q: the JSON, and nothing on stderr.
    let quiet = Stage::bare(BIN).run(&["--ids-file", &file, "--check", "-q"]);
    assert_eq!(quiet.assert_code(0).stdout, out.stdout);
    assert_eq!(quiet.stderr, "");
}

#[test]
fn check_normalises_as_an_upload_does() {
    let em = emulator();
    let dir = TempDir::new();
    let contents = "\u{feff} 1417856744319971329 \r\n\r\n1415457498803232770\r\n\t42\r\n42";
    let file = dir.write("crlf.txt", contents);
    let out = Stage::new(BIN, &em).run(&["--ids-file", &file, "--check"]);
    assert_eq!(
        out.assert_code(0).json(),
        json!({
            "file": file,
            "ids": 4,
            "blank_lines": 1,
            "duplicate_ids": 1,
            "bytes": 46,
            "over_api_host_limit": false
        })
    );
    assert_no_requests(&em);
    // The bytes are what an upload of the same file sends.
    let job = em.create_job("tweets", None, false);
    let sent = Stage::new(BIN, &em).run(&["--ids-file", &file, "--id", &job.id]);
    sent.assert_code(0);
    assert_eq!(em.uploaded(&job.id).unwrap().len(), 46);
    assert_eq!(sent.json()["bytes"], 46);
}

#[test]
fn check_reads_standard_input() {
    let out = Stage::bare(BIN)
        .stdin_bytes("\u{feff}1\r\n\r\n 2\n1\n3")
        .run(&["--ids-file", "-", "--check"]);
    assert_eq!(
        out.assert_code(0).json(),
        json!({
            "file": "-",
            "ids": 4,
            "blank_lines": 1,
            "duplicate_ids": 1,
            "bytes": 8,
            "over_api_host_limit": false
        })
    );
    out.assert_stderr("standard input passes: 4 IDs");
}

#[test]
fn check_counts_duplicates_past_one_run_exactly() {
    use std::io::Write;
    // More IDs than one sorted run holds (2^19): the count goes through the
    // temporary file and the merge.
    let dir = TempDir::new();
    let path = dir.path("ids.txt");
    write_ids(&path, 1_100_000);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let mut extra = String::new();
    for i in 0..5_000u64 {
        // Each a repeat of an ID written above...
        extra.push_str(&format!("{}\n", 1_000_000_000_000_000_000 + i * 37 * 200));
    }
    // ... and one repeated here, and IDs that only look like one another.
    extra.push_str("7\n7\n07\n0000000000000000007\n");
    file.write_all(extra.as_bytes()).unwrap();
    drop(file);
    let out = Stage::bare(BIN).run(&["--ids-file", path.to_str().unwrap(), "--check"]);
    let summary = out.assert_code(0).json();
    assert_eq!(summary["ids"], 1_105_004);
    assert_eq!(summary["duplicate_ids"], 5_001);
    assert_eq!(summary["bytes"], 1_100_000 * 20 + extra.len() as u64);
}

#[test]
fn check_of_a_bad_file_exits_2_with_nothing_on_stdout_and_no_request() {
    let em = emulator();
    let dir = TempDir::new();
    for (name, contents, message) in [
        (
            "letters.txt",
            &b"1\nabc\n3\nx\n"[..],
            "letters.txt: 2 lines not an ID (1 to 19 digits): line 2 \"abc\", line 4 \"x\"",
        ),
        ("empty.txt", b"", "empty.txt: no ID found"),
    ] {
        let file = dir.write(name, contents);
        for stage in [Stage::new(BIN, &em), Stage::bare(BIN)] {
            let out = stage.run(&["--ids-file", &file, "--check"]);
            out.assert_code(2).assert_stderr(message);
            assert_eq!(out.stdout, "", "stdout");
            assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
        }
    }
    let out = Stage::bare(BIN)
        .stdin_bytes("1\n2 3\n")
        .run(&["--ids-file", "-", "--check"]);
    out.assert_code(2)
        .assert_stderr("standard input: 1 line not an ID (1 to 19 digits): line 2 \"2 3\"");
    assert_eq!(out.stdout, "");
    let missing = dir.path("missing.txt");
    let out = Stage::bare(BIN).run(&["--ids-file", missing.to_str().unwrap(), "--check"]);
    out.assert_code(2).assert_stderr("cannot open");
    assert_eq!(out.stdout, "");
    assert_no_requests(&em);
}

#[test]
fn check_takes_no_job() {
    let em = emulator();
    let (_dir, file) = TempDir::holding("ids.txt", "1\n");
    let job = em.create_job("tweets", Some("t"), false);
    let cases: [&[&str]; 5] = [
        &["--id", job.id.as_str()],
        &["--url", job.upload_url.as_str()],
        &["--name", "t"],
        &["--name", "t", "--type", "tweets"],
        &["--type", "tweets"],
    ];
    for job_flags in cases {
        let mut args = vec!["--ids-file", file.as_str(), "--check"];
        args.extend(job_flags);
        let out = Stage::new(BIN, &em).run(&args);
        out.assert_code(2)
            .assert_stderr("--check takes no job: leave out --url, --id, --name and --type");
        assert_eq!(out.stdout, "", "{job_flags:?}");
    }
    // Without --ids-file, docopt's own usage error.
    Stage::new(BIN, &em)
        .run(&["--check"])
        .assert_code(2)
        .assert_stderr("Usage:");
    assert!(em.requests().iter().all(|r| !r.target.contains("/upload")));
    assert!(em.uploaded(&job.id).is_none());
    assert_eq!(em.job(&job.id).unwrap().status, "created");
}

#[test]
fn uploads_by_name_and_by_url() {
    let em = emulator();
    let (_dir, file) = TempDir::holding("ids.txt", "1\n2\n");
    let tweets = em.create_job("tweets", Some("t"), false);
    let users = em.create_job("users", None, false);
    Stage::new(BIN, &em)
        .run(&["--ids-file", &file, "--name", "t"])
        .assert_code(0);
    Stage::new(BIN, &em)
        .run(&["--ids-file", &file, "--url", &users.upload_url])
        .assert_code(0);
    assert_eq!(em.uploaded(&tweets.id).unwrap(), b"1\n2\n");
    assert_eq!(em.uploaded(&users.id).unwrap(), b"1\n2\n");
    assert_no_auth_to_storage(&em);
}

#[test]
fn uploads_to_a_resumable_job() {
    let em = emulator();
    let dir = TempDir::new();
    let ids: String = (0..300_000u64)
        .map(|i| format!("{}\n", 1_000_000_000_000_000_000 + i))
        .collect();
    let file = dir.write("ids.txt", &ids);
    let job = em.create_job("tweets", None, true);
    Stage::new(BIN, &em)
        .run(&["--ids-file", &file, "--id", &job.id])
        .assert_code(0);
    assert!(em.uploaded(&job.id).expect("stored") == ids.as_bytes());
    assert_no_auth_to_storage(&em);
}

#[test]
fn api_host_flavour_sends_the_token_to_its_own_origin() {
    let em = emulator_with(|c| c.flavour = Flavour::Api);
    let (_dir, file) = TempDir::holding("ids.txt", "7\n8\n");
    let job = em.create_job("users", None, false);
    Stage::new(BIN, &em)
        .run(&["--ids-file", &file, "--id", &job.id])
        .assert_code(0);
    assert_eq!(em.uploaded(&job.id).unwrap(), b"7\n8\n");
    let put = em
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .expect("a PUT");
    assert_eq!(
        put.header("authorization")
            .map(|a| a.starts_with("Bearer ")),
        Some(true)
    );
}

#[test]
fn bad_id_files_exit_2_and_send_nothing() {
    let em = emulator();
    let dir = TempDir::new();
    let job = em.create_job("tweets", None, false);
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "letters.txt",
            b"1\nabc\n3\n",
            "letters.txt: 1 line not an ID (1 to 19 digits): line 2 \"abc\"",
        ),
        (
            "long.txt",
            b"12345678901234567890\n",
            "line 1 \"12345678901234567890\"",
        ),
        ("negative.txt", b"1\n\n-5\n", "line 3 \"-5\""),
        ("inner-space.txt", b"1 2\n", "line 1 \"1 2\""),
        ("csv.txt", b"id,reason\n1,x\n", "2 lines not an ID"),
        ("empty.txt", b"", "empty.txt: no ID found"),
        ("blank.txt", b"\n \r\n\t\n", "blank.txt: no ID found"),
        ("binary.txt", b"\x00\xff\xfe\n", "line 1"),
    ];
    for (name, contents, message) in cases {
        let file = dir.write(name, contents);
        let out = Stage::new(BIN, &em).run(&["--ids-file", &file, "--id", &job.id]);
        out.assert_code(2)
            .assert_stderr(message)
            .assert_stderr("nothing was uploaded");
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    }
    let missing = dir.path("missing.txt");
    Stage::new(BIN, &em)
        .run(&["--ids-file", missing.to_str().unwrap(), "--id", &job.id])
        .assert_code(2)
        .assert_stderr("cannot open");
    assert_eq!(storage_requests(&em), 0, "the emulator received an upload");
    assert!(em.uploaded(&job.id).is_none());
    assert_eq!(em.job(&job.id).unwrap().status, "created");
}

#[test]
fn lists_the_first_ten_bad_lines() {
    let em = emulator();
    let dir = TempDir::new();
    let contents: String = (1..=30)
        .map(|i| {
            if i % 2 == 0 {
                format!("x{i}\n")
            } else {
                format!("{i}\n")
            }
        })
        .collect();
    let file = dir.write("ids.txt", contents);
    let out = Stage::new(BIN, &em).run(&["--ids-file", &file, "--url", "http://127.0.0.1:9/u"]);
    out.assert_code(2)
        .assert_stderr("15 lines not an ID")
        .assert_stderr("line 20 \"x20\"")
        .assert_stderr("and 5 more");
    assert!(!out.stderr.contains("x22"));
}

#[test]
fn a_job_that_took_its_ids_refuses_more() {
    let (em, _dir, file, job) = tweets_job_and_ids("1\n");
    Stage::new(BIN, &em)
        .run(&["--ids-file", &file, "--id", &job.id])
        .assert_code(0);
    compliance_testkit::await_status(&em, &job.id, "complete");
    Stage::new(BIN, &em)
        .run(&["--ids-file", &file, "--id", &job.id])
        .assert_code(1)
        .assert_stderr("already has its IDs: a job takes them once")
        .assert_stderr("to check IDs again, create a new job");
}

#[test]
fn an_expired_window_says_to_create_a_new_job() {
    let (em, _dir, file, job) = tweets_job_and_ids("1\n");
    em.shift_clock(16 * 60);
    let out = Stage::new(BIN, &em).run(&["--ids-file", &file, "--id", &job.id]);
    out.assert_code(1)
        .assert_stderr("upload window")
        .assert_stderr("closed at")
        .assert_stderr("create a new job");
    assert_eq!(storage_requests(&em), 0);
}

#[test]
fn the_window_is_checked_on_this_side_too() {
    // The emulator's clock runs 20 minutes behind ours: it still calls the
    // job `created`, but its upload_expires_at has passed by our clock.
    let em = emulator();
    em.shift_clock(-20 * 60);
    let (_dir, file) = TempDir::holding("ids.txt", "1\n");
    let job = em.create_job("tweets", None, false);
    let out = Stage::new(BIN, &em).run(&["--ids-file", &file, "--id", &job.id]);
    out.assert_code(1).assert_stderr("closed at");
    assert_eq!(storage_requests(&em), 0);
}

#[test]
fn storage_refusals_exit_1_with_the_code() {
    let (em, _dir, file, job) = tweets_job_and_ids("1\n");
    let tampered = job
        .upload_url
        .replace("X-Goog-Expires=900", "X-Goog-Expires=9000");
    let out = Stage::new(BIN, &em).run(&["--ids-file", &file, "--url", &tampered]);
    out.assert_code(1).assert_stderr("SignatureDoesNotMatch");
    // The signature is a credential: never echoed.
    let signature = job.upload_url.split("X-Goog-Signature=").nth(1).unwrap();
    assert!(!out.stderr.contains(signature));
    assert!(em.uploaded(&job.id).is_none());
}

#[test]
fn bad_flags_exit_2() {
    let em = emulator();
    let cases: &[(&[&str], &str)] = &[
        (&["--ids-file", "x", "--id", "abc"], "--id must be"),
        (&["--ids-file", "x"], "Usage:"),
        (&["--ids-file", "x", "--id", "1", "--url", "u"], "Usage:"),
        (&["--id", "1"], "Usage:"),
        (&["--file", "x", "--id", "1"], "there is no flag --file"),
    ];
    assert_refused_before_any_request(BIN, &em, cases);
}

/// Writes `n` distinct 19-digit IDs, one per line, and returns the file's size.
fn write_ids(path: &std::path::Path, n: u64) -> u64 {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut line = *b"1000000000000000000\n";
    for i in 0..n {
        let mut v = 1_000_000_000_000_000_000 + i * 37;
        for d in line[..19].iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.write_all(&line).unwrap();
    }
    out.flush().unwrap();
    n * 20
}

#[test]
fn a_resumable_upload_of_200_mb_survives_five_drops() {
    let em = emulator();
    let dir = TempDir::new();
    let path = dir.path("ids.txt");
    let size = write_ids(&path, 10_500_000); // 210 MB
    let job = em.create_job("tweets", None, true);
    // Requests on the upload route, in order: the session start, chunks of
    // 8 MiB, and a status query after each drop. Let the start through, then
    // drop five chunks at pseudo-random offsets, a few chunks apart.
    let pass = |times| fault::pass().times(times);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut random = |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    em.fault(Route::Upload, pass(1));
    for _ in 0..5 {
        em.fault(Route::Upload, pass(random(4) as u32 + 1));
        em.fault(Route::Upload, fault::close_request(1 + random(8 << 20)));
        em.fault(Route::Upload, pass(1));
    }
    let out = Stage::new(BIN, &em).run(&["--ids-file", path.to_str().unwrap(), "--id", &job.id]);
    out.assert_code(0).assert_stderr("uploaded 10500000 IDs");
    assert_eq!(out.stderr.matches("retry 1/5").count(), 5, "{}", out.stderr);
    let stored = em.uploaded_path(&job.id).expect("stored");
    assert_eq!(std::fs::metadata(&stored).unwrap().len(), size);
    assert!(
        std::fs::read(&stored).unwrap() == std::fs::read(&path).unwrap(),
        "stored bytes differ"
    );
}

#[test]
fn token_missing_or_wrong_and_unknown_jobs() {
    let (em, _dir, file, job) = tweets_job_and_ids("1\n");
    Stage::new(BIN, &em)
        .env_remove("BEARER_TOKEN")
        .run(&["--ids-file", &file, "--id", &job.id])
        .assert_code(2)
        .assert_stderr("BEARER_TOKEN is not set");
    assert_no_requests(&em);
    Stage::new(BIN, &em)
        .env("BEARER_TOKEN", "wrong")
        .run(&["--ids-file", &file, "--id", &job.id])
        .assert_code(1)
        .assert_stderr("check BEARER_TOKEN");
    Stage::new(BIN, &em)
        .run(&["--ids-file", &file, "--id", "1234"])
        .assert_code(1)
        .assert_stderr("job 1234 not found");
    Stage::new(BIN, &em)
        .run(&["--ids-file", &file, "--name", "nobody"])
        .assert_code(1)
        .assert_stderr("no tweets or users job named \"nobody\"");
    assert_eq!(storage_requests(&em), 0);
}

/// Waits until the emulator has the head of a `PUT` that is still in
/// flight: the upload has begun and its body is on its way.
fn await_put_in_flight(em: &Emulator) {
    compliance_testkit::await_condition(
        "a PUT in flight",
        std::time::Duration::from_secs(60),
        || {
            em.requests()
                .iter()
                .any(|r| r.method == "PUT" && r.status == 0)
        },
    );
}

fn puts(em: &Emulator) -> usize {
    em.requests().iter().filter(|r| r.method == "PUT").count()
}

/// Starts an upload of 32 MB that the emulator reads at 1 MiB/s, changes
/// the file with `change` once the body is on its way, and returns what
/// upload-ids said and how long it took after the change.
fn change_while_sent(change: impl FnOnce(&std::path::Path)) -> (Output, std::time::Duration) {
    let em = emulator();
    let dir = TempDir::new();
    let path = dir.path("ids.txt");
    write_ids(&path, 1_600_000);
    let job = em.create_job("tweets", None, false);
    em.fault(Route::Upload, fault::slow(1 << 20));
    let running =
        Stage::new(BIN, &em).spawn(&["--ids-file", path.to_str().unwrap(), "--id", &job.id]);
    await_put_in_flight(&em);
    let changed = std::time::Instant::now();
    change(&path);
    let out = running.wait_within(std::time::Duration::from_secs(120));
    let took = changed.elapsed();
    out.assert_code(1).assert_stderr(&format!(
        "{} changed while it was being sent",
        path.display()
    ));
    assert!(!out.stderr.contains("retry"), "retried: {}", out.stderr);
    assert_eq!(puts(&em), 1, "one attempt only: {}", out.stderr);
    assert!(em.uploaded(&job.id).is_none(), "something was stored");
    assert_eq!(em.job(&job.id).unwrap().status, "created");
    (out, took)
}

#[test]
fn a_file_cut_while_it_is_sent_fails_at_once_naming_it() {
    let (out, took) = change_while_sent(|path| {
        let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.set_len(1000).unwrap();
    });
    out.assert_stderr("shorter than the 32000000 bytes checked");
    // The whole body would take 30 s at the emulator's pace.
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
}

#[test]
fn a_file_grown_while_it_is_sent_fails_at_once_naming_it() {
    let (out, took) = change_while_sent(|path| {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        file.write_all(b"1234\n5678\n").unwrap();
    });
    out.assert_stderr("longer than the 32000000 bytes checked");
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
}

#[test]
fn files_that_are_not_normal_are_sent_normalised_and_normal_ones_as_they_are() {
    let em = emulator();
    let dir = TempDir::new();
    let mut big = Vec::new();
    for i in 0..900_000u64 {
        big.extend(format!("{}\n", 1_000_000_000_000_000_000 + i).bytes());
    }
    let expected_big = big.clone();
    let mut big_space = big.clone();
    big_space.extend(b"1000000 ");
    let mut big_space_expected = expected_big.clone();
    big_space_expected.extend(b"1000000\n");
    let mut big_blank = big.clone();
    let mid = big_blank.len() / 2 / 20 * 20;
    big_blank.insert(mid, b'\n');
    big_blank.pop();
    let cases: Vec<(&str, &[u8], &[u8])> = vec![
        ("space-after.txt", b"7 ", b"7\n"),
        ("space-before.txt", b" 7", b"7\n"),
        ("tab.txt", b"7\t", b"7\n"),
        ("cr.txt", b"7\r", b"7\n"),
        ("blank-inside.txt", b"7\n\n8", b"7\n8\n"),
        ("blank-first.txt", b"\n7", b"7\n"),
        ("space-then-line.txt", b"7 \n8", b"7\n8\n"),
        ("normal.txt", b"7\n8\n", b"7\n8\n"),
        ("big-space.txt", &big_space, &big_space_expected),
        ("big-blank.txt", &big_blank, &expected_big),
        ("big-normal.txt", &big, &expected_big),
    ];
    for (name, contents, expected) in cases {
        let file = dir.write(name, contents);
        let job = em.create_job("tweets", None, false);
        Stage::new(BIN, &em)
            .run(&["--ids-file", &file, "--id", &job.id])
            .assert_code(0);
        let stored = em.uploaded(&job.id).expect("stored");
        assert!(stored == expected, "{name}: stored {} bytes", stored.len());
        compliance_testkit::await_status(&em, &job.id, "complete");
    }
}

/// A loopback proxy to the emulator's API origin that relays every
/// connection both ways, but for the first one whose request is a `PUT`:
/// that request reaches the emulator whole (after the `100 Continue` it asks
/// for), and its answer is dropped. (The
/// emulator's own faults cannot lose an answer that has a body, as the API
/// host's upload answer does: they send its head first.)
struct LosingProxy {
    base: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl LosingProxy {
    fn start(em: &Emulator) -> LosingProxy {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let target = em
            .base_url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            let mut lost = false;
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut client) = client else { return };
                let Ok(mut server) = TcpStream::connect(&target) else {
                    return;
                };
                let mut head = [0; 4];
                let lose = !lost && client.peek(&mut head).is_ok() && &head == b"PUT ";
                lost |= lose;
                let (mut from_client, mut to_server) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_client, &mut to_server);
                    let _ = to_server.shutdown(Shutdown::Write);
                });
                std::thread::spawn(move || {
                    if lose {
                        // The `100 Continue` the client asked for goes through;
                        // then the answer begins: the request was received
                        // whole. Drop it.
                        let continued = b"HTTP/1.1 100 Continue\r\n\r\n";
                        let mut head = [0; 25];
                        if server.read_exact(&mut head).is_ok() && &head == continued {
                            let _ = client.write_all(&head);
                            let _ = server.read(&mut [0; 1]);
                        }
                        let _ = client.shutdown(Shutdown::Both);
                        let _ = server.shutdown(Shutdown::Both);
                    } else {
                        let _ = std::io::copy(&mut server, &mut client);
                        let _ = client.shutdown(Shutdown::Write);
                        let _ = client.flush();
                    }
                });
            }
        });
        LosingProxy { base, stop }
    }
}

impl Drop for LosingProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept, so that the thread sees the flag and ends.
        let _ = std::net::TcpStream::connect(self.base.trim_start_matches("http://"));
    }
}

#[test]
fn a_lost_answer_to_an_api_host_url_is_checked_with_the_job() {
    let em = emulator_with(|c| c.flavour = Flavour::Api);
    let proxy = LosingProxy::start(&em);
    let (_dir, file) = TempDir::holding("ids.txt", "7\n8\n");
    let job = em.create_job("users", None, false);
    let url = job.upload_url.replace(&em.base_url(), &proxy.base);
    assert_ne!(url, job.upload_url);
    // The upload is stored, its answer lost; the retry is refused (409),
    // since the job has moved on: it arrived.
    let out = Stage::new(BIN, &em).env("X_API_URL", &proxy.base).run(&[
        "--ids-file",
        &file,
        "--url",
        &url,
    ]);
    out.assert_code(0)
        .assert_stderr("retry 1/5")
        .assert_stderr("the upload arrived though its answer was lost")
        .assert_stderr("uploaded 2 IDs");
    assert_eq!(em.uploaded(&job.id).unwrap(), b"7\n8\n");
    assert_eq!(puts(&em), 2);
}

#[test]
fn a_lost_answer_to_a_storage_url_says_how_to_check() {
    let em = emulator();
    let (_dir, file) = TempDir::holding("ids.txt", "7\n8\n");
    let job = em.create_job("users", None, false);
    // Every answer lost: whatever storage does with a second PUT, the tool
    // cannot know that the upload arrived, and says how to find out.
    em.fault(Route::Upload, fault::close_response(0).times(2));
    let out = Stage::new(BIN, &em).run(&[
        "--ids-file",
        &file,
        "--url",
        &job.upload_url,
        "--retries",
        "1",
    ]);
    out.assert_code(1)
        .assert_stderr("the upload may have arrived though its answer was lost")
        .assert_stderr(&format!("`list-job --id {}`", job.id))
        .assert_stderr_lacks("--id must be");
    assert_eq!(em.uploaded(&job.id).unwrap(), b"7\n8\n");
}

#[test]
fn a_fifo_is_read_once() {
    let em = emulator();
    let dir = TempDir::new();
    let fifo = dir.path("ids.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    let job = em.create_job("tweets", None, false);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            w.write_all(b" 1\r\n\n2\n3").unwrap();
        })
    };
    let out = Stage::new(BIN, &em)
        .spawn(&["--ids-file", fifo.to_str().unwrap(), "--id", &job.id])
        .wait_within(std::time::Duration::from_secs(60));
    // Should the stage not have opened the FIFO, open it here so that the
    // writer is not left waiting.
    let _unblock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo);
    writer.join().unwrap();
    out.assert_code(0)
        .assert_stderr(&format!("uploaded 3 IDs from {}", fifo.display()));
    assert_eq!(em.uploaded(&job.id).unwrap(), b"1\n2\n3\n");
}

#[test]
fn standard_input_by_dash_and_by_dev_stdin() {
    let em = emulator();
    for (arg, name) in [("-", "standard input"), ("/dev/stdin", "/dev/stdin")] {
        let job = em.create_job("tweets", None, false);
        let out = Stage::new(BIN, &em)
            .stdin_bytes("\u{feff}1\r\n\r\n 2\n3")
            .run(&["--ids-file", arg, "--id", &job.id]);
        out.assert_code(0)
            .assert_stderr(&format!("uploaded 3 IDs from {name}"));
        assert_eq!(em.uploaded(&job.id).unwrap(), b"1\n2\n3\n", "{arg}");
        compliance_testkit::await_status(&em, &job.id, "complete");
    }
}

#[test]
fn a_big_pipe_is_sent_whole() {
    let em = emulator();
    let job = em.create_job("tweets", None, false);
    let ids: String = (0..1_000_000u64)
        .map(|i| format!("{}\r\n", 1_000_000_000_000_000_000 + i))
        .collect();
    let out =
        Stage::new(BIN, &em)
            .stdin_bytes(ids.clone())
            .run(&["--ids-file", "-", "--id", &job.id]);
    out.assert_code(0).assert_stderr("uploaded 1000000 IDs");
    assert!(em.uploaded(&job.id).unwrap() == ids.replace("\r\n", "\n").as_bytes());
}

#[test]
fn a_bad_line_on_standard_input_sends_nothing() {
    let em = emulator();
    let job = em.create_job("tweets", None, false);
    let out =
        Stage::new(BIN, &em)
            .stdin_bytes("1\nx\n3\n")
            .run(&["--ids-file", "-", "--id", &job.id]);
    out.assert_code(2)
        .assert_stderr("standard input: 1 line not an ID (1 to 19 digits): line 2 \"x\"")
        .assert_stderr("nothing was uploaded");
    assert_eq!(storage_requests(&em), 0);
    assert!(em.uploaded(&job.id).is_none());
}

#[test]
fn a_process_substitution_is_read_once() {
    let bash = std::process::Command::new("bash")
        .args(["-c", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !bash {
        eprintln!("no bash here: skipped");
        return;
    }
    let em = emulator();
    let job = em.create_job("tweets", None, false);
    let out = Stage::new("bash", &em)
        .spawn(&[
            "-c",
            r#"exec "$0" --ids-file <(printf '1\n2\n3\n4\n5\n') --id "$1""#,
            BIN,
            &job.id,
        ])
        .wait_within(std::time::Duration::from_secs(60));
    out.assert_code(0)
        .assert_stderr("uploaded 5 IDs from /dev/fd/");
    assert_eq!(em.uploaded(&job.id).unwrap(), b"1\n2\n3\n4\n5\n");
}

/// A hostile server whose answers may name the server itself: `answer`
/// gets each request, its number and the server's origin.
fn hostile_here(
    answer: impl Fn(&Request, usize, &str) -> Answer + Send + Sync + 'static,
) -> Hostile {
    let origin = Arc::new(OnceLock::<String>::new());
    let own = origin.clone();
    let server = Hostile::start(move |req, n| answer(req, n, own.get().map_or("", String::as_str)));
    origin.set(server.origin()).expect("set once");
    server
}

/// Storage that takes the resumable protocol: the session start gets a
/// session on the same server, and the `n`th `PUT` to the session (chunks
/// and status queries alike, from 0) gets `answer(n)`.
fn resumable_storage(answer: impl Fn(usize) -> Answer + Send + Sync + 'static) -> Hostile {
    let puts = AtomicUsize::new(0);
    hostile_here(move |req, _, origin| match req.method.as_str() {
        "POST" => {
            let session = format!("{origin}/session?upload_id=session-secret");
            Answer::new(201, &[("Location", &session)], "")
        }
        _ => answer(puts.fetch_add(1, Ordering::SeqCst)),
    })
}

/// A signed URL on `server` that takes the resumable protocol.
fn resumable_url(server: &Hostile) -> String {
    server.url(
        "/bucket/object?X-Goog-SignedHeaders=content-type%3Bhost%3Bx-goog-resumable\
         &X-Goog-Signature=url-secret",
    )
}

/// Runs upload-ids on `file` to `--url url` with `extra` flags; killed after a minute.
fn upload_to_url(file: &str, url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["--ids-file", file, "--url", url];
    args.extend(extra);
    Stage::bare(BIN)
        .env("BEARER_TOKEN", "t")
        .spawn(&args)
        .wait_within(Duration::from_secs(60))
}

/// Asserts that no secret of a URL or session reached stderr.
#[track_caller]
fn assert_no_url_secrets(out: &Output) {
    for secret in ["url-secret", "session-secret", "redirect-secret"] {
        assert!(!out.stderr.contains(secret), "{secret}: {}", out.stderr);
    }
}

fn status_308(range: Option<String>) -> Answer {
    match range {
        Some(range) => Answer::new(308, &[("Range", &range)], ""),
        None => Answer::new(308, &[], ""),
    }
}

#[test]
fn a_resumable_session_is_held_to_what_was_sent() {
    let dir = TempDir::new();
    let path = dir.path("ids.txt");
    let size = write_ids(&path, 450_000); // two chunks: 8 MiB, then the rest
    let file = path.to_str().unwrap();
    let chunk = 8 * 1024 * 1024u64;
    type Answers = Box<dyn Fn(usize) -> Answer + Send + Sync>;
    let cases: Vec<(&str, Answers, String)> = vec![
        (
            "complete after the first chunk",
            Box::new(|_| Answer::new(200, &[], "")),
            format!(
                "storage called the upload complete (HTTP 200) when only {chunk} of its {size} \
                 bytes had been sent"
            ),
        ),
        (
            "a Range past what was sent",
            Box::new(move |n| match n {
                0 => status_308(Some(format!("bytes=0-{}", size - 1))),
                _ => Answer::new(200, &[], ""),
            }),
            format!(
                "storage claims to hold {size} bytes of the upload, but only {chunk} of its \
                 {size} had been sent"
            ),
        ),
        (
            "a Range not from byte 0",
            Box::new(move |n| match n {
                0 => status_308(Some(format!("bytes=100-{}", chunk - 1))),
                _ => Answer::new(200, &[], ""),
            }),
            format!(
                "storage claims to hold the bytes \"bytes=100-{}\" of the upload; a session \
                 holds the first bytes of a file, from byte 0",
                chunk - 1
            ),
        ),
        (
            "a Range that goes backwards",
            Box::new(move |n| match n {
                0 => status_308(Some(format!("bytes=0-{}", chunk - 1))),
                1 => status_308(Some("bytes=0-99".into())),
                _ => Answer::new(200, &[], ""),
            }),
            format!(
                "storage claims to hold 100 bytes of the upload, after it had said it held \
                 {chunk}: it lost bytes it had confirmed"
            ),
        ),
    ];
    for (case, answer, message) in cases {
        let storage = resumable_storage(answer);
        let out = upload_to_url(file, &resumable_url(&storage), &[]);
        assert_eq!(out.code, 1, "{case}: {out:?}");
        out.assert_stderr(&message);
        assert_no_url_secrets(&out);
    }
}

#[test]
fn a_session_that_keeps_nothing_is_retried_within_the_limits() {
    let (_dir, file) = TempDir::holding("ids.txt", "1\n2\n");
    let storage = resumable_storage(|_| status_308(None));
    let out = upload_to_url(&file, &resumable_url(&storage), &["--retries", "2"]);
    out.assert_code(1)
        .assert_stderr("retry 1/2: upload to 127.0.0.1:")
        .assert_stderr("storage kept none of the 4 bytes sent (it holds 0 of 4)")
        .assert_stderr("retry 2/2")
        .assert_stderr("gave up after 3 attempts");
    let puts = storage
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 3, "the first chunk and two retries");
    // --retry-time bounds it too, however many retries are left.
    let storage = resumable_storage(|_| status_308(None));
    let out = upload_to_url(
        &file,
        &resumable_url(&storage),
        &["--retries", "100", "--retry-time", "1"],
    );
    out.assert_code(1)
        .assert_stderr("storage kept none of")
        .assert_stderr("of retrying");
    assert_no_url_secrets(&out);
}

#[test]
fn a_redirected_upload_is_a_failure_naming_where_it_pointed() {
    let (_dir, file) = TempDir::holding("ids.txt", "1\n2\n");
    for status in [301, 302, 303, 307, 308] {
        // The redirect points back to the same server, which would take
        // anything sent there with a 200.
        let storage = hostile_here(move |req, _, origin| match req.target.as_str() {
            to if to.starts_with("/elsewhere") => Answer::new(200, &[], ""),
            _ => {
                let to = format!("{origin}/elsewhere?X-Goog-Signature=redirect-secret");
                Answer::new(status, &[("Location", &to)], "")
            }
        });
        let url = storage.url("/bucket/object?X-Goog-Signature=url-secret");
        let out = upload_to_url(&file, &url, &[]);
        out.assert_code(1).assert_stderr(&format!(
            "storage answered HTTP {status}, a redirect to {}",
            storage.origin().trim_start_matches("http://")
        ));
        assert_no_url_secrets(&out);
        assert_eq!(
            storage.requests().len(),
            1,
            "{status}: the redirect was followed"
        );
    }
}

/// The API of one job, `123`, whose upload URL is on `storage`: its status
/// is `created` for the first `created` lookups, `in_progress` after (as
/// another upload would make it).
fn one_job_api(storage: &Hostile, resumable: bool, created: usize) -> Hostile {
    let upload_url = match resumable {
        true => resumable_url(storage),
        false => storage.url("/bucket/123/submission/x_123?X-Goog-Signature=url-secret"),
    };
    let lookups = AtomicUsize::new(0);
    Hostile::start(move |_, _| {
        let status = match lookups.fetch_add(1, Ordering::SeqCst) < created {
            true => "created",
            false => "in_progress",
        };
        let job = format!(
            r#"{{"data":{{"id":"123","type":"tweets","status":"{status}","created_at":"2026-01-01T00:00:00.000Z","upload_url":"{upload_url}","upload_expires_at":"2099-01-01T00:00:00.000Z","download_url":"https://storage.googleapis.com/b/123/delivery/x_123","download_expires_at":"2099-01-01T00:00:00.000Z","resumable":{resumable}}}}}"#
        );
        Answer::new(200, &[("Content-Type", "application/json")], job)
    })
}

#[test]
fn an_upload_whose_job_moved_on_while_it_was_sent_fails() {
    let (_dir, file) = TempDir::holding("ids.txt", "1\n2\n");
    let run = |api: &Hostile| {
        Stage::bare(BIN)
            .api(&api.origin(), "t")
            .spawn(&["--ids-file", &file, "--id", "123"])
            .wait_within(Duration::from_secs(60))
    };
    let storage = |resumable| match resumable {
        true => resumable_storage(|_| Answer::new(200, &[], "")),
        false => Hostile::start(|_, _| Answer::new(200, &[], "")),
    };
    let stored = |storage: &Hostile| -> Vec<Vec<u8>> {
        let puts = storage.requests().into_iter().filter(|r| r.method == "PUT");
        puts.map(|r| r.body).collect()
    };
    for resumable in [false, true] {
        // The job still waits for its IDs when the last byte is due: done.
        let free = storage(resumable);
        let api = one_job_api(&free, resumable, usize::MAX);
        run(&api).assert_code(0).assert_stderr("uploaded 2 IDs");
        assert_eq!(stored(&free), [b"1\n2\n"], "resumable: {resumable}");
        // Another upload reached the job meanwhile: this one stops a byte
        // short of its end, and fails.
        let taken = storage(resumable);
        let api = one_job_api(&taken, resumable, 1);
        let out = run(&api);
        out.assert_code(1)
            .assert_stderr(
                "tweets job 123 (in_progress) took the IDs of another upload while this one \
                 was being sent",
            )
            .assert_stderr("create a new job");
        assert_eq!(out.stdout, "");
        assert!(
            stored(&taken).is_empty(),
            "resumable: {resumable}: completed"
        );
        assert_no_url_secrets(&out);
    }
}

#[test]
fn storage_s_own_answers_are_called_storage_s() {
    let (_dir, file) = TempDir::holding("ids.txt", "1\n2\n");
    let storage = Hostile::start(|_, _| {
        Answer::new(404, &[("Content-Type", "text/plain")], "No such upload")
    });
    let out = upload_to_url(&file, &storage.url("/b/o?X-Goog-Signature=url-secret"), &[]);
    out.assert_code(1)
        .assert_stderr("upload to 127.0.0.1:")
        .assert_stderr("storage refused with HTTP 404: No such upload")
        .assert_stderr_lacks("the API");
}

/// Storage that answers every upload as soon as it has read the head, then
/// closes the connection with the body unread, as a front end that goes by
/// `Content-Length` does: `status` with Cloud Storage's XML error `code`.
/// Counts the connections.
struct AtTheHead {
    base: String,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl AtTheHead {
    fn start(status: &'static str, code: &'static str) -> AtTheHead {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (connections, stop) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (counted, stopped) = (connections.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = stream else { return };
                counted.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let body = format!(
                    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>\
                     <Message>Your proposed upload is larger than the maximum object size \
                     specified in your Policy Document.</Message></Error>"
                );
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(format!("{head}{body}").as_bytes());
                // Closed with the body unread: the kernel resets the connection.
            }
        });
        AtTheHead {
            base,
            connections,
            stop,
        }
    }
}

impl Drop for AtTheHead {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.base.trim_start_matches("http://"));
    }
}

#[test]
fn an_early_413_is_reported_as_a_413() {
    let dir = TempDir::new();
    let path = dir.path("ids.txt");
    write_ids(&path, 1_000_000); // 20 MB: more than a socket's buffers hold
    let storage = AtTheHead::start("413 Payload Too Large", "EntityTooLarge");
    let url = format!("{}/bucket/object?X-Goog-Signature=url-secret", storage.base);
    let out = upload_to_url(path.to_str().unwrap(), &url, &["--retries", "1"]);
    out.assert_code(1)
        .assert_stderr("storage refused with HTTP 413: EntityTooLarge");
    let lower = out.stderr.to_lowercase();
    assert!(
        !lower.contains("broken pipe") && !lower.contains("reset"),
        "{}",
        out.stderr
    );
    assert_eq!(storage.connections.load(Ordering::SeqCst), 1, "retried");
}

#[test]
fn a_200_before_the_body_was_sent_is_not_an_upload() {
    let dir = TempDir::new();
    let path = dir.path("ids.txt");
    write_ids(&path, 1_000_000);
    // A 200 at the head, in place of the `100 Continue` asked for.
    let storage = AtTheHead::start("200 OK", "NotAnError");
    let url = format!("{}/bucket/object?X-Goog-Signature=url-secret", storage.base);
    let out = upload_to_url(path.to_str().unwrap(), &url, &["--retries", "0"]);
    out.assert_code(1).assert_stderr(
        "storage answered HTTP 200 before the upload was sent whole; it cannot hold the \
         20000000 bytes",
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn an_unsolicited_100_continue_is_skipped() {
    let (_dir, file) = TempDir::holding("ids.txt", "1\n2\n");
    let storage = Hostile::start(|_, _| {
        Answer::raw(
            &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"[..],
            Then::KeepOpen,
        )
    });
    let out = upload_to_url(&file, &storage.url("/b/o?X-Goog-Signature=url-secret"), &[]);
    out.assert_code(0).assert_stderr("uploaded 2 IDs");
    let requests = storage.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body, b"1\n2\n");
}

#[test]
fn a_check_error_does_not_say_nothing_was_uploaded() {
    let (_dir, file) = TempDir::holding("letters.txt", "1\nabc\n");
    let out = Stage::bare(BIN).run(&["--ids-file", &file, "--check"]);
    out.assert_code(2)
        .assert_stderr("line 2 \"abc\"")
        .assert_stderr_lacks("uploaded");
    let out = Stage::bare(BIN)
        .stdin_bytes("")
        .run(&["--ids-file", "-", "--check"]);
    out.assert_code(2)
        .assert_stderr("standard input: no ID found")
        .assert_stderr_lacks("uploaded");
}

#[test]
fn an_unknown_id_points_to_list_jobs() {
    let em = emulator();
    let (_dir, file) = TempDir::holding("ids.txt", "1\n");
    Stage::new(BIN, &em)
        .run(&["--ids-file", &file, "--id", "999"])
        .assert_code(1)
        .assert_stderr("job 999 not found")
        .assert_stderr("list-jobs shows the jobs of both types");
    assert_eq!(storage_requests(&em), 0);
}

#[test]
fn an_https_upload_url_to_plain_http_storage_fails_at_once_naming_the_host() {
    let (em, _dir, file, job) = tweets_job_and_ids("1\n");
    let url = job.upload_url.replacen("http://", "https://", 1);
    let host = em.storage_url().replacen("http://", "", 1);
    let signature = url.split("X-Goog-Signature=").nth(1).expect("signed");
    // Nothing waits between the TLS hello and its refusal: milliseconds.
    let started = std::time::Instant::now();
    let out = Stage::new(BIN, &em).run(&["--ids-file", &file, "--url", &url]);
    let took = started.elapsed();
    out.assert_code(2).assert_stderr(&format!(
        "upload to {host}: the server answered in plain HTTP, not TLS"
    ));
    assert!(took < Duration::from_secs(2), "{took:?}: {}", out.stderr);
    out.assert_stderr_lacks(signature);
    assert!(em.uploaded(&job.id).is_none());
}
