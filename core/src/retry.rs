//! One retry policy for every stage: what is worth another try, and how long
//! to wait before it.
//!
//! Worth another try: a connection that failed or broke, a read that stalled,
//! HTTP 500, 502, 503 and 504, and 429 (after waiting until the rate limit
//! resets). Never: any other 4xx (a bad request, a refused signature, an
//! unknown job), which a retry would only repeat. Waits grow exponentially
//! with jitter, and both the number of attempts and the total time are
//! bounded. A server's `Retry-After` is honoured: the next try comes no
//! sooner than it asks.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result, RetryAt, GUESSED_RESET};
use crate::report::Reporter;
use crate::time::{human_duration, Timestamp};

/// How failed requests and transfers are retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: never retry).
    pub retries: u32,
    /// The longest the retries of one operation may take, waits included.
    pub budget: Duration,
    /// The wait before the first retry; each later one doubles, up to `max_wait`.
    pub first_wait: Duration,
    /// The longest wait between two attempts (a rate-limit reset aside).
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 5,
            budget: Duration::from_secs(15 * 60),
            first_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// How often an unreachable server is tried again, and after how long.
const UNREACHABLE_RETRIES: u32 = 1;
const UNREACHABLE_WAIT: Duration = Duration::from_millis(500);

/// Whether an error is worth another try, and the earliest time for it.
enum Verdict {
    Retry(Option<RetryAt>),
    Unreachable,
    Final,
}

/// What to wait for, for a message: `the rate limit resets at …`.
fn describe(until: RetryAt) -> String {
    match until {
        RetryAt::Reset(at) => format!("the rate limit resets at {at}"),
        RetryAt::Asked(at) => format!("the server asks to be tried again at {at} (Retry-After)"),
        RetryAt::Guessed(at) => format!(
            "the API gave no time the rate limit resets (x-rate-limit-reset), so the next \
             try waits {} until {at}",
            human_duration(GUESSED_RESET)
        ),
    }
}

/// What the error's kind says of another try: the one place it is decided.
fn judge(e: &Error) -> Verdict {
    match e.kind() {
        ErrorKind::Unreachable => Verdict::Unreachable,
        ErrorKind::Transient | ErrorKind::Unavailable | ErrorKind::RateLimited => {
            Verdict::Retry(e.retry_at())
        }
        _ => Verdict::Final,
    }
}

/// Counts the attempts of one operation and decides on each failure.
///
/// The retry time ([`RetryPolicy::budget`]) counts from the first failure and
/// is never reset: an operation that keeps failing a little further each
/// time still ends. Progress resets only the count of retries.
#[derive(Debug)]
pub(crate) struct Retrier {
    policy: RetryPolicy,
    /// When the first attempt failed.
    failing_since: Option<Instant>,
    retries: u32,
    /// An outer bound on the whole operation, and the flag that set it.
    deadline: Option<(Instant, &'static str)>,
    /// Where each retry is told.
    reporter: Reporter,
}

impl Retrier {
    /// Starts counting for one operation.
    pub(crate) fn new(policy: RetryPolicy, reporter: Reporter) -> Retrier {
        Retrier {
            policy,
            failing_since: None,
            retries: 0,
            deadline: None,
            reporter,
        }
    }

    /// Bounds the operation, waits included, by `deadline`, which `flag`
    /// (e.g. `--timeout`) set; `None` leaves it unbounded.
    pub(crate) fn until(mut self, deadline: Option<Instant>, flag: &'static str) -> Retrier {
        self.deadline = deadline.map(|d| (d, flag));
        self
    }

    /// An attempt got further than the one before: the count of retries
    /// starts afresh. The retry time does not.
    pub(crate) fn progressed(&mut self) {
        self.retries = 0;
    }

    /// How long the next attempt may take: until the retry time is spent
    /// (once an attempt has failed) or the deadline passes; `None`: no bound.
    pub(crate) fn time_left(&self) -> Option<Duration> {
        let now = Instant::now();
        let retry_end = self.failing_since.map(|since| since + self.policy.budget);
        let end = match (retry_end, self.deadline.map(|(d, _)| d)) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        // Never zero: a request with no time at all fails without saying why.
        Some(
            end.saturating_duration_since(now)
                .max(Duration::from_millis(1)),
        )
    }

    /// After a failed attempt: if the error is worth another try within the
    /// bounds, says so on stderr (one line, with the reason), waits, and returns
    /// `Ok`; otherwise returns the error, for the caller to give up with.
    pub(crate) fn after_failure(&mut self, e: Error) -> Result<()> {
        let (until, limit) = match judge(&e) {
            Verdict::Final => return Err(e),
            Verdict::Retry(until) => (until, self.policy.retries),
            Verdict::Unreachable => (None, self.policy.retries.min(UNREACHABLE_RETRIES)),
        };
        let now = Instant::now();
        let since = *self.failing_since.get_or_insert(now);
        if self.retries >= limit {
            return Err(match self.retries {
                0 => e,
                n => e.context(format!("gave up after {} attempts", n + 1)),
            });
        }
        let wait = match until {
            // A reset is in whole seconds: a second more is surely past it.
            Some(RetryAt::Reset(at)) => Timestamp::now().until(at) + Duration::from_secs(1),
            Some(until) => Timestamp::now().until(until.at()),
            None if limit < self.policy.retries => UNREACHABLE_WAIT,
            None => self.backoff(),
        };
        if let Some((deadline, flag)) = self.deadline {
            if now + wait > deadline {
                return Err(match until {
                    Some(until) => e.context(format!("{}, after {flag} runs out", describe(until))),
                    None if self.retries == 0 => e.context(format!("{flag} ran out")),
                    None => e.context(format!("{flag} ran out while retrying")),
                });
            }
        }
        let spent = now.duration_since(since);
        if spent + wait > self.policy.budget {
            return Err(match until {
                Some(until) => e.context(format!(
                    "{}, past the retry time of {}",
                    describe(until),
                    human_duration(self.policy.budget)
                )),
                None => e.context(format!(
                    "gave up after {} of retrying",
                    human_duration(spent.max(Duration::from_secs(1)))
                )),
            });
        }
        self.retries += 1;
        let when = match until {
            Some(RetryAt::Reset(at)) => format!("waiting until the rate limit resets at {at}"),
            Some(RetryAt::Asked(at)) => {
                format!("waiting until {at}, as the server asks (Retry-After)")
            }
            Some(RetryAt::Guessed(at)) => format!(
                "the API gave no time the rate limit resets: waiting {} until {at}",
                human_duration(GUESSED_RESET)
            ),
            None => format!("retrying in {}", human_duration_fine(wait)),
        };
        self.reporter
            .note(format!("retry {}/{limit}: {e:#}; {when}", self.retries));
        std::thread::sleep(wait);
        Ok(())
    }

    /// Exponential backoff with full jitter: a random wait up to the doubled cap.
    fn backoff(&self) -> Duration {
        let cap = self
            .policy
            .first_wait
            .saturating_mul(1 << self.retries.min(20))
            .min(self.policy.max_wait);
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        // Between half the cap and the cap: never a burst of immediate retries.
        cap / 2 + cap.mul_f64((random % 1000) as f64 / 2000.0)
    }
}

fn human_duration_fine(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        human_duration(d)
    }
}

/// Runs `attempt` until it succeeds or the policy gives up.
pub(crate) fn with_retries<T>(
    policy: RetryPolicy,
    reporter: Reporter,
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    Retrier::new(policy, reporter).run(|_| attempt())
}

impl Retrier {
    /// Runs `attempt` until it succeeds or this retrier gives up; each
    /// attempt is told how long it may take ([`Retrier::time_left`]).
    pub(crate) fn run<T>(
        mut self,
        mut attempt: impl FnMut(Option<Duration>) -> Result<T>,
    ) -> Result<T> {
        loop {
            match attempt(self.time_left()) {
                Ok(value) => return Ok(value),
                Err(e) => self.after_failure(e)?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn quick() -> RetryPolicy {
        RetryPolicy {
            retries: 3,
            budget: Duration::from_secs(5),
            first_wait: Duration::from_millis(1),
            max_wait: Duration::from_millis(4),
        }
    }

    fn api(status: u16) -> Error {
        ApiError::decode("GET /x".into(), status, None, b"{}").into_error()
    }

    fn with_retries<T>(policy: RetryPolicy, attempt: impl FnMut() -> Result<T>) -> Result<T> {
        super::with_retries(policy, Reporter::silent(), attempt)
    }

    #[test]
    fn retries_transient_failures_then_succeeds() {
        let mut n = 0;
        let out = with_retries(quick(), || {
            n += 1;
            match n {
                1 => Err(api(503)),
                2 => Err(Error::new(ErrorKind::Transient, "connection reset")),
                _ => Ok(n),
            }
        });
        assert_eq!(out.unwrap(), 3);
    }

    #[test]
    fn never_retries_client_errors() {
        for status in [400, 401, 403, 404, 409] {
            let mut n = 0;
            let out: Result<()> = with_retries(quick(), || {
                n += 1;
                Err(api(status))
            });
            assert!(out.is_err());
            assert_eq!(n, 1, "HTTP {status} was retried");
        }
    }

    #[test]
    fn gives_up_after_the_retries() {
        let mut n = 0;
        let out: Result<()> = with_retries(quick(), || {
            n += 1;
            Err(api(500))
        });
        assert_eq!(n, 4);
        assert!(format!("{:#}", out.unwrap_err()).starts_with("gave up after 4 attempts"));
    }

    #[test]
    fn an_unreachable_server_is_tried_once_more_quickly() {
        let started = Instant::now();
        let mut n = 0;
        let out: Result<()> = with_retries(RetryPolicy::default(), || {
            n += 1;
            Err(Error::new(ErrorKind::Unreachable, "connection refused"))
        });
        assert_eq!(n, 2);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(format!("{:#}", out.unwrap_err()).starts_with("gave up after 2 attempts"));
    }

    #[test]
    fn a_reset_past_the_budget_fails_at_once_naming_it() {
        let reset = Timestamp::from_millis(Timestamp::now().millis() + 3_600_000);
        let mut n = 0;
        let out: Result<()> = with_retries(quick(), || {
            n += 1;
            Err(ApiError::decode("GET /x".into(), 429, Some(reset), b"{}").into_error())
        });
        assert_eq!(n, 1);
        let msg = format!("{:#}", out.unwrap_err());
        assert!(
            msg.contains(&format!("the rate limit resets at {reset}")),
            "{msg}"
        );
    }

    #[test]
    fn progress_resets_the_count_but_not_the_retry_time() {
        let policy = RetryPolicy {
            retries: 2,
            budget: Duration::from_millis(300),
            ..quick()
        };
        let started = Instant::now();
        let mut retrier = Retrier::new(policy, Reporter::silent());
        let mut attempts = 0;
        let err = loop {
            attempts += 1;
            // Each attempt gets a little further, then breaks.
            retrier.progressed();
            let broke = Error::new(ErrorKind::Transient, "the body ended early");
            if let Err(e) = retrier.after_failure(broke) {
                break e;
            }
        };
        assert!(attempts > 3, "progress should reset the count: {attempts}");
        assert!(format!("{err:#}").contains("of retrying"), "{err:#}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_deadline_bounds_retries_and_rate_limit_waits() {
        let reset = Timestamp::from_millis(Timestamp::now().millis() + 60_000);
        let mut retrier = Retrier::new(RetryPolicy::default(), Reporter::silent())
            .until(Some(Instant::now() + Duration::from_secs(2)), "--timeout");
        let e = ApiError::decode("GET /x".into(), 429, Some(reset), b"{}").into_error();
        let msg = format!("{:#}", retrier.after_failure(e).unwrap_err());
        assert!(
            msg.contains(&format!(
                "the rate limit resets at {reset}, after --timeout runs out"
            )),
            "{msg}"
        );
        assert!(retrier.time_left().unwrap() <= Duration::from_secs(2));
        assert_eq!(
            Retrier::new(RetryPolicy::default(), Reporter::silent()).time_left(),
            None
        );
    }

    /// An API error of `status` with the reset and `Retry-After` given, in
    /// milliseconds from now.
    fn asking(status: u16, reset: Option<i64>, retry_after: Option<i64>) -> Error {
        let at = |ms: i64| Timestamp::from_millis(Timestamp::now().millis() + ms);
        let mut e = ApiError::decode("GET /x".into(), status, reset.map(at), b"{}");
        e.retry_after = retry_after.map(at);
        e.into_error()
    }

    #[test]
    fn retry_after_is_honoured_on_a_503_and_a_429() {
        for status in [503, 429] {
            let started = Instant::now();
            let mut retrier = Retrier::new(quick(), Reporter::silent());
            retrier
                .after_failure(asking(status, None, Some(300)))
                .unwrap();
            // quick() would back off 4 ms at most: the wait is the server's.
            assert!(
                started.elapsed() >= Duration::from_millis(250),
                "HTTP {status}: {:?}",
                started.elapsed()
            );
        }
    }

    #[test]
    fn a_wait_past_the_deadline_fails_at_once_saying_whose_time_it_is() {
        let deadline = || Some(Instant::now() + Duration::from_secs(2));
        let fail = |e: Error| {
            let mut retrier = Retrier::new(RetryPolicy::default(), Reporter::silent())
                .until(deadline(), "--timeout");
            let started = Instant::now();
            let msg = format!("{:#}", retrier.after_failure(e).unwrap_err());
            assert!(started.elapsed() < Duration::from_secs(1), "at once: {msg}");
            msg
        };
        let msg = fail(asking(503, None, Some(120_000)));
        assert!(
            msg.contains("(Retry-After), after --timeout runs out"),
            "{msg}"
        );
        // A 429 waits for the later of its reset and its Retry-After.
        let msg = fail(asking(429, Some(1_000), Some(120_000)));
        assert!(
            msg.starts_with("the rate limit resets at") && msg.contains("after --timeout"),
            "{msg}"
        );
        let msg = fail(asking(429, None, None));
        assert!(
            msg.contains("the API gave no time the rate limit resets") && msg.contains("--timeout"),
            "{msg}"
        );
        // Before any retry, the timeout has simply run out.
        let mut retrier = Retrier::new(RetryPolicy::default(), Reporter::silent())
            .until(Some(Instant::now()), "--timeout");
        let msg = format!("{:#}", retrier.after_failure(api(503)).unwrap_err());
        assert!(msg.starts_with("--timeout ran out: GET /x"), "{msg}");
    }

    #[test]
    fn backoff_grows_and_stays_capped() {
        let mut r = Retrier::new(
            RetryPolicy {
                first_wait: Duration::from_secs(1),
                max_wait: Duration::from_secs(8),
                ..RetryPolicy::default()
            },
            Reporter::silent(),
        );
        for (retries, cap) in [(0, 1), (1, 2), (2, 4), (3, 8), (10, 8)] {
            r.retries = retries;
            let wait = r.backoff();
            let cap = Duration::from_secs(cap);
            assert!(wait >= cap / 2 && wait <= cap, "{wait:?} for cap {cap:?}");
        }
    }
}
