//! `compliance-emulator`: serves the emulator until killed.

use std::path::PathBuf;
use std::process;
use std::time::Duration;

use compliance_emulator::{parse_fault_spec, Config, Emulator, Flavour, SPEC_GRAMMAR};
use serde::Deserialize;

const USAGE: &str = "
Offline emulator of the X API v2 batch compliance endpoints and their
signed-URL storage. Prints the environment to use, then serves on 127.0.0.1
until interrupted.

Usage:
  compliance-emulator [options] [--fault SPEC]...
  compliance-emulator (-h | --help)
  compliance-emulator --version

Options:
  --port N                 API port; 0 picks a free one [default: 0].
  --storage-port N         Storage port; 0 picks a free one [default: 0].
  --token T                Bearer token the API accepts [default: emulator-token].
  --flavour F              gcs (signed storage URLs) or api (token URLs on the
                           API, spec 2.168) [default: gcs].
  --processing-delay SECS  Time from upload to complete [default: 0].
  --upload-window SECS     Validity of upload URLs [default: 900].
  --download-window SECS   Validity of download URLs [default: 604800].
  --rate-limit N           Requests per window per endpoint [default: 150].
  --rate-window SECS       Rate-limit window [default: 900].
  --event-percent P        Share of IDs with a compliance event [default: 3].
  --data-dir DIR           Keep uploads and results here. Without it they go
                           to a fresh temp directory, which is left behind
                           when the process is killed.
  --fault SPEC             Inject a fault; repeatable, applied in order.
  -h, --help               Show this help.
  --version                Show the version.
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
    flag_rate_limit: String,
    flag_rate_window: String,
    flag_event_percent: String,
    flag_data_dir: Option<String>,
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

fn main() {
    let usage = format!("{USAGE}\n{SPEC_GRAMMAR}\n");
    let args: Args = docopt::Docopt::new(usage.as_str())
        .and_then(|d| {
            d.version(Some(env!("CARGO_PKG_VERSION").to_string()))
                .deserialize()
        })
        .unwrap_or_else(|e| {
            if e.fatal() {
                eprintln!("{e}");
                process::exit(2);
            }
            // --help and --version.
            println!("{e}");
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
    let config = Config {
        token: args.flag_token.clone(),
        flavour,
        processing_delay: secs("--processing-delay", &args.flag_processing_delay),
        upload_window: secs("--upload-window", &args.flag_upload_window),
        download_window: secs("--download-window", &args.flag_download_window),
        rate_limit: number("--rate-limit", &args.flag_rate_limit),
        rate_window: secs("--rate-window", &args.flag_rate_window),
        event_percent,
        data_dir: args.flag_data_dir.as_ref().map(PathBuf::from),
    };
    let faults: Vec<_> = args
        .flag_fault
        .iter()
        .map(|spec| parse_fault_spec(spec).unwrap_or_else(|e| usage_error(&e)))
        .collect();
    let api_port: u16 = number("--port", &args.flag_port);
    let storage_port: u16 = number("--storage-port", &args.flag_storage_port);

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
    println!("export X_API_URL={}", emu.base_url());
    println!("export BEARER_TOKEN={}", emu.token());
    eprintln!(
        "compliance-emulator: API on {}, storage on {}; serving until interrupted",
        emu.base_url(),
        emu.storage_url()
    );
    // Serve until a signal ends the process.
    loop {
        std::thread::park();
    }
}
