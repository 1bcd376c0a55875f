//! CSV as RFC 4180 writes it, read without changing a byte: where a record
//! ends (a line break outside quotes), where its fields are, and a field's
//! text. A quoted field may hold commas, line breaks and doubled quotes.
//! A quote inside an unquoted field is taken as a character, as most
//! readers take it.

use std::borrow::Cow;

/// Where the record at the start of `bytes` ends: the offset of the `\n`
/// that ends it, outside quotes; `None` if `bytes` does not hold its end.
pub(crate) fn record_end(bytes: &[u8]) -> Option<usize> {
    let mut quoted = false;
    let mut at = 0;
    while let Some(i) = memchr::memchr2(b'"', b'\n', &bytes[at..]) {
        let i = at + i;
        if bytes[i] == b'"' {
            quoted = !quoted;
        } else if !quoted {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

/// The spans of a record's fields (the record without its line end; a `\r`
/// before it is stripped by the caller), quotes included.
pub(crate) fn fields(record: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, &byte) in record.iter().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                spans.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    spans.push((start, record.len()));
    spans
}

/// A field's text: a quoted field without its quotes, doubled quotes made
/// one; any other field as it is.
pub(crate) fn unquote(field: &[u8]) -> Cow<'_, [u8]> {
    match field {
        [b'"', inner @ .., b'"'] => {
            if memchr::memchr(b'"', inner).is_none() {
                Cow::Borrowed(inner)
            } else {
                let mut text = Vec::with_capacity(inner.len());
                let mut bytes = inner.iter().peekable();
                while let Some(&b) = bytes.next() {
                    text.push(b);
                    if b == b'"' && bytes.peek() == Some(&&b'"') {
                        bytes.next();
                    }
                }
                Cow::Owned(text)
            }
        }
        _ => Cow::Borrowed(field),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_end_outside_quotes() {
        assert_eq!(record_end(b"a,b\nc"), Some(3));
        assert_eq!(record_end(b"a,\"b\nc\",d\r\ne"), Some(10));
        assert_eq!(record_end(b"a,\"b\"\"\nc\"\n"), Some(9));
        assert_eq!(record_end(b"a,\"b\n"), None);
        assert_eq!(record_end(b"a,b"), None);
    }

    #[test]
    fn fields_and_their_text() {
        let record = b"1,\"a, \"\"b\"\"\",,\"x\ny\",plain";
        let spans = fields(record);
        let texts: Vec<_> = spans
            .iter()
            .map(|&(s, e)| unquote(&record[s..e]).into_owned())
            .collect();
        assert_eq!(
            texts,
            [&b"1"[..], b"a, \"b\"", b"", b"x\ny", b"plain"].map(<[u8]>::to_vec)
        );
        assert_eq!(fields(b"").len(), 1);
        assert_eq!(unquote(b"\"\""), &b""[..]);
        assert_eq!(unquote(b"a\"b"), &b"a\"b"[..]);
    }
}
