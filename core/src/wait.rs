//! Waiting for a job to finish: poll its status until it is complete,
//! failed or expired, saying on stderr what it is doing.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use crate::cli::note;
use crate::client::Client;
use crate::jobs::{Job, JobId};
use crate::time::human_duration;

/// How often `--wait` polls unless told otherwise (as the original client did).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// The first poll comes sooner: small jobs finish in seconds.
const FIRST_INTERVAL: Duration = Duration::from_secs(2);

/// Polls `job` until its status is final and returns it as last seen.
///
/// Polls start at a short interval and double up to `interval`, never past
/// the job's `estimated_completion` when the API gives one. Each change of
/// status is a line on stderr; on a terminal the elapsed time ticks too.
pub fn wait_for_job(client: &Client, job: Job, interval: Duration) -> anyhow::Result<Job> {
    let id = JobId::from_flag(job.id())?;
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let mut job = job;
    let mut last_status = None;
    let mut pause = FIRST_INTERVAL.min(interval);
    loop {
        let status = job.status();
        let elapsed = human_duration(started.elapsed());
        if last_status.as_ref() != Some(&status) {
            if terminal && last_status.is_some() {
                eprintln!();
            }
            note(format!("{}: {status} after {elapsed}", job.describe()));
            last_status = Some(status.clone());
        } else if terminal {
            eprint!("\r{}: {status}, {elapsed} elapsed   ", job.describe());
        }
        if status.is_final() {
            if terminal {
                eprintln!();
            }
            return Ok(job);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(interval);
        job = client.get_job(&id)?;
    }
}
