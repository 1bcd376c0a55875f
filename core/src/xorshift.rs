//! A tiny, seeded random number generator for the tests that compare a fast
//! path with its reference on many made-up inputs: the same seed gives the
//! same inputs, so a failure can be run again.

/// Marsaglia's xorshift64: each call gives the next of a fixed sequence
/// that starts from `seed` (a seed of 0 gives only 0s).
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}
