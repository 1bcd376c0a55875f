//! The line grammar of an ID file, and the errors that name its bad lines.
//!
//! A line is what lies between two `\n` (the last one may lack its `\n`).
//! One trailing `\r` is dropped, and on the first line a UTF-8 byte order
//! mark; then spaces and tabs around it. What is left is an ID (1 to 19 ASCII
//! digits), nothing (a blank line, skipped), or anything else (a bad line).

pub use crate::error::{MAX_ID_DIGITS, MAX_LISTED_BAD_LINES};

/// How many characters of a bad line an error quotes.
const QUOTE_LIMIT: usize = 40;

/// How many bytes of a line always hold [`QUOTE_LIMIT`] characters and one
/// more (a character takes at most 4 bytes): what a quote needs of a line.
pub(crate) const QUOTE_BYTES: usize = 4 * (QUOTE_LIMIT + 1);

/// The UTF-8 byte order mark, dropped at the very start of a file.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What one line is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// An ID: its digits.
    Id(&'a [u8]),
    /// Nothing but spaces and tabs (and a trailing `\r`).
    Blank,
    /// Anything else.
    Bad,
}

/// Judges one line, without its `\n` (and, on the first line, without its
/// byte order mark).
pub(crate) fn classify(line: &[u8]) -> Line<'_> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = trim_blanks(line);
    if line.is_empty() {
        Line::Blank
    } else if line.len() <= MAX_ID_DIGITS && line.iter().all(u8::is_ascii_digit) {
        Line::Id(line)
    } else {
        Line::Bad
    }
}

/// Whether a byte is one of the blanks trimmed around an ID: space or tab.
pub(crate) fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

fn trim_blanks(mut line: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = line {
        if !is_blank(*first) {
            break;
        }
        line = rest;
    }
    while let [rest @ .., last] = line {
        if !is_blank(*last) {
            break;
        }
        line = rest;
    }
    line
}

/// How an error quotes a bad line: its text without a trailing `\r`
/// (invalid UTF-8 shown as U+FFFD), cut after [`QUOTE_LIMIT`] characters.
/// `line` may be only the line's first [`QUOTE_BYTES`] bytes.
pub(crate) fn quote(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line);
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

pub use crate::error::{BadLine, IdFileError};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_lines() {
        assert_eq!(classify(b"123"), Line::Id(b"123"));
        assert_eq!(classify(b" \t123\t \r"), Line::Id(b"123"));
        assert_eq!(
            classify(b"1234567890123456789"),
            Line::Id(b"1234567890123456789")
        );
        assert_eq!(classify(b" \t\r"), Line::Blank);
        assert_eq!(classify(b""), Line::Blank);
        for bad in [
            &b"12345678901234567890"[..],
            b"1 2",
            b"12\r\r",
            b"\r12",
            b"12\x0c",
            b"-1",
            b"\xEF\xBB\xBF1",
        ] {
            assert_eq!(classify(bad), Line::Bad, "{bad:?}");
        }
    }

    #[test]
    fn quotes_lines_short() {
        assert_eq!(quote(b"abc\r"), "abc");
        assert_eq!(quote(&[b'x'; 40]), "x".repeat(40));
        assert_eq!(quote(&[b'x'; 41]), format!("{}…", "x".repeat(40)));
        assert_eq!(
            quote("é".repeat(50).as_bytes()),
            format!("{}…", "é".repeat(40))
        );
        assert_eq!(quote(b"\xff1"), "\u{fffd}1");
    }
}
