//! Messages for the person at the terminal, on stderr: notes (silenced by
//! `--quiet`) and warnings (never silenced), each one line, with the bearer
//! token scrubbed out, printed above any progress bar shown.
//!
//! stdout is for data; nothing here writes there.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use indicatif::ProgressBar;

static QUIET: AtomicBool = AtomicBool::new(false);

/// The progress bar on screen, if any: lines are printed above it.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Silences progress and notes (`--quiet`); warnings and errors still print.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub(crate) fn is_quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Prints a note on stderr (not with `--quiet`).
pub fn note(message: impl fmt::Display) {
    if !is_quiet() {
        eprint_line(&message.to_string());
    }
}

/// Prints a warning on stderr, as `warning: …`, even with `--quiet`.
pub fn warn(message: impl fmt::Display) {
    eprint_line(&format!("warning: {message}"));
}

/// Prints a line on stderr, scrubbed, above any progress bar shown.
pub(crate) fn eprint_line(line: &str) {
    let line = crate::auth::scrub(line);
    let line = line.as_ref();
    let shown = SHOWN.lock().ok().and_then(|s| s.clone());
    match shown {
        Some(bar) => bar.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    }
}

/// Records the bar now on screen (`None` once it is gone).
pub(crate) fn showing(bar: Option<ProgressBar>) {
    if let Ok(mut shown) = SHOWN.lock() {
        *shown = bar;
    }
}
