//! Resumable uploads (Cloud Storage's XML API): a `POST` opens a session
//! whose URI takes the object in chunks, answers status queries, and can
//! be cancelled. Every chunk but the last must be a multiple of 256 KiB;
//! a chunk cut short is rolled back, so only whole chunks count.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use super::replies::{
    access_denied, expired_token, internal_error, invalid, no_such_upload, object_headers, refused,
    xml_error,
};
use crate::http::body::Body;
use crate::http::head::{Framing, Request};
use crate::http::response::Response;
use crate::lock::lock;
use crate::model::hashes::{Hasher, HashingWriter};
use crate::model::lifecycle::{Again, Refusal};
use crate::model::Model;

/// Non-final resumable chunks must be multiples of this (256 KiB).
const CHUNK_QUANTUM: u64 = 262_144;

/// Resumable upload sessions, by upload id; each locked while a request
/// works on it.
pub(super) type Sessions = Mutex<HashMap<String, Arc<Mutex<Session>>>>;

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
}

/// `POST` with `x-goog-resumable: start`: opens a session.
pub(super) fn start_session(
    model: &Model,
    sessions: &Sessions,
    req: &Request,
    id: &str,
) -> Response {
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
/// is not checked again (the session may outlive the upload window).
pub(super) fn session_request(
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
