//! The whole lifecycle, five binaries in sequence, as a user runs it.

use compliance_testkit::{
    assert_no_auth_to_storage, sibling_binary, Config, Emulator, Flavour, Stage, TempDir,
};

fn lifecycle(flavour: Flavour) {
    let em = Emulator::start(Config {
        flavour,
        event_percent: 10,
        ..Config::default()
    })
    .expect("start emulator");
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
    let stage = |name: &str| Stage::new(sibling_binary(name), &em);

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
    assert_no_auth_to_storage(&em);
}

#[test]
fn five_stages_against_cloud_storage_urls() {
    lifecycle(Flavour::Gcs);
}

#[test]
fn five_stages_against_api_host_urls() {
    lifecycle(Flavour::Api);
}
