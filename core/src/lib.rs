//! The shared core of compliance-tools: a small blocking client for the X
//! API v2 batch compliance endpoints, and what the five stage binaries share.
//!
//! A batch compliance check has five steps, one binary each:
//!
//! 1. `create-job`: [`Client::create_job`] makes a `tweets` or `users` job,
//!    which comes with a signed upload URL and a signed download URL
//!    ([`Client::cancel_active`] first makes room, for `--replace`).
//! 2. `upload-ids`: [`ids::IdFile::check`] checks an ID file in full, then
//!    [`transfer::upload_ids`] streams its normalised form to the job.
//! 3. `list-job`: [`Client::find_job`] finds a job by id or name, and
//!    [`wait::wait_for_job`] polls until it is done.
//! 4. `list-jobs`: [`Client::list_all`] lists the jobs of one type or both.
//! 5. `download-results`: [`transfer::results_url`] says where a finished
//!    job's results are, and [`transfer::download_results`] streams them to
//!    a [`Destination`](destination::Destination), checking every line
//!    ([`results`]) and storage's hashes, and sums up the events.
//!
//! Then the last step, which is not an API call: [`apply::apply`] (the
//! `apply-results` program) applies the results to the archive they were
//! made for, writing a clean copy in the archive's own shape.
//!
//! The whole check, as a library user runs it:
//!
//! ```no_run
//! use compliance_core::ids::IdFile;
//! use compliance_core::results::Format;
//! use compliance_core::transfer::{download_results, results_url, upload_ids, Destination, UploadTo};
//! use compliance_core::wait::Patience;
//! use compliance_core::{Client, Config, JobType, NewJob};
//! use std::path::{Path, PathBuf};
//! use std::time::Duration;
//!
//! # fn main() -> compliance_core::anyhow::Result<()> {
//! let client = Client::new(Config::from_env("my-archive")?)?;
//! let ids = IdFile::check(Path::new("tweet_ids.txt"))?;
//! let job = client.create_job(&NewJob {
//!     job_type: JobType::Tweets,
//!     name: Some("my-archive".parse()?),
//!     resumable: false,
//! })?;
//! upload_ids(&client, UploadTo::Job(&job), &ids)?;
//! let patience = Patience::new(Duration::from_secs(30), None);
//! let url = results_url(&client, job, Some(patience))?;
//! let dest = Destination::File(PathBuf::from("results.jsonl"));
//! let done = download_results(&client, &url, &dest, Format::Jsonl)?;
//! println!("{} compliance events", done.summary.events);
//! # Ok(())
//! # }
//! ```
//!
//! The layers run one way, each using only those below it:
//!
//! ```text
//! cli                          flags into values, the programs' main, JSON out
//! transfer  wait               upload, download (integrity, storage); polls
//! client  apply                the endpoint calls, retried by retry; results applied to an archive
//! ids  results  destination    ID files; results files (fast path, CSV); files written whole
//! retry  progress              the retry policy; progress bars
//! jobs  error  messages        the job model; the errors and exit codes; stderr
//! config  auth  time           configuration; the token, origins, redaction; timestamps
//! ```
//!
//! The token ([`auth::Token`]) goes only to the API's origin; the signed URLs
//! are credentials of their own and are redacted in every message, and every
//! text printed has the token scrubbed out. Errors carry context and leave
//! with the exit codes in [`error`].

#![deny(missing_docs)]
// Two places need it: the SIMD fast path of the ID check (ids/fast.rs) and
// the writeback call of a file written whole (destination.rs).
#![deny(unsafe_code)]

/// `anyhow`, re-exported so that [`usage_bail!`] works without the
/// caller depending on it.
pub use anyhow;

pub mod apply;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod destination;
pub mod error;
pub mod ids;
pub mod jobs;
pub mod messages;
pub(crate) mod progress;
pub mod report;
pub mod results;
pub mod retry;
pub mod time;
pub mod transfer;
pub mod wait;
#[cfg(test)]
mod xorshift;

pub use client::Client;
pub use config::Config;
pub use error::NotFound;
pub use error::{Error, ErrorKind, Result};
pub use jobs::{Job, JobId, JobRef, JobType, NewJob, Status};
