//! The fast path: the longest run of lines at the start of some bytes that
//! are already normal, found 64 bytes at a time with SIMD compares and bit
//! masks. The only code in [`crate::ids`] with `unsafe`; tested against the
//! [reference](super::reference) in `tests` below and in the scanner's tests.

use super::grammar::MAX_ID_DIGITS;

/// What [`normal_prefix`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Prefix {
    /// The prefix's length in bytes: it ends just after a `\n`, or is 0.
    pub(crate) len: usize,
    /// How many lines it holds, each an ID.
    pub(crate) lines: u64,
    /// How many of them end in `\r\n`.
    pub(crate) crlf: u64,
}

/// The longest prefix of `bytes` made of whole lines that are an ID and
/// nothing else (1 to 19 digits, then `\n` or, with `crlf`, `\r\n`), give or
/// take the last 64 bytes: the scanner's slow path takes the rest.
///
/// Most ID files are already normal, or normal but for CRLF line ends, so
/// this is the hot loop. It classifies 64 bytes at a time into bit masks of
/// line ends and judges all the lines of a block at once with bit operations;
/// only a block that fails is walked newline by newline, to find where the
/// prefix ends.
///
/// With `crlf` false, a `\r` ends the prefix: looking for one costs a little,
/// so files with LF line ends, the most common, are scanned without it.
pub(crate) fn normal_prefix(bytes: &[u8], crlf: bool) -> Prefix {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has just been found to support these features.
        return unsafe {
            match crlf {
                true => normal_prefix_avx2::<true>(bytes),
                false => normal_prefix_avx2::<false>(bytes),
            }
        };
    }
    match crlf {
        true => prefix_with(bytes, line_end_masks::<true>),
        false => prefix_with(bytes, line_end_masks::<false>),
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("popcnt")
        && std::arch::is_x86_feature_detected!("lzcnt")
        && std::arch::is_x86_feature_detected!("bmi1")
}

/// [`normal_prefix`] compiled for AVX2, with its 32-byte masks, and the
/// bit-counting instructions that come with such CPUs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt,lzcnt,bmi1")]
fn normal_prefix_avx2<const CRLF: bool>(bytes: &[u8]) -> Prefix {
    // The closure inherits this function's target features, so the mask inlines.
    prefix_with(bytes, |block| line_end_masks_avx2::<CRLF>(block))
}

const BLOCK: usize = 64;

#[inline(always)]
fn prefix_with(bytes: &[u8], masks: impl Fn(&[u8; BLOCK]) -> Option<(u64, u64)>) -> Prefix {
    let mut prefix = Prefix::default();
    for (b, block) in bytes.chunks_exact(BLOCK).enumerate() {
        let base = b * BLOCK;
        let Ok(block) = <&[u8; BLOCK]>::try_from(block) else {
            return prefix; // chunks_exact gives whole blocks
        };
        // Something other than digits and line ends in this block: the slow
        // path takes it from the start of its line.
        let Some((mut newlines, returns)) = masks(block) else {
            return prefix;
        };
        if block_is_normal(newlines, returns, base - prefix.len) {
            prefix.lines += u64::from(newlines.count_ones());
            prefix.crlf += u64::from(returns.count_ones());
            prefix.len = base + BLOCK - newlines.leading_zeros() as usize;
            continue;
        }
        if returns != 0 {
            return prefix; // the walk below knows only `\n`
        }
        while newlines != 0 {
            let at = base + newlines.trailing_zeros() as usize;
            let len = at - prefix.len;
            if len == 0 || len > MAX_ID_DIGITS {
                return prefix;
            }
            prefix.lines += 1;
            prefix.len = at + 1;
            newlines &= newlines - 1;
        }
        return prefix;
    }
    prefix
}

/// Whether a block of digits and line ends, with `newlines` and `returns`
/// (bit `i`: byte `i` is `\n`, or `\r`), holds only lines that are an ID
/// and nothing else, given `carried` digits of its first line before it;
/// its last line may go on into the next block.
#[inline(always)]
fn block_is_normal(newlines: u64, returns: u64, carried: usize) -> bool {
    let ends = newlines | returns;
    // An empty line: a line end where a line starts.
    let starts = (newlines << 1) | u64::from(carried == 0);
    // A run of 20 or more digits (MAX_ID_DIGITS + 1): `runs_k` has bit `i`
    // set where bytes `i..i + k` are all digits. A block without line ends
    // is one such run.
    let digits = !ends;
    let runs_2 = digits & (digits >> 1);
    let runs_4 = runs_2 & (runs_2 >> 2);
    let runs_8 = runs_4 & (runs_4 >> 4);
    let runs_16 = runs_8 & (runs_8 >> 8);
    let runs_20 = runs_16 & (runs_4 >> 16);
    // Every `\r` is followed by `\n` in the same block.
    returns & !(newlines >> 1) == 0
        && ends & starts == 0
        && runs_20 == 0
        && carried + ends.trailing_zeros() as usize <= MAX_ID_DIGITS
}

/// The bit masks of the `\n` and (with `CRLF`) the `\r` in a block, or `None`
/// if it holds a byte that is neither a digit nor one of those.
#[cfg(target_arch = "x86_64")]
fn line_end_masks<const CRLF: bool>(block: &[u8; BLOCK]) -> Option<(u64, u64)> {
    use std::arch::x86_64::*;
    let (mut newlines, mut returns) = (0u64, 0u64);
    for lane in 0..BLOCK / 16 {
        // SAFETY: SSE2 is part of every x86_64 CPU; the unaligned load reads
        // 16 bytes at offset 16 * lane < 64, inside the block.
        let (good, nl, cr) = unsafe {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * lane).cast());
            let nl = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
            let cr = match CRLF {
                true => _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\r' as i8)),
                false => _mm_setzero_si128(),
            };
            let d = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
            // A digit is a byte whose distance above '0' is at most 9.
            let digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
            (
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(nl, cr), digit)),
                _mm_movemask_epi8(nl),
                _mm_movemask_epi8(cr),
            )
        };
        if good != 0xFFFF {
            return None;
        }
        newlines |= u64::from(nl as u16) << (16 * lane);
        returns |= u64::from(cr as u16) << (16 * lane);
    }
    Some((newlines, returns))
}

/// [`line_end_masks`] with AVX2: two 32-byte lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn line_end_masks_avx2<const CRLF: bool>(block: &[u8; BLOCK]) -> Option<(u64, u64)> {
    use std::arch::x86_64::*;
    let (mut newlines, mut returns) = (0u64, 0u64);
    for lane in 0..BLOCK / 32 {
        // SAFETY: the unaligned load reads 32 bytes at offset 32 * lane < 64,
        // inside the block.
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * lane).cast()) };
        let nl = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\n' as i8));
        let cr = match CRLF {
            true => _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\r' as i8)),
            false => _mm256_setzero_si256(),
        };
        let d = _mm256_sub_epi8(v, _mm256_set1_epi8(b'0' as i8));
        let digit = _mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(9)), d);
        let good = _mm256_or_si256(_mm256_or_si256(nl, cr), digit);
        if _mm256_movemask_epi8(good) != -1 {
            return None;
        }
        newlines |= u64::from(_mm256_movemask_epi8(nl) as u32) << (32 * lane);
        returns |= u64::from(_mm256_movemask_epi8(cr) as u32) << (32 * lane);
    }
    Some((newlines, returns))
}

/// The bit masks of the `\n` and (with `CRLF`) the `\r` in a block, or `None`
/// if it holds a byte that is neither a digit nor one of those: byte by
/// byte, for CPUs without SIMD here (and as a third variant in tests).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn line_end_masks_scalar<const CRLF: bool>(block: &[u8; BLOCK]) -> Option<(u64, u64)> {
    let (mut newlines, mut returns) = (0u64, 0u64);
    let mut other = false;
    for (k, &byte) in block.iter().enumerate() {
        newlines |= u64::from(byte == b'\n') << k;
        returns |= u64::from(CRLF && byte == b'\r') << k;
        other |= !(matches!(byte, b'0'..=b'9' | b'\n') || CRLF && byte == b'\r');
    }
    (!other).then_some((newlines, returns))
}

#[cfg(not(target_arch = "x86_64"))]
fn line_end_masks<const CRLF: bool>(block: &[u8; BLOCK]) -> Option<(u64, u64)> {
    line_end_masks_scalar::<CRLF>(block)
}

/// Every variant of [`normal_prefix`] this CPU can run, by name: the
/// portable masks, SSE2 and AVX2 (where there is such a CPU).
#[cfg(test)]
pub(crate) fn every_variant(bytes: &[u8], crlf: bool) -> Vec<(&'static str, Prefix)> {
    let mut all = vec![(
        "scalar",
        match crlf {
            true => prefix_with(bytes, line_end_masks_scalar::<true>),
            false => prefix_with(bytes, line_end_masks_scalar::<false>),
        },
    )];
    #[cfg(target_arch = "x86_64")]
    {
        all.push((
            "sse2",
            match crlf {
                true => prefix_with(bytes, line_end_masks::<true>),
                false => prefix_with(bytes, line_end_masks::<false>),
            },
        ));
        if has_avx2() {
            // SAFETY: the CPU has just been found to support these features.
            let avx2 = unsafe {
                match crlf {
                    true => normal_prefix_avx2::<true>(bytes),
                    false => normal_prefix_avx2::<false>(bytes),
                }
            };
            all.push(("avx2", avx2));
        }
    }
    all.push(("dispatch", normal_prefix(bytes, crlf)));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::reference::reference;
    use crate::ids::testing::{edge_case_files, id_files};
    use proptest::prelude::*;

    /// Every variant finds a prefix the reference calls normal (but for the
    /// `\r` of CRLF ends, which it counts), and all find the same one.
    fn agrees_with_the_reference(bytes: &[u8]) {
        for crlf in [false, true] {
            let variants = every_variant(bytes, crlf);
            let (_, first) = variants[0];
            for (name, prefix) in &variants {
                assert_eq!(
                    *prefix, first,
                    "{name} and scalar differ (crlf {crlf}) on {bytes:?}"
                );
            }
            let got = &bytes[..first.len];
            assert!(first.len == 0 || got.ends_with(b"\n"), "{bytes:?}");
            let r = reference(got);
            let without_cr: Vec<u8> = got.iter().copied().filter(|&b| b != b'\r').collect();
            assert!(r.bad.is_empty() && r.skipped == 0, "crlf {crlf}: {got:?}");
            assert_eq!(r.ids, first.lines, "crlf {crlf}: {got:?}");
            assert_eq!(r.normalised, without_cr, "crlf {crlf}: {got:?}");
            assert_eq!(first.crlf as usize, got.len() - without_cr.len());
            if !crlf {
                assert_eq!(first.crlf, 0);
            }
        }
    }

    #[test]
    fn every_variant_agrees_on_the_edge_cases() {
        for file in edge_case_files() {
            agrees_with_the_reference(&file);
            // The same file after a normal run long enough for whole blocks.
            let mut shifted = b"1234567\n".repeat(17);
            shifted.extend(&file);
            agrees_with_the_reference(&shifted);
        }
    }

    proptest! {
        #[test]
        fn every_variant_agrees_with_the_reference(file in id_files()) {
            agrees_with_the_reference(&file);
        }

        #[test]
        fn every_variant_agrees_on_any_bytes(bytes in prop::collection::vec(
            prop::sample::select(&b"0123456789\n\r \x00"[..]), 0..400)) {
            agrees_with_the_reference(&bytes);
        }
    }

    #[test]
    fn a_normal_file_is_taken_to_its_last_block() {
        for eol in ["\n", "\r\n"] {
            let mut input = Vec::new();
            for i in 0..5_000u64 {
                input.extend(format!("{}{eol}", i * 104_729).bytes());
            }
            let crlf = eol == "\r\n";
            let prefix = normal_prefix(&input, true);
            // LF: whole blocks, the tail is the slow path's. CRLF: up to a
            // block whose last byte is a `\r`, still a long way.
            assert!(prefix.len + BLOCK + MAX_ID_DIGITS > input.len() || crlf);
            assert!(prefix.lines > 1000 || crlf && prefix.lines > 0);
            match crlf {
                true => assert_eq!(normal_prefix(&input, false).lines, 0),
                false => assert_eq!(prefix, normal_prefix(&input, false)),
            }
            input[prefix.len / 2] = b' ';
            let prefix_then = normal_prefix(&input, true);
            assert!(prefix_then.len < prefix.len / 2);
        }
    }

    #[test]
    fn the_block_test_agrees_with_a_walk_over_the_lines() {
        // Every block of digits and line ends, judged byte by byte.
        fn walk(newlines: u64, returns: u64, carried: usize) -> bool {
            let mut run = carried;
            for i in 0..BLOCK {
                let (nl, cr) = (newlines >> i & 1 == 1, returns >> i & 1 == 1);
                if cr && (i == BLOCK - 1 || newlines >> (i + 1) & 1 == 0) {
                    return false; // a `\r` not followed by `\n`
                }
                if nl && i > 0 && returns >> (i - 1) & 1 == 1 {
                    continue; // the end of a CRLF line, judged at its `\r`
                }
                if nl || cr {
                    if run == 0 {
                        return false;
                    }
                    run = 0;
                } else {
                    run += 1;
                    if run > MAX_ID_DIGITS {
                        return false;
                    }
                }
            }
            true
        }
        let mut next = crate::xorshift::xorshift(0x9E37_79B9_7F4A_7C15);
        for i in 0..300_000 {
            let x = next();
            // Line ends about every 20 bytes (as in real files), or sparse, or dense.
            let ends = match i % 3 {
                0 => {
                    (0..BLOCK)
                        .step_by(20)
                        .fold(0u64, |m, k| m | 1 << ((k + (x as usize % 20)) % BLOCK))
                        ^ (x & x >> 7 & x >> 13)
                }
                1 => x & x >> 9 & x >> 21,
                _ => x,
            };
            // Some line ends are CRLF: a `\r` where a `\n` follows, or now and
            // then one alone, or one before another `\r`.
            let y = x.rotate_left(29);
            let returns = match i % 5 {
                0 => 0,
                1 => (ends >> 1) & y,
                2 => (ends >> 1) & y | (y & y >> 11 & y >> 23),
                _ => (ends >> 1) & !ends,
            };
            let newlines = ends & !returns;
            let carried = (x >> 59) as usize % (MAX_ID_DIGITS + 1);
            assert_eq!(
                block_is_normal(newlines, returns, carried),
                walk(newlines, returns, carried),
                "{newlines:064b} {returns:064b} after {carried}"
            );
        }
    }
}
