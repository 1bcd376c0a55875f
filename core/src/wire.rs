//! What a request that got no usable answer means: the one place where
//! the HTTP client's errors ([`ureq::Error`]) are read and given a kind.

use crate::auth::redact_in;
use crate::error::ErrorKind;

/// Why a request got no usable answer.
#[derive(Debug)]
pub(crate) enum NoAnswer {
    /// A server answered `https://`, but not in TLS: one that speaks plain
    /// HTTP (the emulator), or a proxy or captive portal in the way.
    NotTls,
    /// Nothing listens there: the connection was refused.
    Refused,
    /// The host name does not resolve.
    UnknownHost,
    /// The run's time (`--timeout`, or the retry time) ran out first.
    TimeUp,
    /// The answer is over the most that is read of it.
    TooLarge,
    /// The answer is not JSON: why, from the parser.
    NotJson(String),
    /// The connection failed or broke, or a read stalled: why, with the
    /// URL's secrets redacted.
    Broke(String),
}

impl NoAnswer {
    /// What `e`, from a request to `url`, means.
    pub(crate) fn of(e: &ureq::Error, url: &str) -> NoAnswer {
        match e {
            _ if not_tls(e) => NoAnswer::NotTls,
            ureq::Error::HostNotFound => NoAnswer::UnknownHost,
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                NoAnswer::Refused
            }
            // The resolver's failure comes as an I/O error of no particular kind.
            ureq::Error::Io(io) if io.to_string().contains("lookup address") => {
                NoAnswer::UnknownHost
            }
            ureq::Error::Timeout(ureq::Timeout::Global) => NoAnswer::TimeUp,
            ureq::Error::BodyExceedsLimit(_) => NoAnswer::TooLarge,
            ureq::Error::Json(json) => NoAnswer::NotJson(json.to_string()),
            e => NoAnswer::Broke(redact_in(&e.to_string(), url)),
        }
    }

    /// The kind of failure this is, for a request to a host that is this
    /// machine (`loopback`) or not: plain HTTP where TLS was asked is a
    /// usage error on this machine (a URL with the wrong scheme), an answer
    /// that makes no sense elsewhere; a server that is not there is worth
    /// one quick try more; a broken connection or a spent time, another try.
    pub(crate) fn kind(&self, loopback: bool) -> ErrorKind {
        match self {
            NoAnswer::NotTls if loopback => ErrorKind::Usage,
            NoAnswer::NotTls | NoAnswer::TooLarge | NoAnswer::NotJson(_) => ErrorKind::BadAnswer,
            NoAnswer::Refused | NoAnswer::UnknownHost => ErrorKind::Unreachable,
            NoAnswer::TimeUp | NoAnswer::Broke(_) => ErrorKind::Transient,
        }
    }
}

/// Whether a failed request reached a server that answered, but not in
/// TLS: `https://` to one that speaks plain HTTP. rustls reads its answer
/// (the emulator's `400` to the TLS hello, say) as a record of no known
/// type, at once; another try would only get the same answer.
fn not_tls(e: &ureq::Error) -> bool {
    // rustls's error comes inside an I/O error; core does not depend on
    // rustls itself, so it is known by its words.
    match e {
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            io.to_string().contains("InvalidContentType")
        }
        ureq::Error::Rustls(tls) => tls.to_string().contains("InvalidContentType"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: std::io::ErrorKind, text: &str) -> ureq::Error {
        ureq::Error::Io(std::io::Error::new(kind, text.to_string()))
    }

    #[test]
    fn an_answer_that_is_not_tls_is_told_from_other_failures() {
        let corrupt = "received corrupt message of type InvalidContentType";
        let not_tls = |e: &ureq::Error| matches!(NoAnswer::of(e, ""), NoAnswer::NotTls);
        assert!(not_tls(&io(std::io::ErrorKind::InvalidData, corrupt)));
        for other in [
            io(
                std::io::ErrorKind::InvalidData,
                "invalid peer certificate: UnknownIssuer",
            ),
            io(std::io::ErrorKind::ConnectionReset, corrupt),
            ureq::Error::Timeout(ureq::Timeout::Connect),
            ureq::Error::ConnectionFailed,
        ] {
            assert!(!not_tls(&other), "{other}");
        }
        assert_eq!(NoAnswer::NotTls.kind(true), ErrorKind::Usage);
        assert_eq!(NoAnswer::NotTls.kind(false), ErrorKind::BadAnswer);
    }

    #[test]
    fn refused_and_unknown_hosts_are_unreachable_other_failures_transient() {
        let kind = |e: &ureq::Error| NoAnswer::of(e, "").kind(false);
        assert!(matches!(
            NoAnswer::of(&io(std::io::ErrorKind::ConnectionRefused, "refused"), ""),
            NoAnswer::Refused
        ));
        let lookup = io(
            std::io::ErrorKind::Other,
            "failed to lookup address information: Name or service not known",
        );
        assert!(matches!(NoAnswer::of(&lookup, ""), NoAnswer::UnknownHost));
        assert!(matches!(
            NoAnswer::of(&ureq::Error::HostNotFound, ""),
            NoAnswer::UnknownHost
        ));
        assert_eq!(kind(&lookup), ErrorKind::Unreachable);
        for other in [
            io(std::io::ErrorKind::ConnectionReset, "reset"),
            io(std::io::ErrorKind::TimedOut, "timed out"),
            ureq::Error::ConnectionFailed,
            ureq::Error::Timeout(ureq::Timeout::Global),
        ] {
            assert_eq!(kind(&other), ErrorKind::Transient, "{other}");
        }
    }

    #[test]
    fn a_broken_connection_is_told_without_the_urls_secrets() {
        let url = "https://storage.example/o?X-Goog-Signature=abcdef0123456789";
        let e = io(
            std::io::ErrorKind::ConnectionReset,
            &format!("reset while reading {url}"),
        );
        match NoAnswer::of(&e, url) {
            NoAnswer::Broke(why) => assert!(!why.contains("abcdef0123456789"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
