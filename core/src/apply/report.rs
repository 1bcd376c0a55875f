//! What apply tells: one JSON line per record removed or changed
//! (`--removed`), and the counts of the whole run ([`Summary`]).

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};

use serde::Serialize;

use super::rules::{Action, Change, Outcome};
use super::verdicts::{Of, Verdicts};
use super::{Apply, Shape};
use crate::destination::{Destination, Sink};
use crate::error::{io_kind, Context as _, Error, ErrorKind, Result};
use crate::report::Reporter;

/// What one run did, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Lines of the archive read, blank ones included.
    pub lines: u64,
    /// Tweets and users read: lines of records, rows of a CSV, items of pages.
    pub records: u64,
    /// Tweets and users removed, per reason (the reason of the result that
    /// removed them: their own, or their author's).
    pub removed: BTreeMap<String, u64>,
    /// Of those, Tweets removed because their author was.
    pub removed_by_author: u64,
    /// Tweets that lost their geo data.
    pub geo_scrubbed: u64,
    /// Copies of removed Tweets inside kept ones, cut back to `type` and `id`.
    pub cut_back: u64,
    /// Places, media and polls of a page that only removed or scrubbed
    /// Tweets referred to, removed.
    pub includes_removed: u64,
}

impl Counts {
    /// Counts what one line's outcome did.
    pub(crate) fn add(&mut self, outcome: &Outcome, verdicts: &Verdicts) {
        self.records += outcome.records;
        for change in &outcome.changes {
            match (change.action, change.cause) {
                (Action::Remove, None) => self.includes_removed += 1,
                (Action::Remove, Some((hit, named))) => {
                    *self
                        .removed
                        .entry(verdicts.reason(hit.reason).to_string())
                        .or_default() += 1;
                    if change.id != named.to_string() {
                        self.removed_by_author += 1;
                    }
                }
                (Action::ScrubGeo, _) => self.geo_scrubbed += 1,
                (Action::CutBack, _) => self.cut_back += 1,
            }
        }
    }

    fn removed_total(&self) -> u64 {
        self.removed.values().sum()
    }
}

/// The summary of a run, printed as JSON on stdout; its keys are for
/// scripts, and stay.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// The archive read.
    pub archive: String,
    /// Its shape: `records`, `pages` or `csv`.
    pub shape: &'static str,
    /// Whether it was gzip-compressed.
    pub gzip: bool,
    /// Where the clean archive went.
    pub output: String,
    /// Lines of the archive read, blank ones included.
    pub lines: u64,
    /// Tweets and users: read, kept (changed or not) and removed.
    pub records: RecordCounts,
    /// Records removed, per reason.
    pub removed: BTreeMap<String, u64>,
    /// Of those, Tweets removed because their author was.
    pub removed_by_author: u64,
    /// Tweets that lost their geo data (`scrub_geo`).
    pub geo_scrubbed: u64,
    /// Referenced copies of removed Tweets cut back to `type` and `id`.
    pub cut_back: u64,
    /// Places, media and polls that only removed or scrubbed Tweets
    /// referred to, removed.
    pub includes_removed: u64,
    /// Results read: events, distinct IDs, and IDs that matched nothing in
    /// the archive, per job type.
    pub results: BTreeMap<&'static str, ResultCounts>,
}

/// Records read, kept and removed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RecordCounts {
    /// Tweets and users read.
    pub read: u64,
    /// Written to the clean archive, changed or not.
    pub kept: u64,
    /// Left out.
    pub removed: u64,
}

/// What the results of one job type held, and how much of it was used.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ResultCounts {
    /// Result lines read.
    pub events: u64,
    /// Distinct IDs they name.
    pub ids: u64,
    /// Of those, IDs that matched nothing in the archive.
    pub unmatched: u64,
}

impl Summary {
    pub(crate) fn new(
        job: &Apply,
        shape: Shape,
        gzip: bool,
        counts: Counts,
        verdicts: &Verdicts,
    ) -> Summary {
        let removed = counts.removed_total();
        let (tweets, users) = verdicts.distinct();
        let (tweets_unmatched, users_unmatched) = verdicts.unmatched();
        let mut results = BTreeMap::new();
        for (of, ids, unmatched) in [
            (Of::Tweets, tweets, tweets_unmatched),
            (Of::Users, users, users_unmatched),
        ] {
            if job.results.iter().any(|(o, _)| *o == of) {
                results.insert(
                    of.name(),
                    ResultCounts {
                        events: verdicts.events.get(&of).copied().unwrap_or(0),
                        ids,
                        unmatched,
                    },
                );
            }
        }
        Summary {
            archive: job.archive.describe(),
            shape: shape.name(),
            gzip,
            output: job.output.describe(),
            lines: counts.lines,
            records: RecordCounts {
                read: counts.records,
                kept: counts.records - removed,
                removed,
            },
            removed: counts.removed,
            removed_by_author: counts.removed_by_author,
            geo_scrubbed: counts.geo_scrubbed,
            cut_back: counts.cut_back,
            includes_removed: counts.includes_removed,
            results,
        }
    }
}

impl Summary {
    /// The summary in words, for stderr.
    pub fn describe(&self) -> String {
        let r = &self.records;
        let mut words = format!("{} of {} records kept", r.kept, r.read);
        if r.removed > 0 {
            let reasons: Vec<String> = self
                .removed
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            words += &format!("; {} removed ({})", r.removed, reasons.join(", "));
        }
        if self.geo_scrubbed > 0 {
            words += &format!("; {} geo scrubbed", self.geo_scrubbed);
        }
        if self.cut_back > 0 {
            words += &format!("; {} referenced copies cut back", self.cut_back);
        }
        if self.includes_removed > 0 {
            words += &format!("; {} includes removed", self.includes_removed);
        }
        let unmatched: u64 = self.results.values().map(|c| c.unmatched).sum();
        if unmatched > 0 {
            words += &format!("; {unmatched} result ID(s) matched nothing in the archive");
        }
        words
    }
}

/// Where the `--removed` lines go, if anywhere.
pub(crate) struct Report {
    out: Option<(BufWriter<Sink>, String)>,
}

/// One `--removed` line; every key is always there (`null` where it does
/// not apply), for `jq`.
#[derive(Serialize)]
struct Entry<'a> {
    /// The line of the archive (the first line of a CSV record).
    line: u64,
    /// Where in the line: `line`, `data`, `includes.tweets`, ..., `row`.
    #[serde(rename = "where")]
    place: &'static str,
    /// The record's ID (a media item's `media_key`).
    id: &'a str,
    /// For a referenced copy, the ID of the Tweet it was in.
    within: Option<String>,
    /// `remove`, `scrub_geo` or `cut_back`.
    action: &'static str,
    /// The reason of the result that decided it; `null` for an include no
    /// Tweet that stays refers to.
    reason: Option<&'a str>,
    /// The ID that result names: the record's own, or its author's.
    result_id: Option<String>,
    /// The results file it came from.
    results: Option<&'a str>,
}

impl Report {
    pub(crate) fn new(dest: Option<&Destination>, reporter: &Reporter) -> Result<Report> {
        let out = match dest {
            Some(dest) => Some((BufWriter::new(dest.create(reporter)?), dest.describe())),
            None => None,
        };
        Ok(Report { out })
    }

    pub(crate) fn write(&mut self, line: u64, change: &Change, verdicts: &Verdicts) -> Result<()> {
        let Some((out, name)) = &mut self.out else {
            return Ok(());
        };
        let entry = Entry {
            line,
            place: change.place.name(),
            id: &change.id,
            within: change.within.map(|w| w.to_string()),
            action: change.action.name(),
            reason: change.cause.map(|(hit, _)| verdicts.reason(hit.reason)),
            result_id: change.cause.map(|(_, named)| named.to_string()),
            results: change.cause.map(|(hit, _)| verdicts.file(hit.file)),
        };
        match serde_json::to_writer(&mut *out, &entry) {
            // The write's own error is inside: it says whether standard
            // output's reader has gone.
            Err(e) => {
                let write = std::error::Error::source(&e).and_then(|s| s.downcast_ref());
                let kind = write.map_or(ErrorKind::Io, io_kind);
                Err(Error::from_source(kind, e))
            }
            Ok(()) => out
                .write_all(b"\n")
                .map_err(|e| Error::from_source(io_kind(&e), e)),
        }
        .with_context(|| format!("writing {name}"))
    }

    pub(crate) fn finish(self) -> Result<()> {
        let Some((out, name)) = self.out else {
            return Ok(());
        };
        out.into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("writing {name}"))?
            .finish()
            .with_context(|| format!("writing {name}"))
    }
}
