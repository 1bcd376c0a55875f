//! The bearer token, the one origin it may go to, and redaction of signed URLs.
//!
//! The token is app-only (OAuth 2.0) and goes in `Authorization: Bearer` to
//! the API's origin only. Upload and download URLs are credentials of their
//! own (a signature or a `token` parameter): they are never shown whole in an
//! error, and they get the bearer token only when they are on the API's origin
//! (the 2026 flow serves them there; Cloud Storage is another host).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::error::{fail, Error, ErrorKind, Result};
use ureq::http::Uri;

/// The app-only bearer token. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps a token read from the environment. [`Secrets::of`] it is what
    /// is scrubbed from everything printed.
    pub fn new(token: String) -> Token {
        Token(token)
    }

    /// Where the token holds a character an HTTP header cannot carry (a
    /// control character such as a line break, a space, or one beyond
    /// ASCII): its position, counted from 1.
    pub fn unfit_character(token: &str) -> Option<usize> {
        token
            .chars()
            .position(|c| !c.is_ascii_graphic())
            .map(|i| i + 1)
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

/// The forms of a token that a server might echo back, to be scrubbed
/// from every text printed: as it is, with `/` escaped as JSON may, and
/// percent-decoded. Held by a [`Reporter`](crate::report::Reporter) and by
/// the program that prints; none by default.
#[derive(Clone, Default)]
pub struct Secrets(Arc<Vec<String>>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets(<{} forms redacted>)", self.0.len())
    }
}

/// A token shorter than this is scrubbed only after `Bearer `: a few
/// letters alone would blot out ordinary words.
const SHORTEST_SCRUBBED: usize = 8;

impl Secrets {
    /// The forms of `token`.
    pub fn of(token: &Token) -> Secrets {
        Secrets::default().with(&token.0)
    }

    /// The forms of the token in `BEARER_TOKEN`, if it is set: what a
    /// program that reads it scrubs from all it prints.
    pub fn from_env() -> Secrets {
        match std::env::var("BEARER_TOKEN") {
            Ok(token) => Secrets::default().with(token.trim()),
            Err(_) => Secrets::default(),
        }
    }

    /// These secrets and those of `other`.
    pub fn and(&self, other: &Secrets) -> Secrets {
        other
            .0
            .iter()
            .fold(self.clone(), |all, form| all.with_form(form))
    }

    fn with(self, token: &str) -> Secrets {
        if token.is_empty() {
            return self;
        }
        let mut forms = vec![format!("Bearer {token}")];
        if token.len() >= SHORTEST_SCRUBBED {
            forms.push(token.to_string());
            forms.push(token.replace('/', "\\/"));
            forms.push(percent_decoded(token));
        }
        forms.iter().fold(self, |all, form| all.with_form(form))
    }

    fn with_form(self, form: &str) -> Secrets {
        if self.0.iter().any(|f| f == form) {
            return self;
        }
        let mut forms = self.0.as_ref().clone();
        forms.push(form.to_string());
        // Longest first, so that `Bearer <token>` goes whole.
        forms.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Secrets(Arc::new(forms))
    }

    /// Text about to be printed, with every form of the token replaced by
    /// `<redacted>`, found however a server folded, wrapped or cut it.
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        scrub(&self.0, text)
    }
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Text about to be printed, with every form of the bearer token replaced
/// by `<redacted>`: a server may quote the request's `Authorization` header
/// back in an error, and nothing here prints what it has not scrubbed.
///
/// The forms are found even when white space, a line break or its JSON
/// escape (`\n`) was put inside them (an echo folded to one line, or wrapped),
/// and a piece of [`FRAGMENT`] characters or more of a form counts too: no
/// part of the token survives however a server cut or wrapped it.
fn scrub<'t>(secrets: &[String], text: &'t str) -> Cow<'t, str> {
    if secrets.is_empty() {
        return Cow::Borrowed(text);
    }
    // The text without what may have been put inside a token, and where
    // each byte kept came from.
    let (squeezed, origin) = squeeze(text);
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for secret in secrets.iter() {
        let token = secret.strip_prefix("Bearer ").unwrap_or(secret);
        if token.len() >= SHORTEST_SCRUBBED {
            for (start, end) in pieces_of(&squeezed, token.as_bytes(), FRAGMENT) {
                spans.push((origin[start], origin[end - 1] + 1));
            }
        } else {
            // A short token only where it follows `Bearer`, which stays.
            let needle = format!("Bearer{token}");
            for (start, end) in pieces_of(&squeezed, needle.as_bytes(), needle.len()) {
                spans.push((origin[start + "Bearer".len()], origin[end - 1] + 1));
            }
        }
    }
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        if end <= at {
            continue;
        }
        if start >= at {
            out.push_str(&text[at..start]);
            out.push_str("<redacted>");
        }
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// How many characters of a token in a row are a piece of it worth
/// scrubbing: more than an ordinary word has in common with one by chance.
pub const FRAGMENT: usize = 12;

/// `text` without white space, control characters and the JSON escapes of
/// line breaks and tabs, with the offset in `text` of each byte kept.
fn squeeze(text: &str) -> (Vec<u8>, Vec<usize>) {
    let bytes = text.as_bytes();
    let (mut kept, mut origin) = (
        Vec::with_capacity(bytes.len()),
        Vec::with_capacity(bytes.len()),
    );
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'n' | b'r' | b't')) => i += 2,
            (byte, _) if byte.is_ascii_whitespace() || byte.is_ascii_control() => i += 1,
            (byte, _) => {
                kept.push(byte);
                origin.push(i);
                i += 1;
            }
        }
    }
    (kept, origin)
}

/// The spans of `text` that are a piece of `token` at least `shortest`
/// long (or all of a shorter token), the longest piece where they overlap.
fn pieces_of(text: &[u8], token: &[u8], shortest: usize) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    if token.is_empty() {
        return spans;
    }
    let shortest = shortest.min(token.len());
    let mut i = 0;
    while i + shortest <= text.len() {
        let longest = (0..token.len())
            .map(|j| {
                text[i..]
                    .iter()
                    .zip(&token[j..])
                    .take_while(|(a, b)| a == b)
                    .count()
            })
            .max()
            .unwrap_or(0);
        if longest >= shortest {
            spans.push((i, i + longest));
            i += longest;
        } else {
            i += 1;
        }
    }
    spans
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
    pub fn of(url: &str) -> Result<Origin> {
        // Messages leave the URL out: the caller names it, redacted.
        let uri: Uri = url
            .parse()
            .map_err(|e| Error::usage(format!("not a URL ({e})")))?;
        let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            "" => fail!(Usage, "not an absolute URL: it needs https://"),
            _ => fail!(Usage, "not an http or https URL"),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::new(ErrorKind::Usage, "the URL has no host"))?
            .to_ascii_lowercase();
        // The port as written: the http crate drops one that is not a u16,
        // which would send the request to the default port instead.
        let authority = uri.authority().map_or("", |a| a.as_str());
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        let written = match host_port.rsplit_once(']') {
            Some((_, after)) => after.strip_prefix(':'),
            None => host_port.rsplit_once(':').map(|(_, port)| port),
        };
        let port = match written {
            None | Some("") => default_port,
            Some(port) => match port.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => fail!(Usage, "{port} is not a port (1 to 65535)"),
            },
        };
        Ok(Origin { port, scheme, host })
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

    /// The host name (or address).
    pub fn host(&self) -> &str {
        &self.host
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
pub(crate) fn redact_in(text: &str, url: &str) -> String {
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
    fn echoed_tokens_are_scrubbed_in_every_form() {
        let secret = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2FULvsea4JtiGRiSDSJSI%3DEUifiRBkKG";
        let secrets = Secrets::of(&Token::new(secret.to_string()));
        let decoded = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0+uSeid/ULvsea4JtiGRiSDSJSI=EUifiRBkKG";
        for echoed in [
            format!("bad header: Bearer {secret}"),
            format!("{{\"detail\":\"bad {}\"}}", secret.replace('/', "\\/")),
            format!("token {decoded} refused"),
        ] {
            let clean = secrets.scrub(&echoed);
            assert!(!clean.contains("Lvsea4JtiGRiSDSJSI"), "{clean}");
            assert!(clean.contains("<redacted>"), "{clean}");
        }
        assert_eq!(secrets.scrub("nothing secret"), "nothing secret");
        let short = Secrets::of(&Token::new("abc".into()));
        assert_eq!(short.scrub("a cab, abc"), "a cab, abc");
        assert_eq!(short.scrub("Bearer abc"), "Bearer <redacted>");
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("Lvsea4JtiGRiSDSJSI"), "{shown}");
    }

    #[test]
    fn a_token_cut_folded_or_wrapped_leaves_no_piece_behind() {
        let secret = "AAAAAAAAAAAAAAAAAAAAAFoldTestToken0123456789abcdefXYZ";
        let secrets = Secrets::of(&Token::new(secret.to_string()));
        let (head, tail) = secret.split_at(30);
        for echoed in [
            format!("bad: Bearer {head}\n{tail} refused"),
            format!("bad: Bearer {head} {tail} refused"),
            format!("{{\"detail\":\"Bearer {head}\\n{tail}\"}}"),
            format!("{head}\r\n  {tail}"),
            format!("a piece: {} only", &secret[10..30]),
            format!("the end: {}", &tail[..14]),
        ] {
            let clean = secrets.scrub(&echoed);
            for piece in secret.as_bytes().windows(FRAGMENT) {
                let piece = std::str::from_utf8(piece).unwrap();
                assert!(!clean.contains(piece), "{piece:?} survives in {clean:?}");
            }
            assert!(clean.contains("<redacted>"), "{clean}");
        }
        assert_eq!(
            secrets.scrub("an ordinary message, 12 chars"),
            "an ordinary message, 12 chars"
        );
    }

    #[test]
    fn tokens_that_no_header_can_carry() {
        assert_eq!(Token::unfit_character("AAAA%2Bx"), None);
        assert_eq!(Token::unfit_character("AAAA\nx"), Some(5));
        assert_eq!(Token::unfit_character("AA AA"), Some(3));
        assert_eq!(Token::unfit_character("AAé"), Some(3));
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
