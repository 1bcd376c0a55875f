//! The count of duplicate IDs (`upload-ids --check`), exact and in flat
//! memory, whatever the number of IDs: an external sort.
//!
//! Duplicates compare an ID's text, not its number: the API takes an ID as a
//! string of digits, so `007` and `7` are two IDs, as they are two lines of
//! what an upload sends. Each ID becomes a [`id_key`], a `u64` that keeps
//! that distinction (it orders IDs by length, then value), so that sorting
//! the keys brings equal IDs together.
//!
//! The keys are gathered in runs of [`RUN_IDS`] (4 MiB), each sorted in
//! memory, its own repeats counted out, and written to an unnamed temporary
//! file (gone however the process ends). At the end the runs are merged
//! through read buffers that share the same 4 MiB, counting the distinct
//! keys: the duplicates are the IDs less the distinct ones. More runs than a
//! merge takes at once ([`MAX_FAN_IN`], 268 million IDs) are first merged in
//! groups into longer runs, in a fresh temporary file. The disk
//! used is at most 8 bytes an ID (twice that while such a pass runs); a file
//! of fewer than [`RUN_IDS`] IDs never touches the disk.

mod runs;

use runs::{merge, Spill};

use super::check::IdFile;
use super::grammar::MAX_ID_DIGITS;
use super::scanner::Scanner;
use super::READ_BUFFER;
use crate::error::{fail, Context as _, Error, ErrorKind, Result};
use crate::report::Reporter;

/// How many IDs a run holds: sorted in memory, 8 bytes each (4 MiB). With
/// the rest of `upload-ids --check`, the peak is about 10 MiB resident; runs
/// twice as long took 14 MiB and were no faster.
pub(crate) const RUN_IDS: usize = 1 << 19;

/// The smallest read buffer a run gets in a merge: with the 4 MiB of a run
/// shared out, 512 runs are merged at once.
const MIN_MERGE_READ: usize = 8 * 1024;

/// How many runs one merge takes at once: 268 million IDs in one pass.
pub(crate) const MAX_FAN_IN: usize = RUN_IDS * 8 / MIN_MERGE_READ;

/// The buffer of each write to the temporary file.
const WRITE_BUFFER: usize = 64 * 1024;

/// `KEY_BASE[n]`: how many IDs there are of fewer than `n` digits, the key of
/// the first ID of `n` digits (`0…0`).
const KEY_BASE: [u64; MAX_ID_DIGITS + 1] = {
    let mut base = [0; MAX_ID_DIGITS + 1];
    let mut n = 1;
    let mut ids_of_n_digits: u64 = 10;
    while n < MAX_ID_DIGITS {
        base[n + 1] = base[n] + ids_of_n_digits;
        ids_of_n_digits *= 10;
        n += 1;
    }
    base
};

/// The key of an ID (1 to 19 ASCII digits): its rank among all IDs ordered
/// by length, then value. Two IDs have the same key exactly when they are
/// the same text, so `7`, `07` and `007` have three keys. All the IDs there
/// are (10 + 100 + … + 10^19 of them, about 1.1 × 10^19) fit in a `u64`.
/// `None` for anything that is not an ID.
pub(crate) fn id_key(id: &[u8]) -> Option<u64> {
    if id.is_empty() || id.len() > MAX_ID_DIGITS {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in id {
        if !byte.is_ascii_digit() {
            return None;
        }
        // At most 19 digits: below 10^19, which fits.
        value = value * 10 + u64::from(byte - b'0');
    }
    // At most about 1.1 × 10^19, below 2^64 (1.8 × 10^19).
    Some(KEY_BASE[id.len()] + value)
}

/// Counts the IDs that repeat an earlier one, fed one ID at a time, in flat
/// memory (a run of [`RUN_IDS`] keys, 4 MiB) whatever their number. An ID
/// there three times counts two; IDs compare as text ([`id_key`]).
///
/// The keys are sorted in runs, each written to an unnamed temporary file
/// once full (8 bytes a key, each run's own repeats left out), then merged
/// at [`finish`](DuplicateCounter::finish), up to [`MAX_FAN_IN`] runs at a
/// time, counting the distinct keys. Fewer than [`RUN_IDS`] IDs never touch
/// the disk.
#[derive(Debug)]
pub(crate) struct DuplicateCounter {
    /// The ID file, for messages.
    name: String,
    run: Vec<u64>,
    run_ids: usize,
    fan_in: usize,
    ids: u64,
    /// Repeats found within runs, as each was sorted.
    repeats: u64,
    spill: Option<Spill>,
}

impl DuplicateCounter {
    /// A counter for the IDs of the file `name` (which messages name).
    pub fn new(name: &str) -> DuplicateCounter {
        DuplicateCounter::with_limits(name, RUN_IDS, MAX_FAN_IN)
    }

    /// A counter with runs of `run_ids` keys, merged `fan_in` at a time: the
    /// tests make both small, to reach every path with a few IDs.
    pub(crate) fn with_limits(name: &str, run_ids: usize, fan_in: usize) -> DuplicateCounter {
        let run_ids = run_ids.max(1);
        DuplicateCounter {
            name: name.to_string(),
            // Reserved, not touched: a small file takes only what it fills.
            run: Vec::with_capacity(run_ids),
            run_ids,
            fan_in: fan_in.max(2),
            ids: 0,
            repeats: 0,
            spill: None,
        }
    }

    /// Adds one ID: 1 to 19 ASCII digits, as a checked file's normalised
    /// lines hold (anything else is an [`Integrity`](ErrorKind::Integrity)
    /// error). Fails ([`Io`](ErrorKind::Io)) if a full run cannot be written
    /// to the temporary file.
    pub fn add(&mut self, id: &[u8]) -> Result<()> {
        let key = id_key(id).ok_or_else(|| {
            Error::new(
                ErrorKind::Integrity,
                format!(
                    "counting the duplicate IDs of {}: {:?} is not an ID",
                    self.name,
                    String::from_utf8_lossy(id)
                ),
            )
        })?;
        self.add_key(key)
    }

    /// Adds the IDs of normalised lines: each ID followed by `\n`.
    pub(crate) fn add_lines(&mut self, lines: &[u8]) -> Result<()> {
        let mut from = 0;
        for nl in memchr::memchr_iter(b'\n', lines) {
            self.add(&lines[from..nl])?;
            from = nl + 1;
        }
        if from < lines.len() {
            fail!(
                Integrity,
                "counting the duplicate IDs of {}: a normalised line lacks its newline",
                self.name
            );
        }
        Ok(())
    }

    fn add_key(&mut self, key: u64) -> Result<()> {
        self.ids += 1;
        self.run.push(key);
        if self.run.len() == self.run_ids {
            self.spill_run()?;
        }
        Ok(())
    }

    /// How many IDs were added so far.
    pub fn ids(&self) -> u64 {
        self.ids
    }

    /// Sorts the run in memory and counts its repeats out.
    fn sort_run(&mut self) {
        self.run.sort_unstable();
        let before = self.run.len();
        self.run.dedup();
        self.repeats += (before - self.run.len()) as u64;
    }

    /// Sorts the run and writes it to the temporary file, made on the first
    /// run that fills.
    fn spill_run(&mut self) -> Result<()> {
        self.sort_run();
        let spill = match &mut self.spill {
            Some(spill) => spill,
            None => self.spill.insert(Spill::new(&self.name)?),
        };
        spill.write_run(&self.name, &self.run)?;
        self.run.clear();
        Ok(())
    }

    /// The number of IDs added that repeat an earlier one.
    pub fn finish(mut self) -> Result<u64> {
        let Some(mut spill) = self.spill.take() else {
            self.sort_run();
            return Ok(self.repeats);
        };
        if !self.run.is_empty() {
            self.sort_run();
            spill.write_run(&self.name, &self.run)?;
        }
        // The run's memory goes back before the merge buffers take as much.
        let budget = self.run_ids * 8;
        self.run = Vec::new();
        while spill.runs.len() > self.fan_in {
            spill = spill.merge_groups(&self.name, self.fan_in, budget)?;
        }
        let distinct = merge(&spill.file, &spill.runs, budget, |_| Ok(()))
            .map_err(|e| Spill::read_error(&self.name, e))?;
        Ok(self.ids - distinct)
    }
}

impl IdFile {
    /// Counts the IDs that repeat an earlier one (an ID there three times
    /// counts two), comparing their text: `007` and `7` are two IDs.
    ///
    /// The file is read again and normalised by the same scanner as
    /// its check; the IDs are counted by an external sort, in flat
    /// memory and up to 8 bytes an ID of temporary disk. A file that changed
    /// since its check fails, as an upload would
    /// ([`Integrity`](ErrorKind::Integrity), exit code 1); the progress goes
    /// to `reporter`.
    pub fn count_duplicates(&self, reporter: &Reporter) -> Result<u64> {
        let name = &self.name;
        let len = self.stats.bytes;
        let changed = |how: String| {
            Error::new(
                ErrorKind::Integrity,
                format!(
                    "{name} changed after its check, while its duplicate IDs were counted: {how}"
                ),
            )
        };
        let progress = reporter.bytes("counting duplicates", Some(len));
        let mut counter = DuplicateCounter::new(name);
        let mut scanner = Scanner::new();
        let mut input = vec![0; READ_BUFFER];
        let mut output = Vec::with_capacity(READ_BUFFER + 64);
        let mut at = 0;
        while at < len {
            let want = input
                .len()
                .min(usize::try_from(len - at).unwrap_or(usize::MAX));
            let n = self
                .read_at(&mut input[..want], at)
                .with_context(|| format!("cannot read {name}"))?;
            if n == 0 {
                return Err(changed(format!(
                    "it is shorter than the {len} bytes checked"
                )));
            }
            scanner.feed(&input[..n], Some(&mut output));
            if let Some(bad) = scanner.first_bad() {
                let how = format!("line {} {:?} is not an ID", bad.line, bad.content);
                return Err(changed(how));
            }
            counter.add_lines(&output)?;
            output.clear();
            at += n as u64;
            progress.inc(n as u64);
        }
        let mut probe = [0; 1];
        if self
            .read_at(&mut probe, at)
            .with_context(|| format!("cannot read {name}"))?
            > 0
        {
            return Err(changed(format!(
                "it is longer than the {len} bytes checked"
            )));
        }
        let stats = scanner
            .finish(name, Some(&mut output))
            .map_err(|e| changed(e.what()))?;
        counter.add_lines(&output)?;
        let checked = self.stats;
        if (stats.ids, stats.normalised_bytes) != (checked.ids, checked.normalised_bytes)
            || counter.ids() != checked.ids
        {
            return Err(changed(format!(
                "it now holds {} IDs, not the {} checked",
                stats.ids, checked.ids
            )));
        }
        drop(progress);
        let _merging = counter
            .spill
            .is_some()
            .then(|| reporter.spinner("counting duplicates: merging the sorted runs of IDs"));
        counter.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::reference::reference;
    use crate::ids::testing::{edge_case_files, id_files};
    use proptest::prelude::*;
    use std::io::Write as _;

    /// The keys of every ID of up to `n` digits, in order of length, then value.
    fn all_ids(n: usize) -> Vec<String> {
        (1..=n)
            .flat_map(|len| (0..10u64.pow(len as u32)).map(move |v| format!("{v:0len$}")))
            .collect()
    }

    #[test]
    fn keys_are_ranks_by_length_then_value() {
        let ids = all_ids(4);
        assert_eq!(ids.len(), 11_110);
        for (rank, id) in ids.iter().enumerate() {
            assert_eq!(id_key(id.as_bytes()), Some(rank as u64), "{id}");
        }
        assert_eq!(KEY_BASE[19], 1_111_111_111_111_111_110);
        let longest = id_key(b"9999999999999999999").unwrap();
        assert_eq!(longest, 11_111_111_111_111_111_109);
        assert!(id_key(b"0000000000000000000").unwrap() == KEY_BASE[19]);
        assert_eq!(
            id_key(b"1000000000000000000").unwrap(),
            KEY_BASE[19] + 1_000_000_000_000_000_000
        );
        for (a, b) in [(&b"7"[..], &b"07"[..]), (b"007", b"7"), (b"0", b"00")] {
            assert_ne!(id_key(a), id_key(b));
        }
        for bad in [&b""[..], b"12345678901234567890", b"1a", b" 1", b"-1"] {
            assert_eq!(id_key(bad), None, "{bad:?}");
        }
    }

    /// The count, by the counter with runs of `run_ids` merged `fan_in` at
    /// a time, of the IDs in `ids` (each followed by `\n`).
    fn count(lines: &[u8], run_ids: usize, fan_in: usize) -> u64 {
        let mut counter = DuplicateCounter::with_limits("ids.txt", run_ids, fan_in);
        counter.add_lines(lines).unwrap();
        counter.finish().unwrap()
    }

    /// The counter agrees with the reference on normalised lines, whether
    /// all fit in one run, spill into runs merged in one pass, or into so
    /// many runs that they are merged in groups first, once or more.
    fn agrees_with_the_reference(file: &[u8]) {
        let r = reference(file);
        let expected = r.duplicates();
        for (run_ids, fan_in) in [
            (RUN_IDS, MAX_FAN_IN),
            (1, 2),
            (2, 2),
            (3, 3),
            (5, 2),
            (7, 64),
        ] {
            assert_eq!(
                count(&r.normalised, run_ids, fan_in),
                expected,
                "runs of {run_ids}, fan-in {fan_in}: {file:?}"
            );
        }
    }

    /// Lines of IDs drawn from a few, with leading zeros and all lengths,
    /// so that most repeat.
    fn repetitive_files() -> impl Strategy<Value = Vec<u8>> {
        let id = prop_oneof![
            Just("7".to_string()),
            Just("07".to_string()),
            Just("007".to_string()),
            Just("0".to_string()),
            Just("00".to_string()),
            Just("9999999999999999999".to_string()),
            Just("0000000000000000000".to_string()),
            "[0-9]{1,2}",
            "[0-9]{1,19}",
        ];
        let line = (id, "[ \t]{0,1}", prop_oneof![Just("\n"), Just("\r\n")])
            .prop_map(|(id, blank, eol)| format!("{blank}{id}{eol}"));
        let line = prop_oneof![9 => line, 1 => Just("\n".to_string())];
        prop::collection::vec(line, 0..120).prop_map(|lines| lines.concat().into_bytes())
    }

    #[test]
    fn counts_the_hand_made_cases() {
        let same: Vec<u8> = b"42\n".repeat(100);
        let distinct: Vec<u8> = (0..100)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        let zeros = b"7\n07\n007\n0007\n7\n07\n0\n00\n000\n0\n".to_vec();
        for (lines, expected) in [(same, 99), (distinct, 0), (zeros, 3), (b"1\n".to_vec(), 0)] {
            assert_eq!(reference(&lines).duplicates(), expected);
            agrees_with_the_reference(&lines);
        }
        assert_eq!(count(b"", 4, 2), 0);
    }

    #[test]
    fn counts_the_edge_case_files_as_the_reference_does() {
        for file in edge_case_files().iter().step_by(7) {
            agrees_with_the_reference(file);
        }
    }

    proptest! {
        #[test]
        fn counts_repetitive_files_as_the_reference_does(file in repetitive_files()) {
            agrees_with_the_reference(&file);
        }

        #[test]
        fn counts_generated_files_as_the_reference_does(file in id_files()) {
            agrees_with_the_reference(&file);
        }
    }

    #[test]
    fn a_run_of_repeats_is_written_once() {
        let mut counter = DuplicateCounter::with_limits("ids.txt", 4, 2);
        counter.add_lines(&b"5\n".repeat(9)).unwrap();
        let spill = counter.spill.as_ref().unwrap();
        assert_eq!(spill.runs.len(), 2);
        assert_eq!(spill.end, 16, "one key a run");
        assert_eq!(counter.finish().unwrap(), 8);
    }

    #[test]
    fn refuses_what_is_not_a_normalised_line() {
        let mut counter = DuplicateCounter::new("ids.txt");
        let e = counter.add_lines(b"1\n 2\n").unwrap_err().to_string();
        assert!(e.contains("ids.txt: \" 2\" is not an ID"), "{e}");
        let e = counter.add_lines(b"1").unwrap_err().to_string();
        assert!(e.contains("lacks its newline"), "{e}");
    }

    /// `contents` in a temporary file, checked, and its duplicates counted.
    fn counted(contents: &[u8]) -> Result<u64> {
        let silent = Reporter::silent();
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(contents).unwrap();
        IdFile::check(tmp.path(), &silent)?.count_duplicates(&silent)
    }

    #[test]
    fn counts_checked_files_and_pipes() {
        let file = b"\xEF\xBB\xBF 7\r\n\r\n07\n7\t\n007\n7";
        assert_eq!(counted(file).unwrap(), 2);
        let silent = Reporter::silent();
        let piped = IdFile::copy_of("standard input", &file[..], &silent).unwrap();
        assert_eq!(piped.count_duplicates(&silent).unwrap(), 2);
        // Bigger than a run: 1.5 runs of IDs, each there twice.
        let n = RUN_IDS as u64 * 3 / 4;
        let mut big = Vec::new();
        for round in 0..2 {
            for i in 0..n {
                let id = 1_000_000_000_000_000_000 + (i * 7919 + round) % n;
                big.extend(format!("{id}\n").bytes());
            }
        }
        assert_eq!(counted(&big).unwrap(), n);
    }

    #[test]
    fn a_file_changed_after_its_check_fails_naming_it() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(b"1\n2\n3\n").unwrap();
        let name = tmp.path().display().to_string();
        let silent = Reporter::silent();
        let ids = IdFile::check(tmp.path(), &silent).unwrap();
        for (now, how) in [
            (&b"1\n2\n"[..], "shorter than the 6 bytes"),
            (b"1\n2\n3\n4\n", "longer than the 6 bytes"),
            (b"1\nx\n3\n", "line 2 \"x\" is not an ID"),
            (b"1\n\n23\n", "2 IDs, not the 3 checked"),
        ] {
            std::fs::write(tmp.path(), now).unwrap();
            let e = format!("{:#}", ids.count_duplicates(&silent).unwrap_err());
            assert!(
                e.starts_with(&format!("{name} changed after its check")),
                "{e}"
            );
            assert!(e.contains(how), "{e}");
        }
        let e = ids.count_duplicates(&silent).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        assert_eq!(e.exit_code(), crate::error::EXIT_FAILED);
    }
}
