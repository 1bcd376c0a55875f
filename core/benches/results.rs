//! Throughput of the results checker, the line check behind `download-results`.
//!
//! `cargo bench -p compliance-core --bench results`
//!
//! Builds 1 million event lines in memory, shaped as the API writes them
//! (flat objects of `id`, `action`, `created_at`, `redacted_at` on half of
//! them, and one of four reasons; about 130 bytes a line), and feeds them to
//! `results::ResultsChecker` in 256 KiB pieces, as `download-results` does,
//! with LF and with CRLF line ends: the check alone (JSON Lines), then the
//! check with each event written as a CSV row (`--format csv`). Prints the
//! median of several passes in GB/s (10^9 bytes of input per second) and in
//! million lines per second.

use std::hint::black_box;
use std::time::Instant;

use compliance_core::results::{CsvWriter, ResultsChecker, Summary};

const LINES: usize = 1_000_000;
const PIECE: usize = 256 * 1024;
const ITERATIONS: usize = 9;

fn body(eol: &[u8]) -> Vec<u8> {
    let reasons = ["deleted", "suspended", "protected", "deactivated"];
    let mut body = Vec::with_capacity(LINES * 140);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..LINES {
        // xorshift64: cheap, spread-out values.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let id = 1_000_000_000_000_000_000 + x % 9_000_000_000_000_000_000;
        let redacted = match i % 2 {
            0 => r#","redacted_at":"2023-04-04T20:57:31.985Z""#,
            _ => "",
        };
        let reason = reasons[(x >> 60) as usize % reasons.len()];
        body.extend_from_slice(
            format!(
                r#"{{"id":"{id}","action":"delete","created_at":"2021-10-04T19:11:41.540Z"{redacted},"reason":"{reason}"}}"#
            )
            .as_bytes(),
        );
        body.extend_from_slice(eol);
    }
    body
}

fn check(body: &[u8]) -> Summary {
    let mut checker = ResultsChecker::new();
    for piece in body.chunks(PIECE) {
        if let Err(e) = checker.feed(black_box(piece)) {
            panic!("the generated body did not pass: {e}");
        }
    }
    match checker.finish() {
        Ok(summary) => summary,
        Err(e) => panic!("the generated body did not pass: {e}"),
    }
}

/// The check, each event written as a CSV row to memory (reused).
fn check_csv(body: &[u8], csv: &mut Vec<u8>) -> Summary {
    csv.clear();
    let mut checker = ResultsChecker::new();
    let mut writer = CsvWriter::new(csv);
    for piece in body.chunks(PIECE) {
        if let Err(e) = checker.feed_into(black_box(piece), &mut writer) {
            panic!("the generated body did not pass: {e}");
        }
        if let Err(e) = writer.write_rows() {
            panic!("writing to memory failed: {e}");
        }
    }
    let summary = match checker.finish_into(&mut writer) {
        Ok(summary) => summary,
        Err(e) => panic!("the generated body did not pass: {e}"),
    };
    match writer.finish() {
        Ok(rows) => assert_eq!(rows, summary.events),
        Err(e) => panic!("writing to memory failed: {e}"),
    }
    summary
}

/// Prints the median of `ITERATIONS` timed passes of `pass` over `body`.
fn report(label: &str, body: &[u8], mut pass: impl FnMut() -> Summary) {
    // One untimed pass warms the caches and checks the counts.
    assert_eq!(pass().events, LINES as u64);
    let mut secs: Vec<f64> = (0..ITERATIONS)
        .map(|_| {
            let start = Instant::now();
            black_box(pass());
            start.elapsed().as_secs_f64()
        })
        .collect();
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    println!(
        "{label:<26} {:>6.2} GB/s  {:>5.1} M lines/s  (median of {ITERATIONS}; {:.0} MB, {LINES} lines)",
        body.len() as f64 / median / 1e9,
        LINES as f64 / median / 1e6,
        body.len() as f64 / 1e6,
    );
}

fn main() {
    for (name, eol) in [("LF", &b"\n"[..]), ("CRLF", b"\r\n")] {
        let body = body(eol);
        report(&format!("results check, {name}"), &body, || {
            check(black_box(&body))
        });
        let mut csv = Vec::with_capacity(body.len());
        report(&format!("results check + CSV, {name}"), &body, || {
            check_csv(black_box(&body), &mut csv)
        });
    }
}
