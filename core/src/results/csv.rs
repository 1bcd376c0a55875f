//! Results as CSV: one row per compliance event, converted from lines the
//! [`ResultsChecker`](super::ResultsChecker) has already checked.
//!
//! The header is `id,action,reason,created_at,redacted_at` and every row
//! ends in LF (`\n`), as Unix tools expect; readers of RFC 4180 take LF as
//! well. A field is quoted only when it holds `,`, `"`, CR or LF, and a
//! quote inside is doubled (RFC 4180). A missing or `null` field is empty;
//! a value that is not a string (a number, say) is written as its JSON
//! text. Records that are not events (a JSON object without string `id`,
//! `action` and `reason`) are left out; the checker counts them.
//!
//! No cell is a formula to a spreadsheet: a value that starts with `=`,
//! `+`, `-`, `@`, a tab, CR or NUL (OWASP's advice on CSV injection, NUL as
//! its ASVS adds) is written quoted with a `'` before it, `"'=1+1"`, and
//! so is one that starts with `'`s and then one of those, so that
//! [`unguard`] gives back every value exactly. The API's own results never
//! start a cell so (IDs are digits, actions and reasons words, times
//! digits); a server that is not the API, or a body altered on the way, may.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The first row of every CSV file of results.
pub const CSV_HEADER: &str = "id,action,reason,created_at,redacted_at\n";

/// Converts a checked JSON Lines body, fed in pieces of any size, to CSV
/// written to `W`: only whole lines are converted, and a line split across
/// pieces is carried to the next one.
///
/// It is a [`Write`] so that it stands where the body would be written:
/// feed it only bytes the checker has passed, and call [`CsvWriter::finish`]
/// once the checker has passed the last line too. The header is written
/// with the first row, or by `finish` for a body without one.
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    inner: W,
    /// The start of a line whose end has not come yet.
    carry: Vec<u8>,
    /// The rows of one piece, written to `inner` at once.
    rows: Vec<u8>,
    /// Lines seen, for messages.
    line: u64,
    /// Events written as rows.
    events: u64,
    header: bool,
}

impl<W: Write> CsvWriter<W> {
    /// A writer of CSV to `inner`; nothing is written yet.
    pub fn new(inner: W) -> CsvWriter<W> {
        CsvWriter {
            inner,
            carry: Vec::new(),
            rows: Vec::with_capacity(64 * 1024),
            line: 0,
            events: 0,
            header: false,
        }
    }

    /// Converts the last line (which needs no newline), writes the header
    /// if nothing was written yet, flushes, and returns how many events
    /// became rows. Call it only once the checker has passed the whole body.
    pub fn finish(self) -> io::Result<u64> {
        self.finish_into_inner().map(|(events, _)| events)
    }

    /// As [`CsvWriter::finish`], giving back the writer too.
    pub fn finish_into_inner(mut self) -> io::Result<(u64, W)> {
        self.end_body()?;
        self.inner.flush()?;
        Ok((self.events, self.inner))
    }

    /// Ends one of several bodies written as one CSV, one after another
    /// (the results of several jobs, under one header): its last line,
    /// which needs no newline, becomes a row now rather than the start of
    /// the next body's first line. Call it once the checker has passed the
    /// whole body.
    pub fn end_body(&mut self) -> io::Result<()> {
        self.start();
        let last = std::mem::take(&mut self.carry);
        self.convert(&last)?;
        self.inner.write_all(&self.rows)?;
        self.rows.clear();
        Ok(())
    }

    /// Puts the header before the first row.
    fn start(&mut self) {
        if !self.header {
            self.header = true;
            self.rows.extend_from_slice(CSV_HEADER.as_bytes());
        }
    }

    /// Converts one line, its `\n` stripped, into a row in `self.rows`.
    fn convert(&mut self, line: &[u8]) -> io::Result<()> {
        self.line += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line).trim_ascii();
        if line.is_empty() {
            return Ok(());
        }
        if push_row(line, &mut self.rows).map_err(|e| self.unconvertible(e))? {
            self.events += 1;
        }
        Ok(())
    }

    fn unconvertible(&self, e: serde_json::Error) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("results line {} cannot be written as CSV: {e}", self.line),
        )
    }
}

impl<W: Write> Write for CsvWriter<W> {
    /// Converts every line that `piece` ends, carrying the rest; always
    /// takes the whole piece.
    fn write(&mut self, piece: &[u8]) -> io::Result<usize> {
        self.start();
        let mut at = 0;
        while let Some(nl) = memchr::memchr(b'\n', &piece[at..]) {
            let end = at + nl;
            if self.carry.is_empty() {
                self.convert(&piece[at..end])?;
            } else {
                let mut line = std::mem::take(&mut self.carry);
                line.extend_from_slice(&piece[at..end]);
                self.convert(&line)?;
                // Keep the allocation for the next split line.
                line.clear();
                self.carry = line;
            }
            at = end + 1;
        }
        self.carry.extend_from_slice(&piece[at..]);
        if !self.rows.is_empty() {
            self.inner.write_all(&self.rows)?;
            self.rows.clear();
        }
        Ok(piece.len())
    }

    /// Flushes the rows written so far; a line not yet ended stays carried.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Appends the row of `line`, a checked JSON object, to `out` if it is an
/// event; returns whether it was.
///
/// An event is what the checker counts as one: `id`, `action` and `reason`
/// each once and each a string. `created_at` and `redacted_at` may be
/// missing; given twice, the last one counts.
fn push_row(line: &[u8], out: &mut Vec<u8>) -> Result<bool, serde_json::Error> {
    let record: Record = serde_json::from_slice(line)?;
    let (Once(Field::Text(id)), Once(Field::Text(action)), Once(Field::Text(reason))) =
        (&record.id, &record.action, &record.reason)
    else {
        return Ok(false);
    };
    for text in [id, action, reason] {
        push_field(out, text.as_bytes());
        out.push(b',');
    }
    push_value(out, record.created_at.as_ref());
    out.push(b',');
    push_value(out, record.redacted_at.as_ref());
    out.push(b'\n');
    Ok(true)
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

/// The fields of a line the CSV needs, each as often as it came.
#[derive(Default)]
struct Record<'a> {
    id: Seen<'a>,
    action: Seen<'a>,
    reason: Seen<'a>,
    created_at: Option<Field<'a>>,
    redacted_at: Option<Field<'a>>,
}

/// How often a field that must come once came.
#[derive(Default)]
enum Seen<'a> {
    #[default]
    Never,
    Once(Field<'a>),
    Twice,
}
use Seen::Once;

impl<'a> Seen<'a> {
    fn see(&mut self, field: Field<'a>) {
        *self = match self {
            Seen::Never => Once(field),
            _ => Seen::Twice,
        };
    }
}

/// A value of a field, as the CSV writes it.
enum Field<'a> {
    /// A string, borrowed from the line unless it held escapes.
    Text(Cow<'a, str>),
    /// `null`: an empty field.
    Null,
    /// Any other value, as compact JSON.
    Json(String),
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl FieldVisitor {
    fn json<E: de::Error>(value: serde_json::Value) -> Result<Field<'static>, E> {
        serde_json::to_string(&value)
            .map(Field::Json)
            .map_err(E::custom)
    }
}

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        FieldVisitor::json(v.into())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        FieldVisitor::json(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        FieldVisitor::json(v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        FieldVisitor::json(v.into())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let value = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        FieldVisitor::json(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let value = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        FieldVisitor::json(value)
    }
}

/// The keys the CSV reads; any other is skipped.
enum Key {
    Id,
    Action,
    Reason,
    CreatedAt,
    RedactedAt,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "id" => Key::Id,
                    "action" => Key::Action,
                    "reason" => Key::Reason,
                    "created_at" => Key::CreatedAt,
                    "redacted_at" => Key::RedactedAt,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Record<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RecordVisitor;
        impl<'de> Visitor<'de> for RecordVisitor {
            type Value = Record<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record<'de>, A::Error> {
                let mut record = Record::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Id => record.id.see(map.next_value()?),
                        Key::Action => record.action.see(map.next_value()?),
                        Key::Reason => record.reason.see(map.next_value()?),
                        Key::CreatedAt => record.created_at = Some(map.next_value()?),
                        Key::RedactedAt => record.redacted_at = Some(map.next_value()?),
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(record)
            }
        }
        deserializer.deserialize_map(RecordVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::ResultsChecker;

    /// The CSV of `body` fed in pieces of `piece` bytes.
    fn csv(body: &[u8], piece: usize) -> (String, u64) {
        let mut out = Vec::new();
        let mut w = CsvWriter::new(&mut out);
        for chunk in body.chunks(piece.max(1)) {
            w.write_all(chunk).unwrap();
        }
        let events = w.finish().unwrap();
        (String::from_utf8(out).unwrap(), events)
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
    fn events_are_what_the_checker_counts() {
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
            let (text, events) = csv(body.as_bytes(), 7);
            assert_eq!(events, summary.events, "{body}");
            assert_eq!(text.matches(",delete,").count() as u64, events, "{body}");
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
        assert!(w.write_all(b"{\"id\":\"1\",").is_err(), "the header");
        assert!(CsvWriter::new(Full).finish().is_err(), "the header alone");
    }
}
