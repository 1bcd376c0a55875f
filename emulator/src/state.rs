//! State shared by the listeners, the connection threads and the
//! `Emulator` handle.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crate::config::Config;
use crate::faults::queue::FaultQueues;
use crate::model::clock::Clock;
use crate::model::jobs::Jobs;
use crate::model::limits::RateLimits;
use crate::model::signing::Signer;
use crate::storage::Session;
use crate::{Origin, RequestRecord};

/// Locks a mutex, carrying on with the data if a thread panicked while
/// holding it: the emulator's state stays usable for the remaining tests.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where the emulator keeps its files.
#[derive(Debug)]
pub(crate) struct Dirs {
    /// Completed uploads, one file per job id.
    pub(crate) uploads: PathBuf,
    /// Results files, one per job id.
    pub(crate) results: PathBuf,
    /// Files being written: uploads in flight, resumable sessions, results
    /// being generated. Renamed into place when whole.
    pub(crate) tmp: PathBuf,
}

impl Dirs {
    /// Creates the layout under `root`.
    pub(crate) fn create(root: &Path) -> io::Result<Dirs> {
        let dirs = Dirs {
            uploads: root.join("uploads"),
            results: root.join("results"),
            tmp: root.join("tmp"),
        };
        for d in [&dirs.uploads, &dirs.results, &dirs.tmp] {
            fs::create_dir_all(d)?;
        }
        Ok(dirs)
    }

    /// The stored upload of a job.
    pub(crate) fn upload(&self, id: &str) -> PathBuf {
        self.uploads.join(format!("{id}.txt"))
    }

    /// The results file of a job.
    pub(crate) fn results(&self, id: &str) -> PathBuf {
        self.results.join(format!("{id}.jsonl"))
    }
}

/// Open connections, so that dropping the emulator can cut them.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    next: u64,
    open: HashMap<u64, (TcpStream, Option<JoinHandle<()>>)>,
}

/// Everything the threads share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) clock: Clock,
    pub(crate) signer: Signer,
    /// The per-account number in object names (`{N}_{job_id}`).
    pub(crate) account: u64,
    /// `http://127.0.0.1:PORT` of the API.
    pub(crate) api_base: String,
    /// `http://127.0.0.1:PORT` of storage.
    pub(crate) storage_base: String,
    pub(crate) dirs: Dirs,
    pub(crate) jobs: Mutex<Jobs>,
    pub(crate) sessions: Mutex<HashMap<String, Arc<Mutex<Session>>>>,
    pub(crate) log: Mutex<Vec<RequestRecord>>,
    pub(crate) faults: Mutex<FaultQueues>,
    pub(crate) limits: Mutex<RateLimits>,
    pub(crate) shutdown: AtomicBool,
    pub(crate) connections: Mutex<Connections>,
    /// Results generators, joined on drop.
    pub(crate) workers: Mutex<Vec<JoinHandle<()>>>,
    tmp_counter: AtomicU64,
}

impl Shared {
    /// Assembles the shared state.
    pub(crate) fn new(
        config: Config,
        api_base: String,
        storage_base: String,
        dirs: Dirs,
    ) -> Shared {
        let signer = Signer::random();
        let account = 1_000_000_000_000_000_000 + signer.random_u64() % 1_000_000_000_000_000_000;
        Shared {
            config,
            clock: Clock::default(),
            signer,
            account,
            api_base,
            storage_base,
            dirs,
            jobs: Mutex::new(Jobs::default()),
            sessions: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(FaultQueues::default()),
            limits: Mutex::new(RateLimits::default()),
            shutdown: AtomicBool::new(false),
            connections: Mutex::new(Connections::default()),
            workers: Mutex::new(Vec::new()),
            tmp_counter: AtomicU64::new(0),
        }
    }

    /// True once the emulator is being dropped.
    pub(crate) fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// A fresh path in the temp area, tagged for debugging.
    pub(crate) fn tmp_path(&self, tag: &str) -> PathBuf {
        let n = self.tmp_counter.fetch_add(1, Ordering::SeqCst);
        self.dirs.tmp.join(format!("{tag}-{n}"))
    }

    /// Logs the start of a request and returns its index in the log.
    pub(crate) fn log_request(
        &self,
        origin: Origin,
        method: &str,
        target: &str,
        headers: &[(String, String)],
    ) -> usize {
        let mut log = lock(&self.log);
        log.push(RequestRecord {
            origin,
            method: method.to_string(),
            target: target.to_string(),
            headers: headers.to_vec(),
            status: 0,
            body_bytes: 0,
        });
        log.len() - 1
    }

    /// Records the outcome of a logged request.
    pub(crate) fn log_outcome(&self, index: usize, status: u16, body_bytes: u64) {
        if let Some(r) = lock(&self.log).get_mut(index) {
            r.status = status;
            r.body_bytes = body_bytes;
        }
    }

    /// Registers an open connection; returns its key.
    pub(crate) fn add_connection(&self, stream: TcpStream) -> u64 {
        let mut c = lock(&self.connections);
        c.next += 1;
        let key = c.next;
        c.open.insert(key, (stream, None));
        key
    }

    /// Attaches the thread serving a registered connection.
    pub(crate) fn set_connection_thread(&self, key: u64, handle: JoinHandle<()>) {
        if let Some(entry) = lock(&self.connections).open.get_mut(&key) {
            entry.1 = Some(handle);
        }
    }

    /// Forgets a connection whose thread is finishing.
    pub(crate) fn remove_connection(&self, key: u64) {
        lock(&self.connections).open.remove(&key);
    }

    /// Cuts every open connection and returns their threads to join.
    pub(crate) fn close_connections(&self) -> Vec<JoinHandle<()>> {
        let open = std::mem::take(&mut lock(&self.connections).open);
        let mut handles = Vec::new();
        for (_, (stream, handle)) in open {
            // Unblocks a thread waiting in read or write.
            let _ = stream.shutdown(std::net::Shutdown::Both);
            handles.extend(handle);
        }
        handles
    }
}
