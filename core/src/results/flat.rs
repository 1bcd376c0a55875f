//! The fast path of the results check: a line written the way the API
//! writes events (a flat JSON object of plain strings) is taken by walking
//! bit masks of its quotes and special bytes, 64 bytes to a word, instead of
//! parsing it. Anything else goes to the full parser; both must agree (the
//! tests in `results` hold them to it). Safe code: the masks are made eight
//! bytes at a time in a `u64` (a plain loop a byte at a time runs at a
//! third of the speed; SSE2 was half as fast again, but needs `unsafe`).

/// Bit masks of a piece of a body, 64 bytes to a word: where its quotes
/// are, and where its special bytes are (`\\`, control bytes including line
/// ends, DEL and anything beyond ASCII). With them the fast path finds the
/// strings of a line by walking bits, rather than scanning string by string.
#[derive(Debug, Default)]
pub(super) struct Marks {
    quotes: Vec<u64>,
    specials: Vec<u64>,
}

impl Marks {
    pub(super) fn compute(&mut self, bytes: &[u8]) {
        self.quotes.clear();
        self.specials.clear();
        let blocks = bytes.chunks_exact(64);
        let tail = blocks.remainder();
        for block in blocks {
            let block: &[u8; 64] = block.try_into().expect("64 bytes");
            let (quotes, specials) = block_marks(block);
            self.quotes.push(quotes);
            self.specials.push(specials);
        }
        if !tail.is_empty() {
            let (mut quotes, mut specials) = (0u64, 0u64);
            for (k, &byte) in tail.iter().enumerate() {
                quotes |= u64::from(byte == b'"') << k;
                specials |= u64::from(is_special(byte)) << k;
            }
            self.quotes.push(quotes);
            self.specials.push(specials);
        }
    }

    /// The first set bit at or after `from`.
    fn next(bits: &[u64], from: usize) -> Option<usize> {
        let mut word = from / 64;
        let mut rest = *bits.get(word)? >> (from % 64) << (from % 64);
        while rest == 0 {
            word += 1;
            rest = *bits.get(word)?;
        }
        Some(word * 64 + rest.trailing_zeros() as usize)
    }

    fn is_set(bits: &[u64], at: usize) -> bool {
        bits.get(at / 64).is_some_and(|w| w >> (at % 64) & 1 == 1)
    }

    /// The fast path over the line at `start` of `bytes`: a flat object (a
    /// JSON object with no white space whose values are all plain strings:
    /// printable ASCII, no escapes, no key twice), then `\n` or `\r\n`.
    /// Returns where the next line starts, and `Some(reason)` if the line is
    /// an event; `None` for any other line, which the full parser reads.
    pub(super) fn flat_line<'b>(
        &self,
        bytes: &'b [u8],
        start: usize,
    ) -> Option<(usize, Option<&'b [u8]>)> {
        if bytes.get(start) != Some(&b'{') {
            return None;
        }
        // No special byte before the line's end, and a line end there.
        let end_mark = Marks::next(&self.specials, start)?;
        let q = &self.quotes[..];
        let (mut id, mut action, mut reason) = (false, false, None);
        let mut open = start + 1;
        let close_brace = if bytes.get(open) == Some(&b'}') {
            open
        } else {
            loop {
                if !Marks::is_set(q, open) {
                    return None;
                }
                let key_end = Marks::next(q, open + 1)?;
                // `"key":"` with nothing else between the strings.
                if bytes.get(key_end + 1) != Some(&b':') || !Marks::is_set(q, key_end + 2) {
                    return None;
                }
                let value_end = Marks::next(q, key_end + 3)?;
                let value = &bytes[key_end + 3..value_end];
                let seen = match &bytes[open + 1..key_end] {
                    b"id" => std::mem::replace(&mut id, true),
                    b"action" => std::mem::replace(&mut action, true),
                    b"reason" => reason.replace(value).is_some(),
                    _ => false,
                };
                if seen {
                    return None;
                }
                match bytes.get(value_end + 1) {
                    Some(b',') => open = value_end + 2,
                    Some(b'}') => break value_end + 1,
                    _ => return None,
                }
            }
        };
        let end = close_brace + 1;
        let next = match (bytes.get(end), bytes.get(end + 1)) {
            (Some(b'\n'), _) => end + 1,
            (Some(b'\r'), Some(b'\n')) => end + 2,
            _ => return None,
        };
        (end_mark == end).then_some((next, reason.filter(|_| id && action)))
    }
}

/// The quote and special masks of 64 bytes, one bit a byte, made eight
/// bytes at a time in a `u64`.
#[inline]
fn block_marks(block: &[u8; 64]) -> (u64, u64) {
    let (mut quotes, mut specials) = (0u64, 0u64);
    for (k, word) in block.chunks_exact(8).enumerate() {
        let (q, s) = word_marks(word.try_into().expect("8 bytes"));
        quotes |= u64::from(q) << (8 * k);
        specials |= u64::from(s) << (8 * k);
    }
    (quotes, specials)
}

/// The quote and special masks of 8 bytes, one bit a byte, computed on the
/// eight at once in a `u64`.
#[inline]
fn word_marks(word: [u8; 8]) -> (u8, u8) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let x = u64::from_le_bytes(word);
    let low = x & LOW7;
    // The high bit of each byte that equals `c` (no carry crosses a byte).
    let equals = |c: u8| {
        let t = x ^ (ONES * u64::from(c));
        !(((t & LOW7) + LOW7) | t) & HIGH
    };
    // Beyond ASCII (the high bit itself), DEL (0x7F + 1 carries into the
    // high bit), or a control byte (under 0x20: + 0x60 stays below it).
    let special = ((x | (low + ONES) | !(low + ONES * 0x60)) & HIGH) | equals(b'\\');
    (gather(equals(b'"')), gather(special))
}

/// The high bits of the eight bytes of `high`, as the eight bits of a byte.
#[inline]
fn gather(high: u64) -> u8 {
    ((high >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
}

/// A byte a plain string may not hold: `\`, a control byte (line ends
/// included), DEL, or anything beyond ASCII.
pub(super) fn is_special(byte: u8) -> bool {
    !(b' '..=b'~').contains(&byte) || byte == b'\\'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_masks_agree_with_a_byte_by_byte_look() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut words: Vec<[u8; 8]> = (0..=255u8).map(|b| [b; 8]).collect();
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            words.push(x.to_le_bytes());
        }
        for word in words {
            let (mut quotes, mut specials) = (0u8, 0u8);
            for (k, &byte) in word.iter().enumerate() {
                quotes |= u8::from(byte == b'"') << k;
                specials |= u8::from(is_special(byte)) << k;
            }
            assert_eq!(word_marks(word), (quotes, specials), "{word:?}");
        }
    }

    #[test]
    fn the_masks_mark_every_quote_and_special_byte() {
        let mut block = [0u8; 64];
        for first in (0..=255u8).step_by(4) {
            for (k, b) in block.iter_mut().enumerate() {
                *b = first.wrapping_add(k as u8);
            }
            let (quotes, specials) = block_marks(&block);
            for (k, &byte) in block.iter().enumerate() {
                assert_eq!(quotes >> k & 1 == 1, byte == b'"', "{byte}");
                assert_eq!(specials >> k & 1 == 1, is_special(byte), "{byte}");
            }
        }
    }
}
