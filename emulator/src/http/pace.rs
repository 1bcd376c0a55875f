//! A fixed byte rate for a transfer: the `Slow` and `Trickle` faults pace
//! request and response bytes with it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::{BUF_SIZE, TICK};

/// Paces a transfer at a fixed byte rate.
#[derive(Debug)]
pub(crate) struct Pace {
    rate: u64,
    start: Instant,
    done: u64,
}

impl Pace {
    /// A pace of `rate` bytes per second (0 counts as 1), starting now.
    pub(crate) fn new(rate: u64) -> Pace {
        Pace {
            rate: rate.max(1),
            start: Instant::now(),
            done: 0,
        }
    }

    /// The largest slice to move at once: about a tenth of a second's worth.
    pub(crate) fn slice(&self) -> usize {
        (self.rate / 10).clamp(1, BUF_SIZE as u64) as usize
    }

    /// Counts `n` more bytes moved.
    pub(crate) fn moved(&mut self, n: usize) {
        self.done += n as u64;
    }

    /// Sleeps until the bytes moved so far are due, waking early on shutdown.
    pub(crate) fn wait(&self, shutdown: &AtomicBool) {
        let due = Duration::from_nanos(
            (u128::from(self.done) * 1_000_000_000 / u128::from(self.rate))
                .min(u128::from(u64::MAX)) as u64,
        );
        while !shutdown.load(Ordering::SeqCst) {
            let elapsed = self.start.elapsed();
            if elapsed >= due {
                break;
            }
            thread::sleep((due - elapsed).min(TICK));
        }
    }
}
