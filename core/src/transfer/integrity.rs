//! End-to-end integrity of a download: the hashes Cloud Storage sends.
//!
//! Cloud Storage answers a download (whole or by `Range`) with
//! `x-goog-hash: crc32c=<base64>,md5=<base64>`, the hashes of the whole
//! object; `md5` is missing for composite objects, and the API host's 2026
//! flow sends none. The bytes written are hashed as they go, across `Range`
//! resumes, and compared before the results file is renamed into place.
//!
//! Only one hash is checked, as `gcloud storage` does: CRC32C whenever the
//! object has one, MD5 only when it has none. CRC32C runs at memory speed
//! (the CPU's own instruction) and catches what a transfer breaks; MD5 runs
//! at about 600 MB/s on one core, which would set the pace of a fast link,
//! so when it is the only hash it runs on a thread of its own, fed copies
//! of the pieces.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use md5::Digest as _;
use ureq::http::HeaderMap;

/// The hashes an answer says the whole object has, in base64 as sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Hashes {
    crc32c: Option<String>,
    md5: Option<String>,
}

impl Hashes {
    /// Reads every `x-goog-hash` header: one may hold both hashes, or each
    /// its own header.
    pub(super) fn from_headers(headers: &HeaderMap) -> Hashes {
        let mut hashes = Hashes::default();
        for value in headers.get_all("x-goog-hash") {
            let Ok(value) = value.to_str() else { continue };
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some((name, hash)) if name.eq_ignore_ascii_case("crc32c") => {
                        hashes.crc32c = Some(hash.trim().to_string());
                    }
                    Some((name, hash)) if name.eq_ignore_ascii_case("md5") => {
                        hashes.md5 = Some(hash.trim().to_string());
                    }
                    _ => {}
                }
            }
        }
        hashes
    }

    fn is_empty(&self) -> bool {
        self.crc32c.is_none() && self.md5.is_none()
    }
}

/// Hashes the bytes of a download as they are written, and checks them
/// against what storage said at the end.
pub(super) struct Verifier {
    /// What the first answer said; `None` before it, or when it said nothing.
    expected: Option<Hashes>,
    crc32c: u32,
    md5: Option<Md5Thread>,
    bytes: u64,
}

/// Why a download's bytes cannot be trusted.
#[derive(Debug)]
pub(super) enum Mismatch {
    /// A later answer named other hashes than the first: the object changed.
    Changed,
    /// The bytes do not hash to what storage said.
    Corrupt {
        hash: &'static str,
        ours: String,
        theirs: String,
    },
}

impl Verifier {
    pub(super) fn new() -> Verifier {
        Verifier {
            expected: None,
            crc32c: 0,
            md5: None,
            bytes: 0,
        }
    }

    /// Takes the hashes of an answer. Those of the first answer before any
    /// byte are the ones checked; a later answer that names others means
    /// the object changed under the download.
    pub(super) fn expect(&mut self, hashes: Hashes) -> Result<(), Mismatch> {
        match &self.expected {
            None if self.bytes == 0 => {
                if hashes.crc32c.is_none() && hashes.md5.is_some() {
                    self.md5 = Some(Md5Thread::start());
                }
                self.expected = Some(hashes);
                Ok(())
            }
            Some(first) if !hashes.is_empty() && *first != hashes => Err(Mismatch::Changed),
            _ => Ok(()),
        }
    }

    /// Hashes the next bytes written.
    pub(super) fn update(&mut self, bytes: &[u8]) {
        let Some(expected) = &self.expected else {
            return;
        };
        if expected.crc32c.is_some() {
            self.crc32c = crc32c::crc32c_append(self.crc32c, bytes);
        }
        if let Some(md5) = &mut self.md5 {
            md5.update(bytes);
        }
        self.bytes += bytes.len() as u64;
    }

    /// Compares the hash of every byte written with what storage said:
    /// CRC32C when it was sent, else MD5. Nothing to compare (no hash was
    /// sent) is a pass.
    pub(super) fn verify(self) -> Result<(), Mismatch> {
        let Some(expected) = self.expected else {
            return Ok(());
        };
        if let Some(theirs) = expected.crc32c {
            let ours = STANDARD.encode(self.crc32c.to_be_bytes());
            if ours != theirs {
                return Err(Mismatch::Corrupt {
                    hash: "crc32c",
                    ours,
                    theirs,
                });
            }
        }
        if let (Some(theirs), Some(md5)) = (expected.md5, self.md5) {
            let ours = match md5.finish() {
                Some(digest) => STANDARD.encode(digest),
                None => "(not computed)".to_string(),
            };
            if ours != theirs {
                return Err(Mismatch::Corrupt {
                    hash: "md5",
                    ours,
                    theirs,
                });
            }
        }
        Ok(())
    }
}

/// MD5 on a thread of its own, fed copies of the pieces through a short
/// queue; the copies come back to be used again.
struct Md5Thread {
    pieces: Option<SyncSender<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<[u8; 16]>>,
}

impl Md5Thread {
    fn start() -> Md5Thread {
        let (pieces, queue) = mpsc::sync_channel::<Vec<u8>>(8);
        let (give_back, spare) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut md5 = md5::Md5::new();
            for piece in queue {
                md5.update(&piece);
                let _ = give_back.send(piece);
            }
            md5.finalize().into()
        });
        Md5Thread {
            pieces: Some(pieces),
            spare,
            thread: Some(thread),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        let mut piece = self.spare.try_recv().unwrap_or_default();
        piece.clear();
        piece.extend_from_slice(bytes);
        if let Some(pieces) = &self.pieces {
            // A thread that died is found out in `finish`.
            let _ = pieces.send(piece);
        }
    }

    /// The digest of every piece; `None` if the thread died.
    fn finish(mut self) -> Option<[u8; 16]> {
        self.pieces = None; // the thread sees the queue end
        self.thread.take()?.join().ok()
    }
}

impl Drop for Md5Thread {
    fn drop(&mut self) {
        self.pieces = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("x-goog-hash", HeaderValue::from_str(v).unwrap());
        }
        map
    }

    // "The quick brown fox jumps over the lazy dog": CRC32C 0x22620404,
    // MD5 9e107d9d372bb6826bd81d3542a419d6.
    const FOX: &[u8] = b"The quick brown fox jumps over the lazy dog";
    const FOX_CRC: &str = "ImIEBA==";
    const FOX_MD5: &str = "nhB9nTcrtoJr2B01QqQZ1g==";

    #[test]
    fn reads_one_header_or_two() {
        let both = Hashes::from_headers(&headers(&[&format!("crc32c={FOX_CRC},md5={FOX_MD5}")]));
        let apart = Hashes::from_headers(&headers(&[
            &format!("crc32c={FOX_CRC}"),
            &format!("md5={FOX_MD5}"),
        ]));
        assert_eq!(both, apart);
        assert_eq!(both.crc32c.as_deref(), Some(FOX_CRC));
        assert!(Hashes::from_headers(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn passes_the_right_bytes_in_any_pieces() {
        for piece in [1, 5, 64] {
            let mut v = Verifier::new();
            v.expect(Hashes::from_headers(&headers(&[&format!(
                "crc32c={FOX_CRC},md5={FOX_MD5}"
            )])))
            .unwrap();
            for chunk in FOX.chunks(piece) {
                v.update(chunk);
            }
            v.verify().unwrap();
        }
    }

    #[test]
    fn names_the_hash_that_differs() {
        for (header, hash) in [
            (format!("crc32c={FOX_CRC},md5={FOX_MD5}"), "crc32c"),
            (format!("md5={FOX_MD5}"), "md5"),
        ] {
            let mut v = Verifier::new();
            v.expect(Hashes::from_headers(&headers(&[&header])))
                .unwrap();
            v.update(b"The quick brown fox jumps over the lazy cog");
            match v.verify() {
                Err(Mismatch::Corrupt { hash: h, .. }) => assert_eq!(h, hash),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn crc32c_is_checked_in_place_of_md5_when_both_are_sent() {
        let wrong_md5 = "AAAAAAAAAAAAAAAAAAAAAA==";
        let mut v = Verifier::new();
        v.expect(Hashes::from_headers(&headers(&[&format!(
            "crc32c={FOX_CRC},md5={wrong_md5}"
        )])))
        .unwrap();
        assert!(v.md5.is_none(), "no MD5 thread beside a CRC32C");
        v.update(FOX);
        v.verify().unwrap();
    }

    #[test]
    fn no_hash_is_a_pass_and_other_hashes_later_a_change() {
        let mut v = Verifier::new();
        v.expect(Hashes::default()).unwrap();
        v.update(b"anything");
        v.verify().unwrap();

        let mut v = Verifier::new();
        v.expect(Hashes::from_headers(&headers(&[&format!(
            "crc32c={FOX_CRC}"
        )])))
        .unwrap();
        v.update(b"The quick");
        v.expect(Hashes::default()).unwrap();
        assert!(matches!(
            v.expect(Hashes::from_headers(&headers(&["crc32c=AAAAAA=="]))),
            Err(Mismatch::Changed)
        ));
    }
}
