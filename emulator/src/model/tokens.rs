//! The signed tokens of the `api` flavour (spec 2.168): a job's upload and
//! download URLs are routes of the API origin whose `token` parameter,
//! `EXPIRY.SIGNATURE`, grants one purpose on one job until its expiry.

use super::signing::Signer;

/// What a token grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// `PUT /2/compliance/jobs/{id}/upload`.
    Upload,
    /// `GET /2/compliance/jobs/{id}/download`.
    Download,
}

impl Purpose {
    /// The word used in URLs and messages.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Purpose::Upload => "upload",
            Purpose::Download => "download",
        }
    }
}

/// The URL on the API origin `base` that grants `purpose` on job `id`
/// until `expires_ms` (rounded down to the second).
pub(crate) fn url(
    signer: &Signer,
    base: &str,
    purpose: Purpose,
    id: &str,
    expires_ms: i64,
) -> String {
    let expiry = expires_ms.div_euclid(1000).to_string();
    let word = purpose.as_str();
    let sig = signer.sign(&["api-token", word, id, &expiry]);
    format!("{base}/2/compliance/jobs/{id}/{word}?token={expiry}.{sig}")
}

/// Why a token is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The request has no `token` parameter.
    Missing,
    /// The token was not made for this purpose and job by this emulator.
    Invalid,
    /// The token expired at this time (ms).
    Expired(i64),
}

/// Checks the `token` parameter of a request for `purpose` on job `id`.
pub(crate) fn check(
    signer: &Signer,
    token: Option<&str>,
    purpose: Purpose,
    id: &str,
    now_ms: i64,
) -> Result<(), Refusal> {
    let token = token.ok_or(Refusal::Missing)?;
    let valid = token.split_once('.').and_then(|(expiry, sig)| {
        let secs: i64 = expiry.parse().ok()?;
        signer
            .verify(&["api-token", purpose.as_str(), id, expiry], sig)
            .then_some(secs)
    });
    match valid {
        None => Err(Refusal::Invalid),
        Some(secs) if now_ms >= secs.saturating_mul(1000) => {
            Err(Refusal::Expired(secs.saturating_mul(1000)))
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_grant_one_purpose_on_one_job_until_they_expire() {
        let signer = Signer::random();
        let url = url(&signer, "http://h", Purpose::Upload, "12", 5_999);
        let (path, token) = url.split_once("?token=").unwrap_or_default();
        assert_eq!(path, "http://h/2/compliance/jobs/12/upload");
        assert!(token.starts_with("5."));
        let t = Some(token);
        assert_eq!(check(&signer, t, Purpose::Upload, "12", 4_999), Ok(()));
        assert_eq!(
            check(&signer, t, Purpose::Upload, "12", 5_000),
            Err(Refusal::Expired(5_000))
        );
        assert_eq!(
            check(&signer, t, Purpose::Download, "12", 0),
            Err(Refusal::Invalid)
        );
        assert_eq!(
            check(&signer, t, Purpose::Upload, "13", 0),
            Err(Refusal::Invalid)
        );
        assert_eq!(
            check(&signer, None, Purpose::Upload, "12", 0),
            Err(Refusal::Missing)
        );
    }
}
