//! HMAC-SHA256 signatures for the signed URLs, with a key drawn at random
//! for each emulator so that URLs from one run never work on another.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC with SHA-256.
type HmacSha256 = Hmac<Sha256>;

/// Signs and checks messages with a per-emulator secret key.
pub(crate) struct Signer {
    key: [u8; 32],
    /// Counter mixed into `random_u64` so that successive draws differ.
    draws: AtomicU64,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.write_str("Signer { .. }")
    }
}

impl Signer {
    /// A signer with a fresh random key.
    pub(crate) fn random() -> Signer {
        let mut key = [0u8; 32];
        for (i, chunk) in key.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&entropy(i as u64).to_le_bytes());
        }
        Signer {
            key,
            draws: AtomicU64::new(0),
        }
    }

    /// A random number, for opaque identifiers (upload session ids...).
    pub(crate) fn random_u64(&self) -> u64 {
        let n = self.draws.fetch_add(1, Ordering::SeqCst);
        // Keyed so that identifiers are unguessable without the key.
        let mac = self.mac(&[b"draw", &n.to_le_bytes()]);
        let mut b = [0u8; 8];
        b.copy_from_slice(&mac[..8]);
        u64::from_le_bytes(b)
    }

    /// The HMAC of the parts joined by newlines.
    fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                mac.update(b"\n");
            }
            mac.update(p);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// Lower-case hex HMAC of the parts joined by newlines.
    pub(crate) fn sign(&self, parts: &[&str]) -> String {
        let bytes: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
        hex(&self.mac(&bytes))
    }

    /// Checks a hex signature in constant time.
    pub(crate) fn verify(&self, parts: &[&str], signature: &str) -> bool {
        let want = self.sign(parts);
        let (a, b) = (want.as_bytes(), signature.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// 64 bits of entropy without an extra crate: std's `RandomState` is
/// seeded from the OS, and the time and process id vary between runs.
fn entropy(i: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(i);
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_differ_per_key() {
        let a = Signer::random();
        let b = Signer::random();
        let sig = a.sign(&["PUT", "/x"]);
        assert_eq!(sig.len(), 64);
        assert!(a.verify(&["PUT", "/x"], &sig));
        assert!(!a.verify(&["PUT", "/y"], &sig));
        assert!(!b.verify(&["PUT", "/x"], &sig));
        assert_ne!(a.random_u64(), a.random_u64());
    }
}
