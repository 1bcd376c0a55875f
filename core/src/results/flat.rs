//! The fast path of the results check: a line written the way the API
//! writes events (a flat JSON object of plain strings) is taken by walking
//! bit masks of its quotes and special bytes, 64 bytes to a word, instead of
//! parsing it. Anything else goes to the full parser; both make the same
//! [`Record`] of a line (the tests in `results` hold them to it, event for
//! event). Safe code, written so the compiler vectorises the masks (see
//! [`block_marks`]): 2.5 GB/s here, where a plain loop that sets a bit a
//! byte runs at a third of that.

use super::event::{Event, Field, Record, Text};

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
    /// printable ASCII, no escapes, no `id`, `action` or `reason` twice, no
    /// `title`, which a problem document has), then `\n` or `\r\n`.
    /// Returns where the next line starts, and the [`Record`] the line is:
    /// the same as the parser ([`super::event::parse`]) makes of it. `None`
    /// for any other line, which the parser reads.
    ///
    /// Inlined where the events go, so that what a sink does not read (the
    /// times, for a JSON Lines download) is not made at all.
    #[inline(always)]
    pub(super) fn flat_line<'b>(
        &self,
        bytes: &'b [u8],
        start: usize,
    ) -> Option<(usize, Record<'b>)> {
        if bytes.get(start) != Some(&b'{') {
            return None;
        }
        // No special byte before the line's end, and a line end there.
        let end_mark = Marks::next(&self.specials, start)?;
        let q = &self.quotes[..];
        let (mut id, mut action, mut reason) = (None, None, None);
        let (mut created_at, mut redacted_at) = (None, None);
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
                let key = &bytes[open + 1..key_end];
                // By length first: one jump, then one comparison.
                let seen = match key.len() {
                    2 if key == b"id" => id.replace(value).is_some(),
                    6 if key == b"action" => action.replace(value).is_some(),
                    6 if key == b"reason" => reason.replace(value).is_some(),
                    // Given twice, the last one counts, as with the parser.
                    10 if key == b"created_at" => {
                        created_at = Some(value);
                        false
                    }
                    11 if key == b"redacted_at" => {
                        redacted_at = Some(value);
                        false
                    }
                    // A problem document may be flat: the parser reads it.
                    5 if key == b"title" => return None,
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
        if end_mark != end {
            return None;
        }
        // The strings are plain: printable ASCII, no escapes, so each is
        // its bytes.
        let text = |value| Field::Text(Text::ascii(value));
        let record = match (id, action, reason) {
            (Some(id), Some(action), Some(reason)) => Record::Event(Event {
                id: Text::ascii(id),
                action: Text::ascii(action),
                reason: Text::ascii(reason),
                created_at: created_at.map(text),
                redacted_at: redacted_at.map(text),
            }),
            _ => Record::Other,
        };
        Some((next, record))
    }
}

/// The quote and special masks of 64 bytes, one bit a byte. Safe code
/// the compiler vectorises: each test is made on the 64 bytes into an array
/// of 0s and 1s (16 bytes an instruction with SSE2), then each eight of
/// those are packed into a byte of the mask with one multiply.
#[inline]
fn block_marks(block: &[u8; 64]) -> (u64, u64) {
    let quotes: [u8; 64] = std::array::from_fn(|k| u8::from(block[k] == b'"'));
    let specials: [u8; 64] = std::array::from_fn(|k| u8::from(is_special(block[k])));
    (pack(&quotes), pack(&specials))
}

/// 64 bytes of 0 or 1 as the 64 bits of a word, the first byte lowest.
#[inline]
fn pack(flags: &[u8; 64]) -> u64 {
    let mut bits = 0u64;
    for (k, eight) in flags.chunks_exact(8).enumerate() {
        let eight = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
        // Byte j's 1 lands on bit 56 + j; the partial products all land on
        // different bits, so no carry reaches the top byte.
        let byte = eight.wrapping_mul(0x0102_0408_1020_4080) >> 56;
        bits |= byte << (8 * k);
    }
    bits
}

/// A byte a plain string may not hold: `\`, a control byte (line ends
/// included), DEL, or anything beyond ASCII.
pub(super) fn is_special(byte: u8) -> bool {
    !(b' '..=b'~').contains(&byte) || byte == b'\\'
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The masks as a byte-by-byte look makes them.
    fn looked_at(block: &[u8; 64]) -> (u64, u64) {
        let (mut quotes, mut specials) = (0u64, 0u64);
        for (k, &byte) in block.iter().enumerate() {
            quotes |= u64::from(byte == b'"') << k;
            specials |= u64::from(is_special(byte)) << k;
        }
        (quotes, specials)
    }

    #[test]
    fn the_masks_agree_with_a_byte_by_byte_look_on_random_blocks() {
        let mut next = crate::xorshift::xorshift(0x9E37_79B9_7F4A_7C15);
        for round in 0..50_000 {
            let mut block = [0u8; 64];
            for eight in block.chunks_exact_mut(8) {
                eight.copy_from_slice(&next().to_le_bytes());
            }
            // Every other block is made of quotes, specials and plain bytes
            // only, so that dense masks are tried too.
            if round % 2 == 1 {
                for byte in &mut block {
                    *byte = [b'"', b'\\', b'\n', 0x7F, b'a', 0x80][usize::from(*byte % 6)];
                }
            }
            assert_eq!(block_marks(&block), looked_at(&block), "{block:?}");
        }
    }

    #[test]
    fn the_masks_mark_every_quote_and_special_byte() {
        let mut block = [0u8; 64];
        for first in (0..=255u8).step_by(4) {
            for (k, b) in block.iter_mut().enumerate() {
                *b = first.wrapping_add(k as u8);
            }
            assert_eq!(block_marks(&block), looked_at(&block), "{block:?}");
        }
    }
}
