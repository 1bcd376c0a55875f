//! The model of the service: compliance jobs and their lifecycle, the
//! results they lead to, and what they rest on: the emulator's clock, rate
//! limits, signing keys and signed URLs, the integrity hashes storage
//! keeps, and the files it keeps them in. Nothing here knows HTTP.

pub(crate) mod clock;
pub(crate) mod files;
pub(crate) mod hashes;
pub(crate) mod jobs;
pub(crate) mod lifecycle;
pub(crate) mod rate_limits;
pub(crate) mod results;
pub(crate) mod signed_urls;
pub(crate) mod signing;
pub(crate) mod tokens;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::thread::JoinHandle;

use crate::config::Config;
use crate::lock::lock;
use clock::Clock;
use files::Files;
use jobs::{JobSnapshot, Jobs};
use signing::Signer;

/// The emulated service: its configuration, clock and keys, its files and
/// its jobs. The routes of both origins and the `Emulator` handle share it.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) config: Config,
    pub(crate) clock: Clock,
    pub(crate) signer: Signer,
    /// The per-account number in object names (`{N}_{job_id}`).
    pub(crate) account: u64,
    /// `http://127.0.0.1:PORT` of the API, where token URLs point.
    pub(crate) api_base: String,
    /// `http://127.0.0.1:PORT` of storage, where signed URLs point.
    pub(crate) storage_base: String,
    pub(crate) files: Files,
    pub(crate) jobs: Mutex<Jobs>,
    /// Results generators, joined when the emulator stops.
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// How many of the next uploads to complete fail their jobs (the
    /// `FailJob` fault).
    jobs_to_fail: AtomicU32,
    stopping: AtomicBool,
}

impl Model {
    /// A model with no jobs yet and fresh keys.
    pub(crate) fn new(
        config: Config,
        api_base: String,
        storage_base: String,
        files: Files,
    ) -> Model {
        let signer = Signer::random();
        let account = 1_000_000_000_000_000_000 + signer.random_u64() % 1_000_000_000_000_000_000;
        Model {
            config,
            clock: Clock::default(),
            signer,
            account,
            api_base,
            storage_base,
            files,
            jobs: Mutex::new(Jobs::default()),
            workers: Mutex::new(Vec::new()),
            jobs_to_fail: AtomicU32::new(0),
            stopping: AtomicBool::new(false),
        }
    }

    /// The configured processing delay in ms.
    pub(crate) fn delay_ms(&self) -> i64 {
        clock::ms(self.config.processing_delay)
    }

    /// The job with this id, as of the clock now.
    pub(crate) fn job(&self, id: &str) -> Option<JobSnapshot> {
        let (now, delay) = (self.clock.now_ms(), self.delay_ms());
        lock(&self.jobs).find(id).map(|j| j.snapshot(now, delay))
    }

    /// All jobs, oldest first, as of the clock now.
    pub(crate) fn jobs(&self) -> Vec<JobSnapshot> {
        let (now, delay) = (self.clock.now_ms(), self.delay_ms());
        let jobs = lock(&self.jobs);
        jobs.list.iter().map(|j| j.snapshot(now, delay)).collect()
    }

    /// Where the job's completed upload is stored, if it has one.
    pub(crate) fn uploaded_path(&self, id: &str) -> Option<PathBuf> {
        let uploaded = lock(&self.jobs)
            .find(id)
            .is_some_and(|j| j.uploaded_ms.is_some());
        let path = self.files.upload(id);
        (uploaded && path.exists()).then_some(path)
    }

    /// True once the emulator is stopping.
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Tells the results generators to give up.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Waits for the results generators.
    pub(crate) fn join_workers(&self) {
        for h in std::mem::take(&mut *lock(&self.workers)) {
            let _ = h.join();
        }
    }
}
