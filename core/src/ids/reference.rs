//! The reference checker: the grammar of an ID file, written as plainly as
//! it can be, over a whole file in memory.
//!
//! It is the specification the fast paths are tested against ([`super::Scanner`],
//! the bit-mask prefix, the check in two halves, the upload reader), not a
//! path any upload takes: it holds the whole file and its output in memory.

/// What the reference makes of a whole ID file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reference {
    /// The normalised file: each ID followed by `\n`, nothing else.
    pub normalised: Vec<u8>,
    /// How many IDs there are.
    pub ids: u64,
    /// How many blank lines were skipped.
    pub skipped: u64,
    /// The bad lines, in order: the 1-based line number and the whole line
    /// as it is in the file, without its `\n`.
    pub bad: Vec<(u64, Vec<u8>)>,
}

impl Reference {
    /// Whether the file passes: no bad line, and at least one ID.
    pub fn passes(&self) -> bool {
        self.bad.is_empty() && self.ids > 0
    }

    /// Whether `file` (the bytes this was made from) is its own normalised
    /// form: every line an ID and its `\n`, and nothing else.
    pub fn is_normal(&self, file: &[u8]) -> bool {
        self.bad.is_empty() && self.normalised == file
    }

    /// How many IDs repeat an earlier one (an ID there three times counts
    /// two), comparing their text (`007` and `7` are two IDs): a set of the
    /// IDs seen, in memory. The specification of
    /// [`DuplicateCounter`](super::DuplicateCounter).
    pub fn duplicates(&self) -> u64 {
        let mut seen = std::collections::HashSet::new();
        let ids = self.normalised.split(|&b| b == b'\n');
        ids.filter(|id| !id.is_empty() && !seen.insert(*id)).count() as u64
    }
}

/// Checks and normalises a whole ID file, line by line.
pub fn reference(file: &[u8]) -> Reference {
    let mut out = Reference::default();
    let mut lines: Vec<&[u8]> = file.split(|&b| b == b'\n').collect();
    // After the last `\n` (or in an empty file) there is no line.
    if lines.last() == Some(&&b""[..]) {
        lines.pop();
    }
    for (index, &whole) in lines.iter().enumerate() {
        let number = index as u64 + 1;
        let mut line = whole;
        if number == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        line = line.strip_suffix(b"\r").unwrap_or(line);
        while let [b' ' | b'\t', rest @ ..] = line {
            line = rest;
        }
        while let [rest @ .., b' ' | b'\t'] = line {
            line = rest;
        }
        if line.is_empty() {
            out.skipped += 1;
        } else if (1..=19).contains(&line.len()) && line.iter().all(|b| b.is_ascii_digit()) {
            out.ids += 1;
            out.normalised.extend_from_slice(line);
            out.normalised.push(b'\n');
        } else {
            out.bad.push((number, whole.to_vec()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_grammar() {
        let r = reference(b"\xEF\xBB\xBF 1 \r\n\n\t2\n3\r\r\n\xEF\xBB\xBF4\n 5");
        assert_eq!(r.normalised, b"1\n2\n5\n");
        assert_eq!((r.ids, r.skipped), (3, 1));
        assert_eq!(
            r.bad,
            vec![(4, b"3\r\r".to_vec()), (5, b"\xEF\xBB\xBF4".to_vec())]
        );
        assert!(reference(b"7\n8\n").is_normal(b"7\n8\n"));
        for not_normal in [&b"7"[..], b"7 \n", b"\n7\n", b"7\r\n", b"\xEF\xBB\xBF7\n"] {
            assert!(
                !reference(not_normal).is_normal(not_normal),
                "{not_normal:?}"
            );
        }
        assert_eq!(reference(b""), Reference::default());
        assert_eq!(reference(b"\n").skipped, 1);
    }

    #[test]
    fn counts_duplicates_by_their_text() {
        let r = reference(b"7\n 07\n7\r\n\n007\n7\n07\n8");
        assert_eq!((r.ids, r.duplicates()), (7, 3));
        assert_eq!(reference(b"1\n2\n").duplicates(), 0);
        assert_eq!(reference(b"").duplicates(), 0);
    }
}
