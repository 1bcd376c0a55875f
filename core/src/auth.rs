//! The bearer token, the one origin it may go to, and redaction of signed URLs.
//!
//! The token is app-only (OAuth 2.0) and goes in `Authorization: Bearer` to
//! the API's origin only. Upload and download URLs are credentials of their
//! own (a signature or a `token` parameter): they are never shown whole in an
//! error, and they get the bearer token only when they are on the API's origin
//! (the 2026 flow serves them there; Cloud Storage is another host).

use std::fmt;

use anyhow::Context as _;
use ureq::http::Uri;

/// The app-only bearer token. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps a token read from the environment.
    pub fn new(token: String) -> Token {
        Token(token)
    }

    /// The `Authorization` header value. The one place the token is read.
    pub(crate) fn header_value(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Scheme, host and port: what the same-origin rule compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of an absolute `http` or `https` URL.
    pub fn of(url: &str) -> anyhow::Result<Origin> {
        // Messages leave the URL out: the caller names it, redacted.
        let uri: Uri = url
            .parse()
            .map_err(|e| anyhow::anyhow!("not a URL ({e})"))?;
        let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            "" => anyhow::bail!("not an absolute URL: it needs https://"),
            _ => anyhow::bail!("not an http or https URL"),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .context("the URL has no host")?
            .to_ascii_lowercase();
        Ok(Origin {
            port: uri.port_u16().unwrap_or(default_port),
            scheme,
            host,
        })
    }

    /// Whether the host is this machine (`localhost`, 127.0.0.0/8, `[::1]`),
    /// where plain `http` cannot be overheard.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether this is `https`.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// `host:port`, for naming a server in a message without its URL's secrets.
    pub fn host_port(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The names of query parameters that hold credentials, compared case-insensitively.
const SECRET_PARAMS: [&str; 4] = ["x-goog-signature", "signature", "token", "upload_id"];

/// A URL fit for an error message: the values of signature, `token` and
/// session parameters replaced by `REDACTED`.
pub fn redact_url(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if SECRET_PARAMS.contains(&name.to_ascii_lowercase().as_str()) => {
                format!("{name}=REDACTED")
            }
            _ => pair.to_string(),
        })
        .collect();
    let mut out = format!("{head}?{}", pairs.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Replaces every occurrence of `url` in `text` with its redacted form, for
/// messages that came from elsewhere (an HTTP library, a server) and may echo it.
pub fn redact_in(text: &str, url: &str) -> String {
    match url.split_once('?') {
        Some((_, query)) if !query.is_empty() => {
            let redacted = redact_url(url);
            let (_, redacted_query) = redacted.split_once('?').unwrap_or(("", ""));
            text.replace(url, &redacted).replace(query, redacted_query)
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_never_shows() {
        let t = Token::new("s3cret".into());
        assert!(!format!("{t} {t:?}").contains("s3cret"));
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let api = Origin::of("https://api.x.com").unwrap();
        assert_eq!(
            api,
            Origin::of("https://API.x.com:443/2/compliance/jobs/1/upload?token=a").unwrap()
        );
        assert_ne!(api, Origin::of("http://api.x.com").unwrap());
        assert_ne!(api, Origin::of("https://api.x.com:8443").unwrap());
        assert_ne!(
            api,
            Origin::of("https://storage.googleapis.com/b/o").unwrap()
        );
        assert!(Origin::of("ftp://x").is_err());
    }

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://127.0.0.1:9",
            "http://localhost",
            "http://[::1]:80",
            "http://127.3.2.1",
        ] {
            assert!(Origin::of(url).unwrap().is_loopback(), "{url}");
        }
        for url in [
            "http://10.0.0.1",
            "http://example.com",
            "http://localhost.example.com",
        ] {
            assert!(!Origin::of(url).unwrap().is_loopback(), "{url}");
        }
    }

    #[test]
    fn redacts_signatures_tokens_and_sessions() {
        let url = "https://s.test/b/o?X-Goog-Expires=900&X-Goog-Signature=abc123&upload_id=u9";
        assert_eq!(
            redact_url(url),
            "https://s.test/b/o?X-Goog-Expires=900&X-Goog-Signature=REDACTED&upload_id=REDACTED"
        );
        assert_eq!(
            redact_url("https://api.x.com/2/compliance/jobs/1/upload?token=t0k"),
            "https://api.x.com/2/compliance/jobs/1/upload?token=REDACTED"
        );
        let msg = format!("failed to fetch {url}: boom");
        let clean = redact_in(&msg, url);
        assert!(
            !clean.contains("abc123") && !clean.contains("u9"),
            "{clean}"
        );
    }
}
