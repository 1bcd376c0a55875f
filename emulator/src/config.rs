//! How an emulator is set up: [`Config`], and the [`Flavour`] of URLs its
//! jobs hand out.

use std::path::PathBuf;
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
    /// Requests per window for each API endpoint.
    pub rate_limit: u32,
    /// The rate-limit window.
    pub rate_window: Duration,
    /// Share of uploaded IDs that get a compliance event, 0..=100.
    pub event_percent: u32,
    /// Where to keep uploads and results. `None`: a fresh temp directory,
    /// removed when the emulator is dropped.
    pub data_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            token: "emulator-token".into(),
            flavour: Flavour::Gcs,
            processing_delay: Duration::ZERO,
            upload_window: Duration::from_secs(15 * 60),
            download_window: Duration::from_secs(7 * 24 * 3600),
            rate_limit: 150,
            rate_window: Duration::from_secs(15 * 60),
            event_percent: 3,
            data_dir: None,
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
