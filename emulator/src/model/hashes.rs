//! The integrity hashes Cloud Storage keeps for every object: a CRC32C and,
//! for objects that are not composite (all of ours), an MD5.
//!
//! Cloud Storage sends them in `x-goog-hash` as
//! `crc32c=<base64 of the big-endian CRC32C>,md5=<base64 of the MD5>`, and
//! uses the hex MD5, in quotes, as the `ETag` of a non-composite object.
//! They are computed while the bytes are written, so no file is read twice
//! or held in memory.

use std::io::{self, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use md5::{Digest, Md5};

/// The hashes of a whole object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hashes {
    crc32c: u32,
    md5: [u8; 16],
}

impl Hashes {
    /// The value of `x-goog-hash`.
    pub(crate) fn x_goog_hash(&self) -> String {
        format!(
            "crc32c={},md5={}",
            STANDARD.encode(self.crc32c.to_be_bytes()),
            STANDARD.encode(self.md5)
        )
    }

    /// The `ETag` of a non-composite object: the hex MD5 in quotes.
    pub(crate) fn etag(&self) -> String {
        let mut out = String::with_capacity(34);
        out.push('"');
        for b in self.md5 {
            out.push_str(&format!("{b:02x}"));
        }
        out.push('"');
        out
    }
}

/// Hashes bytes as they go by. Cloning it saves the state, so that a chunk
/// that fails half-way can be taken back.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hasher {
    crc32c: u32,
    md5: Md5,
}

impl Hasher {
    /// Adds bytes.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.crc32c = crc32c::crc32c_append(self.crc32c, bytes);
        self.md5.update(bytes);
    }

    /// The hashes of everything added so far.
    pub(crate) fn finish(&self) -> Hashes {
        Hashes {
            crc32c: self.crc32c,
            md5: self.md5.clone().finalize().into(),
        }
    }
}

/// A writer that hashes what it writes.
#[derive(Debug)]
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`, continuing from `hasher`'s state.
    pub(crate) fn new(inner: W, hasher: Hasher) -> HashingWriter<W> {
        HashingWriter { inner, hasher }
    }

    /// The state after everything written so far.
    pub(crate) fn hasher(&self) -> &Hasher {
        &self.hasher
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(bytes: &[u8]) -> Hashes {
        let mut h = Hasher::default();
        h.update(bytes);
        h.finish()
    }

    #[test]
    fn known_values() {
        // The empty object, as Cloud Storage reports it.
        let empty = of(b"");
        assert_eq!(
            empty.x_goog_hash(),
            "crc32c=AAAAAA==,md5=1B2M2Y8AsgTpgAmY7PhCfg=="
        );
        assert_eq!(empty.etag(), "\"d41d8cd98f00b204e9800998ecf8427e\"");
        // The CRC32C check value (RFC 3720) is 0xE3069283, sent big-endian.
        let digits = of(b"123456789");
        assert_eq!(digits.crc32c, 0xE306_9283);
        assert!(digits.x_goog_hash().starts_with("crc32c=4waSgw==,md5="));
        assert_eq!(digits.etag(), "\"25f9e794323b453885f5181f1b624d0b\"");
    }

    #[test]
    fn pieces_hash_like_the_whole() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut w = HashingWriter::new(Vec::new(), Hasher::default());
        for piece in data.chunks(977) {
            w.write_all(piece).expect("in memory");
        }
        assert_eq!(w.hasher().finish(), of(&data));
        // A saved state continues where it was.
        let mut saved = Hasher::default();
        saved.update(&data[..5000]);
        let mut resumed = HashingWriter::new(Vec::new(), saved.clone());
        resumed.write_all(&data[5000..]).expect("in memory");
        assert_eq!(resumed.hasher().finish(), of(&data));
    }
}
