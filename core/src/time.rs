//! Timestamps as the API writes them, parsed as general RFC 3339.
//!
//! The API writes `2021-08-11T19:42:55.000Z`, but result files have been seen
//! with other precisions and with `+00:00` offsets, so parsing accepts any
//! RFC 3339 date-time. Kept in milliseconds since the Unix epoch, which is all
//! the comparisons here need (is a window still open, how long until a reset).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, in whole milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    millis: i64,
}

impl Timestamp {
    /// The current time of this machine's clock.
    pub fn now() -> Timestamp {
        let millis = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        };
        Timestamp { millis }
    }

    /// The time `millis` milliseconds after the Unix epoch.
    pub fn from_millis(millis: i64) -> Timestamp {
        Timestamp { millis }
    }

    /// The time `secs` seconds after the Unix epoch (as in `x-rate-limit-reset`).
    pub fn from_unix_seconds(secs: i64) -> Timestamp {
        Timestamp {
            millis: secs.saturating_mul(1000),
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.millis
    }

    /// How long from `self` until `later`; zero if `later` is not later.
    pub fn until(self, later: Timestamp) -> Duration {
        Duration::from_millis(later.millis.saturating_sub(self.millis).max(0) as u64)
    }

    /// Parses an RFC 3339 date-time such as `2021-08-11T19:42:55.000Z` or
    /// `2013-03-26T02:46:15+00:00`. Returns `None` for anything else.
    pub fn parse(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 20 {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = b.get(r)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let separators_ok = b[4] == b'-'
            && b[7] == b'-'
            && matches!(b[10], b'T' | b't' | b' ')
            && b[13] == b':'
            && b[16] == b':';
        if !separators_ok
            || !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut i = 19;
        let mut millis = 0;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
            // Keep milliseconds; finer digits are dropped, not rounded.
            for (k, d) in b[start..i].iter().take(3).enumerate() {
                millis += i64::from(d - b'0') * [100, 10, 1][k];
            }
        }
        let offset_minutes = match b.get(i..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let digits = [*h1, *h2, *m1, *m2];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let [h1, h2, m1, m2] = digits.map(|d| i64::from(d - b'0'));
                let minutes = (h1 * 10 + h2) * 60 + m1 * 10 + m2;
                if *sign == b'-' {
                    -minutes
                } else {
                    minutes
                }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
        Some(Timestamp {
            millis: secs * 1000 + millis,
        })
    }
}

impl fmt::Display for Timestamp {
    /// Writes the API's own form, `2021-08-11T19:42:55.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.millis.div_euclid(1000);
        let ms = self.millis.rem_euclid(1000);
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }
}

/// Writes a duration the way a person reads it: `45s`, `3m 05s`, `2h 10m`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, s / 60 % 60),
        _ => format!("{}d {:02}h", s / 86_400, s / 3600 % 24),
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil calendar algorithms (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_api_form() {
        let t = Timestamp::parse("2021-08-11T19:42:55.000Z").unwrap();
        assert_eq!(t.millis(), 1_628_710_975_000);
        assert_eq!(t.to_string(), "2021-08-11T19:42:55.000Z");
    }

    #[test]
    fn accepts_offsets_and_precisions() {
        let a = Timestamp::parse("2013-03-26T02:46:15+00:00").unwrap();
        let b = Timestamp::parse("2013-03-26T04:46:15.000+02:00").unwrap();
        assert_eq!(a, b);
        let c = Timestamp::parse("2017-09-10T20:06:37.421987Z").unwrap();
        assert_eq!(c.to_string(), "2017-09-10T20:06:37.421Z");
        assert_eq!(
            Timestamp::parse("2024-02-29t00:00:00z")
                .unwrap()
                .to_string(),
            "2024-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for s in [
            "",
            "2021-08-11",
            "2021-08-11T19:42:55",
            "2021-13-11T19:42:55Z",
            "2023-02-29T00:00:00Z",
            "2021-08-11T19:42:55.Z",
            "2021-08-11T19:42:55+0000",
            "2021-08-11T19:42:55Zjunk",
            "２021-08-11T19:42:55Z",
        ] {
            assert_eq!(Timestamp::parse(s), None, "{s}");
        }
    }

    #[test]
    fn formats_before_the_epoch() {
        assert_eq!(
            Timestamp::from_millis(-1).to_string(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::from_secs(45)), "45s");
        assert_eq!(human_duration(Duration::from_secs(185)), "3m 05s");
        assert_eq!(human_duration(Duration::from_secs(7800)), "2h 10m");
    }
}
