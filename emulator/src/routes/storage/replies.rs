//! What storage answers besides the bytes: Cloud Storage's XML errors,
//! and the headers it sends with a stored object.

use crate::http::response::{reason, Response};
use crate::model::clock;
use crate::model::hashes::Hashes;
use crate::model::lifecycle::Refusal;

/// The content type of XML errors.
const XML: &str = "application/xml";

/// A GCS-style XML error.
pub(super) fn xml_error(status: u16, code: &str, message: &str, details: &str) -> Response {
    let escaped = details
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Response::new(status).bytes(
        XML,
        format!(
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>\
             <Message>{message}</Message><Details>{escaped}</Details></Error>"
        ),
    )
}

/// The 403 for a signature that does not match the request.
pub(super) fn signature_mismatch() -> Response {
    xml_error(
        403,
        "SignatureDoesNotMatch",
        "Access denied.",
        "The request signature we calculated does not match the signature you provided. \
         Check your Google secret key and signing method.",
    )
}

/// A 403 `AccessDenied` with these details.
pub(super) fn access_denied(details: &str) -> Response {
    xml_error(403, "AccessDenied", "Access denied.", details)
}

/// The 404 for an upload session that does not exist (or no longer does).
pub(super) fn no_such_upload() -> Response {
    xml_error(
        404,
        "NoSuchUpload",
        "The requested upload was not found.",
        "The upload session does not exist, was cancelled, or belongs to another object.",
    )
}

/// The 410 for a session a week after it started: Cloud Storage's status,
/// and its words for it (from its JSON API's list of status codes).
pub(super) fn session_gone() -> Response {
    xml_error(
        410,
        "Gone",
        "The upload session is no longer available.",
        "You have attempted to use a resumable upload session or rewrite token that is no \
         longer available. If the reported status code was not successful and you still wish \
         to complete the upload or rewrite, you must start a new session.",
    )
}

/// The 500 for an object the emulator could not store.
pub(super) fn internal_error(e: &std::io::Error) -> Response {
    xml_error(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
        &format!("The emulator could not store the object: {e}"),
    )
}

/// The body of a fault-injected error on storage.
pub(super) fn fault_response(status: u16) -> Response {
    fault_error(status, reason(status))
}

/// The `EchoAuth` fault's answer: an XML error whose details quote the
/// `Authorization` header.
pub(super) fn echo_auth_response(status: u16, authorization: &str) -> Response {
    fault_error(status, &format!("bad header: {authorization}"))
}

/// A plausible XML error for a status, with these details.
fn fault_error(status: u16, details: &str) -> Response {
    let (code, message) = match status {
        429 => ("SlowDown", "Please reduce your request rate."),
        500 | 502 => (
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        503 => (
            "ServiceUnavailable",
            "We encountered an internal error. Please try again.",
        ),
        504 => (
            "GatewayTimeout",
            "The server did not respond in time. Please try again.",
        ),
        _ => ("InvalidRequest", "The request could not be served."),
    };
    xml_error(status, code, message, details)
}

/// Cloud Storage's answer to a signed URL past its expiry.
pub(super) fn expired_token(deadline_ms: i64) -> Response {
    xml_error(
        400,
        "ExpiredToken",
        "Invalid argument.",
        &format!(
            "Request signature expired at: {}",
            clock::rfc3339_seconds(deadline_ms)
        ),
    )
}

/// The answer to an upload the job does not take.
pub(super) fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::NotAccepting => access_denied("The compliance job no longer accepts uploads."),
        Refusal::Expired(deadline) => expired_token(deadline),
        Refusal::Io(e) => internal_error(&e),
    }
}

/// The 404 for a path that names no object there is.
pub(super) fn no_such_key(path: &str) -> Response {
    xml_error(
        404,
        "NoSuchKey",
        "The specified key does not exist.",
        &format!("No such object: {}", path.trim_start_matches('/')),
    )
}

/// A 400 `InvalidArgument` with these details.
pub(super) fn invalid(details: &str) -> Response {
    xml_error(400, "InvalidArgument", "Invalid argument.", details)
}

/// Headers GCS sends with a stored object: its hashes (the whole object's,
/// also on a ranged answer), the MD5 `ETag` of a non-composite object, its
/// generation (new each time the object is written) and metageneration
/// (its metadata is never changed here), and its stored length and
/// encoding (stored as sent, never gzipped).
pub(super) fn object_headers(
    resp: Response,
    hashes: &Hashes,
    len: u64,
    generation: i64,
) -> Response {
    resp.header("ETag", hashes.etag())
        .header("x-goog-generation", generation.to_string())
        .header("x-goog-metageneration", "1")
        .header("x-goog-hash", hashes.x_goog_hash())
        .header("x-goog-stored-content-length", len.to_string())
        .header("x-goog-stored-content-encoding", "identity")
}
