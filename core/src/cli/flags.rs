//! Flags into typed values: every `--flag` a stage takes is read here, and
//! a bad value is a usage error naming the flag. The types themselves know
//! only what a valid value is (`FromStr`); which flag it came from is this
//! module's business alone.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;

use crate::auth::{redact_url, Origin};
use crate::error::{bail_usage, usage, NotValid};
use crate::jobs::{JobId, JobName, JobRef, JobType, Status};
use crate::results::Format;
use crate::transfer::{folder_of, Destination};
use crate::wait::Patience;

/// Reads a value of `flag` by its type's `FromStr`: `--type must be tweets
/// or users, not "tweet"`.
pub fn value<T: FromStr<Err = NotValid>>(flag: &str, value: &str) -> anyhow::Result<T> {
    value
        .parse()
        .map_err(|e: NotValid| usage(format!("{flag} {e}, not {value:?}")))
}

/// An optional flag's value, read as [`value`] does.
pub fn optional<T: FromStr<Err = NotValid>>(
    flag: &str,
    given: Option<&str>,
) -> anyhow::Result<Option<T>> {
    given.map(|v| value(flag, v)).transpose()
}

/// `--type`.
pub fn job_type(given: Option<&str>) -> anyhow::Result<Option<JobType>> {
    optional("--type", given)
}

/// `--status`.
pub fn status(given: Option<&str>) -> anyhow::Result<Option<Status>> {
    optional("--status", given)
}

/// `--name` alone, as create-job takes it.
pub fn name(given: Option<&str>) -> anyhow::Result<Option<JobName>> {
    optional("--name", given)
}

/// `--format`.
pub fn format(given: &str) -> anyhow::Result<Format> {
    value("--format", given)
}

/// The job as `--id`, or `--name` with an optional `--type`.
pub fn job(id: Option<&str>, name: Option<&str>, job_type: Option<&str>) -> anyhow::Result<JobRef> {
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
) -> anyhow::Result<Option<JobRef>> {
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

/// `--interval <secs>` and `--timeout <secs>` (absent: no timeout). An
/// interval under a second polls once a second.
pub fn patience(interval: &str, timeout: Option<&str>) -> anyhow::Result<Patience> {
    Ok(Patience {
        interval: seconds("--interval", interval)?,
        timeout: timeout.map(|t| seconds("--timeout", t)).transpose()?,
    })
}

/// A number of seconds, fractions allowed, up to 7 days.
pub fn seconds(flag: &str, value: &str) -> anyhow::Result<Duration> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=604_800.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => {
            bail_usage!("{flag} takes a number of seconds from 0 to 604800 (7 days), not {value:?}")
        }
    }
}

/// `--results-file`: `-` is standard output; a FIFO or character device is
/// written to directly; anything else must be a regular file, or a new one
/// in a folder that exists. A symbolic link is followed, so the file it
/// points to is the one replaced. Checked now, before any request, rather
/// than after a long wait.
pub fn results_file(value: &str) -> anyhow::Result<Destination> {
    if value == "-" {
        return Ok(Destination::Stdout);
    }
    if value.is_empty() {
        bail_usage!("--results-file must name a file, or - for standard output");
    }
    if value.ends_with('/') || value.ends_with(std::path::MAIN_SEPARATOR) {
        bail_usage!(
            "--results-file {value} names a folder; give a file name, such as {value}results.jsonl"
        );
    }
    let path = follow_links(Path::new(value))?;
    match fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => bail_usage!(
            "--results-file {value} is a folder; give a file name, such as {}",
            Path::new(value).join("results.jsonl").display()
        ),
        Ok(meta) if meta.is_file() => {}
        Ok(meta) if is_fifo_or_char_device(&meta) => return Ok(Destination::Device(path)),
        Ok(_) => bail_usage!(
            "--results-file {value} is neither a regular file, a FIFO nor a character device"
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => bail_usage!("--results-file {value}: {e}"),
    }
    let folder = folder_of(&path);
    if !folder.is_dir() {
        bail_usage!(
            "--results-file {value}: the folder {} does not exist",
            folder.display()
        );
    }
    Ok(Destination::File(path))
}

/// Follows a chain of symbolic links to the path it ends at, which need not
/// exist yet (a link to a file the first download creates).
fn follow_links(path: &Path) -> anyhow::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&path)
                    .with_context(|| format!("cannot read the link {}", path.display()))?;
                path = folder_of(&path).join(target);
            }
            _ => return Ok(path),
        }
    }
    bail_usage!(
        "--results-file {}: too many levels of symbolic links",
        path.display()
    )
}

#[cfg(unix)]
fn is_fifo_or_char_device(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    meta.file_type().is_fifo() || meta.file_type().is_char_device()
}

#[cfg(not(unix))]
fn is_fifo_or_char_device(_: &fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit_code;

    #[test]
    fn bad_values_name_their_flag() {
        let e = value::<JobType>("--type", "tweet").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--type must be tweets or users, not \"tweet\""
        );
        assert_eq!(exit_code(&e), 2);
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
            assert_eq!(
                exit_code(&job_or_url(Some(url), None, None, None).unwrap_err()),
                2
            );
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

    #[cfg(unix)]
    #[test]
    fn destinations_by_kind() {
        let dir = std::env::temp_dir().join(format!(
            "compliance-flags-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let text = |p: &Path| p.to_str().unwrap().to_string();
        assert_eq!(results_file("-").unwrap(), Destination::Stdout);
        // Only read: /dev/null is not written here.
        assert_eq!(
            results_file("/dev/null").unwrap(),
            Destination::Device(PathBuf::from("/dev/null"))
        );
        let file = dir.join("r.jsonl");
        assert_eq!(
            results_file(&text(&file)).unwrap(),
            Destination::File(file.clone())
        );
        // A link is followed, even to a file not there yet.
        let link = dir.join("link.jsonl");
        std::os::unix::fs::symlink("r.jsonl", &link).unwrap();
        assert_eq!(
            results_file(&text(&link)).unwrap(),
            Destination::File(dir.join("r.jsonl"))
        );
        for bad in [
            format!("{}/", text(&dir)),
            text(&dir),
            text(&dir.join("no/such/folder.jsonl")),
            String::new(),
        ] {
            let err = results_file(&bad).unwrap_err();
            assert_eq!(exit_code(&err), 2, "{bad}: {err}");
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
