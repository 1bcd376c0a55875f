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
//! use std::path::Path;
//! use std::time::Duration;
//!
//! # fn main() -> compliance_core::Result<()> {
//! let client = Client::new(Config::from_env("my-archive")?)?;
//! let ids = IdFile::check(Path::new("tweet_ids.txt"), client.reporter())?;
//! let job = client.create_job(&NewJob {
//!     job_type: JobType::Tweets,
//!     name: Some("my-archive".parse()?),
//!     resumable: false,
//! })?;
//! upload_ids(&client, UploadTo::Job(&job), &ids)?;
//! let patience = Patience::new(Duration::from_secs(30), None);
//! let url = results_url(&client, job, Some(patience))?;
//! let dest = Destination::for_path("results file", Path::new("results.jsonl"), "results.jsonl")?;
//! let done = download_results(&client, &url, &dest, Format::Jsonl)?;
//! println!("{} compliance events", done.summary.events);
//! # Ok(())
//! # }
//! ```
//!
//! The layers run one way, each using only those below it (as drawn from
//! the imports by `farm-studio look core`):
//!
//! ```text
//! cli                      flags into values, the programs' main, the terminal's
//!                          reporter, JSON out (feature `cli`, on by default)
//! transfer                 upload, download (integrity, storage)
//! wait                     polls a job until it is done
//! client                   the endpoint calls, retried by retry
//! apply  config            results applied to an archive; the configuration
//! ids  destination  retry  ID files; files written whole; the retry policy
//! report  wire             notes, warnings, progress; requests that got no answer
//! results  jobs  auth      results files (events, fast path, CSV); the job;
//!                          the token, origins, secrets, redaction
//! error                    the one error type: its kinds and exit codes
//! time                     timestamps
//! ```
//!
//! Every failure is an [`Error`] with an [`ErrorKind`], given where the
//! failure is seen; retries, exit codes and messages read the kind. Nothing
//! is kept process-wide: notes, warnings and progress go to the
//! [`Reporter`](report::Reporter) of a [`Config`], silent unless the caller
//! installs one, and the secrets it scrubs are the client's own.
//!
//! The token ([`auth::Token`]) goes only to the API's origin; the signed URLs
//! are credentials of their own and are redacted in every message, and every
//! text reported or printed has the token scrubbed out. Errors carry context
//! and leave with the exit codes in [`error`].

#![deny(missing_docs)]
// Two places need it: the SIMD fast path of the ID check (ids/fast.rs) and
// the writeback call of a file written whole (destination.rs).
#![deny(unsafe_code)]

pub mod apply;
pub mod auth;
#[cfg(feature = "cli")]
pub mod cli;
pub mod client;
pub mod config;
pub mod destination;
pub mod error;
pub mod ids;
pub mod jobs;
pub mod report;
pub mod results;
pub mod retry;
pub mod time;
pub mod transfer;
pub mod wait;
mod wire;
#[cfg(test)]
mod xorshift;

pub use client::Client;
pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use jobs::{Job, JobId, JobRef, JobType, NewJob, Status};
