//! Queued faults and the `--fault` SPEC grammar.
//!
//! A fault applies to the next `times` requests on its route. Faults queued
//! for the same route apply one after the other, in the order queued, so a
//! test that queues the same faults sees the same effects.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use super::{Fault, Route};

/// The grammar of a fault SPEC, as shown in the binary's usage.
pub const SPEC_GRAMMAR: &str = "\
SPEC is ROUTE:KIND=VALUE[*TIMES], or ROUTE:KIND[*TIMES] for a KIND without
VALUE (TIMES defaults to 1):
  ROUTE  create | list | get | cancel | upload | download
  KIND   status=CODE            answer CODE (400-599) with a plausible body
         rate-limited=SECS      429, x-rate-limit-reset = now + SECS
         close-request=BYTES    read BYTES of the request body, then close
         close-response=BYTES   send the head and BYTES of the body, then close
         stall=BYTES            send BYTES of the body, then go silent
         slow=BYTES_PER_SEC     read the request body and send the response
                                body at that rate
         partial=BYTES          serve at most BYTES of a download, from the
                                requested start, as a 206
         corrupt=OFFSET         flip the lowest bit of response body byte
                                OFFSET (corruption in transit)
         echo-auth=CODE         answer CODE (400-599) with an error body that
                                quotes the Authorization header
         trickle=BYTES_PER_SEC  send the whole response, head too, at that rate
         oversized=BYTES        answer 200 with a valid JSON body of BYTES bytes
         fail-job               upload only: the upload is handled, but the
                                job of the next upload to complete fails
                                when processing ends (no results)
e.g. download:close-response=1000*2  create:status=503  get:rate-limited=30
     download:partial=65536  list:oversized=100000000  get:echo-auth=401
     upload:fail-job";

impl Fault {
    /// How many requests this fault still applies to, to read or to change.
    fn times_mut(&mut self) -> &mut u32 {
        match self {
            Fault::Status { times, .. }
            | Fault::RateLimited { times, .. }
            | Fault::CloseRequestAfter { times, .. }
            | Fault::CloseResponseAfter { times, .. }
            | Fault::Stall { times, .. }
            | Fault::Slow { times, .. }
            | Fault::Partial { times, .. }
            | Fault::Corrupt { times, .. }
            | Fault::EchoAuth { times, .. }
            | Fault::Trickle { times, .. }
            | Fault::Body { times, .. }
            | Fault::Oversized { times, .. }
            | Fault::FailJob { times } => times,
        }
    }
}

/// Faults waiting for their requests, per route.
#[derive(Debug, Default)]
pub(crate) struct FaultQueues {
    queues: HashMap<Route, VecDeque<Fault>>,
}

impl FaultQueues {
    /// Queues a fault; one that applies zero times is dropped.
    pub(crate) fn push(&mut self, route: Route, mut fault: Fault) {
        if *fault.times_mut() > 0 {
            self.queues.entry(route).or_default().push_back(fault);
        }
    }

    /// The fault for the next request on `route`, if any, counted as used.
    pub(crate) fn take(&mut self, route: Route) -> Option<Fault> {
        let queue = self.queues.get_mut(&route)?;
        let front = queue.front_mut()?;
        let mut once = front.clone();
        *once.times_mut() = 1;
        *front.times_mut() -= 1;
        if *front.times_mut() == 0 {
            queue.pop_front();
        }
        Some(once)
    }
}

/// Parses a fault SPEC such as `download:close-response=1000*2`; see
/// [`SPEC_GRAMMAR`].
pub fn parse_fault_spec(spec: &str) -> Result<(Route, Fault), String> {
    let bad = |why: &str| format!("invalid fault SPEC '{spec}': {why}");
    let (route, rest) = spec.split_once(':').ok_or_else(|| bad("missing ':'"))?;
    let route = match route {
        "create" => Route::CreateJob,
        "list" => Route::ListJobs,
        "get" => Route::GetJob,
        "cancel" => Route::CancelJob,
        "upload" => Route::Upload,
        "download" => Route::Download,
        _ => return Err(bad("unknown ROUTE")),
    };
    let (rest, times) = match rest.split_once('*') {
        Some((r, t)) => (
            r,
            t.parse::<u32>().map_err(|_| bad("TIMES is not a number"))?,
        ),
        None => (rest, 1),
    };
    if rest == "fail-job" {
        return match route {
            Route::Upload => Ok((route, Fault::FailJob { times })),
            _ => Err(bad("fail-job applies to the upload route only")),
        };
    }
    let (kind, value) = rest.split_once('=').ok_or_else(|| bad("missing '='"))?;
    if kind == "fail-job" {
        return Err(bad("fail-job takes no VALUE"));
    }
    let n: u64 = value.parse().map_err(|_| bad("VALUE is not a number"))?;
    let fault = match kind {
        "status" | "echo-auth" => {
            let status = u16::try_from(n)
                .ok()
                .filter(|s| (400..=599).contains(s))
                .ok_or_else(|| bad("the status must be 400-599"))?;
            if kind == "status" {
                Fault::Status { status, times }
            } else {
                Fault::EchoAuth { status, times }
            }
        }
        "rate-limited" => Fault::RateLimited {
            reset_after: Duration::from_secs(n),
            times,
        },
        "close-request" => Fault::CloseRequestAfter { bytes: n, times },
        "close-response" => Fault::CloseResponseAfter { bytes: n, times },
        "stall" => Fault::Stall {
            after_bytes: n,
            times,
        },
        "slow" if n > 0 => Fault::Slow {
            bytes_per_sec: n,
            times,
        },
        "slow" => return Err(bad("slow needs a rate above 0")),
        "partial" if n > 0 => Fault::Partial { bytes: n, times },
        "partial" => return Err(bad("partial needs BYTES above 0")),
        "corrupt" => Fault::Corrupt { offset: n, times },
        "trickle" if n > 0 => Fault::Trickle {
            bytes_per_sec: n,
            times,
        },
        "trickle" => return Err(bad("trickle needs a rate above 0")),
        "oversized" if n > 0 => Fault::Oversized { bytes: n, times },
        "oversized" => return Err(bad("oversized needs BYTES above 0")),
        _ => return Err(bad("unknown KIND")),
    };
    Ok((route, fault))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
        assert_eq!(
            parse_fault_spec("download:close-response=1000*2"),
            Ok((
                Route::Download,
                Fault::CloseResponseAfter {
                    bytes: 1000,
                    times: 2
                }
            ))
        );
        assert_eq!(
            parse_fault_spec("create:status=503*1"),
            Ok((
                Route::CreateJob,
                Fault::Status {
                    status: 503,
                    times: 1
                }
            ))
        );
        assert_eq!(
            parse_fault_spec("get:rate-limited=30"),
            Ok((
                Route::GetJob,
                Fault::RateLimited {
                    reset_after: Duration::from_secs(30),
                    times: 1
                }
            ))
        );
        for bad in [
            "x",
            "nope:status=500",
            "get:status=200",
            "get:slow=0",
            "get:stall=a",
            "download:partial=0",
            "get:echo-auth=302",
            "get:trickle=0",
            "list:oversized=0",
            "download:corrupt=-1",
        ] {
            assert!(parse_fault_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_the_client_test_faults() {
        let ok = |spec: &str| parse_fault_spec(spec).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ok("download:partial=65536*3"),
            (
                Route::Download,
                Fault::Partial {
                    bytes: 65536,
                    times: 3
                }
            )
        );
        assert_eq!(
            ok("download:corrupt=0"),
            (
                Route::Download,
                Fault::Corrupt {
                    offset: 0,
                    times: 1
                }
            )
        );
        assert_eq!(
            ok("get:echo-auth=401"),
            (
                Route::GetJob,
                Fault::EchoAuth {
                    status: 401,
                    times: 1
                }
            )
        );
        assert_eq!(
            ok("upload:trickle=10"),
            (
                Route::Upload,
                Fault::Trickle {
                    bytes_per_sec: 10,
                    times: 1
                }
            )
        );
        assert_eq!(
            ok("list:oversized=100000000*2"),
            (
                Route::ListJobs,
                Fault::Oversized {
                    bytes: 100_000_000,
                    times: 2
                }
            )
        );
        // Every kind has its line in the grammar.
        for kind in [
            "partial=",
            "corrupt=",
            "echo-auth=",
            "trickle=",
            "oversized=",
        ] {
            assert!(SPEC_GRAMMAR.contains(kind), "{kind}");
        }
    }

    #[test]
    fn fail_job_takes_no_value_and_only_the_upload_route() {
        assert_eq!(
            parse_fault_spec("upload:fail-job"),
            Ok((Route::Upload, Fault::FailJob { times: 1 }))
        );
        assert_eq!(
            parse_fault_spec("upload:fail-job*3"),
            Ok((Route::Upload, Fault::FailJob { times: 3 }))
        );
        for (bad, why) in [
            ("upload:fail-job=1", "takes no VALUE"),
            ("download:fail-job", "upload route only"),
            ("get:fail-job*2", "upload route only"),
            ("upload:fail-job*x", "TIMES is not a number"),
            ("upload:fail", "missing '='"),
        ] {
            let err = parse_fault_spec(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(SPEC_GRAMMAR.contains("fail-job "));
        assert!(SPEC_GRAMMAR.contains("upload:fail-job"));
    }

    #[test]
    fn body_faults_count_down_too() {
        let mut q = FaultQueues::default();
        let body = Fault::Body {
            status: 502,
            content_type: "text/html".into(),
            body: b"<html>bad gateway</html>".to_vec(),
            times: 2,
        };
        q.push(Route::CreateJob, body);
        for _ in 0..2 {
            assert!(matches!(
                q.take(Route::CreateJob),
                Some(Fault::Body { times: 1, .. })
            ));
        }
        assert_eq!(q.take(Route::CreateJob), None);
    }

    #[test]
    fn queues_apply_in_order_then_run_out() {
        let mut q = FaultQueues::default();
        q.push(
            Route::GetJob,
            Fault::Status {
                status: 500,
                times: 2,
            },
        );
        q.push(
            Route::GetJob,
            Fault::Stall {
                after_bytes: 1,
                times: 1,
            },
        );
        q.push(
            Route::GetJob,
            Fault::Status {
                status: 502,
                times: 0,
            },
        );
        let s500 = Some(Fault::Status {
            status: 500,
            times: 1,
        });
        assert_eq!(q.take(Route::GetJob), s500);
        assert_eq!(q.take(Route::GetJob), s500);
        assert!(matches!(q.take(Route::GetJob), Some(Fault::Stall { .. })));
        assert_eq!(q.take(Route::GetJob), None);
        assert_eq!(q.take(Route::ListJobs), None);
    }
}
