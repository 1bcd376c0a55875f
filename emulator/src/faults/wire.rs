//! The socket-level side of the faults: sending an answer cut short, paced
//! or damaged on the way, and keeping a stalled connection open.

use std::io::{self, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::plan::Delivery;
use crate::http::pace::Pace;
use crate::http::response::{Payload, Response};
use crate::http::teardown::drain;
use crate::http::BUF_SIZE;

/// The longest a stalled response keeps its connection.
const STALL_LIMIT: Duration = Duration::from_secs(300);

/// How the bytes of a response go out.
#[derive(Debug)]
struct Shape {
    /// The most body bytes sent.
    limit: u64,
    /// The pace of the body, and of the head when `head_paced`.
    pace: Option<Pace>,
    head_paced: bool,
    /// The body offset whose lowest bit is flipped on the way.
    flip: Option<u64>,
}

impl Shape {
    /// The shape of a delivery; a pace starts now.
    fn of(delivery: Delivery) -> Shape {
        let plain = Shape {
            limit: u64::MAX,
            pace: None,
            head_paced: false,
            flip: None,
        };
        match delivery {
            Delivery::Normal => plain,
            Delivery::CloseAfter(k) | Delivery::StallAfter(k) => Shape { limit: k, ..plain },
            Delivery::Slow(rate) => Shape {
                pace: Some(Pace::new(rate)),
                ..plain
            },
            Delivery::Trickle(rate) => Shape {
                pace: Some(Pace::new(rate)),
                head_paced: true,
                ..plain
            },
            Delivery::Corrupt(offset) => Shape {
                flip: Some(offset),
                ..plain
            },
        }
    }

    /// True when the bytes go out as they are, as fast as they can.
    fn is_plain(&self) -> bool {
        self.pace.is_none() && self.flip.is_none()
    }
}

/// Sends `resp` as `delivery` says: the head, then at most as many body
/// bytes as it allows, paced and damaged as it says.
pub(crate) fn send(
    mut w: &TcpStream,
    resp: Response,
    delivery: Delivery,
    close: bool,
    shutdown: &AtomicBool,
) -> io::Result<()> {
    let shape = Shape::of(delivery);
    let limit = shape.limit.min(resp.body_len());
    if shape.is_plain() {
        if limit == resp.body_len() {
            return resp.send(w, close);
        }
        if let Payload::Bytes(b) = &resp.body {
            let mut out = resp.head(close);
            out.extend_from_slice(&b[..limit as usize]);
            return w.write_all(&out);
        }
    }
    let head = resp.head(close);
    let mut pace = shape.pace;
    if shape.head_paced {
        let head_len = head.len() as u64;
        pump(w, &mut &head[..], head_len, &mut pace, None, shutdown)?;
    } else {
        w.write_all(&head)?;
    }
    let mut source: Box<dyn Read> = match resp.body {
        Payload::Empty => Box::new(io::empty()),
        Payload::Bytes(b) => Box::new(io::Cursor::new(b)),
        Payload::File { file, .. } => Box::new(file),
        Payload::Generated { source, .. } => source,
    };
    pump(w, &mut source, limit, &mut pace, shape.flip, shutdown)
}

/// Copies `limit` bytes from `source` to `w`, at the pace if any, flipping
/// the lowest bit of the byte at offset `flip`.
fn pump(
    mut w: &TcpStream,
    source: &mut dyn Read,
    limit: u64,
    pace: &mut Option<Pace>,
    flip: Option<u64>,
    shutdown: &AtomicBool,
) -> io::Result<()> {
    let mut buf = vec![
        0u8;
        BUF_SIZE
            .min(usize::try_from(limit).unwrap_or(BUF_SIZE))
            .max(1)
    ];
    let mut sent = 0u64;
    while sent < limit {
        let mut want = (limit - sent).min(buf.len() as u64) as usize;
        if let Some(p) = pace.as_ref() {
            p.wait(shutdown);
            want = want.min(p.slice());
        }
        if shutdown.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "shutting down"));
        }
        let n = source.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "body source shrank",
            ));
        }
        if let Some(at) = flip.filter(|&at| at >= sent && at < sent + n as u64) {
            buf[(at - sent) as usize] ^= 1;
        }
        w.write_all(&buf[..n])?;
        sent += n as u64;
        if let Some(p) = pace.as_mut() {
            p.moved(n);
        }
    }
    Ok(())
}

/// Keeps a stalled connection open, reading and dropping anything the
/// client sends, until it goes away, the emulator stops, or the limit.
pub(crate) fn stall(reader: &mut BufReader<TcpStream>, shutdown: &AtomicBool) {
    drain(reader, STALL_LIMIT, Some(shutdown));
}
