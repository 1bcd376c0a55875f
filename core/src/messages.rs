//! Messages for the person at the terminal, on stderr: notes (silenced by
//! `--quiet`) and warnings (never silenced), each one line, with the bearer
//! token scrubbed out, printed above any progress bar shown.
//!
//! stdout is for data; nothing here writes there.

use std::borrow::Cow;
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

/// Prints a line on stderr, scrubbed and made safe for a terminal, above
/// any progress bar shown.
pub(crate) fn eprint_line(line: &str) {
    let line = crate::auth::Secrets::from_env().scrub(line);
    let line = printable(&line);
    let line = line.as_ref();
    let shown = SHOWN.lock().ok().and_then(|s| s.clone());
    match shown {
        Some(bar) => bar.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    }
}

/// Whether a character would act on a terminal rather than show: a control
/// character (an escape sequence starts with one, C1's CSI is one), or one
/// that turns the direction of text (as "Trojan Source" uses them).
fn acts_on_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character that would act on a terminal shown as its
/// escape (`\u{1b}`): whatever a server sent is printed, never obeyed.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_on_terminal) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match acts_on_terminal(c) {
                true => c.escape_unicode().to_string(),
                false => c.to_string(),
            })
            .collect(),
    )
}

/// JSON text with the characters that would act on a terminal and that
/// JSON writers leave as they are (DEL, C1, direction marks) escaped as
/// `\u00XX`: they can stand only inside strings, where the escape means
/// the same.
pub fn printable_json(json: &str) -> Cow<'_, str> {
    if !json.chars().any(acts_on_terminal) {
        return Cow::Borrowed(json);
    }
    Cow::Owned(
        json.chars()
            .map(
                |c| match acts_on_terminal(c) && !matches!(c, '\n' | '\t' | '\r') {
                    true => format!("\\u{:04x}", c as u32),
                    false => c.to_string(),
                },
            )
            .collect(),
    )
}

/// Records the bar now on screen (`None` once it is gone).
pub(crate) fn showing(bar: Option<ProgressBar>) {
    if let Ok(mut shown) = SHOWN.lock() {
        *shown = bar;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_would_act_on_a_terminal_is_shown_not_obeyed() {
        let hostile = "reasons: \u{1b}]0;pwned\u{7}\u{1b}[2J evil\u{9b}1m \u{202e}txt.exe";
        let shown = printable(hostile);
        assert!(!shown.chars().any(acts_on_terminal), "{shown}");
        assert!(shown.contains("\\u{1b}]0;pwned"), "{shown}");
        assert_eq!(printable("caf\u{e9} \u{1f600}"), "caf\u{e9} \u{1f600}");
        let json =
            serde_json::to_string(&serde_json::json!({ "reason": "a\u{9b}b\u{7f}\u{202e}" }))
                .unwrap();
        let safe = printable_json(&json);
        assert!(!safe.chars().any(acts_on_terminal), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(
            back["reason"], "a\u{9b}b\u{7f}\u{202e}",
            "the same JSON value"
        );
    }
}
