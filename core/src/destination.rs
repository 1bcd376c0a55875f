//! Where a program's output goes, and how a file appears only whole.
//!
//! A regular file is written under a temporary name of its own beside the
//! target, created exclusively and locked while this run lives, then synced
//! and renamed into place: a second run to the same path writes its own
//! temporary file, and a run that dies leaves a temporary file that the next
//! run sees unlocked and removes. A FIFO or a character device (`/dev/null`)
//! cannot be replaced by a rename and is written straight through, as is
//! standard output. A FIFO whose reader goes away before the end is a
//! failure (the output did not arrive); standard output closed by its
//! reader (`| head`) keeps its broken pipe, for the program to end quietly.
//! `download-results` writes its results this way and `apply-results` its
//! clean archive: the rules are these, once.
//!
//! They hold for every [`Destination`], however it was made:
//! [`Destination::for_path`] applies them to a name given on a command
//! line, and [`Destination::create`] applies them again to the path as it
//! stands when the output starts, so that a [`Destination::File`] made by
//! hand cannot replace a symbolic link, a FIFO or a device either.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{
    bail_usage, fail, io_kind, Context as _, Error, ErrorKind, OfKind as _, Result,
};
use crate::report::Reporter;

/// Where output goes.
///
/// Whichever variant names a path, the path is written as what it is when
/// the output starts ([`Destination::create`]): a symbolic link is followed
/// (the link stays; the file it points to is replaced), a FIFO or character
/// device is written straight through, and a folder or any other kind of
/// file is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A regular file (symbolic links followed), replaced atomically once the
    /// output is whole and checked.
    File(PathBuf),
    /// A FIFO or a character device, written straight through.
    Device(PathBuf),
    /// Standard output (`-`), written as it comes.
    Stdout,
}

/// What a path is, by the rules, once its symbolic links are followed.
#[derive(Debug)]
enum Found {
    /// A regular file, or none yet: written whole, under a temporary name.
    Whole(PathBuf),
    /// A FIFO or character device: written straight through.
    Through(PathBuf),
    /// A folder: no output goes in its place.
    Folder,
    /// Another kind of file (a socket, a block device).
    Neither,
    /// A chain of links that does not end, and where it was given up.
    Loop(PathBuf),
    /// What it is could not be read.
    Unknown(io::Error),
}

impl Found {
    /// What `given` is: the one place where the rules are decided.
    fn at(given: &Path) -> Result<Found> {
        let path = match follow_links(given)? {
            Ok(path) => path,
            Err(last) => return Ok(Found::Loop(last)),
        };
        Ok(match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => Found::Folder,
            Ok(meta) if meta.is_file() => Found::Whole(path),
            Ok(meta) if is_fifo_or_char_device(&meta) => Found::Through(path),
            Ok(_) => Found::Neither,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Found::Whole(path),
            Err(e) => Found::Unknown(e),
        })
    }
}

/// How output to a [`Destination`] is written, as its path stands now.
enum Written {
    Stdout,
    /// Under a temporary name beside this path, then renamed into place.
    Whole(PathBuf),
    /// Straight to this FIFO or device.
    Through(PathBuf),
}

impl Destination {
    /// The destination a command line names with `flag` (`--results-file`,
    /// `--output`; a library user names it as its messages should, say
    /// `results file`): `-` is standard output; a FIFO or character device
    /// is written to directly; anything else must be a regular file, or a
    /// new one in a folder that exists. A symbolic link is followed, so the
    /// file it points to is the one replaced. A folder, or a path that ends
    /// in `/`, is a usage error suggesting `example` as a file name in it.
    /// Meant to be called before any work, rather than after a long one.
    pub fn for_path(flag: &str, given: &Path, example: &str) -> Result<Destination> {
        if given == Path::new("-") {
            return Ok(Destination::Stdout);
        }
        if given.as_os_str().is_empty() {
            bail_usage!("{flag} must name a file, or - for standard output");
        }
        // A name that is not text (not UTF-8) is shown lossily.
        let value = given.display();
        let last = given.as_os_str().as_encoded_bytes().last().copied();
        if last.is_some_and(|b| std::path::is_separator(char::from(b))) {
            bail_usage!(
                "{flag} {value} names a folder; give a file name, such as {value}{example}"
            );
        }
        let path = match Found::at(given)? {
            Found::Whole(path) => path,
            Found::Through(path) => return Ok(Destination::Device(path)),
            Found::Folder => bail_usage!(
                "{flag} {value} is a folder; give a file name, such as {}",
                given.join(example).display()
            ),
            Found::Neither => bail_usage!(
                "{flag} {value} is neither a regular file, a FIFO nor a character device"
            ),
            Found::Loop(last) => bail_usage!(
                "{flag} {}: too many levels of symbolic links",
                last.display()
            ),
            Found::Unknown(e) => bail_usage!("{flag} {value}: {e}"),
        };
        let folder = folder_of(&path);
        if !folder.is_dir() {
            bail_usage!(
                "{flag} {value}: the folder {} does not exist",
                folder.display()
            );
        }
        Ok(Destination::File(path))
    }

    /// How to name it in a message: the path, or "standard output".
    pub fn describe(&self) -> String {
        match self {
            Destination::File(path) | Destination::Device(path) => path.display().to_string(),
            Destination::Stdout => "standard output".to_string(),
        }
    }

    /// The path written to, if it is not standard output.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Destination::File(path) | Destination::Device(path) => Some(path),
            Destination::Stdout => None,
        }
    }

    /// How the output is written: by the rules, applied to the path as it
    /// stands now, whichever variant names it (a `File` may have been made
    /// by hand, or the path changed since [`for_path`](Self::for_path)).
    fn written(&self) -> Result<Written> {
        let given = match self {
            Destination::Stdout => return Ok(Written::Stdout),
            Destination::File(path) | Destination::Device(path) => path,
        };
        let shown = given.display();
        match Found::at(given)? {
            Found::Whole(path) => Ok(Written::Whole(path)),
            Found::Through(path) => Ok(Written::Through(path)),
            Found::Folder => fail!(Usage, "{shown} is a folder; the output must go to a file"),
            Found::Neither => fail!(
                Usage,
                "{shown} is neither a regular file, a FIFO nor a character device"
            ),
            Found::Loop(last) => fail!(
                Usage,
                "{}: too many levels of symbolic links",
                last.display()
            ),
            Found::Unknown(e) => Err(e).with_context(|| format!("cannot write to {shown}")),
        }
    }

    /// Starts writing: a temporary file of this run's own beside a regular
    /// file, the FIFO or device itself, or standard output, by the rules
    /// applied to the path as it is now (see [`Destination`]). What is
    /// written reaches a regular file's path only with [`Sink::finish`]; a
    /// sink dropped before that leaves the path as it was. Its notes (a
    /// stale temporary file removed, a device written straight) go to
    /// `reporter`.
    ///
    /// A folder where no file can be written fails here (exit 1), so a
    /// program that creates its sink before a long wait finds it at once. A
    /// FIFO or device is opened at the first write (or at `finish`): opening
    /// a FIFO waits for its reader, which must not hold up the work before.
    pub fn create(&self, reporter: &Reporter) -> Result<Sink> {
        let to = match self.written()? {
            Written::Stdout => To::Stdout(io::stdout()),
            Written::Through(path) => To::Device {
                path,
                file: None,
                reporter: reporter.clone(),
            },
            Written::Whole(path) => To::File {
                part: PartFile::create(&path, reporter)?,
                written: 0,
                started: 0,
            },
        };
        Ok(Sink { to })
    }

    /// Checks, before any work, that the output can be written where a run
    /// would write it: the temporary file of a regular file is created
    /// beside it and removed at once. A FIFO or device is not opened (a FIFO
    /// would wait for its reader). A folder where no file can be written is
    /// an error (exit 1).
    pub fn check(&self, reporter: &Reporter) -> Result<()> {
        if let Written::Whole(path) = self.written()? {
            PartFile::create(&path, reporter)?;
        }
        Ok(())
    }
}

pub use crate::error::ReaderGone;

/// The error of a write to standard output: a broken pipe becomes
/// [`ReaderGone`] (still of kind `BrokenPipe`); any other stays as it is.
pub fn on_stdout(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::BrokenPipe => io::Error::new(io::ErrorKind::BrokenPipe, ReaderGone),
        _ => e,
    }
}

/// Output being written to a [`Destination`]; see [`Destination::create`].
pub struct Sink {
    to: To,
}

enum To {
    Stdout(io::Stdout),
    /// A FIFO or device, opened at the first write.
    Device {
        path: PathBuf,
        file: Option<File>,
        reporter: Reporter,
    },
    /// A temporary file, whose data is handed to the disk every
    /// [`WRITEBACK_STEP`] bytes (`started` is where the last handing began).
    File {
        part: PartFile,
        written: u64,
        started: u64,
    },
}

impl Sink {
    /// Ends the output: flushed; a regular file synced and renamed into
    /// place. Call it only once the output is whole and right.
    pub fn finish(mut self) -> Result<()> {
        match self.to {
            To::Stdout(mut out) => out.flush().map_err(on_stdout).map_err(io_error),
            // Opened even when nothing was written: its reader gets its end.
            To::Device { .. } => self.flush().map_err(io_error),
            To::File { part, .. } => part.persist(),
        }
    }
}

/// An I/O error as it is, of its kind ([`io_kind`]): the caller says where.
fn io_error(e: io::Error) -> Error {
    Error::from_source(io_kind(&e), e)
}

/// Opens the device at its first use.
fn opened<'f>(
    file: &'f mut Option<File>,
    path: &Path,
    reporter: &Reporter,
) -> io::Result<&'f mut File> {
    match file {
        Some(file) => Ok(file),
        None => Ok(file.insert(open_device(path, reporter)?)),
    }
}

/// A FIFO's reader that went away before the end is not a pager that was
/// quit: the output did not arrive whole. Said in words, and no longer a
/// broken pipe, so that it is not taken for standard output closed early.
fn reader_gone(e: io::Error, path: &Path) -> io::Error {
    match e.kind() {
        io::ErrorKind::BrokenPipe => io::Error::other(format!(
            "the reader of {} closed it before the end: it did not get the whole output",
            path.display()
        )),
        _ => e,
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.to {
            To::Stdout(out) => out.write(buf).map_err(on_stdout),
            To::Device {
                path,
                file,
                reporter,
            } => opened(file, path, reporter)?
                .write(buf)
                .map_err(|e| reader_gone(e, path)),
            To::File {
                part,
                written,
                started,
            } => {
                let n = part.file.write(buf)?;
                *written += n as u64;
                if *written - *started >= WRITEBACK_STEP {
                    start_writeback(&part.file, *started, *written);
                    *started = *written;
                }
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.to {
            To::Stdout(out) => out.flush().map_err(on_stdout),
            To::Device {
                path,
                file,
                reporter,
            } => opened(file, path, reporter)?
                .flush()
                .map_err(|e| reader_gone(e, path)),
            To::File { .. } => Ok(()),
        }
    }
}

/// The folder a file is in; `.` for a bare name.
pub(crate) fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Opens a FIFO or character device for writing, as it is.
fn open_device(path: &Path, reporter: &Reporter) -> io::Result<File> {
    reporter.note(format!(
        "writing straight to {} (not a regular file: no temporary file, no rename)",
        path.display()
    ));
    OpenOptions::new().write(true).open(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot open {} for writing: {e}", path.display()),
        )
    })
}

/// A temporary file of this run's own beside the destination: created
/// exclusively, locked while the run lives, removed unless persisted.
struct PartFile {
    file: File,
    part: PathBuf,
    path: PathBuf,
    persisted: bool,
}

impl PartFile {
    /// Creates the temporary file for `path`, after removing those that runs
    /// which have died left beside it.
    fn create(path: &Path, reporter: &Reporter) -> Result<PartFile> {
        let name = path
            .file_name()
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Io,
                    format!("{}: not a file name", path.display()),
                )
            })?
            .to_string_lossy()
            .into_owned();
        let folder = folder_of(path);
        remove_stale_parts(folder, &name, reporter);
        let (file, part) = create_unique(folder, &name)?;
        // The lock says "a live run writes this": other runs leave it alone.
        file.try_lock()
            .of_kind(ErrorKind::Io)
            .with_context(|| format!("cannot lock {}", part.display()))?;
        // Replacing a file keeps its permissions (a 0600 file stays 0600).
        if let Some(meta) = fs::metadata(path).ok().filter(fs::Metadata::is_file) {
            file.set_permissions(meta.permissions())
                .with_context(|| format!("cannot set the permissions of {}", part.display()))?;
        }
        Ok(PartFile {
            file,
            part,
            path: path.to_path_buf(),
            persisted: false,
        })
    }

    /// Makes the temporary file the results file: its data on disk first,
    /// then the rename, then the folder's entry on disk.
    fn persist(mut self) -> Result<()> {
        self.file
            .sync_data()
            .with_context(|| format!("writing {}", self.part.display()))?;
        // Rename only the file this run wrote and checked.
        if !same_file(&self.file, &self.part) {
            fail!(
                Io,
                "{} was replaced by another program while the results were written; \
                 nothing was renamed to {}",
                self.part.display(),
                self.path.display()
            );
        }
        fs::rename(&self.part, &self.path).with_context(|| {
            format!(
                "cannot move {} to {}",
                self.part.display(),
                self.path.display()
            )
        })?;
        self.persisted = true;
        sync_folder(folder_of(&self.path));
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.persisted && same_file(&self.file, &self.part) {
            let _ = fs::remove_file(&self.part);
        }
    }
}

/// The temporary name for a results file `name`: `.NAME.PID-RANDOM.part`.
fn part_name(name: &str, random: u32) -> String {
    format!(".{name}.{}-{random:08x}.part", std::process::id())
}

/// Whether `file_name` is a temporary file of a run for `name`: ours, or
/// the `.NAME.part` of versions before the names were unique.
fn is_part_of(file_name: &str, name: &str) -> bool {
    if file_name
        .strip_prefix('.')
        .and_then(|s| s.strip_prefix(name))
        == Some(".part")
    {
        return true;
    }
    let Some(middle) = file_name
        .strip_prefix('.')
        .and_then(|s| s.strip_prefix(name))
        .and_then(|s| s.strip_prefix('.'))
        .and_then(|s| s.strip_suffix(".part"))
    else {
        return false;
    };
    match middle.split_once('-') {
        Some((pid, random)) => {
            !pid.is_empty()
                && pid.bytes().all(|b| b.is_ascii_digit())
                && random.len() == 8
                && random.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

fn create_unique(folder: &Path, name: &str) -> Result<(File, PathBuf)> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    for _ in 0..16 {
        let part = folder.join(part_name(name, random_u32()));
        match options.open(&part) {
            Ok(file) => return Ok((file, part)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // A folder that exists but takes no file: a file that cannot be
            // written (exit 1), not a usage error.
            Err(e) => fail!(
                Io,
                "cannot create a file in {} (for {name}): {e}",
                folder.display()
            ),
        }
    }
    fail!(
        Io,
        "cannot create a temporary file in {}: every name tried exists",
        folder.display()
    )
}

/// Removes the temporary files for `name` in `folder` that no live run holds
/// locked: what runs that died left behind. Best effort.
fn remove_stale_parts(folder: &Path, name: &str, reporter: &Reporter) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        if !is_part_of(&file_name.to_string_lossy(), name) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() && same_file(&file, &path) {
            let _ = fs::remove_file(&path);
            reporter.note(format!(
                "removed {}, left by an interrupted download",
                path.display()
            ));
        }
    }
}

/// Whether `path` names the file open as `file`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.is_file()
}

/// Puts a folder's entries on disk, so that a rename survives a power loss.
/// Best effort: some file systems cannot sync a folder.
fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}

/// A random number for a file name: unique enough beside the process id.
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish() as u32
}

/// How much is written between two starts of writeback.
///
/// Output must be on disk before the file is renamed into place; syncing
/// 700 MB at the end alone took a third of a download here. Started early,
/// the disk writes overlap the work and the final sync has little left.
const WRITEBACK_STEP: u64 = 32 * 1024 * 1024;

/// Starts writing bytes `from..to` of `file` to disk, without waiting.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn start_writeback(file: &File, from: u64, to: u64) {
    use std::os::fd::AsRawFd as _;
    let (offset, len) = (from as i64, (to - from) as i64);
    // SAFETY: sync_file_range only reads its integer arguments; the file
    // descriptor stays open while `file` is borrowed. A failure only means
    // the final sync does all the work, so its result is ignored.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: u64) {}

/// Follows a chain of symbolic links to the path it ends at, which need not
/// exist yet (a link to a file the first run creates); `Err` holds where a
/// chain too long to end was given up.
fn follow_links(path: &Path) -> Result<std::result::Result<PathBuf, PathBuf>> {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&path)
                    .with_context(|| format!("cannot read the link {}", path.display()))?;
                path = folder_of(&path).join(target);
            }
            _ => return Ok(Ok(path)),
        }
    }
    Ok(Err(path))
}

#[cfg(unix)]
fn is_fifo_or_char_device(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    meta.file_type().is_fifo() || meta.file_type().is_char_device()
}

#[cfg(not(unix))]
fn is_fifo_or_char_device(_: &fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_folder(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "compliance-dest-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_sink_writes_every_byte_and_appears_only_when_finished() {
        let dir = temp_folder("sink");
        let path = dir.join("out");
        let dest = Destination::File(path.clone());
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut sink = dest.create(&Reporter::silent()).unwrap();
        for piece in data.chunks(3000) {
            sink.write_all(piece).unwrap();
        }
        assert!(!path.exists(), "not before finish");
        sink.finish().unwrap();
        assert_eq!(fs::read(&path).unwrap(), data);
        let mut dropped = dest.create(&Reporter::silent()).unwrap();
        dropped.write_all(b"half").unwrap();
        drop(dropped);
        assert_eq!(
            fs::read(&path).unwrap(),
            data,
            "a sink dropped changes nothing"
        );
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_check_leaves_nothing_behind_and_finds_a_folder_that_takes_no_file() {
        let dir = temp_folder("check");
        let dest = Destination::File(dir.join("r.jsonl"));
        dest.check(&Reporter::silent()).unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "nothing left");
        let gone = Destination::File(dir.join("no-such-folder").join("r.jsonl"));
        let err = gone.check(&Reporter::silent()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err:#}");
        assert!(
            err.to_string().starts_with("cannot create a file in "),
            "{err}"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn part_names_are_recognised_exactly() {
        let name = part_name("r.jsonl", 0xdead_beef);
        assert!(is_part_of(&name, "r.jsonl"), "{name}");
        assert!(!is_part_of(&name, "r"));
        assert!(is_part_of(".r.jsonl.part", "r.jsonl"), "the old name");
        assert!(!is_part_of(".r.jsonl.12-xyz.part", "r.jsonl"));
        assert!(!is_part_of("r.jsonl.12-deadbeef.part", "r.jsonl"));
    }

    #[test]
    fn two_runs_write_their_own_files_and_stale_ones_go() {
        let dir = temp_folder("runs");
        let path = dir.join("r.jsonl");
        // A run that died: its file is there, unlocked.
        let stale = dir.join(part_name("r.jsonl", 1));
        fs::write(&stale, b"half").unwrap();
        let mut first = PartFile::create(&path, &Reporter::silent()).unwrap();
        assert!(!stale.exists(), "a dead run's file is removed");
        // A second run while the first lives: the first's file stays.
        let mut second = PartFile::create(&path, &Reporter::silent()).unwrap();
        assert!(first.part.exists() && second.part.exists());
        assert_ne!(first.part, second.part);
        first.file.write_all(b"one\n").unwrap();
        second.file.write_all(b"two\n").unwrap();
        second.persist().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
        first.persist().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one\n");
        let names: Vec<_> = fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_replaced_temporary_file_is_not_renamed() {
        let dir = temp_folder("swap");
        let path = dir.join("r.jsonl");
        let part = PartFile::create(&path, &Reporter::silent()).unwrap();
        let name = part.part.clone();
        fs::remove_file(&name).unwrap();
        fs::write(&name, b"someone else's\n").unwrap();
        let err = part.persist().unwrap_err().to_string();
        assert!(err.contains("replaced by another program"), "{err}");
        assert!(!path.exists());
        assert_eq!(fs::read(&name).unwrap(), b"someone else's\n", "left alone");
        let _ = fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn replacing_a_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp_folder("mode");
        let path = dir.join("r.jsonl");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let mut part = PartFile::create(&path, &Reporter::silent()).unwrap();
        part.file.write_all(b"new").unwrap();
        part.persist().unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let _ = fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_name_that_is_not_text_is_the_file_named_and_shown_lossily() {
        use std::os::unix::ffi::OsStrExt as _;
        let dir = temp_folder("bytes");
        let file = dir.join(std::ffi::OsStr::from_bytes(b"r\xe9.jsonl"));
        assert_eq!(
            Destination::for_path("--output", &file, "x").unwrap(),
            Destination::File(file.clone())
        );
        let folder = dir.join(std::ffi::OsStr::from_bytes(b"f\xe9"));
        fs::create_dir(&folder).unwrap();
        let err = Destination::for_path("--output", &folder, "x").unwrap_err();
        assert!(err.to_string().contains("f\u{fffd} is a folder"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_broken_pipe_of_standard_output_says_its_reader_has_gone() {
        let e = on_stdout(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        assert!(e.get_ref().is_some_and(|inner| inner.is::<ReaderGone>()));
        let other = on_stdout(io::Error::other("disk full"));
        assert!(other
            .get_ref()
            .is_some_and(|inner| !inner.is::<ReaderGone>()));
    }

    #[cfg(unix)]
    #[test]
    fn destinations_by_kind() {
        let dir = std::env::temp_dir().join(format!(
            "compliance-flags-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let text = |p: &Path| p.to_str().unwrap().to_string();
        let for_path =
            |value: &str| Destination::for_path("--results-file", Path::new(value), "r.jsonl");
        assert_eq!(for_path("-").unwrap(), Destination::Stdout);
        // Only read: /dev/null is not written here.
        assert_eq!(
            for_path("/dev/null").unwrap(),
            Destination::Device(PathBuf::from("/dev/null"))
        );
        let file = dir.join("r.jsonl");
        assert_eq!(
            for_path(&text(&file)).unwrap(),
            Destination::File(file.clone())
        );
        // A link is followed, even to a file not there yet.
        let link = dir.join("link.jsonl");
        std::os::unix::fs::symlink("r.jsonl", &link).unwrap();
        assert_eq!(
            for_path(&text(&link)).unwrap(),
            Destination::File(dir.join("r.jsonl"))
        );
        for bad in [
            format!("{}/", text(&dir)),
            text(&dir),
            text(&dir.join("no/such/folder.jsonl")),
            String::new(),
        ] {
            let err = for_path(&bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Usage, "{bad}: {err}");
        }
        let _ = fs::remove_dir_all(&dir);
    }

    /// Writes `data` to `dest` as a program does: a sink, then `finish`.
    fn write_whole(dest: &Destination, data: &[u8]) -> Result<()> {
        let mut sink = dest.create(&Reporter::silent())?;
        sink.write_all(data).context("writing")?;
        sink.finish()
    }

    #[cfg(unix)]
    #[test]
    fn a_link_made_by_hand_is_written_through_and_stays_a_link() {
        let dir = temp_folder("link");
        let target = dir.join("r.jsonl");
        let link = dir.join("link.jsonl");
        std::os::unix::fs::symlink("r.jsonl", &link).unwrap();
        let is_link = || {
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        };
        // A link to a file not there yet: the first run makes the file.
        write_whole(&Destination::File(link.clone()), b"first\n").unwrap();
        assert!(is_link(), "the link stays a link");
        assert_eq!(fs::read(&target).unwrap(), b"first\n");
        write_whole(&Destination::File(link.clone()), b"second\n").unwrap();
        assert!(is_link(), "the link stays a link");
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("r.jsonl"));
        assert_eq!(fs::read(&target).unwrap(), b"second\n");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2, "no temporary file");
        let _ = fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn dev_null_made_by_hand_is_written_not_replaced() {
        use std::os::unix::fs::FileTypeExt as _;
        let null = Path::new("/dev/null");
        let parts_beside = || {
            fs::read_dir("/dev")
                .unwrap()
                .flatten()
                .filter(|e| is_part_of(&e.file_name().to_string_lossy(), "null"))
                .count()
        };
        for dest in [
            Destination::File(null.to_path_buf()),
            Destination::for_path("--output", null, "out.jsonl").unwrap(),
        ] {
            let mut sink = dest.create(&Reporter::silent()).unwrap();
            // Asserted before `finish`: had a temporary file been made, the
            // failed test drops it, and nothing is renamed over /dev/null.
            assert_eq!(parts_beside(), 0, "{dest:?}: a temporary file in /dev");
            sink.write_all(b"gone\n").unwrap();
            sink.finish().unwrap();
            let kind = fs::symlink_metadata(null).unwrap().file_type();
            assert!(kind.is_char_device(), "{dest:?}: /dev/null was replaced");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_made_by_hand_is_streamed_to_its_reader() {
        use std::os::unix::fs::FileTypeExt as _;
        let dir = temp_folder("fifo");
        let fifo = dir.join("r.jsonl");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let reader = std::thread::spawn({
            let fifo = fifo.clone();
            move || fs::read(fifo)
        });
        let mut sink = Destination::File(fifo.clone())
            .create(&Reporter::silent())
            .unwrap();
        // Before any write: a temporary file beside the FIFO would be
        // renamed over it, and its reader would wait for ever.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "a temporary file");
        sink.write_all(b"streamed\n").unwrap();
        sink.finish().unwrap();
        let kind = fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "the FIFO was replaced");
        assert_eq!(reader.join().unwrap().unwrap(), b"streamed\n");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_folder_made_by_hand_is_refused_before_anything_is_written() {
        let dir = temp_folder("folder");
        let dest = Destination::File(dir.clone());
        let Err(err) = dest.create(&Reporter::silent()) else {
            panic!("a sink for a folder");
        };
        assert_eq!(err.kind(), ErrorKind::Usage, "{err:#}");
        assert_eq!(
            err.to_string(),
            format!(
                "{} is a folder; the output must go to a file",
                dir.display()
            )
        );
        assert_eq!(
            dest.check(&Reporter::silent()).unwrap_err().kind(),
            ErrorKind::Usage
        );
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let parts = fs::read_dir(folder_of(&dir))
            .unwrap()
            .flatten()
            .filter(|e| is_part_of(&e.file_name().to_string_lossy(), &name))
            .count();
        assert_eq!(parts, 0, "no temporary file beside the folder");
        let _ = fs::remove_dir_all(&dir);
    }
}
