//! Property tests: the fast reader of a JSON line agrees with the reference
//! (serde_json) on generated lines, on lines with bytes changed, and on any
//! bytes; and a whole run, reading in pieces of any size, writes what the
//! reference makes of each line in memory.

use std::io::Write as _;

use proptest::prelude::*;

use super::reference;
use super::rules;
use super::verdicts::{Of, Verdicts};
use super::view::{Line, LineKind};
use super::{apply_in_pieces, json, Apply, Input};
use crate::destination::Destination;
use crate::report::Reporter;

/// The fast reader's view, or `None` where it refuses the line.
fn fast(line: &[u8]) -> Option<Line> {
    let mut view = Line::default();
    json::read_line(line, &mut view).ok().map(|()| view)
}

fn agree(line: &[u8]) -> Result<(), TestCaseError> {
    let (f, r) = (fast(line), reference::read_line(line));
    prop_assert!(
        f == r,
        "{:?}\nfast: {:?}\nreference: {:?}",
        String::from_utf8_lossy(line),
        f,
        r
    );
    Ok(())
}

/// Text between tokens, as JSON allows it.
fn ws() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", "", "", " ", "  ", "\t", "\r", " \n "]).prop_map(String::from)
}

/// Strings as archives hold them, escapes and all.
fn string() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        r#""""#,
        r#""1460000000000000007""#,
        r#""22""#,
        r#""0""#,
        r#""12345678901234567890""#,
        r#""\u0031\u0032""#,
        r#""caf\u00e9 \"q\" \\ \/ \b\f\n\r\t""#,
        r#""\ud83d\ude00""#,
        r#""\ud800""#,
        r#""é ✓ 😀""#,
        r#""01a9a39529b27f36""#,
        r#""3_1460000000000000008""#,
        r#""quoted""#,
        r#""a,b;c""#,
    ])
    .prop_map(String::from)
}

fn number() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "0",
        "-1",
        "7",
        "1460000000000000007",
        "12345678901234567890",
        "1.5",
        "-74.026675",
        "2e10",
        "1E-2",
        "-0.0",
    ])
    .prop_map(String::from)
}

/// Keys: the ones apply reads, their escaped spellings, and others.
fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "id",
        "id",
        "author_id",
        "username",
        "type",
        "geo",
        "place_id",
        "attachments",
        "media_keys",
        "poll_ids",
        "media_key",
        "referenced_tweets",
        "data",
        "includes",
        "meta",
        "tweets",
        "users",
        "places",
        "media",
        "polls",
        "text",
        "author",
        r"\u0069d",
        "i\\\"d",
        "\\ud800",
    ])
    .prop_map(|k| format!("\"{k}\""))
}

/// Any JSON value, laid out with any white space.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        string(),
        number(),
        prop::sample::select(vec!["true", "false", "null"]).prop_map(String::from),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec((ws(), inner.clone(), ws()), 0..6).prop_map(|items| {
                let items: Vec<String> = items
                    .into_iter()
                    .map(|(a, v, b)| format!("{a}{v}{b}"))
                    .collect();
                format!("[{}]", items.join(","))
            }),
            prop::collection::vec((ws(), key(), ws(), ws(), inner, ws()), 0..6).prop_map(
                |members| {
                    let members: Vec<String> = members
                        .into_iter()
                        .map(|(a, k, b, c, v, d)| format!("{a}{k}{b}:{c}{v}{d}"))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }
            ),
        ]
    })
}

/// An object at the top, as a line is: mostly records and pages.
fn line() -> impl Strategy<Value = String> {
    let member = (ws(), key(), ws(), value(), ws());
    (ws(), prop::collection::vec(member, 0..8), ws()).prop_map(|(a, members, b)| {
        let members: Vec<String> = members
            .into_iter()
            .map(|(x, k, y, v, z)| format!("{x}{k}{y}:{v}{z}"))
            .collect();
        format!("{a}{{{}}}{b}", members.join(","))
    })
}

/// A record or a page as twarc2 writes them, values picked to hit the
/// rules' branches.
fn twarc_line() -> impl Strategy<Value = String> {
    let id = prop::sample::select(vec!["1", "2", "3", "11", "12"]);
    let tweet = (id.clone(), id.clone(), prop::bool::ANY, prop::bool::ANY).prop_map(
        |(id, author, geo, refs)| {
            let mut t = format!(r#"{{"id": "{id}", "text": "t", "author_id": "{author}""#);
            if geo {
                t += r#", "geo": {"place_id": "p1", "id": "9"}"#;
            }
            if refs {
                t += &format!(
                    r#", "referenced_tweets": [{{"type": "quoted", "id": "{author}", "text": "q", "author_id": "{id}", "geo": {{"place_id": "p2"}}}}]"#
                );
            }
            t + r#", "attachments": {"media_keys": ["3_1"], "poll_ids": ["7"]}}"#
        },
    );
    let user = id
        .clone()
        .prop_map(|id| format!(r#"{{"id": "{id}", "username": "u{id}"}}"#));
    let record = prop_oneof![tweet.clone(), user.clone()];
    let page = (
        prop::collection::vec(record.clone(), 0..4),
        prop::collection::vec(tweet, 0..3),
        prop::collection::vec(user, 0..3),
    )
        .prop_map(|(data, tweets, users)| {
            format!(
                r#"{{"data": [{}], "includes": {{"tweets": [{}], "users": [{}], "places": [{{"id": "p1"}}, {{"id": "p2"}}], "media": [{{"media_key": "3_1"}}], "polls": [{{"id": "7"}}]}}, "meta": {{"result_count": 1}}}}"#,
                data.join(", "),
                tweets.join(", "),
                users.join(", ")
            )
        });
    prop_oneof![record, page]
}

/// A line with a few bytes changed: mostly not JSON any more.
fn mutated(line: String, edits: Vec<(usize, u8, u8)>) -> Vec<u8> {
    let mut bytes = line.into_bytes();
    for (at, op, byte) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        let byte = b"{}[]\",:\\0123456789 eE.-+tfnu\x00\xff\xc3"[usize::from(byte) % 30];
        match op % 3 {
            0 => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            _ => {
                bytes.remove(at);
            }
        }
    }
    bytes
}

/// Verdicts that name some of the IDs the generated lines use.
fn verdicts() -> Verdicts {
    Verdicts::of_events(&[
        (Of::Tweets, 1, "deleted", 0),
        (Of::Tweets, 2, "scrub_geo", 0),
        (Of::Tweets, 11, "scrub_geo", 0),
        (Of::Users, 12, "suspended", 1),
        (Of::Users, 3, "deleted", 1),
    ])
}

/// A run's output, and its changes as (line, place, id, action).
type Run = (Vec<u8>, Vec<(u64, &'static str, String, &'static str)>);

/// What the reference makes of a whole archive in memory: each line's
/// output, and its changes as (line, place, id, action).
fn reference_apply(archive: &[u8]) -> Option<Run> {
    let mut verdicts = verdicts();
    let mut out = Vec::new();
    let mut changes = Vec::new();
    let body = archive.strip_prefix(super::input::BOM).unwrap_or(archive);
    out.extend_from_slice(&archive[..archive.len() - body.len()]);
    let mut kind = None;
    for (n, line) in body.split_inclusive(|&b| b == b'\n').enumerate() {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            out.extend_from_slice(line);
            continue;
        }
        let view = reference::read_line(text)?;
        let this = view.kind()?;
        if *kind.get_or_insert(this) != this {
            return None;
        }
        let outcome = match this {
            LineKind::Record => rules::record_line(&mut verdicts, text, &view),
            LineKind::Page => rules::page_line(&mut verdicts, text, &view),
        }
        .ok()?;
        for c in &outcome.changes {
            changes.push((n as u64 + 1, c.place.name(), c.id.clone(), c.action.name()));
        }
        if !outcome.remove_line {
            rules::write_cut(text, &outcome.cuts, &mut out);
            out.extend_from_slice(&line[text.len()..]);
        }
    }
    Some((out, changes))
}

/// Runs the real thing on `archive` in a temporary folder, reading
/// `piece` bytes at a time: the output and the `--removed` lines.
fn streamed(archive: &[u8], piece: usize) -> Option<Run> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("archive.jsonl"), archive).expect("write");
    let mut results = Vec::new();
    for (name, body) in [
        ("t.jsonl", "{\"id\":\"1\",\"action\":\"delete\",\"reason\":\"deleted\"}\n{\"id\":\"2\",\"action\":\"delete\",\"reason\":\"scrub_geo\"}\n{\"id\":\"11\",\"action\":\"delete\",\"reason\":\"scrub_geo\"}\n"),
        ("u.jsonl", "{\"id\":\"12\",\"action\":\"delete\",\"reason\":\"suspended\"}\n{\"id\":\"3\",\"action\":\"delete\",\"reason\":\"deleted\"}\n"),
    ] {
        let mut f = std::fs::File::create(path(name)).expect("create");
        f.write_all(body.as_bytes()).expect("write");
        results.push(path(name));
    }
    let job = Apply {
        archive: Input::Path(path("archive.jsonl")),
        results: vec![
            (Of::Tweets, results[0].clone()),
            (Of::Users, results[1].clone()),
        ],
        output: Destination::File(path("out.jsonl")),
        removed: Some(Destination::File(path("removed.jsonl"))),
        id_column: "id".into(),
        reporter: Reporter::silent(),
    };
    apply_in_pieces(&job, piece).ok()?;
    let out = std::fs::read(path("out.jsonl")).expect("output");
    let removed = std::fs::read_to_string(path("removed.jsonl")).expect("report");
    let changes = removed
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a report line");
            let name = |k: &str| -> &'static str {
                let s = v[k].as_str().expect("a string").to_string();
                Box::leak(s.into_boxed_str())
            };
            (
                v["line"].as_u64().expect("line"),
                name("where"),
                v["id"].as_str().expect("id").to_string(),
                name("action"),
            )
        })
        .collect();
    Some((out, changes))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_fast_reader_agrees_on_generated_lines(line in line()) {
        agree(line.as_bytes())?;
    }

    #[test]
    fn the_fast_reader_agrees_on_twarc_lines(line in twarc_line()) {
        agree(line.as_bytes())?;
        prop_assert!(fast(line.as_bytes()).is_some());
    }

    #[test]
    fn the_fast_reader_agrees_on_changed_lines(line in prop_oneof![line(), twarc_line()], edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4)) {
        agree(&mutated(line, edits))?;
    }

    #[test]
    fn the_fast_reader_agrees_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        agree(&bytes)?;
    }

    #[test]
    fn a_run_in_pieces_writes_what_the_reference_makes_of_each_line(
        lines in prop::collection::vec((twarc_line(), prop::sample::select(vec!["\n", "\r\n", "\n\n", " \t\n"])), 0..6),
        bom in prop::bool::ANY,
        last_newline in prop::bool::ANY,
        pages in prop::bool::ANY,
        piece in 1usize..64,
    ) {
        let mut archive = Vec::new();
        if bom {
            archive.extend_from_slice(super::input::BOM);
        }
        // One shape per archive: pages, or records.
        for (line, end) in lines.iter().filter(|(l, _)| l.starts_with("{\"data\"") == pages) {
            archive.extend_from_slice(line.as_bytes());
            archive.extend_from_slice(end.as_bytes());
        }
        if !last_newline && archive.ends_with(b"\n") {
            archive.pop();
        }
        let expected = reference_apply(&archive);
        prop_assert!(expected.is_some(), "the reference refuses {:?}", String::from_utf8_lossy(&archive));
        let got = streamed(&archive, piece);
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn hand_made_edge_cases_agree() {
    for line in [
        "{}",
        " {\"id\":\"1\"} ",
        "{\"id\":\"1\",\"id\":\"2\"}",
        "{\"id\":[\"1\"]}",
        "{\"data\":{}}",
        "{\"data\":[1]}",
        "{\"includes\":[]}",
        "{\"includes\":{\"tweets\":{}}}",
        "{\"includes\":{\"places\":{}}}",
        "{\"data\":[],\"id\":\"4\"}",
        "{\"geo\":{\"place_id\":7}}",
        "{\"referenced_tweets\":[1,{\"id\":\"2\"},[]]}",
        "{\"attachments\":{\"media_keys\":\"3_1\"}}",
        "{\"id\":\"1\"}\t\r",
        "{\"id\":\"\\ud800\"}",
        "{\"\\ud800\":1}",
        "{\"id\":-1}",
        "{\"id\":1e5}",
        "{\"a\":\"\u{7f}\"}",
    ] {
        agree(line.as_bytes()).unwrap();
    }
}
