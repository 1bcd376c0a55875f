//! Progress on stderr for a person watching: bytes, rate and time left for
//! transfers; status, elapsed time and the next poll while waiting.
//!
//! Only on a terminal, and never with `--quiet`: a script reading stderr
//! gets the plain lines of [`messages`](crate::messages) and nothing else.
//! Messages printed while a bar is shown go above it.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::messages::{is_quiet, showing};

fn visible() -> bool {
    !is_quiet() && std::io::stderr().is_terminal()
}

/// A progress display; hidden when stderr is not a terminal or with `--quiet`.
/// Dropping it clears it.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A byte counter for a transfer: `what`, bytes, rate and time left.
    pub fn bytes(what: &str, total: Option<u64>) -> Progress {
        let template = match total {
            Some(_) => "{msg} {bytes}/{total_bytes} {wide_bar} {binary_bytes_per_sec} {eta} left",
            None => "{msg} {bytes} {binary_bytes_per_sec}",
        };
        Progress::show(ProgressBar::new(total.unwrap_or(0)), template, what)
    }

    /// A spinner with a message, for waiting.
    pub fn spinner(message: &str) -> Progress {
        let progress = Progress::show(ProgressBar::new_spinner(), "{spinner} {msg}", message);
        progress.bar.enable_steady_tick(Duration::from_millis(120));
        progress
    }

    fn show(bar: ProgressBar, template: &str, message: &str) -> Progress {
        if !visible() {
            return Progress {
                bar: ProgressBar::hidden(),
            };
        }
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(message.to_string());
        showing(Some(bar.clone()));
        Progress { bar }
    }

    /// Counts `n` more bytes.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Sets the count (after a resume, say).
    pub fn set_position(&self, n: u64) {
        self.bar.set_position(n);
    }

    /// Changes the message.
    pub fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        showing(None);
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
