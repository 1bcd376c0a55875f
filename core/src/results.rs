//! Results files: JSON Lines, one object per compliance event, checked as
//! they stream by and summed up per reason.
//!
//! An event is a JSON object with string `id`, `action` and `reason`; unknown
//! reasons are counted as they are. Any other JSON object (an error record,
//! say) is kept in the file and counted apart. A line that is not a JSON
//! object means the body is corrupt. CRLF endings, blank lines and a missing
//! final newline are tolerated. An empty file means every ID is compliant.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use serde::de::IgnoredAny;
use serde::Deserialize;

/// How many distinct reasons are counted by name before the rest are lumped
/// together; a corrupt or hostile file must not grow memory without bound.
const MAX_REASONS: usize = 64;

/// The longest line kept while waiting for its end: far beyond any event.
const MAX_LINE: usize = 1024 * 1024;

/// What a results file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Compliance events in total.
    pub events: u64,
    /// Events per reason, by name.
    pub reasons: BTreeMap<String, u64>,
    /// JSON objects that are not events (kept in the file, counted here).
    pub other_records: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.events == 0 {
            write!(f, "no compliance events: every uploaded ID is compliant")?;
        } else {
            let plural = if self.events == 1 { "" } else { "s" };
            write!(f, "{} compliance event{plural}", self.events)?;
            let parts: Vec<String> = self
                .reasons
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        if self.other_records > 0 {
            write!(
                f,
                "; {} other record(s) kept, not events",
                self.other_records
            )?;
        }
        Ok(())
    }
}

/// The fields of an event this tool reads; the rest are left in the file.
/// Strings borrow from the line unless they hold escapes.
#[derive(Deserialize)]
struct EventFields<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
}

/// The fast path for a line written the way the API writes events: a flat
/// JSON object with no white space whose values are all plain strings
/// (printable ASCII, no escapes). Returns `Some(Some(reason))` for an event,
/// `Some(None)` for another such object, and `None` for anything else, which
/// the full parser then reads.
fn flat_object(line: &[u8]) -> Option<Option<&str>> {
    let mut rest = line.strip_prefix(b"{")?.strip_suffix(b"}")?;
    if rest.is_empty() {
        return Some(None);
    }
    let (mut id, mut action, mut reason) = (false, false, None);
    loop {
        let (key, after) = plain_string(rest)?;
        let (value, after) = plain_string(after.strip_prefix(b":")?)?;
        let seen = match key {
            b"id" => std::mem::replace(&mut id, true),
            b"action" => std::mem::replace(&mut action, true),
            b"reason" => reason.replace(std::str::from_utf8(value).ok()?).is_some(),
            _ => false,
        };
        if seen {
            return None; // a duplicate key: let the full parser judge
        }
        match after {
            [] => break,
            [b',', more @ ..] => rest = more,
            _ => return None,
        }
    }
    Some(reason.filter(|_| id && action))
}

/// A string at the start of `bytes` with only printable ASCII and no
/// escapes: its contents, and what follows its closing quote.
fn plain_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let body = bytes.strip_prefix(b"\"")?;
    let end = memchr::memchr(b'"', body)?;
    let text = &body[..end];
    if text
        .iter()
        .any(|&b| !(b' '..=b'~').contains(&b) || b == b'\\')
    {
        return None;
    }
    Some((text, &body[end + 1..]))
}

/// Checks a results body fed in pieces of any size.
#[derive(Debug, Default)]
pub struct ResultsChecker {
    line: u64,
    carry: Vec<u8>,
    summary: Summary,
}

impl ResultsChecker {
    /// A checker at the start of a body.
    pub fn new() -> ResultsChecker {
        ResultsChecker::default()
    }

    /// Checks the next piece; fails on the first line that is not a JSON object.
    pub fn feed(&mut self, chunk: &[u8]) -> anyhow::Result<()> {
        let mut rest = chunk;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            if self.carry.is_empty() {
                self.check_line(&rest[..nl])?;
            } else {
                self.carry.extend_from_slice(&rest[..nl]);
                let line = std::mem::take(&mut self.carry);
                self.check_line(&line)?;
            }
            rest = &rest[nl + 1..];
        }
        if self.carry.len() + rest.len() > MAX_LINE {
            anyhow::bail!(
                "results line {} is over {MAX_LINE} bytes long: the body is corrupt",
                self.line + 1
            );
        }
        self.carry.extend_from_slice(rest);
        Ok(())
    }

    /// Ends the body (a last line needs no newline) and returns the summary.
    pub fn finish(mut self) -> anyhow::Result<Summary> {
        let last = std::mem::take(&mut self.carry);
        if !last.is_empty() {
            self.check_line(&last)?;
        }
        Ok(self.summary)
    }

    fn check_line(&mut self, line: &[u8]) -> anyhow::Result<()> {
        self.line += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line).trim_ascii();
        if line.is_empty() {
            return Ok(());
        }
        // Only an object counts: serde would read a struct from an array too.
        if line[0] != b'{' {
            return Err(self.corrupt(line));
        }
        let event = match flat_object(line) {
            Some(flat) => flat.map(Cow::Borrowed),
            None => match serde_json::from_slice::<EventFields>(line) {
                Ok(EventFields {
                    id: Some(_),
                    action: Some(_),
                    reason: Some(reason),
                }) => Some(reason),
                Ok(_) => None,
                // Valid JSON whose fields are not all strings is a record, not corruption.
                Err(_) => match serde_json::from_slice::<IgnoredAny>(line) {
                    Ok(_) => None,
                    Err(_) => return Err(self.corrupt(line)),
                },
            },
        };
        match event {
            Some(reason) => {
                self.summary.events += 1;
                if let Some(n) = self.summary.reasons.get_mut(reason.as_ref()) {
                    *n += 1;
                } else {
                    let key = if self.summary.reasons.len() < MAX_REASONS {
                        reason.into_owned()
                    } else {
                        "(other reasons)".to_string()
                    };
                    *self.summary.reasons.entry(key).or_default() += 1;
                }
            }
            None => self.summary.other_records += 1,
        }
        Ok(())
    }

    fn corrupt(&self, line: &[u8]) -> anyhow::Error {
        let text = String::from_utf8_lossy(line);
        let quoted: String = text.chars().take(60).collect();
        anyhow::anyhow!(
            "results line {} is not a JSON object ({quoted:?}): the body is corrupt",
            self.line
        )
    }
}

/// A [`ResultsChecker`] on a thread of its own, so that checking a download
/// overlaps receiving and writing it. Pieces go to it through a short queue
/// and come back empty to be filled again, so memory stays a few buffers.
pub struct BackgroundChecker {
    pieces: Option<SyncSender<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<anyhow::Result<Summary>>>,
    piece_size: usize,
}

impl BackgroundChecker {
    /// Starts the checker thread; pieces are `piece_size` bytes at most.
    pub fn start(piece_size: usize) -> BackgroundChecker {
        let (pieces, queue) = sync_channel::<Vec<u8>>(4);
        let (give_back, spare) = channel();
        let thread = std::thread::spawn(move || {
            let mut checker = ResultsChecker::new();
            for piece in queue {
                checker.feed(&piece)?;
                let _ = give_back.send(piece);
            }
            checker.finish()
        });
        BackgroundChecker {
            pieces: Some(pieces),
            spare,
            thread: Some(thread),
            piece_size,
        }
    }

    /// An empty buffer of `piece_size` bytes to read the next piece into.
    pub fn buffer(&self) -> Vec<u8> {
        let mut buf = self.spare.try_recv().unwrap_or_default();
        buf.resize(self.piece_size, 0);
        buf
    }

    /// Queues a piece for checking; fails at once if an earlier piece was corrupt.
    pub fn feed(&mut self, piece: Vec<u8>) -> anyhow::Result<()> {
        let sent = self.pieces.as_ref().map(|p| p.send(piece));
        match sent {
            Some(Ok(())) => Ok(()),
            // The thread stopped early: it has the error.
            _ => Err(self
                .join()
                .err()
                .unwrap_or_else(|| anyhow::anyhow!("the results checker stopped"))),
        }
    }

    /// Ends the body and returns the summary of all pieces.
    pub fn finish(mut self) -> anyhow::Result<Summary> {
        self.join()
    }

    fn join(&mut self) -> anyhow::Result<Summary> {
        drop(self.pieces.take());
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => anyhow::bail!("the results checker failed"),
            None => anyhow::bail!("the results checker already stopped"),
        }
    }
}

impl Drop for BackgroundChecker {
    fn drop(&mut self) {
        let _ = self.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &[u8], piece: usize) -> anyhow::Result<Summary> {
        let mut c = ResultsChecker::new();
        for chunk in body.chunks(piece.max(1)) {
            c.feed(chunk)?;
        }
        c.finish()
    }

    const BODY: &[u8] = b"{\"id\":\"1\",\"action\":\"delete\",\"created_at\":\"2019-10-29T17:02:47.000Z\",\"reason\":\"deleted\"}\r\n\
{\"id\":\"2\",\"action\":\"delete\",\"created_at\":\"2013-03-26T02:46:15+00:00\",\"reason\":\"prot\\u0065cted\"}\n\
{\"id\":\"3\",\"action\":\"delete\",\"reason\":\"bounced\",\"new\":{\"x\":[1]}}\n\
{\"error\":\"something\",\"id\":\"4\"}\n\n";

    #[test]
    fn counts_events_per_reason_and_other_records() {
        for piece in [1, 7, 4096] {
            let s = check(BODY, piece).unwrap();
            assert_eq!(s.events, 3);
            assert_eq!(s.other_records, 1);
            let reasons: Vec<_> = s.reasons.iter().map(|(r, n)| (r.as_str(), *n)).collect();
            assert_eq!(reasons, [("bounced", 1), ("deleted", 1), ("protected", 1)]);
        }
        assert_eq!(
            check(BODY, 3).unwrap().to_string(),
            "3 compliance events (bounced 1, deleted 1, protected 1); 1 other record(s) kept, not events"
        );
    }

    #[test]
    fn the_fast_path_agrees_with_the_parser() {
        // (line, what the fast path says, events the checker counts)
        let lines: &[(&str, Option<Option<&str>>, u64)] = &[
            (
                r#"{"id":"1","action":"delete","reason":"deleted"}"#,
                Some(Some("deleted")),
                1,
            ),
            (
                r#"{"reason":"geo","created_at":"2020-01-01T00:00:00+00:00","action":"delete","id":"2"}"#,
                Some(Some("geo")),
                1,
            ),
            (r#"{"id":"1","action":"delete"}"#, Some(None), 0),
            (r#"{}"#, Some(None), 0),
            (r#"{"id":"1","action":"delete","reason":"a\"b"}"#, None, 1),
            (r#"{"id":"1","action":"delete","reason":"é"}"#, None, 1),
            (r#"{ "id":"1","action":"delete","reason":"x"}"#, None, 1),
            (r#"{"id":1,"action":"delete","reason":"deleted"}"#, None, 0),
            // A duplicate key is valid JSON but no clear event: kept, counted apart.
            (
                r#"{"id":"1","id":"2","action":"delete","reason":"x"}"#,
                None,
                0,
            ),
        ];
        for (line, fast, events) in lines {
            assert_eq!(flat_object(line.as_bytes()), *fast, "{line}");
            assert_eq!(check(line.as_bytes(), 7).unwrap().events, *events, "{line}");
        }
        for corrupt in [
            r#"{"id":"1","action":"delete","reason":"x"},"#,
            r#"{"id":"1"}}"#,
            r#"{"id":"1""#,
        ] {
            assert_eq!(flat_object(corrupt.as_bytes()), None, "{corrupt}");
            assert!(check(corrupt.as_bytes(), 7).is_err(), "{corrupt}");
        }
    }

    #[test]
    fn the_background_checker_reports_what_the_checker_would() {
        let mut bg = BackgroundChecker::start(7);
        for chunk in BODY.chunks(7) {
            let mut piece = bg.buffer();
            piece.clear();
            piece.extend_from_slice(chunk);
            bg.feed(piece).unwrap();
        }
        assert_eq!(bg.finish().unwrap(), check(BODY, 4096).unwrap());

        // A corrupt line fails a later feed, or else the finish, naming the line.
        let mut bg = BackgroundChecker::start(64);
        let mut first_error = bg.feed(b"not json\n".to_vec()).err();
        for _ in 0..100 {
            if first_error.is_none() {
                first_error = bg.feed(BODY.to_vec()).err();
            }
        }
        let e = first_error.unwrap_or_else(|| bg.finish().unwrap_err());
        assert!(
            e.to_string()
                .starts_with("results line 1 is not a JSON object"),
            "{e}"
        );
    }

    #[test]
    fn empty_means_compliant() {
        let s = check(b"", 1).unwrap();
        assert_eq!(
            s.to_string(),
            "no compliance events: every uploaded ID is compliant"
        );
    }

    #[test]
    fn a_last_line_without_newline_counts() {
        let s = check(br#"{"id":"1","action":"delete","reason":"deleted"}"#, 5).unwrap();
        assert_eq!(s.events, 1);
    }

    #[test]
    fn non_objects_are_corrupt() {
        for bad in [
            &b"<?xml version='1.0'?><Error/>"[..],
            b"[\"1\",\"delete\",\"deleted\"]",
            b"{\"id\":\"1\",",
            b"42",
        ] {
            let mut body = BODY.to_vec();
            body.extend_from_slice(bad);
            let msg = check(&body, 9).unwrap_err().to_string();
            assert!(
                msg.starts_with("results line 6 is not a JSON object"),
                "{msg}"
            );
        }
    }
}
