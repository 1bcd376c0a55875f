//! One connection's life: read a head, follow the fault plan for its
//! route, let the routes (or the fault) answer, send, and either go on
//! with the next request or close.

use std::io::BufReader;
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use super::log::Origin;
use super::{Handler, Server};
use crate::faults::plan::{self, Answer, Plan};
use crate::faults::wire;
use crate::http::body::Body;
use crate::http::head::{read_head, HeadError};
use crate::http::response::Response;
use crate::http::teardown::linger;
use crate::http::BUF_SIZE;
use crate::lock::lock;

/// Idle and per-operation socket timeout.
const IO_TIMEOUT: Duration = Duration::from_secs(120);
/// Unread request bodies up to this size are drained to keep the
/// connection; larger ones make the server close it instead.
const DRAIN_LIMIT: u64 = 1 << 20;

/// Serves one connection until it closes.
pub(super) fn serve(server: &Server, origin: Origin, handler: &dyn Handler, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(BUF_SIZE, stream);
    loop {
        if server.stopping() {
            return;
        }
        let req = match read_head(&mut reader) {
            Ok(r) => r,
            Err(HeadError::Closed) => return,
            Err(HeadError::Bad(status, why)) => {
                let resp = Response::new(status).bytes("text/plain; charset=utf-8", why);
                let _ = resp.send(&writer, true);
                linger(&mut reader);
                return;
            }
        };
        let index = server
            .log
            .start(origin, &req.method, &req.target, &req.headers);
        let route = handler.route(&req);
        let fault = route.and_then(|r| lock(&server.faults).take(r).map(|f| (r, f)));
        let Plan { answer, delivery } = Plan::of(fault);

        let mut body = Body::new(&mut reader, &writer, &req, &server.shutdown);
        if let Some(rate) = delivery.read_pace() {
            body.pace(rate);
        }
        let resp = match answer {
            Answer::Routes => handler.handle(&req, &mut body),
            Answer::Partial(most) => plan::partial(handler.handle(&req, &mut body), most),
            Answer::StandIn(route, stand_in) => handler.stand_in(route, &req, stand_in),
            Answer::Canned(resp) => resp,
            Answer::HangUp(bytes) => {
                let _ = body.discard(bytes);
                server.log.finish(index, 0, body.bytes_read());
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        };
        if body.is_broken() {
            // The client went away mid-body: nobody to answer.
            server.log.finish(index, 0, body.bytes_read());
            return;
        }
        let mut close = !req.keep_alive || server.stopping();
        let mut must_linger = false;
        if !body.is_done() {
            match body.unread() {
                Some(n) if n <= DRAIN_LIMIT => {
                    if body.discard(n).is_err() {
                        server.log.finish(index, 0, body.bytes_read());
                        return;
                    }
                }
                _ => {
                    close = true;
                    must_linger = true;
                }
            }
        }
        let body_bytes = body.bytes_read();

        let withheld = delivery.withholds(&resp);
        server
            .log
            .finish(index, if withheld { 0 } else { resp.status }, body_bytes);
        let sent = if withheld {
            Ok(())
        } else {
            wire::send(&writer, resp, delivery, close, &server.shutdown)
        };
        if delivery.cuts() {
            if delivery.stalls() {
                wire::stall(&mut reader, &server.shutdown);
            }
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
        if sent.is_err() {
            return;
        }
        if close {
            if must_linger {
                linger(&mut reader);
            }
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}
