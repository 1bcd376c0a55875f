//! The signed URL a transfer talks to, and what storage answers.

use ureq::http::Response;
use ureq::{Body, SendBody};

use crate::auth::{redact_in, redact_url, Origin};
use crate::client::{rate_limit_reset, read_limited, Client};
use crate::error::{fail, one_line, ApiError, Context as _, MAX_ERROR_BODY};
use crate::error::{Error, ErrorKind, Result, StorageError};
use crate::wire::NoAnswer;

/// A signed URL to talk to, with what may be said about it in messages.
pub(super) struct Target {
    pub(super) url: String,
    pub(super) host: String,
    pub(super) auth: Option<String>,
}

impl Target {
    /// A URL to transfer to or from. A `--url` flag has been checked as the
    /// user's input by then ([`JobRef::from_flags_or_url`]), so a URL that
    /// fails here came from the API: a failure, not a usage error.
    ///
    /// [`JobRef::from_flags_or_url`]: crate::JobRef::from_flags_or_url
    pub(super) fn new(client: &Client, url: &str) -> Result<Target> {
        let origin = Origin::of(url)
            .map_err(|e| e.into_kind(ErrorKind::BadAnswer))
            .context("the job's URL from the API is unusable")?;
        if !origin.is_https() && !origin.is_loopback() {
            fail!(
                BadAnswer,
                "the job's URL from the API is plain http:// on a host that is not this \
                 machine ({}); refusing to send or fetch the IDs over it",
                redact_url(url)
            );
        }
        Ok(Target {
            url: url.to_string(),
            host: origin.host_port(),
            auth: client.authorization_for(url),
        })
    }

    /// Passes a response with one of the `ok` statuses; anything else becomes
    /// an error naming the host and what storage (or the API) said, of the
    /// kind its status or failure is ([`NoAnswer`], [`StorageError::kind`],
    /// [`ApiError::kind_of_status`]).
    pub(super) fn expect_success(
        &self,
        what: &str,
        sent: std::result::Result<Response<Body>, ureq::Error>,
        ok: &[u16],
    ) -> Result<Response<Body>> {
        let mut response = sent.map_err(|e| self.no_answer(what, &e))?;
        let status = response.status().as_u16();
        if ok.contains(&status) {
            return Ok(response);
        }
        let request = format!("{what} {}", self.host);
        if (300..400).contains(&status) {
            let to = response.headers().get("location");
            return Err(self.redirected(&request, status, to.and_then(|v| v.to_str().ok())));
        }
        let reset = rate_limit_reset(&response);
        let body = read_limited(&mut response, MAX_ERROR_BODY);
        match storage_error(&body) {
            Some(said) => Err(StorageError {
                request,
                status,
                said,
            }
            .into_error()),
            // Only the API host (the 2026 flow, where the token goes) is the
            // API: anywhere else the answer is storage's own, whatever its body.
            None if self.auth.is_none() => Err(StorageError {
                request,
                status,
                said: storage_text(&body),
            }
            .into_error()),
            None => Err(ApiError::decode(request, status, reset, &body).into_error()),
        }
    }

    /// A request that got no answer, as an error naming the host only,
    /// never the URL with its signature. An `https://` URL whose server
    /// answered, but not in TLS, is on this machine a URL given with the
    /// wrong scheme (an emulator's with `https://`); elsewhere, something
    /// in the way.
    pub(super) fn no_answer(&self, what: &str, e: &ureq::Error) -> Error {
        let host = &self.host;
        let loopback = Origin::of(&self.url).is_ok_and(|o| o.is_loopback());
        let failure = NoAnswer::of(e, &self.url);
        let message = match &failure {
            NoAnswer::NotTls if loopback => format!(
                "{what} {host}: the server answered in plain HTTP, not TLS: give the URL \
                 with http:// in place of https:// (the emulator speaks plain http)"
            ),
            NoAnswer::NotTls => format!(
                "{what} {host}: the server answered, but not in TLS, though the URL is https://: \
                 is a proxy or a captive portal answering in its place? Check the network"
            ),
            NoAnswer::Refused => {
                format!("{what} {host}: the connection was refused; is the server running?")
            }
            NoAnswer::UnknownHost => {
                format!("{what} {host}: cannot find the host; check the network")
            }
            NoAnswer::Broke(why) => format!("{what} {host}: {why}"),
            NoAnswer::TimeUp | NoAnswer::TooLarge | NoAnswer::NotJson(_) => {
                format!("{what} {host}: {}", redact_in(&e.to_string(), &self.url))
            }
        };
        Error::new(failure.kind(loopback), message)
    }

    /// A redirect where none is followed: a transfer goes to the job's own
    /// URL only (an upload sent on elsewhere, or turned into a `GET` as
    /// `301`-`303` do, stores nothing). Names where it pointed, redacted.
    fn redirected(&self, request: &str, status: u16, location: Option<&str>) -> Error {
        let who = match self.auth {
            Some(_) => "the API",
            None => "storage",
        };
        let to = match location {
            Some(to) => match Origin::of(to) {
                Ok(origin) => format!("{} ({})", origin.host_port(), redact_url(to)),
                Err(_) => format!("{:?} on the same host", one_line(&redact_url(to))),
            },
            None => "nowhere (no Location)".to_string(),
        };
        Error::new(
            ErrorKind::Refused,
            format!(
                "{request}: {who} answered HTTP {status}, a redirect to {to}; a transfer is \
                 not sent on to another address, so nothing was stored or fetched there"
            ),
        )
    }

    /// A `PUT` of one chunk (or a status query) to a resumable session.
    pub(super) fn put(
        &self,
        client: &Client,
        range: &str,
        len: u64,
        body: SendBody,
    ) -> Result<Response<Body>> {
        // 308 here is Cloud Storage's "Resume Incomplete", not a redirect.
        let mut request = unredirected(client.agent().put(&self.url))
            .header("content-type", "text/plain")
            .header("content-length", len.to_string())
            .header("content-range", range);
        if len > 0 {
            request = request.header("expect", "100-continue");
        }
        if let Some(auth) = &self.auth {
            request = request.header("authorization", auth);
        }
        self.expect_success("upload to", request.send(body), &[200, 201, 308])
    }

    /// A failure of the connection while a body moved: worth another try.
    /// Told with the URL's secrets redacted.
    pub(super) fn transient(&self, what: &str, why: &str) -> Error {
        let why = redact_in(why, &self.url);
        Error::new(ErrorKind::Transient, format!("{what} {}: {why}", self.host))
    }
}

/// A request that gets a redirect as its answer rather than following it:
/// an upload's body goes to the URL it was given or nowhere.
pub(super) fn unredirected<B>(request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
    request
        .config()
        .max_redirects(0)
        .max_redirects_will_error(false)
        .build()
}

/// What an error body from storage that is not Cloud Storage's XML says:
/// its start, on one line, or that it was empty.
fn storage_text(body: &[u8]) -> String {
    let line = one_line(&String::from_utf8_lossy(body));
    match line.is_empty() {
        true => "no error body".to_string(),
        false => line.chars().take(200).collect(),
    }
}

/// The `Code`, `Message` and `Details` of a Cloud Storage XML error body.
fn storage_error(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.trim_start().starts_with('<') {
        return None;
    }
    let tag = |name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(one_line(&text[start..end]))
    };
    let parts: Vec<String> = ["Code", "Message", "Details"]
        .iter()
        .filter_map(|t| tag(t))
        .collect();
    match parts.is_empty() {
        true => Some("an XML error without a code".into()),
        false => Some(parts.join(": ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cloud_storage_errors() {
        let body = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SignatureDoesNotMatch</Code><Message>Access denied.</Message><Details>The request signature we calculated does not match.</Details></Error>";
        assert_eq!(
            storage_error(body).unwrap(),
            "SignatureDoesNotMatch: Access denied.: The request signature we calculated does not match."
        );
        assert_eq!(storage_error(b"{\"title\":\"x\"}"), None);
    }
}
