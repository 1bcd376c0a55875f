//! Waiting for a job to finish: poll its status until it is complete,
//! failed or expired, saying on stderr what it is doing.

use std::time::{Duration, Instant};

use crate::client::Client;
use crate::jobs::{Job, JobId, Status};
use crate::messages::note;
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

/// The first poll comes soon: small jobs finish in seconds.
const FIRST_INTERVAL: Duration = Duration::from_secs(2);

/// Never poll more often than this, whatever `--interval` says.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Polls `job` until its status is final and returns it as last seen.
///
/// Pauses start short and double up to `interval`; a pause ends early at the
/// job's `estimated_completion` when the API gives one. Polls come no more
/// often than once a second ([`MIN_INTERVAL`]) and spread the requests the
/// rate limit has left over what is left of its window (all of it when none
/// are left). Each change of status is a line on stderr; on a terminal a
/// spinner shows the status, the elapsed time and the next poll. With a
/// timeout, everything after the start (polls, their retries and rate-limit
/// waits) ends by then; a rate limit that resets later stops the wait at once.
pub fn wait_for_job(client: &Client, job: Job, patience: Patience) -> anyhow::Result<Job> {
    let Patience { interval, timeout } = patience;
    let id = JobId::from_api(job.id())?;
    let started = Instant::now();
    let deadline = timeout.map(|t| started + t);
    let spinner = Progress::spinner(&job.label());
    let mut job = job;
    let mut last_status = None;
    let mut pause = FIRST_INTERVAL.min(interval).max(MIN_INTERVAL);
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
        // A job without IDs ends (expires) when its upload window closes.
        let ends = match status {
            Status::Created => job.upload_expires_at(),
            _ => job.estimated_completion(),
        };
        if let Some(done) = ends {
            let until = Timestamp::now().until(done);
            if !until.is_zero() {
                next = next.min(until + Duration::from_millis(500));
            }
        }
        next = next.max(MIN_INTERVAL);
        let mut spent_until = None;
        if let Some((left, reset)) = client.rate_limit() {
            let window = Timestamp::now().until(reset);
            let spread = match left {
                0 => {
                    spent_until = Some(reset);
                    window + Duration::from_secs(1)
                }
                n => window / u32::try_from(n).unwrap_or(u32::MAX),
            };
            next = next.max(spread);
        }
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(reset) = spent_until.filter(|_| next > left) {
                anyhow::bail!(
                    "gave up waiting after {elapsed}: {} is still {status}, and the rate \
                     limit resets at {reset}, after --timeout runs out",
                    job.label()
                );
            }
            if next >= left {
                sleep_showing(&spinner, &job, &status, started, left);
                anyhow::bail!(
                    "gave up waiting after {}: {} is still {status} (--timeout)",
                    human_duration(started.elapsed()),
                    job.label()
                );
            }
        }
        sleep_showing(&spinner, &job, &status, started, next);
        pause = (pause * 2).min(interval).max(MIN_INTERVAL);
        job = client.get_job_within(&id, deadline)?;
    }
}

/// Sleeps `pause`, ticking the spinner's text once a second.
fn sleep_showing(
    spinner: &Progress,
    job: &Job,
    status: &Status,
    started: Instant,
    pause: Duration,
) {
    let poll_at = Instant::now() + pause;
    while let Some(left) = poll_at.checked_duration_since(Instant::now()) {
        spinner.set_message(format!(
            "{}: {status}, {} elapsed, next poll in {}",
            job.label(),
            human_duration(started.elapsed()),
            human_duration(left + Duration::from_millis(999))
        ));
        std::thread::sleep(left.min(Duration::from_secs(1)));
    }
}
