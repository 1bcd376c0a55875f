//! HTTP/1.1 as the emulator speaks it, apart from any connection's life:
//! request heads, request bodies and their framing, responses, byte
//! ranges and query strings. The server runs connections with these; the
//! routes read requests and build responses with them.
//!
//! Bodies stream through 256 KiB buffers, so neither uploads nor results
//! are held in memory, and large transfers take few system calls.

use std::time::Duration;

pub(crate) mod body;
pub(crate) mod head;
pub(crate) mod pace;
pub(crate) mod query;
pub(crate) mod ranges;
pub(crate) mod response;
pub(crate) mod teardown;

/// Buffer size for streaming bodies.
pub(crate) const BUF_SIZE: usize = 256 * 1024;
/// Granularity of the waits that must notice shutdown.
pub(crate) const TICK: Duration = Duration::from_millis(50);
