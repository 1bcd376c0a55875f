//! How an emulator is set up: [`Config`], the [`Flavour`] of URLs its jobs
//! hand out, and the [`RateLimits`] of its API endpoints, by
//! [`AccessLevel`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// How the emulator behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// The bearer token the API accepts.
    pub token: String,
    /// Where upload and download URLs point.
    pub flavour: Flavour,
    /// How long a job stays `in_progress` after its upload completes (at
    /// least until its results are written).
    pub processing_delay: Duration,
    /// Validity of upload URLs; a job not uploaded within it is `expired`.
    pub upload_window: Duration,
    /// Validity of download URLs.
    pub download_window: Duration,
    /// Requests per window for each API endpoint: by default the
    /// documented limits of the [`AccessLevel::Pro`] level.
    pub rate_limits: RateLimits,
    /// The rate-limit window.
    pub rate_window: Duration,
    /// How long a connection may stay silent while the emulator waits to
    /// read from it (before a request, or within its head or body); then
    /// the emulator closes it without an answer. Each read has the whole
    /// time: a slow client that keeps sending is not cut. Zero: no limit.
    pub read_timeout: Duration,
    /// Share of uploaded IDs that get a compliance event, 0..=100.
    pub event_percent: u32,
    /// Where to keep uploads and results. `None`: a fresh temp directory,
    /// removed when the emulator is dropped.
    pub data_dir: Option<PathBuf>,
    /// A file to append one JSON line to per request as it ends (time,
    /// origin, method, path with signatures and tokens redacted, status,
    /// body bytes received and sent); `None`: no such file. It is opened
    /// (and created) when the emulator starts.
    pub log: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            token: "emulator-token".into(),
            flavour: Flavour::Gcs,
            processing_delay: Duration::ZERO,
            upload_window: Duration::from_secs(15 * 60),
            download_window: Duration::from_secs(7 * 24 * 3600),
            rate_limits: RateLimits::default(),
            rate_window: Duration::from_secs(15 * 60),
            read_timeout: Duration::from_secs(60),
            event_percent: 3,
            data_dir: None,
            log: None,
        }
    }
}

/// Where a job's signed URLs point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// GCS V4-style signed URLs on the storage origin (the classic API).
    Gcs,
    /// `/2/compliance/jobs/{id}/upload?token=` and `/download?token=` on the
    /// API origin (spec 2.168).
    Api,
}

/// The X API access levels whose rate limits X documents per endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccessLevel {
    /// 150 requests per window on every endpoint, as the endpoint
    /// reference and the 2026 rate-limit table give for all levels.
    #[default]
    Pro,
    /// 15 creates, 5 gets and 5 lists per window.
    Basic,
    /// One request per window on each endpoint.
    Free,
}

impl AccessLevel {
    /// The level's name: `pro`, `basic` or `free`.
    pub fn name(self) -> &'static str {
        match self {
            AccessLevel::Pro => "pro",
            AccessLevel::Basic => "basic",
            AccessLevel::Free => "free",
        }
    }
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AccessLevel {
    type Err = String;

    /// Parses `pro`, `basic` or `free`.
    fn from_str(s: &str) -> Result<AccessLevel, String> {
        [AccessLevel::Pro, AccessLevel::Basic, AccessLevel::Free]
            .into_iter()
            .find(|level| level.name() == s)
            .ok_or_else(|| format!("unknown access level {s:?}: pro, basic or free"))
    }
}

/// Requests per rate-limit window ([`Config::rate_window`]) for each API
/// endpoint, as `x-rate-limit-limit` reports them.
///
/// [`RateLimits::of_level`] gives X's documented limits: its rate-limit
/// table as of 2025-12 (docs.x.com, "Rate limits") has, per 15 minutes
/// and per app, Pro / Basic / Free:
///
/// | endpoint | Pro | Basic | Free |
/// |---|---|---|---|
/// | `POST /2/compliance/jobs` | 150 | 15 | 1 |
/// | `GET /2/compliance/jobs/:id` | 150 | 5 | 1 |
/// | `GET /2/compliance/jobs` | 150 | 5 | 1 |
///
/// The endpoint reference, and the table as of 2026, give 150 for all
/// three. The routes of spec 2.168 (`DELETE /2/compliance/jobs/:id`, and
/// the `api` flavour's upload and download) have no documented limit: the
/// emulator gives them the level's limit for `GET /2/compliance/jobs/:id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// `POST /2/compliance/jobs`.
    pub create_job: u32,
    /// `GET /2/compliance/jobs`.
    pub list_jobs: u32,
    /// `GET /2/compliance/jobs/:id`.
    pub get_job: u32,
    /// `DELETE /2/compliance/jobs/:id` (spec 2.168).
    pub cancel_job: u32,
    /// `PUT /2/compliance/jobs/:id/upload` (the `api` flavour).
    pub upload: u32,
    /// `GET /2/compliance/jobs/:id/download` (the `api` flavour).
    pub download: u32,
}

impl RateLimits {
    /// The documented limits of an access level (see the table above).
    pub fn of_level(level: AccessLevel) -> RateLimits {
        let (create, read) = match level {
            AccessLevel::Pro => (150, 150),
            AccessLevel::Basic => (15, 5),
            AccessLevel::Free => (1, 1),
        };
        RateLimits {
            create_job: create,
            list_jobs: read,
            get_job: read,
            cancel_job: read,
            upload: read,
            download: read,
        }
    }

    /// The same limit on every endpoint.
    pub fn uniform(limit: u32) -> RateLimits {
        RateLimits {
            create_job: limit,
            list_jobs: limit,
            get_job: limit,
            cancel_job: limit,
            upload: limit,
            download: limit,
        }
    }
}

impl Default for RateLimits {
    /// The limits of [`AccessLevel::Pro`]: 150 everywhere.
    fn default() -> RateLimits {
        RateLimits::of_level(AccessLevel::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_by_name_and_give_the_documented_limits() {
        for level in [AccessLevel::Pro, AccessLevel::Basic, AccessLevel::Free] {
            assert_eq!(level.name().parse::<AccessLevel>(), Ok(level));
        }
        assert!("enterprise".parse::<AccessLevel>().is_err());
        assert!("Pro".parse::<AccessLevel>().is_err());
        let basic = RateLimits::of_level(AccessLevel::Basic);
        assert_eq!(
            (basic.create_job, basic.get_job, basic.list_jobs),
            (15, 5, 5)
        );
        assert_eq!(RateLimits::default(), RateLimits::uniform(150));
        assert_eq!(
            RateLimits::of_level(AccessLevel::Free),
            RateLimits::uniform(1)
        );
    }
}
