//! What a fault does to one exchange.

use std::time::Duration;

/// An error answer that a fault has the routes give in place of the
/// request's own: each origin words its errors its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StandIn {
    /// A plausible error with this status ([`Fault::Status`]).
    ///
    /// [`Fault::Status`]: super::Fault::Status
    Status(u16),
    /// A 429 whose rate limit resets this far ahead
    /// ([`Fault::RateLimited`]).
    ///
    /// [`Fault::RateLimited`]: super::Fault::RateLimited
    RateLimited(Duration),
    /// An error with this status that quotes the request's
    /// `Authorization` header ([`Fault::EchoAuth`]).
    ///
    /// [`Fault::EchoAuth`]: super::Fault::EchoAuth
    EchoAuth(u16),
}
