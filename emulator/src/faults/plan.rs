//! What a fault does to one exchange: who answers the request, and how the
//! answer goes out. The server follows the plan; the routes never see it.

use std::time::Duration;

use super::padded_json::PaddedJson;
use super::{Fault, Route};
use crate::http::ranges::parse_content_range;
use crate::http::response::{Payload, Response};

/// An error answer that a fault has the routes give in place of the
/// request's own: each origin words its errors its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StandIn {
    /// A plausible error with this status ([`Fault::Status`]).
    Status(u16),
    /// A 429 whose rate limit resets this far ahead
    /// ([`Fault::RateLimited`]).
    RateLimited(Duration),
    /// An error with this status that quotes the request's
    /// `Authorization` header ([`Fault::EchoAuth`]).
    EchoAuth(u16),
}

/// Who answers a request.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The routes, as if there were no fault.
    Routes,
    /// The routes; of a download, at most this many bytes are served, as a
    /// `206` ([`Fault::Partial`]).
    Partial(u64),
    /// The routes of the request's origin, with an error in place of the
    /// request's own answer; the request is not handled.
    StandIn(Route, StandIn),
    /// This answer, made up without the routes ([`Fault::Body`],
    /// [`Fault::Oversized`]).
    Canned(Response),
    /// No one: read this many bytes of the request body, then hang up
    /// ([`Fault::CloseRequestAfter`]).
    HangUp(u64),
    /// The routes, once told that the next upload to complete fails its
    /// job ([`Fault::FailJob`]).
    FailJob,
}

/// How the bytes of an answer go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// As they are, as fast as the connection takes them.
    Normal,
    /// The head and this many body bytes, then the connection closes
    /// ([`Fault::CloseResponseAfter`]).
    CloseAfter(u64),
    /// The head and this many body bytes, then nothing while the
    /// connection stays open ([`Fault::Stall`]).
    StallAfter(u64),
    /// The body at this many bytes per second; the request body is read at
    /// that rate too ([`Fault::Slow`]).
    Slow(u64),
    /// The whole answer, head included, at this many bytes per second
    /// ([`Fault::Trickle`]).
    Trickle(u64),
    /// With the lowest bit of the body byte at this offset flipped
    /// ([`Fault::Corrupt`]).
    Corrupt(u64),
}

impl Delivery {
    /// The rate at which the request body is read, if it is paced.
    pub(crate) fn read_pace(self) -> Option<u64> {
        match self {
            Delivery::Slow(rate) => Some(rate),
            _ => None,
        }
    }

    /// True when the answer is cut short and the connection ends with it.
    pub(crate) fn cuts(self) -> bool {
        matches!(self, Delivery::CloseAfter(_) | Delivery::StallAfter(_))
    }

    /// True when the connection is kept open, silent, after the cut.
    pub(crate) fn stalls(self) -> bool {
        matches!(self, Delivery::StallAfter(_))
    }

    /// True when nothing at all of `resp` goes out: a cut answer without a
    /// body (a successful upload) is withheld whole, which emulates an
    /// answer lost after the request succeeded.
    pub(crate) fn withholds(self, resp: &Response) -> bool {
        self.cuts() && resp.body_len() == 0
    }
}

/// What the fault (if any) on the request's route does to the exchange.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Who answers.
    pub(crate) answer: Answer,
    /// How the answer goes out.
    pub(crate) delivery: Delivery,
}

impl Plan {
    /// The plan for a request on `route` with this fault, or none.
    pub(crate) fn of(fault: Option<(Route, Fault)>) -> Plan {
        let plan = |answer, delivery| Plan { answer, delivery };
        let Some((route, fault)) = fault else {
            return plan(Answer::Routes, Delivery::Normal);
        };
        let stand_in = |s| plan(Answer::StandIn(route, s), Delivery::Normal);
        match fault {
            Fault::Status { status, .. } => stand_in(StandIn::Status(status)),
            Fault::RateLimited { reset_after, .. } => stand_in(StandIn::RateLimited(reset_after)),
            Fault::EchoAuth { status, .. } => stand_in(StandIn::EchoAuth(status)),
            Fault::CloseRequestAfter { bytes, .. } => plan(Answer::HangUp(bytes), Delivery::Normal),
            Fault::CloseResponseAfter { bytes, .. } => {
                plan(Answer::Routes, Delivery::CloseAfter(bytes))
            }
            Fault::Stall { after_bytes, .. } => {
                plan(Answer::Routes, Delivery::StallAfter(after_bytes))
            }
            Fault::Slow { bytes_per_sec, .. } => {
                plan(Answer::Routes, Delivery::Slow(bytes_per_sec))
            }
            Fault::Trickle { bytes_per_sec, .. } => {
                plan(Answer::Routes, Delivery::Trickle(bytes_per_sec))
            }
            Fault::Corrupt { offset, .. } => plan(Answer::Routes, Delivery::Corrupt(offset)),
            Fault::Partial { bytes, .. } => plan(Answer::Partial(bytes), Delivery::Normal),
            Fault::Body {
                status,
                content_type,
                body,
                ..
            } => plan(
                Answer::Canned(Response::new(status).bytes(&content_type, body)),
                Delivery::Normal,
            ),
            Fault::Oversized { bytes, .. } => {
                let len = bytes.max(1);
                let json = Box::new(PaddedJson::new(len));
                let resp = Response::new(200).generated("application/json", json, len);
                plan(Answer::Canned(resp), Delivery::Normal)
            }
            Fault::FailJob { .. } if route == Route::Upload => {
                plan(Answer::FailJob, Delivery::Normal)
            }
            // Only an upload leads to processing that can fail.
            Fault::FailJob { .. } => plan(Answer::Routes, Delivery::Normal),
        }
    }
}

/// Cuts a download answer (a `200` or `206` with a file body) to at most
/// `most` bytes from where it starts, as a `206` with a matching
/// `Content-Range` (the `Partial` fault). Anything else is unchanged.
pub(crate) fn partial(mut resp: Response, most: u64) -> Response {
    let status = resp.status;
    let Payload::File { len, .. } = &mut resp.body else {
        return resp;
    };
    if !matches!(status, 200 | 206) || *len == 0 {
        return resp;
    }
    let (start, total) = if status == 206 {
        let range = resp
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-range"))
            .and_then(|(_, v)| parse_content_range(v));
        match range {
            Some(r) => r,
            None => return resp,
        }
    } else {
        (0, *len)
    };
    let served = (*len).min(most.max(1));
    *len = served;
    resp.status = 206;
    resp.headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("content-range"));
    resp.headers.push((
        "Content-Range".into(),
        format!("bytes {start}-{}/{total}", start + served - 1),
    ));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_job_acts_on_uploads_only() {
        let fail = Fault::FailJob { times: 1 };
        let upload = Plan::of(Some((Route::Upload, fail.clone())));
        assert!(matches!(upload.answer, Answer::FailJob));
        assert_eq!(upload.delivery, Delivery::Normal);
        let get = Plan::of(Some((Route::GetJob, fail)));
        assert!(matches!(get.answer, Answer::Routes));
    }
}
