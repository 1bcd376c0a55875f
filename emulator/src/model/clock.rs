//! The emulator's clock and the timestamp formats it speaks.
//!
//! The clock is the system clock plus a shift that tests move forward (or
//! back) to expire jobs and signed URLs without sleeping. Everything that
//! depends on time reads it from here, in milliseconds since the Unix epoch.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds per day, used by the calendar conversions.
const DAY_MS: i64 = 86_400_000;

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

    /// Moves the clock by `secs` seconds (negative moves it back).
    pub(crate) fn shift(&self, secs: i64) {
        self.shift_ms
            .fetch_add(secs.saturating_mul(1000), Ordering::SeqCst);
    }
}

/// A duration in ms, saturating.
pub(crate) fn ms(d: std::time::Duration) -> i64 {
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

/// Calendar date of a day count since 1970-01-01 (proleptic Gregorian).
///
/// This is the usual era-based conversion: shift the year to start in March
/// so the leap day is last, then split into 400-year eras.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Day count since 1970-01-01 of a calendar date; the inverse of
/// [`civil_from_days`].
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Broken-down UTC time of a millisecond timestamp.
struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    milli: u32,
}

fn parts(ms: i64) -> Parts {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let (year, month, day) = civil_from_days(days);
    let secs = (rem / 1000) as u32;
    Parts {
        year,
        month,
        day,
        hour: secs / 3600,
        minute: secs / 60 % 60,
        second: secs % 60,
        milli: (rem % 1000) as u32,
    }
}

/// Appends `value` as exactly `width` zero-padded decimal digits.
fn push_digits(out: &mut Vec<u8>, value: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut v = value;
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

/// Appends the API timestamp format, `2021-08-11T19:42:55.000Z`.
///
/// Years outside 0..=9999 are clamped: they only arise from absurd clock
/// shifts and must not break the fixed-width format.
pub(crate) fn push_timestamp(out: &mut Vec<u8>, ms: i64) {
    let p = parts(ms);
    push_digits(out, p.year.clamp(0, 9999) as u32, 4);
    out.push(b'-');
    push_digits(out, p.month, 2);
    out.push(b'-');
    push_digits(out, p.day, 2);
    out.push(b'T');
    push_digits(out, p.hour, 2);
    out.push(b':');
    push_digits(out, p.minute, 2);
    out.push(b':');
    push_digits(out, p.second, 2);
    out.push(b'.');
    push_digits(out, p.milli, 3);
    out.push(b'Z');
}

/// The API timestamp format, `2021-08-11T19:42:55.000Z`.
pub(crate) fn timestamp(ms: i64) -> String {
    let mut out = Vec::with_capacity(24);
    push_timestamp(&mut out, ms);
    String::from_utf8_lossy(&out).into_owned()
}

/// The `X-Goog-Date` format, `20210811T194255Z`.
pub(crate) fn goog_date(ms: i64) -> String {
    let p = parts(ms);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        p.year.clamp(0, 9999),
        p.month,
        p.day,
        p.hour,
        p.minute,
        p.second
    )
}

/// The date-only part of the credential scope, `20210811`.
pub(crate) fn goog_day(ms: i64) -> String {
    let p = parts(ms);
    format!("{:04}{:02}{:02}", p.year.clamp(0, 9999), p.month, p.day)
}

/// Parses an `X-Goog-Date` value back to milliseconds.
pub(crate) fn parse_goog_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let text = s.get(range)?;
        if !text.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(secs * 1000)
}

/// The RFC 3339 form GCS uses in its expiry messages,
/// `2021-08-11T19:57:55+00:00`.
pub(crate) fn rfc3339_seconds(ms: i64) -> String {
    let p = parts(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        p.year.clamp(0, 9999),
        p.month,
        p.day,
        p.hour,
        p.minute,
        p.second
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
        assert_eq!(parse_goog_date("20210811T194255Z"), Some(ms));
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn rejects_bad_goog_dates() {
        for bad in [
            "",
            "20210811T194255",
            "2021081XT194255Z",
            "20211311T194255Z",
        ] {
            assert_eq!(parse_goog_date(bad), None, "{bad}");
        }
    }
}
