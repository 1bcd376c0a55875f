//! One connection's life: read a head, follow the fault plan for its
//! route, let the routes (or the fault) answer, send, and either go on
//! with the next request or close.

use std::io::BufReader;
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use super::log::Origin;
use super::{Handler, Server};
use crate::faults::plan::{self, Answer, Delivery, Plan};
use crate::faults::wire;
use crate::http::body::Body;
use crate::http::head::{read_head, HeadError};
use crate::http::response::Response;
use crate::http::teardown::linger;
use crate::http::BUF_SIZE;
use crate::lock::lock;

/// The longest a write may wait for a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(120);
/// Unread request bodies up to this size are drained to keep the
/// connection; larger ones make the server close it instead.
const DRAIN_LIMIT: u64 = 1 << 20;

/// Serves one connection until it closes.
pub(super) fn serve(server: &Server, origin: Origin, handler: &dyn Handler, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    // Per read, not per request: a client that goes silent (before a
    // request, or within its head or body) is cut, and its thread freed,
    // while a slow one that keeps sending is not. A read that times out
    // ends the connection as if the client had closed it.
    let _ = stream.set_read_timeout(server.read_timeout());
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
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
            Answer::FailJob => {
                handler.fail_next_job();
                handler.handle(&req, &mut body)
            }
            Answer::HangUp(bytes) => {
                let _ = body.discard(bytes);
                unanswered(server, index, body.bytes_read());
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        };
        if body.is_broken() {
            // The client went away or fell silent mid-body: nobody to
            // answer.
            unanswered(server, index, body.bytes_read());
            return;
        }
        let mut close = !req.keep_alive || server.stopping();
        let mut must_linger = false;
        if !body.is_done() {
            match body.unread() {
                Some(n) if n <= DRAIN_LIMIT => {
                    if body.discard(n).is_err() {
                        unanswered(server, index, body.bytes_read());
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
        let body_out = if withheld {
            0
        } else {
            body_sent(delivery, resp.body_len())
        };
        let sent = if withheld {
            Ok(())
        } else {
            wire::send(&writer, resp, delivery, close, &server.shutdown)
        };
        server.log.end(index, sent.is_ok().then_some(body_out));
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

/// Logs a request that got no answer.
fn unanswered(server: &Server, index: usize, body_bytes: u64) {
    server.log.finish(index, 0, body_bytes);
    server.log.end(index, Some(0));
}

/// The body bytes of an answer of `len` that go out when `delivery`
/// succeeds.
fn body_sent(delivery: Delivery, len: u64) -> u64 {
    match delivery {
        Delivery::CloseAfter(most) | Delivery::StallAfter(most) => most.min(len),
        _ => len,
    }
}
