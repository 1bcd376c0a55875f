//! ID files: checked in full before a byte is sent, then streamed normalised.
//!
//! An ID file holds one Tweet or user ID per line, 1 to 19 decimal digits.
//! Surrounding spaces and tabs, CRLF endings, a UTF-8 byte order mark and
//! blank lines are normalised away; any other line is an error. What is sent
//! is the normalised file: each ID followed by `\n`, nothing else.
//!
//! The same [`Scanner`] serves both passes. The first ([`IdFile::check`]) only
//! counts; the second ([`NormalisedIds`]) writes the normalised bytes as the
//! upload reads them. Neither holds more than a buffer of the file per thread.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::cli::UsageError;
use crate::progress::Progress;

/// The longest an ID may be: the API's `^[0-9]{1,19}$`.
pub const MAX_ID_DIGITS: usize = 19;

/// How many bad lines an error lists before it only counts the rest.
pub const MAX_LISTED_BAD_LINES: usize = 10;

/// How much of a bad line an error quotes.
const QUOTE_LIMIT: usize = 40;

const READ_BUFFER: usize = 256 * 1024;

/// What a full pass over an ID file found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IdStats {
    /// IDs found (each is sent).
    pub ids: u64,
    /// Blank lines skipped (including whitespace-only lines).
    pub skipped: u64,
    /// Size in bytes of the normalised file: what an upload sends.
    pub normalised_bytes: u64,
    /// Size in bytes of the file as it is.
    pub bytes: u64,
}

/// A line that is not an ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: u64,
    /// The start of the line, as text (invalid UTF-8 shown as U+FFFD).
    pub content: String,
}

/// Why an ID file cannot be sent. Shows as one line naming the file.
#[derive(Debug)]
pub struct IdFileError {
    path: PathBuf,
    bad: Vec<BadLine>,
    bad_total: u64,
}

impl fmt::Display for IdFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        if self.bad_total == 0 {
            return write!(f, "{path}: no ID found; the file must hold one ID per line");
        }
        let plural = if self.bad_total == 1 { "" } else { "s" };
        write!(
            f,
            "{path}: {} line{plural} not an ID (1 to {MAX_ID_DIGITS} digits): ",
            self.bad_total
        )?;
        for (i, b) in self.bad.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}line {} {:?}", b.line, b.content)?;
        }
        let unlisted = self.bad_total - self.bad.len() as u64;
        if unlisted > 0 {
            write!(f, " and {unlisted} more")?;
        }
        Ok(())
    }
}

impl std::error::Error for IdFileError {}

/// What one line of an ID file is.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    Id(&'a [u8]),
    Blank,
    Bad,
}

fn classify(line: &[u8]) -> Line<'_> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.trim_ascii();
    if line.is_empty() {
        Line::Blank
    } else if line.len() <= MAX_ID_DIGITS && line.iter().all(u8::is_ascii_digit) {
        Line::Id(line)
    } else {
        Line::Bad
    }
}

/// The longest prefix of `bytes` made of whole lines that are an ID and
/// nothing else (1 to 19 digits, then `\n` or `\r\n`): its length, how many
/// lines it holds, and how many of them end in `\r\n`.
///
/// Most ID files are already normal, or normal but for CRLF line ends, so
/// this is the hot loop. It classifies 64 bytes at a time into bit masks of
/// line ends and judges all the lines of a block at once with bit operations;
/// only a block that fails is walked newline by newline, to find where the
/// prefix ends.
///
/// With `crlf` false, a `\r` ends the prefix: looking for one costs a little,
/// so files with LF line ends, the most common, are scanned without it.
fn normal_prefix(bytes: &[u8], crlf: bool) -> Prefix {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("popcnt")
        && std::arch::is_x86_feature_detected!("lzcnt")
        && std::arch::is_x86_feature_detected!("bmi1")
    {
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

/// What [`normal_prefix`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Prefix {
    len: usize,
    lines: u64,
    crlf: u64,
}

/// [`normal_prefix`] compiled for AVX2, with its 32-byte masks, and the
/// bit-counting instructions that come with such CPUs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt,lzcnt,bmi1")]
fn normal_prefix_avx2<const CRLF: bool>(bytes: &[u8]) -> Prefix {
    // The closure inherits this function's target features, so the mask inlines.
    prefix_with(bytes, |block| line_end_masks_avx2::<CRLF>(block))
}

#[inline(always)]
fn prefix_with(bytes: &[u8], masks: impl Fn(&[u8; BLOCK]) -> Option<(u64, u64)>) -> Prefix {
    let mut prefix = Prefix::default();
    for (b, block) in bytes.chunks_exact(BLOCK).enumerate() {
        let base = b * BLOCK;
        let block: &[u8; BLOCK] = block.try_into().expect("chunks_exact");
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

const BLOCK: usize = 64;

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
/// if it holds a byte that is neither a digit nor one of those.
#[cfg(not(target_arch = "x86_64"))]
fn line_end_masks<const CRLF: bool>(block: &[u8; BLOCK]) -> Option<(u64, u64)> {
    let (mut newlines, mut returns) = (0u64, 0u64);
    let mut other = false;
    for (k, &byte) in block.iter().enumerate() {
        newlines |= u64::from(byte == b'\n') << k;
        returns |= u64::from(CRLF && byte == b'\r') << k;
        other |= !matches!(byte, b'0'..=b'9' | b'\n') && !(CRLF && byte == b'\r');
    }
    (!other).then_some((newlines, returns))
}

/// A streaming scanner over the bytes of an ID file, fed in pieces of any size.
///
/// It keeps at most one partial line between pieces, and only its first
/// bytes once it is too long to be an ID, so memory stays flat whatever the file.
#[derive(Debug, Default)]
pub struct Scanner {
    line: u64,
    carry: Vec<u8>,
    carry_overflow: bool,
    skip_fast: u32,
    /// The fast path looks for CRLF line ends: the last lines had them.
    crlf: bool,
    stats: IdStats,
    bad: Vec<BadLine>,
    bad_total: u64,
}

impl Scanner {
    /// A scanner at the start of a file.
    pub fn new() -> Scanner {
        Scanner::default()
    }

    /// Scans the next piece of the file; with `out`, appends the normalised bytes.
    pub fn feed(&mut self, chunk: &[u8], mut out: Option<&mut Vec<u8>>) {
        self.stats.bytes += chunk.len() as u64;
        let mut rest = chunk;
        loop {
            if self.carry.is_empty() && !self.carry_overflow {
                rest = self.feed_normal(rest, out.as_deref_mut());
            }
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                break;
            };
            let (piece, tail) = (&rest[..nl], &rest[nl + 1..]);
            if self.carry.is_empty() && !self.carry_overflow {
                self.line(piece, out.as_deref_mut());
            } else {
                self.push_carry(piece);
                self.end_carried_line(out.as_deref_mut());
            }
            rest = tail;
        }
        self.push_carry(rest);
    }

    /// The fast path: takes the lines at the start of `bytes` that are already
    /// normal (digits and `\n` only) in one go, and returns the rest.
    fn feed_normal<'b>(&mut self, bytes: &'b [u8], out: Option<&mut Vec<u8>>) -> &'b [u8] {
        // The first line may hold a byte order mark; after a line that is
        // not normal, the next few likely are not either (spaces around
        // each ID, say).
        if self.line == 0 || self.skip_fast > 0 {
            self.skip_fast = self.skip_fast.saturating_sub(1);
            return bytes;
        }
        let mut prefix = normal_prefix(bytes, self.crlf);
        if prefix.lines == 0 {
            // Perhaps the line ends are the other kind.
            self.crlf = !self.crlf;
            prefix = normal_prefix(bytes, self.crlf);
        }
        let Prefix { len, lines, crlf } = prefix;
        if lines == 0 {
            self.skip_fast = 64;
            return bytes;
        }
        self.line += lines;
        self.stats.ids += lines;
        self.stats.normalised_bytes += (len as u64) - crlf;
        if let Some(out) = out {
            // Each `\r` there is the one before a `\n`: leave it out.
            let mut from = 0;
            for cr in memchr::memchr_iter(b'\r', &bytes[..len]) {
                out.extend_from_slice(&bytes[from..cr]);
                from = cr + 1;
            }
            out.extend_from_slice(&bytes[from..len]);
        }
        &bytes[len..]
    }

    /// Whether everything fed so far is already in normal form, byte for
    /// byte, as far as whole lines go.
    fn is_verbatim(&self) -> bool {
        self.bad_total == 0
            && !self.carry_overflow
            && self.stats.normalised_bytes + self.carry.len() as u64 == self.stats.bytes
    }

    fn end_carried_line(&mut self, out: Option<&mut Vec<u8>>) {
        let carried = std::mem::take(&mut self.carry);
        if std::mem::take(&mut self.carry_overflow) {
            self.line += 1;
            self.bad_line(&carried);
        } else {
            self.line(&carried, out);
        }
    }

    fn push_carry(&mut self, piece: &[u8]) {
        // A line longer than this cannot be an ID; keep only what a message quotes.
        const KEEP: usize = 64;
        let room = KEEP.saturating_sub(self.carry.len());
        if piece.len() > room {
            self.carry_overflow = true;
        }
        self.carry
            .extend_from_slice(&piece[..piece.len().min(room)]);
    }

    fn line(&mut self, line: &[u8], out: Option<&mut Vec<u8>>) {
        self.line += 1;
        // A byte order mark is only one at the very start of the file.
        let line = match self.line {
            1 => line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line),
            _ => line,
        };
        match classify(line) {
            Line::Id(id) => {
                self.stats.ids += 1;
                self.stats.normalised_bytes += id.len() as u64 + 1;
                if let Some(out) = out {
                    out.extend_from_slice(id);
                    out.push(b'\n');
                }
            }
            Line::Blank => self.stats.skipped += 1,
            Line::Bad => self.bad_line(line),
        }
    }

    fn bad_line(&mut self, line: &[u8]) {
        self.bad_total += 1;
        if self.bad.len() < MAX_LISTED_BAD_LINES {
            let line_text = line.strip_suffix(b"\r").unwrap_or(line);
            let mut content = String::from_utf8_lossy(line_text).into_owned();
            if content.chars().count() > QUOTE_LIMIT {
                content = content.chars().take(QUOTE_LIMIT).collect::<String>() + "…";
            }
            self.bad.push(BadLine {
                line: self.line,
                content,
            });
        }
    }

    /// A scanner for a part of a file that starts at a line other than the
    /// first (no byte order mark there); its line numbers count from that part.
    fn after_first_line() -> Scanner {
        Scanner {
            line: 1,
            ..Scanner::default()
        }
    }

    /// Ends a part of a file: its stats if every line in it passed.
    fn finish_part(mut self) -> Option<IdStats> {
        if !self.carry.is_empty() || self.carry_overflow {
            self.end_carried_line(None);
        }
        (self.bad_total == 0).then_some(self.stats)
    }

    /// Ends the file: scans a last line without `\n`, then returns what was
    /// found, or the error naming `path` if any line was bad or no ID was found.
    pub fn finish(
        mut self,
        path: &Path,
        out: Option<&mut Vec<u8>>,
    ) -> Result<IdStats, IdFileError> {
        if !self.carry.is_empty() || self.carry_overflow {
            self.end_carried_line(out);
        }
        if self.bad_total > 0 || self.stats.ids == 0 {
            return Err(IdFileError {
                path: path.to_path_buf(),
                bad: self.bad,
                bad_total: self.bad_total,
            });
        }
        Ok(self.stats)
    }
}

/// An ID file that passed [`IdFile::check`]: every line an ID or blank.
#[derive(Clone, Debug)]
pub struct IdFile {
    /// Where it is.
    pub path: PathBuf,
    /// What the check counted.
    pub stats: IdStats,
}

impl IdFile {
    /// Checks a whole ID file, streaming. An unreadable file, a bad line or a
    /// file without IDs is an input error (exit code 2).
    ///
    /// A large file is checked in two halves on two threads, since this pass
    /// is time the upload waits for; any failure is checked again in one
    /// pass, so that the error counts lines from the start of the file.
    pub fn check(path: &Path) -> anyhow::Result<IdFile> {
        let file = open(path)?;
        // A file of gigabytes off a slow disk takes a while: show it on a terminal.
        let progress = Progress::bytes("checking", file.metadata().ok().map(|m| m.len()));
        let stats = match check_halves(&file, &progress) {
            Some(stats) => stats,
            None => {
                progress.set_position(0);
                check_whole(file, path, &progress)?
            }
        };
        Ok(IdFile {
            path: path.to_path_buf(),
            stats,
        })
    }
}

/// Files smaller than this are checked on one thread.
const PARALLEL_CHECK_MIN: u64 = 16 * 1024 * 1024;

fn check_whole(mut file: File, path: &Path, progress: &Progress) -> anyhow::Result<IdStats> {
    let mut scanner = Scanner::new();
    let mut buf = vec![0; READ_BUFFER];
    loop {
        let n = read(&mut file, &mut buf, path)?;
        if n == 0 {
            break;
        }
        scanner.feed(&buf[..n], None);
        progress.inc(n as u64);
    }
    scanner
        .finish(path, None)
        .map_err(|e| anyhow::Error::new(UsageError(format!("{e}; nothing was uploaded"))))
}

/// The stats of a large file that passes, checked in two halves split after
/// a newline near the middle; `None` for a small file, a file without a
/// newline there, a failure of any kind, or one CPU.
fn check_halves(file: &File, progress: &Progress) -> Option<IdStats> {
    let len = file.metadata().ok()?.len();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if len < PARALLEL_CHECK_MIN || cpus < 2 {
        return None;
    }
    let mut probe = [0; 256];
    let n = read_range(file, len / 2, &mut probe).ok()?;
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
        let n = read_range(file, at, &mut buf[..want]).ok()?;
        if n == 0 {
            return None; // the file shrank
        }
        scanner.feed(&buf[..n], None);
        progress.inc(n as u64);
        at += n as u64;
    }
    scanner.finish_part()
}

#[cfg(unix)]
fn read_range(file: &File, at: u64, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt as _;
    loop {
        match file.read_at(buf, at) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Elsewhere the check takes one pass.
#[cfg(not(unix))]
fn read_range(_: &File, _: u64, _: &mut [u8]) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

fn open(path: &Path) -> anyhow::Result<File> {
    File::open(path)
        .map_err(|e| anyhow::Error::new(UsageError(format!("cannot open {}: {e}", path.display()))))
}

fn read(file: &mut File, buf: &mut [u8], path: &Path) -> anyhow::Result<usize> {
    loop {
        match file.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => anyhow::bail!(UsageError(format!("cannot read {}: {e}", path.display()))),
        }
    }
}

/// A reader of the normalised form of an ID file, for streaming an upload.
///
/// It re-checks every line as it goes: if the file changed since
/// [`IdFile::check`] and now holds a bad line, the read fails and the upload
/// with it, rather than sending a file that was never checked.
pub struct NormalisedIds {
    file: File,
    path: PathBuf,
    scanner: Option<Scanner>,
    failure: Option<String>,
    /// The file is already normal (the check found it so): it is sent as it
    /// is, still checked as it goes, without copying it into normal form.
    verbatim: bool,
    input: Vec<u8>,
    output: Vec<u8>,
    pos: usize,
}

impl NormalisedIds {
    /// Opens a checked ID file for a normalised read.
    pub fn open(ids: &IdFile) -> anyhow::Result<NormalisedIds> {
        let verbatim = ids.stats.bytes == ids.stats.normalised_bytes;
        Ok(NormalisedIds {
            file: open(&ids.path)?,
            path: ids.path.clone(),
            scanner: Some(Scanner::new()),
            failure: None,
            verbatim,
            input: if verbatim {
                Vec::new()
            } else {
                vec![0; READ_BUFFER]
            },
            output: Vec::new(),
            pos: 0,
        })
    }

    /// After a read failed: the file's own error (it could not be read, or
    /// it changed since its check), as opposed to one of the connection.
    pub fn check(&self) -> anyhow::Result<()> {
        match &self.failure {
            Some(why) => anyhow::bail!("{why}"),
            None => Ok(()),
        }
    }

    fn read_file(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match file.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    fn changed(&self, why: impl fmt::Display) -> io::Error {
        let why = format!("{why} (the file changed after it was checked)");
        io::Error::new(io::ErrorKind::InvalidData, why)
    }

    /// Reads the next piece into `buf` as it is, checking it.
    fn read_verbatim(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(scanner) = self.scanner.as_mut() else {
            return Ok(0);
        };
        let n = Self::read_file(&mut self.file, buf)?;
        if n > 0 {
            scanner.feed(&buf[..n], None);
            if !scanner.is_verbatim() {
                return Err(self.changed("a line is no longer in normal form"));
            }
            return Ok(n);
        }
        let scanner = self.scanner.take().expect("checked above");
        let bytes = scanner.stats.bytes;
        match scanner.finish(&self.path, None) {
            Ok(stats) if stats.normalised_bytes == bytes => Ok(0),
            Ok(_) => Err(self.changed("its last line has no newline")),
            Err(e) => Err(self.changed(e)),
        }
    }

    /// Refills the output with the next normalised piece.
    fn refill(&mut self) -> io::Result<()> {
        self.output.clear();
        self.pos = 0;
        while self.output.is_empty() {
            let Some(scanner) = self.scanner.as_mut() else {
                return Ok(());
            };
            let n = Self::read_file(&mut self.file, &mut self.input)?;
            if n > 0 {
                scanner.feed(&self.input[..n], Some(&mut self.output));
                continue;
            }
            let scanner = self.scanner.take().expect("checked above");
            if let Err(e) = scanner.finish(&self.path, Some(&mut self.output)) {
                return Err(self.changed(e));
            }
        }
        Ok(())
    }

    fn read_normalised(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.output.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.output.len() - self.pos);
        buf[..n].copy_from_slice(&self.output[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Read for NormalisedIds {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = match self.verbatim {
            true => self.read_verbatim(buf),
            false => self.read_normalised(buf),
        };
        if let Err(e) = &read {
            let path = self.path.display().to_string();
            let why = e.to_string();
            self.failure
                .get_or_insert_with(|| match why.starts_with(&path) {
                    true => why,
                    false => format!("{path}: {why}"),
                });
        }
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(bytes: &[u8], piece: usize) -> (Result<IdStats, IdFileError>, Vec<u8>) {
        let mut s = Scanner::new();
        let mut out = Vec::new();
        for chunk in bytes.chunks(piece.max(1)) {
            s.feed(chunk, Some(&mut out));
        }
        (s.finish(Path::new("ids.txt"), Some(&mut out)), out)
    }

    #[test]
    fn normalises_whitespace_crlf_bom_and_blanks() {
        let input = b"\xEF\xBB\xBF 123 \r\n\r\n\t456\n\n7890123456789012345\r\n  \n42";
        for piece in [1, 2, 3, 5, 1024] {
            let (stats, out) = scan(input, piece);
            let stats = stats.unwrap();
            assert_eq!(out, b"123\n456\n7890123456789012345\n42\n", "piece {piece}");
            assert_eq!(stats.ids, 4);
            assert_eq!(stats.skipped, 3);
            assert_eq!(stats.normalised_bytes, out.len() as u64);
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_slow_one() {
        // Long runs of normal lines (the fast path) broken by lines that need
        // normalising or are bad (the slow path), fed in pieces of all sizes.
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for i in 0..20_000u64 {
            let id = (i * 7_919 % 10_000_000_000_000_000_000).to_string();
            match i % 997 {
                0 => input.extend(format!(" {id}\r\n").bytes()),
                1 => input.extend(format!("{id}\n\n").bytes()),
                _ => input.extend(format!("{id}\n").bytes()),
            }
            expected.extend(format!("{id}\n").into_bytes());
        }
        for piece in [1, 63, 64, 65, 1000, 256 * 1024] {
            let (stats, out) = scan(&input, piece);
            assert_eq!(stats.unwrap().ids, 20_000);
            assert!(out == expected, "piece {piece}");
        }
        let mut bad = input.clone();
        let at = bad.len() / 2;
        let at = at + memchr::memchr(b'\n', &bad[at..]).unwrap() + 1;
        bad.splice(at..at, b"12345678901234567890\n".iter().copied());
        let line = input[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        for piece in [1, 64, 4096] {
            let msg = scan(&bad, piece).0.unwrap_err().to_string();
            assert!(
                msg.contains(&format!("1 line not an ID (1 to 19 digits): line {line} ")),
                "{msg}"
            );
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
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..300_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
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

    #[test]
    fn every_mask_finds_the_same_prefix() {
        for eol in ["\n", "\r\n"] {
            let mut input = Vec::new();
            for i in 0..5_000u64 {
                input.extend(format!("{}{eol}", i * 104_729).bytes());
            }
            let crlf = eol == "\r\n";
            let prefix = prefix_with(&input, line_end_masks::<true>);
            // LF: whole blocks, the tail is the slow path's. CRLF: up to a
            // block whose last byte is a `\r`, still a long way.
            assert!(prefix.len + BLOCK + MAX_ID_DIGITS > input.len() || eol == "\r\n");
            assert!(prefix.lines > 0 && input[prefix.len - 1] == b'\n');
            let newlines = memchr::memchr_iter(b'\n', &input[..prefix.len]).count() as u64;
            assert_eq!(prefix.lines, newlines);
            assert_eq!(prefix.crlf, if eol == "\n" { 0 } else { newlines });
            assert_eq!(prefix, normal_prefix(&input, true));
            match crlf {
                true => assert_eq!(normal_prefix(&input, false).lines, 0),
                false => assert_eq!(prefix, normal_prefix(&input, false)),
            }
            input[prefix.len / 2] = b' ';
            let prefix_then = prefix_with(&input, line_end_masks::<true>);
            assert_eq!(prefix_then, normal_prefix(&input, true));
            assert!(prefix_then.len < prefix.len / 2);
        }
    }

    #[test]
    fn crlf_files_are_normalised_on_the_fast_path_too() {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for i in 0..20_000u64 {
            // IDs of 1 to 19 digits, so line ends fall on every byte of a block.
            let id = (i * 7_919 % 10u64.pow(1 + (i % 19) as u32)).to_string();
            input.extend(format!("{id}\r\n").bytes());
            if i % 1000 == 999 {
                input.extend(b"\r\n");
            }
            expected.extend(format!("{id}\n").into_bytes());
        }
        for piece in [1, 63, 64, 65, 1000, 256 * 1024] {
            let (stats, out) = scan(&input, piece);
            let stats = stats.unwrap();
            assert_eq!((stats.ids, stats.skipped), (20_000, 20), "piece {piece}");
            assert_eq!(stats.normalised_bytes, expected.len() as u64);
            assert!(out == expected, "piece {piece}");
        }
        // A `\r` alone, or a 20-digit line, is still bad, wherever it falls.
        for bad in [&b"12\r34\r\n"[..], b"12345678901234567890\r\n", b"1 2\r\n"] {
            let mut input = input.clone();
            let at = input.len() / 2;
            let at = at + memchr::memchr(b'\n', &input[at..]).unwrap() + 1;
            input.splice(at..at, bad.iter().copied());
            let line = input[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            for piece in [64, 4096] {
                let msg = scan(&input, piece).0.unwrap_err().to_string();
                assert!(msg.contains(&format!("line {line} ")), "{msg}");
            }
        }
    }

    /// A file big enough to be checked in two halves: `lines` IDs of 19
    /// digits; `edit` may change it first.
    fn check_big(edit: impl FnOnce(&mut Vec<u8>)) -> (Vec<u8>, anyhow::Result<IdFile>) {
        let mut contents = Vec::new();
        for i in 0..(PARALLEL_CHECK_MIN / 20 + 1000) {
            contents.extend(format!("{:019}\n", i * 7_919).bytes());
        }
        edit(&mut contents);
        let path = std::env::temp_dir().join(format!(
            "compliance-big-{}-{:?}.txt",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, &contents).unwrap();
        let checked = IdFile::check(&path);
        let _ = std::fs::remove_file(&path);
        (contents, checked)
    }

    #[test]
    fn a_big_file_checked_in_halves_counts_as_one_pass_does() {
        let (contents, checked) = check_big(|c| {
            // A byte order mark at the start, and a blank CRLF line in the
            // second half: both halves meet lines to normalise.
            c.splice(0..0, b"\xEF\xBB\xBF".iter().copied());
            let at = c.len() * 3 / 4;
            let at = at + memchr::memchr(b'\n', &c[at..]).unwrap() + 1;
            c.splice(at..at, b" \r\n".iter().copied());
        });
        let stats = checked.unwrap().stats;
        assert_eq!(stats, scan(&contents, READ_BUFFER).0.unwrap());
        assert_eq!(stats.skipped, 1);
        assert_eq!(stats.bytes, contents.len() as u64);
    }

    #[test]
    fn a_bad_line_in_the_second_half_is_named_by_its_line_in_the_file() {
        let mut line = 0;
        let (_, checked) = check_big(|c| {
            let at = c.len() * 3 / 4;
            let at = at + memchr::memchr(b'\n', &c[at..]).unwrap() + 1;
            line = c[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            c.splice(at..at, b"12x\n".iter().copied());
        });
        let msg = checked.unwrap_err().to_string();
        assert!(msg.contains(&format!(r#"line {line} "12x""#)), "{msg}");
    }

    /// Reads a checked file back through [`NormalisedIds`], after `change`
    /// has done what it likes to the file.
    fn read_back(contents: &[u8], change: impl FnOnce(&Path)) -> Result<Vec<u8>, String> {
        let path = std::env::temp_dir().join(format!(
            "compliance-ids-{}-{:?}.txt",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, contents).unwrap();
        let ids = IdFile::check(&path).unwrap();
        change(&path);
        let mut reader = NormalisedIds::open(&ids).unwrap();
        let mut out = Vec::new();
        let read = reader.read_to_end(&mut out);
        let _ = std::fs::remove_file(&path);
        match read {
            Ok(_) => Ok(out),
            Err(_) => Err(format!("{:#}", reader.check().unwrap_err())),
        }
    }

    #[test]
    fn sends_normal_files_as_they_are_and_others_normalised() {
        let normal: Vec<u8> = (0..50_000u64)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        assert_eq!(read_back(&normal, |_| {}).unwrap(), normal);
        assert_eq!(read_back(b" 1\r\n\n2", |_| {}).unwrap(), b"1\n2\n");
    }

    #[test]
    fn a_file_changed_after_its_check_fails_the_read() {
        let normal: Vec<u8> = (0..50_000u64)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        for (original, changed) in [
            (&normal[..], &b"1\nx\n"[..]),
            (b"1\r\n", b"1\ny\n"),
            (b"1\n2\n", b"1\r\n2\n"),
        ] {
            let err = read_back(original, |p| std::fs::write(p, changed).unwrap()).unwrap_err();
            assert!(
                err.contains("the file changed after it was checked"),
                "{err}"
            );
            assert_eq!(
                err.matches("compliance-ids-").count(),
                1,
                "path named once: {err}"
            );
        }
    }

    #[test]
    fn names_bad_lines_with_numbers() {
        let (res, _) = scan(b"1\nabc\n12345678901234567890\n4 5\n\n-7\n", 3);
        let msg = res.unwrap_err().to_string();
        assert_eq!(
            msg,
            "ids.txt: 4 lines not an ID (1 to 19 digits): line 2 \"abc\", \
             line 3 \"12345678901234567890\", line 4 \"4 5\", line 6 \"-7\""
        );
    }

    #[test]
    fn lists_ten_then_counts() {
        let input: Vec<u8> = (0..25)
            .flat_map(|i| format!("x{i}\n").into_bytes())
            .collect();
        let msg = scan(&input, 7).0.unwrap_err().to_string();
        assert!(msg.starts_with("ids.txt: 25 lines not an ID"), "{msg}");
        assert!(msg.contains("line 10 \"x9\""), "{msg}");
        assert!(!msg.contains("line 11 "), "{msg}");
        assert!(msg.ends_with(" and 15 more"), "{msg}");
    }

    #[test]
    fn long_lines_are_bad_and_quoted_short() {
        let mut input = b"1\n".to_vec();
        input.extend(std::iter::repeat_n(b'9', 100_000));
        input.extend(b"\n2\n");
        let msg = scan(&input, 4096).0.unwrap_err().to_string();
        assert!(msg.contains("line 2 \"9999"), "{msg}");
        assert!(msg.contains("…\""), "{msg}");
        assert!(msg.len() < 200, "{msg}");
    }

    #[test]
    fn a_file_without_ids_is_an_error() {
        for input in [&b""[..], b"\n\n", b"\xEF\xBB\xBF", b" \r\n"] {
            let msg = scan(input, 1).0.unwrap_err().to_string();
            assert_eq!(
                msg,
                "ids.txt: no ID found; the file must hold one ID per line"
            );
        }
    }

    #[test]
    fn a_bom_elsewhere_is_bad() {
        let msg = scan(b"1\n\xEF\xBB\xBF2\n", 1).0.unwrap_err().to_string();
        assert!(msg.contains(r#"line 2 "\u{feff}2""#), "{msg}");
    }
}
