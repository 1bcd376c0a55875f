//! What a long operation tells the person who runs it: notes, warnings and
//! progress, through a [`Reporter`] that the caller chooses.
//!
//! A library user gets [`Reporter::silent`] (the default of a
//! [`Config`](crate::Config)): nothing is written anywhere. The stages
//! install the terminal's (`cli::terminal`): lines on stderr, progress bars
//! only on a terminal. Either way every line is scrubbed of the secrets the
//! reporter holds (the bearer token, see [`Secrets`]) before it leaves.
//!
//! stdout is for data; nothing here writes there.

use std::fmt;
use std::sync::Arc;

use crate::auth::Secrets;

/// Where the lines and progress of a [`Reporter`] go. Every method has a
/// default that does nothing: an implementation takes what it shows.
pub trait Report: Send + Sync {
    /// A note: what happened, worth knowing (a retry, a wait's end).
    fn note(&self, line: &str) {
        let _ = line;
    }

    /// A warning: something that may be wrong, though the step goes on.
    fn warn(&self, line: &str) {
        let _ = line;
    }

    /// A meter for a transfer or a wait, shown until it is dropped.
    fn meter(&self, gauge: Gauge<'_>) -> Option<Box<dyn Meter>> {
        let _ = gauge;
        None
    }
}

/// What a [`Meter`] measures.
#[derive(Clone, Copy, Debug)]
pub enum Gauge<'a> {
    /// Bytes of a transfer: `what`, and how many in all, if known.
    Bytes {
        /// What is moving, e.g. `uploading ids.txt`.
        what: &'a str,
        /// The whole size, if known.
        total: Option<u64>,
    },
    /// A wait, with a message that changes as it goes.
    Spinner {
        /// What is awaited.
        message: &'a str,
    },
}

/// A progress display made by a [`Report`]; it is cleared when dropped.
pub trait Meter: Send + Sync {
    /// Counts `n` more bytes.
    fn inc(&self, n: u64);
    /// Sets the count (after a resume, say).
    fn set_position(&self, n: u64);
    /// Changes the message.
    fn set_message(&self, message: String);
}

/// The notes, warnings and progress of one client or operation: a
/// [`Report`] (none: silent) and the secrets scrubbed from every line.
///
/// Cloning is cheap; clones share the report.
#[derive(Clone, Default)]
pub struct Reporter {
    to: Option<Arc<dyn Report>>,
    secrets: Secrets,
}

impl Reporter {
    /// Tells nothing to anyone: the default for a library user.
    pub fn silent() -> Reporter {
        Reporter::default()
    }

    /// Tells `report`.
    pub fn new(report: impl Report + 'static) -> Reporter {
        Reporter {
            to: Some(Arc::new(report)),
            secrets: Secrets::default(),
        }
    }

    /// This reporter, scrubbing `secrets` too from every line it passes on.
    pub fn with_secrets(mut self, secrets: &Secrets) -> Reporter {
        self.secrets = self.secrets.and(secrets);
        self
    }

    /// Passes on a note.
    pub fn note(&self, message: impl fmt::Display) {
        if let Some(to) = &self.to {
            to.note(&self.secrets.scrub(&message.to_string()));
        }
    }

    /// Passes on a warning.
    pub fn warn(&self, message: impl fmt::Display) {
        if let Some(to) = &self.to {
            to.warn(&self.secrets.scrub(&message.to_string()));
        }
    }

    /// A byte counter for a transfer: `what` (scrubbed), and the whole size
    /// if known.
    pub fn bytes(&self, what: &str, total: Option<u64>) -> Progress {
        let what = self.secrets.scrub(what);
        self.meter(Gauge::Bytes { what: &what, total })
    }

    /// A spinner for a wait, with `message` (scrubbed).
    pub fn spinner(&self, message: &str) -> Progress {
        let message = self.secrets.scrub(message);
        self.meter(Gauge::Spinner { message: &message })
    }

    fn meter(&self, gauge: Gauge<'_>) -> Progress {
        Progress {
            meter: self.to.as_ref().and_then(|to| to.meter(gauge)),
            secrets: self.secrets.clone(),
        }
    }
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let to = match self.to {
            Some(_) => "a report",
            None => "silent",
        };
        f.debug_struct("Reporter").field("to", &to).finish()
    }
}

/// A progress display, or nothing where the reporter shows none; cleared
/// when dropped.
pub struct Progress {
    meter: Option<Box<dyn Meter>>,
    secrets: Secrets,
}

impl Progress {
    /// A display that shows nothing.
    pub fn hidden() -> Progress {
        Progress {
            meter: None,
            secrets: Secrets::default(),
        }
    }

    /// Counts `n` more bytes.
    pub fn inc(&self, n: u64) {
        if let Some(meter) = &self.meter {
            meter.inc(n);
        }
    }

    /// Sets the count (after a resume, say).
    pub fn set_position(&self, n: u64) {
        if let Some(meter) = &self.meter {
            meter.set_position(n);
        }
    }

    /// Changes the message (scrubbed).
    pub fn set_message(&self, message: String) {
        if let Some(meter) = &self.meter {
            meter.set_message(self.secrets.scrub(&message).into_owned());
        }
    }
}

/// A reader that counts what passes through it on a [`Progress`].
pub struct Counted<'a, R> {
    inner: R,
    progress: &'a Progress,
}

impl<'a, R> Counted<'a, R> {
    /// Counts the bytes read from `inner` on `progress`.
    pub fn new(inner: R, progress: &'a Progress) -> Counted<'a, R> {
        Counted { inner, progress }
    }

    /// The reader inside.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: std::io::Read> std::io::Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Token;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Lines(Mutex<Vec<String>>);

    impl Report for Arc<Lines> {
        fn note(&self, line: &str) {
            self.0.lock().unwrap().push(format!("note: {line}"));
        }
        fn warn(&self, line: &str) {
            self.0.lock().unwrap().push(format!("warning: {line}"));
        }
    }

    #[test]
    fn lines_reach_the_report_scrubbed_and_a_silent_reporter_tells_nobody() {
        let lines = Arc::new(Lines::default());
        let token = Token::new("s3cr3t-t0ken-value".to_string());
        let reporter = Reporter::new(lines.clone()).with_secrets(&Secrets::of(&token));
        reporter.note("sent Bearer s3cr3t-t0ken-value");
        reporter.warn("echoed s3cr3t-t0ken-value back");
        let got = lines.0.lock().unwrap().clone();
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|l| !l.contains("s3cr3t")), "{got:?}");
        // Two reporters in one process do not share anything.
        let silent = Reporter::silent();
        silent.note("nobody hears this");
        silent.bytes("nothing", Some(3)).inc(3);
        assert_eq!(lines.0.lock().unwrap().len(), 2);
    }
}
