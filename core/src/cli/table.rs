//! How `list-jobs` and `list-job` print jobs: a short table for a person at
//! a terminal; the JSON of [`Session::print_json`] when standard output is not a
//! terminal (a pipe, a file) or `--json` is given, so that scripts read
//! what they always read.
//!
//! ```text
//! ID                   TYPE    NAME        STATUS       CREATED            RESULTS UNTIL
//! 1861234567890123456  tweets  my-archive  complete     2026-12-03 10:15Z  2026-12-10 10:31Z
//! 1861234567890123401  users   -           in_progress  2026-12-03 10:02Z  -
//! ```

use std::io::{self, IsTerminal as _};

use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

use super::{write_stdout, Session};
use crate::error::Result;
use crate::jobs::{Job, JobType, Status};
use crate::time::Timestamp;

/// The most terminal columns a name takes in the table; a longer name is
/// cut to fit and ends in `…` (the id beside it is whole, and `--json`
/// shows the name whole).
pub const NAME_COLUMNS: usize = 32;

/// The table's header row.
const HEADER: [&str; 6] = ["ID", "TYPE", "NAME", "STATUS", "CREATED", "RESULTS UNTIL"];

/// Prints the jobs `list-jobs` found, of `job_type` (`None`: both) and
/// `status` (`None`: any): as a table on a terminal, else (or with `json`)
/// as the JSON array [`Session::print_json`] prints. No jobs on a terminal
/// is one line saying so (`no tweets jobs`); in JSON it stays `[]`. What
/// the server sent is shown as `session` shows it: the token scrubbed out.
///
/// A standard output whose reader has gone fails as
/// [`Session::print_json`] does (see [`main`](super::main)).
pub fn print_jobs(
    session: &Session,
    jobs: &[Job],
    job_type: Option<JobType>,
    status: Option<&Status>,
    json: bool,
) -> Result<()> {
    if json || !io::stdout().is_terminal() {
        return session.print_json(jobs);
    }
    match jobs {
        [] => write_stdout(&format!("{}\n", none_found(job_type, status))),
        _ => write_stdout(&render(session, jobs)),
    }
}

/// Prints the one job `list-job` shows: as a table of one row on a
/// terminal, else (or with `json`) as the JSON object
/// [`Session::print_json`] prints.
pub fn print_job(session: &Session, job: &Job, json: bool) -> Result<()> {
    if json || !io::stdout().is_terminal() {
        return session.print_json(job);
    }
    write_stdout(&render(session, std::slice::from_ref(job)))
}

/// The line a terminal gets for an empty list: `no tweets or users jobs`,
/// `no users jobs with status complete`.
fn none_found(job_type: Option<JobType>, status: Option<&Status>) -> String {
    let types = match job_type {
        Some(t) => t.as_str(),
        None => "tweets or users",
    };
    match status {
        Some(status) => format!("no {types} jobs with status {status}"),
        None => format!("no {types} jobs"),
    }
}

/// The table: the header, then a row per job, in the order given; each
/// column as wide as its widest cell, two spaces between, no trailing
/// blanks.
fn render(session: &Session, jobs: &[Job]) -> String {
    let rows: Vec<[String; 6]> = std::iter::once(HEADER.map(String::from))
        .chain(jobs.iter().map(|job| row(session, job)))
        .collect();
    let mut widths = [0; 6];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.width());
        }
    }
    let mut text = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            // `{:width$}` pads by chars; a wide character takes two columns.
            line.extend(std::iter::repeat_n(' ', width - cell.width()));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// One job's cells. What the server sent is shown, never obeyed: the
/// token is scrubbed out and what would act on a terminal is escaped.
fn row(session: &Session, job: &Job) -> [String; 6] {
    let shown = |text: &str| session.shown(text);
    let until = match job.status() {
        Status::Complete => job.download_expires_at(),
        _ => None,
    };
    [
        shown(job.id()),
        shown(job.job_type()),
        job.name().map_or("-".to_string(), |n| cut(&shown(n))),
        shown(job.status().as_str()),
        minutes(job.created_at()),
        minutes(until),
    ]
}

/// `name` in at most [`NAME_COLUMNS`] terminal columns.
fn cut(name: &str) -> String {
    if name.width() <= NAME_COLUMNS {
        return name.to_string();
    }
    let mut used = 1; // the `…`
    let mut kept: String = name
        .chars()
        .take_while(|c| {
            used += c.width().unwrap_or(0);
            used <= NAME_COLUMNS
        })
        .collect();
    kept.push('…');
    kept
}

/// A time to the minute, UTC: `2026-12-03 10:15Z`; `-` for none (or one
/// the API wrote in a form not read).
fn minutes(at: Option<Timestamp>) -> String {
    let Some(at) = at else {
        return "-".to_string();
    };
    // The API's own form, `2026-12-03T10:15:42.000Z`, or a rare other
    // (a time before 1970), shown whole.
    let full = at.to_string();
    match (full.get(..10), full.get(11..16)) {
        (Some(day), Some(time)) if full.len() == 24 && full.as_bytes()[10] == b'T' => {
            format!("{day} {time}Z")
        }
        _ => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(fields: serde_json::Value) -> Job {
        let mut job = json!({"id": "1861234567890123456", "type": "tweets",
            "status": "created", "created_at": "2026-12-03T10:15:42.000Z"});
        for (k, v) in fields.as_object().unwrap() {
            job[k] = v.clone();
        }
        Job::from_value(job).unwrap()
    }

    #[test]
    fn a_row_per_job_under_the_header_in_aligned_columns() {
        let jobs = [
            job(json!({"name": "my-archive", "status": "complete",
                "download_expires_at": "2026-12-10T10:31:00.000Z"})),
            job(json!({"id": "7", "type": "users", "status": "in_progress",
                "created_at": "2026-12-03T09:02:59.999Z"})),
        ];
        assert_eq!(
            render(&Session::default(), &jobs),
            "\
ID                   TYPE    NAME        STATUS       CREATED            RESULTS UNTIL
1861234567890123456  tweets  my-archive  complete     2026-12-03 10:15Z  2026-12-10 10:31Z
7                    users   -           in_progress  2026-12-03 09:02Z  -
"
        );
    }

    #[test]
    fn results_until_only_for_a_complete_job() {
        let until = json!("2026-12-10T10:31:00.000Z");
        for (status, shown) in [
            ("complete", "2026-12-10 10:31Z"),
            ("failed", "-"),
            ("expired", "-"),
            ("in_progress", "-"),
        ] {
            let cells = row(
                &Session::default(),
                &job(json!({"status": status, "download_expires_at": until})),
            );
            assert_eq!(cells[3], status);
            assert_eq!(cells[5], shown, "{status}");
        }
        // Complete, but the API said no time: nothing made up.
        assert_eq!(
            row(&Session::default(), &job(json!({"status": "complete"})))[5],
            "-"
        );
    }

    #[test]
    fn a_missing_or_unread_time_is_a_dash() {
        let mut raw = json!({"id": "1", "type": "users", "status": "failed"});
        assert_eq!(
            row(&Session::default(), &Job::from_value(raw.clone()).unwrap())[4],
            "-"
        );
        raw["created_at"] = json!("yesterday");
        assert_eq!(
            row(&Session::default(), &Job::from_value(raw).unwrap())[4],
            "-"
        );
        assert_eq!(
            minutes(Some(Timestamp::from_millis(-1))),
            "1 ms before 1970"
        );
    }

    #[test]
    fn a_long_name_is_cut_to_its_columns_and_says_so() {
        let name = "n".repeat(64);
        let cells = row(&Session::default(), &job(json!({ "name": name })));
        assert_eq!(cells[2], format!("{}…", "n".repeat(NAME_COLUMNS - 1)));
        assert_eq!(cells[2].width(), NAME_COLUMNS);
        let fits = "n".repeat(NAME_COLUMNS);
        assert_eq!(
            row(&Session::default(), &job(json!({ "name": fits })))[2],
            fits
        );
        // Wide characters take two columns each; the table stays aligned.
        let wide = "名".repeat(20);
        let cut_wide = &row(&Session::default(), &job(json!({ "name": wide })))[2];
        assert_eq!(cut_wide, &format!("{}…", "名".repeat(15)));
        let table = render(
            &Session::default(),
            &[job(json!({ "name": wide })), job(json!({"name": "x"}))],
        );
        let at = |line: &str| line[..line.find("created").unwrap()].width();
        let lines: Vec<_> = table.lines().skip(1).collect();
        assert_eq!(at(lines[0]), at(lines[1]), "{table}");
    }

    #[test]
    fn what_a_server_sent_is_shown_not_obeyed() {
        let cells = row(
            &Session::default(),
            &job(json!({"name": "a\u{1b}[2Jb", "status": "odd\u{7}"})),
        );
        assert_eq!(cells[2], "a\\u{1b}[2Jb");
        assert_eq!(cells[3], "odd\\u{7}");
    }

    #[test]
    fn the_sessions_token_is_scrubbed_from_every_cell() {
        let token = crate::auth::Token::new("s3cr3t-t0ken-value".to_string());
        let secrets = crate::auth::Secrets::of(&token);
        let session = Session::new(true, Vec::new(), secrets);
        let echoed = job(json!({"name": "s3cr3t-t0ken-value", "status": "s3cr3t-t0ken-value"}));
        let cells = row(&session, &echoed);
        assert_eq!(
            (cells[2].as_str(), cells[3].as_str()),
            ("<redacted>", "<redacted>")
        );
    }

    #[test]
    fn an_empty_list_says_what_was_looked_for() {
        assert_eq!(none_found(Some(JobType::Tweets), None), "no tweets jobs");
        assert_eq!(none_found(None, None), "no tweets or users jobs");
        assert_eq!(
            none_found(Some(JobType::Users), Some(&Status::Complete)),
            "no users jobs with status complete"
        );
    }
}
