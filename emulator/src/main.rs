//! `compliance-emulator`: serves the emulator until a signal stops it.
//!
//! The library forbids unsafe code; this binary needs it only to block the
//! stop signals and wait for them (`signals`, through libc).

#![deny(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process;
use std::time::Duration;

use compliance_emulator::{
    parse_fault_spec, AccessLevel, Config, Emulator, Flavour, RateLimits, SPEC_GRAMMAR,
};
use serde::Deserialize;

const USAGE: &str = "
Offline emulator of the X API v2 batch compliance endpoints and their
signed-URL storage. Prints the environment to use, then serves on 127.0.0.1
until interrupted. On SIGINT (Ctrl-C), SIGTERM or SIGHUP it closes its
connections, removes its temp directory, and exits with 128 + the signal
number (130, 143, 129); a signal it was started with ignored (nohup) stays
ignored.

Usage:
  compliance-emulator [options] [--fault SPEC]...
  compliance-emulator (-h | --help)
  compliance-emulator (-V | --version)

Options:
  --port N                 API port; 0 picks a free one [default: 0].
  --storage-port N         Storage port; 0 picks a free one [default: 0].
  --token T                Bearer token the API accepts [default: emulator-token].
  --flavour F              gcs (signed storage URLs) or api (token URLs on the
                           API, spec 2.168) [default: gcs].
  --processing-delay SECS  Time from upload to complete, so that clients
                           see in_progress [default: 5].
  --upload-window SECS     Validity of upload URLs [default: 900].
  --download-window SECS   Validity of download URLs [default: 604800].
  --access-level LEVEL     The rate limits X documents for an access level:
                           pro (150 per window on every endpoint), basic (15
                           creates, 5 gets, 5 lists) or free (1 each)
                           [default: pro].
  --rate-limit N           Requests per window on every endpoint, in place
                           of the access level's.
  --rate-window SECS       Rate-limit window [default: 900].
  --read-timeout SECS      Close a connection that sends nothing for this
                           long while a request is awaited or being read
                           [default: 60].
  --event-percent P        Share of IDs with a compliance event [default: 3].
  --data-dir DIR           Keep uploads and results here; they stay after
                           the emulator stops. Without it they go to a fresh
                           temp directory (printed on stderr at start),
                           removed when it stops on a signal.
  --log FILE               Append one JSON line per request to FILE as it
                           ends: time, origin, method, path (signatures and
                           tokens redacted), status, bytes received and sent.
  --fault SPEC             Inject a fault; repeatable, applied in order.
  -h, --help               Show this help.
  -V, --version            Show the name and version.
";

#[derive(Debug, Deserialize)]
struct Args {
    flag_port: String,
    flag_storage_port: String,
    flag_token: String,
    flag_flavour: String,
    flag_processing_delay: String,
    flag_upload_window: String,
    flag_download_window: String,
    flag_access_level: String,
    flag_rate_limit: Option<String>,
    flag_rate_window: String,
    flag_read_timeout: String,
    flag_event_percent: String,
    flag_data_dir: Option<String>,
    flag_log: Option<String>,
    flag_fault: Vec<String>,
}

/// Exits with status 2, the convention for usage errors.
fn usage_error(msg: &str) -> ! {
    eprintln!("compliance-emulator: {msg}\n\nRun with --help for usage.");
    process::exit(2);
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> T {
    value.parse().unwrap_or_else(|_| {
        usage_error(&format!(
            "{name} must be a non-negative integer, not {value:?}"
        ))
    })
}

/// A number that must not be 0: a limit or a window of 0 is one no client
/// can use.
fn positive<T: std::str::FromStr + Default + PartialEq>(name: &str, value: &str) -> T {
    let n = number(name, value);
    if n == T::default() {
        usage_error(&format!("{name} must be at least 1, not {value:?}"));
    }
    n
}

/// The token, if a client can send it: in `Authorization: Bearer TOKEN`
/// it must be visible ASCII, without spaces or control characters.
fn token(value: &str) -> String {
    if value.is_empty() {
        usage_error("--token must not be empty");
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        usage_error(&format!(
            "--token must be visible ASCII characters without spaces, not {value:?}"
        ));
    }
    value.to_string()
}

fn main() {
    // Before any thread exists, so that every thread inherits the mask and
    // only `wait` below receives these signals.
    let stop_signals = match signals::block() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("compliance-emulator: cannot block signals: {e}");
            process::exit(1);
        }
    };
    let usage = format!("{USAGE}\n{SPEC_GRAMMAR}\n");
    let version = format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let args: Args = docopt::Docopt::new(usage.as_str())
        .and_then(|d| d.version(Some(version)).deserialize())
        .unwrap_or_else(|e| {
            if e.fatal() {
                eprintln!("{e}");
                process::exit(2);
            }
            // --help and --version. A reader that stops early (`| head`)
            // has what it wanted: no panic on the closed pipe.
            let _ = writeln!(std::io::stdout(), "{e}");
            process::exit(0);
        });

    let flavour = match args.flag_flavour.as_str() {
        "gcs" => Flavour::Gcs,
        "api" => Flavour::Api,
        other => usage_error(&format!("--flavour must be gcs or api, not {other:?}")),
    };
    let event_percent: u32 = number("--event-percent", &args.flag_event_percent);
    if event_percent > 100 {
        usage_error("--event-percent must be 0..=100");
    }
    let secs = |name: &str, v: &str| Duration::from_secs(number(name, v));
    let positive_secs = |name: &str, v: &str| Duration::from_secs(positive(name, v));
    let level: AccessLevel = args.flag_access_level.parse().unwrap_or_else(|_| {
        usage_error(&format!(
            "--access-level must be pro, basic or free, not {:?}",
            args.flag_access_level
        ))
    });
    let rate_limits = match &args.flag_rate_limit {
        Some(n) => RateLimits::uniform(positive("--rate-limit", n)),
        None => RateLimits::of_level(level),
    };
    let config = Config {
        token: token(&args.flag_token),
        flavour,
        processing_delay: secs("--processing-delay", &args.flag_processing_delay),
        upload_window: positive_secs("--upload-window", &args.flag_upload_window),
        download_window: positive_secs("--download-window", &args.flag_download_window),
        rate_limits,
        rate_window: positive_secs("--rate-window", &args.flag_rate_window),
        read_timeout: positive_secs("--read-timeout", &args.flag_read_timeout),
        event_percent,
        data_dir: args.flag_data_dir.as_ref().map(PathBuf::from),
        log: args.flag_log.as_ref().map(PathBuf::from),
    };
    let faults: Vec<_> = args
        .flag_fault
        .iter()
        .map(|spec| parse_fault_spec(spec).unwrap_or_else(|e| usage_error(&e)))
        .collect();
    let api_port: u16 = number("--port", &args.flag_port);
    let storage_port: u16 = number("--storage-port", &args.flag_storage_port);
    if let Some(path) = &config.log {
        // Opened here too, last of the checks, so that a file that cannot
        // be written is a usage error, and none is created for a command
        // line refused for another reason.
        if let Err(e) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            usage_error(&format!("--log {}: {e}", path.display()));
        }
    }

    let emu = match Emulator::start_on(config, api_port, storage_port) {
        Ok(emu) => emu,
        Err(e) => {
            eprintln!("compliance-emulator: cannot start: {e}");
            process::exit(1);
        }
    };
    for (route, fault) in faults {
        emu.fault(route, fault);
    }
    // Whoever reads these may close the pipe once it has what it wants:
    // that must not stop the emulator (println! would panic).
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "export X_API_URL={}", emu.base_url());
    let _ = writeln!(out, "export BEARER_TOKEN={}", shell_word(emu.token()));
    let _ = out.flush();
    drop(out);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "compliance-emulator: API on {}, storage on {}; serving until interrupted",
        emu.base_url(),
        emu.storage_url()
    );
    let _ = writeln!(
        err,
        "compliance-emulator: data in {}",
        emu.data_dir().display()
    );
    drop(err);
    let signal = match stop_signals.wait() {
        Ok(signal) => signal,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "compliance-emulator: cannot wait for signals: {e}"
            );
            drop(emu);
            process::exit(1);
        }
    };
    // Closes the listeners and connections and removes the temp directory.
    drop(emu);
    process::exit(128 + signal);
}

/// `word` as the shell reads it back: as it is when it holds only
/// characters no shell treats specially, else in single quotes (a token may
/// hold `$`, `;` or `'`, and the export lines are meant to be pasted).
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.~+/=:@%,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Stopping on SIGINT, SIGTERM and SIGHUP: the signals are blocked in every
/// thread and taken synchronously by the main thread, which can then drop
/// the emulator (no work in a signal handler).
#[cfg(unix)]
#[allow(unsafe_code)] // sigaction, pthread_sigmask and sigwait have no safe wrapper in std.
mod signals {
    use std::io;

    /// The signals that stop the emulator.
    const STOP: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    /// The blocked set, to wait on.
    pub(crate) struct Blocked(libc::sigset_t);

    /// Blocks the stop signals in the calling thread; threads spawned from
    /// it afterwards inherit the mask. A signal the process was started
    /// with ignored (`nohup` ignores SIGHUP, a shell script's `&` SIGINT)
    /// stays ignored: an ignored signal is dropped, never waited for.
    pub(crate) fn block() -> io::Result<Blocked> {
        // SAFETY: `set` and `current` are plain C structs, initialised by
        // `sigemptyset` and `sigaction` before they are read; the calls
        // only read and write them, and the old mask is not asked for.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            if libc::sigemptyset(&mut set) != 0 {
                return Err(io::Error::last_os_error());
            }
            for signal in STOP {
                let mut current: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut current) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if current.sa_sigaction == libc::SIG_IGN {
                    continue;
                }
                if libc::sigaddset(&mut set, signal) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            match libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) {
                0 => Ok(Blocked(set)),
                e => Err(io::Error::from_raw_os_error(e)),
            }
        }
    }

    impl Blocked {
        /// Waits until one of the signals is pending and takes it; returns
        /// its number.
        pub(crate) fn wait(&self) -> io::Result<i32> {
            let mut signal: libc::c_int = 0;
            loop {
                // SAFETY: both pointers are to live, initialised values.
                match unsafe { libc::sigwait(&self.0, &mut signal) } {
                    0 => return Ok(signal),
                    libc::EINTR => continue,
                    e => return Err(io::Error::from_raw_os_error(e)),
                }
            }
        }
    }
}

/// Elsewhere the process serves until it is killed, leaving its temp
/// directory behind.
#[cfg(not(unix))]
mod signals {
    use std::io;

    pub(crate) struct Blocked;

    pub(crate) fn block() -> io::Result<Blocked> {
        Ok(Blocked)
    }

    impl Blocked {
        pub(crate) fn wait(&self) -> io::Result<i32> {
            loop {
                std::thread::park();
            }
        }
    }
}
