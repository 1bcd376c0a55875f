//! Timestamps of jobs as the API writes them, `2021-08-11T19:42:55.000Z`,
//! read and written by `humantime`. Kept in milliseconds since the Unix
//! epoch, which is all the comparisons here need (is a window still open,
//! how long until a reset).

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

    /// Parses a UTC date-time as the API writes it, `2021-08-11T19:42:55.000Z`
    /// (any number of fractional digits; `+00:00` for `Z`). Returns `None`
    /// for anything else.
    pub fn parse(s: &str) -> Option<Timestamp> {
        let time = humantime::parse_rfc3339(s).ok()?;
        let since = time.duration_since(UNIX_EPOCH).ok()?;
        Some(Timestamp {
            millis: i64::try_from(since.as_millis()).ok()?,
        })
    }
}

/// The last millisecond of the year 9999, the last that RFC 3339 writes.
const LAST_WRITABLE: u64 = 253_402_300_799_999;

impl fmt::Display for Timestamp {
    /// Writes the API's own form, `2021-08-11T19:42:55.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Nothing sent by the API is before 1970; a garbled header might be.
        let Ok(millis) = u64::try_from(self.millis) else {
            return write!(f, "{} ms before 1970", self.millis.unsigned_abs());
        };
        if millis > LAST_WRITABLE {
            return write!(f, "{millis} ms after 1970");
        }
        let time = UNIX_EPOCH + Duration::from_millis(millis);
        write!(f, "{}", humantime::format_rfc3339_millis(time))
    }
}

/// Writes a duration the way a person reads it: `45s`, `3m 05s`, `2h 10m`.
pub(crate) fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, s / 60 % 60),
        _ => format!("{}d {:02}h", s / 86_400, s / 3600 % 24),
    }
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
    fn accepts_utc_in_any_precision() {
        let a = Timestamp::parse("2013-03-26T02:46:15+00:00").unwrap();
        let b = Timestamp::parse("2013-03-26T02:46:15.000Z").unwrap();
        assert_eq!(a, b);
        let c = Timestamp::parse("2017-09-10T20:06:37.421987Z").unwrap();
        assert_eq!(c.to_string(), "2017-09-10T20:06:37.421Z");
        assert_eq!(
            Timestamp::parse("2024-02-29T00:00:00Z")
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
            "2021-08-11T19:42:55+0000",
            "2021-08-11T19:42:55Zjunk",
            "2013-03-26T04:46:15.000+02:00",
            "２021-08-11T19:42:55Z",
        ] {
            assert_eq!(Timestamp::parse(s), None, "{s}");
        }
    }

    #[test]
    fn a_time_before_the_epoch_says_so_rather_than_panic() {
        assert_eq!(Timestamp::from_millis(-1).to_string(), "1 ms before 1970");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::from_secs(45)), "45s");
        assert_eq!(human_duration(Duration::from_secs(185)), "3m 05s");
        assert_eq!(human_duration(Duration::from_secs(7800)), "2h 10m");
    }
}
