//! The request log: every request both origins received, in order of
//! arrival, with what became of it; and, when asked for, a file with one
//! JSON line per request, appended as it ends, with its secrets redacted.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

use serde_json::json;

use crate::http::query::percent_decode;
use crate::lock::lock;

/// Which origin served a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The API origin.
    Api,
    /// The storage origin.
    Storage,
}

impl Origin {
    /// `api` or `storage`, as the log file names it.
    fn name(self) -> &'static str {
        match self {
            Origin::Api => "api",
            Origin::Storage => "storage",
        }
    }
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
    /// Response body bytes sent, once the answer has gone out (0 when none
    /// was sent); `None` before, and when sending failed part way (the
    /// client went away).
    pub response_bytes: Option<u64>,
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

/// Query parameters whose values are secrets: a signed URL's signature,
/// the `api` flavour's token, and a resumable session's id (whoever has it
/// can write the upload).
const SECRET_PARAMS: [&str; 3] = ["x-goog-signature", "token", "upload_id"];

/// `target` with the values of the [`SECRET_PARAMS`] (named in any case)
/// replaced by `REDACTED`, and the rest as received, so that a log shows
/// what a client sent without what would let a reader replay it.
pub(crate) fn redact(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            let decoded = percent_decode(name);
            if SECRET_PARAMS
                .iter()
                .any(|s| decoded.eq_ignore_ascii_case(s))
            {
                format!("{name}=REDACTED")
            } else {
                pair.to_string()
            }
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// Opens the log file to append to, creating it if need be.
pub(crate) fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open the log file {}: {e}", path.display()),
            )
        })
}

/// The file the log lines go to, and the clock that dates them.
pub(crate) struct LogFile {
    file: Mutex<File>,
    /// The time now on the emulator's clock, as a line gives it.
    now: Box<dyn Fn() -> String + Send + Sync>,
}

impl LogFile {
    /// Lines go to `file` (opened to append), dated by `now`.
    pub(crate) fn new(file: File, now: Box<dyn Fn() -> String + Send + Sync>) -> LogFile {
        LogFile {
            file: Mutex::new(file),
            now,
        }
    }

    /// Appends the line of a request that has ended.
    fn append(&self, record: &RequestRecord) {
        let line = json!({
            "time": (self.now)(),
            "origin": record.origin.name(),
            "method": record.method,
            "path": redact(&record.target),
            "status": record.status,
            "bytes_received": record.body_bytes,
            "bytes_sent": record.response_bytes,
        });
        let mut text = line.to_string();
        text.push('\n');
        // One write per line on a file opened to append: lines never
        // interleave. A log that cannot be written (disk full) must not
        // stop the emulator serving, so the error goes no further.
        let _ = lock(&self.file).write_all(text.as_bytes());
    }
}

impl fmt::Debug for LogFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogFile")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// The log itself.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    records: Mutex<Vec<RequestRecord>>,
    /// Where each request's line goes as it ends, if anywhere.
    file: Option<LogFile>,
}

impl RequestLog {
    /// A log that also appends each request's line to `file`.
    pub(crate) fn to_file(file: LogFile) -> RequestLog {
        RequestLog {
            records: Mutex::default(),
            file: Some(file),
        }
    }

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
            response_bytes: None,
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

    /// Records the response body bytes sent (`None`: sending failed part
    /// way), which ends the request: its line goes to the file.
    pub(crate) fn end(&self, index: usize, response_bytes: Option<u64>) {
        let record = {
            let mut records = lock(&self.records);
            let Some(r) = records.get_mut(index) else {
                return;
            };
            r.response_bytes = response_bytes;
            r.clone()
        };
        if let Some(file) = &self.file {
            file.append(&record);
        }
    }

    /// Every request so far.
    pub(crate) fn all(&self) -> Vec<RequestRecord> {
        lock(&self.records).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_signatures_tokens_and_session_ids_only() {
        assert_eq!(redact("/2/compliance/jobs"), "/2/compliance/jobs");
        assert_eq!(
            redact("/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=ab12&upload_id=s3"),
            "/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=REDACTED&upload_id=REDACTED"
        );
        // Named in any case or percent-encoded, or without a value.
        assert_eq!(
            redact("/j/1/download?TOKEN=t&x%2Dgoog%2Dsignature=s&token&type=tweets"),
            "/j/1/download?TOKEN=REDACTED&x%2Dgoog%2Dsignature=REDACTED&token=REDACTED&type=tweets"
        );
        assert_eq!(redact("/a?tokens=1&=2"), "/a?tokens=1&=2");
    }
}
