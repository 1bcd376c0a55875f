//! The results, read into what each ID's fate is: which Tweets and users go
//! and which Tweets lose their geo data, in flat memory (16 bytes an ID).
//!
//! A results file is JSON Lines (as `download-results` writes it, several
//! jobs' results one after the other included) or CSV with the header
//! `id,action,reason,created_at,redacted_at`; which one is told by its first
//! byte. Every line must be an event: string `id` (1 to 19 digits), `action`
//! and `reason`. Anything else is a usage error naming the file and line.
//! A CSV cell that `download-results` guarded against spreadsheets (a `'`
//! before `=`, `+`, `-`, `@`, ...) is read without the `'`, as the JSON Lines
//! of the same results have it.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;

use super::csv as csv_rows;
use super::input::{self, Input};
use super::json::{is_id, to_id};
use crate::error::{bail_usage, Error, Result};
use crate::report::Reporter;
use crate::results::{self, CSV_HEADER};

/// The reason that keeps a Tweet and removes only its geo data.
pub(crate) const SCRUB_GEO: &str = "scrub_geo";

/// The reasons the API documents, per job type; others are applied as
/// removals too, with a warning.
const TWEET_REASONS: [&str; 6] = [
    "deleted",
    "suspended",
    "protected",
    "deactivated",
    "bounced",
    SCRUB_GEO,
];
const USER_REASONS: [&str; 4] = ["deleted", "suspended", "protected", "deactivated"];

/// Which job type a results file is of: its lines do not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Of {
    /// A `tweets` job's results: the IDs are Tweets.
    Tweets,
    /// A `users` job's results: the IDs are users.
    Users,
}

impl Of {
    /// `tweets` or `users`.
    pub fn name(self) -> &'static str {
        match self {
            Of::Tweets => "tweets",
            Of::Users => "users",
        }
    }

    /// The flag that gives its results files.
    pub fn flag(self) -> &'static str {
        match self {
            Of::Tweets => "--tweets-results",
            Of::Users => "--users-results",
        }
    }
}

/// What the results say of one ID, as found in the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    /// Index of the reason in [`Verdicts::reason`].
    pub reason: u8,
    /// Index of the results file in [`Verdicts::file`].
    pub file: u16,
    /// Whether it is `scrub_geo` (remove the geo data, keep the Tweet).
    pub scrub: bool,
}

/// An ID's verdict packed in 32 bits, so that an entry is 16 bytes and the
/// entries of one ID sort with the one that counts first: a removal before
/// a scrub, then by file, then by the order reasons were met.
const REASON_BITS: u32 = 0xff;
const FILE_SHIFT: u32 = 8;
const FILE_BITS: u32 = 0xffff;
const SCRUB: u32 = 1 << 30;
const MATCHED: u32 = 1 << 31;

/// How many reason names are kept; the rest share one name.
const MAX_REASONS: usize = 255;

/// IDs and their verdicts, sorted, with a directory of where each slice of
/// the ID range starts, so that a lookup searches a few entries.
#[derive(Debug, Default)]
struct Table {
    entries: Vec<(u64, u32)>,
    low: u64,
    high: u64,
    directory: Vec<u32>,
}

/// How many slices the directory cuts the ID range into (as a power of
/// two): 256 KiB of directory at most.
const DIRECTORY_BITS: u32 = 16;

impl Table {
    /// Sorts, keeps each ID's first entry, and builds the directory.
    fn seal(&mut self) {
        self.entries.sort_unstable();
        self.entries.dedup_by_key(|e| e.0);
        self.entries.shrink_to_fit();
        let (Some(first), Some(last)) = (self.entries.first(), self.entries.last()) else {
            return;
        };
        (self.low, self.high) = (first.0, last.0);
        let slices =
            (self.entries.len().next_power_of_two() as u64).clamp(1, 1 << DIRECTORY_BITS) as usize;
        let mut directory = vec![0; slices + 1];
        let mut at = 0;
        for (slice, start) in directory.iter_mut().enumerate() {
            while at < self.entries.len() && self.slice_of(self.entries[at].0, slices) < slice {
                at += 1;
            }
            *start = at as u32;
        }
        self.directory = directory;
    }

    /// Which slice of the directory `id` (within `low..=high`) falls in.
    fn slice_of(&self, id: u64, slices: usize) -> usize {
        let span = u128::from(self.high - self.low) + 1;
        (u128::from(id - self.low) * slices as u128 / span) as usize
    }

    fn find(&mut self, id: u64) -> Option<&mut u32> {
        if self.entries.is_empty() || id < self.low || id > self.high {
            return None;
        }
        let slice = self.slice_of(id, self.directory.len() - 1);
        let (from, to) = (
            self.directory[slice] as usize,
            self.directory[slice + 1] as usize,
        );
        let at = self.entries[from..to]
            .binary_search_by_key(&id, |e| e.0)
            .ok()?;
        Some(&mut self.entries[from + at].1)
    }

    fn unmatched(&self) -> u64 {
        self.entries.iter().filter(|e| e.1 & MATCHED == 0).count() as u64
    }
}

/// Every results file read: the verdicts for Tweets and for users.
#[derive(Debug, Default)]
pub(crate) struct Verdicts {
    tweets: Table,
    users: Table,
    reasons: Vec<String>,
    files: Vec<String>,
    scrub_reason: Option<u8>,
    /// Events read, per job type.
    pub events: BTreeMap<Of, u64>,
}

/// One line of JSON results, as far as it is read.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    id: Option<Field<'a>>,
    #[serde(borrow)]
    action: Option<Field<'a>>,
    #[serde(borrow)]
    reason: Option<Field<'a>>,
}

/// A field's value: a string, or anything else.
#[derive(Deserialize)]
#[serde(untagged)]
enum Field<'a> {
    #[serde(borrow)]
    Text(std::borrow::Cow<'a, str>),
    Other(serde::de::IgnoredAny),
}

impl Field<'_> {
    fn text(&self) -> Option<&str> {
        match self {
            Field::Text(t) => Some(t),
            Field::Other(_) => None,
        }
    }
}

impl Verdicts {
    /// Reads the results files, each of job type `of`; they stay named in
    /// the order given, for the report. A reason the API does not document
    /// is warned of to `reporter`, once a file.
    pub fn read(files: &[(Of, &Path)], reporter: &Reporter) -> Result<Verdicts> {
        let mut verdicts = Verdicts::default();
        for (of, path) in files {
            verdicts.read_file(*of, path, reporter)?;
        }
        verdicts.tweets.seal();
        verdicts.users.seal();
        Ok(verdicts)
    }

    fn read_file(&mut self, of: Of, path: &Path, reporter: &Reporter) -> Result<()> {
        let name = path.display().to_string();
        let index = self.files.len();
        if index > FILE_BITS as usize {
            bail_usage!("more than {FILE_BITS} results files");
        }
        self.files.push(name.clone());
        let mut reader = input::open(&Input::Path(path.to_path_buf()))?;
        let mut unknown = Vec::new();
        let mut line = Vec::new();
        let mut number = 0u64;
        let mut csv = None;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| input::read_error(&name, e))?;
            if n == 0 {
                break;
            }
            number += 1;
            let first = number;
            // A CSV record goes on past a line break inside quotes.
            while csv.is_some() && memchr::memchr_iter(b'"', &line).count() % 2 == 1 {
                let more = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| input::read_error(&name, e))?;
                if more == 0 {
                    bail_usage!("{name} line {first}: a quoted field that does not end");
                }
                number += 1;
            }
            let mut text = line.strip_suffix(b"\n").unwrap_or(&line);
            text = text.strip_suffix(b"\r").unwrap_or(text);
            if number == 1 {
                text = text.strip_prefix(input::BOM).unwrap_or(text);
                if text == CSV_HEADER.trim_end().as_bytes() {
                    csv = Some(());
                    continue;
                }
            }
            if text.trim_ascii().is_empty() {
                continue;
            }
            let (id, reason) = match csv {
                Some(()) => csv_event(text),
                None => json_event(text),
            }
            .map_err(|why| {
                let hint = match first {
                    1 => format!(
                        "; is it a results file? {} takes what download-results wrote \
                         (JSON Lines, or CSV with the header {})",
                        of.flag(),
                        CSV_HEADER.trim_end()
                    ),
                    _ => String::new(),
                };
                Error::usage(format!("{name} line {first}: {why}{hint}"))
            })?;
            let known = match of {
                Of::Tweets => TWEET_REASONS.contains(&reason.as_str()),
                Of::Users => USER_REASONS.contains(&reason.as_str()),
            };
            if !known && !unknown.contains(&reason) {
                reporter.warn(format!(
                    "{name} line {first}: the reason {reason:?} is not one the API documents \
                     for {} jobs; its ID is removed",
                    of.name()
                ));
                unknown.push(reason.clone());
            }
            self.add(of, id, &reason, index as u32);
        }
        Ok(())
    }

    fn add(&mut self, of: Of, id: u64, reason: &str, file: u32) {
        *self.events.entry(of).or_default() += 1;
        let reason = self.reason_index(reason);
        let scrub = of == Of::Tweets && Some(reason) == self.scrub_reason;
        let value = u32::from(reason) | file << FILE_SHIFT | if scrub { SCRUB } else { 0 };
        let table = match of {
            Of::Tweets => &mut self.tweets,
            Of::Users => &mut self.users,
        };
        table.entries.push((id, value));
    }

    fn reason_index(&mut self, reason: &str) -> u8 {
        let index = match self.reasons.iter().position(|r| r == reason) {
            Some(i) => i,
            None if self.reasons.len() < MAX_REASONS - 1 => {
                self.reasons.push(reason.to_string());
                self.reasons.len() - 1
            }
            None => MAX_REASONS - 1,
        };
        if reason == SCRUB_GEO {
            self.scrub_reason = Some(index as u8);
        }
        index as u8
    }

    /// Verdicts made of events in memory: (type, id, reason, file).
    #[cfg(test)]
    pub fn of_events(events: &[(Of, u64, &str, u16)]) -> Verdicts {
        let mut v = Verdicts::default();
        for &(of, id, reason, file) in events {
            while v.files.len() <= usize::from(file) {
                v.files.push(format!("results-{}", v.files.len()));
            }
            v.add(of, id, reason, u32::from(file));
        }
        v.tweets.seal();
        v.users.seal();
        v
    }

    /// What the results say of the Tweet `id`; it counts as matched.
    pub fn tweet(&mut self, id: u64) -> Option<Hit> {
        Self::hit(self.tweets.find(id))
    }

    /// What the results say of the user `id`; it counts as matched.
    pub fn user(&mut self, id: u64) -> Option<Hit> {
        Self::hit(self.users.find(id))
    }

    fn hit(value: Option<&mut u32>) -> Option<Hit> {
        let value = value?;
        *value |= MATCHED;
        Some(Hit {
            reason: (*value & REASON_BITS) as u8,
            file: (*value >> FILE_SHIFT & FILE_BITS) as u16,
            scrub: *value & SCRUB != 0,
        })
    }

    /// A reason's name.
    pub fn reason(&self, index: u8) -> &str {
        self.reasons
            .get(usize::from(index))
            .map_or("(other reasons)", String::as_str)
    }

    /// A results file's name, as given.
    pub fn file(&self, index: u16) -> &str {
        &self.files[usize::from(index)]
    }

    /// How many distinct Tweet and user IDs the results name.
    pub fn distinct(&self) -> (u64, u64) {
        (
            self.tweets.entries.len() as u64,
            self.users.entries.len() as u64,
        )
    }

    /// How many distinct Tweet and user IDs matched nothing in the archive.
    pub fn unmatched(&self) -> (u64, u64) {
        (self.tweets.unmatched(), self.users.unmatched())
    }
}

fn json_event(line: &[u8]) -> Result<(u64, String), String> {
    let quoted = || super::quote(line);
    if line.trim_ascii_start().first() != Some(&b'{') {
        return Err(format!("not a JSON object: {}", quoted()));
    }
    let event: Event =
        serde_json::from_slice(line).map_err(|e| format!("not JSON ({e}): {}", quoted()))?;
    let text = |f: &Option<Field>| f.as_ref().and_then(Field::text).map(str::to_string);
    let (Some(id), Some(_), Some(reason)) =
        (text(&event.id), text(&event.action), text(&event.reason))
    else {
        return Err(format!(
            "not a compliance event (an object with string id, action and reason): {}",
            quoted()
        ));
    };
    event_id(&id).map(|id| (id, reason))
}

fn csv_event(line: &[u8]) -> Result<(u64, String), String> {
    let fields = csv_rows::fields(line);
    if fields.len() != 5 {
        return Err(format!(
            "a row of {} fields, not 5 ({}): {}",
            fields.len(),
            CSV_HEADER.trim_end(),
            super::quote(line)
        ));
    }
    // A cell that a spreadsheet would run has a `'` before it: the value
    // is what follows, as in the JSON Lines of the same results.
    let text = |i: usize| {
        let cell = csv_rows::unquote(&line[fields[i].0..fields[i].1]);
        String::from_utf8_lossy(results::unguard(&cell)).into_owned()
    };
    event_id(&text(0)).map(|id| (id, text(2)))
}

fn event_id(id: &str) -> Result<u64, String> {
    if is_id(id.as_bytes()) {
        Ok(to_id(id.as_bytes()))
    } else {
        Err(format!("the id {id:?} is not 1 to 19 digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(ids: &[u64]) -> Table {
        let mut t = Table {
            entries: ids.iter().map(|&id| (id, 0)).collect(),
            ..Table::default()
        };
        t.seal();
        t
    }

    #[test]
    fn finds_every_id_and_nothing_else() {
        let mut state = 7u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in [0usize, 1, 2, 3, 100, 5000] {
            let ids: Vec<u64> = (0..n)
                .map(|i| match i % 3 {
                    0 => next() % 10_000_000_000_000_000_000,
                    1 => next() % 1000,
                    _ => 1_460_000_000_000_000_000 + next() % 1_000_000,
                })
                .collect();
            let mut t = table(&ids);
            for &id in &ids {
                assert!(t.find(id).is_some(), "{id} of {n}");
            }
            for _ in 0..1000 {
                let id = next() % 10_000_000_000_000_000_000;
                assert_eq!(t.find(id).is_some(), ids.contains(&id));
            }
            assert!(t.find(u64::MAX).is_none() && t.find(0).is_some() == ids.contains(&0));
        }
    }

    #[test]
    fn a_removal_wins_over_a_scrub_and_the_first_file_over_later_ones() {
        let mut v = Verdicts::default();
        v.add(Of::Tweets, 5, SCRUB_GEO, 0);
        v.add(Of::Tweets, 5, "deleted", 1);
        v.add(Of::Tweets, 6, "protected", 1);
        v.add(Of::Tweets, 6, "deleted", 0);
        v.add(Of::Tweets, 7, SCRUB_GEO, 1);
        v.add(Of::Users, 5, "suspended", 2);
        v.tweets.seal();
        v.users.seal();
        let five = v.tweet(5).unwrap();
        assert_eq!(
            (v.reason(five.reason), five.file, five.scrub),
            ("deleted", 1, false)
        );
        let six = v.tweet(6).unwrap();
        assert_eq!((v.reason(six.reason), six.file), ("deleted", 0));
        assert!(v.tweet(7).unwrap().scrub);
        let user = v.user(5).unwrap();
        assert_eq!(v.reason(user.reason), "suspended");
        assert_eq!(v.tweet(8), None);
        assert_eq!(v.unmatched(), (0, 0));
        assert_eq!(v.events[&Of::Tweets], 5);
    }

    #[test]
    fn lines_that_are_not_events_are_refused() {
        assert!(json_event(br#"{"id":"1","action":"delete","reason":"deleted"}"#).is_ok());
        for bad in [
            &br#"{"id":"1","reason":"deleted"}"#[..],
            br#"{"id":1,"action":"delete","reason":"deleted"}"#,
            br#"{"id":"x1","action":"delete","reason":"deleted"}"#,
            br#"{"id":"1","action":"delete","reason":"deleted""#,
            b"1460000000000000000",
            br#"{"id": "1", "text": "a Tweet"}"#,
        ] {
            assert!(json_event(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            csv_event(b"7,delete,deleted,2020-01-01T00:00:00.000Z,").unwrap(),
            (7, "deleted".into())
        );
        assert_eq!(
            csv_event(b"\"7\",delete,\"scrub_geo\",,").unwrap(),
            (7, SCRUB_GEO.into())
        );
        assert!(csv_event(b"7,delete,deleted").is_err());
    }

    #[test]
    fn a_csv_reads_back_as_the_json_lines_it_was_written_from() {
        let lines = [
            r#"{"id":"1","action":"delete","reason":"=cmd|' /C calc'!A0"}"#,
            r#"{"id":"2","action":"delete","reason":"-deleted"}"#,
            r#"{"id":"3","action":"delete","reason":"'@x"}"#,
            r#"{"id":"4","action":"delete","reason":"''+x"}"#,
            r#"{"id":"5","action":"delete","reason":"'deleted"}"#,
            r#"{"id":"6","action":"delete","reason":"scrub_geo"}"#,
            r#"{"id":"=7","action":"delete","reason":"deleted"}"#,
        ];
        let mut csv = Vec::new();
        let mut writer = results::CsvWriter::new(&mut csv);
        let mut checker = results::ResultsChecker::new();
        for line in lines {
            let line = format!("{line}\n");
            checker.feed_into(line.as_bytes(), &mut writer).unwrap();
        }
        writer.finish().unwrap();
        let rows: Vec<&[u8]> = csv.split(|&b| b == b'\n').skip(1).collect();
        for (line, row) in lines.iter().zip(rows) {
            assert_eq!(
                csv_event(row),
                json_event(line.as_bytes()),
                "{line} as {}",
                String::from_utf8_lossy(row)
            );
        }
        assert_eq!(
            csv_event(b"1,delete,\"'=x\",,").unwrap(),
            (1, "=x".into()),
            "the guard comes off"
        );
        assert_eq!(
            csv_event(b"1,delete,'x,,").unwrap(),
            (1, "'x".into()),
            "a quote of the value's own stays"
        );
    }

    #[test]
    fn a_csv_record_goes_on_past_a_line_break_inside_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(
            &path,
            "id,action,reason,created_at,redacted_at\r\n7,delete,\"new\nreason\",,\r\n8,delete,deleted,,\r\n",
        )
        .unwrap();
        let mut v = Verdicts::read(&[(Of::Tweets, &path)], &Reporter::silent()).unwrap();
        let seven = v.tweet(7).unwrap();
        assert_eq!(v.reason(seven.reason), "new\nreason");
        assert!(v.tweet(8).is_some());
        std::fs::write(
            &path,
            "id,action,reason,created_at,redacted_at\n7,delete,\"open\n",
        )
        .unwrap();
        let err = Verdicts::read(&[(Of::Tweets, &path)], &Reporter::silent())
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("line 2: a quoted field that does not end"),
            "{err}"
        );
    }

    #[test]
    fn a_reason_the_api_does_not_document_is_warned_of_to_the_reporter_once() {
        use crate::report::Report;
        use std::sync::{Arc, Mutex};
        #[derive(Default)]
        struct Warnings(Mutex<Vec<String>>);
        impl Report for Arc<Warnings> {
            fn warn(&self, line: &str) {
                self.0.lock().unwrap().push(line.to_string());
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let line = |id: u32, reason: &str| {
            format!("{{\"id\":\"{id}\",\"action\":\"delete\",\"reason\":\"{reason}\"}}\n")
        };
        let text = [line(1, "deleted"), line(2, "mislaid"), line(3, "mislaid")].concat();
        std::fs::write(&path, text).unwrap();
        let warnings = Arc::new(Warnings::default());
        let reporter = Reporter::new(warnings.clone());
        let mut v = Verdicts::read(&[(Of::Tweets, &path)], &reporter).unwrap();
        assert!(v.tweet(3).is_some(), "its ID is removed all the same");
        let got = warnings.0.lock().unwrap().clone();
        assert_eq!(
            got,
            [format!(
                "{} line 2: the reason \"mislaid\" is not one the API documents for tweets \
                 jobs; its ID is removed",
                path.display()
            )]
        );
    }
}
