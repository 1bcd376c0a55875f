//! A listener's life: accept connections until the server stops, each
//! served on a thread of its own.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use super::connection;
use super::log::Origin;
use super::{Handler, Server};
use crate::http::TICK;

/// Starts the accept loop of one origin, whose requests `handler` answers.
pub(crate) fn listen(
    server: &Arc<Server>,
    listener: TcpListener,
    origin: Origin,
    handler: Arc<dyn Handler>,
) -> io::Result<JoinHandle<()>> {
    let name = match origin {
        Origin::Api => "emulator-api",
        Origin::Storage => "emulator-storage",
    };
    let server = Arc::clone(server);
    thread::Builder::new()
        .name(name.into())
        .spawn(move || accept_loop(&server, listener, origin, handler))
}

/// Accepts connections until the server stops, each served on a thread of
/// its own.
fn accept_loop(
    server: &Arc<Server>,
    listener: TcpListener,
    origin: Origin,
    handler: Arc<dyn Handler>,
) {
    for conn in listener.incoming() {
        if server.stopping() {
            break;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(_) => {
                // Out of descriptors and the like: back off instead of spinning.
                thread::sleep(TICK);
                continue;
            }
        };
        let Ok(handle_for_registry) = stream.try_clone() else {
            continue;
        };
        let key = server.add_connection(handle_for_registry);
        let shared = Arc::clone(server);
        let handler = Arc::clone(&handler);
        let spawned = thread::Builder::new()
            .name("emulator-conn".into())
            .spawn(move || {
                connection::serve(&shared, origin, handler.as_ref(), stream);
                shared.remove_connection(key);
            });
        match spawned {
            Ok(h) => server.set_connection_thread(key, h),
            Err(_) => server.remove_connection(key),
        }
    }
}
