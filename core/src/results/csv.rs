//! Results as CSV: one row per compliance event, written from the
//! [`Event`]s the [`ResultsChecker`](super::ResultsChecker) passes on.
//!
//! The header is `id,action,reason,created_at,redacted_at` and every row
//! ends in LF (`\n`), as Unix tools expect; readers of RFC 4180 take LF as
//! well. A field is quoted only when it holds `,`, `"`, CR or LF, and a
//! quote inside is doubled (RFC 4180). A missing or `null` field is empty;
//! a value that is not a string (a number, say) is written as its JSON
//! text. Records that are not events never reach the writer; the checker
//! counts them.
//!
//! No cell is a formula to a spreadsheet: a value that starts with `=`,
//! `+`, `-`, `@`, a tab, CR or NUL (OWASP's advice on CSV injection, NUL as
//! its ASVS adds) is written quoted with a `'` before it, `"'=1+1"`, and
//! so is one that starts with `'`s and then one of those, so that
//! [`unguard`] gives back every value exactly. The API's own results never
//! start a cell so (IDs are digits, actions and reasons words, times
//! digits); a server that is not the API, or a body altered on the way, may.

use std::io::{self, Write};

use super::event::{Event, EventSink, Field};

/// The first row of every CSV file of results.
pub const CSV_HEADER: &str = "id,action,reason,created_at,redacted_at\n";

/// Writes CSV to `W`: a row for each [`Event`] it takes, as an
/// [`EventSink`] of a [`ResultsChecker`](super::ResultsChecker), so that
/// the rows are exactly the events the checker counts.
///
/// The rows are kept until [`CsvWriter::write_rows`]: call it once the
/// checker has passed a piece, so that no row of a piece with a bad line is
/// written. The header is written with the first rows, or by
/// [`CsvWriter::finish`] for results without one. The results of several
/// bodies (several jobs) go under one header, one after another.
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    inner: W,
    /// The rows not written yet.
    rows: Vec<u8>,
    /// Events taken as rows.
    events: u64,
    header: bool,
}

impl<W: Write> CsvWriter<W> {
    /// A writer of CSV to `inner`; nothing is written yet.
    pub fn new(inner: W) -> CsvWriter<W> {
        CsvWriter {
            inner,
            rows: Vec::with_capacity(64 * 1024),
            events: 0,
            header: false,
        }
    }

    /// Writes the rows taken so far (after the header, the first time).
    pub fn write_rows(&mut self) -> io::Result<()> {
        self.start();
        if !self.rows.is_empty() {
            self.inner.write_all(&self.rows)?;
            self.rows.clear();
        }
        Ok(())
    }

    /// Flushes what was written; rows not written yet stay.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// Writes the rows left (the header if nothing was written yet),
    /// flushes, and returns how many events became rows. Call it once the
    /// checker has passed the whole of the results.
    pub fn finish(self) -> io::Result<u64> {
        self.finish_into_inner().map(|(events, _)| events)
    }

    /// As [`CsvWriter::finish`], giving back the writer too.
    pub fn finish_into_inner(mut self) -> io::Result<(u64, W)> {
        self.write_rows()?;
        self.inner.flush()?;
        Ok((self.events, self.inner))
    }

    /// Puts the header before the first row.
    fn start(&mut self) {
        if !self.header {
            self.header = true;
            self.rows.extend_from_slice(CSV_HEADER.as_bytes());
        }
    }
}

impl<W: Write> EventSink for CsvWriter<W> {
    /// Appends the event's row: `id`, `action`, `reason`, `created_at`,
    /// `redacted_at`.
    fn event(&mut self, event: &Event<'_>) {
        self.start();
        let out = &mut self.rows;
        for text in [&event.id, &event.action, &event.reason] {
            push_field(out, text.as_bytes());
            out.push(b',');
        }
        push_value(out, event.created_at.as_ref());
        out.push(b',');
        push_value(out, event.redacted_at.as_ref());
        out.push(b'\n');
        self.events += 1;
    }
}

/// Appends a field that may be missing, `null` or not a string.
fn push_value(out: &mut Vec<u8>, value: Option<&Field>) {
    match value {
        Some(Field::Text(text)) => push_field(out, text.as_bytes()),
        Some(Field::Json(json)) => push_field(out, json.as_bytes()),
        Some(Field::Null) | None => {}
    }
}

/// What starts a formula in a spreadsheet's cell.
const FORMULA_STARTS: &[u8] = b"=+-@\t\r\0";

/// Whether a value is written with a `'` before it: it starts with what
/// starts a formula, after any `'`s of its own (so that the guard that
/// [`unguard`] takes off is told apart from the value's own).
fn needs_guard(field: &[u8]) -> bool {
    field
        .iter()
        .find(|&&b| b != b'\'')
        .is_some_and(|b| FORMULA_STARTS.contains(b))
}

/// A cell of a results CSV (unquoted) as the value it was written for:
/// without the `'` that [`CsvWriter`] puts before a value a spreadsheet
/// would run as a formula (one that starts with `=`, `+`, `-`, `@`, a tab,
/// CR or NUL, after any `'`s of its own). Any other cell is the value
/// itself.
pub fn unguard(cell: &[u8]) -> &[u8] {
    match cell.split_first() {
        Some((b'\'', value)) if needs_guard(value) => value,
        _ => cell,
    }
}

/// Appends one CSV field: as it is, or in quotes with its quotes doubled
/// when it holds `,`, `"`, CR or LF, or starts as a formula would (then
/// with a `'` first, inside the quotes).
fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    let guard = needs_guard(field);
    if !guard
        && !field
            .iter()
            .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    if guard {
        out.push(b'\'');
    }
    let mut rest = field;
    while let Some(q) = memchr::memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=q]);
        out.push(b'"');
        rest = &rest[q + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::event::{parse, Fields, Record};
    use crate::results::ResultsChecker;

    /// The CSV of `body` checked in pieces of `piece` bytes, and its rows,
    /// which are the events the checker counts.
    fn csv(body: &[u8], piece: usize) -> (String, u64) {
        let mut out = Vec::new();
        let mut w = CsvWriter::new(&mut out);
        let mut checker = ResultsChecker::new();
        for chunk in body.chunks(piece.max(1)) {
            checker.feed_into(chunk, &mut w).unwrap();
            w.write_rows().unwrap();
        }
        let summary = checker.finish_into(&mut w).unwrap();
        let rows = w.finish().unwrap();
        assert_eq!(rows, summary.events);
        (String::from_utf8(out).unwrap(), rows)
    }

    /// The CSV of `body` as the parser alone reads its lines: the
    /// reference of what the fast path gives.
    fn csv_parsed(body: &[u8]) -> String {
        let mut out = Vec::new();
        let mut w = CsvWriter::new(&mut out);
        for line in body.split(|&b| b == b'\n') {
            let line = line.trim_ascii();
            if let Ok(Record::Event(event)) = parse(line).as_ref().map(Fields::record) {
                w.event(&event);
            }
        }
        w.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quotes_only_what_needs_it() {
        let field = |s: &str| {
            let mut out = Vec::new();
            push_field(&mut out, s.as_bytes());
            String::from_utf8(out).unwrap()
        };
        assert_eq!(field("deleted"), "deleted");
        assert_eq!(field(""), "");
        assert_eq!(
            field("2013-03-26T02:46:15+00:00"),
            "2013-03-26T02:46:15+00:00"
        );
        assert_eq!(field("a b;c'd\t"), "a b;c'd\t");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("\""), "\"\"\"\"");
        assert_eq!(field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(field("cr\r"), "\"cr\r\"");
        assert_eq!(field("é,ü"), "\"é,ü\"");
        // What a spreadsheet would run gets a ' inside the quotes.
        assert_eq!(field("=1+1"), "\"'=1+1\"");
        assert_eq!(field("+1"), "\"'+1\"");
        assert_eq!(field("-1"), "\"'-1\"");
        assert_eq!(field("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(field("\t=x"), "\"'\t=x\"");
        assert_eq!(field("\r=x"), "\"'\r=x\"");
        assert_eq!(field("\0"), "\"'\0\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("''=x"), "\"'''=x\"", "quotes of its own before one");
        // Not at the start, or after anything else: as it is.
        assert_eq!(field("a=b"), "a=b");
        assert_eq!(field(" =x"), " =x");
        assert_eq!(field("'x"), "'x");
        assert_eq!(field("'"), "'");
        assert_eq!(field("1460000000000000000"), "1460000000000000000");
    }

    #[test]
    fn unguard_gives_back_every_value_exactly() {
        let values = [
            "",
            "'",
            "''",
            "=",
            "'=",
            "''=",
            "=1",
            "'=1",
            "'x",
            "''x",
            "x",
            "-",
            "+",
            "@",
            "\t",
            "\r",
            "\0",
            "'\0",
            "a=b",
            "1460000000000000000",
            "deleted",
            "é",
            "'é",
            "=é",
        ];
        for value in values {
            let mut out = Vec::new();
            push_field(&mut out, value.as_bytes());
            let unquoted = match out.as_slice() {
                [b'"', inner @ .., b'"'] => inner.to_vec(),
                cell => cell.to_vec(),
            };
            assert_eq!(
                String::from_utf8_lossy(unguard(&unquoted)),
                value,
                "{value:?} written as {:?}",
                String::from_utf8_lossy(&out)
            );
        }
        assert_eq!(unguard(b"'deleted"), b"'deleted");
    }

    const BODY: &str = concat!(
        r#"{"id":"1","action":"delete","created_at":"2019-10-29T17:02:47.000Z","redacted_at":"2020-07-29T17:02:47.000Z","reason":"deleted"}"#,
        "\r\n",
        r#"{"id":"2","action":"delete","created_at":"2013-03-26T02:46:15+00:00","reason":"prot\u0065cted"}"#,
        "\n\n",
        r#"{"error":"something","id":"4"}"#,
        "\n",
        r#"{"reason":"new, \"odd\"\nreason","id":"5","action":"delete","created_at":1634000000,"redacted_at":null,"x":{"y":[1]}}"#,
        "\n",
        r#"  {"id":"6","action":"delete","reason":"deleted","created_at":{"a":1,"b":"c"}}  "#,
        "\n",
        r#"{"id":"7","action":"delete","reason":"geo","created_at":"a","created_at":"b"}"#,
    );

    const CSV: &str = concat!(
        "id,action,reason,created_at,redacted_at\n",
        "1,delete,deleted,2019-10-29T17:02:47.000Z,2020-07-29T17:02:47.000Z\n",
        "2,delete,protected,2013-03-26T02:46:15+00:00,\n",
        "5,delete,\"new, \"\"odd\"\"\nreason\",1634000000,\n",
        "6,delete,deleted,\"{\"\"a\"\":1,\"\"b\"\":\"\"c\"\"}\",\n",
        "7,delete,geo,b,\n",
    );

    #[test]
    fn pieces_of_every_size_make_the_same_csv() {
        for piece in 1..=BODY.len() {
            assert_eq!(csv(BODY.as_bytes(), piece), (CSV.to_string(), 5), "{piece}");
        }
        // With a final newline, and with CRLF everywhere.
        let crlf = format!("{}\r\n", BODY.replace('\n', "\r\n").replace("\r\r", "\r"));
        for piece in [1, 2, 3, 50, 4096] {
            assert_eq!(csv(crlf.as_bytes(), piece).0, CSV, "{piece}");
        }
    }

    #[test]
    fn no_events_is_the_header_alone() {
        for body in [
            "",
            "\n\n",
            "{}\n{\"id\":\"1\"}",
            "{\"id\":1,\"action\":\"delete\",\"reason\":\"x\"}",
        ] {
            assert_eq!(
                csv(body.as_bytes(), 3),
                (CSV_HEADER.to_string(), 0),
                "{body}"
            );
        }
    }

    #[test]
    fn the_rows_are_the_events_the_parser_reads() {
        // Valid JSON objects the checker takes, events and not.
        let lines = [
            r#"{"id":"1","action":"delete","reason":"deleted"}"#,
            r#"{"id":"1","action":"delete"}"#,
            r#"{"id":null,"action":"delete","reason":"deleted"}"#,
            r#"{"id":1,"action":"delete","reason":"deleted"}"#,
            r#"{"id":"1","id":"2","action":"delete","reason":"x"}"#,
            r#"{"id":"1","action":"delete","reason":"x","reason":"x"}"#,
            r#"{"id":"1","action":"delete","reason":["x"]}"#,
            r#"{"i\u0064":"1","action":"delete","reason":"x"}"#,
            r#"{"id":"1","action":"delete","reason":"x","created_at":"a","created_at":null}"#,
            r#"{"id":"1","action":"delete","reason":"é","other":"\ud83d\ude00"}"#,
            r#"{}"#,
            r#"{"error":{"id":"1","action":"delete","reason":"x"}}"#,
            // Flat lines, the fast path's.
            r#"{"id":"8","action":"delete","created_at":"2021-10-04T19:11:41.540Z","reason":"deleted"}"#,
            r#"{"reason":"=x","redacted_at":"b","id":"9","action":"-","redacted_at":"c"}"#,
            r#"{"id":"10","action":"delete","reason":"a,b","created_at":"'@x"}"#,
        ];
        let mut next = crate::xorshift::xorshift(0x2545_F491_4F6C_DD1D);
        for _ in 0..200 {
            let mut body = String::new();
            for _ in 0..next() % 20 {
                let x = next();
                body.push_str(lines[(x % lines.len() as u64) as usize]);
                body.push_str(if x & 16 == 0 { "\n" } else { "\r\n" });
            }
            let mut checker = ResultsChecker::new();
            checker.feed(body.as_bytes()).unwrap();
            let summary = checker.finish().unwrap();
            for piece in [7, 4096] {
                let (text, events) = csv(body.as_bytes(), piece);
                assert_eq!(events, summary.events, "{body}");
                assert_eq!(text, csv_parsed(body.as_bytes()), "{body}");
            }
        }
    }

    #[test]
    fn a_failing_destination_is_an_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = CsvWriter::new(Full);
        let mut checker = ResultsChecker::new();
        checker
            .feed_into(
                b"{\"id\":\"1\",\"action\":\"delete\",\"reason\":\"x\"}\n",
                &mut w,
            )
            .unwrap();
        assert!(w.write_rows().is_err(), "a row");
        assert!(CsvWriter::new(Full).finish().is_err(), "the header alone");
    }
}
