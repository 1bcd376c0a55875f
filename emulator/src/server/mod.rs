//! The HTTP server: a listener per origin, a thread per connection, and
//! the routes of each origin behind one [`Handler`]. The server knows
//! nothing of what the routes mean; it reads requests, follows the plan of
//! any fault queued for a request's route, and sends the answers.

mod connection;

use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crate::faults::plan::StandIn;
use crate::faults::Route;
use crate::http::body::Body;
use crate::http::head::Request;
use crate::http::response::Response;
use crate::http::TICK;
use crate::state::Shared;
use crate::Origin;

/// What the server asks of the routes of one origin.
pub(crate) trait Handler: Send + Sync {
    /// The route a request counts against, for faults and rate limits;
    /// `None` when it names none.
    fn route(&self, req: &Request) -> Option<Route>;

    /// Answers a request, reading as much of its body as it needs.
    fn handle(&self, req: &Request, body: &mut Body<'_>) -> Response;

    /// The answer a fault on `route` gives in place of the request's own.
    fn stand_in(&self, route: Route, req: &Request, stand_in: StandIn) -> Response;
}

/// Starts the accept loop of one origin.
pub(crate) fn spawn_listener(
    listener: TcpListener,
    origin: Origin,
    handler: Arc<dyn Handler>,
    shared: Arc<Shared>,
) -> io::Result<JoinHandle<()>> {
    let name = match origin {
        Origin::Api => "emulator-api",
        Origin::Storage => "emulator-storage",
    };
    thread::Builder::new()
        .name(name.into())
        .spawn(move || accept_loop(listener, origin, handler, shared))
}

fn accept_loop(
    listener: TcpListener,
    origin: Origin,
    handler: Arc<dyn Handler>,
    shared: Arc<Shared>,
) {
    for conn in listener.incoming() {
        if shared.stopping() {
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
        let key = shared.add_connection(handle_for_registry);
        let sh = Arc::clone(&shared);
        let handler = Arc::clone(&handler);
        let spawned = thread::Builder::new()
            .name("emulator-conn".into())
            .spawn(move || {
                connection::serve(&sh, origin, handler.as_ref(), stream);
                sh.remove_connection(key);
            });
        match spawned {
            Ok(h) => shared.set_connection_thread(key, h),
            Err(_) => shared.remove_connection(key),
        }
    }
}
