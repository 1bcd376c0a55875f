//! The emulator's clock and the timestamp formats it speaks.
//!
//! The clock is the system clock plus a shift that tests move forward (or
//! back) to expire jobs and signed URLs without sleeping. Everything that
//! depends on time reads it from here, in milliseconds since the Unix epoch.
//!
//! Every format is RFC 3339 as humantime writes it, or cut from it or
//! rearranged:
//!
//! | format | example | where |
//! |---|---|---|
//! | [`timestamp`] | `2021-08-11T19:42:55.000Z` | API job objects, results |
//! | [`goog_date`] | `20210811T194255Z` | `X-Goog-Date` |
//! | [`goog_day`] | `20210811` | the credential scope's day |
//! | [`rfc3339_seconds`] | `2021-08-11T19:42:55+00:00` | `ExpiredToken` details |
//! | [`http_date`] | `Wed, 11 Aug 2021 19:42:55 GMT` | the `Date` header |

use std::io::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use humantime::{format_rfc3339_millis, format_rfc3339_seconds, parse_rfc3339};

/// The last millisecond of year 9999, the last a four-digit year shows.
const LAST_MS: i64 = 253_402_300_799_999;

/// The system clock plus an adjustable shift.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    shift_ms: AtomicI64,
}

impl Clock {
    /// Milliseconds since the Unix epoch, as the emulator sees it now.
    pub(crate) fn now_ms(&self) -> i64 {
        system_ms().saturating_add(self.shift_ms.load(Ordering::SeqCst))
    }

    /// The `Date` header of an answer sent now.
    pub(crate) fn http_date(&self) -> String {
        http_date(self.now_ms())
    }

    /// Moves the clock by `secs` seconds (negative moves it back).
    pub(crate) fn shift(&self, secs: i64) {
        self.shift_ms
            .fetch_add(secs.saturating_mul(1000), Ordering::SeqCst);
    }
}

/// A duration in ms, saturating.
pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The system clock in milliseconds since the Unix epoch.
fn system_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        // A clock before 1970 is not worth more than a sane fallback.
        Err(_) => 0,
    }
}

/// The instant of a timestamp in ms, within 1970 to 9999: others only
/// arise from absurd clock shifts, and must not break the fixed-width
/// formats.
fn instant(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.clamp(0, LAST_MS).unsigned_abs())
}

/// Appends the API timestamp format, `2021-08-11T19:42:55.000Z`.
pub(crate) fn push_timestamp(out: &mut Vec<u8>, ms: i64) {
    // Writing to memory cannot fail.
    let _ = write!(out, "{}", format_rfc3339_millis(instant(ms)));
}

/// The API timestamp format, `2021-08-11T19:42:55.000Z`.
pub(crate) fn timestamp(ms: i64) -> String {
    format_rfc3339_millis(instant(ms)).to_string()
}

/// The `X-Goog-Date` format, `20210811T194255Z`: RFC 3339 to the second
/// without its separators.
pub(crate) fn goog_date(ms: i64) -> String {
    format_rfc3339_seconds(instant(ms))
        .to_string()
        .replace(['-', ':'], "")
}

/// The date-only part of the credential scope, `20210811`.
pub(crate) fn goog_day(ms: i64) -> String {
    let mut day = goog_date(ms);
    day.truncate(8);
    day
}

/// Parses an `X-Goog-Date` value back to milliseconds.
pub(crate) fn parse_goog_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' || !digits(0..8) || !digits(9..15) {
        return None;
    }
    let (date, time) = (&s[..8], &s[9..15]);
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &date[..4],
        &date[4..6],
        &date[6..],
        &time[..2],
        &time[2..4],
        &time[4..]
    );
    let since_epoch = parse_rfc3339(&rfc3339)
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?;
    i64::try_from(since_epoch.as_millis()).ok()
}

/// The RFC 3339 form GCS uses in its expiry messages,
/// `2021-08-11T19:57:55+00:00`.
pub(crate) fn rfc3339_seconds(ms: i64) -> String {
    let mut text = format_rfc3339_seconds(instant(ms)).to_string();
    text.pop();
    text.push_str("+00:00");
    text
}

/// The IMF-fixdate of HTTP's `Date` header (RFC 9110, 5.6.7),
/// `Wed, 11 Aug 2021 19:42:55 GMT`: RFC 3339 to the second, rearranged,
/// with the day of the week.
pub(crate) fn http_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let ms = ms.clamp(0, LAST_MS);
    // 1970-01-01 was a Thursday.
    let weekday = DAYS[(ms / 86_400_000 % 7) as usize];
    // `2021-08-11T19:42:55Z`: always this width within 1970 to 9999.
    let text = format_rfc3339_seconds(instant(ms)).to_string();
    let month = text[5..7]
        .parse::<usize>()
        .ok()
        .and_then(|m| MONTHS.get(m.checked_sub(1)?))
        .unwrap_or(&"Jan");
    format!(
        "{weekday}, {} {month} {} {} GMT",
        &text[8..10],
        &text[..4],
        &text[11..19]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // 2021-08-11T19:42:55Z, the creation time in the reference example.
        let ms = 1_628_710_975_000;
        assert_eq!(timestamp(ms), "2021-08-11T19:42:55.000Z");
        assert_eq!(timestamp(ms + 421), "2021-08-11T19:42:55.421Z");
        assert_eq!(goog_date(ms), "20210811T194255Z");
        assert_eq!(goog_day(ms), "20210811");
        assert_eq!(rfc3339_seconds(ms), "2021-08-11T19:42:55+00:00");
        assert_eq!(http_date(ms + 999), "Wed, 11 Aug 2021 19:42:55 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // RFC 9110's own example, and a leap day.
        assert_eq!(http_date(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(951_782_400_000), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(parse_goog_date("20210811T194255Z"), Some(ms));
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
        let mut pushed = b"at ".to_vec();
        push_timestamp(&mut pushed, ms + 7);
        assert_eq!(pushed, b"at 2021-08-11T19:42:55.007Z");
    }

    #[test]
    fn goog_dates_round_trip_to_the_second() {
        for ms in (0..LAST_MS).step_by(997_123_456_789) {
            assert_eq!(parse_goog_date(&goog_date(ms)), Some(ms - ms % 1000));
        }
    }

    #[test]
    fn absurd_instants_stay_in_four_digit_years() {
        assert_eq!(timestamp(-1), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(i64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(goog_date(i64::MIN), "19700101T000000Z");
        assert_eq!(rfc3339_seconds(i64::MAX), "9999-12-31T23:59:59+00:00");
        assert_eq!(http_date(i64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(http_date(-1), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn rejects_bad_goog_dates() {
        for bad in [
            "",
            "20210811T194255",
            "2021081XT194255Z",
            "20211311T194255Z",
            "2021-08-11T19:42:55Z",
            "20210811T19425\u{e9}",
        ] {
            assert_eq!(parse_goog_date(bad), None, "{bad}");
        }
    }
}
