//! ID files: checked in full before a byte is sent, then streamed normalised.
//!
//! An ID file holds one Tweet or user ID per line, 1 to 19 decimal digits.
//! Surrounding spaces and tabs, CRLF line ends, a UTF-8 byte order mark at
//! the start and blank lines are normalised away; any other line is an error
//! ([`IdFileError`]). What is sent is the normalised file: each ID followed
//! by `\n`, nothing else.
//!
//! - `reference`: the grammar written plainly over a whole file in memory,
//!   the specification every faster path below is tested against (built
//!   for the tests only).
//! - `fast`: 64 bytes at a time with SIMD and bit masks, for runs of lines
//!   that are already normal (the only `unsafe` code here).
//! - `scanner`: the streaming checker and normaliser, fed in pieces
//!   ([`check_bytes`] runs it over bytes in memory).
//! - [`IdFile::check`]: the full check before the upload, in two halves on
//!   two threads for a big file; a pipe or FIFO is first copied into a
//!   private temporary file ([`IdFile::check_stdin`] for standard input).
//! - the upload body (`transfer::upload`'s reader): exactly the normalised
//!   bytes, checked again as they go, failing if the file changed.
//! - [`IdFile::count_duplicates`] (`upload-ids --check`): the IDs that repeat
//!   an earlier one, counted by their text with an external sort
//!   in flat memory; the reference's count of them is its specification.
//!
//! None holds more than a buffer of the file per thread (the count of
//! duplicates, a run of 4 MiB), but the reference.

mod body;
mod check;
mod duplicates;
#[allow(unsafe_code)]
mod fast;
mod grammar;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod reference;
mod scanner;
mod spool;
#[cfg(test)]
mod testing;

pub use check::IdFile;

pub use grammar::{BadLine, IdFileError, MAX_ID_DIGITS, MAX_LISTED_BAD_LINES};
pub(crate) use scanner::Scanner;

/// Checks IDs held in memory, as [`IdFile::check`] checks a file (fed in
/// pieces of a read's size); `name` names them in the error.
pub fn check_bytes(name: &str, bytes: &[u8]) -> Result<IdStats, IdFileError> {
    let mut scanner = Scanner::new();
    for piece in bytes.chunks(READ_BUFFER) {
        scanner.feed(piece, None);
    }
    scanner.finish(name, None)
}

/// Checks IDs held in memory and normalises them, as an upload sends them:
/// the normalised bytes go to `sink` a piece at a time, in order.
pub fn normalise_bytes(
    name: &str,
    bytes: &[u8],
    mut sink: impl FnMut(&[u8]),
) -> Result<IdStats, IdFileError> {
    let mut scanner = Scanner::new();
    let mut out = Vec::with_capacity(READ_BUFFER + 64);
    for piece in bytes.chunks(READ_BUFFER) {
        scanner.feed(piece, Some(&mut out));
        sink(&out);
        out.clear();
    }
    let stats = scanner.finish(name, Some(&mut out));
    sink(&out);
    stats
}

/// How much of a file one read takes.
const READ_BUFFER: usize = 256 * 1024;

/// What a full pass over an ID file found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IdStats {
    /// IDs found (each is sent).
    pub ids: u64,
    /// Blank lines skipped (including lines of spaces and tabs).
    pub skipped: u64,
    /// Size in bytes of the normalised file: what an upload sends.
    pub normalised_bytes: u64,
    /// Size in bytes of the file as it is.
    pub bytes: u64,
    /// The file is its own normalised form: every line is an ID followed by
    /// `\n` and nothing else (no blank line, space, tab, `\r` or byte order
    /// mark, and a final `\n`). Such a file is sent as it is.
    pub normal: bool,
}
