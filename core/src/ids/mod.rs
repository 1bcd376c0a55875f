//! ID files: checked in full before a byte is sent, then streamed normalised.
//!
//! An ID file holds one Tweet or user ID per line, 1 to 19 decimal digits.
//! Surrounding spaces and tabs, CRLF line ends, a UTF-8 byte order mark at
//! the start and blank lines are normalised away; any other line is an error
//! ([`IdFileError`]). What is sent is the normalised file: each ID followed
//! by `\n`, nothing else.
//!
//! - [`reference()`]: the grammar written plainly over a whole file in memory,
//!   the specification every faster path below is tested against.
//! - the fast path: 64 bytes at a time with SIMD and bit masks, for runs
//!   of lines that are already normal (the only `unsafe` code here).
//! - [`Scanner`]: the streaming checker and normaliser, fed in pieces.
//! - [`IdFile::check`]: the full check before the upload, in two halves on
//!   two threads for a big file; a pipe or FIFO is first copied into a
//!   private temporary file ([`IdFile::check_stdin`] for standard input).
//! - the upload body (`transfer::upload`'s reader): exactly the normalised
//!   bytes, checked again as they go, failing if the file changed.
//! - [`IdFile::count_duplicates`] (`upload-ids --check`): the IDs that repeat
//!   an earlier one, counted by their text with an external sort
//!   ([`DuplicateCounter`]) in flat memory; [`Reference::duplicates`] is its
//!   specification.
//!
//! None holds more than a buffer of the file per thread (the count of
//! duplicates, a run of 4 MiB), but the reference.

#[deny(unsafe_code)]
mod body;
#[deny(unsafe_code)]
mod check;
#[deny(unsafe_code)]
mod duplicates;
mod fast;
#[deny(unsafe_code)]
mod grammar;
#[deny(unsafe_code)]
mod reference;
#[deny(unsafe_code)]
mod scanner;
#[deny(unsafe_code)]
mod spool;
#[cfg(test)]
mod testing;

pub use check::IdFile;
pub use duplicates::{id_key, DuplicateCounter, MAX_FAN_IN, RUN_IDS};
pub use grammar::{BadLine, IdFileError, MAX_ID_DIGITS, MAX_LISTED_BAD_LINES};
pub use reference::{reference, Reference};
pub use scanner::Scanner;

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
