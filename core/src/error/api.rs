//! API errors, decoded from their RFC 7807 problem bodies into one line a
//! person can act on.
//!
//! The API answers errors with `application/problem+json` (`type`, `title`,
//! `detail`, `status`, and for `invalid-request` an `errors` array naming each
//! parameter), or with the legacy `{"errors": [{"message", "code"}]}`. Problem
//! types are matched on their last path segment, because the host in the URI
//! has changed over the years (`api.twitter.com`, `api.x.com`).

use std::fmt;

use serde_json::Value;

use super::{Error, ErrorKind, RetryAt};
use crate::time::{human_duration, Timestamp};

/// How long a 429 without a reset time or `Retry-After` waits.
pub const GUESSED_RESET: std::time::Duration = std::time::Duration::from_secs(60);

/// The most of an error body that is read; more than any problem needs.
pub(crate) const MAX_ERROR_BODY: u64 = 64 * 1024;

/// An error answer from the API.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// What was asked, e.g. `POST /2/compliance/jobs`.
    pub request: String,
    /// The HTTP status.
    pub status: u16,
    /// The problem type's last segment (`invalid-request`, `conflict`, …), or
    /// `about:blank`.
    pub kind: Option<String>,
    /// The problem's title.
    pub title: Option<String>,
    /// The problem's detail.
    pub detail: Option<String>,
    /// For `invalid-request`: each parameter with its message.
    pub parameters: Vec<String>,
    /// When the rate limit resets (`x-rate-limit-reset`), if the API said.
    pub rate_limit_reset: Option<Timestamp>,
    /// When the server asked to be tried again (`Retry-After`), if it did.
    pub retry_after: Option<Timestamp>,
    /// The start of a body that was not a problem, for the message.
    pub body_excerpt: Option<String>,
}

impl ApiError {
    /// Decodes an error answer from its status, `x-rate-limit-reset` and body.
    pub fn decode(request: String, status: u16, reset: Option<Timestamp>, body: &[u8]) -> ApiError {
        let mut err = ApiError {
            request,
            status,
            kind: None,
            title: None,
            detail: None,
            parameters: Vec::new(),
            rate_limit_reset: reset,
            retry_after: None,
            body_excerpt: None,
        };
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(obj)) => {
                let text = |k: &str| obj.get(k).and_then(Value::as_str).map(one_line);
                err.kind = text("type").map(|t| problem_kind(&t).to_string());
                err.title = text("title");
                err.detail = text("detail");
                err.parameters = obj
                    .get("errors")
                    .and_then(Value::as_array)
                    .map(|errors| {
                        errors
                            .iter()
                            .map(|e| one_line(&describe_error_item(e)))
                            .collect()
                    })
                    .unwrap_or_default();
            }
            _ => {
                let line = one_line(&String::from_utf8_lossy(body));
                if !line.is_empty() {
                    err.body_excerpt = Some(line.chars().take(200).collect());
                }
            }
        }
        err
    }

    /// The kind of failure an answer of `status` from the API is: the one
    /// place the API's statuses get their meaning.
    pub fn kind_of_status(status: u16) -> ErrorKind {
        match status {
            401 | 403 => ErrorKind::Auth,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            429 => ErrorKind::RateLimited,
            500 | 502 | 503 | 504 => ErrorKind::Unavailable,
            _ => ErrorKind::Refused,
        }
    }

    /// This answer as an [`Error`] of its status's kind, with the time the
    /// API set for another try: a 429's reset (or its `Retry-After`, if
    /// later; a minute from now if it gave neither), or a failing server's
    /// `Retry-After`.
    pub fn into_error(self) -> Error {
        let kind = ApiError::kind_of_status(self.status);
        let retry_at = match kind {
            ErrorKind::RateLimited => Some(match (self.rate_limit_reset, self.retry_after) {
                (Some(reset), asked) => RetryAt::Reset(asked.map_or(reset, |a| a.max(reset))),
                (None, Some(asked)) => RetryAt::Asked(asked),
                (None, None) => RetryAt::Guessed(Timestamp::from_millis(
                    Timestamp::now()
                        .millis()
                        .saturating_add(GUESSED_RESET.as_millis() as i64),
                )),
            }),
            _ => self.retry_after.map(RetryAt::Asked),
        };
        Error::from_source(kind, self).with_retry_at(retry_at)
    }

    /// Whether this is the problem of that kind (`conflict`, `invalid-request`, …).
    pub fn is(&self, kind: &str) -> bool {
        self.kind.as_deref() == Some(kind)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.request)?;
        match (&self.title, &self.detail) {
            (Some(t), Some(d)) if t != d => write!(f, "{t}: {d}")?,
            (Some(t), _) | (None, Some(t)) => write!(f, "{t}")?,
            (None, None) => write!(f, "the API answered")?,
        }
        write!(f, " (HTTP {})", self.status)?;
        if !self.parameters.is_empty() {
            write!(f, ": {}", self.parameters.join("; "))?;
        }
        if let Some(body) = &self.body_excerpt {
            write!(f, ": {body}")?;
        }
        match self.status {
            401 => write!(
                f,
                "; check BEARER_TOKEN: it must be your app's current app-only bearer token"
            )?,
            429 => match self.rate_limit_reset {
                Some(reset) => write!(
                    f,
                    "; the rate limit resets at {reset} (in {})",
                    human_duration(Timestamp::now().until(reset))
                )?,
                None => write!(f, "; the rate limit is spent, try again later")?,
            },
            _ => {}
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Text from a server, fit for one line on a terminal: runs of white space
/// and control characters become one space.
pub fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The last segment of a problem type URI: `…/problems/conflict` → `conflict`.
pub fn problem_kind(type_uri: &str) -> &str {
    type_uri.rsplit('/').next().unwrap_or(type_uri)
}

/// One entry of an `errors` array, as text: `parameter [values]: message`, or
/// `title: detail` for a partial error, or the legacy `message`.
pub fn describe_error_item(item: &Value) -> String {
    let text = |k: &str| item.get(k).and_then(Value::as_str);
    let message = text("message").or(text("detail")).unwrap_or("(no message)");
    let mut out = String::new();
    if let Some(params) = item.get("parameters").and_then(Value::as_object) {
        let names: Vec<String> = params
            .iter()
            .map(|(name, values)| match values.as_array() {
                Some(v) if !v.is_empty() => format!("{name} {}", Value::Array(v.clone())),
                _ => name.clone(),
            })
            .collect();
        out.push_str(&names.join(", "));
        out.push_str(": ");
    } else if let Some(title) = text("title") {
        out.push_str(title);
        out.push_str(": ");
    }
    out.push_str(message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_request_names_each_parameter() {
        let body = br#"{"errors":[{"parameters":{"type":[]},"message":"The `type` query parameter can not be empty"},{"parameters":{"job_type":["tweets"]},"message":"The query parameter [job_type] is not one of [type,status,compliance_job.fields]"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}"#;
        let e = ApiError::decode("GET /2/compliance/jobs".into(), 400, None, body);
        assert!(e.is("invalid-request"));
        assert_eq!(
            e.to_string(),
            "GET /2/compliance/jobs: Invalid Request: One or more parameters to your request was \
             invalid. (HTTP 400): type: The `type` query parameter can not be empty; \
             job_type [\"tweets\"]: The query parameter [job_type] is not one of \
             [type,status,compliance_job.fields]"
        );
    }

    #[test]
    fn unauthorized_says_to_check_the_token() {
        let body = br#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#;
        let e = ApiError::decode("GET /2/compliance/jobs/1".into(), 401, None, body);
        assert_eq!(e.kind.as_deref(), Some("about:blank"));
        let msg = e.to_string();
        assert!(
            msg.starts_with(
                "GET /2/compliance/jobs/1: Unauthorized (HTTP 401); check BEARER_TOKEN"
            ),
            "{msg}"
        );
    }

    #[test]
    fn too_many_requests_says_when() {
        let reset = Timestamp::from_unix_seconds(1_705_420_800);
        let e = ApiError::decode("POST /2/compliance/jobs".into(), 429, Some(reset), b"{}");
        assert!(
            e.to_string().contains("resets at 2024-01-16T16:00:00.000Z"),
            "{e}"
        );
    }

    #[test]
    fn html_bodies_are_quoted_short() {
        let body = format!("<html>\n<body>{}</body></html>", "x".repeat(1000));
        let e = ApiError::decode("GET /".into(), 502, None, body.as_bytes());
        let msg = e.to_string();
        assert!(
            msg.starts_with("GET /: the API answered (HTTP 502): <html> <body>xxx"),
            "{msg}"
        );
        assert!(msg.len() < 300);
    }
}
