//! The storage origin of the `gcs` flavour: a stand-in for Google Cloud
//! Storage V4 signed URLs, with simple and resumable (XML API) uploads and
//! ranged downloads. The URLs themselves, and their signatures, are the
//! model's (`signed_urls`). This file checks a request's URL, answers
//! simple uploads and downloads, and stores uploads as objects with their
//! generations; `resumable` runs upload sessions, and `replies` words the
//! errors and the headers of an object.
//!
//! A request whose query has `upload_id` on an upload object is a session
//! request: the session URI is the capability, as on Cloud Storage, so it
//! is answered by its session without the signature (which covers every
//! other parameter). Every answer carries `Date` from the emulator's clock,
//! and an answer to `HEAD` has no body.

mod replies;
mod resumable;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::faults::plan::StandIn;
use crate::faults::Route;
use crate::http::body::Body;
use crate::http::head::{Framing, Request};
use crate::http::ranges::{parse_range, Range};
use crate::http::response::Response;
use crate::lock::lock;
use crate::model::hashes::{Hasher, HashingWriter};
use crate::model::jobs::{Job, Status};
use crate::model::lifecycle::{Again, Refusal};
use crate::model::signed_urls::{self, Folder, NoObject};
use crate::model::Model;
use crate::server::Handler;
use replies::{
    access_denied, echo_auth_response, expired_token, fault_response, internal_error, no_such_key,
    object_headers, refused, signature_mismatch, xml_error,
};
use resumable::{session_request, start_session, Sessions};

/// The routes of the storage origin.
#[derive(Debug)]
pub(crate) struct StorageRoutes {
    model: Arc<Model>,
    /// Resumable upload sessions, by upload id.
    sessions: Sessions,
    /// The generation of each job's stored upload, by job id; held while
    /// an upload is stored.
    generations: Mutex<HashMap<String, i64>>,
}

impl StorageRoutes {
    /// The storage routes of the model.
    pub(crate) fn new(model: Arc<Model>) -> StorageRoutes {
        StorageRoutes {
            model,
            sessions: Mutex::default(),
            generations: Mutex::default(),
        }
    }
}

impl Handler for StorageRoutes {
    fn route(&self, req: &Request) -> Option<Route> {
        route(req)
    }

    fn handle(&self, req: &Request, body: &mut Body<'_>) -> Response {
        handle(self, req, body).finish(req, self.model.clock.http_date())
    }

    fn stand_in(&self, _route: Route, req: &Request, stand_in: StandIn) -> Response {
        let resp = match stand_in {
            StandIn::Status(status) => fault_response(status),
            StandIn::RateLimited(_) => fault_response(429),
            StandIn::EchoAuth(status) => {
                echo_auth_response(status, req.header("authorization").unwrap_or(""))
            }
        };
        resp.finish(req, self.model.clock.http_date())
    }

    fn fail_next_job(&self) {
        self.model.fail_next_job();
    }
}

/// The route of a storage request, for faults.
fn route(req: &Request) -> Option<Route> {
    match signed_urls::parse_path(&req.path).ok()?.folder {
        Folder::Submission => Some(Route::Upload),
        Folder::Delivery => Some(Route::Download),
    }
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

/// Answers one storage request.
fn handle(routes: &StorageRoutes, req: &Request, body: &mut Body<'_>) -> Response {
    let model = &routes.model;
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
            return session_request(routes, req, body, upload_id);
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
            simple_upload(routes, req, body, &object.job_id)
        }
        (Folder::Submission, "POST") if resumable => start_session(routes, req, &object.job_id),
        (Folder::Delivery, "GET") => download(model, req, &object.job_id),
        _ => xml_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            &req.method,
        ),
    }
}

/// `PUT` of the whole file to a simple upload URL. Like Cloud Storage, a
/// second `PUT` while the URL is valid overwrites the object (the job's
/// status and results stay as they are).
fn simple_upload(routes: &StorageRoutes, req: &Request, body: &mut Body<'_>, id: &str) -> Response {
    let model = &routes.model;
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
    // The signature was valid when the request arrived: the upload may
    // complete after the window, and the job waits for it.
    let _lease = Lease::begin(model, id, i64::MAX);
    let staged = model.files.tmp_path("upload");
    let copied = File::create(&staged).and_then(|f| {
        let mut w = HashingWriter::new(f, Hasher::default());
        let len = body.copy_to(&mut w, u64::MAX)?.unwrap_or(0);
        Ok((len, w.hasher().finish()))
    });
    let resp = match copied {
        Ok((len, hashes)) => match store_upload(routes, id, &staged) {
            Ok(generation) => object_headers(Response::new(200), &hashes, len, generation),
            Err(r) => refused(r),
        },
        // When the body broke this answer is dropped; otherwise it is a
        // disk error worth reporting.
        Err(e) => internal_error(&e),
    };
    let _ = fs::remove_file(&staged);
    resp
}

/// Stores a fully received upload as the job's object, as
/// [`Model::accept_upload`] takes it, and returns the object's new
/// generation: the emulator's time in microseconds, as Cloud Storage's
/// generations are, and above any the object had. The lock held across
/// both makes it the generation of the bytes stored when two uploads
/// complete at once.
fn store_upload(routes: &StorageRoutes, id: &str, staged: &Path) -> Result<i64, Refusal> {
    let mut generations = lock(&routes.generations);
    routes.model.accept_upload(id, staged, Again::Replace)?;
    let now_us = routes.model.clock.now_ms().saturating_mul(1000);
    let generation = generations
        .get(id)
        .map_or(now_us, |&g| now_us.max(g.saturating_add(1)));
    generations.insert(id.to_string(), generation);
    Ok(generation)
}

/// The generation of a complete job's results object, which is written
/// once: the time (in microseconds) the job became complete.
fn results_generation(job: &Job, delay_ms: i64) -> i64 {
    job.uploaded_ms
        .unwrap_or(job.created_ms)
        .saturating_add(delay_ms)
        .saturating_mul(1000)
}

/// An upload of a job's object that started inside the upload window and
/// is under way: the job does not expire while it lasts (`OpenUploads`).
/// It ends when dropped.
#[derive(Debug)]
struct Lease {
    model: Arc<Model>,
    job_id: String,
    number: u64,
}

impl Lease {
    /// Records an upload of the job that lapses at `until_ms` unless it
    /// ends before; `None` when there is no such job.
    fn begin(model: &Arc<Model>, job_id: &str, until_ms: i64) -> Option<Lease> {
        let number = lock(&model.jobs)
            .find_mut(job_id)?
            .open_uploads
            .begin(until_ms);
        Some(Lease {
            model: Arc::clone(model),
            job_id: job_id.to_string(),
            number,
        })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(job) = lock(&self.model.jobs).find_mut(&self.job_id) {
            job.open_uploads.end(self.number);
        }
    }
}

/// `GET` of the results object.
fn download(model: &Model, req: &Request, id: &str) -> Response {
    let (now, delay) = (model.clock.now_ms(), model.delay_ms());
    let object = lock(&model.jobs)
        .find(id)
        .filter(|j| j.status(now, delay) == Status::Complete)
        .and_then(|j| Some((j.results_hashes?, results_generation(j, delay))));
    let Some((hashes, generation)) = object else {
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
        Range::Full => object_headers(Response::new(200), &hashes, len, generation).file(
            "text/plain",
            file,
            len,
        ),
        Range::Unsatisfiable => xml_error(
            416,
            "InvalidRange",
            "The requested range cannot be satisfied.",
            req.header("range").unwrap_or(""),
        )
        .header("Content-Range", format!("bytes */{len}")),
        Range::Partial(a, b) => match file.seek(SeekFrom::Start(a)) {
            Ok(_) => object_headers(Response::new(206), &hashes, len, generation)
                .header("Content-Range", format!("bytes {a}-{b}/{len}"))
                .file("text/plain", file, b - a + 1),
            Err(e) => internal_error(&e),
        },
    }
}
