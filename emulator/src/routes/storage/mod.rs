//! The storage origin of the `gcs` flavour: a stand-in for Google Cloud
//! Storage V4 signed URLs, with simple and resumable (XML API) uploads and
//! ranged downloads. The URLs themselves, and their signatures, are the
//! model's (`signed_urls`).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use crate::faults::plan::StandIn;
use crate::faults::Route;
use crate::http::body::Body;
use crate::http::head::{Framing, Request};
use crate::http::ranges::{parse_range, Range};
use crate::http::response::{reason, Response};
use crate::lock::lock;
use crate::model::clock;
use crate::model::hashes::{Hasher, Hashes, HashingWriter};
use crate::model::jobs::Status;
use crate::model::lifecycle::{Again, Refusal};
use crate::model::signed_urls::{self, Folder, NoObject};
use crate::model::Model;
use crate::server::Handler;

/// Non-final resumable chunks must be multiples of this (256 KiB).
pub(crate) const CHUNK_QUANTUM: u64 = 262_144;
const XML: &str = "application/xml";

/// The routes of the storage origin.
#[derive(Debug)]
pub(crate) struct StorageRoutes {
    model: Arc<Model>,
    /// Resumable upload sessions, by upload id.
    sessions: Sessions,
}

/// Resumable upload sessions, by upload id; each locked while a request
/// works on it.
type Sessions = Mutex<HashMap<String, Arc<Mutex<Session>>>>;

impl StorageRoutes {
    /// The storage routes of the model.
    pub(crate) fn new(model: Arc<Model>) -> StorageRoutes {
        StorageRoutes {
            model,
            sessions: Mutex::new(HashMap::new()),
        }
    }
}

impl Handler for StorageRoutes {
    fn route(&self, req: &Request) -> Option<Route> {
        route(req)
    }

    fn handle(&self, req: &Request, body: &mut Body<'_>) -> Response {
        handle(&self.model, &self.sessions, req, body)
    }

    fn stand_in(&self, _route: Route, req: &Request, stand_in: StandIn) -> Response {
        match stand_in {
            StandIn::Status(status) => fault_response(status),
            StandIn::RateLimited(_) => fault_response(429),
            StandIn::EchoAuth(status) => {
                echo_auth_response(status, req.header("authorization").unwrap_or(""))
            }
        }
    }
}

/// The route of a storage request, for faults.
fn route(req: &Request) -> Option<Route> {
    match signed_urls::parse_path(&req.path).ok()?.folder {
        Folder::Submission => Some(Route::Upload),
        Folder::Delivery => Some(Route::Download),
    }
}

/// A GCS-style XML error.
fn xml_error(status: u16, code: &str, message: &str, details: &str) -> Response {
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

fn signature_mismatch() -> Response {
    xml_error(
        403,
        "SignatureDoesNotMatch",
        "Access denied.",
        "The request signature we calculated does not match the signature you provided. \
         Check your Google secret key and signing method.",
    )
}

fn access_denied(details: &str) -> Response {
    xml_error(403, "AccessDenied", "Access denied.", details)
}

fn no_such_upload() -> Response {
    xml_error(
        404,
        "NoSuchUpload",
        "The requested upload was not found.",
        "The upload session does not exist, was cancelled, or belongs to another object.",
    )
}

fn internal_error(e: &std::io::Error) -> Response {
    xml_error(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
        &format!("The emulator could not store the object: {e}"),
    )
}

/// The body of a fault-injected error on storage.
fn fault_response(status: u16) -> Response {
    fault_error(status, reason(status))
}

/// The `EchoAuth` fault's answer: an XML error whose details quote the
/// `Authorization` header.
fn echo_auth_response(status: u16, authorization: &str) -> Response {
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

/// Checks the signature of a request on `folder`; the error is the answer.
fn check_signature(
    model: &Model,
    req: &Request,
    params: &[(String, String)],
    folder: Folder,
) -> Result<(), Response> {
    let now = model.clock.now_ms();
    let header = |name: &str| req.header(name);
    match signed_urls::check(&model.signer, &req.method, &req.path, params, header, now) {
        Ok(()) => Ok(()),
        Err(signed_urls::Refusal::Unsigned) => {
            let permission = match folder {
                Folder::Submission => "storage.objects.create",
                Folder::Delivery => "storage.objects.get",
            };
            Err(access_denied(&format!(
                "Anonymous caller does not have {permission} access to the Google Cloud Storage object."
            )))
        }
        Err(signed_urls::Refusal::Mismatch) => Err(signature_mismatch()),
        Err(signed_urls::Refusal::Expired(deadline)) => Err(expired_token(deadline)),
    }
}

/// Cloud Storage's answer to a signed URL past its expiry.
fn expired_token(deadline_ms: i64) -> Response {
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
fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::NotAccepting => access_denied("The compliance job no longer accepts uploads."),
        Refusal::Expired(deadline) => expired_token(deadline),
        Refusal::Io(e) => internal_error(&e),
    }
}

/// Answers one storage request.
fn handle(model: &Arc<Model>, sessions: &Sessions, req: &Request, body: &mut Body<'_>) -> Response {
    if req.header("authorization").is_some() {
        return xml_error(
            400,
            "InvalidArgument",
            "Invalid argument.",
            "Cannot use multiple authentication methods: an Authorization header and a signed URL.",
        );
    }
    let object = match signed_urls::parse_path(&req.path) {
        Ok(o) => o,
        Err(NoObject::Bucket) => {
            return xml_error(
                404,
                "NoSuchBucket",
                "The specified bucket does not exist.",
                "The bucket in the path is not a compliance bucket.",
            )
        }
        Err(NoObject::Key) => return no_such_key(&req.path),
    };
    let params = req.query_pairs();
    if let Some((_, upload_id)) = params.iter().find(|(k, _)| k == "upload_id") {
        if object.folder == Folder::Submission {
            return session_request(model, sessions, req, body, upload_id);
        }
    }
    if let Err(resp) = check_signature(model, req, &params, object.folder) {
        return resp;
    }
    let resumable = match lock(&model.jobs).find(&object.job_id) {
        Some(job) => job.resumable,
        None => return no_such_key(&req.path),
    };
    match (object.folder, req.method.as_str()) {
        (Folder::Submission, "PUT") if !resumable => {
            simple_upload(model, req, body, &object.job_id)
        }
        (Folder::Submission, "POST") if resumable => {
            start_session(model, sessions, req, &object.job_id)
        }
        (Folder::Delivery, "GET") => download(model, req, &object.job_id),
        _ => xml_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            &req.method,
        ),
    }
}

fn no_such_key(path: &str) -> Response {
    xml_error(
        404,
        "NoSuchKey",
        "The specified key does not exist.",
        &format!("No such object: {}", path.trim_start_matches('/')),
    )
}

/// Headers GCS sends with a stored object: its hashes (the whole object's,
/// also on a ranged answer), the MD5 `ETag` of a non-composite object, and
/// its stored length.
fn object_headers(resp: Response, hashes: &Hashes, len: u64) -> Response {
    resp.header("ETag", hashes.etag())
        .header("x-goog-hash", hashes.x_goog_hash())
        .header("x-goog-stored-content-length", len.to_string())
}

/// `PUT` of the whole file to a simple upload URL. Like Cloud Storage, a
/// second `PUT` while the URL is valid overwrites the object (the job's
/// status and results stay as they are).
fn simple_upload(model: &Arc<Model>, req: &Request, body: &mut Body<'_>, id: &str) -> Response {
    if req.framing == Framing::None && req.header("content-length").is_none() {
        return xml_error(
            411,
            "MissingContentLength",
            "Length Required",
            "You must provide the Content-Length HTTP header.",
        );
    }
    if !model.accepts_upload(id, Again::Replace) {
        return access_denied("The compliance job no longer accepts uploads.");
    }
    let staged = model.files.tmp_path("upload");
    let copied = File::create(&staged).and_then(|f| {
        let mut w = HashingWriter::new(f, Hasher::default());
        let len = body.copy_to(&mut w, u64::MAX)?.unwrap_or(0);
        Ok((len, w.hasher().finish()))
    });
    let resp = match copied {
        Ok((len, hashes)) => match model.accept_upload(id, &staged, Again::Replace) {
            Ok(_) => object_headers(Response::new(200), &hashes, len),
            Err(r) => refused(r),
        },
        // When the body broke this answer is dropped; otherwise it is a
        // disk error worth reporting.
        Err(e) => internal_error(&e),
    };
    let _ = fs::remove_file(&staged);
    resp
}

/// Where a resumable session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SessionState {
    Open,
    Complete,
    Cancelled,
    /// Its job's upload window closed (at this time, ms) before the
    /// session completed; every request on it is answered as expired.
    Expired(i64),
}

/// A resumable upload session; its bytes live in a temp file.
#[derive(Debug)]
pub(crate) struct Session {
    job_id: String,
    /// The object path the session was started on.
    path: String,
    file: std::path::PathBuf,
    /// Bytes persisted, always a prefix of the object.
    persisted: u64,
    /// The object size, once a request declared it.
    total: Option<u64>,
    state: SessionState,
    /// The hashes of the persisted bytes.
    hasher: Hasher,
}

/// `POST` with `x-goog-resumable: start`: opens a session.
fn start_session(model: &Model, sessions: &Sessions, req: &Request, id: &str) -> Response {
    if !model.accepts_upload(id, Again::Refuse) {
        return access_denied("The compliance job no longer accepts uploads.");
    }
    let upload_id = format!(
        "ADPy{:016x}{:016x}",
        model.signer.random_u64(),
        model.signer.random_u64()
    );
    let file = model.files.tmp_path("session");
    if let Err(e) = File::create(&file) {
        return internal_error(&e);
    }
    let session = Session {
        job_id: id.to_string(),
        path: req.path.clone(),
        file,
        persisted: 0,
        total: None,
        state: SessionState::Open,
        hasher: Hasher::default(),
    };
    lock(sessions).insert(upload_id.clone(), Arc::new(Mutex::new(session)));
    let location = format!("{}{}&upload_id={upload_id}", model.storage_base, req.target);
    Response::new(201)
        .header("Location", location)
        .header("X-GUploader-UploadID", upload_id)
}

/// A parsed `Content-Range` of a session `PUT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ContentRange {
    /// No header: the body is the whole object.
    Whole,
    /// `bytes */TOTAL` or `bytes */*`: a status query.
    Query { total: Option<u64> },
    /// `bytes A-B/TOTAL` or `bytes A-B/*`.
    Chunk {
        first: u64,
        last: u64,
        total: Option<u64>,
    },
}

fn parse_content_range(value: Option<&str>) -> Option<ContentRange> {
    let Some(v) = value else {
        return Some(ContentRange::Whole);
    };
    let rest = v.trim().strip_prefix("bytes ")?.trim();
    let (range, total) = rest.split_once('/')?;
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let total = if total == "*" {
        None
    } else {
        Some(num(total)?)
    };
    if range == "*" {
        return Some(ContentRange::Query { total });
    }
    let (a, b) = range.split_once('-')?;
    let (first, last) = (num(a)?, num(b)?);
    (first <= last).then_some(ContentRange::Chunk { first, last, total })
}

/// Cloud Storage's words for a non-final chunk that is not a multiple of
/// 256 KiB, two spaces after each sentence included (as its upload
/// servers send them, and as Google's client tests compare them).
fn bad_chunk_size(len: u64) -> String {
    format!(
        "Invalid request.  The number of bytes uploaded is required to be equal or greater \
         than {CHUNK_QUANTUM}, except for the final request (it's recommended to be the exact \
         multiple of {CHUNK_QUANTUM}).  The received request contained {len} bytes, which does \
         not meet this requirement."
    )
}

fn invalid(details: &str) -> Response {
    xml_error(400, "InvalidArgument", "Invalid argument.", details)
}

/// A request on a session URI (`...&upload_id=`): chunk, status query or
/// cancel. The session URI is the capability, as on GCS, so the signature
/// is not checked again (the session may outlive the upload window).
fn session_request(
    model: &Arc<Model>,
    sessions: &Sessions,
    req: &Request,
    body: &mut Body<'_>,
    upload_id: &str,
) -> Response {
    let Some(session) = lock(sessions).get(upload_id).cloned() else {
        return no_such_upload();
    };
    // Held while the body streams in: a second request on the same session
    // waits for the first, which keeps `persisted` a true prefix.
    let mut s = lock(&session);
    if s.path != req.path || s.state == SessionState::Cancelled {
        return no_such_upload();
    }
    if let SessionState::Expired(deadline) = s.state {
        return expired_token(deadline);
    }
    match req.method.as_str() {
        "DELETE" if s.state == SessionState::Open => {
            s.state = SessionState::Cancelled;
            let _ = fs::remove_file(&s.file);
            Response::new(499)
        }
        "DELETE" => no_such_upload(),
        "PUT" => session_put(model, req, body, &mut s, upload_id),
        _ => xml_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            &req.method,
        ),
    }
}

/// 308 Resume Incomplete with the persisted range.
fn incomplete(s: &Session, upload_id: &str) -> Response {
    let resp = Response::new(308).header("X-GUploader-UploadID", upload_id);
    if s.persisted > 0 {
        resp.header("Range", format!("bytes=0-{}", s.persisted - 1))
    } else {
        resp
    }
}

/// Completes the object: the job takes the upload.
fn finalize(model: &Arc<Model>, s: &mut Session) -> Response {
    match model.accept_upload(&s.job_id, &s.file, Again::Refuse) {
        Ok(_) => {
            s.state = SessionState::Complete;
            object_headers(Response::new(200), &s.hasher.finish(), s.persisted)
        }
        Err(Refusal::Io(e)) => internal_error(&e),
        Err(r) => {
            s.state = match r {
                Refusal::Expired(deadline) => SessionState::Expired(deadline),
                _ => SessionState::Cancelled,
            };
            let _ = fs::remove_file(&s.file);
            refused(r)
        }
    }
}

/// A `PUT` on a session.
fn session_put(
    model: &Arc<Model>,
    req: &Request,
    body: &mut Body<'_>,
    s: &mut Session,
    upload_id: &str,
) -> Response {
    if s.state == SessionState::Complete {
        return object_headers(Response::new(200), &s.hasher.finish(), s.persisted);
    }
    let Some(range) = parse_content_range(req.header("content-range")) else {
        return invalid(&format!(
            "Invalid Content-Range: {}",
            req.header("content-range").unwrap_or("")
        ));
    };
    let declared = match req.framing {
        Framing::None => Some(0),
        Framing::Length(n) => Some(n),
        Framing::Chunked => None,
    };
    let conflicting_total = |t: Option<u64>| matches!((t, s.total), (Some(a), Some(b)) if a != b);
    let (first, expected, total) = match range {
        ContentRange::Query { total } => {
            if declared != Some(0) {
                return invalid("A status query (bytes */TOTAL) must have an empty body.");
            }
            if conflicting_total(total) || total.is_some_and(|t| t < s.persisted) {
                return invalid("The total size differs from the one declared before.");
            }
            if let Some(t) = total {
                s.total = Some(t);
            }
            if s.total == Some(s.persisted) {
                return finalize(model, s);
            }
            return incomplete(s, upload_id);
        }
        ContentRange::Whole => (0, declared, None),
        ContentRange::Chunk { first, last, total } => {
            let len = last - first + 1;
            if declared.is_some_and(|d| d != len) {
                return invalid("Content-Range and Content-Length disagree.");
            }
            if total.is_some_and(|t| last >= t) || conflicting_total(total) {
                return invalid("The Content-Range does not fit the total size.");
            }
            let is_final = total == Some(last + 1);
            if !is_final && len % CHUNK_QUANTUM != 0 {
                return invalid(&bad_chunk_size(len));
            }
            (first, Some(len), total)
        }
    };
    if first > s.persisted {
        return invalid(&format!(
            "Invalid request. According to the Content-Range header, the upload offset is {first} \
             byte(s), which exceeds already uploaded size of {} byte(s).",
            s.persisted
        ));
    }
    // Bytes already persisted are skipped, then the rest is appended; a
    // body cut short is rolled back so that only whole chunks count.
    let before = s.persisted;
    let skip = before - first;
    let written = (|| {
        let skipped = body.discard(skip)?;
        let mut f = OpenOptions::new().write(true).open(&s.file)?;
        f.seek(SeekFrom::Start(before))?;
        let mut w = HashingWriter::new(f, s.hasher.clone());
        let appended = body.copy_to(&mut w, u64::MAX)?.unwrap_or(0);
        Ok::<_, std::io::Error>((skipped, appended, w.hasher().clone()))
    })();
    let (skipped, appended, hasher) = match written {
        Ok(v) => v,
        Err(e) => {
            rollback(s, before);
            return internal_error(&e);
        }
    };
    let received = skipped + appended;
    if expected.is_some_and(|e| e != received) {
        rollback(s, before);
        return invalid("The body length does not match the Content-Range.");
    }
    s.persisted = before + appended;
    let saved = std::mem::replace(&mut s.hasher, hasher);
    let total = match range {
        ContentRange::Whole => Some(first + received),
        _ => total,
    };
    if total.is_some_and(|t| t < s.persisted) {
        s.hasher = saved;
        rollback(s, before);
        return invalid("The body is shorter than what was already uploaded.");
    }
    if let Some(t) = total {
        s.total = Some(t);
    }
    if s.total == Some(s.persisted) {
        finalize(model, s)
    } else {
        incomplete(s, upload_id)
    }
}

/// Cuts the session file back to what was persisted before a failed chunk.
fn rollback(s: &mut Session, len: u64) {
    s.persisted = len;
    if let Ok(f) = OpenOptions::new().write(true).open(&s.file) {
        let _ = f.set_len(len);
    }
}

/// `GET` of the results object.
fn download(model: &Model, req: &Request, id: &str) -> Response {
    let now = model.clock.now_ms();
    let hashes = lock(&model.jobs)
        .find(id)
        .filter(|j| j.status(now, model.delay_ms()) == Status::Complete)
        .and_then(|j| j.results_hashes);
    let Some(hashes) = hashes else {
        return no_such_key(&req.path);
    };
    let Ok(mut file) = File::open(model.files.results(id)) else {
        return no_such_key(&req.path);
    };
    let len = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return internal_error(&e),
    };
    match parse_range(req.header("range"), len) {
        Range::Full => {
            object_headers(Response::new(200), &hashes, len).file("text/plain", file, len)
        }
        Range::Unsatisfiable => xml_error(
            416,
            "InvalidRange",
            "The requested range cannot be satisfied.",
            req.header("range").unwrap_or(""),
        )
        .header("Content-Range", format!("bytes */{len}")),
        Range::Partial(a, b) => match file.seek(SeekFrom::Start(a)) {
            Ok(_) => object_headers(Response::new(206), &hashes, len)
                .header("Content-Range", format!("bytes {a}-{b}/{len}"))
                .file("text/plain", file, b - a + 1),
            Err(e) => internal_error(&e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(parse_content_range(None), Some(ContentRange::Whole));
        assert_eq!(
            parse_content_range(Some("bytes */100")),
            Some(ContentRange::Query { total: Some(100) })
        );
        assert_eq!(
            parse_content_range(Some("bytes */*")),
            Some(ContentRange::Query { total: None })
        );
        assert_eq!(
            parse_content_range(Some("bytes 0-262143/*")),
            Some(ContentRange::Chunk {
                first: 0,
                last: 262_143,
                total: None
            })
        );
        assert_eq!(parse_content_range(Some("bytes 5-4/10")), None);
        assert_eq!(parse_content_range(Some("items 0-1/2")), None);
    }
}
