//! A pseudo-terminal for a stage's standard output: what a program prints
//! for a person at a terminal rather than for a pipe (Linux only).

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::process::Stdio;
use std::thread::JoinHandle;

/// A pseudo-terminal: its terminal end goes to a stage as standard output
/// ([`Terminal::stdout`], for [`Stage::stdout`](crate::Stage::stdout)),
/// and what the stage prints there is read from the other end as it comes,
/// so that a stage never blocks on a full terminal.
pub struct Terminal {
    terminal_end: Option<File>,
    read: JoinHandle<io::Result<Vec<u8>>>,
}

impl Terminal {
    /// Opens a new pseudo-terminal.
    pub fn open() -> Terminal {
        // Both ends close on exec (std's `open` sets O_CLOEXEC), so that a
        // stage another test starts meanwhile keeps neither open: the
        // reader's end of file is this stage's exit alone.
        let mut main_end = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open("/dev/ptmx")
            .expect("open /dev/ptmx");
        let fd = main_end.as_raw_fd();
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: `fd` is open for the whole block; `name` is a buffer of
        // the length given, which ptsname_r ends with a NUL when it succeeds.
        let path = unsafe {
            assert_eq!(libc::grantpt(fd), 0, "grantpt");
            assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
            assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
            std::ffi::CStr::from_ptr(name.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        let terminal_end = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&path)
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
        let read = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            match main_end.read_to_end(&mut bytes) {
                // Linux ends the reads with EIO once the terminal end has
                // closed everywhere: here, the stage has exited.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(bytes),
                Err(e) => Err(e),
                Ok(_) => Ok(bytes),
            }
        });
        Terminal {
            terminal_end: Some(terminal_end),
            read,
        }
    }

    /// The terminal end, for one stage's standard output.
    pub fn stdout(&mut self) -> Stdio {
        self.terminal_end
            .take()
            .expect("one stage per terminal")
            .into()
    }

    /// What the stage printed, as the terminal shows it: its line ends are
    /// `\r\n` there (the terminal adds the `\r`), `\n` here. Call it once
    /// the stage has exited.
    pub fn text(mut self) -> String {
        drop(self.terminal_end.take());
        let bytes = self
            .read
            .join()
            .expect("the terminal's reader")
            .expect("read the terminal");
        String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
    }
}

/// Runs `stage` with `args`, its standard output a terminal: what it
/// exited with, and what the terminal showed (line ends as `\n`).
pub fn on_a_terminal(stage: crate::Stage, args: &[&str]) -> (crate::Output, String) {
    let mut terminal = Terminal::open();
    let out = stage.stdout(terminal.stdout()).run(args);
    (out, terminal.text())
}

/// A time of the API's (`2026-12-03T10:15:00.000Z`) as the jobs table
/// shows it: `2026-12-03 10:15Z`.
pub fn to_the_minute(at: &serde_json::Value) -> String {
    let at = at.as_str().expect("a time");
    format!("{} {}Z", &at[..10], &at[11..16])
}

/// The cells of a table as the programs print it for a terminal (a header
/// row, then columns two spaces apart), in the column headed `title`: one
/// per row after the header, read from where the title starts. A cell not
/// right under its title comes out cut or with its neighbour's text, so a
/// test of it sees the columns out of line.
pub fn column<'a>(table: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    let at = header
        .find(title)
        .unwrap_or_else(|| panic!("no column {title:?} in:\n{table}"));
    lines
        .map(|line| {
            let cell = line.get(at..).unwrap_or_default();
            cell.split("  ").next().unwrap_or_default()
        })
        .collect()
}
