//! The body of the `Oversized` fault: a valid JSON text of an exact
//! length, made up as it is read, so that even a huge one takes no memory.

use std::io::{self, Read};

/// Generates a valid JSON text of an exact length (at least 1 byte):
/// `{"data":[],"pad":"xx…"}` from 20 bytes on, `{}` padded with spaces
/// below, and `0` for a single byte.
#[derive(Debug)]
pub(crate) struct PaddedJson {
    len: u64,
    at: u64,
    prefix: &'static [u8],
    fill: u8,
    suffix: &'static [u8],
}

impl PaddedJson {
    /// A text of `len` bytes (0 counts as 1).
    pub(crate) fn new(len: u64) -> PaddedJson {
        let (prefix, fill, suffix): (&[u8], u8, &[u8]) = match len {
            0 | 1 => (b"0", b' ', b""),
            2..=19 => (b"{}", b' ', b""),
            _ => (br#"{"data":[],"pad":""#, b'x', br#""}"#),
        };
        PaddedJson {
            len: len.max(1),
            at: 0,
            prefix,
            fill,
            suffix,
        }
    }
}

impl Read for PaddedJson {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let fill_end = self.len - self.suffix.len() as u64;
        let mut n = 0;
        while n < buf.len() && self.at < self.len {
            let at = self.at;
            let piece = if at < self.prefix.len() as u64 {
                let rest = &self.prefix[at as usize..];
                let k = rest.len().min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&rest[..k]);
                k
            } else if at < fill_end {
                let k = usize::try_from(fill_end - at)
                    .unwrap_or(usize::MAX)
                    .min(buf.len() - n);
                buf[n..n + k].fill(self.fill);
                k
            } else {
                let rest = &self.suffix[(at - fill_end) as usize..];
                let k = rest.len().min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&rest[..k]);
                k
            };
            n += piece;
            self.at += piece as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_json_is_valid_and_exact() {
        for len in [0u64, 1, 2, 3, 19, 20, 21, 1000, 300_000] {
            let mut out = Vec::new();
            let mut src = PaddedJson::new(len);
            // Small reads cross the prefix, fill and suffix boundaries.
            let mut buf = [0u8; 7];
            loop {
                let n = src.read(&mut buf).expect("in memory");
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(out.len() as u64, len.max(1), "{len}");
            let v: serde_json::Value = serde_json::from_slice(&out)
                .unwrap_or_else(|e| panic!("{len}: {e}: {}", String::from_utf8_lossy(&out)));
            if len >= 20 {
                assert_eq!(v["data"], serde_json::json!([]));
            }
        }
    }
}
