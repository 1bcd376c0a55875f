//! Property tests: the ID checker agrees with its reference on arbitrary
//! bytes and on files made of IDs and the noise it forgives, and every
//! accepted ID file round-trips.

use std::io::Write as _;

use proptest::prelude::*;

use super::reference::reference;
use super::scanner::Scanner;
use super::{IdFile, IdStats};

/// Scans `bytes` fed in pieces of `piece` bytes: the stats or the error, and
/// the normalised output.
fn normalise(bytes: &[u8], piece: usize) -> (Result<IdStats, String>, Vec<u8>) {
    let mut scanner = Scanner::new();
    let mut out = Vec::new();
    for chunk in bytes.chunks(piece.max(1)) {
        scanner.feed(chunk, Some(&mut out));
    }
    let result = scanner
        .finish("f", Some(&mut out))
        .map_err(|e| e.to_string());
    (result, out)
}

/// The scanner in pieces says what the reference says, and so does the full
/// check of the same bytes in a file.
fn agrees_with_the_reference(bytes: &[u8], piece: usize) -> Result<(), TestCaseError> {
    let r = reference(bytes);
    let (result, out) = normalise(bytes, piece);
    prop_assert!(out == r.normalised);
    match result {
        Ok(stats) => {
            prop_assert!(r.passes());
            prop_assert_eq!((stats.ids, stats.skipped), (r.ids, r.skipped));
            prop_assert_eq!(stats.normalised_bytes, r.normalised.len() as u64);
            prop_assert_eq!(stats.bytes, bytes.len() as u64);
            prop_assert_eq!(stats.normal, r.is_normal(bytes));
        }
        Err(msg) => {
            prop_assert!(!r.passes());
            match r.bad.first() {
                Some((line, _)) => {
                    prop_assert!(msg.contains(&format!(": line {line} ")), "{}", msg)
                }
                None => prop_assert!(msg.contains("no ID found"), "{}", msg),
            }
        }
    }
    let mut file =
        tempfile::NamedTempFile::new().map_err(|e| TestCaseError::fail(e.to_string()))?;
    file.write_all(bytes)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let checked = IdFile::check(file.path(), &crate::report::Reporter::silent());
    prop_assert_eq!(checked.is_ok(), r.passes());
    if let Ok(ids) = checked {
        prop_assert_eq!(ids.stats().normal, r.is_normal(bytes));
        prop_assert_eq!(ids.stats().normalised_bytes, r.normalised.len() as u64);
    }
    Ok(())
}

/// Lines that are IDs, blank, or IDs with the noise the checker forgives.
fn id_line() -> impl Strategy<Value = (String, Option<String>)> {
    prop_oneof![
        "[0-9]{1,19}".prop_map(|id| (id.clone(), Some(id))),
        ("[ \t]{0,3}", "[0-9]{1,19}", "[ \t]{0,3}", prop::bool::ANY).prop_map(|(a, id, b, cr)| {
            (
                format!("{a}{id}{b}{}", if cr { "\r" } else { "" }),
                Some(id),
            )
        }),
        "[ \t]{0,4}\r?".prop_map(|blank| (blank, None)),
    ]
}

proptest! {
    #[test]
    fn the_id_checker_agrees_with_the_reference_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600), piece in 1usize..70) {
        agrees_with_the_reference(&bytes, piece)?;
        let (whole, out) = normalise(&bytes, bytes.len().max(1));
        if whole.is_ok() {
            // What was accepted normalises to itself, and is normal.
            let (again, same) = normalise(&out, piece);
            prop_assert!(again.is_ok_and(|s| s.normal));
            prop_assert_eq!(same, out.clone());
            prop_assert!(out.iter().all(|b| b.is_ascii_digit() || *b == b'\n'));
        }
    }

    #[test]
    fn the_id_checker_agrees_with_the_reference_on_id_like_bytes(bytes in prop::collection::vec(prop::sample::select(&b"0123456789\n\r \t\xEF\xBB\xBFx"[..]), 0..600), piece in 1usize..70) {
        agrees_with_the_reference(&bytes, piece)?;
    }

    #[test]
    fn accepted_files_round_trip(lines in prop::collection::vec(id_line(), 1..40), bom in any::<bool>(), last_newline in any::<bool>(), piece in 1usize..50) {
        let mut file = if bom { "\u{feff}".to_string() } else { String::new() };
        file.push_str(&lines.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join("\n"));
        if last_newline {
            file.push('\n');
        }
        let ids: String = lines.iter().filter_map(|(_, id)| id.as_ref()).map(|id| format!("{id}\n")).collect();
        let (result, out) = normalise(file.as_bytes(), piece);
        if ids.is_empty() {
            prop_assert!(result.is_err());
        } else {
            prop_assert!(result.is_ok());
            prop_assert_eq!(out, ids.into_bytes());
        }
        agrees_with_the_reference(file.as_bytes(), piece)?;
    }

}
