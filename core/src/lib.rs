//! The shared core of compliance-tools: a small blocking client for the X API
//! v2 batch compliance endpoints and everything the five stage binaries share.
//!
//! A batch compliance run has five steps, one binary each:
//!
//! 1. `create-job`: [`Client::create_job`] makes a `tweets` or `users` job,
//!    which comes with a signed upload URL and a signed download URL.
//! 2. `upload-ids`: [`transfer::upload_ids`] checks an ID file in full
//!    ([`ids`]) and streams its normalised form to the upload URL.
//! 3. `list-job` / `list-jobs`: [`Client::get_job`] and [`Client::list_jobs`]
//!    show where jobs are; [`wait::wait_for_job`] polls until one finishes.
//! 4. `download-results`: [`transfer::download_results`] streams the results
//!    to a file, checking each line ([`results`]) and summing up the events.
//!
//! The token ([`auth::Token`]) goes only to the API's origin; the signed URLs
//! are credentials of their own and are redacted in every message.
//! Errors carry context and leave with the exit codes in [`cli`].

/// `anyhow`, re-exported so that [`usage_bail!`] works without the
/// caller depending on it.
pub use anyhow;

pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod error;
pub mod ids;
pub mod jobs;
pub mod messages;
pub mod progress;
pub mod results;
pub mod retry;
pub mod time;
pub mod transfer;
pub mod wait;

pub use client::Client;
pub use config::Config;
pub use error::NotFound;
pub use jobs::{Job, JobId, JobRef, JobType, NewJob, Status};
