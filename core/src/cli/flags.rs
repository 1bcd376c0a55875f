//! Flags into typed values: every `--flag` a stage takes is read here, and
//! a bad value is a usage error naming the flag. The types themselves know
//! only what a valid value is (`FromStr`); which flag it came from is this
//! module's business alone.

use std::str::FromStr;
use std::time::Duration;

use super::Session;
use crate::auth::{redact_url, Origin};
use crate::destination::Destination;
use crate::error::{bail_usage, Error, NotValid, Result};
use crate::jobs::{JobId, JobName, JobRef, JobType, Status};
use crate::results::Format;
use crate::transfer::Source;
use crate::wait::Patience;

/// Reads a value of `flag` by its type's `FromStr`: `--type must be tweets
/// or users, not "tweet"`.
pub fn value<T: FromStr<Err = NotValid>>(flag: &str, value: &str) -> Result<T> {
    value
        .parse()
        .map_err(|e: NotValid| Error::usage(format!("{flag} {e}, not {value:?}")))
}

/// An optional flag's value, read as [`value`] does.
pub fn optional<T: FromStr<Err = NotValid>>(flag: &str, given: Option<&str>) -> Result<Option<T>> {
    given.map(|v| value(flag, v)).transpose()
}

/// `--type`.
pub fn job_type(given: Option<&str>) -> Result<Option<JobType>> {
    optional("--type", given)
}

/// `--status`.
pub fn status(given: Option<&str>) -> Result<Option<Status>> {
    optional("--status", given)
}

/// `--name` alone, as create-job takes it.
pub fn name(given: Option<&str>) -> Result<Option<JobName>> {
    optional("--name", given)
}

/// `--format`.
pub fn format(given: &str) -> Result<Format> {
    value("--format", given)
}

/// The job as `--id`, or `--name` with an optional `--type`.
pub fn job(id: Option<&str>, name: Option<&str>, job_type: Option<&str>) -> Result<JobRef> {
    let job_type = self::job_type(job_type)?;
    match (id, name) {
        (None, None) => bail_usage!("give the job with --id or --name"),
        (Some(_), None) if job_type.is_some() => bail_usage!("--type goes with --name, not --id"),
        (Some(id), None) => Ok(JobRef::Id(value::<JobId>("--id", id)?)),
        (None, Some(name)) => Ok(JobRef::Name {
            name: value("--name", name)?,
            job_type,
        }),
        (Some(_), Some(_)) => bail_usage!("give either --id or --name, not both"),
    }
}

/// The job as [`job`] reads it, or `None` when `--url` gives it instead: an
/// absolute `https://` URL, or `http://` on this machine (the emulator).
pub fn job_or_url(
    url: Option<&str>,
    id: Option<&str>,
    name: Option<&str>,
    job_type: Option<&str>,
) -> Result<Option<JobRef>> {
    let Some(url) = url else {
        return job(id, name, job_type).map(Some);
    };
    if job_type.is_some() {
        bail_usage!("--type goes with --name, not --url");
    }
    let redacted = redact_url(url);
    match Origin::of(url) {
        Err(e) => {
            bail_usage!("--url {redacted:?}: {e:#}; give the job's URL as create-job printed it")
        }
        Ok(origin) if !origin.is_https() && !origin.is_loopback() => bail_usage!(
            "--url {redacted}: plain http:// is only for loopback hosts; the URL must be https://"
        ),
        Ok(_) => Ok(None),
    }
}

/// The jobs whose results download-results takes, in order: each `--url`,
/// each `--id`, or `--name` (with `--type`). None given is `--name`'s
/// error; the same URL or id twice is a usage error (its results would be
/// there twice), and so is `--wait` with a URL.
pub fn sources(
    urls: &[String],
    ids: &[String],
    name: Option<&str>,
    job_type: Option<&str>,
    wait: bool,
) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    for (k, url) in urls.iter().enumerate() {
        job_or_url(Some(url), None, None, job_type)?;
        if urls[..k].contains(url) {
            bail_usage!("a --url is given twice: its results would be there twice");
        }
        if wait {
            bail_usage!("--wait needs the job itself: give --id or --name instead of --url");
        }
        sources.push(Source::Url(url.clone()));
    }
    for (k, id) in ids.iter().enumerate() {
        if ids[..k].contains(id) {
            bail_usage!("--id {id} is given twice: its results would be there twice");
        }
        sources.push(Source::Job(job(Some(id), None, job_type)?));
    }
    if name.is_some() || sources.is_empty() {
        sources.push(Source::Job(job(None, name, job_type)?));
    }
    Ok(sources)
}

/// `--interval <secs>` and `--timeout <secs>` (absent: no timeout). An
/// interval under a second polls once a second. The timeout counts from
/// now: read the flags first thing, and it bounds the whole run.
pub fn patience(interval: &str, timeout: Option<&str>) -> Result<Patience> {
    Ok(Patience::new(
        seconds("--interval", interval)?,
        timeout.map(|t| seconds("--timeout", t)).transpose()?,
    ))
}

/// A number of seconds, fractions allowed, up to 7 days.
pub fn seconds(flag: &str, value: &str) -> Result<Duration> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=604_800.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => {
            bail_usage!("{flag} takes a number of seconds from 0 to 604800 (7 days), not {value:?}")
        }
    }
}

/// `--results-file`, by the rules of [`Destination::for_path`]: checked
/// now, before any request, rather than after a long wait. A name that is
/// not text is the file given ([`Session::path`]).
pub fn results_file(session: &Session, value: &str) -> Result<Destination> {
    Destination::for_path("--results-file", &session.path(value), "results.jsonl")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_flag() {
        let e = value::<JobType>("--type", "tweet").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--type must be tweets or users, not \"tweet\""
        );
        assert_eq!(e.exit_code(), 2);
        let e = job(Some("12a"), None, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--id must be a job id of 1 to 19 digits, not \"12a\""
        );
        assert!(job(Some("1"), Some("n"), None).is_err());
        assert!(job(None, None, None).is_err());
        assert!(job(Some("1"), None, Some("users")).is_err());
        assert!(matches!(
            job(None, Some("n"), Some("users")).unwrap(),
            JobRef::Name {
                job_type: Some(JobType::Users),
                ..
            }
        ));
        for url in [
            "not a url",
            "ftp://x/y",
            "http://example.com/r",
            "/relative",
        ] {
            let e = job_or_url(Some(url), None, None, None).unwrap_err();
            assert_eq!(e.exit_code(), 2);
        }
        assert!(job_or_url(
            Some("https://s.test/o?X-Goog-Signature=1"),
            None,
            None,
            None
        )
        .unwrap()
        .is_none());
        assert!(patience("0.5", None).is_ok() && patience("-1", None).is_err());
        assert!(seconds("--x", "604801").is_err());
    }
}
