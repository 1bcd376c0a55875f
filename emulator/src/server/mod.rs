//! The HTTP server: a listener per origin (`listener`), a thread per
//! connection (`connection`), and the routes of each origin behind one
//! [`Handler`]. The server knows nothing of what the routes mean; it reads
//! requests, follows the plan of any fault queued for a request's route,
//! and sends the answers. [`Server`] is what they all share.

mod connection;
pub(crate) mod listener;
pub(crate) mod log;

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::faults::plan::StandIn;
use crate::faults::queue::FaultQueues;
use crate::faults::Route;
use crate::http::body::Body;
use crate::http::head::Request;
use crate::http::response::Response;
use crate::lock::lock;
use log::RequestLog;

/// What the server asks of the routes of one origin.
pub(crate) trait Handler: Send + Sync {
    /// The route a request counts against, for faults and rate limits;
    /// `None` when it names none.
    fn route(&self, req: &Request) -> Option<Route>;

    /// Answers a request, reading as much of its body as it needs.
    fn handle(&self, req: &Request, body: &mut Body<'_>) -> Response;

    /// The answer a fault on `route` gives in place of the request's own.
    fn stand_in(&self, route: Route, req: &Request, stand_in: StandIn) -> Response;

    /// Makes the next upload to complete fail its job when its processing
    /// ends (the `FailJob` fault).
    fn fail_next_job(&self);
}

/// What the listeners and connections of both origins share.
#[derive(Debug)]
pub(crate) struct Server {
    /// Every request, both origins, in order of arrival.
    pub(crate) log: RequestLog,
    /// Faults waiting for the requests they apply to.
    pub(crate) faults: Mutex<FaultQueues>,
    connections: Mutex<Connections>,
    shutdown: AtomicBool,
    /// How long a connection may stay silent while the server waits to
    /// read from it; `None`: no limit.
    read_timeout: Option<Duration>,
}

/// Open connections, so that stopping can cut them.
#[derive(Debug, Default)]
struct Connections {
    next: u64,
    open: HashMap<u64, (TcpStream, Option<JoinHandle<()>>)>,
}

impl Server {
    /// A server that logs requests to `log` and closes a connection once
    /// it has been silent for `read_timeout` while a read waits on it
    /// (zero: never).
    pub(crate) fn new(read_timeout: Duration, log: RequestLog) -> Server {
        Server {
            log,
            faults: Mutex::default(),
            connections: Mutex::default(),
            shutdown: AtomicBool::new(false),
            read_timeout: Some(read_timeout).filter(|t| !t.is_zero()),
        }
    }

    /// How long a read may wait for a silent client.
    pub(super) fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout
    }

    /// True once the server is stopping.
    pub(crate) fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Tells the accept loops and connections to stop. The accept loops
    /// notice at their next connection.
    pub(crate) fn stop(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
    }

    /// Registers an open connection; returns its key.
    pub(super) fn add_connection(&self, stream: TcpStream) -> u64 {
        let mut c = lock(&self.connections);
        c.next += 1;
        let key = c.next;
        c.open.insert(key, (stream, None));
        key
    }

    /// Attaches the thread serving a registered connection.
    pub(super) fn set_connection_thread(&self, key: u64, handle: JoinHandle<()>) {
        if let Some(entry) = lock(&self.connections).open.get_mut(&key) {
            entry.1 = Some(handle);
        }
    }

    /// Forgets a connection whose thread is finishing.
    pub(super) fn remove_connection(&self, key: u64) {
        lock(&self.connections).open.remove(&key);
    }

    /// Cuts every open connection and returns their threads to join.
    pub(crate) fn close_connections(&self) -> Vec<JoinHandle<()>> {
        let open = std::mem::take(&mut lock(&self.connections).open);
        let mut handles = Vec::new();
        for (_, (stream, handle)) in open {
            // Unblocks a thread waiting in read or write.
            let _ = stream.shutdown(Shutdown::Both);
            handles.extend(handle);
        }
        handles
    }
}
