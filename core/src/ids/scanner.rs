//! The streaming scanner: checks and normalises an ID file fed in pieces of
//! any size, in flat memory, with the [fast path](super::fast) for the runs
//! of lines that are already normal.

use super::fast::{normal_prefix, Prefix};
use super::grammar::{
    classify, is_blank, quote, BadLine, IdFileError, Line, BOM, MAX_LISTED_BAD_LINES, QUOTE_BYTES,
};
use super::IdStats;

/// A streaming scanner over the bytes of an ID file, fed in pieces of any size.
///
/// It keeps at most the start of one partial line between pieces, so memory
/// stays flat whatever the file.
#[derive(Debug)]
pub struct Scanner {
    line: u64,
    carry: Carry,
    skip_fast: u32,
    /// The fast path looks for CRLF line ends: the last lines had them.
    crlf: bool,
    stats: IdStats,
    bad: Vec<BadLine>,
    bad_total: u64,
}

/// The part of a line seen so far, when it goes on into the next piece.
#[derive(Debug, Default)]
struct Carry {
    /// Its first bytes as they are, enough to quote it.
    raw: Vec<u8>,
    /// The line with each run of spaces and tabs as one space, which is an
    /// ID, blank or bad just as the line is; only its first bytes.
    compact: Vec<u8>,
    /// `compact` was cut: the line is too long to be an ID or blank.
    too_long: bool,
}

/// The longest a compacted line can be and still be an ID or blank: a byte
/// order mark, a space, 19 digits, a space and a `\r`.
const COMPACT_MAX: usize = 3 + 1 + 19 + 1 + 1;

impl Carry {
    fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    fn push(&mut self, piece: &[u8]) {
        let room = QUOTE_BYTES.saturating_sub(self.raw.len());
        self.raw.extend_from_slice(&piece[..piece.len().min(room)]);
        if self.too_long {
            return;
        }
        for &byte in piece {
            if is_blank(byte) {
                if self.compact.last() == Some(&b' ') {
                    continue;
                }
                self.compact.push(b' ');
            } else {
                self.compact.push(byte);
            }
            if self.compact.len() > COMPACT_MAX {
                self.too_long = true;
                return;
            }
        }
    }
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

impl Scanner {
    /// A scanner at the start of a file.
    pub fn new() -> Scanner {
        Scanner {
            line: 0,
            carry: Carry::default(),
            skip_fast: 0,
            crlf: false,
            stats: IdStats {
                normal: true,
                ..IdStats::default()
            },
            bad: Vec::new(),
            bad_total: 0,
        }
    }

    /// A scanner for a part of a file that starts at a line other than the
    /// first (no byte order mark there); its line numbers count from that part.
    pub(crate) fn after_first_line() -> Scanner {
        Scanner {
            line: 1,
            ..Scanner::new()
        }
    }

    /// Scans the next piece of the file; with `out`, appends the normalised
    /// bytes of the lines it ends.
    pub fn feed(&mut self, chunk: &[u8], mut out: Option<&mut Vec<u8>>) {
        self.stats.bytes += chunk.len() as u64;
        let mut rest = chunk;
        loop {
            if self.carry.is_empty() {
                rest = self.feed_normal(rest, out.as_deref_mut());
            }
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                break;
            };
            let (piece, tail) = (&rest[..nl], &rest[nl + 1..]);
            if self.carry.is_empty() {
                self.line(piece, piece, out.as_deref_mut());
            } else {
                self.carry.push(piece);
                self.end_carried_line(out.as_deref_mut());
            }
            rest = tail;
        }
        if !rest.is_empty() {
            self.carry.push(rest);
        }
    }

    /// The fast path: takes the lines at the start of `bytes` that are already
    /// normal (digits and `\n`, or `\r\n`) in one go, and returns the rest.
    fn feed_normal<'b>(&mut self, bytes: &'b [u8], out: Option<&mut Vec<u8>>) -> &'b [u8] {
        // The first line may hold a byte order mark; after a line that is
        // not normal, the next few likely are not either (spaces around
        // each ID, say).
        if self.line == 0 || self.skip_fast > 0 {
            self.skip_fast = self.skip_fast.saturating_sub(1);
            return bytes;
        }
        let mut prefix = normal_prefix(bytes, self.crlf);
        if prefix.lines == 0 {
            // Perhaps the line ends are the other kind.
            self.crlf = !self.crlf;
            prefix = normal_prefix(bytes, self.crlf);
        }
        let Prefix { len, lines, crlf } = prefix;
        if lines == 0 {
            self.skip_fast = 64;
            return bytes;
        }
        self.line += lines;
        self.stats.ids += lines;
        self.stats.normalised_bytes += (len as u64) - crlf;
        if crlf > 0 {
            self.stats.normal = false;
        }
        if let Some(out) = out {
            // Each `\r` there is the one before a `\n`: leave it out.
            let mut from = 0;
            for cr in memchr::memchr_iter(b'\r', &bytes[..len]) {
                out.extend_from_slice(&bytes[from..cr]);
                from = cr + 1;
            }
            out.extend_from_slice(&bytes[from..len]);
        }
        &bytes[len..]
    }

    fn end_carried_line(&mut self, out: Option<&mut Vec<u8>>) {
        let carry = std::mem::take(&mut self.carry);
        if carry.too_long {
            self.line += 1;
            self.stats.normal = false;
            self.bad_line(&carry.raw);
        } else {
            self.line(&carry.compact, &carry.raw, out);
        }
    }

    /// Judges one whole line (`line`, or its compacted form), quoting `raw`
    /// if it is bad.
    fn line(&mut self, line: &[u8], raw: &[u8], out: Option<&mut Vec<u8>>) {
        self.line += 1;
        // A byte order mark is only one at the very start of the file.
        let text = match self.line {
            1 => line.strip_prefix(BOM).unwrap_or(line),
            _ => line,
        };
        match classify(text) {
            Line::Id(id) => {
                self.stats.ids += 1;
                self.stats.normalised_bytes += id.len() as u64 + 1;
                // Normal: the digits and nothing else, not even a byte order mark.
                self.stats.normal &= id.len() == line.len();
                if let Some(out) = out {
                    out.extend_from_slice(id);
                    out.push(b'\n');
                }
            }
            Line::Blank => {
                self.stats.skipped += 1;
                self.stats.normal = false;
            }
            Line::Bad => {
                self.stats.normal = false;
                self.bad_line(raw);
            }
        }
    }

    fn bad_line(&mut self, raw: &[u8]) {
        self.bad_total += 1;
        if self.bad.len() < MAX_LISTED_BAD_LINES {
            self.bad.push(BadLine {
                line: self.line,
                content: quote(raw),
            });
        }
    }

    /// Whether every line seen so far was an ID and its `\n`, and nothing else.
    pub(crate) fn is_normal(&self) -> bool {
        self.stats.normal
    }

    /// The first bad line seen so far.
    pub(crate) fn first_bad(&self) -> Option<&BadLine> {
        self.bad.first()
    }

    /// Ends a part of a file: its stats if every line in it passed. A last
    /// line without `\n` is judged too.
    pub(crate) fn finish_part(mut self) -> Option<IdStats> {
        if !self.carry.is_empty() {
            self.stats.normal = false; // no final newline
            self.end_carried_line(None);
        }
        (self.bad_total == 0).then_some(self.stats)
    }

    /// Ends the file: scans a last line without `\n` (appending it to `out`),
    /// then returns what was found, or the error naming the file (`name`) if
    /// any line was bad or no ID was found.
    pub fn finish(mut self, name: &str, out: Option<&mut Vec<u8>>) -> Result<IdStats, IdFileError> {
        if !self.carry.is_empty() {
            self.stats.normal = false; // no final newline
            self.end_carried_line(out);
        }
        if self.bad_total > 0 || self.stats.ids == 0 {
            return Err(IdFileError {
                name: name.to_string(),
                bad: self.bad,
                bad_total: self.bad_total,
            });
        }
        Ok(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::reference::reference;
    use crate::ids::testing::{edge_case_files, id_files, normal_lines};
    use proptest::prelude::*;

    fn scan(bytes: &[u8], piece: usize) -> (Result<IdStats, IdFileError>, Vec<u8>) {
        let mut s = Scanner::new();
        let mut out = Vec::new();
        for chunk in bytes.chunks(piece.max(1)) {
            s.feed(chunk, Some(&mut out));
        }
        (s.finish("ids.txt", Some(&mut out)), out)
    }

    /// The scanner, fed in pieces of `piece` bytes, says what the reference
    /// says: the same output, counts, bad lines (numbered and quoted alike)
    /// and verdict on whether the file is already normal.
    pub(crate) fn agrees_with_the_reference(file: &[u8], piece: usize) {
        let r = reference(file);
        let (result, out) = scan(file, piece);
        assert!(out == r.normalised, "output, piece {piece}: {file:?}");
        match result {
            Ok(stats) => {
                assert!(r.passes(), "passed, piece {piece}: {file:?}");
                assert_eq!(
                    stats,
                    IdStats {
                        ids: r.ids,
                        skipped: r.skipped,
                        normalised_bytes: r.normalised.len() as u64,
                        bytes: file.len() as u64,
                        normal: r.is_normal(file),
                    },
                    "piece {piece}: {file:?}"
                );
            }
            Err(e) => {
                assert!(!r.passes(), "failed, piece {piece}: {e}");
                assert_eq!(e.bad_total(), r.bad.len() as u64, "piece {piece}: {e}");
                let expected: Vec<BadLine> = r
                    .bad
                    .iter()
                    .take(MAX_LISTED_BAD_LINES)
                    .map(|(line, raw)| BadLine {
                        line: *line,
                        content: quote(raw),
                    })
                    .collect();
                assert_eq!(e.bad_lines(), &expected[..], "piece {piece}");
            }
        }
    }

    #[test]
    fn agrees_with_the_reference_on_the_edge_cases_in_pieces_of_every_size() {
        for file in edge_case_files() {
            for piece in (1..=70).chain([127, 128, 129, 4096]) {
                agrees_with_the_reference(&file, piece);
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference_on_generated_files(file in id_files(), piece in 1usize..200) {
            agrees_with_the_reference(&file, piece);
            agrees_with_the_reference(&file, file.len().max(1));
        }

        #[test]
        fn agrees_with_the_reference_on_any_bytes(
            bytes in prop::collection::vec(any::<u8>(), 0..600), piece in 1usize..70
        ) {
            agrees_with_the_reference(&bytes, piece);
        }
    }

    #[test]
    fn normalises_whitespace_crlf_bom_and_blanks() {
        let input = b"\xEF\xBB\xBF 123 \r\n\r\n\t456\n\n7890123456789012345\r\n  \n42";
        for piece in [1, 2, 3, 5, 1024] {
            let (stats, out) = scan(input, piece);
            let stats = stats.unwrap();
            assert_eq!(out, b"123\n456\n7890123456789012345\n42\n", "piece {piece}");
            assert_eq!((stats.ids, stats.skipped), (4, 3));
            assert!(!stats.normal);
        }
    }

    #[test]
    fn crlf_files_are_normalised_on_the_fast_path_too() {
        let mut input = normal_lines(20_000, 11, "\r\n");
        input.extend(b"\r\n");
        input.extend(normal_lines(20_000, 12, "\r\n"));
        for piece in [1, 63, 64, 65, 1000, 256 * 1024] {
            agrees_with_the_reference(&input, piece);
        }
        // A `\r` alone, or a 20-digit line, is still bad, wherever it falls.
        for bad in [&b"12\r34\r\n"[..], b"12345678901234567890\r\n", b"1 2\r\n"] {
            let mut input = input.clone();
            let at = input.len() / 2;
            let at = at + memchr::memchr(b'\n', &input[at..]).unwrap() + 1;
            input.splice(at..at, bad.iter().copied());
            for piece in [64, 4096] {
                agrees_with_the_reference(&input, piece);
            }
        }
    }

    #[test]
    fn names_bad_lines_with_numbers() {
        let (res, _) = scan(b"1\nabc\n12345678901234567890\n4 5\n\n-7\n", 3);
        let msg = res.unwrap_err().to_string();
        assert_eq!(
            msg,
            "ids.txt: 4 lines not an ID (1 to 19 digits): line 2 \"abc\", \
             line 3 \"12345678901234567890\", line 4 \"4 5\", line 6 \"-7\""
        );
    }

    #[test]
    fn lists_ten_then_counts() {
        let input: Vec<u8> = (0..25)
            .flat_map(|i| format!("x{i}\n").into_bytes())
            .collect();
        let msg = scan(&input, 7).0.unwrap_err().to_string();
        assert!(msg.starts_with("ids.txt: 25 lines not an ID"), "{msg}");
        assert!(msg.contains("line 10 \"x9\""), "{msg}");
        assert!(!msg.contains("line 11 "), "{msg}");
        assert!(msg.ends_with(" and 15 more"), "{msg}");
    }

    #[test]
    fn long_lines_are_bad_and_quoted_short_and_memory_stays_flat() {
        let mut input = b"1\n".to_vec();
        input.extend(std::iter::repeat_n(b'9', 100_000));
        input.extend(b"\n2\n");
        let mut s = Scanner::new();
        for chunk in input.chunks(4096) {
            s.feed(chunk, None);
            assert!(s.carry.raw.len() <= QUOTE_BYTES && s.carry.compact.len() <= COMPACT_MAX + 1);
        }
        let msg = s.finish("ids.txt", None).unwrap_err().to_string();
        assert!(msg.contains("line 2 \"9999"), "{msg}");
        assert!(msg.contains("…\""), "{msg}");
        assert!(msg.len() < 200, "{msg}");
    }

    #[test]
    fn a_file_without_ids_is_an_error() {
        for input in [&b""[..], b"\n\n", b"\xEF\xBB\xBF", b" \r\n"] {
            let msg = scan(input, 1).0.unwrap_err().to_string();
            assert_eq!(
                msg,
                "ids.txt: no ID found; the file must hold one ID per line"
            );
        }
    }
}
