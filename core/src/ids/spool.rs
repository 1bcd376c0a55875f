//! ID files that cannot be read twice: FIFOs, pipes (`/dev/stdin`, `-`, a
//! process substitution such as `<(jq …)`) and devices. Each is read once,
//! checked as it streams into a private temporary copy, and sent from there.
//!
//! The copy is an unnamed temporary file (`O_TMPFILE` on Linux; elsewhere a
//! file unlinked as soon as it is made), readable by this process alone: it
//! has no name to clean up, so it is gone however the process ends, signals
//! included. Memory stays flat: the bytes pass through one buffer.

use std::fs::File;
use std::io::{self, Read, Write};

use super::scanner::Scanner;
use super::{IdStats, READ_BUFFER};
use crate::error::{Context as _, Error, IdFileError, Result};
use crate::report::Reporter;

/// Reads `source` to its end into a temporary copy, checking each piece
/// before it is written; the checked copy and what its check found. `name`
/// names `source` in messages; the progress goes to `reporter`.
pub(crate) fn check_copy(
    name: &str,
    mut source: impl Read,
    reporter: &Reporter,
) -> Result<(File, IdStats)> {
    let folder = std::env::temp_dir();
    let mut copy = tempfile::tempfile_in(&folder).with_context(|| {
        format!(
            "cannot make a temporary file in {} for a copy of {name}",
            folder.display()
        )
    })?;
    let progress = reporter.bytes("reading", None);
    let mut scanner = Scanner::new();
    let mut buf = vec![0; READ_BUFFER];
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(IdFileError::unreadable(name, e)),
        };
        scanner.feed(&buf[..n], None);
        // Once a line is bad nothing will be sent: read on only to count.
        if scanner.first_bad().is_none() {
            copy.write_all(&buf[..n]).with_context(|| {
                format!("cannot write the copy of {name} in {}", folder.display())
            })?;
        }
        progress.inc(n as u64);
    }
    let stats = scanner.finish(name, None).map_err(Error::from)?;
    Ok((copy, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::reference::reference;
    use crate::ids::testing::{edge_case_files, id_files};
    use proptest::prelude::*;

    /// A reader that gives `piece` bytes at a time, as a pipe may.
    struct Pieces<'a> {
        bytes: &'a [u8],
        piece: usize,
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.piece.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    fn copies_as_the_reference_says(file: &[u8], piece: usize) {
        let r = reference(file);
        let source = Pieces { bytes: file, piece };
        match crate::ids::IdFile::copy_of("standard input", source, &Reporter::silent()) {
            Ok(ids) => {
                assert!(r.passes());
                assert_eq!(ids.stats.normalised_bytes, r.normalised.len() as u64);
                assert_eq!(ids.stats.normal, r.is_normal(file));
                let mut out = Vec::new();
                ids.body().read_to_end(&mut out).unwrap();
                assert!(out == r.normalised, "piece {piece}: {file:?}");
            }
            Err(e) => {
                assert!(!r.passes(), "{e}");
                let msg = format!("{e:#}");
                assert!(msg.starts_with("standard input: "), "{msg}");
                assert_eq!(e.kind(), crate::ErrorKind::Usage);
                let bad = e.find::<crate::ids::IdFileError>().expect("the bad lines");
                assert_eq!(bad.bad_total(), r.bad.len() as u64);
                assert_eq!(
                    bad.bad_lines().first().map(|b| b.line),
                    r.bad.first().map(|b| b.0)
                );
            }
        }
    }

    #[test]
    fn copies_the_edge_cases_read_in_pieces_of_every_small_size() {
        for file in edge_case_files().iter().step_by(3) {
            for piece in 1..=9 {
                copies_as_the_reference_says(file, piece);
            }
        }
    }

    proptest! {
        #[test]
        fn copies_generated_files_as_the_reference_says(file in id_files(), piece in 1usize..100) {
            copies_as_the_reference_says(&file, piece);
        }
    }
}
