//! An offline emulator of the X API v2 *batch compliance* endpoints and of
//! the signed-URL storage their jobs upload to and download from.
//!
//! [`Emulator::start`] serves two origins on loopback: the API
//! (`/2/compliance/jobs...`) and, for the [`Flavour::Gcs`] flavour, a
//! stand-in for Google Cloud Storage V4 signed URLs. Job status follows the
//! emulator's clock, which tests can shift to expire jobs and URLs; faults
//! can be queued per route to exercise a client's error handling; and every
//! request is logged for inspection.
//!
//! ```no_run
//! use compliance_emulator::{Config, Emulator};
//!
//! let emu = Emulator::start(Config::default())?;
//! let job = emu.create_job("tweets", Some("demo"), false);
//! println!("{} {}", emu.base_url(), job.upload_url);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Storage follows Cloud Storage where its documentation or Google's own
//! code says how:
//!
//! - Objects carry `x-goog-hash: crc32c=…,md5=…` (base64 of the
//!   big-endian CRC32C and of the MD5 of the whole object, also on `206`
//!   answers), the quoted hex MD5 as `ETag`, `x-goog-generation` (the
//!   emulator's time in microseconds at each write of the object; the
//!   results' is when the job became complete), `x-goog-metageneration: 1`,
//!   `x-goog-stored-content-length` and `x-goog-stored-content-encoding:
//!   identity`, on downloads and in the answer to a completed upload. The
//!   `api` flavour's routes are X's and send none of these.
//! - Every answer the routes make carries `Date` (IMF-fixdate) from the
//!   emulator's clock, so that it agrees with `x-rate-limit-reset` and the
//!   job timestamps. An answer to `HEAD` has the full answer's headers,
//!   `Content-Length` included, and no body.
//! - A V4 signature covers the method and every query parameter but
//!   `X-Goog-Signature`: a parameter added (`&generation=1`), or `HEAD` on
//!   the GET-signed download URL, gets 403 `SignatureDoesNotMatch`.
//! - In a resumable upload every chunk but the last must be a multiple of
//!   256 KiB (262 144 bytes); a chunk is the last when its
//!   `Content-Range` gives the total and reaches it. Any other chunk is
//!   refused with a 400 `InvalidArgument` whose details are Cloud
//!   Storage's own words: `Invalid request.  The number of bytes uploaded
//!   is required to be equal or greater than 262144, except for the final
//!   request (it's recommended to be the exact multiple of 262144).  The
//!   received request contained N bytes, which does not meet this
//!   requirement.`
//! - A second simple `PUT`, or another resumable session, on a signed
//!   upload URL that is still valid is allowed: each completion overwrites
//!   the object (200, a new generation), so the last to complete wins. The
//!   job takes the first and keeps its status and results.
//! - A signed URL is checked when the request arrives; expired, it gets
//!   400 `ExpiredToken`. A resumable session lives a week from its start,
//!   even after its start URL has expired, and then answers 410.
//!
//! Wire behaviour not pinned down by public sources is chosen as follows:
//! cancelling a finished job is a 409 `conflict` problem; a resumable chunk
//! that starts past the persisted end is a 400 `InvalidArgument`; list
//! results are oldest first, and an empty list is `{}` (what the live API
//! sent to twarc); `compliance_job.fields` is validated but all fields are
//! always returned; the routes of spec 2.168 (cancel, and the `api`
//! flavour's upload and download), whose rate limits X does not document,
//! each get the access level's limit for `GET /2/compliance/jobs/:id` (see
//! [`RateLimits`]); a connection that stays silent for
//! [`Config::read_timeout`] while a request is awaited or read, on either
//! origin, is closed without an answer; a query with `upload_id` on an
//! upload object is a session request, answered by the session it names
//! (404 `NoSuchUpload` if none) without the signature, as the session URI
//! is its own capability; while an upload that started inside the window
//! is under way, the job stays `created` past `upload_expires_at` and holds
//! its type's slot, and it becomes `expired`, for good, once the window has
//! closed and none is; the lapsed session's 410 has the XML code `Gone`; a
//! job that fails in processing (the [`Fault::FailJob`] fault) keeps its
//! `download_url`, as the schema requires, and has no `error` field (seen
//! only in third-party structs), and that URL answers the 404 of a missing
//! object (`NoSuchKey`, or `resource-not-found` in the `api` flavour).
//!
//! The API's rate limits are X's documented ones, per endpoint, for the
//! [`AccessLevel`] chosen in [`Config::rate_limits`] (by default `pro`:
//! 150 requests per 15 minutes on each).
//!
//! # How it is built
//!
//! In layers, each of which imports only the layers below it:
//!
//! ```text
//! lib.rs    Emulator: binds the two origins, hands tests the model
//! routes/   api, storage: requests into calls on the model, and back
//! server/   listeners, connections, the request log; calls the routes
//!           through one Handler trait, following the plan of any fault
//! faults/   Fault and Route, their queue and SPEC grammar, the plan a
//!           fault makes for an exchange, and its tricks on the socket
//! http/     HTTP/1.1 itself: heads (httparse), bodies, responses,
//!           ranges, query strings
//! model/    jobs and their lifecycle, results, clock, rate limits,
//!           signing and signed URLs, hashes, files
//! config.rs and lock.rs, beneath them all
//! ```
//!
//! `model/` and `http/` know nothing of each other, and only `routes/` and
//! this front use the model.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod faults;
mod http;
mod lock;
mod model;
mod routes;
mod server;

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use config::{AccessLevel, Config, Flavour, RateLimits};
pub use faults::queue::{parse_fault_spec, SPEC_GRAMMAR};
pub use faults::{Fault, Route};
pub use model::jobs::JobSnapshot;
pub use model::results::event_line;
pub use server::log::{Origin, RequestRecord};

use lock::lock;
use model::clock;
use model::files::{self, Files};
use model::results::{self, Kind};
use model::Model;
use routes::api::ApiRoutes;
use routes::storage::StorageRoutes;
use server::listener;
use server::log::{self as request_log, LogFile, RequestLog};
use server::Server;

/// A running emulator. Dropping it closes both listeners and all
/// connections, and removes its temp directory.
#[derive(Debug)]
pub struct Emulator {
    model: Arc<Model>,
    server: Arc<Server>,
    api_addr: SocketAddr,
    storage_addr: SocketAddr,
    listeners: Vec<JoinHandle<()>>,
    /// Where uploads and results are kept.
    data_dir: PathBuf,
    /// The data directory to remove on drop, when it is our temp dir.
    owned_dir: Option<PathBuf>,
}

impl Emulator {
    /// Starts an emulator: the API on `127.0.0.1:0`, storage on another
    /// free port, each served by background threads.
    pub fn start(config: Config) -> io::Result<Emulator> {
        Emulator::start_on(config, 0, 0)
    }

    /// Like [`Emulator::start`] on chosen loopback ports (0 picks one).
    ///
    /// A start that fails (a port in use, a log file that cannot be
    /// opened) leaves no data directory behind.
    pub fn start_on(config: Config, api_port: u16, storage_port: u16) -> io::Result<Emulator> {
        // The ports first: nothing is written before they are ours.
        let api = bind(api_port, "API")?;
        let storage = bind(storage_port, "storage")?;
        let api_addr = api.local_addr()?;
        let storage_addr = storage.local_addr()?;
        let log_file = config.log.as_deref().map(request_log::open).transpose()?;
        let (root, owned_dir) = match &config.data_dir {
            Some(d) => (d.clone(), None),
            None => {
                let d = files::unique_temp_dir();
                (d.clone(), Some(d))
            }
        };
        let files = Files::create(&root).map_err(|e| {
            // Creating the layout may have got part way.
            if let Some(dir) = &owned_dir {
                let _ = fs::remove_dir_all(dir);
            }
            io::Error::new(
                e.kind(),
                format!("cannot create the data directory {}: {e}", root.display()),
            )
        })?;
        let read_timeout = config.read_timeout;
        let model = Arc::new(Model::new(
            config,
            format!("http://{api_addr}"),
            format!("http://{storage_addr}"),
            files,
        ));
        let log = match log_file {
            Some(file) => {
                let model = Arc::clone(&model);
                let now = move || clock::timestamp(model.clock.now_ms());
                RequestLog::to_file(LogFile::new(file, Box::new(now)))
            }
            None => RequestLog::default(),
        };
        let server = Arc::new(Server::new(read_timeout, log));
        let mut emu = Emulator {
            model: Arc::clone(&model),
            server: Arc::clone(&server),
            api_addr,
            storage_addr,
            listeners: Vec::new(),
            data_dir: root,
            owned_dir,
        };
        // On error `emu` drops, which cleans up what was started.
        let api_routes = Arc::new(ApiRoutes::new(Arc::clone(&model)));
        let storage_routes = Arc::new(StorageRoutes::new(model));
        emu.listeners
            .push(listener::listen(&server, api, Origin::Api, api_routes)?);
        emu.listeners.push(listener::listen(
            &server,
            storage,
            Origin::Storage,
            storage_routes,
        )?);
        Ok(emu)
    }

    /// `http://127.0.0.1:PORT` of the API, without trailing slash.
    pub fn base_url(&self) -> String {
        self.model.api_base.clone()
    }

    /// `http://127.0.0.1:PORT` of storage (used by the `gcs` flavour).
    pub fn storage_url(&self) -> String {
        self.model.storage_base.clone()
    }

    /// The directory holding uploads and results: [`Config::data_dir`], or
    /// the temp directory that dropping the emulator removes.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The accepted bearer token.
    pub fn token(&self) -> &str {
        &self.model.config.token
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.model.config
    }

    /// Every request so far, both origins, in order of arrival.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.server.log.all()
    }

    /// The job with this id, as of the emulator's clock now.
    pub fn job(&self, id: &str) -> Option<JobSnapshot> {
        self.model.job(id)
    }

    /// All jobs, oldest first.
    pub fn jobs(&self) -> Vec<JobSnapshot> {
        self.model.jobs()
    }

    /// The bytes of the job's completed upload, if any.
    pub fn uploaded(&self, id: &str) -> Option<Vec<u8>> {
        fs::read(self.uploaded_path(id)?).ok()
    }

    /// Where the job's completed upload is stored, if it has one.
    pub fn uploaded_path(&self, id: &str) -> Option<PathBuf> {
        self.model.uploaded_path(id)
    }

    /// Moves the emulator's clock by `by` seconds (negative: back). The
    /// clock is the system clock plus the total shift.
    pub fn shift_clock(&self, by: i64) {
        self.model.clock.shift(by);
    }

    /// Queues a fault for the next requests on `route`.
    pub fn fault(&self, route: Route, fault: Fault) {
        lock(&self.server.faults).push(route, fault);
    }

    /// Creates a job without HTTP, with the same rules as the API.
    ///
    /// # Panics
    ///
    /// If the type is invalid, a job of the type is still open, or the
    /// `api` flavour is asked for a resumable job; use
    /// [`Emulator::try_create_job`] to get these as errors.
    pub fn create_job(&self, job_type: &str, name: Option<&str>, resumable: bool) -> JobSnapshot {
        match self.try_create_job(job_type, name, resumable) {
            Ok(job) => job,
            Err(e) => panic!("create_job: {e}"),
        }
    }

    /// Creates a job without HTTP, or says why the API would refuse it.
    pub fn try_create_job(
        &self,
        job_type: &str,
        name: Option<&str>,
        resumable: bool,
    ) -> Result<JobSnapshot, String> {
        let kind = Kind::parse(job_type).ok_or_else(|| format!("invalid job type {job_type:?}"))?;
        if name.is_some_and(|n| n.chars().count() > 64) {
            return Err("name longer than 64 characters".into());
        }
        if resumable && self.model.config.flavour == Flavour::Api {
            return Err("the api flavour does not support resumable uploads".into());
        }
        self.model
            .create_job(kind, name.map(str::to_string), resumable)
            .map_err(|_| "You cannot create a new job if one is already in progress.".to_string())
    }

    /// The exact results file the emulator produces for a job of this type
    /// whose upload is `ids`.
    pub fn expected_results(&self, job_type: &str, ids: &[u8]) -> Vec<u8> {
        let Some(kind) = Kind::parse(job_type) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // Reading from and writing to memory cannot fail.
        let _ = results::generate(
            kind,
            self.model.config.event_percent,
            ids,
            &mut out,
            &|| false,
        );
        out
    }
}

/// Binds the listener of an origin on a loopback port (0 picks one).
fn bind(port: u16, origin: &str) -> io::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot listen for the {origin} on 127.0.0.1:{port}: {e}"),
        )
    })
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.stop();
        self.model.stop();
        // Wake the accept loops so they see the flag.
        for addr in [self.api_addr, self.storage_addr] {
            let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        }
        for h in self.listeners.drain(..) {
            let _ = h.join();
        }
        for h in self.server.close_connections() {
            let _ = h.join();
        }
        self.model.join_workers();
        if let Some(dir) = &self.owned_dir {
            let _ = fs::remove_dir_all(dir);
        }
    }
}
