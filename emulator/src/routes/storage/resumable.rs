//! Resumable uploads (Cloud Storage's XML API): a `POST` opens a session
//! whose URI takes the object in chunks, answers status queries, and can
//! be cancelled. Every chunk but the last must be a multiple of 256 KiB;
//! a chunk cut short is rolled back, so only whole chunks count.
//!
//! As on Cloud Storage, a session lives a week from its start, whether or
//! not the signed URL that started it has expired since (then it answers
//! 410), and an object may have many sessions: each that completes stores
//! the object anew, so the last to complete wins.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use super::replies::{
    access_denied, expired_token, internal_error, invalid, no_such_upload, object_headers, refused,
    session_gone, xml_error,
};
use super::{store_upload, Lease, StorageRoutes};
use crate::http::body::Body;
use crate::http::head::{Framing, Request};
use crate::http::response::Response;
use crate::lock::lock;
use crate::model::hashes::{Hasher, HashingWriter};
use crate::model::lifecycle::{Again, Refusal};

/// Non-final resumable chunks must be multiples of this (256 KiB).
const CHUNK_QUANTUM: u64 = 262_144;
/// How long a session lives from its start: Cloud Storage's resumable
/// uploads must complete "within a week of being initiated".
const SESSION_LIFE_MS: i64 = 7 * 86_400_000;

/// Resumable upload sessions, by upload id; each locked while a request
/// works on it.
pub(super) type Sessions = Mutex<HashMap<String, Arc<Mutex<Session>>>>;

/// Where a resumable session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SessionState {
    Open,
    /// It stored the object, with this generation.
    Complete(i64),
    Cancelled,
    /// A week passed since it started: it is gone.
    Lapsed,
    /// Its job refused the completed object as expired (the window closed
    /// at this time, ms); every request on it is answered so. The session
    /// keeps its job from expiring, so only a job that expired otherwise
    /// (a clock moved back and forth) gets here.
    Expired(i64),
}

/// A resumable upload session; its bytes live in a temp file.
#[derive(Debug)]
pub(super) struct Session {
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
    /// When the session lapses (ms), a week after it started.
    lapses_ms: i64,
    /// Keeps the job from expiring while the session is open.
    lease: Option<Lease>,
}

impl Session {
    /// Ends the session for good: its bytes go, and its job no longer
    /// waits for it.
    fn close(&mut self, state: SessionState) {
        self.state = state;
        self.lease = None;
        let _ = fs::remove_file(&self.file);
    }
}

/// `POST` with `x-goog-resumable: start`: opens a session, also for an
/// object that has other sessions or is stored already (while the signed
/// URL is valid, as for a second simple `PUT`).
pub(super) fn start_session(routes: &StorageRoutes, req: &Request, id: &str) -> Response {
    let model = &routes.model;
    if !model.accepts_upload(id, Again::Replace) {
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
    let lapses_ms = model.clock.now_ms().saturating_add(SESSION_LIFE_MS);
    let session = Session {
        job_id: id.to_string(),
        path: req.path.clone(),
        file,
        persisted: 0,
        total: None,
        state: SessionState::Open,
        hasher: Hasher::default(),
        lapses_ms,
        lease: Lease::begin(model, id, lapses_ms),
    };
    lock(&routes.sessions).insert(upload_id.clone(), Arc::new(Mutex::new(session)));
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

/// Parses the `Content-Range` of a session `PUT`; `None` when malformed.
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

/// A request on a session URI (`...&upload_id=`): chunk, status query or
/// cancel. The session URI is the capability, as on GCS, so the signature
/// is not checked again: the session outlives the upload window, up to a
/// week from its start.
pub(super) fn session_request(
    routes: &StorageRoutes,
    req: &Request,
    body: &mut Body<'_>,
    upload_id: &str,
) -> Response {
    let Some(session) = lock(&routes.sessions).get(upload_id).cloned() else {
        return no_such_upload();
    };
    // Held while the body streams in: a second request on the same session
    // waits for the first, which keeps `persisted` a true prefix.
    let mut s = lock(&session);
    if s.path != req.path || s.state == SessionState::Cancelled {
        return no_such_upload();
    }
    if s.state == SessionState::Lapsed || routes.model.clock.now_ms() >= s.lapses_ms {
        s.close(SessionState::Lapsed);
        return session_gone();
    }
    if let SessionState::Expired(deadline) = s.state {
        return expired_token(deadline);
    }
    match req.method.as_str() {
        "DELETE" if s.state == SessionState::Open => {
            s.close(SessionState::Cancelled);
            Response::new(499)
        }
        "DELETE" => no_such_upload(),
        "PUT" => session_put(routes, req, body, &mut s, upload_id),
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

/// Completes the object: it is stored (the job takes it if it is the
/// job's first), with a new generation.
fn finalize(routes: &StorageRoutes, s: &mut Session) -> Response {
    match store_upload(routes, &s.job_id, &s.file) {
        Ok(generation) => {
            s.close(SessionState::Complete(generation));
            object_headers(
                Response::new(200),
                &s.hasher.finish(),
                s.persisted,
                generation,
            )
        }
        Err(Refusal::Io(e)) => internal_error(&e),
        Err(r) => {
            s.close(match r {
                Refusal::Expired(deadline) => SessionState::Expired(deadline),
                _ => SessionState::Cancelled,
            });
            refused(r)
        }
    }
}

/// A `PUT` on a session.
fn session_put(
    routes: &StorageRoutes,
    req: &Request,
    body: &mut Body<'_>,
    s: &mut Session,
    upload_id: &str,
) -> Response {
    if let SessionState::Complete(generation) = s.state {
        let hashes = s.hasher.finish();
        return object_headers(Response::new(200), &hashes, s.persisted, generation);
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
                return finalize(routes, s);
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
        finalize(routes, s)
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
