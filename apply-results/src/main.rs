//! The apply-results program: `-h` prints USAGE; `--help` prints it, then
//! the manual (manual.txt).

const USAGE: &str = concat!(
    r#"
Apply batch compliance results to your archive: write a clean copy of it
without what the results say must go.

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
  -h                       Show this usage.
  --help                   Show the manual: this usage, then the prose.
  -V, --version            Show the program's name and version.

"#,
    compliance_core::exit_codes!(),
);

use compliance_core::apply::{self, Apply, Input, Of};
use compliance_core::cli::{self, LocalFlags};
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
    cli::main_local(
        USAGE,
        include_str!("manual.txt"),
        env!("CARGO_PKG_VERSION"),
        run,
    )
}

fn run(args: Args, local: LocalFlags) -> compliance_core::Result<()> {
    let results = (args.flag_tweets_results.iter().map(|f| (Of::Tweets, f)))
        .chain(args.flag_users_results.iter().map(|f| (Of::Users, f)))
        .map(|(of, f)| (of, local.path(f)))
        .collect();
    let job = Apply {
        archive: match args.flag_archive.as_str() {
            "-" => Input::Stdin,
            path => Input::Path(local.path(path)),
        },
        results,
        output: Destination::for_path(
            "--output",
            &local.path(&args.flag_output),
            "archive.clean.jsonl",
        )?,
        removed: args
            .flag_removed
            .map(|r| Destination::for_path("--removed", &local.path(&r), "removed.jsonl"))
            .transpose()?,
        id_column: args.flag_id_column,
        reporter: local.reporter().clone(),
    };
    let summary = apply::apply(&job).map_err(|e| match &job.removed {
        // The archive's reader may stop early (| head), but a report asked
        // for in a file is then lost: that is not a quiet success.
        Some(Destination::File(path)) => e.mattered(format!(
            "the report of removals was not written to {}",
            path.display()
        )),
        _ => e,
    })?;
    local
        .reporter()
        .note(format!("{}: {}", job.output.describe(), summary.describe()));
    // Standard output carries the archive or the report, if either goes there.
    let stdout = Some(&Destination::Stdout);
    if ![Some(&job.output), job.removed.as_ref()].contains(&stdout) {
        local.print_json(&summary)?;
    }
    Ok(())
}
