//! The last step of a check: the results applied to the archive they were
//! made for, so that what the archive keeps is compliant.
//!
//! [`apply`] reads the results files into what each ID's fate is (`verdicts`),
//! then streams the archive through the rules (`rules`) into a clean copy
//! in the archive's own shape:
//!
//! - JSON Lines of Tweet or user objects (as `twarc2 flatten` writes them),
//! - twarc2 pages, one API response per line (`data`, `includes`, `meta`),
//! - CSV with a header, the ID in a column named by [`Apply::id_column`],
//!
//! any of them gzip-compressed (told by its first bytes). A record that
//! stays is written byte for byte as it was read; one that changes loses
//! only the bytes of what is removed from it. Memory grows with the results
//! (16 bytes an ID), never with the archive.
//!
//! - `input`: a file or standard input, gzip or not.
//! - `verdicts`: the results, as sorted IDs and their fates.
//! - `json`: the fast reader of a JSON line, into a `view` of what apply
//!   needs of it; `reference` (tests only) makes the same view with
//!   serde_json, the specification the fast reader is held to.
//! - `rules`: what the results do to a line, as byte ranges to cut.
//! - `csv`: where CSV records and fields are.
//! - `output`: the clean archive written whole (gzip on a thread of its
//!   own), once no output is found to be one of the inputs.
//! - `report`: the `--removed` lines and the [`Summary`].

mod csv;
mod input;
mod json;
mod output;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod reference;
mod report;
mod rules;
mod verdicts;
mod view;

use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use crate::destination::Destination;
use crate::error::{bail_usage, io_kind, Error, Result};
use crate::report::{Progress, Reporter};

pub use input::Input;
pub use report::{Counts, Summary};
pub use verdicts::Of;

use output::{check_paths, Output};
use report::Report;
use rules::Outcome;
use verdicts::Verdicts;
use view::{Line, LineKind};

/// The longest line (or CSV record) of an archive: a page of 500 Tweets
/// with their includes is a few MiB.
pub const MAX_RECORD: usize = 16 << 20;

/// What to apply to what, and where the clean archive goes.
#[derive(Clone, Debug)]
pub struct Apply {
    /// The archive.
    pub archive: Input,
    /// The results files, each with its job type, in the order given.
    pub results: Vec<(Of, PathBuf)>,
    /// Where the clean archive goes; gzip-compressed when its name ends in
    /// `.gz`.
    pub output: Destination,
    /// Where one JSON line per record removed or changed goes, if anywhere.
    pub removed: Option<Destination>,
    /// The column of a CSV archive that holds the ID.
    pub id_column: String,
    /// Where the run's progress, notes and warnings go
    /// ([`Reporter::silent`]: nowhere).
    pub reporter: Reporter,
}

/// The archive's shape, as read from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// JSON Lines, one Tweet or user object per line.
    Records,
    /// JSON Lines, one API response (a twarc2 page) per line.
    Pages,
    /// CSV with a header.
    Csv,
}

impl Shape {
    /// Its name in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Records => "records",
            Shape::Pages => "pages",
            Shape::Csv => "csv",
        }
    }
}

/// What `apply-results` takes, for messages that refuse an archive.
const SHAPES: &str = "JSON Lines of Tweet or user objects (twarc2 flatten), twarc2 pages \
                      (one API response per line), or CSV with a header that names the \
                      ID column (--id-column); any of them gzip-compressed";

/// Applies the results to the archive; returns what was done.
///
/// Nothing is written before the results are read and every path is
/// checked; a bad archive line or results line is a usage error naming
/// the file and line, and leaves no file at the output's path.
pub fn apply(job: &Apply) -> Result<Summary> {
    apply_in_pieces(job, input::PIECE)
}

/// [`apply`], reading the archive `piece` bytes at a time at first (the
/// tests make pieces small, to cut lines everywhere).
fn apply_in_pieces(job: &Apply, piece: usize) -> Result<Summary> {
    check_paths(job)?;
    let files: Vec<(Of, &Path)> = job
        .results
        .iter()
        .map(|(of, p)| (*of, p.as_path()))
        .collect();
    let reporter = &job.reporter;
    let mut verdicts = Verdicts::read(&files, reporter)?;
    let archive = input::open_detected(&job.archive)?;
    let mut output = Output::new(&job.output, reporter)?;
    let mut report = Report::new(job.removed.as_ref(), reporter)?;
    let mut run = Run {
        name: job.archive.describe(),
        verdicts: &mut verdicts,
        report: &mut report,
        counts: Counts::default(),
        shape: None,
        json_decided: false,
        csv: None,
        id_column: &job.id_column,
        view: Line::default(),
        edited: Vec::new(),
    };
    let total = match (&job.archive, archive.gzip) {
        (Input::Path(p), false) => std::fs::metadata(p)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len()),
        _ => None,
    };
    let progress = reporter.bytes("apply", total);
    run.stream(archive.reader, &mut output, &progress, piece)?;
    drop(progress);
    let shape = run.shape.unwrap_or(Shape::Records);
    let counts = run.counts;
    output.finish(&job.output)?;
    report.finish()?;
    Ok(Summary::new(job, shape, archive.gzip, counts, &verdicts))
}

/// A CSV archive's header, as apply reads it.
struct CsvColumns {
    count: usize,
    id: usize,
    author: Option<usize>,
    users: bool,
    geo: Vec<usize>,
}

/// One pass over the archive.
struct Run<'a> {
    name: String,
    verdicts: &'a mut Verdicts,
    report: &'a mut Report,
    counts: Counts,
    shape: Option<Shape>,
    /// Whether a JSON line has said if the archive is records or pages.
    json_decided: bool,
    csv: Option<CsvColumns>,
    id_column: &'a str,
    view: Line,
    edited: Vec<u8>,
}

/// What becomes of one line or record.
enum Fate {
    /// Written as it was.
    Keep,
    /// Left out.
    Remove,
    /// Written as `Run::edited` holds it, then its line end.
    Edit,
}

impl Run<'_> {
    /// Reads the archive a piece at a time: whole lines (or CSV records)
    /// are judged, and runs of kept ones written in one go, straight from
    /// the buffer.
    fn stream(
        &mut self,
        mut reader: Box<dyn BufRead + Send>,
        out: &mut impl Write,
        progress: &Progress,
        piece: usize,
    ) -> Result<()> {
        let write_error =
            |e: io::Error| Error::from_source(io_kind(&e), e).context("writing the clean archive");
        let mut buf = vec![0u8; piece.max(1)];
        let (mut start, mut end) = (0, 0);
        let mut line = 1u64;
        let mut first = true;
        let mut eof = false;
        loop {
            // Judge every whole unit in buf[start..end].
            let mut kept_from = start;
            loop {
                let rest = &buf[start..end];
                if first {
                    if rest.len() < input::BOM.len() && !eof {
                        break;
                    }
                    first = false;
                    if rest.starts_with(input::BOM) {
                        start += input::BOM.len();
                        continue;
                    }
                }
                let unit_end = match self.unit_end(rest) {
                    Some(n) => n + 1,
                    None if eof && !rest.is_empty() => rest.len(),
                    None => break,
                };
                let unit = &buf[start..start + unit_end];
                let body = unit.strip_suffix(b"\n").unwrap_or(unit);
                let body = body.strip_suffix(b"\r").unwrap_or(body);
                let lines = 1 + memchr::memchr_iter(b'\n', body).count() as u64;
                self.counts.lines += lines;
                match self.judge(body, line)? {
                    Fate::Keep => {}
                    fate => {
                        out.write_all(&buf[kept_from..start]).map_err(write_error)?;
                        if let Fate::Edit = fate {
                            out.write_all(&self.edited).map_err(write_error)?;
                            out.write_all(&unit[body.len()..]).map_err(write_error)?;
                        }
                        kept_from = start + unit_end;
                    }
                }
                start += unit_end;
                line += lines;
            }
            out.write_all(&buf[kept_from..start]).map_err(write_error)?;
            if eof {
                return Ok(());
            }
            // Keep the unit not yet whole, and read more after it.
            buf.copy_within(start..end, 0);
            (start, end) = (0, end - start);
            if end == buf.len() {
                if buf.len() >= MAX_RECORD {
                    bail_usage!(
                        "{} line {line}: a line (or CSV record) over {} MiB; is it an archive?",
                        self.name,
                        MAX_RECORD >> 20
                    );
                }
                buf.resize((buf.len() * 2).min(MAX_RECORD), 0);
            }
            let n = loop {
                let room = buf.len().min(end + piece);
                match reader.read(&mut buf[end..room]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(input::read_error(&self.name, e)),
                }
            };
            progress.inc(n as u64);
            end += n;
            eof = n == 0;
        }
    }

    /// Where the unit at the start of `rest` ends: its `\n`.
    fn unit_end(&self, rest: &[u8]) -> Option<usize> {
        match self.shape {
            Some(Shape::Csv) => csv::record_end(rest),
            _ => memchr::memchr(b'\n', rest),
        }
    }

    /// What becomes of one unit (without its line end), which starts on
    /// line `line`.
    fn judge(&mut self, body: &[u8], line: u64) -> Result<Fate> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fate::Keep);
        }
        if self.shape.is_none() {
            let shape = self.detect(body, line)?;
            self.shape = Some(shape);
            if shape == Shape::Csv {
                // The header: kept as it is, not a record.
                return Ok(Fate::Keep);
            }
        }
        match self.csv.take() {
            Some(columns) => {
                let fate = self.csv_row(&columns, body, line);
                self.csv = Some(columns);
                fate
            }
            None => self.json_line(body, line),
        }
    }

    /// The shape, from the archive's first line that is not blank.
    fn detect(&mut self, body: &[u8], line: u64) -> Result<Shape> {
        let name = &self.name;
        let first = body.trim_ascii_start();
        for (magic, what) in [
            (&b"BZh"[..], "bzip2"),
            (b"\xfd7zXZ", "xz"),
            (b"\x28\xb5\x2f\xfd", "zstd"),
            (b"PK\x03\x04", "zip"),
        ] {
            if first.starts_with(magic) {
                bail_usage!(
                    "{name} is {what}-compressed: decompress it first (gzip is read as it is)"
                );
            }
        }
        match first.first() {
            Some(b'{') => return Ok(Shape::Records),
            Some(b'[') => bail_usage!(
                "{name} is one JSON array, not JSON Lines; apply-results takes {SHAPES}"
            ),
            _ => {}
        }
        if std::str::from_utf8(body).is_err() || body.contains(&0) {
            bail_usage!("{name} is not text (nor gzip); apply-results takes {SHAPES}");
        }
        let spans = csv::fields(body);
        let names: Vec<Vec<u8>> = spans
            .iter()
            .map(|&(s, e)| csv::unquote(&body[s..e]).into_owned())
            .collect();
        let find = |wanted: &str| names.iter().position(|n| n == wanted.as_bytes());
        let Some(id) = find(self.id_column) else {
            let shown: Vec<_> = names
                .iter()
                .take(8)
                .map(|n| String::from_utf8_lossy(n))
                .collect();
            bail_usage!(
                "{name} line {line}: a header without a column {:?} (it has {}{}); name the ID \
                 column with --id-column, or give one of the shapes apply-results takes: {SHAPES}",
                self.id_column,
                shown.join(", "),
                if names.len() > 8 { ", ..." } else { "" }
            );
        };
        if names
            .iter()
            .filter(|n| *n == self.id_column.as_bytes())
            .count()
            > 1
        {
            bail_usage!(
                "{name} line {line}: the header has the column {:?} twice",
                self.id_column
            );
        }
        self.csv = Some(CsvColumns {
            count: names.len(),
            id,
            author: find("author_id"),
            users: find("username").is_some(),
            geo: (0..names.len())
                .filter(|&i| names[i] == b"geo" || names[i].starts_with(b"geo."))
                .collect(),
        });
        Ok(Shape::Csv)
    }

    fn refuse(&self, line: u64, why: impl std::fmt::Display) -> Error {
        Error::usage(format!("{} line {line}: {why}", self.name))
    }

    fn json_line(&mut self, body: &[u8], line: u64) -> Result<Fate> {
        if let Err(fault) = json::read_line(body, &mut self.view) {
            let around = &body[fault.at.saturating_sub(20)..(fault.at + 20).min(body.len())];
            return Err(self.refuse(
                line,
                format!(
                    "not JSON: {} at byte {} (near {})",
                    fault.what,
                    fault.at + 1,
                    quote(around)
                ),
            ));
        }
        let kind = self.view.kind().ok_or_else(|| {
            self.refuse(
                line,
                "an object with neither an id (a record) nor data, includes or meta (a page)",
            )
        })?;
        let shape = match kind {
            LineKind::Record => Shape::Records,
            LineKind::Page => Shape::Pages,
        };
        // The first JSON line decides between records and pages.
        if !self.json_decided {
            self.json_decided = true;
            self.shape = Some(shape);
        }
        match self.shape {
            Some(known) if known != shape => {
                return Err(self.refuse(
                    line,
                    format!(
                        "a {} where the lines before are {}: one shape per archive",
                        match shape {
                            Shape::Pages => "page",
                            _ => "record",
                        },
                        known.name()
                    ),
                ))
            }
            _ => {}
        }
        let outcome = match shape {
            Shape::Pages => rules::page_line(self.verdicts, body, &self.view),
            _ => rules::record_line(self.verdicts, body, &self.view),
        }
        .map_err(|why| self.refuse(line, why))?;
        self.outcome(line, body, outcome)
    }

    /// Counts an outcome, reports its changes, and makes the edited line.
    fn outcome(&mut self, line: u64, body: &[u8], outcome: Outcome) -> Result<Fate> {
        self.counts.add(&outcome, self.verdicts);
        for change in &outcome.changes {
            self.report.write(line, change, self.verdicts)?;
        }
        Ok(if outcome.remove_line {
            Fate::Remove
        } else if outcome.cuts.is_empty() {
            Fate::Keep
        } else {
            self.edited.clear();
            rules::write_cut(body, &outcome.cuts, &mut self.edited);
            Fate::Edit
        })
    }

    fn csv_row(&mut self, columns: &CsvColumns, body: &[u8], line: u64) -> Result<Fate> {
        if memchr::memchr_iter(b'"', body).count() % 2 == 1 {
            return Err(self.refuse(
                line,
                "a quoted field that does not end: is the file cut short?",
            ));
        }
        let spans = csv::fields(body);
        if spans.len() != columns.count {
            return Err(self.refuse(
                line,
                format!(
                    "a row of {} fields under a header of {}",
                    spans.len(),
                    columns.count
                ),
            ));
        }
        let cell = |i: usize| csv::unquote(&body[spans[i].0..spans[i].1]);
        let id = cell(columns.id);
        if !json::is_id(&id) {
            return Err(self.refuse(
                line,
                format!(
                    "the {} {} is not 1 to 19 digits",
                    self.id_column,
                    quote(&id)
                ),
            ));
        }
        let author = match columns.author.map(cell) {
            Some(a) if a.is_empty() => None,
            Some(a) if json::is_id(&a) => Some(json::to_id(&a)),
            Some(a) => {
                return Err(self.refuse(
                    line,
                    format!("the author_id {} is not 1 to 19 digits", quote(&a)),
                ))
            }
            None => None,
        };
        let (id, users) = (json::to_id(&id), columns.users);
        let geo: Vec<(usize, usize)> = columns
            .geo
            .iter()
            .map(|&i| spans[i])
            .filter(|&(s, e)| !csv::unquote(&body[s..e]).is_empty())
            .collect();
        let outcome = rules::csv_row(self.verdicts, id, author, users, &geo);
        self.outcome(line, body, outcome)
    }
}

/// Up to 60 characters of `bytes`, quoted, for a message.
pub(crate) fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    format!("{short:?}")
}
