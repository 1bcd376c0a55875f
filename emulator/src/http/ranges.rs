//! Byte ranges: the `Range` header of a download, and the `Content-Range`
//! of a partial answer.

/// A byte range of a download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Range {
    /// No (usable) `Range` header: the whole object.
    Full,
    /// Inclusive first and last byte.
    Partial(u64, u64),
    /// Nothing of the object is in range: 416.
    Unsatisfiable,
}

/// Interprets a `Range` header against an object of `len` bytes. Only a
/// single `bytes=` range is honoured; anything else serves the whole object,
/// as RFC 9110 allows.
pub(crate) fn parse_range(header: Option<&str>, len: u64) -> Range {
    let Some(h) = header else {
        return Range::Full;
    };
    let Some(spec) = h
        .trim()
        .strip_prefix("bytes=")
        .or_else(|| h.trim().strip_prefix("BYTES="))
    else {
        return Range::Full;
    };
    if spec.contains(',') {
        return Range::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Range::Full;
    };
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Range::Full,
        (true, false) => match num(b) {
            // Suffix range: the last N bytes.
            Some(0) => Range::Unsatisfiable,
            Some(_) if len == 0 => Range::Unsatisfiable,
            Some(n) => Range::Partial(len.saturating_sub(n), len - 1),
            None => Range::Full,
        },
        (false, true) => match num(a) {
            Some(start) if start < len => Range::Partial(start, len - 1),
            Some(_) => Range::Unsatisfiable,
            None => Range::Full,
        },
        (false, false) => match (num(a), num(b)) {
            (Some(start), Some(end)) if start <= end => {
                if start >= len {
                    Range::Unsatisfiable
                } else {
                    Range::Partial(start, end.min(len - 1))
                }
            }
            _ => Range::Full,
        },
    }
}

/// The first byte and the total of a `bytes A-B/TOTAL` answer range.
pub(crate) fn parse_content_range(v: &str) -> Option<(u64, u64)> {
    let (range, total) = v.strip_prefix("bytes ")?.split_once('/')?;
    let (a, _) = range.split_once('-')?;
    Some((a.parse().ok()?, total.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), Range::Full);
        assert_eq!(parse_range(Some("bytes=2-"), 10), Range::Partial(2, 9));
        assert_eq!(parse_range(Some("bytes=2-4"), 10), Range::Partial(2, 4));
        assert_eq!(parse_range(Some("bytes=2-40"), 10), Range::Partial(2, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Range::Partial(7, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=4-2"), 10), Range::Full);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Range::Full);
        assert_eq!(parse_range(Some("items=0-1"), 10), Range::Full);
    }

    #[test]
    fn answer_ranges() {
        assert_eq!(parse_content_range("bytes 5-9/10"), Some((5, 10)));
        assert_eq!(parse_content_range("bytes */10"), None);
    }
}
