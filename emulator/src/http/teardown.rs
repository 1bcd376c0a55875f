//! Closing a connection without losing the response (RFC 9112, 9.6): stop
//! writing, then read and drop what the client still sends for a while,
//! so that unread data does not make the kernel reset the connection
//! under the response.

use std::io::{self, BufReader, Read};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::TICK;

/// How long a closing connection keeps reading what the client still sends,
/// so that the kernel does not reset the connection before the client has
/// read the response.
const LINGER: Duration = Duration::from_secs(2);

/// Closes after a response while the client may still be sending: stop
/// writing, then read and drop for a while so that unread data does not
/// make the kernel reset the connection under the response.
pub(crate) fn linger(reader: &mut BufReader<TcpStream>) {
    let _ = reader.get_ref().shutdown(Shutdown::Write);
    drain(reader, LINGER, None);
}

/// Reads and drops what the client sends until it goes away, `limit`
/// passes, or (with `shutdown`) the emulator stops.
pub(crate) fn drain(
    reader: &mut BufReader<TcpStream>,
    limit: Duration,
    shutdown: Option<&AtomicBool>,
) {
    let _ = reader.get_ref().set_read_timeout(Some(TICK));
    let start = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    while !shutdown.is_some_and(|s| s.load(Ordering::SeqCst)) && start.elapsed() < limit {
        match reader.get_mut().read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => break,
        }
    }
}
