//! The runs of sorted keys on disk, and their merge: the external half of
//! the duplicate count.

use std::cmp::Reverse;
use std::collections::binary_heap::{BinaryHeap, PeekMut};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use super::super::check::read_at;
use super::WRITE_BUFFER;
use crate::error::{Context as _, Error, ErrorKind, Result};

/// Sorted runs of distinct keys in a temporary file, one after the other.
#[derive(Debug)]
pub(super) struct Spill {
    pub(super) file: File,
    pub(super) runs: Vec<Run>,
    pub(super) end: u64,
}

/// A sorted run of distinct keys in a [`Spill`]'s file.
#[derive(Clone, Copy, Debug)]
pub(super) struct Run {
    /// Its first byte in the file.
    pub(super) at: u64,
    /// How many keys it holds (8 bytes each).
    pub(super) keys: u64,
}

impl Spill {
    pub(super) fn new(name: &str) -> Result<Spill> {
        let folder = temp_folder();
        let file = tempfile::tempfile_in(&folder).with_context(|| {
            format!(
                "cannot make a temporary file in {} to count the duplicate IDs of {name}",
                folder.display()
            )
        })?;
        Ok(Spill {
            file,
            runs: Vec::new(),
            end: 0,
        })
    }

    /// Records a run of `keys` keys just written at the end of the file.
    pub(super) fn push_run(&mut self, keys: u64) {
        self.runs.push(Run { at: self.end, keys });
        self.end += keys * 8;
    }

    /// Writes `keys`, a sorted run, at the end of the file.
    pub(super) fn write_run(&mut self, name: &str, keys: &[u64]) -> Result<()> {
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, &self.file);
        let written = keys
            .iter()
            .try_for_each(|key| out.write_all(&key.to_le_bytes()))
            .and_then(|()| out.flush());
        drop(out);
        written.map_err(|e| self.write_error(name, e))?;
        self.push_run(keys.len() as u64);
        Ok(())
    }

    pub(super) fn write_error(&self, name: &str, e: io::Error) -> Error {
        Error::new(
            ErrorKind::Io,
            format!(
                "cannot write to the temporary file in {} that counts the duplicate IDs of \
                 {name} (it takes up to 8 bytes an ID): {e}",
                temp_folder().display()
            ),
        )
    }

    pub(super) fn read_error(name: &str, e: io::Error) -> Error {
        Error::new(
            ErrorKind::Io,
            format!(
                "cannot read back the temporary file that counts the duplicate IDs of {name}: {e}"
            ),
        )
    }

    /// Merges the runs `fan_in` at a time into longer runs of distinct keys,
    /// in a new temporary file; this one is gone when dropped.
    pub(super) fn merge_groups(&self, name: &str, fan_in: usize, budget: usize) -> Result<Spill> {
        let mut merged = Spill::new(name)?;
        for group in self.runs.chunks(fan_in) {
            let mut out = BufWriter::with_capacity(WRITE_BUFFER, &merged.file);
            let mut wrote = Ok(());
            let keys = merge(&self.file, group, budget, |key| {
                wrote = out.write_all(&key.to_le_bytes());
                // Hand a write error out as such, not as a read error.
                wrote
                    .as_ref()
                    .map_err(|_| io::ErrorKind::Other.into())
                    .copied()
            });
            let flushed = wrote.and_then(|()| out.flush());
            drop(out);
            flushed.map_err(|e| merged.write_error(name, e))?;
            let keys = keys.map_err(|e| Spill::read_error(name, e))?;
            merged.push_run(keys);
        }
        Ok(merged)
    }
}

/// Where the temporary files go: `$TMPDIR`, or `/tmp`.
pub(super) fn temp_folder() -> PathBuf {
    std::env::temp_dir()
}

/// Merges sorted runs of distinct keys, read through buffers that share
/// `budget` bytes, handing each distinct key to `emit` in order; returns how
/// many there were.
pub(super) fn merge(
    file: &File,
    runs: &[Run],
    budget: usize,
    mut emit: impl FnMut(u64) -> io::Result<()>,
) -> io::Result<u64> {
    let share = (budget / runs.len().max(1) / 8 * 8).max(8);
    let mut readers: Vec<RunReader> = runs.iter().map(|&run| RunReader::new(run)).collect();
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (i, reader) in readers.iter_mut().enumerate() {
        if let Some(key) = reader.next(file, share)? {
            heap.push(Reverse((key, i)));
        }
    }
    let mut distinct = 0;
    let mut last = None;
    while let Some(mut top) = heap.peek_mut() {
        let Reverse((key, i)) = *top;
        if last != Some(key) {
            distinct += 1;
            last = Some(key);
            emit(key)?;
        }
        match readers[i].next(file, share)? {
            Some(next) => *top = Reverse((next, i)),
            None => {
                PeekMut::pop(top);
            }
        }
    }
    Ok(distinct)
}

/// Reads one run's keys in order, a buffer at a time.
pub(super) struct RunReader {
    /// The next byte of the run in the file.
    at: u64,
    /// Keys of the run not yet read into the buffer.
    left: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl RunReader {
    pub(super) fn new(run: Run) -> RunReader {
        RunReader {
            at: run.at,
            left: run.keys,
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// The next key, refilling the buffer (of at most `share` bytes) when
    /// it is used up; `None` after the last.
    pub(super) fn next(&mut self, file: &File, share: usize) -> io::Result<Option<u64>> {
        if self.pos == self.buf.len() {
            if self.left == 0 {
                self.buf = Vec::new();
                return Ok(None);
            }
            let want = usize::try_from(self.left.saturating_mul(8))
                .unwrap_or(usize::MAX)
                .min(share);
            self.buf.resize(want, 0);
            read_exact_at(file, &mut self.buf, self.at)?;
            self.at += want as u64;
            self.left -= (want / 8) as u64;
            self.pos = 0;
        }
        let mut key = [0; 8];
        key.copy_from_slice(&self.buf[self.pos..self.pos + 8]);
        self.pos += 8;
        Ok(Some(u64::from_le_bytes(key)))
    }
}

pub(super) fn read_exact_at(file: &File, mut buf: &mut [u8], mut at: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, at)? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "it ended early",
                ))
            }
            n => {
                buf = &mut buf[n..];
                at += n as u64;
            }
        }
    }
    Ok(())
}
