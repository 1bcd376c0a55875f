//! The file routes of the `api` flavour (spec 2.168): the token-signed
//! upload of a job's IDs and download of its results, on the API origin.

use std::fs::{self, File};
use std::io::{Seek, SeekFrom};
use std::sync::Arc;

use serde_json::json;

use super::params::check_id_and_query;
use super::replies::{internal_error, problem, JSON};
use crate::http::body::Body;
use crate::http::head::{Framing, Request};
use crate::http::ranges::{parse_range, Range};
use crate::http::response::Response;
use crate::lock::lock;
use crate::model::clock;
use crate::model::jobs::Status;
use crate::model::lifecycle::{Again, Refusal};
use crate::model::tokens::{self, Purpose};
use crate::model::Model;

/// The biggest upload the `api` flavour takes.
const MAX_UPLOAD: u64 = 1 << 30;

/// Checks the `token` parameter; the error is the 403 to send.
fn check_token(
    model: &Model,
    pairs: &[(String, String)],
    purpose: Purpose,
    id: &str,
) -> Result<(), Response> {
    let forbidden = |detail: String| {
        problem(
            403,
            "not-authorized-for-resource",
            "Forbidden",
            &detail,
            vec![],
        )
    };
    let token = pairs
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.as_str());
    let word = purpose.as_str();
    match tokens::check(&model.signer, token, purpose, id, model.clock.now_ms()) {
        Ok(()) => Ok(()),
        Err(tokens::Refusal::Missing) => Err(forbidden(format!(
            "A signed `token` query parameter is required to {word} this job."
        ))),
        Err(tokens::Refusal::Invalid) => Err(forbidden(format!(
            "The {word} token is not valid for job [{id}]."
        ))),
        Err(tokens::Refusal::Expired(at)) => Err(token_expired(word, at)),
    }
}

/// The 403 for a token past its expiry (`at_ms`).
fn token_expired(purpose: &str, at_ms: i64) -> Response {
    problem(
        403,
        "not-authorized-for-resource",
        "Forbidden",
        &format!(
            "The {purpose} token expired at {}.",
            clock::timestamp(at_ms)
        ),
        vec![],
    )
}

/// `PUT /2/compliance/jobs/{id}/upload?token=` (`api` flavour).
pub(super) fn upload(model: &Arc<Model>, req: &Request, body: &mut Body<'_>, id: &str) -> Response {
    let pairs = match check_id_and_query(req, id, &["id", "token"]) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    if let Err(resp) = check_token(model, &pairs, Purpose::Upload, id) {
        return resp;
    }
    let media = req
        .header("content-type")
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    if !matches!(
        media.as_deref(),
        Some("text/plain" | "application/octet-stream")
    ) {
        return problem(
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            "Upload the ID file as text/plain or application/octet-stream.",
            vec![],
        );
    }
    let too_large = || {
        problem(
            413,
            "payload-too-large",
            "Payload Too Large",
            "The ID file may not be larger than 1073741824 bytes.",
            vec![],
        )
    };
    if matches!(req.framing, Framing::Length(n) if n > MAX_UPLOAD) {
        return too_large();
    }
    if !model.accepts_upload(id, Again::Refuse) {
        return no_longer_accepting(model, id);
    }
    let staged = model.files.tmp_path("upload");
    let copied = File::create(&staged).and_then(|mut f| body.copy_to(&mut f, MAX_UPLOAD));
    let resp = match copied {
        Ok(Some(_)) => match model.accept_upload(id, &staged, Again::Refuse) {
            Ok(job) => Response::json(200, JSON, &json!({"data": job})),
            Err(Refusal::NotAccepting) => no_longer_accepting(model, id),
            // The token ran out while the file was arriving.
            Err(Refusal::Expired(at)) => token_expired("upload", at),
            Err(Refusal::Io(e)) => internal_error(&e),
        },
        Ok(None) => too_large(),
        // A broken body is never answered; a disk error is.
        Err(e) => internal_error(&e),
    };
    let _ = fs::remove_file(&staged);
    resp
}

/// The 409 for an upload the job no longer takes, with its status.
fn no_longer_accepting(model: &Model, id: &str) -> Response {
    let now = model.clock.now_ms();
    let status = lock(&model.jobs)
        .find(id)
        .map_or("unknown", |j| j.status(now, model.delay_ms()).as_str());
    problem(
        409,
        "conflict",
        "Conflict",
        &format!("Job [{id}] no longer accepts uploads (status: {status})."),
        vec![],
    )
}

/// `GET /2/compliance/jobs/{id}/download?token=` (`api` flavour).
pub(super) fn download(model: &Model, req: &Request, id: &str) -> Response {
    let pairs = match check_id_and_query(req, id, &["id", "token"]) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    if let Err(resp) = check_token(model, &pairs, Purpose::Download, id) {
        return resp;
    }
    let now = model.clock.now_ms();
    let complete = lock(&model.jobs)
        .find(id)
        .is_some_and(|j| j.status(now, model.delay_ms()) == Status::Complete);
    let not_found = || {
        problem(
            404,
            "resource-not-found",
            "Not Found Error",
            &format!("Could not find results for job with id: [{id}]."),
            vec![
                ("resource_type", json!("job")),
                ("resource_id", json!(id)),
                ("parameter", json!("id")),
                ("value", json!(id)),
            ],
        )
    };
    if !complete {
        return not_found();
    }
    let Ok(mut file) = File::open(model.files.results(id)) else {
        return not_found();
    };
    let len = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return internal_error(&e),
    };
    match parse_range(req.header("range"), len) {
        Range::Full => Response::new(200).file("application/octet-stream", file, len),
        Range::Unsatisfiable => problem(
            416,
            "range-not-satisfiable",
            "Range Not Satisfiable",
            &format!("The results file has {len} bytes."),
            vec![],
        )
        .header("Content-Range", format!("bytes */{len}")),
        Range::Partial(a, b) => match file.seek(SeekFrom::Start(a)) {
            Ok(_) => Response::new(206)
                .header("Content-Range", format!("bytes {a}-{b}/{len}"))
                .file("application/octet-stream", file, b - a + 1),
            Err(e) => internal_error(&e),
        },
    }
}
