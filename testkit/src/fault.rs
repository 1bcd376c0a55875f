//! The emulator's faults in one line each: `fault::status(503)` for the
//! next request, `fault::close_response(1000).times(2)` for the next two.
//! Queue them with [`Emulator::fault`](crate::Emulator::fault):
//!
//! ```no_run
//! use compliance_testkit::fault::{self, Times as _};
//! use compliance_testkit::Route;
//!
//! let em = compliance_testkit::emulator();
//! em.fault(Route::Download, fault::close_response(1000).times(2));
//! em.fault(Route::Download, fault::status(503));
//! ```
//!
//! What each does is documented on [`Fault`]'s variants.

use std::time::Duration;

use crate::Fault;

/// [`Fault::Status`]: answer `status` in place of the request.
pub fn status(status: u16) -> Fault {
    Fault::Status { status, times: 1 }
}

/// [`Fault::RateLimited`]: a 429 whose reset is `secs` from now.
pub fn rate_limited(secs: u64) -> Fault {
    Fault::RateLimited {
        reset_after: Duration::from_secs(secs),
        times: 1,
    }
}

/// [`Fault::CloseRequestAfter`]: read `bytes` of the body, then close.
pub fn close_request(bytes: u64) -> Fault {
    Fault::CloseRequestAfter { bytes, times: 1 }
}

/// [`Fault::CloseResponseAfter`]: send the head and `bytes` of the body,
/// then close.
pub fn close_response(bytes: u64) -> Fault {
    Fault::CloseResponseAfter { bytes, times: 1 }
}

/// [`Fault::Stall`]: send `after_bytes` of the body, then nothing more.
pub fn stall(after_bytes: u64) -> Fault {
    Fault::Stall {
        after_bytes,
        times: 1,
    }
}

/// [`Fault::Slow`]: read and send bodies at `bytes_per_sec`.
pub fn slow(bytes_per_sec: u64) -> Fault {
    Fault::Slow {
        bytes_per_sec,
        times: 1,
    }
}

/// A request handled as without a fault (a [`Fault::Slow`] at a terabyte a
/// second): queued first, it lets requests through before the fault
/// queued after it, `pass().times(2)` two of them.
pub fn pass() -> Fault {
    slow(1 << 40)
}

/// [`Fault::Partial`]: serve at most `bytes` of a download, as a 206.
pub fn partial(bytes: u64) -> Fault {
    Fault::Partial { bytes, times: 1 }
}

/// [`Fault::Corrupt`]: flip the lowest bit of the body's byte at `offset`.
pub fn corrupt(offset: u64) -> Fault {
    Fault::Corrupt { offset, times: 1 }
}

/// [`Fault::EchoAuth`]: answer `status` quoting the `Authorization` header.
pub fn echo_auth(status: u16) -> Fault {
    Fault::EchoAuth { status, times: 1 }
}

/// [`Fault::Trickle`]: send the whole answer, head too, at `bytes_per_sec`.
pub fn trickle(bytes_per_sec: u64) -> Fault {
    Fault::Trickle {
        bytes_per_sec,
        times: 1,
    }
}

/// [`Fault::Body`]: answer exactly `status`, `content_type` and `body`.
pub fn body(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Fault {
    Fault::Body {
        status,
        content_type: content_type.to_string(),
        body: body.into(),
        times: 1,
    }
}

/// [`Fault::Oversized`]: a valid JSON body of exactly `bytes` bytes.
pub fn oversized(bytes: u64) -> Fault {
    Fault::Oversized { bytes, times: 1 }
}

/// [`Fault::FailJob`]: the job of the next upload to complete fails in
/// processing.
pub fn fail_job() -> Fault {
    Fault::FailJob { times: 1 }
}

/// How many requests a fault applies to: the constructors above make it
/// one; `.times(n)` makes it `n` (0: none, the fault is dropped).
pub trait Times {
    /// The same fault, for the next `n` requests on its route.
    fn times(self, n: u32) -> Fault;
}

impl Times for Fault {
    fn times(self, n: u32) -> Fault {
        use Fault::*;
        // Made anew, each variant with its own fields: the emulator keeps
        // its setter of the count to itself.
        match self {
            Status { status, .. } => Status { status, times: n },
            RateLimited { reset_after, .. } => RateLimited {
                reset_after,
                times: n,
            },
            CloseRequestAfter { bytes, .. } => CloseRequestAfter { bytes, times: n },
            CloseResponseAfter { bytes, .. } => CloseResponseAfter { bytes, times: n },
            Stall { after_bytes, .. } => Stall {
                after_bytes,
                times: n,
            },
            Slow { bytes_per_sec, .. } => Slow {
                bytes_per_sec,
                times: n,
            },
            Partial { bytes, .. } => Partial { bytes, times: n },
            Corrupt { offset, .. } => Corrupt { offset, times: n },
            EchoAuth { status, .. } => EchoAuth { status, times: n },
            Trickle { bytes_per_sec, .. } => Trickle {
                bytes_per_sec,
                times: n,
            },
            Body {
                status,
                content_type,
                body,
                ..
            } => Body {
                status,
                content_type,
                body,
                times: n,
            },
            Oversized { bytes, .. } => Oversized { bytes, times: n },
            FailJob { .. } => FailJob { times: n },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sets_the_count_and_keeps_the_rest() {
        assert_eq!(
            close_response(1000).times(2),
            Fault::CloseResponseAfter {
                bytes: 1000,
                times: 2
            }
        );
        assert_eq!(fail_job().times(0), Fault::FailJob { times: 0 });
        assert_eq!(
            status(503),
            Fault::Status {
                status: 503,
                times: 1
            }
        );
    }
}
