//! The one error type of this crate, [`Error`], and the exit code each
//! failure leads to.
//!
//! Every failure has an [`ErrorKind`], given where the failure is seen and
//! nowhere else: an [`Error`] cannot be made without one (there is no
//! conversion from an error of no kind). What a failure means is then read
//! from its kind in one place each: whether it is worth another try
//! ([`retry`](crate::retry)), the exit code ([`ErrorKind::exit_code`]), and
//! whether a closed standard output ends a program quietly. The answers of
//! servers are given their kind in one place too: the API's by
//! [`ApiError::kind_of_status`], storage's by [`StorageError::kind`], and a
//! request that got no answer in one place too (the crate's `wire` module).
//!
//! An error carries context at every boundary (which file, which host,
//! which job): [`Context::context`] adds it and keeps the kind. `{:#}`
//! shows the whole chain on one line, outermost first.
//!
//! | kind | what happened | exit code |
//! |---|---|---|
//! | [`Usage`](ErrorKind::Usage) | a bad flag or value, a bad ID file, no token, `https://` to a plain-HTTP server on this machine | 2 ([`EXIT_USAGE`]) |
//! | [`Auth`](ErrorKind::Auth) | the API refused the token (401, 403) | 1 ([`EXIT_FAILED`]) |
//! | [`NotFound`](ErrorKind::NotFound) | no job with that id or name, no object at a URL | 1 |
//! | [`Conflict`](ErrorKind::Conflict) | the request clashes with the jobs there are (409) | 1 |
//! | [`RateLimited`](ErrorKind::RateLimited) | too many requests (429): tried again once the limit resets | 1 |
//! | [`Transient`](ErrorKind::Transient) | the connection failed or broke, a read stalled: no answer came; worth another try | 1 |
//! | [`Unavailable`](ErrorKind::Unavailable) | the server failed or is overloaded (500, 502, 503, 504): worth another try | 1 |
//! | [`Unreachable`](ErrorKind::Unreachable) | nothing listens there, or no such host: worth one quick try more | 1 |
//! | [`Refused`](ErrorKind::Refused) | a server refused for another reason (another 4xx): a retry would repeat it | 1 |
//! | [`BadAnswer`](ErrorKind::BadAnswer) | an answer that makes no sense: not JSON, too large, not what was asked | 1 |
//! | [`Integrity`](ErrorKind::Integrity) | what arrived is not what was stored: a hash, a length, a results line | 1 |
//! | [`Job`](ErrorKind::Job) | the job failed, expired or moved on | 1 |
//! | [`Io`](ErrorKind::Io) | a local file or stream could not be read or written | 1 |
//! | [`ReaderGone`](ErrorKind::ReaderGone) | standard output's reader has gone (`\| head`) | 0 where nothing that matters is lost ([`Error::mattered`]) |

mod api;

use std::fmt;
use std::io;

pub(crate) use api::{describe_error_item, one_line, MAX_ERROR_BODY};
pub use api::{ApiError, GUESSED_RESET};

use crate::time::Timestamp;

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code for a failure of the API, the network, a file or the job.
pub const EXIT_FAILED: i32 = 1;
/// Exit code for a usage or input error.
pub const EXIT_USAGE: i32 = 2;

/// The result of this crate's calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is: what decides whether it is tried
/// again and which exit code it leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// What the user asked for is wrong: a flag, a value, an input file,
    /// the environment. Exit code 2.
    Usage,
    /// The API refused the token (401, 403).
    Auth,
    /// No job with that id or name, or no object at a URL (404).
    NotFound,
    /// The request clashes with the jobs there are (409).
    Conflict,
    /// Too many requests (429): worth another try once the limit resets.
    RateLimited,
    /// The connection failed or broke, or a read stalled: no answer came
    /// (the request may still have arrived). Worth another try.
    Transient,
    /// The server answered that it failed or is overloaded (500, 502, 503,
    /// 504): worth another try.
    Unavailable,
    /// Nothing listens there, or the host name is unknown: most likely the
    /// server is not running or the name is wrong; one quick try more.
    Unreachable,
    /// A server refused the request for another reason (another 4xx, a
    /// signature refused): another try would get the same answer.
    Refused,
    /// An answer that makes no sense: not JSON, too large, not what was asked.
    BadAnswer,
    /// What arrived is not what was stored or sent: a hash, a length, a
    /// line of results that is not one.
    Integrity,
    /// The job failed, expired or moved on under the program.
    Job,
    /// A local file or stream could not be read or written.
    Io,
    /// Standard output's reader has gone (`| head`): the reader chose to
    /// stop, which ends a program quietly unless something that matters is
    /// lost with it ([`Error::mattered`]).
    ReaderGone,
}

impl ErrorKind {
    /// The exit code a failure of this kind leads to: [`EXIT_USAGE`] for
    /// [`Usage`](ErrorKind::Usage), [`EXIT_OK`] for
    /// [`ReaderGone`](ErrorKind::ReaderGone), else [`EXIT_FAILED`].
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Usage => EXIT_USAGE,
            ErrorKind::ReaderGone => EXIT_OK,
            _ => EXIT_FAILED,
        }
    }
}

/// The earliest time a server set for another try, and how it set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAt {
    /// A 429's `x-rate-limit-reset` (or its `Retry-After`, if later).
    Reset(Timestamp),
    /// `Retry-After` alone.
    Asked(Timestamp),
    /// A 429 that gave no time: a minute from then, a guess.
    Guessed(Timestamp),
}

impl RetryAt {
    /// The time itself.
    pub fn at(self) -> Timestamp {
        match self {
            RetryAt::Reset(at) | RetryAt::Asked(at) | RetryAt::Guessed(at) => at,
        }
    }
}

/// A failure of this crate: its [`ErrorKind`], what happened with its
/// context (`{:#}` shows the whole chain on one line), and for a server's
/// refusal, when it may be tried again.
pub struct Error {
    kind: ErrorKind,
    retry_at: Option<RetryAt>,
    chain: anyhow::Error,
}

impl Error {
    /// An error of `kind` saying `message`.
    pub fn new(
        kind: ErrorKind,
        message: impl fmt::Display + fmt::Debug + Send + Sync + 'static,
    ) -> Error {
        Error {
            kind,
            retry_at: None,
            chain: anyhow::Error::msg(message),
        }
    }

    /// An error of `kind` whose cause is `source` (kept in the chain).
    pub fn from_source(
        kind: ErrorKind,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            kind,
            retry_at: None,
            chain: anyhow::Error::new(source),
        }
    }

    /// A [`Usage`](ErrorKind::Usage) error saying `message`.
    pub fn usage(message: impl fmt::Display + fmt::Debug + Send + Sync + 'static) -> Error {
        Error::new(ErrorKind::Usage, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The exit code this error leads to (see [`ErrorKind::exit_code`]).
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }

    /// When the server asked to be tried again, if it did.
    pub fn retry_at(&self) -> Option<RetryAt> {
        self.retry_at
    }

    /// This error with the time the server set for another try.
    pub(crate) fn with_retry_at(mut self, at: Option<RetryAt>) -> Error {
        self.retry_at = at;
        self
    }

    /// This error with `context` around it, of the same kind.
    pub fn context(self, context: impl fmt::Display + Send + Sync + 'static) -> Error {
        Error {
            chain: self.chain.context(context),
            ..self
        }
    }

    /// This error as another kind, its chain kept: for a caller that knows
    /// better what the failure means where it stands.
    pub fn into_kind(self, kind: ErrorKind) -> Error {
        Error { kind, ..self }
    }

    /// This error with `what` before it, saying what the failure loses that
    /// matters (`tweets job 123 was created, but printing it failed`): a
    /// [`ReaderGone`](ErrorKind::ReaderGone) becomes an
    /// [`Io`](ErrorKind::Io) failure, which a program reports and leaves
    /// with 1 rather than ending quietly.
    pub fn mattered(self, what: String) -> Error {
        let kind = match self.kind {
            ErrorKind::ReaderGone => ErrorKind::Io,
            kind => kind,
        };
        Error {
            kind,
            ..self.context(what)
        }
    }

    /// The causes, outermost first: each context, then the error itself and
    /// its sources.
    pub fn chain(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        self.chain.chain()
    }

    /// The first cause of type `E` in the chain (an [`ApiError`], an
    /// [`IdFileError`]), for its details; what the failure means is its
    /// [`kind`](Error::kind).
    pub fn find<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.chain().find_map(|c| c.downcast_ref::<E>())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match f.alternate() {
            true => write!(f, "{:#}", self.chain),
            false => write!(f, "{}", self.chain),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} error: {:#}", self.kind, self.chain)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let outer: &(dyn std::error::Error + Send + Sync + 'static) = &*self.chain;
        outer.source()
    }
}

/// Standard output's reader has gone (`| head` has read enough): the
/// reader chose to stop. It stands inside the `io::Error` (of kind
/// `BrokenPipe`) of a write to standard output, so that a program tells it
/// from the broken pipe of a FIFO it was given as a file, whose output
/// mattered.
#[derive(Debug)]
pub struct ReaderGone;

impl fmt::Display for ReaderGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed by its reader (broken pipe)")
    }
}

impl std::error::Error for ReaderGone {}

/// The kind of a local I/O error: [`ReaderGone`](ErrorKind::ReaderGone)
/// for a standard output whose reader has gone, else [`Io`](ErrorKind::Io).
pub(crate) fn io_kind(e: &io::Error) -> ErrorKind {
    match e.get_ref().is_some_and(|inner| inner.is::<ReaderGone>()) {
        true => ErrorKind::ReaderGone,
        false => ErrorKind::Io,
    }
}

/// Context for a failure: added to an [`Error`], keeping its kind; to a
/// local [`io::Error`], making it an [`Io`](ErrorKind::Io) error (or
/// [`ReaderGone`](ErrorKind::ReaderGone) for a write to a standard output
/// whose reader has gone).
pub trait Context<T> {
    /// The failure with `context` around it.
    fn context(self, context: impl fmt::Display + Send + Sync + 'static) -> Result<T>;

    /// The failure with the context `f` makes around it (made only on failure).
    fn with_context<C: fmt::Display + Send + Sync + 'static>(
        self,
        f: impl FnOnce() -> C,
    ) -> Result<T>;
}

impl<T> Context<T> for Result<T> {
    fn context(self, context: impl fmt::Display + Send + Sync + 'static) -> Result<T> {
        self.map_err(|e| e.context(context))
    }

    fn with_context<C: fmt::Display + Send + Sync + 'static>(
        self,
        f: impl FnOnce() -> C,
    ) -> Result<T> {
        self.map_err(|e| e.context(f()))
    }
}

impl<T> Context<T> for Result<T, io::Error> {
    fn context(self, context: impl fmt::Display + Send + Sync + 'static) -> Result<T> {
        self.map_err(|e| Error::from_source(io_kind(&e), e).context(context))
    }

    fn with_context<C: fmt::Display + Send + Sync + 'static>(
        self,
        f: impl FnOnce() -> C,
    ) -> Result<T> {
        self.map_err(|e| Error::from_source(io_kind(&e), e).context(f()))
    }
}

/// Gives a failure of another crate its [`ErrorKind`]: the one step where
/// an error of no kind becomes an [`Error`].
pub trait OfKind<T> {
    /// The failure as an [`Error`] of `kind`, its cause kept in the chain.
    fn of_kind(self, kind: ErrorKind) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> OfKind<T> for std::result::Result<T, E> {
    fn of_kind(self, kind: ErrorKind) -> Result<T> {
        self.map_err(|e| Error::from_source(kind, e))
    }
}

/// Returns early with an [`Error`] of `kind` (an [`ErrorKind`] variant's
/// name) built like `format!`: `fail!(BadAnswer, "{request}: not JSON")`.
macro_rules! fail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::error::Error::new($crate::error::ErrorKind::$kind, format!($($arg)*)))
    };
}
pub(crate) use fail;

/// Returns early with a [`Usage`](ErrorKind::Usage) error built like
/// `format!`.
#[macro_export]
macro_rules! usage_bail {
    ($($arg:tt)*) => {
        return Err($crate::error::Error::usage(format!($($arg)*)))
    };
}

/// Returns early with a [`Usage`](ErrorKind::Usage) error built like
/// `format!`: the crate's own [`usage_bail!`](crate::usage_bail).
macro_rules! bail_usage {
    ($($arg:tt)*) => {
        return Err($crate::error::Error::usage(format!($($arg)*)))
    };
}
pub(crate) use bail_usage;

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

/// A value the user gave that is not of its kind is a usage error: the
/// one conversion into [`Error`], so that `"name".parse()?` reads as it says.
impl From<NotValid> for Error {
    fn from(e: NotValid) -> Error {
        Error::from_source(ErrorKind::Usage, e)
    }
}

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

impl StorageError {
    /// The kind of failure storage's answer is: the one place its statuses
    /// get their meaning. Too many requests or a failing server is worth
    /// another try; no such object is not found; any other refusal (a
    /// signature refused or expired) would only be repeated.
    pub fn kind(&self) -> ErrorKind {
        match self.status {
            429 => ErrorKind::RateLimited,
            500 | 502 | 503 | 504 => ErrorKind::Unavailable,
            404 => ErrorKind::NotFound,
            _ => ErrorKind::Refused,
        }
    }

    /// This answer as an [`Error`] of its [`kind`](StorageError::kind).
    pub fn into_error(self) -> Error {
        Error::from_source(self.kind(), self)
    }
}

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

/// An ID file that fails its check is a [`Usage`](ErrorKind::Usage) error
/// that reads as the [`IdFileError`] it holds.
impl From<IdFileError> for Error {
    fn from(e: IdFileError) -> Error {
        Error::from_source(ErrorKind::Usage, e)
    }
}

impl IdFileError {
    /// An ID file that could not be read, named as the user gave it: an
    /// [`Io`](ErrorKind::Io) error, but for a folder given as the file,
    /// which is the user's mistake ([`Usage`](ErrorKind::Usage), exit code 2).
    pub(crate) fn unreadable(name: &str, e: io::Error) -> Error {
        let kind = match e.kind() {
            io::ErrorKind::IsADirectory => ErrorKind::Usage,
            _ => ErrorKind::Io,
        };
        Error::new(kind, format!("cannot read {name}: {e}"))
    }
}
