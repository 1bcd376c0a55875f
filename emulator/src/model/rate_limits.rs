//! The fixed rate-limit windows of the endpoints, as the `x-rate-limit-*`
//! headers describe them; each endpoint's limit is in
//! [`RateLimits`](crate::config::RateLimits).
//!
//! A window opens with the first request to an endpoint and lasts
//! `rate_window`; `x-rate-limit-reset` is its end in Unix seconds on the
//! emulator clock, so shifting the clock past it opens a new window.

use std::collections::HashMap;
use std::hash::Hash;

/// What the headers report for one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quota {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// Unix seconds at which the window resets.
    pub(crate) reset: i64,
}

impl Quota {
    /// The three `x-rate-limit-*` headers.
    pub(crate) fn headers(&self) -> Vec<(String, String)> {
        vec![
            ("x-rate-limit-limit".into(), self.limit.to_string()),
            ("x-rate-limit-remaining".into(), self.remaining.to_string()),
            ("x-rate-limit-reset".into(), self.reset.to_string()),
        ]
    }
}

#[derive(Clone, Copy, Debug)]
/// One endpoint's current window: when it opened, and how many requests
/// it has counted.
struct Window {
    start_ms: i64,
    used: u32,
}

/// The windows of all endpoints, by whatever names them.
#[derive(Debug)]
pub(crate) struct RateWindows<K> {
    windows: HashMap<K, Window>,
}

impl<K> Default for RateWindows<K> {
    fn default() -> Self {
        RateWindows {
            windows: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash> RateWindows<K> {
    /// The endpoint's window as of `now_ms`, opening a new one when the
    /// last is over.
    fn window(&mut self, endpoint: K, now_ms: i64, window_ms: i64) -> &mut Window {
        let w = self.windows.entry(endpoint).or_insert(Window {
            start_ms: now_ms,
            used: 0,
        });
        // A clock shifted back before the window start also opens a new one.
        if now_ms >= w.start_ms + window_ms || now_ms < w.start_ms {
            *w = Window {
                start_ms: now_ms,
                used: 0,
            };
        }
        w
    }

    /// Counts one request; `Err` carries the quota of a refused request.
    pub(crate) fn take(
        &mut self,
        endpoint: K,
        now_ms: i64,
        limit: u32,
        window_ms: i64,
    ) -> Result<Quota, Quota> {
        let w = self.window(endpoint, now_ms, window_ms);
        let reset = reset_secs(w.start_ms + window_ms);
        if w.used >= limit {
            return Err(Quota {
                limit,
                remaining: 0,
                reset,
            });
        }
        w.used += 1;
        Ok(Quota {
            limit,
            remaining: limit - w.used,
            reset,
        })
    }

    /// The quota without counting a request (for 401s and injected faults).
    pub(crate) fn peek(&mut self, endpoint: K, now_ms: i64, limit: u32, window_ms: i64) -> Quota {
        let w = *self.window(endpoint, now_ms, window_ms);
        Quota {
            limit,
            remaining: limit.saturating_sub(w.used),
            reset: reset_secs(w.start_ms + window_ms),
        }
    }
}

/// Rounds up, so that a client waiting until `reset` is never early.
fn reset_secs(ms: i64) -> i64 {
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_resets() {
        let mut l = RateWindows::default();
        let q = l.take("list", 1_000, 2, 60_000).expect("first");
        assert_eq!((q.remaining, q.reset), (1, 61));
        assert!(l.take("list", 2_000, 2, 60_000).is_ok());
        assert_eq!(l.take("list", 3_000, 2, 60_000).unwrap_err().remaining, 0);
        // Other endpoints have their own windows.
        assert!(l.take("get", 3_000, 2, 60_000).is_ok());
        let q = l.take("list", 61_000, 2, 60_000).expect("new window");
        assert_eq!((q.remaining, q.reset), (1, 121));
    }
}
