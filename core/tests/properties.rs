//! Property tests of the public decoders: the results checker, API error
//! bodies and timestamps never panic, and count what they should. (The ID
//! checker's, against its reference, are in `ids::properties`.)

use compliance_core::error::ApiError;
use compliance_core::results::{Event, ResultsChecker};
use compliance_core::time::Timestamp;
use proptest::prelude::*;

proptest! {
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
        let mut passed = Vec::new();
        let mut sink = |e: &Event<'_>| passed.push((e.id.to_string(), e.reason.to_string()));
        for chunk in body.as_bytes().chunks(piece) {
            checker.feed_into(chunk, &mut sink).unwrap();
        }
        let summary = checker.finish_into(&mut sink).unwrap();
        prop_assert_eq!(summary.events, events.len() as u64);
        prop_assert_eq!(summary.reasons.values().sum::<u64>(), events.len() as u64);
        // The sink gets each event the summary counts, in order.
        let sent: Vec<(String, String)> = events.iter().map(|(id, reason, _)| (id.clone(), reason.clone())).collect();
        prop_assert_eq!(passed, sent);
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
    fn timestamps_never_panic_and_round_trip(
        s in ".{0,40}",
        any in proptest::num::i64::ANY,
        millis in 0i64..253_402_300_800_000,
    ) {
        let _ = Timestamp::parse(&s);
        let _ = Timestamp::from_millis(any).to_string();
        let t = Timestamp::from_millis(millis);
        prop_assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
    }
}
