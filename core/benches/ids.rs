//! Throughput of the ID-file scanner, the byte scan behind `upload-ids`.
//!
//! `cargo bench -p compliance-core --bench ids`
//!
//! Builds two ID files of 5 million 19-digit IDs in memory: one with LF line
//! ends (what `gen-ids` writes, the common case), one with CRLF and a blank
//! line every 1000 IDs (what the scanner normalises away). Over each it runs
//! the scanner in 256 KiB pieces, as `upload-ids` reads the file:
//!
//! - check: `ids::check_bytes`, the full pass before the upload;
//! - normalise: `ids::normalise_bytes`, the pass that produces the bytes
//!   sent, a piece at a time.
//!
//! Prints the median of several iterations in GB/s (10^9 bytes of input per
//! second). The target for the check is at least 1 GB/s.

use std::hint::black_box;
use std::time::Instant;

use compliance_core::ids::{check_bytes, normalise_bytes, IdStats};

const IDS: usize = 5_000_000;
const ITERATIONS: usize = 9;

/// `IDS` distinct-looking 19-digit IDs, each ended by `eol`, with a blank
/// line after every `blank_every` IDs (0: none).
fn id_file(eol: &[u8], blank_every: usize) -> Vec<u8> {
    let mut file =
        Vec::with_capacity(IDS * (19 + eol.len()) + IDS / blank_every.max(1) * eol.len());
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..IDS {
        // xorshift64: cheap, spread-out values; map them to 10^18..10^19-1.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let id = 1_000_000_000_000_000_000 + x % 9_000_000_000_000_000_000;
        file.extend_from_slice(id.to_string().as_bytes());
        file.extend_from_slice(eol);
        if blank_every > 0 && (i + 1) % blank_every == 0 {
            file.extend_from_slice(eol);
        }
    }
    file
}

/// One pass over `file`; with `normalise`, the normalised bytes are produced
/// (and dropped piece by piece).
fn scan(file: &[u8], normalise: bool) -> IdStats {
    let stats = match normalise {
        true => normalise_bytes("bench", black_box(file), |piece| {
            black_box(piece);
        }),
        false => check_bytes("bench", black_box(file)),
    };
    match stats {
        Ok(stats) => stats,
        Err(e) => panic!("the generated file did not pass: {e}"),
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn bench(label: &str, file: &[u8], normalise: bool) {
    // One untimed pass warms the caches and checks the counts.
    let stats = scan(file, normalise);
    assert_eq!(stats.ids, IDS as u64, "{label}: IDs counted");
    let rates: Vec<f64> = (0..ITERATIONS)
        .map(|_| {
            let start = Instant::now();
            black_box(scan(black_box(file), normalise));
            file.len() as f64 / start.elapsed().as_secs_f64() / 1e9
        })
        .collect();
    let (min, max) = rates
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    println!(
        "{label:<22} {:>6.2} GB/s  (median of {ITERATIONS}; {min:.2}..{max:.2}; {:.0} MB, {} IDs, {} blank)",
        median(rates),
        file.len() as f64 / 1e6,
        stats.ids,
        stats.skipped,
    );
}

fn main() {
    let lf = id_file(b"\n", 0);
    let crlf = id_file(b"\r\n", 1000);
    bench("check, LF", &lf, false);
    bench("normalise, LF", &lf, true);
    bench("check, CRLF+blank", &crlf, false);
    bench("normalise, CRLF+blank", &crlf, true);
}
