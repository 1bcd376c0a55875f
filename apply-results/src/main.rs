const USAGE: &str = r#"
Apply batch compliance results to your archive: write a clean copy of it
without what the results say must go.

The archive is JSON Lines of Tweet or user objects (as twarc2 flatten
writes them), twarc2 pages (one API response per line: data, includes,
meta, ...), or CSV with a header whose ID column is named by --id-column;
any of them gzip-compressed (told by its first bytes); - reads standard
input. The results are what download-results (or lifecycle.sh) wrote, JSON
Lines or CSV, of tweets jobs (--tweets-results) and of users jobs
(--users-results): a results line does not say its job's type.

  results  reason           the archive
  tweets   scrub_geo        the Tweet loses its geo member, and stays
  tweets   any other        the Tweet is removed: a line, an item of data
           (deleted,        or includes.tweets, a row; a copy of it in
           suspended, ...)  another Tweet's referenced_tweets is cut back
                            to its type and id
  users    any              the user is removed (a line, an item of data
                            or includes.users, a row), and every Tweet
                            whose author_id is the user, as above

A record with a username member (or a CSV with a username column) is a
user; any other is a Tweet. In a page, the includes.places, media and polls
that only removed or scrubbed Tweets referred to go too. A reason the API
does not document removes its ID, with a warning.

A record that stays is written byte for byte as it was read; one that
changes loses only the bytes of what goes (with the comma before it), every
other key and value as written. Blank lines and a CSV's header stay. The
output is in the archive's shape, gzip-compressed when its name ends in .gz.
It is written beside its path and renamed into place only when whole: after
a failure there is no file at that path. A FIFO or a device is written
straight through, a symbolic link is followed. An output that is one of the
inputs is refused before anything is read.

With --removed, one JSON line per record removed or changed goes there:
  {"line": <line of the archive>, "where": "line", "data",
   "includes.tweets", "includes.users", "includes.places",
   "includes.media", "includes.polls", "referenced_tweets" or "row",
   "id": <its ID>, "within": <for a referenced copy, the Tweet it is in>,
   "action": "remove", "scrub_geo" or "cut_back",
   "reason": <the result's reason>, "result_id": <the ID it names: the
   record's own, or its author's>, "results": <the results file>}

A JSON summary follows on stdout: records read, kept and removed, removed
per reason, geo scrubbed, copies cut back, includes removed, and per job
type the results' events, distinct IDs, and IDs that matched nothing in the
archive. With --output - (or --removed -), stdout carries that instead, and
only a one-line summary goes to stderr (not with --quiet).

Usage:
  apply-results --archive <file> (--tweets-results <file> | --users-results <file>)... --output <file> [options]
  apply-results (-h | --help)
  apply-results (-V | --version)

Options:
  --archive <file>         The archive; - for standard input.
  --tweets-results <file>  Results of a tweets job (repeat for several).
  --users-results <file>   Results of a users job (repeat for several).
  --output <file>          Where the clean archive goes; - for stdout.
  --removed <file>         Where the report of each removal goes.
  --id-column <name>       The ID column of a CSV archive [default: id].
  -q, --quiet              No progress or notes on stderr; errors, warnings
                           and the JSON on stdout still show.
  -h, --help               Show this manual.
  -V, --version            Show the program's name and version.

Exit codes:
  0  done: the clean archive is whole, at its path
  1  failed: a file could not be read or written
  2  usage or input error: a bad or missing flag; an archive or results
     file that is missing, not in a shape this takes, or has a bad line
     (named with its file and line); an output that is an input
"#;

use compliance_core::apply::{self, Apply, Input, Of};
use compliance_core::cli;
use compliance_core::destination::Destination;
use serde::Deserialize;

#[derive(Deserialize)]
struct Args {
    flag_archive: String,
    flag_tweets_results: Vec<String>,
    flag_users_results: Vec<String>,
    flag_output: String,
    flag_removed: Option<String>,
    flag_id_column: String,
}

fn main() -> std::process::ExitCode {
    cli::main_local(USAGE, env!("CARGO_PKG_VERSION"), run)
}

fn run(args: Args) -> compliance_core::anyhow::Result<()> {
    let results = (args.flag_tweets_results.iter().map(|f| (Of::Tweets, f)))
        .chain(args.flag_users_results.iter().map(|f| (Of::Users, f)))
        .map(|(of, f)| (of, cli::path(f)))
        .collect();
    let job = Apply {
        archive: match args.flag_archive.as_str() {
            "-" => Input::Stdin,
            path => Input::Path(cli::path(path)),
        },
        results,
        output: Destination::for_path(
            "--output",
            &cli::path(&args.flag_output),
            "archive.clean.jsonl",
        )?,
        removed: args
            .flag_removed
            .map(|r| Destination::for_path("--removed", &cli::path(&r), "removed.jsonl"))
            .transpose()?,
        id_column: args.flag_id_column,
    };
    let summary = apply::apply(&job).map_err(|e| match &job.removed {
        // The archive's reader may stop early (| head), but a report asked
        // for in a file is then lost: that is not a quiet success.
        Some(Destination::File(path)) => cli::mattered(
            e,
            format!(
                "the report of removals was not written to {}",
                path.display()
            ),
        ),
        _ => e,
    })?;
    cli::note(format!("{}: {}", job.output.describe(), summary.describe()));
    // Standard output carries the archive or the report, if either goes there.
    let stdout = Some(&Destination::Stdout);
    if ![Some(&job.output), job.removed.as_ref()].contains(&stdout) {
        cli::print_json(&summary)?;
    }
    Ok(())
}
