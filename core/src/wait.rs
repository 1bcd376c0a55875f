//! Waiting for a job to finish: poll its status until it is complete,
//! failed or expired, saying on stderr what it is doing.

use std::time::{Duration, Instant};

use crate::client::Client;
use crate::error::{fail, Result};
use crate::jobs::{Job, JobId, Status};
use crate::report::Progress;
use crate::time::{human_duration, Timestamp};

/// How long to wait and how often to look: `--interval` and `--timeout`,
/// and when the run began, from which the timeout counts.
#[derive(Clone, Copy, Debug)]
pub struct Patience {
    /// The longest pause between two polls.
    pub interval: Duration,
    /// Give up this long after `started`; `None` waits as long as it takes.
    pub timeout: Option<Duration>,
    /// When the run began: the first lookup of the job, its retries and
    /// rate-limit waits count against the timeout too.
    pub started: Instant,
}

impl Patience {
    /// `interval` and `timeout`, the timeout counted from now.
    pub fn new(interval: Duration, timeout: Option<Duration>) -> Patience {
        Patience {
            interval,
            timeout,
            started: Instant::now(),
        }
    }

    /// When the timeout runs out, if there is one: the deadline of every
    /// request, retry and wait of the run before its download.
    pub fn deadline(&self) -> Option<Instant> {
        self.timeout.and_then(|t| self.started.checked_add(t))
    }
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
/// rate limit has left over what is left of its window; when none are left,
/// the next poll waits for the reset, and says so. A reset further ahead
/// than the retry time (`--retry-time`) is not slept on: a warning names it
/// and polls go on at their usual pace (a real limit answers 429, which the
/// retries handle). Each change of status is a line on stderr; on a terminal
/// a spinner shows the status, the elapsed time and the next poll. With a
/// timeout, everything from the start of the run ([`Patience::started`]:
/// polls, their retries and rate-limit waits) ends by then; a rate limit
/// that resets later stops the wait at once, naming the reset.
pub fn wait_for_job(client: &Client, job: Job, patience: Patience) -> Result<Job> {
    let Patience {
        interval, started, ..
    } = patience;
    let id = JobId::from_api(job.id())?;
    let deadline = patience.deadline();
    let retry_time = client.config().retry.budget;
    let reporter = client.reporter();
    let spinner = reporter.spinner(&job.label());
    let mut job = job;
    let mut last_status = None;
    let mut said_reset = None;
    let mut pause = FIRST_INTERVAL.min(interval).max(MIN_INTERVAL);
    loop {
        let status = job.status();
        let elapsed = human_duration(started.elapsed());
        if last_status.as_ref() != Some(&status) {
            reporter.note(format!("{}: {status} after {elapsed}", job.label()));
            last_status = Some(status.clone());
        }
        if status.is_final() {
            return Ok(job);
        }
        let now = Timestamp::now();
        // A job without IDs ends (expires) when its upload window closes.
        let ends = match status {
            Status::Created => job.upload_expires_at(),
            _ => job.estimated_completion(),
        };
        let pace = Pace {
            pause,
            ends_in: ends.map(|at| now.until(at)),
            rate_limit: client
                .rate_limit()
                .map(|(left, reset)| (left, reset, now.until(reset))),
            time_left: deadline.map(|d| d.saturating_duration_since(Instant::now())),
            retry_time,
        };
        let next = match next_step(&pace) {
            Step::Poll(next) => next,
            Step::AfterReset(next, reset) => {
                if said_reset.replace(reset) != Some(reset) {
                    reporter.note(format!(
                        "no API requests are left until the rate limit resets at {reset}: \
                         the next poll comes then"
                    ));
                }
                next
            }
            Step::ResetTooFar(next, reset) => {
                if said_reset.replace(reset) != Some(reset) {
                    reporter.warn(format!(
                        "the API says no requests are left until {reset}, {} from now and past \
                         the retry time of {}: not waiting for that; polling on at the usual \
                         pace",
                        human_duration(now.until(reset)),
                        human_duration(retry_time)
                    ));
                }
                next
            }
            Step::ResetsAfterTimeout(reset) => fail!(
                Job,
                "gave up waiting after {elapsed}: {} is still {status}, and the rate limit \
                 resets at {reset}, after --timeout runs out",
                job.label()
            ),
            Step::TimesOut(left) => {
                sleep_showing(&spinner, &job, &status, started, left);
                fail!(
                    Job,
                    "gave up waiting after {}: {} is still {status} (--timeout)",
                    human_duration(started.elapsed()),
                    job.label()
                );
            }
        };
        sleep_showing(&spinner, &job, &status, started, next);
        pause = (pause * 2).min(interval).max(MIN_INTERVAL);
        job = client.get_job_within(&id, deadline)?;
    }
}

/// What the next pause depends on, read at one moment.
#[derive(Clone, Copy, Debug)]
struct Pace {
    /// The pause as it has grown so far.
    pause: Duration,
    /// Until the job is expected to end, if the API says.
    ends_in: Option<Duration>,
    /// The last answer's rate limit: requests left, the reset, and how far
    /// ahead it is.
    rate_limit: Option<(u64, Timestamp, Duration)>,
    /// Until `--timeout` runs out, if given.
    time_left: Option<Duration>,
    /// `--retry-time`: the longest a rate limit is waited for.
    retry_time: Duration,
}

/// What comes before the next poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Sleep this long, then poll.
    Poll(Duration),
    /// No requests are left: sleep this long, past the reset, then poll.
    AfterReset(Duration, Timestamp),
    /// No requests are left until a reset past the retry time, which is
    /// not slept on: sleep this long (the usual pace), then poll.
    ResetTooFar(Duration, Timestamp),
    /// No requests are left until a reset after the timeout: stop now.
    ResetsAfterTimeout(Timestamp),
    /// The timeout runs out before the next poll: sleep this long, then stop.
    TimesOut(Duration),
}

/// The next step of a wait: pure, so that its rules are tested with any
/// clock.
fn next_step(pace: &Pace) -> Step {
    let mut next = pace.pause;
    if let Some(ends_in) = pace.ends_in.filter(|d| !d.is_zero()) {
        next = next.min(ends_in + Duration::from_millis(500));
    }
    next = next.max(MIN_INTERVAL);
    // None left until this reset: Ok when it is waited for, Err when it is
    // too far ahead to be.
    let mut spent_until = None;
    match pace.rate_limit {
        Some((0, reset, window)) => {
            // A reset is in whole seconds: a second more is surely past it.
            let until_reset = window + Duration::from_secs(1);
            if pace.time_left.is_some_and(|left| until_reset > left) {
                return Step::ResetsAfterTimeout(reset);
            }
            if window > pace.retry_time {
                spent_until = Some(Err(reset));
            } else {
                next = next.max(until_reset);
                spent_until = Some(Ok(reset));
            }
        }
        // What is left is shared out over the window; a window past the
        // retry time is no pace to keep.
        Some((left, _, window)) if window <= pace.retry_time => {
            next = next.max(window / u32::try_from(left).unwrap_or(u32::MAX));
        }
        _ => {}
    }
    if let Some(left) = pace.time_left.filter(|left| next >= *left) {
        return Step::TimesOut(left);
    }
    match spent_until {
        Some(Ok(reset)) => Step::AfterReset(next, reset),
        Some(Err(reset)) => Step::ResetTooFar(next, reset),
        None => Step::Poll(next),
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

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    /// A pace of `pause` with nothing else to heed and the default retry time.
    fn pace(pause: u64) -> Pace {
        Pace {
            pause: SEC * pause as u32,
            ends_in: None,
            rate_limit: None,
            time_left: None,
            retry_time: SEC * 900,
        }
    }

    /// A rate limit with `left` requests until a reset `secs` ahead.
    fn limit(left: u64, secs: u64) -> Option<(u64, Timestamp, Duration)> {
        Some((
            left,
            Timestamp::from_millis(secs as i64 * 1000),
            SEC * secs as u32,
        ))
    }

    #[test]
    fn polls_at_the_pause_sooner_at_the_estimate_never_under_a_second() {
        assert_eq!(next_step(&pace(8)), Step::Poll(SEC * 8));
        let soon = Pace {
            ends_in: Some(SEC * 3),
            ..pace(8)
        };
        assert_eq!(next_step(&soon), Step::Poll(Duration::from_millis(3500)));
        assert_eq!(next_step(&pace(0)), Step::Poll(MIN_INTERVAL));
    }

    #[test]
    fn the_requests_left_are_shared_out_over_the_window() {
        let spread = Pace {
            rate_limit: limit(3, 60),
            ..pace(2)
        };
        assert_eq!(next_step(&spread), Step::Poll(SEC * 20));
        // A window past the retry time sets no pace.
        let far = Pace {
            rate_limit: limit(1, 315_360_000),
            ..pace(2)
        };
        assert_eq!(next_step(&far), Step::Poll(SEC * 2));
    }

    #[test]
    fn none_left_waits_for_the_reset_and_says_so() {
        let spent = Pace {
            rate_limit: limit(0, 30),
            ..pace(2)
        };
        assert_eq!(
            next_step(&spent),
            Step::AfterReset(SEC * 31, Timestamp::from_millis(30_000))
        );
    }

    #[test]
    fn none_left_until_a_reset_absurdly_far_is_not_slept_on() {
        let ten_years = 315_360_000;
        let absurd = Pace {
            rate_limit: limit(0, ten_years),
            ..pace(2)
        };
        assert_eq!(
            next_step(&absurd),
            Step::ResetTooFar(SEC * 2, Timestamp::from_millis(ten_years as i64 * 1000))
        );
        // With a timeout, it stops the wait at once.
        let bounded = Pace {
            time_left: Some(SEC * 5),
            ..absurd
        };
        assert_eq!(
            next_step(&bounded),
            Step::ResetsAfterTimeout(Timestamp::from_millis(ten_years as i64 * 1000))
        );
    }

    #[test]
    fn the_timeout_comes_first_when_it_is_nearer_than_the_next_poll() {
        let near = Pace {
            time_left: Some(SEC * 3),
            ..pace(8)
        };
        assert_eq!(next_step(&near), Step::TimesOut(SEC * 3));
        let reset_first = Pace {
            rate_limit: limit(0, 2),
            time_left: Some(SEC * 10),
            ..pace(1)
        };
        assert_eq!(
            next_step(&reset_first),
            Step::AfterReset(SEC * 3, Timestamp::from_millis(2000))
        );
        let reset_later = Pace {
            time_left: Some(SEC * 2),
            ..reset_first
        };
        assert_eq!(
            next_step(&reset_later),
            Step::ResetsAfterTimeout(Timestamp::from_millis(2000))
        );
    }

    #[test]
    fn the_deadline_counts_from_the_start_of_the_run() {
        let started = Instant::now();
        let patience = Patience {
            interval: SEC,
            timeout: Some(SEC * 5),
            started,
        };
        assert_eq!(patience.deadline(), Some(started + SEC * 5));
        assert_eq!(Patience::new(SEC, None).deadline(), None);
    }
}
