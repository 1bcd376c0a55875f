//! The README's flow, as a user runs it in the folder of an archive: the
//! ID files from the archive with the jq recipes of recipes/, lifecycle.sh
//! for the Tweets (split into parts) and for the users against the
//! emulator, then apply-results; the clean archive must be the one the
//! archive's model renders with the emulator's results applied, byte for
//! byte. Then the same commands next month, and the users' results as CSV.
//!
//! The recipes need jq: without it these tests fail, saying how to install
//! it, rather than pass unexamined.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::process::Command;

use compliance_testkit::archive::{Applied, Archive, Style};
use compliance_testkit::{assert_file, emulator_with, in_repo, Emulator, Output, Stage, TempDir};

/// Runs `program` in `dir` as a user would: the built programs first on
/// PATH, and the API settings of `em` (if any) in the environment.
fn run_in(dir: &TempDir, em: Option<&Emulator>, program: &str, args: &[&str]) -> Output {
    let stage = match em {
        Some(em) => Stage::new(program, em),
        None => Stage::bare(program),
    };
    stage
        .current_dir(dir.path("."))
        .programs_first_on_path()
        .run(args)
}

/// Runs recipes/`name` in `dir`; it needs jq (sqlite3 for a CSV).
fn recipe(dir: &TempDir, name: &str) {
    let tool = if name.contains("csv") {
        "sqlite3"
    } else {
        "jq"
    };
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{tool} is not installed, and the README's recipes (recipes/{name}) need it: apt-get install {tool}"
    );
    let script = in_repo("recipes").join(name);
    run_in(dir, None, "bash", &[script.to_str().unwrap()]).assert_code(0);
}

/// The IDs of a file the recipes wrote; each must be there once.
fn ids_in(dir: &TempDir, file: &str) -> BTreeSet<u64> {
    let text = std::fs::read_to_string(dir.path(file)).unwrap();
    let ids: Vec<u64> = text
        .lines()
        .map(|l| l.parse().unwrap_or_else(|_| panic!("{file}: {l:?}")))
        .collect();
    let set: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "{file} has each ID once");
    set
}

/// The Tweet and user IDs of the archive's Tweets `tweets`, worked out
/// from the model: each Tweet's and that of the Tweet it quotes, each
/// one's author, and with `user_lines` every user of the archive.
fn model_ids(a: &Archive, tweets: Range<u64>, user_lines: bool) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let author: BTreeMap<u64, u64> = (0..a.tweets)
        .map(|i| (a.tweet_id(i), a.tweet(i).author))
        .collect();
    let (mut ids, mut users) = (BTreeSet::new(), BTreeSet::new());
    for i in tweets {
        let t = a.tweet(i);
        for id in std::iter::once(t.id).chain(t.quotes) {
            ids.insert(id);
            users.insert(author[&id]);
        }
    }
    if user_lines {
        users.extend((0..a.users).map(|k| a.user_id(k)));
    }
    (ids, users)
}

/// Asserts that the Tweets `tweets` of `a` quote some Tweet outside them,
/// and by an author of none of them: the IDs that only a recipe reading
/// the referenced Tweets finds.
#[track_caller]
fn assert_quotes_reach_further(a: &Archive, tweets: Range<u64>) {
    let (ids, users) = model_ids(a, tweets.clone(), false);
    let own: BTreeSet<u64> = tweets.clone().map(|i| a.tweet_id(i)).collect();
    let authors: BTreeSet<u64> = tweets.map(|i| a.tweet(i).author).collect();
    assert!(ids.difference(&own).next().is_some(), "a Tweet only quoted");
    assert!(
        users.difference(&authors).next().is_some(),
        "an author only of a quoted Tweet"
    );
}

/// Writes `lines` (each without its end) as the folder's archive.jsonl.
fn write_archive(dir: &TempDir, lines: &[&[u8]]) {
    let bytes: Vec<u8> = lines.iter().flat_map(|l| [*l, b"\n"].concat()).collect();
    dir.write("archive.jsonl", bytes);
}

/// Asserts that the recipe found exactly the IDs the model says.
#[track_caller]
fn assert_ids(dir: &TempDir, (tweets, users): (BTreeSet<u64>, BTreeSet<u64>)) {
    assert_eq!(ids_in(dir, "tweet_ids.txt"), tweets, "tweet_ids.txt");
    assert_eq!(ids_in(dir, "user_ids.txt"), users, "user_ids.txt");
}

#[test]
fn the_flattened_recipe_finds_every_tweet_and_user() {
    let dir = TempDir::new();
    let a = Archive::small(3, 1500);
    let mut flat = Vec::new();
    a.write_flattened(&mut flat, Style::TWARC, None).unwrap();
    let lines: Vec<&[u8]> = flat
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        lines.len() as u64,
        a.tweets + a.users,
        "a line a Tweet, then a line a user"
    );
    write_archive(&dir, &lines);
    recipe(&dir, "ids-flattened.sh");
    assert_ids(&dir, model_ids(&a, 0..a.tweets, true));

    // Tweets 100 to 199 alone, without the user lines: some Tweets and
    // authors are only in the copies in referenced_tweets, and the users
    // are only authors.
    write_archive(&dir, &lines[100..200]);
    recipe(&dir, "ids-flattened.sh");
    assert_quotes_reach_further(&a, 100..200);
    assert_ids(&dir, model_ids(&a, 100..200, false));
}

#[test]
fn the_pages_recipe_finds_every_tweet_and_user() {
    let dir = TempDir::new();
    let a = Archive::small(4, 1500);
    let mut pages = Vec::new();
    a.write_pages(&mut pages, Style::TWARC, 100, None).unwrap();
    let lines: Vec<&[u8]> = pages
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    write_archive(&dir, &lines);
    recipe(&dir, "ids-pages.sh");
    // The users of a page are its authors (and those of the Tweets quoted).
    assert_ids(&dir, model_ids(&a, 0..a.tweets, false));

    // The second page alone, without includes.users: some Tweets and
    // authors are only in includes.tweets, and the users are only authors.
    let cut: Vec<Vec<u8>> = lines[1..2]
        .iter()
        .map(|line| {
            let mut page: serde_json::Value = serde_json::from_slice(line).unwrap();
            page["includes"]
                .as_object_mut()
                .unwrap()
                .remove("users")
                .expect("includes.users");
            serde_json::to_vec(&page).unwrap()
        })
        .collect();
    write_archive(&dir, &cut.iter().map(Vec::as_slice).collect::<Vec<_>>());
    recipe(&dir, "ids-pages.sh");
    assert_quotes_reach_further(&a, 100..200);
    assert_ids(&dir, model_ids(&a, 100..200, false));
}

#[test]
fn the_csv_recipe_finds_every_tweet_and_author() {
    let dir = TempDir::new();
    let a = Archive::small(5, 1500);
    let mut csv = Vec::new();
    a.write_csv(&mut csv, true, None).unwrap();
    dir.write("archive.csv", &csv);
    recipe(&dir, "ids-csv.sh");
    let tweets: BTreeSet<u64> = (0..a.tweets).map(|i| a.tweet_id(i)).collect();
    let authors: BTreeSet<u64> = (0..a.tweets).map(|i| a.tweet(i).author).collect();
    assert_ids(&dir, (tweets, authors));
}

#[test]
fn the_readme_shows_each_id_recipe_as_it_is_tested() {
    let readme = std::fs::read_to_string(in_repo("README.md")).unwrap();
    for name in ["ids-flattened.sh", "ids-pages.sh", "ids-csv.sh"] {
        let script = std::fs::read_to_string(in_repo("recipes").join(name)).unwrap();
        let body = &script[script.find("set -euo pipefail\n").expect("strict mode") + 18..];
        for line in body
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            assert!(
                readme.contains(line),
                "README.md lacks this line of recipes/{name}:\n{line}"
            );
        }
    }
}

#[test]
fn the_readme_flow_from_archive_to_clean_archive_month_after_month() {
    let em = emulator_with(|c| {
        c.event_percent = 30;
        c.rate_limits = compliance_testkit::RateLimits::uniform(100_000);
    });
    let dir = TempDir::new();
    let lifecycle = in_repo("lifecycle.sh");
    let lifecycle = lifecycle.to_str().unwrap();
    let mut last_month = Vec::new();
    // This month's archive; next month's has grown.
    for tweets in [1500, 1700] {
        let a = Archive::small(9, tweets);
        let mut flat = Vec::new();
        a.write_flattened(&mut flat, Style::TWARC, None).unwrap();
        dir.write("archive.jsonl", &flat);
        recipe(&dir, "ids-flattened.sh");
        assert_ids(&dir, model_ids(&a, 0..a.tweets, true));
        let tweet_ids = std::fs::read(dir.path("tweet_ids.txt")).unwrap();
        let user_ids = std::fs::read(dir.path("user_ids.txt")).unwrap();

        // 20 bytes a Tweet ID: 500 a part.
        let parts = tweet_ids.len().div_ceil(10_000);
        assert!(parts >= 3, "{parts} parts");
        let out = run_in(
            &dir,
            Some(&em),
            "bash",
            &[
                lifecycle,
                "--type",
                "tweets",
                "--ids-file",
                "tweet_ids.txt",
                "--results-file",
                "tweets.jsonl",
                "--name",
                "my-archive",
                "--part-size",
                "10000",
            ],
        );
        out.assert_code(0)
            .assert_stderr(&format!(
                "$ create-job --type tweets --name my-archive-{parts}"
            ))
            .assert_stderr(&format!("holds the results of {parts} job(s)"));
        run_in(
            &dir,
            Some(&em),
            "bash",
            &[
                lifecycle,
                "--type",
                "users",
                "--ids-file",
                "user_ids.txt",
                "--results-file",
                "users.jsonl",
                "--name",
                "my-archive",
            ],
        )
        .assert_code(0);

        // The results files are this month's, whole: replaced, not appended to.
        let tweets_results = em.expected_results("tweets", &tweet_ids);
        let users_results = em.expected_results("users", &user_ids);
        assert_file(&dir.path("tweets.jsonl"), &tweets_results);
        assert_file(&dir.path("users.jsonl"), &users_results);
        assert_ne!(last_month, tweets_results, "next month's results differ");
        last_month = tweets_results.clone();

        run_in(
            &dir,
            None,
            "apply-results",
            &[
                "--archive",
                "archive.jsonl",
                "--tweets-results",
                "tweets.jsonl",
                "--users-results",
                "users.jsonl",
                "--output",
                "clean.jsonl",
            ],
        )
        .assert_code(0);
        let applied = Applied::from_results(&[&tweets_results], &[&users_results]);
        assert!(applied.tweets.values().any(|r| r == "scrub_geo"));
        assert!(applied.tweets.values().any(|r| r != "scrub_geo"));
        assert!(!applied.users.is_empty());
        let mut clean = Vec::new();
        a.write_flattened(&mut clean, Style::TWARC, Some(&applied))
            .unwrap();
        assert_ne!(clean, flat, "the results change the archive");
        assert_file(&dir.path("clean.jsonl"), &clean);

        // A stage by hand: the first part of the split run says so.
        run_in(
            &dir,
            Some(&em),
            "download-results",
            &[
                "--name",
                "my-archive",
                "--type",
                "tweets",
                "--results-file",
                "part1.jsonl",
                "--quiet",
            ],
        )
        .assert_code(0)
        .assert_stderr(&format!("warning: \"my-archive\" is part 1 of {parts} "));

        // The users' results as CSV, in parts too: the same clean archive.
        let out = run_in(
            &dir,
            Some(&em),
            "bash",
            &[
                lifecycle,
                "--type",
                "users",
                "--ids-file",
                "user_ids.txt",
                "--results-file",
                "users.csv",
                "--name",
                "my-archive",
                "--part-size",
                "600",
                "--format",
                "csv",
            ],
        );
        out.assert_code(0)
            .assert_stderr("--format csv --results-file");
        assert!(
            out.stderr.matches("$ create-job").count() >= 3,
            "{}",
            out.stderr
        );
        let csv = std::fs::read_to_string(dir.path("users.csv")).unwrap();
        assert!(csv.starts_with("id,action,reason,created_at,redacted_at\n"));
        assert_eq!(csv.matches("id,action").count(), 1, "one header line");
        assert_eq!(
            csv.lines().count(),
            applied.users.len() + 1,
            "a row an event"
        );
        run_in(
            &dir,
            None,
            "apply-results",
            &[
                "--archive",
                "archive.jsonl",
                "--tweets-results",
                "tweets.jsonl",
                "--users-results",
                "users.csv",
                "--output",
                "clean-csv.jsonl",
            ],
        )
        .assert_code(0);
        assert_file(&dir.path("clean-csv.jsonl"), &clean);
    }
    assert_eq!(
        dir.names(),
        [
            "archive.jsonl",
            "clean-csv.jsonl",
            "clean.jsonl",
            "part1.jsonl",
            "tweet_ids.txt",
            "tweets.jsonl",
            "user_ids.txt",
            "users.csv",
            "users.jsonl"
        ],
        "no state or temporary file left"
    );
}
