//! Property tests: the ID checker and the response decoders on arbitrary
//! bytes never panic, and every accepted ID file round-trips.

use std::path::Path;

use compliance_core::ids::Scanner;
use compliance_core::problem::ApiError;
use compliance_core::results::ResultsChecker;
use compliance_core::time::Timestamp;
use proptest::prelude::*;

/// Scans `bytes` fed in pieces of `piece` bytes; returns the normalised output.
fn normalise(bytes: &[u8], piece: usize) -> Result<Vec<u8>, String> {
    let mut scanner = Scanner::new();
    let mut out = Vec::new();
    for chunk in bytes.chunks(piece.max(1)) {
        scanner.feed(chunk, Some(&mut out));
    }
    match scanner.finish(Path::new("f"), Some(&mut out)) {
        Ok(stats) => {
            assert_eq!(stats.normalised_bytes, out.len() as u64);
            Ok(out)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Lines that are IDs, blank, or IDs with the noise the checker forgives.
fn id_line() -> impl Strategy<Value = (String, Option<String>)> {
    prop_oneof![
        "[0-9]{1,19}".prop_map(|id| (id.clone(), Some(id))),
        ("[ \t]{0,3}", "[0-9]{1,19}", "[ \t]{0,3}", prop::bool::ANY).prop_map(|(a, id, b, cr)| {
            (
                format!("{a}{id}{b}{}", if cr { "\r" } else { "" }),
                Some(id),
            )
        }),
        "[ \t]{0,4}\r?".prop_map(|blank| (blank, None)),
    ]
}

proptest! {
    #[test]
    fn the_id_checker_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600), piece in 1usize..70) {
        let whole = normalise(&bytes, bytes.len().max(1));
        // Feeding in pieces changes nothing.
        prop_assert_eq!(whole.clone(), normalise(&bytes, piece));
        if let Ok(out) = whole {
            // What was accepted normalises to itself.
            prop_assert_eq!(normalise(&out, piece), Ok(out.clone()));
            prop_assert!(out.iter().all(|b| b.is_ascii_digit() || *b == b'\n'));
        }
    }

    #[test]
    fn accepted_files_round_trip(lines in prop::collection::vec(id_line(), 1..40), bom in any::<bool>(), last_newline in any::<bool>(), piece in 1usize..50) {
        let mut file = if bom { "\u{feff}".to_string() } else { String::new() };
        file.push_str(&lines.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join("\n"));
        if last_newline {
            file.push('\n');
        }
        let ids: String = lines.iter().filter_map(|(_, id)| id.as_ref()).map(|id| format!("{id}\n")).collect();
        let out = normalise(file.as_bytes(), piece);
        if ids.is_empty() {
            prop_assert!(out.is_err());
        } else {
            prop_assert_eq!(out, Ok(ids.into_bytes()));
        }
    }

    #[test]
    fn the_results_checker_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600), piece in 1usize..70) {
        let mut checker = ResultsChecker::new();
        let mut ok = true;
        for chunk in bytes.chunks(piece) {
            if checker.feed(chunk).is_err() {
                ok = false;
                break;
            }
        }
        if ok {
            let _ = checker.finish();
        }
    }

    #[test]
    fn event_lines_are_counted(events in prop::collection::vec(("[0-9]{1,19}", "[a-z_]{1,12}", prop::bool::ANY), 0..30), piece in 1usize..90) {
        let body: String = events.iter().map(|(id, reason, crlf)| {
            format!("{{\"id\":\"{id}\",\"action\":\"delete\",\"created_at\":\"2020-01-01T00:00:00.000Z\",\"reason\":\"{reason}\"}}{}\n", if *crlf { "\r" } else { "" })
        }).collect();
        let mut checker = ResultsChecker::new();
        for chunk in body.as_bytes().chunks(piece) {
            checker.feed(chunk).unwrap();
        }
        let summary = checker.finish().unwrap();
        prop_assert_eq!(summary.events, events.len() as u64);
        prop_assert_eq!(summary.reasons.values().sum::<u64>(), events.len() as u64);
    }

    #[test]
    fn error_bodies_never_panic(status in 100u16..600, bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let e = ApiError::decode("GET /2/compliance/jobs".into(), status, None, &bytes);
        prop_assert!(!e.to_string().chars().any(char::is_control));
    }

    #[test]
    fn problem_json_never_panics(title in any::<Option<String>>(), detail in any::<Option<String>>(), kind in any::<Option<String>>(), params in prop::collection::vec((any::<String>(), any::<String>()), 0..4)) {
        let errors: Vec<_> = params.iter().map(|(p, m)| serde_json::json!({"parameters": {p: [m]}, "message": m})).collect();
        let body = serde_json::json!({"title": title, "detail": detail, "type": kind, "errors": errors});
        let e = ApiError::decode("POST /2/compliance/jobs".into(), 400, None, body.to_string().as_bytes());
        let message = e.to_string();
        prop_assert!(!message.chars().any(char::is_control), "{}", message);
    }

    #[test]
    fn timestamps_never_panic_and_round_trip(s in ".{0,40}", millis in -10_000_000_000_000i64..10_000_000_000_000) {
        let _ = Timestamp::parse(&s);
        let t = Timestamp::from_millis(millis);
        prop_assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
    }
}
