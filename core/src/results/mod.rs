//! Results files: JSON Lines, one object per compliance event, checked as
//! they stream by and summed up per reason.
//!
//! An event is a JSON object with string `id`, `action` and `reason`; unknown
//! reasons are counted as they are. Any other JSON object (a record of a
//! kind this tool does not know) is counted apart: kept in a JSON Lines
//! file, left out of a CSV one. A line that is not a JSON object means the
//! body is corrupt, a line of white space alone included, and so does one
//! that is not text: bytes that are not UTF-8, or a `\u` escape of half a
//! surrogate pair, anywhere in the line. A line that is an error from the
//! server (an `errors` array, or a problem document's `title` with its
//! `type` or `detail`, and no `id`) means the body is not results at all.
//! CRLF endings, empty lines and a missing final newline are tolerated. An
//! empty file means every ID is compliant.
//!
//! What an event is, is said once ([`Event`]): the check makes one of each
//! event line, by its fast path or its parser, and passes it on to the
//! summary's count and to an [`EventSink`], such as the [`CsvWriter`]. The
//! results are written as they came ([`Format::Jsonl`]) or as CSV
//! ([`Format::Csv`]: a row for each event the check passed, and so for each
//! event the summary counts).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::IgnoredAny;

use crate::error::{describe_error_item, one_line, Error, ErrorKind, NotValid, Result};

mod csv;
mod event;
mod flat;

use event::Record;
use flat::Marks;

pub use csv::{unguard, CsvWriter, CSV_HEADER};
pub use event::{Event, EventSink, Field, Text};

/// How the results are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// JSON Lines, byte for byte as the API sent them.
    #[default]
    Jsonl,
    /// CSV, one row per event (see [`CsvWriter`]); other records left out.
    Csv,
}

impl std::str::FromStr for Format {
    type Err = NotValid;

    /// `jsonl` or `csv`.
    fn from_str(value: &str) -> std::result::Result<Format, NotValid> {
        match value {
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            _ => Err(NotValid("jsonl or csv".into())),
        }
    }
}

impl Format {
    /// Its name, as `--format` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many distinct reasons are counted by name before the rest are lumped
/// together; a corrupt or hostile file must not grow memory without bound.
const MAX_REASONS: usize = 64;

/// The longest line kept while waiting for its end: far beyond any event.
const MAX_LINE: usize = 1024 * 1024;

/// What a results file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines that are not empty: events and other records.
    pub lines: u64,
    /// Compliance events in total.
    pub events: u64,
    /// Events per reason, by name.
    pub reasons: BTreeMap<String, u64>,
    /// JSON objects that are not events: kept in a JSON Lines file, left
    /// out of a CSV one, counted here.
    pub other_records: u64,
}

impl Summary {
    /// The summary in words, saying what became of the other records in a
    /// file of `format`: kept in JSON Lines, left out of CSV. (`Display`
    /// says it of JSON Lines.)
    pub fn describe(&self, format: Format) -> String {
        InWords(self, format).to_string()
    }

    /// Adds the summary of another body: what several jobs' results
    /// written as one file hold.
    pub fn add(&mut self, other: Summary) {
        self.lines += other.lines;
        self.events += other.events;
        self.other_records += other.other_records;
        for (reason, n) in other.reasons {
            *self.reasons.entry(reason).or_default() += n;
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        InWords(self, Format::Jsonl).fmt(f)
    }
}

/// A summary in words, for a file of a format.
struct InWords<'s>(&'s Summary, Format);

impl fmt::Display for InWords<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let InWords(summary, format) = self;
        if summary.events == 0 {
            write!(f, "no compliance events: every uploaded ID is compliant")?;
        } else {
            let plural = if summary.events == 1 { "" } else { "s" };
            write!(f, "{} compliance event{plural}", summary.events)?;
            let parts: Vec<String> = summary
                .reasons
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        if summary.other_records > 0 {
            let fate = match format {
                Format::Jsonl => "kept",
                Format::Csv => "left out",
            };
            write!(
                f,
                "; {} other record(s) {fate}, not events",
                summary.other_records
            )?;
        }
        Ok(())
    }
}

/// The length and first 16 bytes of a reason: for the usual short reasons,
/// comparing tags compares the names, without a call to compare bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ReasonTag(usize, [u8; 16]);

impl ReasonTag {
    fn of(reason: &[u8]) -> ReasonTag {
        let mut head = [0; 16];
        let n = reason.len().min(16);
        head[..n].copy_from_slice(&reason[..n]);
        ReasonTag(reason.len(), head)
    }
}

/// Events per reason, counted as they pass: the summary's count.
#[derive(Debug, Default)]
struct Tally {
    events: u64,
    other_records: u64,
    /// Events per reason, as [`MAX_REASONS`] names and the rest: a short
    /// list is quicker to search than a map, with four or five reasons.
    reasons: Vec<(ReasonTag, Vec<u8>, u64)>,
    other_reasons: u64,
}

impl Tally {
    /// Counts another record, not an event.
    fn other(&mut self) {
        self.other_records += 1;
    }

    /// The summary of what was counted.
    fn summary(self) -> Summary {
        let mut summary = Summary {
            lines: self.events + self.other_records,
            events: self.events,
            reasons: BTreeMap::new(),
            other_records: self.other_records,
        };
        for (_, reason, n) in self.reasons {
            let reason = String::from_utf8_lossy(&reason).into_owned();
            *summary.reasons.entry(reason).or_default() += n;
        }
        if self.other_reasons > 0 {
            *summary.reasons.entry("(other reasons)".into()).or_default() += self.other_reasons;
        }
        summary
    }
}

impl EventSink for Tally {
    /// Counts an event under its reason. Inlined on the fast path, so that
    /// an event no sink keeps is never made whole.
    #[inline(always)]
    fn event(&mut self, event: &Event<'_>) {
        self.events += 1;
        let reason = event.reason.as_bytes();
        let tag = ReasonTag::of(reason);
        let known = self
            .reasons
            .iter_mut()
            .find(|(t, name, _)| *t == tag && (reason.len() <= 16 || name == reason));
        if let Some((_, _, n)) = known {
            *n += 1;
        } else if self.reasons.len() < MAX_REASONS {
            self.reasons.push((tag, reason.to_vec(), 1));
        } else {
            self.other_reasons += 1;
        }
    }
}

/// Checks a results body fed in pieces of any size, and counts its events
/// and other records; each event goes on to an [`EventSink`] too, if given
/// one ([`ResultsChecker::feed_into`]).
///
/// A line that is not a result is an [`Integrity`](ErrorKind::Integrity)
/// error: the body is corrupt. One that is an error from the server is a
/// [`BadAnswer`](ErrorKind::BadAnswer): the body is not results at all.
#[derive(Debug, Default)]
pub struct ResultsChecker {
    line: u64,
    carry: Vec<u8>,
    tally: Tally,
    marks: Marks,
}

impl ResultsChecker {
    /// A checker at the start of a body.
    pub fn new() -> ResultsChecker {
        ResultsChecker::default()
    }

    /// Checks the next piece; fails on the first line that is not a result.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        self.feed_into(chunk, &mut |_: &Event<'_>| {})
    }

    /// Checks the next piece, as [`ResultsChecker::feed`] does, passing each
    /// event of the lines it ends to `sink`, in order. Those of a piece
    /// with a bad line may have been passed before the failure.
    pub fn feed_into(&mut self, chunk: &[u8], sink: &mut impl EventSink) -> Result<()> {
        let mut at = 0;
        if !self.carry.is_empty() {
            let Some(nl) = memchr::memchr(b'\n', chunk) else {
                return self.push_carry(chunk);
            };
            self.carry.extend_from_slice(&chunk[..nl]);
            let line = std::mem::take(&mut self.carry);
            self.check_line(&line, sink)?;
            at = nl + 1;
        }
        self.marks.compute(chunk);
        loop {
            // The fast path takes the flat lines; the parser the others.
            while let Some((next, record)) = self.marks.flat_line(chunk, at) {
                self.line += 1;
                self.pass(record, sink);
                at = next;
            }
            let Some(nl) = memchr::memchr(b'\n', &chunk[at..]) else {
                break;
            };
            self.check_line(&chunk[at..at + nl], sink)?;
            at += nl + 1;
        }
        self.push_carry(&chunk[at..])
    }

    fn push_carry(&mut self, rest: &[u8]) -> Result<()> {
        if self.carry.len() + rest.len() > MAX_LINE {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "results line {} is over {MAX_LINE} bytes long: the body is corrupt",
                    self.line + 1
                ),
            ));
        }
        self.carry.extend_from_slice(rest);
        Ok(())
    }

    /// Ends the body (a last line needs no newline) and returns the summary.
    pub fn finish(self) -> Result<Summary> {
        self.finish_into(&mut |_: &Event<'_>| {})
    }

    /// Ends the body as [`ResultsChecker::finish`] does, passing the event
    /// of its last line, if it is one, to `sink`.
    pub fn finish_into(mut self, sink: &mut impl EventSink) -> Result<Summary> {
        let last = std::mem::take(&mut self.carry);
        if !last.is_empty() {
            self.check_line(&last, sink)?;
        }
        Ok(self.tally.summary())
    }

    /// Counts a line that passed, and passes its event on to `sink`: what
    /// the summary counts is what the sink gets.
    #[inline]
    fn pass(&mut self, record: Record<'_>, sink: &mut impl EventSink) {
        match record {
            Record::Event(event) => {
                self.tally.event(&event);
                sink.event(&event);
            }
            Record::Other => self.tally.other(),
        }
    }

    fn check_line(&mut self, line: &[u8], sink: &mut impl EventSink) -> Result<()> {
        self.line += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Ok(());
        }
        // Only an object counts: serde would read a struct from an array
        // too. A line of white space alone is no more JSON than any other.
        let line = line.trim_ascii();
        if line.first() != Some(&b'{') {
            return Err(self.corrupt(line));
        }
        // serde_json skips the strings of the members it ignores without
        // looking at them: the whole line is checked to be text here.
        if let Err(e) = std::str::from_utf8(line) {
            let at = e.valid_up_to() + 1;
            return Err(self.not_text(line, &format!("byte {at} is not UTF-8")));
        }
        let parsed = event::parse(line);
        let record = match &parsed {
            Ok(fields) => fields.record(),
            // Valid JSON whose fields are not an event's is a record, not corruption.
            Err(_) => match serde_json::from_slice::<IgnoredAny>(line) {
                Ok(_) => Record::Other,
                Err(_) => return Err(self.corrupt(line)),
            },
        };
        if let Some(half) = lone_surrogate(line) {
            let why = format!("it escapes half a surrogate pair alone (\\u{half:04x})");
            return Err(self.not_text(line, &why));
        }
        if matches!(record, Record::Other) {
            if let Some(said) = server_error(line) {
                return Err(Error::new(
                    ErrorKind::BadAnswer,
                    format!(
                        "results line {} is an error from the server, not a result: {said}",
                        self.line
                    ),
                ));
            }
        }
        self.pass(record, sink);
        Ok(())
    }

    fn corrupt(&self, line: &[u8]) -> Error {
        Error::new(
            ErrorKind::Integrity,
            format!(
                "results line {} is not a JSON object ({}): the body is corrupt",
                self.line,
                quoted(line)
            ),
        )
    }

    fn not_text(&self, line: &[u8], why: &str) -> Error {
        Error::new(
            ErrorKind::Integrity,
            format!(
                "results line {} is not text: {why} ({}): the body is corrupt",
                self.line,
                quoted(line)
            ),
        )
    }
}

/// The start of a line, quoted for a message.
fn quoted(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    format!("{:?}", text.chars().take(60).collect::<String>())
}

/// The first `\u` escape in a line of valid JSON that is half a surrogate
/// pair alone: a high half not followed at once by a low one, or a low half
/// without its high one. Such a string is not text (serde_json refuses it
/// as a string, but skips it unread in a member it ignores).
fn lone_surrogate(line: &[u8]) -> Option<u16> {
    let mut at = 0;
    // A high half waiting for its low half, and where that must start.
    let mut high: Option<(u16, usize)> = None;
    // In valid JSON a backslash is found only in a string, starting an escape.
    while let Some(k) = memchr::memchr(b'\\', &line[at..]) {
        let start = at + k;
        let code = match line.get(start + 1) {
            Some(b'u') => line
                .get(start + 2..start + 6)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u16::from_str_radix(hex, 16).ok()),
            _ => None,
        };
        match (high.take(), code) {
            (Some((_, next)), Some(0xDC00..=0xDFFF)) if next == start => {}
            (Some((half, _)), _) => return Some(half),
            (None, Some(half @ 0xD800..=0xDBFF)) => high = Some((half, start + 6)),
            (None, Some(half @ 0xDC00..=0xDFFF)) => return Some(half),
            (None, _) => {}
        }
        at = start + if code.is_some() { 6 } else { 2 };
    }
    high.map(|(half, _)| half)
}

/// What a line says, if it is an error from the server rather than a
/// result: an object without `id` holding an `errors` array (the API's
/// `{"errors": [...]}`), or a problem document's `title` with its `type` or
/// `detail`. `None` for anything else. Read only for lines that are not
/// events, which are rare.
fn server_error(line: &[u8]) -> Option<String> {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(line) else {
        return None;
    };
    error_document(&object)
}

/// [`server_error`] of an object already read.
fn error_document(object: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    use serde_json::Value;
    if object.contains_key("id") {
        return None;
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(one_line);
    if let Some(errors) = object.get("errors").and_then(Value::as_array) {
        let mut said: Vec<String> = errors
            .iter()
            .take(3)
            .map(|e| one_line(&describe_error_item(e)))
            .collect();
        if errors.len() > 3 {
            said.push(format!("and {} more", errors.len() - 3));
        }
        if let Some(title) = text("title") {
            said.insert(0, title);
        }
        return Some(match said.is_empty() {
            true => "an empty `errors` list".to_string(),
            false => said.join("; "),
        });
    }
    let title = text("title")?;
    match (text("type"), text("detail")) {
        (_, Some(detail)) if detail != title => Some(format!("{title}: {detail}")),
        (Some(_), _) | (_, Some(_)) => Some(title),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &[u8], piece: usize) -> Result<Summary> {
        let mut c = ResultsChecker::new();
        for chunk in body.chunks(piece.max(1)) {
            c.feed(chunk)?;
        }
        c.finish()
    }

    /// The summary of `body` fed in pieces of `piece` bytes, and the events
    /// passed on, in order (as their `Debug`, which shows every field).
    fn check_events(body: &[u8], piece: usize) -> Result<(Summary, Vec<String>)> {
        let mut events = Vec::new();
        let mut sink = |e: &Event<'_>| events.push(format!("{e:?}"));
        let mut c = ResultsChecker::new();
        for chunk in body.chunks(piece.max(1)) {
            c.feed_into(chunk, &mut sink)?;
        }
        let summary = c.finish_into(&mut sink)?;
        Ok((summary, events))
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
            assert_eq!(s.lines, 4, "the empty line is not one");
            let reasons: Vec<_> = s.reasons.iter().map(|(r, n)| (r.as_str(), *n)).collect();
            assert_eq!(reasons, [("bounced", 1), ("deleted", 1), ("protected", 1)]);
        }
        assert_eq!(
            check(BODY, 3).unwrap().to_string(),
            "3 compliance events (bounced 1, deleted 1, protected 1); 1 other record(s) kept, not events"
        );
        assert_eq!(
            check(BODY, 3).unwrap().describe(Format::Csv),
            "3 compliance events (bounced 1, deleted 1, protected 1); 1 other record(s) left out, not events"
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
        // The reason the fast path finds in a line alone, with its `\n`;
        // any record it makes is the parser's.
        fn flat_alone(line: &str) -> Option<Option<String>> {
            let body = format!("{line}\n");
            let mut marks = Marks::default();
            marks.compute(body.as_bytes());
            let (next, record) = marks.flat_line(body.as_bytes(), 0)?;
            assert_eq!(next, body.len());
            let parsed = event::parse(line.as_bytes()).ok();
            assert_eq!(Some(record), parsed.as_ref().map(event::Fields::record));
            Some(match record {
                Record::Event(event) => Some(event.reason.to_string()),
                Record::Other => None,
            })
        }
        for (line, fast, events) in lines {
            let fast = fast.map(|f| f.map(str::to_string));
            assert_eq!(flat_alone(line), fast, "{line}");
            assert_eq!(check(line.as_bytes(), 7).unwrap().events, *events, "{line}");
        }
        for corrupt in [
            r#"{"id":"1","action":"delete","reason":"x"},"#,
            r#"{"id":"1"}}"#,
            r#"{"id":"1""#,
            // A problem document, flat: not a result, and not the fast path's.
            r#"{"title":"Service Unavailable","detail":"Try again","type":"about:blank"}"#,
            r#"{"type":"https://api.x.com/2/problems/x","title":"Not Found"}"#,
        ] {
            assert_eq!(flat_alone(corrupt), None, "{corrupt}");
            assert!(check(corrupt.as_bytes(), 7).is_err(), "{corrupt}");
        }
    }

    /// What the checker must say of a body, judged line by line by the
    /// full parser alone: its summary and its events, or the first bad line.
    fn reference(body: &[u8]) -> std::result::Result<(Summary, Vec<String>), u64> {
        let mut summary = Summary::default();
        let mut events = Vec::new();
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let line = line.trim_ascii();
            if line.first() != Some(&b'{') {
                return Err(i as u64 + 1);
            }
            // A `Value` reads every string, so it refuses bytes that are
            // not UTF-8 and half a surrogate pair, wherever they are.
            let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(line) else {
                return Err(i as u64 + 1);
            };
            let parsed = event::parse(line);
            match parsed.as_ref().map(event::Fields::record) {
                Ok(Record::Event(event)) => {
                    summary.events += 1;
                    *summary.reasons.entry(event.reason.to_string()).or_default() += 1;
                    events.push(format!("{event:?}"));
                }
                _ if error_document(&object).is_some() => return Err(i as u64 + 1),
                _ => summary.other_records += 1,
            }
        }
        summary.lines = summary.events + summary.other_records;
        Ok((summary, events))
    }

    #[test]
    fn the_fast_path_agrees_with_the_full_parser_on_random_bodies() {
        // Pieces of lines, good and bad, put together at random.
        let text: &[&str] = &[
            r#"{"id":"1445104354626515211","action":"delete","created_at":"2021-10-04T19:11:41.540Z","reason":"suspended"}"#,
            r#"{"id":"2","action":"delete","reason":"deleted"}"#,
            r#"{"reason":"scrub_geo","id":"3","action":"scrub_geo"}"#,
            r#"{"id":"4","action":"delete","reason":"protected","redacted_at":"2023-04-04T20:57:31.985Z"}"#,
            r#"{"id":"5","action":"delete"}"#,
            r#"{}"#,
            r#"{"id":"6","action":"delete","reason":"a\"b"}"#,
            r#"{"id":"7","action":"delete","reason":"é"}"#,
            r#"{ "id":"8","action":"delete","reason":"x"}"#,
            r#"{"id":9,"action":"delete","reason":"deleted"}"#,
            r#"{"id":"1","id":"2","action":"delete","reason":"x"}"#,
            r#"{"id":"10","action":"delete","reason":"new","extra":{"a":[1,"b"]}}"#,
            r#"{"id":"11","action":"delete","reason":"tab	in"}"#,
            r#"{"id":"12","action":"delete","reason":"deleted"}}"#,
            r#"{"id":"13","action":"delete","reason":"deleted",}"#,
            r#"{"id":"14""action":"delete","reason":"deleted"}"#,
            r#"{"id":"15":"action","delete":"reason","deleted"}"#,
            r#"{"id":"16","action":"delete","reason":"deleted""#,
            r#"{"id":"17","action":1","reason":"deleted"}"#,
            "{\"id\":\"18\",\"action\":\"delete\",\"reason\":\"del\u{1}eted\"}",
            "{\"id\":\"19\",\"action\":\"delete\",\"reason\":\"del\reted\"}",
            "{\"id\":\"20\",\"action\":\"delete\",\"reason\":\"deleted\"}\r{}",
            r#"[1]"#,
            r#"not json"#,
            "",
            "  ",
            // Escapes: a surrogate pair, half of one alone, a backslash.
            r#"{"id":"21","action":"delete","reason":"\ud83d\ude00"}"#,
            r#"{"id":"22","action":"delete","reason":"deleted","x":"\ud800"}"#,
            r#"{"id":"23","action":"delete","reason":"\udc00"}"#,
            r#"{"id":"24","action":"delete","reason":"deleted","x":"\ud800\n"}"#,
            r#"{"id":"25","action":"delete","reason":"deleted","x":"\\ud800"}"#,
            r#"{"id":"26","action":"delete","reason":"deleted","x":"\ud800\\udc00"}"#,
            // Errors from the server, and objects that only look like one.
            r#"{"errors":[{"message":"Sorry, that page does not exist","code":34}]}"#,
            r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#,
            r#"{"title":"Service Unavailable","detail":"Try again","type":"about:blank"}"#,
            r#"{"title":"just a title"}"#,
            r#"{"id":"27","errors":[],"title":"x","type":"y"}"#,
        ];
        // Lines that are not text.
        let bytes: &[&[u8]] = &[
            b"{\"id\":\"28\",\"action\":\"delete\",\"reason\":\"caf\xe9\"}",
            b"{\"id\":\"29\",\"action\":\"delete\",\"reason\":\"deleted\",\"x\":\"\xff\xfe\"}",
            b"{\"id\":\"30\",\"action\":\"delete\",\"reason\":\"deleted\",\"x\":\"\xed\xa0\x80\"}",
        ];
        let parts: Vec<&[u8]> = text
            .iter()
            .map(|t| t.as_bytes())
            .chain(bytes.iter().copied())
            .collect();
        let mut next = crate::xorshift::xorshift(0x9E37_79B9_7F4A_7C15);
        for round in 0..300 {
            let mut body = Vec::new();
            for _ in 0..next() % 40 {
                // Mostly good lines, now and then one of the others.
                let part = match next() % 4 {
                    0 => parts[(next() % parts.len() as u64) as usize],
                    _ => parts[(next() % 4) as usize],
                };
                body.extend_from_slice(part);
                body.extend_from_slice(match next() % 5 {
                    0 => b"\r\n",
                    _ => b"\n",
                });
            }
            if round % 3 == 0 {
                body.pop(); // no final newline
            }
            let want = reference(&body);
            for piece in [1, 7, 64, 100, 4096] {
                let got = check_events(&body, piece);
                match (&want, got) {
                    (Ok(want), Ok(got)) => assert_eq!(&got, want, "piece {piece}"),
                    (Err(line), Err(e)) => assert!(
                        e.to_string().starts_with(&format!("results line {line} ")),
                        "piece {piece}: {e}"
                    ),
                    (want, got) => panic!(
                        "piece {piece}: want {want:?}, got {got:?} for\n{}",
                        String::from_utf8_lossy(&body)
                    ),
                }
            }
        }
    }

    #[test]
    fn the_fast_path_takes_the_lines_the_api_writes() {
        let mut body = Vec::new();
        for i in 0..100 {
            let redacted = match i % 3 {
                0 => r#","redacted_at":"2023-04-04T20:57:31.985Z""#,
                _ => "",
            };
            body.extend_from_slice(
                format!(
                    r#"{{"id":"{}","action":"delete","created_at":"2021-10-04T19:11:41.540Z"{redacted},"reason":"deleted"}}"#,
                    1_000_000_007u64 * 1_000_003 + i
                )
                .as_bytes(),
            );
            body.extend_from_slice(if i % 2 == 0 { b"\n" } else { b"\r\n" });
        }
        let mut marks = Marks::default();
        marks.compute(&body);
        let (mut at, mut lines) = (0, 0);
        while let Some((next, record)) = marks.flat_line(&body, at) {
            let line = body[at..next].trim_ascii_end();
            let parsed = event::parse(line).ok();
            assert_eq!(Some(record), parsed.as_ref().map(event::Fields::record));
            let Record::Event(event) = record else {
                panic!("not an event: {}", String::from_utf8_lossy(line));
            };
            assert_eq!(event.reason, Text::from("deleted"));
            let redacted = event.redacted_at.map(|_| ());
            assert_eq!(redacted, (lines % 3 == 0).then_some(()), "line {lines}");
            (at, lines) = (next, lines + 1);
        }
        assert_eq!((at, lines), (body.len(), 100));
    }

    #[test]
    fn formats_by_name() {
        assert_eq!("jsonl".parse(), Ok(Format::Jsonl));
        assert_eq!("csv".parse(), Ok(Format::Csv));
        for bad in ["xml", "CSV", "", "json"] {
            let e = bad.parse::<Format>().unwrap_err();
            assert_eq!(e.to_string(), "must be jsonl or csv");
        }
        assert_eq!(Format::Csv.to_string(), "csv");
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
    fn a_line_that_is_not_text_is_corrupt_wherever_it_is_not() {
        let lines: &[(&[u8], &str)] = &[
            (
                b"{\"id\":\"1\",\"action\":\"delete\",\"reason\":\"caf\xe9\"}",
                "byte 42 is not UTF-8",
            ),
            (
                b"{\"id\":\"1\",\"action\":\"delete\",\"reason\":\"x\",\"note\":\"\xff\"}",
                "is not UTF-8",
            ),
            (
                br#"{"id":"1","action":"delete","reason":"\ud800"}"#,
                "half a surrogate pair alone (\\ud800)",
            ),
            (
                br#"{"id":"1","action":"delete","reason":"x","note":"\udfff"}"#,
                "(\\udfff)",
            ),
            (
                br#"{"id":"1","action":"delete","reason":"x","note":"\ud83d\u0041"}"#,
                "(\\ud83d)",
            ),
            (
                br#"{"id":"1","action":"delete","reason":"x","note":"a\ud83d"}"#,
                "(\\ud83d)",
            ),
        ];
        for (line, says) in lines {
            let mut body = BODY.to_vec();
            body.extend_from_slice(line);
            for piece in [1, 9, 4096] {
                let msg = check(&body, piece).unwrap_err().to_string();
                assert!(msg.starts_with("results line 6 is not text: "), "{msg}");
                assert!(msg.contains(says), "{msg}");
            }
        }
        // Escapes that are text: a pair, and an escaped backslash before `u`.
        let fine = br#"{"id":"1","action":"delete","reason":"\ud83d\ude00","x":"\\ud800"}"#;
        assert_eq!(check(fine, 5).unwrap().events, 1);
    }

    #[test]
    fn an_error_from_the_server_is_not_results() {
        for (body, says) in [
            (
                r#"{"errors":[{"message":"Sorry, that page does not exist","code":34}]}"#,
                "Sorry, that page does not exist",
            ),
            (
                r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#,
                ": Unauthorized",
            ),
            (
                r#"{"title":"Service Unavailable","detail":"Try again later","type":"about:blank"}"#,
                "Service Unavailable: Try again later",
            ),
        ] {
            for piece in [1, 7, 4096] {
                let msg = check(body.as_bytes(), piece).unwrap_err().to_string();
                assert!(
                    msg.starts_with("results line 1 is an error from the server, not a result"),
                    "{msg}"
                );
                assert!(msg.ends_with(says), "{msg}");
            }
        }
        // Records that are not events, but no error either, stay records.
        for record in [
            r#"{"error":"something","id":"4"}"#,
            r#"{"title":"a title alone"}"#,
            r#"{"id":"5","errors":[{"message":"x"}]}"#,
        ] {
            assert_eq!(check(record.as_bytes(), 3).unwrap().other_records, 1);
        }
    }

    #[test]
    fn a_corrupt_line_is_an_integrity_error_and_an_error_from_the_server_a_bad_answer() {
        for (body, kind) in [
            (&b"{\"id\":\"1\",\n"[..], ErrorKind::Integrity),
            (b"{\"reason\":\"caf\xe9\"}\n", ErrorKind::Integrity),
            (&[b'{'; MAX_LINE + 1][..], ErrorKind::Integrity),
            (
                b"{\"errors\":[{\"message\":\"x\"}]}\n",
                ErrorKind::BadAnswer,
            ),
        ] {
            assert_eq!(check(body, 4096).unwrap_err().kind(), kind);
        }
    }

    #[test]
    fn the_summary_counts_the_events_the_sink_gets() {
        let mut events = Vec::new();
        let mut checker = ResultsChecker::new();
        let mut sink = |e: &Event<'_>| {
            let created_at = match e.created_at {
                Some(Field::Text(text)) => Some(text.to_string()),
                _ => None,
            };
            events.push((e.id.to_string(), e.reason.to_string(), created_at));
        };
        for piece in BODY.chunks(5) {
            checker.feed_into(piece, &mut sink).unwrap();
        }
        let summary = checker.finish_into(&mut sink).unwrap();
        assert_eq!(summary.events, events.len() as u64);
        let at = |s: &str| Some(s.to_string());
        assert_eq!(
            events,
            [
                ("1".into(), "deleted".into(), at("2019-10-29T17:02:47.000Z")),
                (
                    "2".into(),
                    "protected".into(),
                    at("2013-03-26T02:46:15+00:00")
                ),
                ("3".into(), "bounced".into(), None),
            ]
        );
    }

    #[test]
    fn non_objects_are_corrupt() {
        for bad in [
            &b"<?xml version='1.0'?><Error/>"[..],
            b"[\"1\",\"delete\",\"deleted\"]",
            b"{\"id\":\"1\",",
            b"42",
            b"   ",
            b" \t\r",
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
