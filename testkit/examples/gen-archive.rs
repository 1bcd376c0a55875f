//! Writes a made-up archive of any size, and the results that go with it,
//! for `bench/apply.sh`.
//!
//! `cargo run --release -p compliance-testkit --example gen-archive -- --tweets 700000 --archive archive.jsonl --tweets-results tweets-results.jsonl --users-results users-results.jsonl`
//!
//! The archive is [`Archive`]'s model: every Tweet a function of the seed
//! and its index, streamed through a `BufWriter` (memory does not grow with
//! it). The results files are its `tweets_results` and `users_results`,
//! made in memory: they grow with the events only (about 150 bytes each).
//! The same flags and seed write the same bytes, whatever the shape; the
//! Tweets of `--tweets K` are the first K of `--tweets N` when `--users` is
//! the same.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process;

use compliance_testkit::archive::{Archive, Style};

const USAGE: &str = "\
Writes a made-up archive and its compliance results.

Usage:
  gen-archive --tweets <n> --archive <file> [options]
  gen-archive (-h | --help)

Options:
  --shape <shape>           flattened (twarc2 flatten: one Tweet a line, then
                            one user a line), pages (twarc2 pages: data,
                            includes, meta) or csv (twarc-csv style)
                            [default: flattened].
  --tweets <n>              How many Tweets.
  --users <n>               How many users (authors) [default: tweets / 10,
                            at least 3].
  --seed <s>                What everything follows from [default: 1].
  --removed-per-mille <r>   Per thousand Tweets, how many have an event
                            other than scrub_geo [default: 100]; about 5 %
                            of Tweets (those with a place) get scrub_geo too.
  --users-removed-per-mille <r>
                            Per thousand users, how many have an event
                            [default: 10].
  --per-page <n>            Tweets per page, for --shape pages [default: 100].
  --compact                 Compact JSON (`,` and `:`, UTF-8) rather than
                            Python's json.dumps (`, `, `: `, \\uXXXX).
  --crlf                    Lines end in CRLF rather than LF.
  --archive <file>          Where the archive goes; - for stdout.
  --tweets-results <file>   Where the results of a tweets job go (JSON Lines).
  --users-results <file>    Where the results of a users job go (JSON Lines).
  -h, --help                Show this help.

A summary goes to stderr: bytes written, Tweets, users, result lines.
";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Flattened,
    Pages,
    Csv,
}

struct Args {
    shape: Shape,
    archive: Archive,
    per_page: u64,
    style: Style,
    out: String,
    tweets_results: Option<String>,
    users_results: Option<String>,
}

fn fail(message: &str) -> ! {
    eprintln!("gen-archive: {message}\n{USAGE}");
    process::exit(2);
}

fn number(flag: &str, value: &str) -> u64 {
    value.replace('_', "").parse().unwrap_or_else(|_| {
        fail(&format!(
            "{flag} must be a non-negative integer, not {value:?}"
        ))
    })
}

fn parse(mut args: impl Iterator<Item = String>) -> Args {
    let mut shape = Shape::Flattened;
    let (mut tweets, mut users, mut seed) = (None, None, 1);
    let (mut removed, mut users_removed, mut per_page) = (100, 10, 100);
    let mut style = Style::TWARC;
    let (mut out, mut tweets_results, mut users_results) = (None, None, None);
    while let Some(flag) = args.next() {
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (flag, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| fail(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                process::exit(0);
            }
            "--shape" => {
                shape = match value().as_str() {
                    "flattened" | "flat" | "jsonl" => Shape::Flattened,
                    "pages" => Shape::Pages,
                    "csv" => Shape::Csv,
                    other => fail(&format!(
                        "--shape is flattened, pages or csv, not {other:?}"
                    )),
                }
            }
            "--tweets" => tweets = Some(number("--tweets", &value())),
            "--users" => users = Some(number("--users", &value())),
            "--seed" => seed = number("--seed", &value()),
            "--removed-per-mille" => removed = number("--removed-per-mille", &value()),
            "--users-removed-per-mille" => {
                users_removed = number("--users-removed-per-mille", &value());
            }
            "--per-page" => per_page = number("--per-page", &value()),
            "--compact" => style.python = false,
            "--crlf" => style.crlf = true,
            "--archive" => out = Some(value()),
            "--tweets-results" => tweets_results = Some(value()),
            "--users-results" => users_results = Some(value()),
            other => fail(&format!("unknown argument {other:?}")),
        }
    }
    let tweets = tweets.unwrap_or_else(|| fail("--tweets is required"));
    if tweets == 0 || per_page == 0 || removed > 1000 || users_removed > 1000 {
        fail("--tweets and --per-page must be at least 1, a per mille at most 1000");
    }
    Args {
        shape,
        archive: Archive {
            seed,
            tweets,
            users: users.unwrap_or(tweets / 10).max(3),
            removed_per_mille: removed,
            users_removed_per_mille: users_removed,
        },
        per_page,
        style,
        out: out.unwrap_or_else(|| fail("--archive is required")),
        tweets_results,
        users_results,
    }
}

/// Counts what goes through, so that the summary can say how big it was.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Opens `path` (or stdout for `-`) behind a 1 MiB buffer.
fn create(path: &str) -> io::Result<Counting<BufWriter<Box<dyn Write>>>> {
    let raw: Box<dyn Write> = match path {
        "-" => Box::new(io::stdout().lock()),
        _ => Box::new(File::create(path)?),
    };
    Ok(Counting {
        inner: BufWriter::with_capacity(1 << 20, raw),
        bytes: 0,
    })
}

fn write_results(path: &str, bytes: &[u8]) -> io::Result<()> {
    let mut out = create(path)?;
    out.write_all(bytes)?;
    out.flush()
}

fn run(args: &Args) -> io::Result<()> {
    let a = args.archive;
    let mut out = create(&args.out)?;
    match args.shape {
        Shape::Flattened => a.write_flattened(&mut out, args.style, None)?,
        Shape::Pages => a.write_pages(&mut out, args.style, args.per_page, None)?,
        Shape::Csv => a.write_csv(&mut out, args.style.crlf, None)?,
    }
    out.flush()?;
    let mut events = [0; 2];
    for (slot, path, results) in [
        (
            0,
            &args.tweets_results,
            Archive::tweets_results as fn(&Archive) -> Vec<u8>,
        ),
        (1, &args.users_results, Archive::users_results),
    ] {
        if let Some(path) = path {
            let bytes = results(&a);
            events[slot] = bytes.iter().filter(|&&b| b == b'\n').count();
            write_results(path, &bytes)?;
        }
    }
    eprintln!(
        "gen-archive: {} bytes, {} Tweets, {} users; results: {} tweets events, {} users events",
        out.bytes, a.tweets, a.users, events[0], events[1]
    );
    Ok(())
}

fn main() {
    let args = parse(std::env::args().skip(1));
    if let Err(e) = run(&args) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            // A closed pipe (e.g. `| head`) is a normal way to stop.
            process::exit(0);
        }
        eprintln!("gen-archive: {e}");
        process::exit(1);
    }
}
