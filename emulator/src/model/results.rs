//! Compliance results: which IDs get an event, and the JSON Lines file.
//!
//! Every decision is a pure function of the job type and the ID (hashed with
//! splitmix64), so a test can predict the exact results file for any upload
//! with [`event_line`] or `Emulator::expected_results`.

use std::io::{self, BufRead, Write};

use super::clock;

/// The Twitter snowflake epoch, 2010-11-04T01:42:54.657Z, in Unix ms.
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;
/// Tweet IDs at or below this predate snowflakes (sequential 2006–2010 IDs).
const LAST_SEQUENTIAL_TWEET_ID: u64 = 29_700_000_000;
/// 2035-01-01T00:00:00Z: snowflake times past this are not plausible.
const PLAUSIBLE_UNTIL_MS: i64 = 2_051_222_400_000;
/// 2006-03-21T00:00:00Z, the day the service started.
const SERVICE_START_MS: i64 = 1_142_899_200_000;
/// Span over which derived creation times are spread (about 17 years).
const DERIVED_SPAN_MS: u64 = 17 * 365 * 86_400_000;
/// Redactions happen between one hour and about four years after creation:
/// this soonest, within the span below.
const REDACTION_MIN_MS: u64 = 3_600_000;
/// The span redaction times are spread over.
const REDACTION_SPAN_MS: u64 = 4 * 365 * 86_400_000;

/// Why a tweet has an event.
const TWEET_REASONS: [&str; 4] = ["deleted", "protected", "suspended", "scrub_geo"];
/// The reason of a tweet that failed a compliance check ("Post failed
/// compliance check", in the 2026 docs only). Users never get it.
const BOUNCED: &str = "bounced";
/// One tweet event in this many is `bounced` instead of its reason above.
const BOUNCED_ONE_IN: u64 = 10;
/// Keeps the bounced draw independent of the other draws of an event.
const BOUNCED_SALT: u64 = 0x626f_756e_6365_6400;
/// Why a user has an event.
const USER_REASONS: [&str; 4] = ["deleted", "suspended", "protected", "deactivated"];

/// The two kinds of job and the results rules that differ between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tweets,
    Users,
}

impl Kind {
    /// Parses the API's `type` value.
    pub(crate) fn parse(s: &str) -> Option<Kind> {
        match s {
            "tweets" => Some(Kind::Tweets),
            "users" => Some(Kind::Users),
            _ => None,
        }
    }

    /// The API's `type` value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Tweets => "tweets",
            Kind::Users => "users",
        }
    }

    /// Keeps tweet and user decisions for the same number independent.
    fn salt(self) -> u64 {
        match self {
            Kind::Tweets => 0x7477_6565_7473_0001,
            Kind::Users => 0x7573_6572_7300_0002,
        }
    }

    /// The reasons an event of this kind gives alike (a tweet's may also
    /// be [`BOUNCED`]).
    fn reasons(self) -> &'static [&'static str; 4] {
        match self {
            Kind::Tweets => &TWEET_REASONS,
            Kind::Users => &USER_REASONS,
        }
    }
}

/// One step of splitmix64: a fast, well-mixed bijection on `u64`.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The results line for `id` in a job of `job_type`, without newline, or
/// `None` when the ID has no compliance event (or the type is neither
/// `tweets` nor `users`).
///
/// `event_percent` (clamped to 100) is the share of IDs that get an event.
/// The line is `{"id","action":"delete","created_at","redacted_at"?,"reason"}`
/// with `redacted_at` present for about half of the events. A tweet's
/// reason is `bounced` for about one event in ten, else `deleted`,
/// `protected`, `suspended` or `scrub_geo` alike; a user's is `deleted`,
/// `suspended`, `protected` or `deactivated`.
pub fn event_line(job_type: &str, id: u64, event_percent: u32) -> Option<String> {
    let kind = Kind::parse(job_type)?;
    let mut out = Vec::with_capacity(160);
    if push_event(&mut out, kind, id, event_percent) {
        Some(String::from_utf8_lossy(&out).into_owned())
    } else {
        None
    }
}

/// Appends the event line for `id` (without newline) and returns true, or
/// returns false and appends nothing when the ID has no event.
fn push_event(out: &mut Vec<u8>, kind: Kind, id: u64, event_percent: u32) -> bool {
    let h = splitmix64(id ^ kind.salt());
    if (h >> 32) % 100 >= u64::from(event_percent.min(100)) {
        return false;
    }
    let r = splitmix64(h);
    let bounced =
        kind == Kind::Tweets && splitmix64(r ^ BOUNCED_SALT).is_multiple_of(BOUNCED_ONE_IN);
    let reason = if bounced {
        BOUNCED
    } else {
        kind.reasons()[(r & 3) as usize]
    };
    let redacted = (r >> 2) & 1 == 1;
    let created = created_at(kind, id, splitmix64(r));
    out.extend_from_slice(b"{\"id\":\"");
    push_u64(out, id);
    out.extend_from_slice(b"\",\"action\":\"delete\",\"created_at\":\"");
    clock::push_timestamp(out, created);
    if redacted {
        let later = REDACTION_MIN_MS + (r >> 8) % REDACTION_SPAN_MS;
        out.extend_from_slice(b"\",\"redacted_at\":\"");
        clock::push_timestamp(out, created + later as i64);
    }
    out.extend_from_slice(b"\",\"reason\":\"");
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\"}");
    true
}

/// Creation time of the object behind `id`: the snowflake time for a
/// plausible tweet snowflake, else a time derived from the hash.
fn created_at(kind: Kind, id: u64, hash: u64) -> i64 {
    if kind == Kind::Tweets && id > LAST_SEQUENTIAL_TWEET_ID {
        let ms = SNOWFLAKE_EPOCH_MS + (id >> 22) as i64;
        if ms < PLAUSIBLE_UNTIL_MS {
            return ms;
        }
    }
    SERVICE_START_MS + (hash % DERIVED_SPAN_MS) as i64
}

/// Appends the decimal form of `v`.
fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Parses one upload line as a plain decimal ID, after trimming spaces,
/// tabs and CR. Anything else (empty, signs, letters, overflow) is `None`.
fn parse_id(line: &[u8]) -> Option<u64> {
    let is_blank = |c: &u8| matches!(c, b' ' | b'\t' | b'\r');
    let start = line.iter().position(|c| !is_blank(c))?;
    let end = line.iter().rposition(|c| !is_blank(c))? + 1;
    let digits = &line[start..end];
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

/// Streams an uploaded ID file into its results file: one event line per
/// ID line that has an event, in upload order, LF-terminated.
///
/// `stop` is polled every 65536 lines so that cancellation and shutdown do
/// not wait for a large file; it makes the function fail with `Interrupted`.
pub(crate) fn generate<R: BufRead, W: Write>(
    kind: Kind,
    event_percent: u32,
    mut input: R,
    mut output: W,
    stop: &dyn Fn() -> bool,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(64);
    let mut out = Vec::with_capacity(256 * 1024);
    let mut lines: u64 = 0;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if let Some(id) = parse_id(&line) {
            if push_event(&mut out, kind, id, event_percent) {
                out.push(b'\n');
            }
        }
        lines += 1;
        // Checked by line count too, for uploads with few or no events.
        if lines.is_multiple_of(65_536) && stop() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        if out.len() >= 240 * 1024 {
            output.write_all(&out)?;
            out.clear();
        }
    }
    output.write_all(&out)?;
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_leniently_but_only_decimal() {
        assert_eq!(parse_id(b"1417856744319971329"), Some(1417856744319971329));
        assert_eq!(parse_id(b"  42 \r"), Some(42));
        assert_eq!(parse_id(b"007"), Some(7));
        for bad in [
            &b""[..],
            b"  ",
            b"-1",
            b"+1",
            b"12a",
            b"1 2",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_id(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn event_share_is_close_to_the_percentage() {
        let hits = (0..100_000u64)
            .filter(|i| event_line("tweets", 1_400_000_000_000_000_000 + i, 25).is_some())
            .count();
        assert!((23_000..27_000).contains(&hits), "{hits}");
        assert!(event_line("tweets", 5, 0).is_none());
        assert!(event_line("users", 5, 100).is_some());
        assert!(event_line("spaces", 5, 100).is_none());
    }

    #[test]
    fn lines_are_json_with_the_documented_fields() {
        let mut with_redaction = 0;
        for id in 1_425_543_269_983_784_962u64..1_425_543_269_983_785_062 {
            let line = event_line("tweets", id, 100).expect("every id has an event at 100%");
            let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
            assert_eq!(v["id"], id.to_string());
            assert_eq!(v["action"], "delete");
            // The snowflake time of these IDs is 2021-08-11T19:42:5x.
            let created = v["created_at"].as_str().expect("created_at");
            assert!(created.starts_with("2021-08-11T19:4"), "{created}");
            if let Some(r) = v["redacted_at"].as_str() {
                assert!(r > created);
                with_redaction += 1;
            }
            let reason = v["reason"].as_str().expect("reason");
            assert!(
                TWEET_REASONS.contains(&reason) || reason == BOUNCED,
                "{reason}"
            );
        }
        assert!((25..75).contains(&with_redaction), "{with_redaction}");
    }

    /// How many of `n` events of `job_type` give each reason.
    fn reason_counts(job_type: &str, n: u64) -> std::collections::BTreeMap<String, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for id in 1_400_000_000_000_000_000..1_400_000_000_000_000_000 + n {
            let line = event_line(job_type, id, 100).expect("every id has an event at 100%");
            let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
            *counts
                .entry(v["reason"].as_str().expect("reason").to_string())
                .or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn one_tweet_event_in_ten_is_bounced_and_no_user_event() {
        let tweets = reason_counts("tweets", 100_000);
        let keys: Vec<&str> = tweets.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["bounced", "deleted", "protected", "scrub_geo", "suspended"]
        );
        assert!((9_500..10_500).contains(&tweets["bounced"]), "{tweets:?}");
        // The other four share the rest alike.
        for reason in TWEET_REASONS {
            assert!((21_500..23_500).contains(&tweets[reason]), "{tweets:?}");
        }
        let users = reason_counts("users", 20_000);
        let keys: Vec<&str> = users.keys().map(String::as_str).collect();
        assert_eq!(keys, ["deactivated", "deleted", "protected", "suspended"]);
        // A pure function of the type and the ID.
        let id = (1_400_000_000_000_000_000..)
            .find(|&id| event_line("tweets", id, 100).is_some_and(|l| l.contains("bounced")))
            .expect("a bounced tweet");
        assert_eq!(event_line("tweets", id, 100), event_line("tweets", id, 100));
        assert!(
            event_line("tweets", id, 100).is_some_and(|l| l.ends_with(r#""reason":"bounced"}"#))
        );
    }

    #[test]
    fn generate_skips_non_ids_and_keeps_order() {
        let input = b"1\nabc\n\n2\r\n 3 \n4";
        let mut out = Vec::new();
        generate(Kind::Users, 100, &input[..], &mut out, &|| false).expect("in memory");
        let want: String = [1u64, 2, 3, 4]
            .iter()
            .map(|&id| event_line("users", id, 100).expect("event") + "\n")
            .collect();
        assert_eq!(String::from_utf8(out).expect("utf-8"), want);
    }
}
