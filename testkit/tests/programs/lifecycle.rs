//! The whole lifecycle, five binaries in sequence, as a user runs it.

use compliance_testkit::{
    assert_no_auth_to_storage, assert_transfers_on_the_api_origin, emulator, emulator_with,
    Flavour, Origin, Stage, TempDir,
};

fn lifecycle(flavour: Flavour) {
    let em = emulator_with(|c| {
        c.flavour = flavour;
        c.event_percent = 10;
    });
    let dir = TempDir::new();
    // A messy file as people have them: CRLF, blank lines, stray spaces.
    let messy: String = (0..5000u64)
        .map(|i| {
            format!(
                " {} \r\n{}",
                1_500_000_000_000_000_000 + i * 104_729,
                if i % 100 == 0 { "\r\n" } else { "" }
            )
        })
        .collect();
    let ids_file = dir.write("ids.txt", &messy);
    let normalised: String = (0..5000u64)
        .map(|i| format!("{}\n", 1_500_000_000_000_000_000 + i * 104_729))
        .collect();
    let results = dir.path("results.jsonl");
    let stage = |name: &str| Stage::program(name).at(&em);

    let created = stage("create-job").run(&["--type", "tweets", "--name", "lifecycle"]);
    created.assert_code(0);
    let id = created.json()["id"].as_str().expect("id").to_string();

    stage("list-jobs")
        .run(&["--type", "tweets", "--status", "created"])
        .assert_code(0);
    stage("upload-ids")
        .run(&["--ids-file", &ids_file, "--name", "lifecycle"])
        .assert_code(0)
        .assert_stderr("uploaded 5000 IDs");
    let done = stage("list-job").run(&["--id", &id, "--wait", "--interval", "0.05"]);
    done.assert_code(0);
    assert_eq!(done.json()["status"], "complete");
    stage("download-results")
        .run(&[
            "--name",
            "lifecycle",
            "--results-file",
            results.to_str().unwrap(),
        ])
        .assert_code(0)
        .assert_stderr("compliance events");

    assert_eq!(em.uploaded(&id).expect("uploaded"), normalised.as_bytes());
    let expected = em.expected_results("tweets", normalised.as_bytes());
    assert!(expected.len() > 1000, "10% of 5000 IDs have events");
    assert_eq!(std::fs::read(&results).expect("results"), expected);
    match flavour {
        // Storage is another host: the token must never go there.
        Flavour::Gcs => assert_no_auth_to_storage(&em),
        // No storage at all: the transfers go to the API, with the token.
        Flavour::Api => assert_transfers_on_the_api_origin(&em),
    }
}

#[test]
fn five_stages_against_cloud_storage_urls() {
    lifecycle(Flavour::Gcs);
}

#[test]
fn five_stages_against_api_host_urls() {
    lifecycle(Flavour::Api);
}

#[test]
fn the_readme_flow_runs_twice_in_a_row_by_name() {
    let em = emulator();
    let (dir, ids_file) = TempDir::holding("tweet_ids.txt", "20\n21\n22\n");
    let results = dir.path("results.jsonl");
    let stage = |name: &str| Stage::program(name).at(&em);
    let mut ids = Vec::new();
    for month in 0..2 {
        let created = stage("create-job").run(&["--type", "tweets", "--name", "my-archive"]);
        created.assert_code(0);
        let id = created.json()["id"].as_str().expect("id").to_string();
        let upload = stage("upload-ids").run(&["--ids-file", &ids_file, "--name", "my-archive"]);
        upload.assert_code(0);
        if month == 1 {
            // The older job of the name is there: say which one was taken.
            upload.assert_stderr(&format!("taking the newest, tweets job {id}"));
        }
        stage("list-job")
            .run(&["--name", "my-archive", "--wait", "--interval", "0.05"])
            .assert_code(0);
        stage("download-results")
            .run(&[
                "--name",
                "my-archive",
                "--results-file",
                results.to_str().unwrap(),
            ])
            .assert_code(0);
        assert_eq!(em.uploaded(&id).expect("uploaded"), b"20\n21\n22\n");
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn a_name_both_types_have_needs_type_and_nothing_moves_without_it() {
    let em = emulator();
    let (_dir, ids_file) = TempDir::holding("ids.txt", "1\n2\n");
    let tweets = em.create_job("tweets", Some("archive"), false);
    let users = em.create_job("users", Some("archive"), false);
    let stage = |name: &str| Stage::program(name).at(&em);
    let runs = [
        stage("upload-ids").run(&["--ids-file", &ids_file, "--name", "archive"]),
        stage("list-job").run(&["--name", "archive"]),
        stage("download-results").run(&["--name", "archive", "--results-file", "-"]),
    ];
    for out in &runs {
        out.assert_code(2)
            .assert_stderr("jobs of both types are named \"archive\"")
            .assert_stderr(&tweets.id)
            .assert_stderr(&users.id)
            .assert_stderr("--type");
    }
    assert!(
        em.requests()
            .iter()
            .all(|r| r.method == "GET" && r.origin == Origin::Api),
        "nothing sent or downloaded"
    );
    assert!(em.uploaded(&tweets.id).is_none() && em.uploaded(&users.id).is_none());
    // With --type, each gets its own.
    stage("upload-ids")
        .run(&[
            "--ids-file",
            &ids_file,
            "--name",
            "archive",
            "--type",
            "users",
        ])
        .assert_code(0);
    assert!(em.uploaded(&users.id).is_some() && em.uploaded(&tweets.id).is_none());
}
