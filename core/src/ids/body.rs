//! The body of an upload: exactly the normalised bytes of a checked ID file,
//! checked again as they are read.

use std::fmt;
use std::io::{self, Read};

use super::check::IdFile;
use super::scanner::Scanner;
use super::READ_BUFFER;
use crate::error::{Error, ErrorKind, Result};

/// A reader of the bytes an upload sends: the normalised form of a checked
/// [`IdFile`], exactly `stats.normalised_bytes` of them, read afresh from the
/// file for each attempt.
///
/// A file the check found already normal (every line an ID and its `\n`,
/// nothing else) is sent as it is; any other is normalised as it is read.
/// Either way every line is checked again as it goes, and the file must end
/// where it ended at its check. If it changed (a bad line, a line no longer
/// normal, shorter, longer), the read fails with an error saying so, before
/// the bytes that would complete the body are handed out: the upload stops,
/// incomplete, rather than send what was never checked. The reader never
/// ends early and never gives more than the checked length.
pub(crate) struct UploadBody<'a> {
    ids: &'a IdFile,
    scanner: Scanner,
    verbatim: bool,
    /// Bytes of the file read so far.
    at: u64,
    /// Bytes handed out so far.
    sent: u64,
    /// The file's end was reached and checked.
    ended: bool,
    input: Vec<u8>,
    output: Vec<u8>,
    pos: usize,
    /// The file's own failure, once a read failed: it could not be read
    /// ([`Io`](ErrorKind::Io)), or it changed since its check
    /// ([`Integrity`](ErrorKind::Integrity)).
    failure: Option<(ErrorKind, String)>,
}

/// The file changed since its check: what [`UploadBody::changed`] says, told
/// apart from a failure to read it.
#[derive(Debug)]
struct Changed(String);

impl fmt::Display for Changed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Changed {}

impl IdFile {
    /// A reader of the normalised bytes, from the start, for one upload attempt.
    pub(crate) fn body(&self) -> UploadBody<'_> {
        let verbatim = self.stats.normal;
        debug_assert!(!verbatim || self.stats.bytes == self.stats.normalised_bytes);
        UploadBody {
            ids: self,
            scanner: Scanner::new(),
            verbatim,
            at: 0,
            sent: 0,
            ended: false,
            input: if verbatim {
                Vec::new()
            } else {
                vec![0; READ_BUFFER]
            },
            output: Vec::new(),
            pos: 0,
            failure: None,
        }
    }
}

impl UploadBody<'_> {
    /// After a read failed: the file's own error (it could not be read, or it
    /// changed since its check), as opposed to one of the connection. Such
    /// an error is final: another attempt would meet the same file.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.failure {
            Some((kind, why)) => Err(Error::new(*kind, why.clone())),
            None => Ok(()),
        }
    }

    /// Whether every byte was handed out, and the file's end checked.
    pub(crate) fn is_complete(&self) -> bool {
        self.ended && self.sent == self.ids.stats.normalised_bytes
    }

    /// Whether the file goes out as it is, not normalised on the way.
    #[cfg(test)]
    pub(crate) fn is_verbatim(&self) -> bool {
        self.verbatim
    }

    fn changed(&self, how: impl fmt::Display) -> io::Error {
        let name = &self.ids.name;
        let why = format!("{name} changed while it was being sent: {how}; the upload was stopped");
        io::Error::new(io::ErrorKind::InvalidData, Changed(why))
    }

    /// Reads the next bytes of the file into `buf`, which is not empty and
    /// not longer than what is left of the checked length.
    fn read_file(ids: &IdFile, at: u64, buf: &mut [u8]) -> io::Result<usize> {
        ids.read_at(buf, at)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", ids.name)))
    }

    /// The file's size now must be its size at the check: a file cut or
    /// grown fails the read at once, wherever the upload is.
    fn check_size(&self) -> io::Result<()> {
        let Ok(meta) = self.ids.file.metadata() else {
            return Ok(()); // the reads will tell
        };
        let bytes = self.ids.stats.bytes;
        match meta.len().cmp(&bytes) {
            std::cmp::Ordering::Less => Err(self.shorter()),
            std::cmp::Ordering::Greater => Err(self.longer()),
            std::cmp::Ordering::Equal => Ok(()),
        }
    }

    fn longer(&self) -> io::Error {
        let bytes = self.ids.stats.bytes;
        self.changed(format_args!("it is longer than the {bytes} bytes checked"))
    }

    fn shorter(&self) -> io::Error {
        let bytes = self.ids.stats.bytes;
        self.changed(format_args!("it is shorter than the {bytes} bytes checked"))
    }

    /// At the checked length: the file must end there, and its last line pass.
    fn check_end(&mut self, out: Option<&mut Vec<u8>>) -> io::Result<()> {
        let mut probe = [0; 1];
        if Self::read_file(self.ids, self.at, &mut probe)? > 0 {
            return Err(self.longer());
        }
        self.ended = true;
        let scanner = std::mem::take(&mut self.scanner);
        match scanner.finish(&self.ids.name, out) {
            Err(e) => Err(self.changed(e.what())),
            Ok(stats) if self.verbatim && !stats.normal => {
                Err(self.changed("its last line is no longer an ID and its newline"))
            }
            Ok(_) => Ok(()),
        }
    }

    /// The file as it is: read straight into `buf`, scanned, passed on.
    fn read_verbatim(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.ids.stats.bytes;
        if self.ended {
            return Ok(0);
        }
        self.check_size()?;
        let want = buf
            .len()
            .min(usize::try_from(len - self.at).unwrap_or(usize::MAX));
        let n = Self::read_file(self.ids, self.at, &mut buf[..want])?;
        if n == 0 {
            return Err(self.shorter());
        }
        self.scanner.feed(&buf[..n], None);
        if !self.scanner.is_normal() {
            return Err(self.changed("a line is no longer an ID and its newline alone"));
        }
        self.at += n as u64;
        if self.at == len {
            // These bytes complete the body: check the end before they go.
            self.check_end(None)?;
        }
        self.sent += n as u64;
        Ok(n)
    }

    /// The file normalised: read into `input`, its lines judged into `output`,
    /// passed on from there.
    fn read_normalised(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.ids.stats.normalised_bytes;
        loop {
            let ready = self.output.len() - self.pos;
            // The byte that completes the body goes only once the end was checked.
            let may = match self.ended {
                true => ready,
                false => ready.min(usize::try_from(len - 1 - self.sent).unwrap_or(usize::MAX)),
            };
            if may > 0 {
                let n = may.min(buf.len());
                buf[..n].copy_from_slice(&self.output[self.pos..self.pos + n]);
                self.pos += n;
                self.sent += n as u64;
                return Ok(n);
            }
            if self.ended {
                return Ok(0);
            }
            self.output.drain(..self.pos);
            self.pos = 0;
            if self.at == self.ids.stats.bytes {
                let mut output = std::mem::take(&mut self.output);
                let end = self.check_end(Some(&mut output));
                self.output = output;
                end?;
                if self.sent + self.output.len() as u64 != len {
                    return Err(self.changed(format_args!(
                        "its normalised form is no longer the {len} bytes checked"
                    )));
                }
                continue;
            }
            self.check_size()?;
            let left = self.ids.stats.bytes - self.at;
            let want = self
                .input
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = Self::read_file(self.ids, self.at, &mut self.input[..want])?;
            if n == 0 {
                return Err(self.shorter());
            }
            self.at += n as u64;
            self.scanner.feed(&self.input[..n], Some(&mut self.output));
            if let Some(bad) = self.scanner.first_bad() {
                let how = format!("line {} {:?} is not an ID", bad.line, bad.content);
                return Err(self.changed(how));
            }
            if self.sent + self.output.len() as u64 > len {
                return Err(self.changed(format_args!(
                    "its normalised form is longer than the {len} bytes checked"
                )));
            }
        }
    }
}

impl Read for UploadBody<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((_, why)) = &self.failure {
            return Err(io::Error::new(io::ErrorKind::InvalidData, why.clone()));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let read = match self.verbatim {
            true => self.read_verbatim(buf),
            false => self.read_normalised(buf),
        };
        if let Err(e) = &read {
            let kind = match e.get_ref().is_some_and(|inner| inner.is::<Changed>()) {
                true => ErrorKind::Integrity,
                false => ErrorKind::Io,
            };
            self.failure = Some((kind, e.to_string()));
        }
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::reference::reference;
    use crate::ids::testing::{edge_case_files, id_files, normal_lines};
    use proptest::prelude::*;
    use std::io::Write as _;

    /// `contents` in a temporary file, checked.
    fn checked(contents: &[u8]) -> (tempfile::NamedTempFile, Result<IdFile>) {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(contents).unwrap();
        let ids = IdFile::check(tmp.path(), &crate::report::Reporter::silent());
        (tmp, ids)
    }

    /// Reads a whole body in reads of at most `piece` bytes; never more than
    /// the checked length.
    fn read_all(body: &mut UploadBody, piece: usize, len: u64) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0; piece];
        loop {
            let n = body.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
            assert!(out.len() as u64 <= len, "more than the checked length");
        }
    }

    /// The body of a file that passes is the reference's normalised form,
    /// sent as it is exactly when the reference calls the file normal.
    fn sends_what_the_reference_says(file: &[u8], pieces: &[usize]) {
        let r = reference(file);
        let (_tmp, ids) = checked(file);
        let Ok(ids) = ids else {
            assert!(!r.passes(), "refused: {file:?}");
            return;
        };
        assert!(r.passes(), "passed: {file:?}");
        for &piece in pieces {
            let mut body = ids.body();
            assert_eq!(body.is_verbatim(), r.is_normal(file), "{file:?}");
            let out = read_all(&mut body, piece, ids.stats.normalised_bytes).unwrap();
            assert!(out == r.normalised, "piece {piece}: {file:?}");
            assert!(body.is_complete());
        }
    }

    #[test]
    fn sends_the_edge_cases_as_the_reference_says() {
        for file in edge_case_files() {
            sends_what_the_reference_says(&file, &[1, 2, 3, 64, 1 << 20]);
        }
    }

    #[test]
    fn sends_the_cases_of_issue_9_normalised() {
        let mut big_space = normal_lines(100_000, 5, "\n");
        big_space.extend(b"1000000 ");
        let mut big_blank = normal_lines(100_000, 6, "\n");
        let mid = big_blank.len() / 2;
        let mid = mid + memchr::memchr(b'\n', &big_blank[mid..]).unwrap() + 1;
        big_blank.insert(mid, b'\n');
        big_blank.pop();
        let cases: [&[u8]; 10] = [
            b"7 ", b" 7", b"7\t", b"7\r", &big_space, b"7\n\n8", b"\n7", b"7 \n8", &big_blank,
            b"7\n8\n",
        ];
        for file in cases {
            sends_what_the_reference_says(file, &[1, 5, 4096, 1 << 20]);
        }
    }

    proptest! {
        #[test]
        fn sends_generated_files_as_the_reference_says(file in id_files(), piece in 1usize..300) {
            sends_what_the_reference_says(&file, &[piece, 1 << 16]);
        }

        /// A file changed after its check is sent only if what is read then
        /// passes and normalises to exactly the checked length; else the
        /// read fails. It never gives more, and never ends early.
        #[test]
        fn a_file_changed_after_its_check_is_sent_right_or_not_at_all(
            file in id_files(), change in id_files(), how in 0..4u8, at in any::<prop::sample::Index>(), piece in 1usize..300
        ) {
            let (tmp, ids) = checked(&file);
            let Ok(ids) = ids else { return Ok(()) };
            let changed = match how {
                0 => file[..at.index(file.len() + 1)].to_vec(),
                1 => [&file[..], &change[..]].concat(),
                2 => {
                    let mut c = file.clone();
                    let i = at.index(c.len());
                    c[i] = change.first().copied().unwrap_or(b'x');
                    c
                }
                _ => change.clone(),
            };
            std::fs::write(tmp.path(), &changed).unwrap();
            let len = ids.stats.normalised_bytes;
            let mut body = ids.body();
            match read_all(&mut body, piece, len) {
                Ok(out) => {
                    let r = reference(&changed);
                    prop_assert!(r.passes());
                    prop_assert_eq!(out.len() as u64, len);
                    prop_assert!(out == r.normalised);
                    prop_assert!(body.is_complete());
                }
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(msg.contains(" changed while it was being sent: "), "{}", msg);
                    prop_assert!(body.check().is_err());
                    prop_assert!(!body.is_complete());
                }
            }
        }
    }

    #[test]
    fn a_file_cut_or_grown_while_it_is_sent_fails_there_naming_it() {
        for lf in [true, false] {
            let mut file = normal_lines(200_000, 9, "\n");
            if !lf {
                file.insert(0, b' ');
            }
            let (tmp, ids) = checked(&file);
            let ids = ids.unwrap();
            assert_eq!(ids.body().is_verbatim(), lf);
            let name = tmp.path().display().to_string();
            for (grow, expected) in [(false, "shorter than"), (true, "longer than")] {
                std::fs::write(tmp.path(), &file).unwrap();
                let mut body = ids.body();
                let mut buf = vec![0; 4096];
                assert_eq!(body.read(&mut buf).unwrap(), 4096);
                match grow {
                    true => {
                        let mut f = std::fs::OpenOptions::new()
                            .append(true)
                            .open(tmp.path())
                            .unwrap();
                        f.write_all(b"1\n").unwrap();
                    }
                    false => tmp.as_file().set_len(file.len() as u64 / 2).unwrap(),
                }
                let err = loop {
                    match body.read(&mut buf) {
                        Ok(0) => panic!("ended early"),
                        Ok(_) => {}
                        Err(e) => break e.to_string(),
                    }
                };
                assert!(
                    err.starts_with(&format!("{name} changed while it was being sent")),
                    "{err}"
                );
                assert!(err.contains(expected), "{err}");
                let again = body.read(&mut buf).unwrap_err().to_string();
                assert_eq!(again, err, "a failed body stays failed");
                let failure = body.check().unwrap_err();
                assert_eq!(failure.to_string(), err);
                assert_eq!(
                    failure.kind(),
                    ErrorKind::Integrity,
                    "changed, not unreadable"
                );
            }
        }
    }
}
