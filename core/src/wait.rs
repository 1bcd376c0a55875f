//! Waiting for a job to finish: poll its status until it is complete,
//! failed or expired, saying on stderr what it is doing.

use std::time::{Duration, Instant};

use crate::cli::{note, seconds};
use crate::client::Client;
use crate::jobs::{Job, JobId};
use crate::progress::Progress;
use crate::time::{human_duration, Timestamp};

/// How long to wait and how often to look: `--interval` and `--timeout`.
#[derive(Clone, Copy, Debug)]
pub struct Patience {
    /// The longest pause between two polls.
    pub interval: Duration,
    /// Give up after this long; `None` waits as long as it takes.
    pub timeout: Option<Duration>,
}

impl Patience {
    /// Reads `--interval <secs>` and `--timeout <secs>` (empty: no timeout).
    pub fn from_flags(interval: &str, timeout: &str) -> anyhow::Result<Patience> {
        Ok(Patience {
            interval: seconds("--interval", interval)?,
            timeout: match timeout {
                "" => None,
                t => Some(seconds("--timeout", t)?),
            },
        })
    }
}

/// The first poll comes soon: small jobs finish in seconds.
const FIRST_INTERVAL: Duration = Duration::from_secs(2);

/// Polls `job` until its status is final and returns it as last seen.
///
/// Pauses start short and double up to `interval`; a pause ends early at the
/// job's `estimated_completion` when the API gives one, and lasts until the
/// rate limit resets when the last answer said none are left. Each change of
/// status is a line on stderr; on a terminal a spinner shows the status, the
/// elapsed time and the next poll. With a timeout, gives up after that long.
pub fn wait_for_job(client: &Client, job: Job, patience: Patience) -> anyhow::Result<Job> {
    let Patience { interval, timeout } = patience;
    let id = JobId::from_flag(job.id())?;
    let started = Instant::now();
    let spinner = Progress::spinner(&job.label());
    let mut job = job;
    let mut last_status = None;
    let mut pause = FIRST_INTERVAL.min(interval);
    loop {
        let status = job.status();
        let elapsed = human_duration(started.elapsed());
        if last_status.as_ref() != Some(&status) {
            note(format!("{}: {status} after {elapsed}", job.label()));
            last_status = Some(status.clone());
        }
        if status.is_final() {
            return Ok(job);
        }
        let mut next = pause;
        if let Some(done) = job.estimated_completion() {
            let until = Timestamp::now().until(done);
            if !until.is_zero() {
                next = next.min(until + Duration::from_millis(500));
            }
        }
        if let Some(reset) = client.rate_limit_spent_until() {
            next = next.max(Timestamp::now().until(reset) + Duration::from_secs(1));
        }
        if let Some(timeout) = timeout {
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                anyhow::bail!(
                    "gave up waiting after {elapsed}: {} is still {status} (--timeout)",
                    job.label()
                );
            }
            next = next.min(left);
        }
        // Tick the spinner's text once a second until the next poll.
        let poll_at = Instant::now() + next;
        while let Some(left) = poll_at.checked_duration_since(Instant::now()) {
            spinner.set_message(format!(
                "{}: {status}, {} elapsed, next poll in {}",
                job.label(),
                human_duration(started.elapsed()),
                human_duration(left + Duration::from_millis(999))
            ));
            std::thread::sleep(left.min(Duration::from_secs(1)));
        }
        pause = (pause * 2).min(interval);
        job = client.get_job(&id)?;
    }
}
