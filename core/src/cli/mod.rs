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
pub mod terminal;
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
use std::fmt;
use std::io::{self, Write};
use std::ops::Deref;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::auth::Secrets;
use crate::destination::on_stdout;
use crate::error::{bail_usage, Context as _, Error, ErrorKind, OfKind as _, Result};
use crate::report::Reporter;

pub use crate::error::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
pub use terminal::{printable, printable_json, Terminal};

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
///
/// The flags shared (`C`) come with a default (silent) [`Session`]: the
/// one a program runs in is [`main`]'s.
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
/// `body` gets the stage's own arguments and the [`CommonFlags`], with the
/// [`Session`] it runs in: the terminal's reporter, the files named on the
/// command line, the token to scrub from what it prints.
///
/// 0 on success; else `error: …` as one line on stderr (the token scrubbed
/// out) and the error's [exit code](Error::exit_code): 2 for a
/// [`Usage`](ErrorKind::Usage) error, else 1. A standard output that its
/// reader has closed (`| head`, [`ReaderGone`](ErrorKind::ReaderGone))
/// ends the program quietly with 0: the reader chose to stop. That is the
/// one broken pipe that does: one of a file the program was given (a FIFO)
/// is a failure, and so is any whose error `body` marked as losing what
/// matters ([`Error::mattered`]).
///
/// The command line may hold any bytes: a file flag's value that is not
/// text (not UTF-8) reaches `body` as its lossy text, which
/// [`Session::path`] turns back into the file's name; any other is a usage
/// error naming its flag.
pub fn main<T: DeserializeOwned>(
    usage: &str,
    manual: &str,
    version: &str,
    body: impl FnOnce(T, CommonFlags) -> Result<()>,
) -> ExitCode {
    run_main(usage, &[manual, STAGES_MANUAL], version, body)
}

/// The `main` of a program that makes no request (`apply-results`), as
/// [`main`] for a stage: its usage has `-q, --quiet`, `-h`, `--help` and
/// `-V`, but none of the network's flags, and its `manual` is all its own.
pub fn main_local<T: DeserializeOwned>(
    usage: &str,
    manual: &str,
    version: &str,
    body: impl FnOnce(T, LocalFlags) -> Result<()>,
) -> ExitCode {
    run_main(usage, &[manual], version, body)
}

/// The flags a kind of program shares, read with its own: whether it is
/// quiet, and where [`run_main`] puts the [`Session`] it runs in.
trait Shared: DeserializeOwned {
    /// `--quiet`.
    fn quiet(&self) -> bool;
    /// Makes `session` the one these flags carry.
    fn attach(&mut self, session: Session);
}

fn run_main<T: DeserializeOwned, C: Shared>(
    usage: &str,
    manual: &[&str],
    version: &str,
    body: impl FnOnce(T, C) -> Result<()>,
) -> ExitCode {
    let argv = match usage::text_argv(usage, std::env::args_os().skip(1).collect()) {
        Ok(argv) => argv,
        Err(why) => {
            to_stderr(&wrong(usage, &why));
            return code(EXIT_USAGE);
        }
    };
    let (args, mut common) = match parse::<T, C>(usage, manual, version, &argv.words) {
        Command::Run(args, common) => (args, common),
        Command::Show(text) => {
            // A manual piped into a pager that quits early is not an error.
            let _ = writeln!(io::stdout(), "{text}");
            return ExitCode::SUCCESS;
        }
        Command::Wrong(text) => {
            to_stderr(&text);
            return code(EXIT_USAGE);
        }
    };
    // The token in the environment is scrubbed from all the program
    // prints, whether or not it is the one a client sends.
    let session = Session::new(common.quiet(), argv.files, Secrets::from_env());
    let secrets = session.secrets.clone();
    common.attach(session);
    match body(args, common) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(line) = error_line(&e, &secrets) {
                to_stderr(&line);
            }
            code(e.exit_code())
        }
    }
}

/// Writes a line on stderr; one that cannot be written has no one to tell.
fn to_stderr(line: &str) {
    let _ = writeln!(io::stderr(), "{line}");
}

fn code(n: i32) -> ExitCode {
    ExitCode::from(u8::try_from(n).unwrap_or(1))
}

/// The line stderr gets for a failed run: `error: ` and the whole chain on
/// one line (`{:#}`), scrubbed of `secrets` and made printable; none when
/// standard output's reader chose to stop
/// ([`ReaderGone`](ErrorKind::ReaderGone)) and nothing that matters was
/// lost with it.
fn error_line(e: &Error, secrets: &Secrets) -> Option<String> {
    if e.kind() == ErrorKind::ReaderGone {
        return None;
    }
    let text = format!("{e:#}");
    Some(format!("error: {}", printable(&secrets.scrub(&text))))
}

/// What a program is run with besides its flags: the terminal's
/// [`Reporter`] (quiet or not), the names of the files given on its
/// command line that are not text, and the secrets scrubbed from all it
/// prints. Made by [`main`] for each run; the flags a program shares carry
/// it ([`CommonFlags`], [`LocalFlags`]) and lend it their methods.
///
/// The default, which [`parse`] gives, reports nothing and scrubs nothing.
/// Cloning is cheap.
#[derive(Clone, Default)]
pub struct Session {
    reporter: Reporter,
    /// The arguments that are not text, by the lossy text that stands for
    /// each in the arguments docopt reads.
    not_text: Arc<[(String, OsString)]>,
    secrets: Secrets,
}

impl Session {
    fn new(quiet: bool, not_text: Vec<(String, OsString)>, secrets: Secrets) -> Session {
        Session {
            reporter: Reporter::new(Terminal::new(quiet)).with_secrets(&secrets),
            not_text: not_text.into(),
            secrets,
        }
    }

    /// Where notes, warnings and progress go: the terminal's [`Terminal`]
    /// report (notes only without `--quiet`), for a client's
    /// [`Config`](crate::Config) and for the work done without one.
    pub fn reporter(&self) -> &Reporter {
        &self.reporter
    }

    /// The file a file flag's value names, as given on the command line:
    /// also a name that is not text (not UTF-8), which reaches the
    /// program's arguments as its lossy text (see [`main`]).
    pub fn path(&self, value: &str) -> PathBuf {
        match self.not_text.iter().find(|(text, _)| text == value) {
            Some((_, bytes)) => PathBuf::from(bytes),
            None => PathBuf::from(value),
        }
    }

    /// Prints a value as pretty JSON on stdout, for a person and for `jq`
    /// alike: the token scrubbed out, what would act on a terminal escaped.
    ///
    /// A standard output whose reader has gone fails with a
    /// [`ReaderGone`](ErrorKind::ReaderGone) error (see [`main`]).
    pub fn print_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        let text = serde_json::to_string_pretty(value)
            .of_kind(ErrorKind::Io)
            .context("writing JSON to standard output")?;
        let text = self.secrets.scrub(&text);
        write_stdout(&format!("{}\n", printable_json(&text)))
    }

    /// Text from elsewhere (a server), as a person is shown it: the token
    /// scrubbed out, what would act on a terminal escaped.
    pub(crate) fn shown(&self, text: &str) -> String {
        printable(&self.secrets.scrub(text)).into_owned()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secrets themselves.
        f.debug_struct("Session")
            .field("reporter", &self.reporter)
            .field("not_text", &self.not_text)
            .finish_non_exhaustive()
    }
}

/// Writes `text` to standard output: a broken pipe becomes a
/// [`ReaderGone`](ErrorKind::ReaderGone) error.
fn write_stdout(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(on_stdout)
        .context("writing to standard output")
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

/// The flags every stage takes: `--retries`, `--retry-time`, `--stall` and
/// `--quiet`, read from the same command line as the stage's own; and the
/// [`Session`] the stage runs in, whose methods they lend
/// (`common.path(..)`, `common.print_json(..)`).
#[derive(Clone, Debug, Deserialize)]
pub struct CommonFlags {
    flag_retries: String,
    flag_retry_time: String,
    flag_stall: String,
    flag_quiet: bool,
    #[serde(skip)]
    session: Session,
}

impl Shared for CommonFlags {
    fn quiet(&self) -> bool {
        self.flag_quiet
    }
    fn attach(&mut self, session: Session) {
        self.session = session;
    }
}

impl Deref for CommonFlags {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

/// `-q, --quiet`: the one flag shared by a program that makes no request;
/// and the [`Session`] it runs in, whose methods it lends.
#[derive(Clone, Debug, Deserialize)]
pub struct LocalFlags {
    flag_quiet: bool,
    #[serde(skip)]
    session: Session,
}

impl Shared for LocalFlags {
    fn quiet(&self) -> bool {
        self.flag_quiet
    }
    fn attach(&mut self, session: Session) {
        self.session = session;
    }
}

impl Deref for LocalFlags {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

/// Makes the client from the environment and the flags every stage takes;
/// it reports to the session's terminal.
pub fn client(tool: &str, flags: &CommonFlags) -> Result<crate::Client> {
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
    config.reporter = flags.reporter().clone();
    crate::Client::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Token;

    /// The error of a write to standard output whose reader has gone.
    fn stdout_closed() -> Error {
        Err::<(), _>(on_stdout(io::Error::from(io::ErrorKind::BrokenPipe)))
            .context("writing to standard output")
            .unwrap_err()
    }

    #[test]
    fn only_a_reader_closing_stdout_with_nothing_lost_ends_quietly() {
        let none = Secrets::default();
        let quiet = |e: &Error| error_line(e, &none).is_none() && e.exit_code() == EXIT_OK;
        assert!(quiet(&stdout_closed()));
        assert!(quiet(&stdout_closed().context("printing the jobs")));
        // A FIFO given as a file whose reader stopped: the output mattered.
        let fifo = Err::<(), _>(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("writing the results to r.fifo")
            .unwrap_err();
        assert!(!quiet(&fifo));
        assert_eq!(fifo.exit_code(), EXIT_FAILED);
        // Standard output failing otherwise is no choice of its reader's.
        let full = Err::<(), _>(on_stdout(io::Error::other("no space left")))
            .context("writing to standard output")
            .unwrap_err();
        assert!(!quiet(&full));
        // What matters, lost with standard output: a failure that says so.
        let made = || stdout_closed().mattered("tweets job 1 was created".to_string());
        assert!(!quiet(&made()));
        assert!(!quiet(&made().context("in a larger step")));
        let line = error_line(&made(), &none).unwrap();
        assert!(
            line.starts_with("error: tweets job 1 was created: writing to standard output: standard output was closed by its reader"),
            "{line}"
        );
        assert_eq!(made().exit_code(), EXIT_FAILED);
        assert_eq!(Error::usage("bad flag").exit_code(), EXIT_USAGE);
    }

    #[test]
    fn an_error_line_is_one_printable_line_without_the_token() {
        let secrets = Secrets::of(&Token::new("s3cr3t-t0ken-value".to_string()));
        let e = Error::new(
            ErrorKind::Auth,
            "the API said \u{1b}[2J Bearer s3cr3t-t0ken-value",
        )
        .context("listing jobs");
        assert_eq!(
            error_line(&e, &secrets).unwrap(),
            "error: listing jobs: the API said \\u{1b}[2J Bearer <redacted>"
        );
    }

    #[test]
    fn each_session_scrubs_and_shows_its_own() {
        let token = Token::new("s3cr3t-t0ken-value".to_string());
        let session = Session::new(true, Vec::new(), Secrets::of(&token));
        assert_eq!(
            session.shown("x s3cr3t-t0ken-value\u{7}"),
            "x <redacted>\\u{7}"
        );
        // Another session, in the same process, holds nothing of it.
        assert_eq!(
            Session::default().shown("x s3cr3t-t0ken-value"),
            "x s3cr3t-t0ken-value"
        );
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
        let not_text = vec![("caf\u{fffd}.txt".to_string(), bytes.clone())];
        let session = Session::new(true, not_text, Secrets::default());
        assert_eq!(session.path("caf\u{fffd}.txt"), PathBuf::from(bytes));
        assert_eq!(session.path("ids.txt"), PathBuf::from("ids.txt"));
        // Another run's files are not this one's.
        assert_eq!(
            Session::default().path("caf\u{fffd}.txt"),
            PathBuf::from("caf\u{fffd}.txt")
        );
    }
}
