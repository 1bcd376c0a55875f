//! Configuration from the environment, checked before any request is made.
//!
//! - `BEARER_TOKEN`: the app-only bearer token (required).
//! - `X_API_URL`: the API base, default `https://api.x.com`. Plain `http://`
//!   only for loopback hosts, such as the emulator.
//! - `HTTPS_PROXY` (and `ALL_PROXY`, `HTTP_PROXY`): honoured by the HTTP client.

use std::time::Duration;

use crate::auth::{Origin, Token};
use crate::error::{bail_usage, Error, Result};
use crate::report::Reporter;
use crate::retry::RetryPolicy;

/// The API base used when `X_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.x.com";

/// Everything a [`Client`](crate::Client) needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The API base, without a trailing slash, e.g. `https://api.x.com`.
    pub api_url: String,
    /// The app-only bearer token.
    pub token: Token,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How long a read may wait for the first or next bytes before the request fails.
    pub read_timeout: Duration,
    /// The `User-Agent`: this tool's name and version.
    pub user_agent: String,
    /// How failed requests and transfers are retried.
    pub retry: RetryPolicy,
    /// Where notes, warnings and progress go: nowhere by default
    /// ([`Reporter::silent`]); the stages install the terminal's. The
    /// client adds the token to the secrets it scrubs.
    pub reporter: Reporter,
}

impl Config {
    /// Reads the configuration from the environment; `tool` names the stage
    /// in the `User-Agent`. A missing token or a bad `X_API_URL` is a usage error.
    pub fn from_env(tool: &str) -> Result<Config> {
        let token = match std::env::var_os("BEARER_TOKEN") {
            None => bail_usage!(
                "BEARER_TOKEN is not set: export BEARER_TOKEN=<token>, the app-only bearer token \
                 from your app's \"Keys and tokens\" page in the X developer portal"
            ),
            Some(token) => token.into_string().map_err(|_| {
                Error::usage(
                    "BEARER_TOKEN holds bytes that are not text (not UTF-8); copy the token again \
                     from your app's \"Keys and tokens\" page",
                )
            })?,
        };
        if token.trim().is_empty() {
            bail_usage!(
                "BEARER_TOKEN is empty (or only white space): export BEARER_TOKEN=<token>, the \
                 app-only bearer token from your app's \"Keys and tokens\" page"
            );
        }
        let token = token.trim();
        if let Some(at) = Token::unfit_character(token) {
            bail_usage!(
                "BEARER_TOKEN holds a character an HTTP header cannot carry (a line break, a \
                 space or a non-ASCII character) at character {at}; copy the token again from \
                 your app's \"Keys and tokens\" page"
            );
        }
        // Unset is the real API; set but unreadable is a mistake, never a
        // reason to send the token to the real API instead.
        let api_url = match std::env::var_os("X_API_URL") {
            None => DEFAULT_API_URL.to_string(),
            Some(url) => url.into_string().map_err(|url| {
                Error::usage(format!(
                    "X_API_URL={:?} holds bytes that are not text (not UTF-8); give an origin \
                     such as {DEFAULT_API_URL} or http://127.0.0.1:8080",
                    redact_userinfo(&url.to_string_lossy())
                ))
            })?,
        };
        Config::new(&api_url, Token::new(token.to_string()), tool)
    }

    /// A configuration for `api_url` and `token`, with default timeouts.
    ///
    /// `api_url` must be an origin: scheme, host and an optional port (a
    /// trailing `/` is fine). A path would be joined to the API's own paths
    /// and end in a 404 naming a path nobody typed.
    pub fn new(api_url: &str, token: Token, tool: &str) -> Result<Config> {
        let trimmed = api_url.trim();
        // A password in it is never echoed.
        let given = redact_userinfo(trimmed);
        let given = given.as_str();
        let api_url = trimmed.strip_suffix('/').unwrap_or(trimmed).to_string();
        let example = format!("such as {DEFAULT_API_URL} or http://127.0.0.1:8080");
        let origin = match Origin::of(&api_url) {
            Ok(origin) => origin,
            Err(e) => {
                bail_usage!("X_API_URL={given:?} is not an origin ({e:#}); give one {example}")
            }
        };
        let rest = api_url.split_once("://").map_or("", |(_, rest)| rest);
        if rest.contains(['/', '?', '#', '@']) {
            bail_usage!(
                "X_API_URL={given:?} must be an origin (scheme, host and optional port, no \
                 path, query or user), {example}"
            );
        }
        if !origin.is_https() && !origin.is_loopback() {
            bail_usage!(
                "X_API_URL must be https:// (plain http:// is only for loopback hosts), not {given}"
            );
        }
        Ok(Config {
            api_url,
            token,
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
            user_agent: format!("compliance-tools/{} ({tool})", env!("CARGO_PKG_VERSION")),
            retry: RetryPolicy::default(),
            reporter: Reporter::silent(),
        })
    }
}

/// A URL with the user information before its host (`user:password@`)
/// shown as `REDACTED@`, for messages.
fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let sep = if scheme.is_empty() { "" } else { "://" };
            format!("{scheme}{sep}REDACTED@{}", &rest[at + 1..])
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> Result<Config> {
        Config::new(url, Token::new("t".into()), "test")
    }

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert_eq!(
            config("https://api.x.com/").unwrap().api_url,
            "https://api.x.com"
        );
        assert!(config("http://127.0.0.1:8080").is_ok());
        assert!(config("http://localhost:1").is_ok());
        let err = config("http://api.x.com").unwrap_err();
        assert!(err.exit_code() == 2 && err.to_string().contains("https"));
        assert!(config("api.x.com").is_err());
    }

    #[test]
    fn a_password_is_never_echoed_and_a_port_must_be_one() {
        let err = config("https://me:hunter2@api.x.com").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(!format!("{err:#}").contains("hunter2"), "{err:#}");
        assert!(format!("{err:#}").contains("REDACTED@api.x.com"), "{err:#}");
        let err = config("http://me:hunter2@example.com").unwrap_err();
        assert!(!format!("{err:#}").contains("hunter2"), "{err:#}");
        for bad in [
            "http://127.0.0.1:99999",
            "http://127.0.0.1:65536",
            "http://127.0.0.1:x",
        ] {
            let err = config(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        assert!(config("http://127.0.0.1:65535").is_ok());
    }

    #[test]
    fn the_api_url_is_an_origin() {
        for good in [
            "https://api.x.com",
            "https://api.x.com/",
            "http://127.0.0.1:8080/",
        ] {
            assert!(config(good).is_ok(), "{good}");
        }
        for bad in [
            "https://api.x.com/2",
            "https://api.x.com/2/",
            "https://api.x.com?x=1",
            "https://api.x.com#x",
            "https://user@api.x.com",
            "https://api.x.com//",
        ] {
            let err = config(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
            assert!(
                err.to_string().contains("must be an origin"),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains("https://api.x.com"), "{err}");
        }
    }
}
