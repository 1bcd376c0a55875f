//! The full check of an ID file before a byte is sent: one pass, or for a
//! big regular file two halves on two threads.

use std::fs::File;
use std::io;
use std::path::Path;

use super::scanner::Scanner;
use super::spool;
use super::{IdStats, READ_BUFFER};
use crate::error::{Error, IdFileError, Result};
use crate::report::{Progress, Reporter};

/// An ID file that passed its check: every line an ID or blank, at least one
/// ID. It keeps the file open (or, for a pipe, its private copy): each
/// upload attempt reads these very bytes again, checking them as it goes.
#[derive(Debug)]
pub struct IdFile {
    pub(crate) name: String,
    pub(crate) file: File,
    pub(crate) stats: IdStats,
}

impl IdFile {
    /// Opens and checks a whole ID file, streaming. A regular file is read
    /// where it is; anything else (a FIFO, a pipe such as `/dev/stdin` or a
    /// process substitution, a device) is read once into a private temporary
    /// copy, which is checked and sent instead.
    ///
    /// A file that cannot be opened, a bad line or a file without IDs is a
    /// [`Usage`](ErrorKind::Usage) error (exit code 2) naming the file as
    /// given; the bad lines are in its [`IdFileError`](super::IdFileError)
    /// (`e.find::<IdFileError>()`). A file that opens but cannot be read is
    /// an [`Io`](ErrorKind::Io) error. The progress of a big file's check
    /// goes to `reporter`.
    pub fn check(path: &Path, reporter: &Reporter) -> Result<IdFile> {
        let name = path.display().to_string();
        // A path that does not open is a bad value of the user's: exit 2.
        let file =
            File::open(path).map_err(|e| Error::usage(format!("cannot open {name}: {e}")))?;
        let meta = file
            .metadata()
            .map_err(|e| IdFileError::unreadable(&name, e))?;
        if !meta.is_file() {
            return Self::copy_of(&name, file, reporter);
        }
        Self::check_regular(name, file, meta.len(), reporter)
    }

    /// Reads an ID file from standard input into a private temporary copy,
    /// checking it on the way, as [`IdFile::check`] does with a pipe. Messages
    /// call it "standard input".
    pub fn check_stdin(reporter: &Reporter) -> Result<IdFile> {
        Self::copy_of("standard input", io::stdin().lock(), reporter)
    }

    /// Checks what `source` gives into a private temporary copy, named
    /// `name` in messages.
    pub(crate) fn copy_of(
        name: &str,
        source: impl io::Read,
        reporter: &Reporter,
    ) -> Result<IdFile> {
        let (file, stats) = spool::check_copy(name, source, reporter)?;
        Ok(IdFile {
            name: name.to_string(),
            file,
            stats,
        })
    }

    /// Checks a regular file in place. A large one is checked in two halves
    /// on two threads, since this pass is time the upload waits for; any
    /// failure is checked again in one pass, so that the error counts lines
    /// from the start of the file.
    pub(crate) fn check_regular(
        name: String,
        file: File,
        len: u64,
        reporter: &Reporter,
    ) -> Result<IdFile> {
        // A file of gigabytes off a slow disk takes a while: show it on a terminal.
        let progress = reporter.bytes("checking", Some(len));
        let stats = match check_halves(&file, len, &progress) {
            Some(stats) => stats,
            None => {
                progress.set_position(0);
                check_whole(&file, &name, &progress)?
            }
        };
        Ok(IdFile { name, file, stats })
    }

    /// The file as the user gave it (or "standard input"), for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the check found.
    pub fn stats(&self) -> IdStats {
        self.stats
    }

    /// Reads bytes of the checked file at offset `at`.
    pub(crate) fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        read_at(&self.file, buf, at)
    }
}

/// Files smaller than this are checked on one thread.
pub(crate) const PARALLEL_CHECK_MIN: u64 = 16 * 1024 * 1024;

fn check_whole(file: &File, name: &str, progress: &Progress) -> Result<IdStats> {
    let mut scanner = Scanner::new();
    let mut buf = vec![0; READ_BUFFER];
    let mut at = 0;
    loop {
        let n = read_at(file, &mut buf, at).map_err(|e| IdFileError::unreadable(name, e))?;
        if n == 0 {
            break;
        }
        scanner.feed(&buf[..n], None);
        progress.inc(n as u64);
        at += n as u64;
    }
    scanner.finish(name, None).map_err(Error::from)
}

/// The stats of a large file of `len` bytes that passes, checked in two
/// halves split after a newline near the middle; `None` for a small file, a
/// file without a newline there, a failure of any kind, or one CPU.
pub(crate) fn check_halves(file: &File, len: u64, progress: &Progress) -> Option<IdStats> {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if len < PARALLEL_CHECK_MIN || cpus < 2 {
        return None;
    }
    let mut probe = [0; 256];
    let n = read_at(file, &mut probe, len / 2).ok()?;
    let split = len / 2 + memchr::memchr(b'\n', &probe[..n])? as u64 + 1;
    let (first, second) = std::thread::scope(|scope| {
        let second =
            scope.spawn(|| check_range(file, split, len, Scanner::after_first_line(), progress));
        (
            check_range(file, 0, split, Scanner::new(), progress),
            second.join().ok().flatten(),
        )
    });
    let (first, second) = (first?, second?);
    let stats = IdStats {
        ids: first.ids + second.ids,
        skipped: first.skipped + second.skipped,
        normalised_bytes: first.normalised_bytes + second.normalised_bytes,
        bytes: first.bytes + second.bytes,
        normal: first.normal && second.normal,
    };
    (stats.ids > 0).then_some(stats)
}

/// Scans bytes `from..to` of `file`: their stats if every line passed and
/// the range could be read whole.
fn check_range(
    file: &File,
    from: u64,
    to: u64,
    mut scanner: Scanner,
    progress: &Progress,
) -> Option<IdStats> {
    let mut buf = vec![0; READ_BUFFER];
    let mut at = from;
    while at < to {
        let want = buf.len().min((to - at) as usize);
        let n = read_at(file, &mut buf[..want], at).ok()?;
        if n == 0 {
            return None; // the file shrank
        }
        scanner.feed(&buf[..n], None);
        progress.inc(n as u64);
        at += n as u64;
    }
    scanner.finish_part()
}

/// A positioned read: it leaves the file's offset alone, so that two threads
/// (or two upload attempts) read one open file without getting in each
/// other's way.
#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt as _;
    loop {
        match file.read_at(buf, at) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(windows)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    use std::os::windows::fs::FileExt as _;
    loop {
        match file.seek_read(buf, at) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(not(any(unix, windows)))]
pub(crate) fn read_at(_: &File, _: &mut [u8], _: u64) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::ids::reference::reference;
    use crate::ids::testing::normal_lines;

    /// A file of about `PARALLEL_CHECK_MIN` plus a little of normal lines,
    /// with `edit` applied; checked in two halves and in one pass, both
    /// compared with the reference.
    fn check_big(edit: impl FnOnce(&mut Vec<u8>)) -> (Vec<u8>, Result<IdFile>) {
        let mut contents = Vec::with_capacity(PARALLEL_CHECK_MIN as usize + (1 << 20));
        let mut seed = 1;
        while (contents.len() as u64) < PARALLEL_CHECK_MIN + 100_000 {
            contents.extend(normal_lines(10_000, seed, "\n"));
            seed += 1;
        }
        edit(&mut contents);
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        io::Write::write_all(&mut tmp, &contents).unwrap();
        let r = reference(&contents);
        let file = tmp.reopen().unwrap();
        let progress = Progress::hidden();
        let halves = check_halves(&file, contents.len() as u64, &progress);
        let whole = check_whole(&file, "big.txt", &progress);
        let expected = IdStats {
            ids: r.ids,
            skipped: r.skipped,
            normalised_bytes: r.normalised.len() as u64,
            bytes: contents.len() as u64,
            normal: r.is_normal(&contents),
        };
        match r.passes() {
            true => {
                assert_eq!(halves, Some(expected));
                assert_eq!(whole.unwrap(), expected);
            }
            false => {
                assert_eq!(halves, None);
                let msg = whole.unwrap_err().to_string();
                assert!(msg.contains(&format!("line {} ", r.bad[0].0)), "{msg}");
            }
        }
        let checked = IdFile::check(tmp.path(), &Reporter::silent());
        (contents, checked)
    }

    /// The byte offset just after the first newline at or after `at`.
    fn line_start(c: &[u8], at: usize) -> usize {
        at + memchr::memchr(b'\n', &c[at..]).unwrap() + 1
    }

    #[test]
    fn a_bad_file_is_a_usage_error_holding_its_bad_lines_and_a_read_failure_io() {
        let dir = tempfile::tempdir().unwrap();
        let silent = Reporter::silent();
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, b"1\nx\n2\ny\n").unwrap();
        let e = IdFile::check(&bad, &silent).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        let name = bad.display();
        assert_eq!(
            e.to_string(),
            format!(r#"{name}: 2 lines not an ID (1 to 19 digits): line 2 "x", line 4 "y""#)
        );
        let lines = e.find::<crate::ids::IdFileError>().expect("the bad lines");
        assert_eq!((lines.bad_total(), lines.bad_lines()[1].line), (2, 4));
        // No ID at all: the same, with no bad line.
        let blank = dir.path().join("blank.txt");
        std::fs::write(&blank, b"\n \n").unwrap();
        let e = IdFile::check(&blank, &silent).unwrap_err();
        assert_eq!(e.find::<crate::ids::IdFileError>().unwrap().bad_total(), 0);
        // A path that does not open, or a folder: the user's mistake.
        let missing = IdFile::check(&dir.path().join("missing.txt"), &silent).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::Usage);
        assert!(missing.to_string().starts_with("cannot open "), "{missing}");
        let folder = IdFile::check(dir.path(), &silent).unwrap_err();
        assert_eq!(folder.kind(), ErrorKind::Usage, "{folder}");
        assert!(folder.to_string().starts_with("cannot read "), "{folder}");
        // A file that opens but cannot be read (no memory at address 0).
        #[cfg(target_os = "linux")]
        {
            let e = IdFile::check(Path::new("/proc/self/mem"), &silent).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Io, "{e}");
            assert!(
                e.to_string().starts_with("cannot read /proc/self/mem: "),
                "{e}"
            );
        }
    }

    #[test]
    fn a_big_normal_file_is_checked_in_halves_and_is_normal() {
        let (_, checked) = check_big(|_| {});
        assert!(checked.unwrap().stats.normal);
    }

    #[test]
    fn a_big_file_with_a_blank_line_in_the_middle_and_no_final_newline() {
        let (_, checked) = check_big(|c| {
            let at = line_start(c, c.len() / 2 - 100);
            c.insert(at, b'\n');
            c.pop();
        });
        assert!(!checked.unwrap().stats.normal);
    }

    #[test]
    fn a_big_file_ending_in_a_space() {
        let (_, checked) = check_big(|c| c.extend(b"1000000 "));
        assert!(!checked.unwrap().stats.normal);
    }

    #[test]
    fn big_files_with_odd_lines_around_the_split() {
        let edits: [&[u8]; 7] = [
            b"\r\n",
            b" 12\n",
            b"\n",
            b"7\r\n",
            b"\xEF\xBB\xBF1\n",
            b"x\n",
            b"12345678901234567890\n",
        ];
        for odd in edits {
            for shift in [-25i64, 0, 1] {
                let (_, _) = check_big(|c| {
                    let at = line_start(c, (c.len() as i64 / 2 + shift) as usize);
                    c.splice(at..at, odd.iter().copied());
                });
            }
        }
        // A byte order mark at the start, and CRLF ends in the second half.
        let (contents, checked) = check_big(|c| {
            c.splice(0..0, b"\xEF\xBB\xBF".iter().copied());
            let at = line_start(c, c.len() * 3 / 4);
            let tail = normal_lines(1000, 99, "\r\n");
            c.splice(at..at, tail);
        });
        let stats = checked.unwrap().stats;
        assert_eq!(stats.bytes, contents.len() as u64);
        assert!(!stats.normal);
    }

    #[test]
    fn a_bad_line_in_the_second_half_is_named_by_its_line_in_the_file() {
        let mut line = 0;
        let (_, checked) = check_big(|c| {
            let at = line_start(c, c.len() * 3 / 4);
            line = c[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            c.splice(at..at, b"12x\n".iter().copied());
        });
        let msg = checked.unwrap_err().to_string();
        assert!(msg.contains(&format!(r#"line {line} "12x""#)), "{msg}");
        // A check alone uploads nothing: the upload says so, not the check.
        assert!(!msg.contains("uploaded"), "{msg}");
    }
}
