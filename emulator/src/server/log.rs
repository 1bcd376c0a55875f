//! The request log: every request both origins received, in order of
//! arrival, with what became of it.

use std::sync::Mutex;

use crate::lock::lock;

/// Which origin served a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The API origin.
    Api,
    /// The storage origin.
    Storage,
}

/// One request as the emulator received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// Which origin received it.
    pub origin: Origin,
    /// The method.
    pub method: String,
    /// `path?query` as received.
    pub target: String,
    /// Headers in order, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The status sent; 0 while in flight or when no response was sent
    /// (client gone, or a fault closed the connection first).
    pub status: u16,
    /// Request body bytes read.
    pub body_bytes: u64,
}

impl RequestRecord {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The log itself.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    records: Mutex<Vec<RequestRecord>>,
}

impl RequestLog {
    /// Logs the start of a request and returns its index in the log.
    pub(crate) fn start(
        &self,
        origin: Origin,
        method: &str,
        target: &str,
        headers: &[(String, String)],
    ) -> usize {
        let mut log = lock(&self.records);
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
    pub(crate) fn finish(&self, index: usize, status: u16, body_bytes: u64) {
        if let Some(r) = lock(&self.records).get_mut(index) {
            r.status = status;
            r.body_bytes = body_bytes;
        }
    }

    /// Every request so far.
    pub(crate) fn all(&self) -> Vec<RequestRecord> {
        lock(&self.records).clone()
    }
}
