//! Writes N distinct, tweet-like 19-digit IDs to stdout, one per line.
//!
//! `cargo run --release -p compliance-emulator --example gen-ids -- 20000000 > ids.txt`
//!
//! IDs are `10^18 + f(i)` for a bijection `f` on 59-bit numbers, so they are
//! distinct without remembering them, spread out (not sorted), and their
//! snowflake timestamps fall in 2018-2022.

use std::io::{self, Write};
use std::process;

use serde::Deserialize;

const USAGE: &str = "
Writes N distinct tweet-like IDs to stdout, one per line.

Usage:
  gen-ids <n> [--seed S]
  gen-ids (-h | --help)

Options:
  --seed S    Changes which IDs come out [default: 1].
  -h, --help  Show this help.
";

#[derive(Deserialize)]
struct Args {
    arg_n: String,
    flag_seed: String,
}

const BITS: u32 = 59;
const MASK: u64 = (1 << BITS) - 1;

/// A bijection on 59-bit numbers: odd multiplications and xor-shifts are
/// each invertible modulo 2^59.
fn permute(mut x: u64) -> u64 {
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) & MASK;
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9) & MASK;
    x ^= x >> 32;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB) & MASK;
    x ^ (x >> 29)
}

fn number(name: &str, s: &str) -> u64 {
    s.replace('_', "").parse().unwrap_or_else(|_| {
        eprintln!("gen-ids: {name} must be a non-negative integer, not {s:?}");
        process::exit(2);
    })
}

fn main() {
    let args: Args = docopt::Docopt::new(USAGE)
        .and_then(|d| d.deserialize())
        .unwrap_or_else(|e| {
            if e.fatal() {
                eprintln!("{e}");
                process::exit(2);
            }
            println!("{e}");
            process::exit(0);
        });
    let n = number("<n>", &args.arg_n);
    if n > MASK {
        eprintln!("gen-ids: at most {MASK} IDs");
        process::exit(2);
    }
    let offset = permute(number("--seed", &args.flag_seed)) & MASK;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut buf = Vec::with_capacity(1 << 20);
    for i in 0..n {
        let id = 1_000_000_000_000_000_000 + permute(i.wrapping_add(offset) & MASK);
        let mut digits = [b'\n'; 20];
        let mut v = id;
        for slot in digits[..19].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        buf.extend_from_slice(&digits);
        if buf.len() >= (1 << 20) - 20 {
            if out.write_all(&buf).is_err() {
                // A closed pipe (e.g. `| head`) is a normal way to stop.
                process::exit(0);
            }
            buf.clear();
        }
    }
    if out.write_all(&buf).and_then(|()| out.flush()).is_err() {
        process::exit(0);
    }
}
