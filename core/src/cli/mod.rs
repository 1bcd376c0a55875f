//! What every stage binary does the same way: parse its usage, print JSON,
//! report an error in one line and leave with the documented exit code.
//!
//! A program's help comes in two parts. The usage is the docopt text that
//! `-h` prints and docopt reads: what the program does, `Usage:`,
//! `Options:`, and a line each for the environment and the exit codes. The
//! manual is prose, in a file beside the program's `main.rs`
//! (`src/manual.txt`), that `--help` prints after the usage; docopt never
//! reads it, so its lines may start with `-`. What the five stages share is
//! written once here: in the usage, [`common_options!`](crate::common_options),
//! [`environment!`](crate::environment) and [`exit_codes!`](crate::exit_codes)
//! (string literals, so that a usage stays one `const` built with
//! `concat!`); at the end of every stage's manual, [`STAGES_MANUAL`]: those
//! options in full, the environment and the exit codes, which README.md
//! repeats word for word (a test compares them).

pub mod flags;
pub mod table;
mod usage;

/// The options every stage takes, as lines of a docopt `Options:` section,
/// in short: [`STAGES_MANUAL`] has them in full.
#[macro_export]
macro_rules! common_options {
    () => {
        "  --retries <n>         Retries of a failed request or transfer [default: 5].
  --retry-time <secs>   The longest a failed step retries [default: 900].
  --stall <secs>        Seconds idle before a read fails [default: 60].
  -q, --quiet           No progress or notes on stderr.
  -h                    Show this usage.
  --help                Show the manual: this usage, then the prose.
  -V, --version         Show the program's name and version.
"
    };
}

/// The environment every stage reads, as one line of its usage:
/// [`STAGES_MANUAL`] says more.
#[macro_export]
macro_rules! environment {
    () => {
        "Environment: BEARER_TOKEN (required), X_API_URL, HTTPS_PROXY (see --help).\n"
    };
}

/// The exit codes, as one line of a program's usage; each manual says
/// when each is given ([`STAGES_MANUAL`] for the stages).
#[macro_export]
macro_rules! exit_codes {
    () => {
        "Exit codes: 0 done, 1 failed, 2 usage or input error (--help says which).\n"
    };
}

/// The end of every stage's manual, after its own prose: the options every
/// stage takes in full, the environment, and the exit codes.
pub const STAGES_MANUAL: &str = include_str!("stages_manual.txt");

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::destination::{on_stdout, ReaderGone};
use crate::error::bail_usage;

pub use crate::error::{exit_code, UsageError, EXIT_FAILED, EXIT_OK, EXIT_USAGE};

/// What a command line asks for.
#[derive(Debug)]
pub enum Command<T, C = CommonFlags> {
    /// Run the stage with its own arguments and the flags its kind of
    /// program shares ([`CommonFlags`] for a stage).
    Run(T, C),
    /// Print this on stdout and stop: `--help` or `--version`.
    Show(String),
    /// The command line does not fit the usage: this on stderr, exit 2.
    Wrong(String),
}

/// Reads the command line `argv` (without the program's name) against a
/// docopt `usage` text.
///
/// `-h` shows the usage; `--help` the manual: the usage, then each part of
/// `manual` after a blank line; `--version` (or `-V`) the program's name
/// and `version`. A command line that does not fit gives `error: ` and what
/// is wrong, naming the flag, then the usage patterns and where the options
/// and the manual are.
pub fn parse<T: DeserializeOwned, C: DeserializeOwned>(
    usage: &str,
    manual: &[&str],
    version: &str,
    argv: &[String],
) -> Command<T, C> {
    // What docopt would find, without compiling the usage into its
    // patterns first: that took most of the 5 ms a `--help` cost.
    match argv {
        [flag] if flag == "-h" => return Command::Show(usage.trim().to_string()),
        [flag] if flag == "--help" => return Command::Show(help(usage, manual)),
        _ => {}
    }
    let program = usage::program(usage);
    let parsed = docopt::Docopt::new(usage)
        .map(|d| {
            d.argv(std::iter::once(program.to_string()).chain(argv.iter().cloned()))
                .version(Some(format!("{program} {version}")))
                // `-h` and `--help` show different texts: told apart below.
                .help(false)
        })
        .and_then(|d| d.parse());
    let args = match parsed {
        Ok(args) if args.get_bool("--help") => return Command::Show(help(usage, manual)),
        Ok(args) if args.get_bool("-h") => return Command::Show(usage.trim().to_string()),
        Ok(args) => args,
        Err(e) if e.fatal() => return Command::Wrong(does_not_fit(usage, argv)),
        Err(e) => return Command::Show(e.to_string()),
    };
    match (args.clone().deserialize(), args.deserialize()) {
        (Ok(args), Ok(common)) => Command::Run(args, common),
        _ => Command::Wrong(does_not_fit(usage, argv)),
    }
}

/// What a command line that does not fit `usage` gets on stderr, naming
/// the flag where one is to blame.
fn does_not_fit(usage: &str, argv: &[String]) -> String {
    let why = usage::diagnose(usage, argv)
        .unwrap_or_else(|| "these flags do not fit any usage pattern".to_string());
    wrong(usage, &why)
}

/// What `--help` shows: the usage, then each part of the manual.
fn help(usage: &str, manual: &[&str]) -> String {
    let mut text = usage.trim().to_string();
    for part in manual {
        text.push_str("\n\n");
        text.push_str(part.trim());
    }
    text
}

/// A stage's whole `main`: reads its command line against `usage`, runs
/// `body` and turns the outcome into the exit code.
///
/// `-h` prints `usage`; `--help` the manual: `usage`, then `manual` (the
/// stage's own prose), then [`STAGES_MANUAL`].
///
/// 0 on success; else `error: …` as one line on stderr (the token scrubbed
/// out) and 1, or 2 for a [`UsageError`]. A standard output that its reader
/// has closed (`| head`, [`ReaderGone`]) ends the program quietly with 0:
/// the reader chose to stop. That is the one broken pipe that does: one of
/// a file the program was given (a FIFO) is a failure, and so is any whose
/// error `body` marked as losing what matters ([`mattered`]).
///
/// The command line may hold any bytes: a file flag's value that is not
/// text (not UTF-8) reaches `body` as its lossy text, which [`path`] turns
/// back into the file's name; any other is a usage error naming its flag.
pub fn main<T: DeserializeOwned>(
    usage: &str,
    manual: &str,
    version: &str,
    body: impl FnOnce(T, CommonFlags) -> anyhow::Result<()>,
) -> ExitCode {
    let manual = [manual, STAGES_MANUAL];
    run_main(
        usage,
        &manual,
        version,
        |c: &CommonFlags| c.flag_quiet,
        body,
    )
}

/// The `main` of a program that makes no request (`apply-results`), as
/// [`main`] for a stage: its usage has `-q, --quiet`, `-h`, `--help` and
/// `-V`, but none of the network's flags, and its `manual` is all its own.
pub fn main_local<T: DeserializeOwned>(
    usage: &str,
    manual: &str,
    version: &str,
    body: impl FnOnce(T) -> anyhow::Result<()>,
) -> ExitCode {
    run_main(
        usage,
        &[manual],
        version,
        |q: &QuietFlag| q.flag_quiet,
        |args, _| body(args),
    )
}

/// `-q, --quiet`: the one flag shared by a program that makes no request.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct QuietFlag {
    flag_quiet: bool,
}

fn run_main<T: DeserializeOwned, C: DeserializeOwned>(
    usage: &str,
    manual: &[&str],
    version: &str,
    quiet: impl Fn(&C) -> bool,
    body: impl FnOnce(T, C) -> anyhow::Result<()>,
) -> ExitCode {
    let argv = match usage::text_argv(usage, std::env::args_os().skip(1).collect()) {
        Ok(argv) => argv,
        Err(why) => {
            eprintln!("{}", wrong(usage, &why));
            return code(EXIT_USAGE);
        }
    };
    // The command line is the process's own, read once: its file names
    // stand beside it for `path`.
    let _ = NOT_TEXT.set(argv.files);
    let (args, common) = match parse(usage, manual, version, &argv.words) {
        Command::Run(args, common) => (args, common),
        Command::Show(text) => {
            // A manual piped into a pager that quits early is not an error.
            let _ = writeln!(io::stdout(), "{text}");
            return ExitCode::SUCCESS;
        }
        Command::Wrong(text) => {
            eprintln!("{text}");
            return code(EXIT_USAGE);
        }
    };
    crate::messages::set_quiet(quiet(&common));
    match body(args, common) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if reader_chose_to_stop(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` joins the context chain into one line.
            let text = crate::auth::Secrets::from_env()
                .scrub(&format!("{e:#}"))
                .into_owned();
            eprintln!("error: {}", crate::messages::printable(&text));
            code(exit_code(&e))
        }
    }
}

fn code(n: i32) -> ExitCode {
    ExitCode::from(u8::try_from(n).unwrap_or(1))
}

/// Whether the run failed only because standard output's reader has gone
/// ([`ReaderGone`]) and nothing that matters was lost with it ([`mattered`]).
fn reader_chose_to_stop(e: &anyhow::Error) -> bool {
    let reader_gone = e.chain().any(|cause| {
        cause.is::<ReaderGone>()
            || cause
                .downcast_ref::<io::Error>()
                .and_then(io::Error::get_ref)
                .is_some_and(|inner| inner.is::<ReaderGone>())
    });
    reader_gone && e.downcast_ref::<Lost>().is_none()
}

/// What a failed run lost that matters (a job that now exists, say), which
/// a closed standard output must not swallow; see [`mattered`].
#[derive(Debug)]
struct Lost(String);

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `e` with `what` before it, saying what the failure loses that matters
/// (`tweets job 123 was created, but printing it failed`): even when only
/// a standard output whose reader has gone failed, the program then says
/// so and exits 1, rather than ending quietly (see [`main`]).
pub fn mattered(e: anyhow::Error, what: String) -> anyhow::Error {
    e.context(Lost(what))
}

/// The arguments that are not text, by the lossy text that stands for each
/// in the arguments docopt reads; set once, before the program's body runs.
static NOT_TEXT: OnceLock<Vec<(String, OsString)>> = OnceLock::new();

/// The file a file flag's value names, as given on the command line: also
/// a name that is not text (not UTF-8), which reaches the program's
/// arguments as its lossy text (see [`main`]).
pub fn path(value: &str) -> PathBuf {
    path_in(NOT_TEXT.get().map_or(&[], Vec::as_slice), value)
}

fn path_in(not_text: &[(String, OsString)], value: &str) -> PathBuf {
    match not_text.iter().find(|(text, _)| text == value) {
        Some((_, bytes)) => PathBuf::from(bytes),
        None => PathBuf::from(value),
    }
}

/// What a command line that does not fit gets on stderr: `error: ` and
/// why, the usage patterns, and where the options and the manual are.
fn wrong(usage: &str, why: &str) -> String {
    format!(
        "error: {why}\n{}\nsee {} -h for the options, --help for the manual",
        usage::synopsis(usage),
        usage::program(usage)
    )
}

/// Prints a value as pretty JSON on stdout, for a person and for `jq` alike.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let mut out = io::stdout().lock();
    let text = crate::auth::Secrets::from_env().scrub(&text).into_owned();
    writeln!(out, "{}", crate::messages::printable_json(&text))
        .map_err(on_stdout)
        .context("writing to standard output")?;
    out.flush()
        .map_err(on_stdout)
        .context("writing to standard output")?;
    Ok(())
}

pub use crate::messages::{note, warn};

/// The flags every stage takes: `--retries`, `--retry-time`, `--stall` and
/// `--quiet`, read from the same command line as the stage's own.
#[derive(Clone, Debug, Deserialize)]
pub struct CommonFlags {
    flag_retries: String,
    flag_retry_time: String,
    flag_stall: String,
    flag_quiet: bool,
}

/// Makes the client from the environment and the flags every stage takes.
pub fn client(tool: &str, flags: &CommonFlags) -> anyhow::Result<crate::Client> {
    let (retries, retry_time, stall) = (
        &flags.flag_retries,
        &flags.flag_retry_time,
        &flags.flag_stall,
    );
    let retries = match retries.trim().parse::<u32>() {
        Ok(n) if n <= 100 => n,
        _ => bail_usage!("--retries takes a whole number from 0 to 100, not {retries:?}"),
    };
    let retry_time = flags::seconds("--retry-time", retry_time)?;
    let stall = flags::seconds("--stall", stall)?;
    if stall.is_zero() {
        bail_usage!("--stall must be more than 0 seconds");
    }
    let mut config = crate::Config::from_env(tool)?;
    config.retry.retries = retries;
    config.retry.budget = retry_time;
    config.read_timeout = stall;
    Ok(crate::Client::new(config)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of a write to standard output whose reader has gone.
    fn stdout_closed() -> anyhow::Error {
        anyhow::Error::new(on_stdout(io::Error::from(io::ErrorKind::BrokenPipe)))
            .context("writing to standard output")
    }

    #[test]
    fn only_a_reader_closing_stdout_with_nothing_lost_ends_quietly() {
        assert!(reader_chose_to_stop(&stdout_closed()));
        assert!(reader_chose_to_stop(
            &stdout_closed().context("printing the jobs")
        ));
        // A FIFO given as a file whose reader stopped: the output mattered.
        let fifo = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("writing the results to r.fifo");
        assert!(!reader_chose_to_stop(&fifo));
        // Standard output failing otherwise is no choice of its reader's.
        let full = anyhow::Error::new(on_stdout(io::Error::other("no space left")));
        assert!(!reader_chose_to_stop(&full));
        // What matters, lost with standard output: a failure that says so.
        let made = || mattered(stdout_closed(), "tweets job 1 was created".to_string());
        assert!(!reader_chose_to_stop(&made()));
        assert!(!reader_chose_to_stop(&made().context("in a larger step")));
        let text = format!("{:#}", made());
        assert!(
            text.starts_with("tweets job 1 was created: writing to standard output: standard output was closed by its reader"),
            "{text}"
        );
        assert_eq!(exit_code(&made()), EXIT_FAILED);
    }

    const USAGE: &str = "
Does a thing.

Usage:
  thing --type <type> [options]
  thing (-h | --help)
  thing (-V | --version)

Options:
  --type <type>  What.
  -h             Show this usage.
  --help         Show the manual.
  -V, --version  Show the version.
";

    /// The arguments of [`USAGE`].
    #[derive(Debug, Deserialize)]
    struct Thing {
        #[allow(dead_code)]
        flag_type: Option<String>,
    }

    /// What `parse` makes of `args` against [`USAGE`] and a manual of two
    /// parts: the text shown, or what went wrong.
    fn shown(args: &[&str]) -> Result<String, String> {
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let manual = ["\nMore about it.\n", "Exit codes: some.\n"];
        match parse::<Thing, Thing>(USAGE, &manual, "1", &argv) {
            Command::Show(text) => Ok(text),
            Command::Wrong(text) => Err(text),
            Command::Run(..) => Err("run".to_string()),
        }
    }

    #[test]
    fn h_shows_the_usage_as_docopt_prints_it_and_help_the_manual_after_it() {
        let by_docopt = match docopt::Docopt::new(USAGE).and_then(|d| {
            d.argv(["thing", "--help"].into_iter().map(String::from))
                .parse()
        }) {
            Err(e) if !e.fatal() => e.to_string(),
            other => panic!("{other:?}"),
        };
        let manual = format!("{by_docopt}\n\nMore about it.\n\nExit codes: some.");
        // Alone (without docopt), and among other flags (through docopt).
        assert_eq!(shown(&["-h"]), Ok(by_docopt.clone()));
        assert_eq!(shown(&["--type", "t", "-h"]), Ok(by_docopt));
        assert_eq!(shown(&["--help"]), Ok(manual.clone()));
        assert_eq!(shown(&["--type", "t", "--help"]), Ok(manual.clone()));
        assert_eq!(shown(&["-h", "--type", "t", "--help"]), Ok(manual));
        assert_eq!(shown(&["-V"]), Ok("thing 1".to_string()));
        assert_eq!(shown(&["--type", "t"]), Err("run".to_string()));
    }

    #[test]
    fn a_command_line_that_does_not_fit_names_the_flag_and_where_help_is() {
        let text = shown(&["--typ", "t"]).unwrap_err();
        assert_eq!(
            text.lines().next(),
            Some("error: there is no flag --typ; did you mean --type?")
        );
        assert!(text.contains("\nUsage:\n  thing --type <type> [options]\n"));
        assert_eq!(
            text.lines().last(),
            Some("see thing -h for the options, --help for the manual")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_name_that_is_not_text_comes_back_as_given() {
        use std::os::unix::ffi::OsStringExt as _;
        let bytes = OsString::from_vec(b"caf\xe9.txt".to_vec());
        let not_text = [("caf\u{fffd}.txt".to_string(), bytes.clone())];
        assert_eq!(path_in(&not_text, "caf\u{fffd}.txt"), PathBuf::from(bytes));
        assert_eq!(path_in(&not_text, "ids.txt"), PathBuf::from("ids.txt"));
        assert_eq!(
            path_in(&[], "caf\u{fffd}.txt"),
            PathBuf::from("caf\u{fffd}.txt")
        );
    }
}
