//! The errors of this crate, and the exit code each leads to.
//!
//! Errors travel as [`anyhow::Error`] with context at every boundary (which
//! file, which host, which job); the types here sit in that chain and say
//! what kind of failure it is:
//!
//! | type | what happened | exit code |
//! |---|---|---|
//! | [`UsageError`] | a bad flag or value, a bad ID file, no token, `https://` to a plain-HTTP server on this machine | 2 ([`EXIT_USAGE`]) |
//! | [`IdFileError`] | an ID file with bad lines or no ID (inside a usage error) | 2 |
//! | [`NotFound`] | no job with that id or name | 1 ([`EXIT_FAILED`]) |
//! | [`ApiError`] | the API answered with an error status | 1 |
//! | [`StorageError`] | storage answered with an error status | 1 |
//! | [`Transient`] | the connection failed or broke, a read stalled: worth another try | 1 |
//! | [`Unreachable`] | nothing listens there, or no such host: worth one quick try more | 1 |
//!
//! Anything else (a file that cannot be written, an answer that makes no
//! sense) is a plain `anyhow` error: exit code 1.

mod api;

use std::fmt;

pub use api::ApiError;
pub(crate) use api::{describe_error_item, one_line, MAX_ERROR_BODY};

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code for a failure of the API, the network, a file or the job.
pub const EXIT_FAILED: i32 = 1;
/// Exit code for a usage or input error.
pub const EXIT_USAGE: i32 = 2;

/// An error in what the user asked for: a flag, a value, an input file.
///
/// Anywhere in an error's chain, it makes the process exit with [`EXIT_USAGE`].
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns early with a [`UsageError`] built like `format!`.
#[macro_export]
macro_rules! usage_bail {
    ($($arg:tt)*) => {
        return Err($crate::anyhow::Error::new($crate::error::UsageError(format!($($arg)*))))
    };
}

/// Returns early with a [`UsageError`] built like `format!`: the crate's own
/// [`usage_bail!`](crate::usage_bail).
macro_rules! bail_usage {
    ($($arg:tt)*) => {
        return Err($crate::error::usage(format!($($arg)*)))
    };
}
pub(crate) use bail_usage;

/// A [`UsageError`] of `message`, as an [`anyhow::Error`].
pub(crate) fn usage(message: String) -> anyhow::Error {
    anyhow::Error::new(UsageError(message))
}

/// The exit code an error leads to.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    if e.chain().any(|c| c.is::<UsageError>()) {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    }
}

/// A value that is not one of its kind: what it should be, e.g. "tweets or
/// users". `cli` names the flag; the API's own values are read leniently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotValid(pub String);

impl fmt::Display for NotValid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "must be {}", self.0)
    }
}

impl std::error::Error for NotValid {}

/// A job was not found: by id (the API's `resource-not-found`) or by name.
#[derive(Debug)]
pub struct NotFound(pub String);

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFound {}

/// A failure that another attempt may cure: the connection failed or broke,
/// or a read stalled. Put in an error's chain by the code that saw it.
#[derive(Debug)]
pub struct Transient(pub String);

impl fmt::Display for Transient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Transient {}

/// A server that cannot be reached at all: the connection was refused, or
/// its host name is unknown. Most likely it is not running, or the name is
/// wrong: worth one quick try more, not minutes of them.
#[derive(Debug)]
pub struct Unreachable(pub String);

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

/// An error answer from storage, with what its XML body said.
#[derive(Debug)]
pub struct StorageError {
    /// What was asked, and of which host.
    pub request: String,
    /// The HTTP status.
    pub status: u16,
    /// The error's code, message and details.
    pub said: String,
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: storage refused with HTTP {}: {}",
            self.request, self.status, self.said
        )?;
        if self.said.starts_with("ExpiredToken") {
            match self.request.starts_with("download") {
                true => write!(
                    f,
                    "; the results have expired (7 days after the job was created): \
                     a new job is needed to check these IDs again"
                )?,
                false => write!(
                    f,
                    "; the upload URL has expired: create a new job and upload to it"
                )?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for StorageError {}

/// The longest an ID may be: the API's `^[0-9]{1,19}$`.
pub const MAX_ID_DIGITS: usize = 19;

/// How many bad lines an error lists before it only counts the rest.
pub const MAX_LISTED_BAD_LINES: usize = 10;

/// A line that is not an ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: u64,
    /// The start of the line, as text (invalid UTF-8 shown as U+FFFD).
    pub content: String,
}

/// Why an ID file cannot be sent: bad lines, or no ID at all. Shows as one
/// line naming the file.
#[derive(Debug)]
pub struct IdFileError {
    pub(crate) name: String,
    pub(crate) bad: Vec<BadLine>,
    pub(crate) bad_total: u64,
}

impl IdFileError {
    /// The first bad lines, at most [`MAX_LISTED_BAD_LINES`], in file order.
    pub fn bad_lines(&self) -> &[BadLine] {
        &self.bad
    }

    /// How many lines are bad in all (0: the file holds no ID).
    pub fn bad_total(&self) -> u64 {
        self.bad_total
    }

    /// What is wrong, without the file's name.
    pub(crate) fn what(&self) -> String {
        if self.bad_total == 0 {
            return "no ID found; the file must hold one ID per line".to_string();
        }
        let plural = if self.bad_total == 1 { "" } else { "s" };
        let mut what = format!(
            "{} line{plural} not an ID (1 to {MAX_ID_DIGITS} digits): ",
            self.bad_total
        );
        for (i, b) in self.bad.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            what += &format!("{sep}line {} {:?}", b.line, b.content);
        }
        let unlisted = self.bad_total - self.bad.len() as u64;
        if unlisted > 0 {
            what += &format!(" and {unlisted} more");
        }
        what
    }
}

impl fmt::Display for IdFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.what())
    }
}

impl std::error::Error for IdFileError {}
