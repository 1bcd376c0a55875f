//! What the stages show a person on stderr: the terminal's [`Report`].
//!
//! Notes (not with `--quiet`) and warnings (`warning: …`, always) are one
//! line each, made [`printable`], and printed above any progress bar shown.
//! Progress bars and spinners are drawn only when stderr is a terminal and
//! `--quiet` is not given: a script reading stderr gets the plain lines and
//! nothing else.
//!
//! stdout is for data; nothing here writes there.

use std::borrow::Cow;
use std::io::{self, IsTerminal as _, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::report::{Gauge, Meter, Report};

/// The bar on screen, if any: lines are printed above it. Shared by a
/// [`Terminal`] and the bars it draws.
type Shown = Arc<Mutex<Option<ProgressBar>>>;

/// Notes, warnings and progress on stderr, for the person who runs a stage.
pub struct Terminal {
    quiet: bool,
    bars: bool,
    shown: Shown,
    /// Where the lines go: stderr, but for the tests.
    out: Mutex<Box<dyn Write + Send>>,
}

impl Terminal {
    /// The terminal's report: notes only when not `quiet`, progress bars
    /// only when stderr is a terminal and not `quiet`.
    pub fn new(quiet: bool) -> Terminal {
        let bars = !quiet && io::stderr().is_terminal();
        Terminal::to(Box::new(io::stderr()), quiet, bars)
    }

    fn to(out: Box<dyn Write + Send>, quiet: bool, bars: bool) -> Terminal {
        Terminal {
            quiet,
            bars,
            shown: Shown::default(),
            out: Mutex::new(out),
        }
    }

    /// Writes `line`, made printable, above the bar shown if any.
    fn line(&self, line: &str) {
        let line = printable(line);
        let write = || {
            if let Ok(mut out) = self.out.lock() {
                // A stderr that cannot be written to has no one to tell.
                let _ = writeln!(out, "{line}");
            }
        };
        // The lock is not held while printing: a bar that draws takes it.
        let shown = self.shown.lock().ok().and_then(|s| s.clone());
        match shown {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

impl Report for Terminal {
    fn note(&self, line: &str) {
        if !self.quiet {
            self.line(line);
        }
    }

    fn warn(&self, line: &str) {
        self.line(&format!("warning: {line}"));
    }

    fn meter(&self, gauge: Gauge<'_>) -> Option<Box<dyn Meter>> {
        if !self.bars {
            return None;
        }
        let (bar, template, message) = match gauge {
            Gauge::Bytes {
                what,
                total: Some(total),
            } => (
                ProgressBar::new(total),
                "{msg} {bytes}/{total_bytes} {wide_bar} {binary_bytes_per_sec} {eta} left",
                what,
            ),
            Gauge::Bytes { what, total: None } => (
                ProgressBar::new(0),
                "{msg} {bytes} {binary_bytes_per_sec}",
                what,
            ),
            Gauge::Spinner { message } => (ProgressBar::new_spinner(), "{spinner} {msg}", message),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(printable(message).into_owned());
        if matches!(gauge, Gauge::Spinner { .. }) {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        if let Ok(mut shown) = self.shown.lock() {
            *shown = Some(bar.clone());
        }
        Some(Box::new(Bar {
            bar,
            shown: self.shown.clone(),
        }))
    }
}

/// A bar or spinner on stderr, cleared when dropped.
struct Bar {
    bar: ProgressBar,
    shown: Shown,
}

impl Meter for Bar {
    fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    fn set_position(&self, n: u64) {
        self.bar.set_position(n);
    }

    fn set_message(&self, message: String) {
        self.bar.set_message(printable(&message).into_owned());
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        if let Ok(mut shown) = self.shown.lock() {
            *shown = None;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Secrets, Token};
    use crate::report::Reporter;

    /// What a [`Terminal`] wrote, shared with the test.
    #[derive(Clone, Default)]
    struct Written(Arc<Mutex<Vec<u8>>>);

    impl Write for Written {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Written {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// A reporter to a [`Terminal`] writing to what the test reads.
    fn terminal(quiet: bool) -> (Reporter, Written) {
        let written = Written::default();
        let token = Token::new("s3cr3t-t0ken-value".to_string());
        let reporter = Reporter::new(Terminal::to(Box::new(written.clone()), quiet, false))
            .with_secrets(&Secrets::of(&token));
        (reporter, written)
    }

    #[test]
    fn notes_and_warnings_are_printable_lines_and_quiet_keeps_only_warnings() {
        let (reporter, written) = terminal(false);
        reporter.note("retrying \u{1b}[2J in 3 s");
        reporter.warn("echoed s3cr3t-t0ken-value back");
        assert_eq!(
            written.text(),
            "retrying \\u{1b}[2J in 3 s\nwarning: echoed <redacted> back\n"
        );
        let (quiet, written) = terminal(true);
        quiet.note("not shown");
        quiet.warn("shown");
        assert_eq!(written.text(), "warning: shown\n");
    }

    #[test]
    fn no_bars_off_a_terminal_or_with_quiet() {
        let (reporter, written) = terminal(false);
        let bar = reporter.bytes("uploading ids.txt", Some(10));
        bar.inc(10);
        drop(bar);
        reporter
            .spinner("waiting")
            .set_message("still waiting".to_string());
        assert_eq!(written.text(), "");
        let quiet = Terminal::new(true);
        assert!(quiet.meter(Gauge::Spinner { message: "w" }).is_none());
    }

    #[test]
    fn the_bar_shown_is_the_terminals_own_and_gone_once_dropped() {
        let written = Written::default();
        let term = Terminal::to(Box::new(written.clone()), false, true);
        let other = Terminal::to(Box::new(Written::default()), false, true);
        let bar = term.meter(Gauge::Bytes {
            what: "uploading ids.txt",
            total: Some(3),
        });
        assert!(bar.is_some());
        assert!(term.shown.lock().unwrap().is_some());
        assert!(other.shown.lock().unwrap().is_none(), "no shared state");
        term.note("above the bar");
        drop(bar);
        assert!(term.shown.lock().unwrap().is_none());
        assert_eq!(written.text(), "above the bar\n");
    }

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
