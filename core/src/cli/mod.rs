//! What every stage binary does the same way: parse its usage, print JSON,
//! report an error in one line and leave with the documented exit code.
//!
//! Exit codes, the same for all five stages:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | failed: the API, the network, a file, or the job itself (failed, expired) |
//! | 2 | usage or input error: a bad flag or value, a bad ID file, no token |

mod usage;

use std::fmt;
use std::io::{self, Write};
use std::process;

use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code for a failure of the API, the network, a file or the job.
pub const EXIT_FAILED: i32 = 1;
/// Exit code for a usage or input error.
pub const EXIT_USAGE: i32 = 2;

/// An error in what the user asked for: a flag, a value, an input file.
///
/// Anywhere in an error's chain, it makes the process exit with [`EXIT_USAGE`].
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns early with a [`UsageError`] built like `format!`.
#[macro_export]
macro_rules! usage_bail {
    ($($arg:tt)*) => {
        return Err(anyhow::Error::new($crate::cli::UsageError(format!($($arg)*))))
    };
}

/// Parses the command line against a docopt `usage` text, into the stage's
/// own arguments and the [`CommonFlags`].
///
/// `--help` prints the usage on stdout and exits 0; `--version` (or `-V`)
/// prints the program's name and `version`. A command line that does not fit
/// prints `error: ` and what is wrong, naming the flag, then the usage
/// patterns and where the manual is, on stderr, and exits with
/// [`EXIT_USAGE`] (docopt itself would exit 1).
pub fn args<T: DeserializeOwned>(usage: &str, version: &str) -> (T, CommonFlags) {
    let program = usage::program(usage);
    let parsed = docopt::Docopt::new(usage)
        .and_then(|d| d.version(Some(format!("{program} {version}"))).parse())
        .and_then(|argv| Ok((argv.clone().deserialize()?, argv.deserialize()?)));
    match parsed {
        Ok(args) => args,
        Err(e) if e.fatal() => {
            let argv: Vec<String> = std::env::args().skip(1).collect();
            let why = usage::diagnose(usage, &argv)
                .unwrap_or_else(|| "these flags do not fit any usage pattern".to_string());
            eprintln!("error: {why}");
            eprintln!("{}", usage::synopsis(usage));
            eprintln!("see {program} --help");
            process::exit(EXIT_USAGE);
        }
        Err(e) => {
            println!("{e}");
            process::exit(EXIT_OK);
        }
    }
}

/// Runs a stage's body and exits: 0 on success, else prints `error: …` as
/// one line on stderr and exits 1, or 2 for a [`UsageError`].
pub fn run(body: impl FnOnce() -> anyhow::Result<()>) -> ! {
    let code = match body() {
        Ok(()) => EXIT_OK,
        Err(e) => {
            // `{:#}` joins the context chain into one line.
            eprintln!("error: {}", crate::auth::scrub(&format!("{e:#}")));
            exit_code(&e)
        }
    };
    process::exit(code)
}

/// The exit code an error leads to.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    if e.chain().any(|c| c.is::<UsageError>()) {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    }
}

/// Prints a value as pretty JSON on stdout, for a person and for `jq` alike.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let mut out = io::stdout().lock();
    writeln!(out, "{}", crate::auth::scrub(&text)).context("writing to standard output")?;
    out.flush().context("writing to standard output")?;
    Ok(())
}

/// Prints a message for the person at the terminal on stderr (not with `--quiet`).
pub fn note(message: impl fmt::Display) {
    if !crate::progress::is_quiet() {
        crate::progress::eprint_line(&message.to_string());
    }
}

/// Prints a warning on stderr, as `warning: …`, even with `--quiet`.
pub fn warn(message: impl fmt::Display) {
    crate::progress::eprint_line(&format!("warning: {message}"));
}

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
    crate::progress::set_quiet(flags.flag_quiet);
    let (retries, retry_time, stall) = (
        &flags.flag_retries,
        &flags.flag_retry_time,
        &flags.flag_stall,
    );
    let retries = match retries.trim().parse::<u32>() {
        Ok(n) if n <= 100 => n,
        _ => usage_bail!("--retries takes a whole number from 0 to 100, not {retries:?}"),
    };
    let retry_time = seconds("--retry-time", retry_time)?;
    let stall = seconds("--stall", stall)?;
    if stall.is_zero() {
        usage_bail!("--stall must be more than 0 seconds");
    }
    let mut config = crate::Config::from_env(tool)?;
    config.retry.retries = retries;
    config.retry.budget = retry_time;
    config.read_timeout = stall;
    crate::Client::new(config)
}

/// Parses a `--interval`-style value in seconds (fractions allowed).
pub fn seconds(flag: &str, value: &str) -> anyhow::Result<std::time::Duration> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=604_800.0).contains(&s) => {
            Ok(std::time::Duration::from_secs_f64(s))
        }
        _ => {
            usage_bail!("{flag} takes a number of seconds from 0 to 604800 (7 days), not {value:?}")
        }
    }
}
