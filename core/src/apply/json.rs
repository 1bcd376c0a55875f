//! The fast reader of a JSON line: checks that the line is one JSON object
//! (RFC 8259, in UTF-8) and makes its [`view::Line`] in one pass, without
//! building a tree. Values apply does not read are checked and stepped over;
//! the text of strings is searched eight bytes at a time.
//!
//! The tests hold it to the reference (serde_json) on generated lines and
//! on any bytes: the same verdict, the same view.

use std::borrow::Cow;

use super::view::{IdValue, Includes, Items, Key, Line, Member, Record};

/// How deep arrays and objects may nest: deeper is refused, as it is by
/// serde_json (whose limit is higher, so the two agree on every line this
/// one takes).
pub(crate) const MAX_DEPTH: usize = 100;

/// Why a line is not JSON, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    /// The byte offset in the line where reading stopped.
    pub at: usize,
    /// What was wrong there.
    pub what: &'static str,
}

type R<T> = Result<T, Fault>;

/// Reads `line` (without its line end) into `out`, which is cleared first.
pub(crate) fn read_line(line: &[u8], out: &mut Line) -> R<()> {
    *out = Line::default();
    if let Err(e) = std::str::from_utf8(line) {
        return Err(Fault {
            at: e.valid_up_to(),
            what: "a byte that is not UTF-8",
        });
    }
    let mut p = Parser {
        b: line,
        i: 0,
        depth: 0,
    };
    p.ws();
    if p.peek() != Some(b'{') {
        return Err(p.fault("a line must be one JSON object"));
    }
    p.top(out)?;
    p.ws();
    if p.i != line.len() {
        return Err(p.fault("more after the object's end"));
    }
    Ok(())
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

/// Eight copies of a byte.
const fn splat(byte: u8) -> u64 {
    byte as u64 * 0x0101_0101_0101_0101
}

const HIGH: u64 = splat(0x80);

/// Sets the high bit of each byte of `word` that is `"`, `\` or a control
/// byte (under 0x20). A bit may also be set in a byte after one that is
/// truly marked (a borrow), never before: the lowest set bit is exact.
#[inline]
fn string_stops(word: u64) -> u64 {
    let quote = word ^ splat(b'"');
    let slash = word ^ splat(b'\\');
    let zero = |v: u64| v.wrapping_sub(splat(1)) & !v;
    (zero(quote) | zero(slash) | word.wrapping_sub(splat(0x20)) & !word) & HIGH
}

impl<'a> Parser<'a> {
    fn fault(&self, what: &'static str) -> Fault {
        Fault { at: self.i, what }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek() {
            self.i += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> R<()> {
        if self.peek() == Some(byte) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.fault(what))
        }
    }

    /// A string at `self.i`: returns its span, quotes included, and
    /// whether it holds an escape.
    fn string(&mut self) -> R<(usize, usize, bool)> {
        let start = self.i;
        self.expect(b'"', "expected a string")?;
        let mut escaped = false;
        loop {
            while let Some(chunk) = self.b.get(self.i..self.i + 8) {
                let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
                let stops = string_stops(word);
                if stops != 0 {
                    self.i += stops.trailing_zeros() as usize / 8;
                    break;
                }
                self.i += 8;
            }
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok((start, self.i, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    self.escape()?;
                }
                Some(byte) if byte < 0x20 => {
                    return Err(self.fault("a control character inside a string"))
                }
                Some(_) => self.i += 1,
                None => return Err(self.fault("a string that does not end")),
            }
        }
    }

    /// An escape at `self.i` (its `\`).
    fn escape(&mut self) -> R<()> {
        self.i += 1;
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
            Some(b'u') => {
                let hex = self.b.get(self.i + 1..self.i + 5);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return Err(self.fault("a \\u escape without four hex digits"));
                }
                self.i += 5;
            }
            _ => return Err(self.fault("an unknown escape")),
        }
        Ok(())
    }

    /// The text of a string (its span, quotes included): borrowed, or
    /// decoded when it holds escapes.
    fn text(&self, (start, end, escaped): (usize, usize, bool)) -> Cow<'a, [u8]> {
        let b = self.b;
        if !escaped {
            return Cow::Borrowed(&b[start + 1..end - 1]);
        }
        // Rare: let serde_json decode it. A lone surrogate, which it will
        // not decode, is left as written: it equals no key apply reads.
        match serde_json::from_slice::<String>(&b[start..end]) {
            Ok(text) => Cow::Owned(text.into_bytes()),
            Err(_) => Cow::Borrowed(&b[start..end]),
        }
    }

    fn number(&mut self) -> R<()> {
        let digits = |p: &mut Parser| {
            let from = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            p.i - from
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.fault("a number without digits")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.fault("a number without digits after its point"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.fault("a number without digits in its exponent"));
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &'static [u8]) -> R<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.fault("expected a value"))
        }
    }

    /// Checks and steps over any value at `self.i`.
    fn skip(&mut self) -> R<()> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.object(|p, _, _| p.skip()).map(drop),
            Some(b'[') => self.array(|p, _| p.skip()).map(drop),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => Err(self.fault("expected a value")),
        }
    }

    fn nest(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.fault("arrays and objects nested too deeply"));
        }
        Ok(())
    }

    /// An object at `self.i`: `member` is called with the parser at each
    /// value, its key's text and where the key starts, and must read the
    /// value. Returns where the object ends.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &[u8], usize) -> R<()>) -> R<usize> {
        self.nest()?;
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            self.depth -= 1;
            return Ok(self.i);
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.fault("expected a key"));
            }
            let key_span = self.string()?;
            let key = self.text(key_span);
            self.ws();
            self.expect(b':', "expected ':' after a key")?;
            self.ws();
            member(self, &key, key_span.0)?;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(self.i);
                }
                _ => return Err(self.fault("expected ',' or '}'")),
            }
        }
    }

    /// An array at `self.i`: `item` is called with the parser at each item
    /// and where it starts, and must read it. Returns where the array ends.
    fn array(&mut self, mut item: impl FnMut(&mut Self, usize) -> R<()>) -> R<usize> {
        self.nest()?;
        self.i += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            self.depth -= 1;
            return Ok(self.i);
        }
        loop {
            item(self, self.i)?;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b']') => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(self.i);
                }
                _ => return Err(self.fault("expected ',' or ']'")),
            }
        }
    }

    /// An `id` or `author_id` value.
    fn id_value(&mut self) -> R<IdValue> {
        let start = self.i;
        let digits = match self.peek() {
            Some(b'"') => {
                let span = self.string()?;
                let text = self.text(span);
                is_id(&text).then(|| to_id(&text))
            }
            Some(b'n') => {
                self.literal(b"null")?;
                return Ok(IdValue::Null);
            }
            Some(b'0'..=b'9') => {
                self.number()?;
                let text = &self.b[start..self.i];
                is_id(text).then(|| to_id(text))
            }
            _ => {
                self.skip()?;
                None
            }
        };
        Ok(digits.map_or(IdValue::Bad(start, self.i), IdValue::Id))
    }

    /// A string value, kept as its text; any other value is checked and
    /// skipped.
    fn string_value(&mut self, into: &mut Vec<Vec<u8>>) -> R<()> {
        if self.peek() == Some(b'"') {
            let span = self.string()?;
            into.push(self.text(span).into_owned());
            Ok(())
        } else {
            self.skip()
        }
    }

    /// An array of strings, each kept; any other value is skipped.
    fn strings(&mut self, into: &mut Vec<Vec<u8>>) -> R<()> {
        if self.peek() == Some(b'[') {
            self.array(|p, _| p.string_value(into)).map(drop)
        } else {
            self.skip()
        }
    }

    /// A member of a record (or of a line, which is read as a record too).
    /// Returns whether the key was one a record reads.
    fn record_member(&mut self, rec: &mut Record, key: &[u8], nested: bool) -> R<Key> {
        match key {
            b"id" => {
                let id = self.id_value()?;
                rec.ids.push(id);
                return Ok(Key::Id);
            }
            b"author_id" => {
                let id = self.id_value()?;
                rec.author_ids.push(id);
            }
            b"username" => {
                rec.username = true;
                self.skip()?;
            }
            b"type" => {
                self.skip()?;
                return Ok(Key::Type);
            }
            b"geo" => {
                if self.peek() == Some(b'{') {
                    self.object(|p, key, _| match key {
                        b"place_id" => p.string_value(&mut rec.place_ids),
                        _ => p.skip(),
                    })?;
                } else {
                    self.skip()?;
                }
                return Ok(Key::Geo);
            }
            b"attachments" if self.peek() == Some(b'{') => {
                self.object(|p, key, _| match key {
                    b"media_keys" => p.strings(&mut rec.media_keys),
                    b"poll_ids" => p.strings(&mut rec.poll_ids),
                    _ => p.skip(),
                })?;
            }
            b"referenced_tweets" if !nested && self.peek() == Some(b'[') => {
                self.array(|p, _| {
                    if p.peek() == Some(b'{') {
                        let mut inner = Record::default();
                        p.record(&mut inner, true)?;
                        rec.referenced.push(inner);
                        Ok(())
                    } else {
                        p.skip()
                    }
                })?;
            }
            _ => self.skip()?,
        }
        Ok(Key::Other)
    }

    /// A record at `self.i` (its `{`).
    fn record(&mut self, rec: &mut Record, nested: bool) -> R<()> {
        let start = self.i;
        let end = self.object(|p, key, key_start| {
            let key = p.record_member(rec, key, nested)?;
            rec.members.push(Member {
                key,
                key_start,
                value_end: p.i,
            });
            Ok(())
        })?;
        rec.span = (start, end);
        Ok(())
    }

    /// An array of records, such as `data`; an item that is not an object
    /// is refused.
    fn records(&mut self) -> R<Items<Record>> {
        let mut items = Vec::new();
        self.array(|p, start| {
            if p.peek() != Some(b'{') {
                return Err(p.fault("an item of data or includes that is not an object"));
            }
            let mut rec = Record::default();
            p.record(&mut rec, true)?;
            items.push(((start, p.i), rec));
            Ok(())
        })?;
        Ok(Items { items })
    }

    /// An array of objects each named by its `key` (a place's `id`, a
    /// media item's `media_key`).
    fn keyed(&mut self, key: &[u8]) -> R<Items<Option<Vec<u8>>>> {
        let mut items = Vec::new();
        self.array(|p, start| {
            let mut names = Vec::new();
            if p.peek() == Some(b'{') {
                p.object(|p, k, _| match k == key {
                    true => p.string_value(&mut names),
                    false => p.skip(),
                })?;
            } else {
                p.skip()?;
            }
            items.push(((start, p.i), names.pop()));
            Ok(())
        })?;
        Ok(Items { items })
    }

    fn includes(&mut self) -> R<Includes> {
        let mut inc = Includes::default();
        self.object(|p, key, _| {
            let is_array = p.peek() == Some(b'[');
            match key {
                b"tweets" if is_array => inc.tweets.push(p.records()?),
                b"users" if is_array => inc.users.push(p.records()?),
                b"places" if is_array => inc.places.push(p.keyed(b"id")?),
                b"media" if is_array => inc.media.push(p.keyed(b"media_key")?),
                b"polls" if is_array => inc.polls.push(p.keyed(b"id")?),
                b"tweets" | b"users" => {
                    return Err(p.fault("includes.tweets or includes.users is not an array"))
                }
                _ => p.skip()?,
            }
            Ok(())
        })?;
        Ok(inc)
    }

    /// The line's own object: a record, or a page.
    fn top(&mut self, line: &mut Line) -> R<()> {
        let start = self.i;
        let Line {
            record,
            data,
            includes,
            page_keys,
        } = line;
        let end = self.object(|p, key, key_start| {
            let key = match key {
                b"data" | b"includes" | b"meta" => {
                    *page_keys = true;
                    match (key, p.peek()) {
                        (b"data", Some(b'[')) => data.push(p.records()?),
                        (b"data", _) => return Err(p.fault("data that is not an array")),
                        (b"includes", Some(b'{')) => includes.push(p.includes()?),
                        (b"includes", _) => return Err(p.fault("includes that is not an object")),
                        _ => p.skip()?,
                    }
                    Key::Other
                }
                _ => p.record_member(record, key, false)?,
            };
            record.members.push(Member {
                key,
                key_start,
                value_end: p.i,
            });
            Ok(())
        })?;
        record.span = (start, end);
        Ok(())
    }
}

/// Whether `text` is an ID: 1 to 19 ASCII digits.
pub(crate) fn is_id(text: &[u8]) -> bool {
    (1..=crate::error::MAX_ID_DIGITS).contains(&text.len()) && text.iter().all(u8::is_ascii_digit)
}

/// The value of an ID's digits (checked by [`is_id`]): 19 digits fit a u64.
pub(crate) fn to_id(digits: &[u8]) -> u64 {
    digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> R<Line> {
        let mut line = Line::default();
        read_line(text.as_bytes(), &mut line).map(|()| line)
    }

    #[test]
    fn string_stops_find_the_first_special_byte() {
        for (at, special) in (0..8).flat_map(|at| [b'"', b'\\', 0, 0x1f].map(|s| (at, s))) {
            let mut bytes = *b"abcdefgh";
            bytes[at] = special;
            let stops = string_stops(u64::from_le_bytes(bytes));
            assert_eq!(stops.trailing_zeros() as usize / 8, at);
        }
        assert_eq!(
            string_stops(u64::from_le_bytes(*b"a\xc3\xa9 ~\x7f\xff ")),
            0
        );
    }

    #[test]
    fn reads_a_flattened_tweet() {
        let text = r#"{"id": "1460000000000000007", "text": "caf\u00e9", "author_id": "22", "geo": {"place_id": "01a9", "geo": {"bbox": [1.5, -2e3]}}, "referenced_tweets": [{"type": "quoted", "id": "9", "text": "x", "author": {"id": "5"}}], "author": {"id": "22", "username": "x"}, "n": 1234567890123456789}"#;
        let line = read(text).unwrap();
        let r = &line.record;
        assert_eq!(r.ids, [IdValue::Id(1_460_000_000_000_000_007)]);
        assert_eq!(r.author_ids, [IdValue::Id(22)]);
        assert!(!r.username, "the author's username is not the record's");
        assert_eq!(r.place_ids, [b"01a9".to_vec()]);
        assert_eq!(r.referenced.len(), 1);
        assert_eq!(r.referenced[0].ids, [IdValue::Id(9)]);
        assert_eq!(
            r.referenced[0]
                .members
                .iter()
                .map(|m| m.key)
                .collect::<Vec<_>>(),
            [Key::Type, Key::Id, Key::Other, Key::Other]
        );
        let geo = r.members.iter().find(|m| m.key == Key::Geo).unwrap();
        assert!(text[geo.key_start..geo.value_end].starts_with("\"geo\": {"));
        assert!(text[geo.key_start..geo.value_end].ends_with("]}}"));
        assert_eq!(r.span, (0, text.len()));
    }

    #[test]
    fn refuses_what_is_not_one_json_object() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"id": "1",}"#,
            r#"{"id": "1"} x"#,
            r#"{"id": 01}"#,
            r#"{"id": "1", "t": "a	b"}"#,
            r#"{"id": "1", "t": "\x"}"#,
            r#"{"id": "1", "t": "\u12"}"#,
            r#"{"id": tru}"#,
            r#"{"id": "1" "t": 2}"#,
            "{\"id\": \"1\"}\u{0}",
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
        let deep = format!(
            "{{\"a\": {}1{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert_eq!(
            read(&deep).unwrap_err().what,
            "arrays and objects nested too deeply"
        );
        let mut bytes = br#"{"id": "1", "t": "caf"}"#.to_vec();
        bytes[20] = 0xe9;
        assert_eq!(
            read_line(&bytes, &mut Line::default()).unwrap_err(),
            Fault {
                at: 20,
                what: "a byte that is not UTF-8"
            }
        );
    }

    #[test]
    fn ids_are_digits_as_strings_or_numbers() {
        let ids = |text: &str| read(text).unwrap().record.ids;
        assert_eq!(
            ids(r#"{"id": 1234567890123456789}"#),
            [IdValue::Id(1_234_567_890_123_456_789)]
        );
        assert_eq!(ids(r#"{"id": "\u0031"}"#), [IdValue::Id(1)]);
        assert_eq!(ids(r#"{"id": null}"#), [IdValue::Null]);
        assert_eq!(
            ids(r#"{"id": "12345678901234567890"}"#),
            [IdValue::Bad(7, 29)]
        );
        assert_eq!(ids(r#"{"id": 1.5}"#), [IdValue::Bad(7, 10)]);
        assert_eq!(
            ids(r#"{"\u0069d": "7"}"#),
            [IdValue::Id(7)],
            "an escaped key"
        );
    }
}
