//! Faults: what a test can make go wrong on a route, queued until the
//! requests they apply to arrive.
//!
//! [`Fault`] and [`Route`] are the vocabulary. `queue` holds the faults
//! waiting for their requests and the `--fault` SPEC grammar; `plan` says
//! what a fault does to an exchange; `wire` does it on the socket.

mod padded_json;
pub(crate) mod plan;
pub(crate) mod queue;
pub(crate) mod wire;

use std::time::Duration;

/// A route that faults (and rate limits) apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /2/compliance/jobs`.
    CreateJob,
    /// `GET /2/compliance/jobs`.
    ListJobs,
    /// `GET /2/compliance/jobs/{id}`.
    GetJob,
    /// `DELETE /2/compliance/jobs/{id}`.
    CancelJob,
    /// Every upload request: simple `PUT`, resumable start, chunks, status
    /// queries and session cancels, and the `api` flavour's `PUT`.
    Upload,
    /// Download `GET`s of either flavour.
    Download,
}

/// A fault to inject into the next requests on a route.
///
/// Faults apply before anything else (authentication, validation), like a
/// misbehaving proxy would. Those that answer in place of the request
/// (`Status`, `RateLimited`, `CloseRequestAfter`, `EchoAuth`, `Body`,
/// `Oversized`) never consume rate-limit quota; the others let the request
/// be handled normally, which counts as it would without the fault. For
/// `CloseResponseAfter` and `Stall` the request is handled normally first; when the
/// response has no body (a successful upload), they withhold the whole
/// response, which emulates an answer lost after the upload succeeded.
/// `FailJob` acts on the service behind the route rather than on the
/// exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with a plausible body (JSON problem on the API,
    /// XML error on storage), without handling the request.
    Status {
        /// The status, 400..=599.
        status: u16,
        /// How many requests this applies to.
        times: u32,
    },
    /// 429 with the documented body and `x-rate-limit-reset` = now +
    /// `reset_after` (an XML `SlowDown` error on storage).
    RateLimited {
        /// Time until the advertised reset.
        reset_after: Duration,
        /// How many requests this applies to.
        times: u32,
    },
    /// Read this many bytes of the request body (after `100 Continue` if
    /// asked), then close without answering; nothing is stored.
    CloseRequestAfter {
        /// Body bytes read before closing.
        bytes: u64,
        /// How many requests this applies to.
        times: u32,
    },
    /// Send the head (with the full `Content-Length`) and this many body
    /// bytes, then close.
    CloseResponseAfter {
        /// Body bytes sent before closing.
        bytes: u64,
        /// How many requests this applies to.
        times: u32,
    },
    /// Send this many body bytes, then nothing more while keeping the
    /// socket open, until the client goes away, the emulator is dropped, or
    /// five minutes pass.
    Stall {
        /// Body bytes sent before stalling.
        after_bytes: u64,
        /// How many requests this applies to.
        times: u32,
    },
    /// Read the request body and send the response body at this rate.
    Slow {
        /// The rate.
        bytes_per_sec: u64,
        /// How many requests this applies to.
        times: u32,
    },
    /// Handle the request normally, but if the answer is a download (a
    /// `200` or `206` with the object as body), serve at most `bytes` bytes
    /// of it from the requested start (0 without `Range`), as a `206` with
    /// a matching `Content-Range: bytes A-B/TOTAL` and `Content-Length`,
    /// keeping the object's hash headers: a server that answers less than
    /// asked, or a range to a request without one. Other answers, and an
    /// empty object's, go out unchanged. `bytes` 0 counts as 1.
    Partial {
        /// The most body bytes served.
        bytes: u64,
        /// How many requests this applies to.
        times: u32,
    },
    /// Handle the request normally, then flip the lowest bit of the
    /// response body byte at `offset`, leaving the head (lengths, hashes)
    /// as it was: corruption in transit. A body too short to have that
    /// byte goes out unchanged.
    Corrupt {
        /// Offset in the response body of the byte to damage.
        offset: u64,
        /// How many requests this applies to.
        times: u32,
    },
    /// Answer `status` without handling the request, with an error body
    /// that quotes the request's `Authorization` header as received
    /// (empty when there is none): on the API an `about:blank` problem
    /// whose `detail` is `bad header: <value>`, on storage an XML error
    /// whose `Details` say `bad header: <value>` (with `&`, `<` and `>`
    /// escaped, as XML needs). Some servers echo headers; clients must
    /// redact what they show.
    EchoAuth {
        /// The status, 400..=599.
        status: u16,
        /// How many requests this applies to.
        times: u32,
    },
    /// Handle the request normally (its body is read at full speed), then
    /// send the whole response, head included, at this rate, in pieces of
    /// a tenth of a second's worth (single bytes below 20 bytes per
    /// second). `Slow` paces only the bodies.
    Trickle {
        /// The rate; 0 counts as 1.
        bytes_per_sec: u64,
        /// How many requests this applies to.
        times: u32,
    },
    /// Answer exactly this, without handling the request: the status line,
    /// `Content-Type`, the body, and the framing (`Content-Length`, and
    /// `Connection: close` when the connection closes). Use a final status
    /// (200..=599) that may carry a body.
    Body {
        /// The status.
        status: u16,
        /// The `Content-Type` value.
        content_type: String,
        /// The body.
        body: Vec<u8>,
        /// How many requests this applies to.
        times: u32,
    },
    /// Answer `200` `application/json` without handling the request, with
    /// a valid JSON body of exactly `bytes` bytes, generated as it is sent
    /// (`{"data":[],"pad":"xx…"}` from 20 bytes on, `{}` and spaces below,
    /// `0` for one byte): for clients that must bound what they read.
    /// `bytes` 0 counts as 1.
    Oversized {
        /// The body length.
        bytes: u64,
        /// How many requests this applies to.
        times: u32,
    },
    /// On [`Route::Upload`]: handle the request normally, and make the job
    /// of the next upload to complete, on any job, fail in processing:
    /// this request's upload, or a later one (a resumable upload's session
    /// start takes the fault for its session). The upload is stored and
    /// answered as usual, and the job is `in_progress` for the processing
    /// delay like any job; then it is `failed`, with no results: its
    /// `download_url` stays (the schema requires it) and gets the 404 of a
    /// missing object. Each request the fault applies to fails one job; a
    /// second `PUT` that replaces a job's object takes none. On other
    /// routes it does nothing.
    FailJob {
        /// How many requests this applies to.
        times: u32,
    },
}
