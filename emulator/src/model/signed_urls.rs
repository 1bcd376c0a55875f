//! The signed URLs of the `gcs` flavour: where a job's objects live on the
//! storage origin, and the V4-style signatures that grant access to them.
//!
//! The signature is an HMAC-SHA256 over the method, the path, the whole
//! query but the signature itself (the `X-Goog-*` parameters carry the date
//! and expiry) and the values of the signed headers, as a V4 signature
//! covers the canonical query string. So a changed or added parameter
//! (`&generation=1`), a different method or a different `Content-Type`
//! fails with `SignatureDoesNotMatch` as on GCS. A resumable session URI
//! (the upload URL plus `upload_id=`) is not a signed URL: the storage
//! routes take it as the session's own capability, before any signature.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::clock;
use super::results::Kind;
use super::signing::Signer;

/// The signing algorithm, as V4 signed URLs name it.
const ALGORITHM: &str = "GOOG4-HMAC-SHA256";
/// The service account the URLs claim to be signed by.
const SERVICE_ACCOUNT: &str =
    "compliance-emulator@twttr-compliance-emulator.iam.gserviceaccount.com";

/// The bucket that holds a kind of job's objects.
fn bucket(kind: Kind) -> &'static str {
    match kind {
        Kind::Tweets => "twttr-tweet-compliance",
        Kind::Users => "twttr-user-compliance",
    }
}

/// The two objects of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Folder {
    /// The uploaded IDs.
    Submission,
    /// The results.
    Delivery,
}

impl Folder {
    /// The folder's name in object paths.
    fn as_str(self) -> &'static str {
        match self {
            Folder::Submission => "submission",
            Folder::Delivery => "delivery",
        }
    }
}

/// The path of a job's object, `/{bucket}/{job}/{folder}/{account}_{job}`.
pub(crate) fn object_path(kind: Kind, id: &str, account: u64, folder: Folder) -> String {
    format!("/{}/{id}/{}/{account}_{id}", bucket(kind), folder.as_str())
}

/// A parsed object path.
#[derive(Debug)]
pub(crate) struct Object {
    pub(crate) job_id: String,
    pub(crate) folder: Folder,
}

/// Why a path names no object.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoObject {
    /// The bucket is not a compliance bucket.
    Bucket,
    /// The bucket is, but the rest of the path names nothing in it.
    Key,
}

/// Parses an object path.
pub(crate) fn parse_path(path: &str) -> Result<Object, NoObject> {
    let mut segs = path.strip_prefix('/').ok_or(NoObject::Bucket)?.split('/');
    let name = segs.next().unwrap_or("");
    if name != bucket(Kind::Tweets) && name != bucket(Kind::Users) {
        return Err(NoObject::Bucket);
    }
    match (segs.next(), segs.next(), segs.next(), segs.next()) {
        (Some(job), Some(folder), Some(name), None) if name.ends_with(&format!("_{job}")) => {
            let folder = match folder {
                "submission" => Folder::Submission,
                "delivery" => Folder::Delivery,
                _ => return Err(NoObject::Key),
            };
            Ok(Object {
                job_id: job.to_string(),
                folder,
            })
        }
        _ => Err(NoObject::Key),
    }
}

/// The canonical form that signatures cover. Parameters are decoded and
/// re-encoded so that equivalent encodings sign the same.
fn canonical(
    method: &str,
    path: &str,
    params: &[(String, String)],
    headers: &[(String, String)],
) -> String {
    let mut sorted: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "X-Goog-Signature")
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    sorted.sort();
    let query: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let header_lines: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    [
        ALGORITHM,
        method,
        path,
        &query.join("&"),
        &header_lines,
        &names.join(";"),
    ]
    .join("\n")
}

/// A V4-style signed URL on the storage origin `base`
/// (`http://127.0.0.1:PORT`), for `method` on `path` with these headers,
/// dated `date_ms` and valid for `expires_secs`.
fn sign_url(
    signer: &Signer,
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    date_ms: i64,
    expires_secs: i64,
) -> String {
    let names: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
    let params: Vec<(String, String)> = vec![
        ("X-Goog-Algorithm".into(), ALGORITHM.into()),
        (
            "X-Goog-Credential".into(),
            format!(
                "{SERVICE_ACCOUNT}/{}/auto/storage/goog4_request",
                clock::goog_day(date_ms)
            ),
        ),
        ("X-Goog-Date".into(), clock::goog_date(date_ms)),
        ("X-Goog-Expires".into(), expires_secs.to_string()),
        ("X-Goog-SignedHeaders".into(), names.join(";")),
    ];
    let header_values: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = signer.sign(&[&canonical(method, path, &params, &header_values)]);
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    format!(
        "{base}{path}?{}&X-Goog-Signature={signature}",
        query.join("&")
    )
}

/// The `Host` value the URLs of `base` are signed for.
fn host(base: &str) -> &str {
    base.strip_prefix("http://").unwrap_or(base)
}

/// The signed upload URL of a job's submission object at `path`: a `PUT`
/// of the file, or for a resumable job the `POST` that starts a session.
pub(crate) fn upload_url(
    signer: &Signer,
    base: &str,
    path: &str,
    created_ms: i64,
    valid_secs: i64,
    resumable: bool,
) -> String {
    let host = host(base);
    if resumable {
        sign_url(
            signer,
            base,
            "POST",
            path,
            &[
                ("content-length", "0"),
                ("content-type", "text/plain"),
                ("host", host),
                ("x-goog-resumable", "start"),
            ],
            created_ms,
            valid_secs,
        )
    } else {
        sign_url(
            signer,
            base,
            "PUT",
            path,
            &[("content-type", "text/plain"), ("host", host)],
            created_ms,
            valid_secs,
        )
    }
}

/// The signed download URL of a job's delivery object at `path`.
pub(crate) fn download_url(
    signer: &Signer,
    base: &str,
    path: &str,
    created_ms: i64,
    valid_secs: i64,
) -> String {
    sign_url(
        signer,
        base,
        "GET",
        path,
        &[("host", host(base))],
        created_ms,
        valid_secs,
    )
}

/// Why a signed request is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The URL carries no signature.
    Unsigned,
    /// The signature does not match the request.
    Mismatch,
    /// The URL expired at this time (ms).
    Expired(i64),
}

/// Checks a request against the signature of its URL: `params` are its
/// decoded query parameters, `header` looks up its headers by lower-case
/// name, and `now_ms` is the emulator's time.
pub(crate) fn check<'h>(
    signer: &Signer,
    method: &str,
    path: &str,
    params: &[(String, String)],
    header: impl Fn(&str) -> Option<&'h str>,
    now_ms: i64,
) -> Result<(), Refusal> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(signature) = get("X-Goog-Signature") else {
        return Err(Refusal::Unsigned);
    };
    let signed = get("X-Goog-SignedHeaders").unwrap_or("");
    let headers: Vec<(String, String)> = signed
        .split(';')
        .filter(|n| !n.is_empty())
        .map(|n| (n.to_string(), header(n).unwrap_or("").to_string()))
        .collect();
    let canon = canonical(method, path, params, &headers);
    if !signer.verify(&[&canon], signature) {
        return Err(Refusal::Mismatch);
    }
    // The signature covers date and expiry, so these parse.
    let date = get("X-Goog-Date").and_then(clock::parse_goog_date);
    let expires = get("X-Goog-Expires").and_then(|e| e.parse::<i64>().ok());
    let (Some(date), Some(expires)) = (date, expires) else {
        return Err(Refusal::Mismatch);
    };
    let deadline = date.saturating_add(expires.saturating_mul(1000));
    if now_ms >= deadline {
        return Err(Refusal::Expired(deadline));
    }
    Ok(())
}

/// Everything but RFC 3986 unreserved characters (letters, digits and
/// `-._~`) is percent-encoded in a canonical query.
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_paths() {
        let path = object_path(Kind::Tweets, "12", 99, Folder::Submission);
        assert_eq!(path, "/twttr-tweet-compliance/12/submission/99_12");
        let Ok(o) = parse_path(&path) else {
            panic!("a valid object path");
        };
        assert_eq!((o.job_id.as_str(), o.folder), ("12", Folder::Submission));
        assert_eq!(
            parse_path("/other/12/submission/99_12").map(|_| ()),
            Err(NoObject::Bucket)
        );
        assert_eq!(
            parse_path("/twttr-user-compliance/12/x/99_12").map(|_| ()),
            Err(NoObject::Key)
        );
        assert_eq!(
            parse_path("/twttr-user-compliance/12/delivery/99_13").map(|_| ()),
            Err(NoObject::Key)
        );
    }

    #[test]
    fn urls_check_until_they_expire() {
        let signer = Signer::random();
        let base = "http://127.0.0.1:9";
        let path = object_path(Kind::Users, "7", 1, Folder::Delivery);
        let url = download_url(&signer, base, &path, 1_628_710_975_000, 60);
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let params: Vec<(String, String)> = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), v.replace("%40", "@").replace("%2F", "/")))
            .collect();
        let host = |name: &str| (name == "host").then_some("127.0.0.1:9");
        let at = |now| check(&signer, "GET", &path, &params, host, now);
        assert_eq!(at(1_628_710_975_000), Ok(()));
        assert_eq!(
            at(1_628_711_035_000),
            Err(Refusal::Expired(1_628_711_035_000))
        );
        assert_eq!(
            check(&signer, "PUT", &path, &params, host, 0),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            check(&signer, "GET", &path, &[], host, 0),
            Err(Refusal::Unsigned)
        );
        // Every parameter is signed: one added is a mismatch.
        for (k, v) in [("generation", "1"), ("foo", "bar"), ("upload_id", "x")] {
            let mut more = params.clone();
            more.push((k.to_string(), v.to_string()));
            let r = check(&signer, "GET", &path, &more, host, 1_628_710_975_000);
            assert_eq!(r, Err(Refusal::Mismatch), "{k}");
        }
        assert_eq!(percent_encode("a@b/c;d e~é"), "a%40b%2Fc%3Bd%20e~%C3%A9");
    }
}
