//! Compliance jobs: their type, status and id, and the job object itself.
//!
//! A [`Job`] is read once, when it arrives: its fields typed, with what
//! each status allows (an upload, a download) in its methods here. It keeps
//! the API's object whole too, unknown fields included, so that printing it
//! shows exactly what the API said (an unknown status is shown as it is).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{fail, Error, ErrorKind, NotValid, Result};
use crate::time::{human_duration, Timestamp};

/// The longest job name the API accepts.
pub const MAX_NAME_CHARS: usize = 64;

/// What a job checks: Tweet IDs or user IDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobType {
    /// A job over Tweet IDs.
    Tweets,
    /// A job over user IDs.
    Users,
}

impl JobType {
    /// Both types, in the order they are listed.
    pub const ALL: [JobType; 2] = [JobType::Tweets, JobType::Users];

    /// The API's name: `tweets` or `users`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Tweets => "tweets",
            JobType::Users => "users",
        }
    }

    /// The other type: `users` for `tweets`, and `tweets` for `users`.
    pub fn other(self) -> JobType {
        match self {
            JobType::Tweets => JobType::Users,
            JobType::Users => JobType::Tweets,
        }
    }
}

impl FromStr for JobType {
    type Err = NotValid;

    /// `tweets` or `users`, exactly.
    fn from_str(value: &str) -> Result<JobType, NotValid> {
        match value {
            "tweets" => Ok(JobType::Tweets),
            "users" => Ok(JobType::Users),
            _ => Err(NotValid("tweets or users".into())),
        }
    }
}

impl fmt::Display for JobType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a job is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Waiting for its ID file.
    Created,
    /// IDs uploaded, being processed.
    InProgress,
    /// Results ready to download.
    Complete,
    /// Failed, or cancelled.
    Failed,
    /// The upload window passed without an upload.
    Expired,
    /// A status this tool does not know, shown as the API sent it.
    Other(String),
}

impl Status {
    /// The statuses `--status` accepts, in lifecycle order.
    pub const KNOWN: [&'static str; 5] =
        ["created", "in_progress", "complete", "failed", "expired"];

    /// Parses the API's status string; an unknown one is kept as [`Status::Other`].
    pub fn parse(s: &str) -> Status {
        match s {
            "created" => Status::Created,
            "in_progress" => Status::InProgress,
            "complete" => Status::Complete,
            "failed" => Status::Failed,
            "expired" => Status::Expired,
            other => Status::Other(other.to_string()),
        }
    }

    /// The API's name for it.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Created => "created",
            Status::InProgress => "in_progress",
            Status::Complete => "complete",
            Status::Failed => "failed",
            Status::Expired => "expired",
            Status::Other(s) => s,
        }
    }

    /// Whether the job will not change any more: complete, failed or expired.
    pub fn is_final(&self) -> bool {
        matches!(self, Status::Complete | Status::Failed | Status::Expired)
    }

    /// Whether the job holds its type's one slot: created or in progress.
    pub fn is_active(&self) -> bool {
        matches!(self, Status::Created | Status::InProgress)
    }
}

impl FromStr for Status {
    type Err = NotValid;

    /// One of [`Status::KNOWN`]; an unknown status is not valid here (the
    /// API's own are read leniently with [`Status::parse`]).
    fn from_str(value: &str) -> Result<Status, NotValid> {
        match Status::parse(value) {
            Status::Other(_) => Err(NotValid(format!("one of {}", Status::KNOWN.join(", ")))),
            status => Ok(status),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job id: 1 to 19 digits, checked before it goes into a URL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JobId(String);

impl JobId {
    /// Parses an id that is not the user's `--id` (one the API or a URL
    /// gave): `None` unless it is 1 to 19 digits.
    pub fn parse(value: &str) -> Option<JobId> {
        let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        (digits && value.len() <= 19).then(|| JobId(value.to_string()))
    }

    /// Takes the id of a job the API sent; it goes into a URL, so it is
    /// checked too, but an odd one is the API's fault, not a flag's.
    pub fn from_api(value: &str) -> Result<JobId> {
        JobId::parse(value).ok_or_else(|| {
            Error::new(
                ErrorKind::BadAnswer,
                format!("the API sent a job id that is not 1 to 19 digits: {value:?}"),
            )
        })
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for JobId {
    type Err = NotValid;

    /// 1 to 19 ASCII digits.
    fn from_str(value: &str) -> Result<JobId, NotValid> {
        JobId::parse(value).ok_or_else(|| NotValid("a job id of 1 to 19 digits".into()))
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job's name: 1 to 64 characters, checked once, when it is made. Shown
/// in messages as a quoted string.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct JobName(String);

impl JobName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for JobName {
    type Err = NotValid;

    /// 1 to [`MAX_NAME_CHARS`] characters.
    fn from_str(value: &str) -> Result<JobName, NotValid> {
        let chars = value.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(NotValid(format!(
                "1 to {MAX_NAME_CHARS} characters (this one has {chars})"
            )));
        }
        Ok(JobName(value.to_string()))
    }
}

impl fmt::Debug for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the user named a job on the command line: by id, or by name.
#[derive(Clone, Debug)]
pub enum JobRef {
    /// `--id <id>`.
    Id(JobId),
    /// `--name <name>`, within one type or (with `None`) both.
    Name {
        /// The exact name.
        name: JobName,
        /// `--type`, if given.
        job_type: Option<JobType>,
    },
}

impl fmt::Display for JobRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobRef::Id(id) => write!(f, "job {id}"),
            JobRef::Name { name, .. } => write!(f, "job named {name:?}"),
        }
    }
}

/// The request body of `POST /2/compliance/jobs`.
#[derive(Clone, Debug, Serialize)]
pub struct NewJob {
    /// `tweets` or `users`.
    #[serde(rename = "type")]
    pub job_type: JobType,
    /// An optional name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<JobName>,
    /// Ask for a resumable upload URL (sent only when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resumable: bool,
}

/// A compliance job as the API returned it: its fields read once, when it
/// arrives, and the object itself kept to be printed as it came.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    id: String,
    job_type: String,
    status: Status,
    name: Option<String>,
    created_at: Option<Timestamp>,
    upload_url: Option<String>,
    upload_expires_at: Option<Timestamp>,
    download_url: Option<String>,
    download_expires_at: Option<Timestamp>,
    estimated_completion: Option<Timestamp>,
    resumable: bool,
    /// The object as the API sent it, fields unknown here included.
    sent: Map<String, Value>,
}

impl Job {
    /// Takes a job object from the API; it must have string `id`, `type`
    /// and `status`. Other fields are read leniently: one of the wrong
    /// type, or a time that is not one, counts as absent.
    pub fn from_value(value: Value) -> Result<Job> {
        let Value::Object(sent) = value else {
            fail!(BadAnswer, "the API sent a job that is not a JSON object");
        };
        let text = |field: &str| sent.get(field).and_then(Value::as_str);
        let required = |field: &str| match text(field) {
            Some(value) => Ok(value.to_string()),
            None => Err(Error::new(
                ErrorKind::BadAnswer,
                format!("the API sent a job without a string {field:?}"),
            )),
        };
        let time = |field: &str| text(field).and_then(Timestamp::parse);
        Ok(Job {
            id: required("id")?,
            job_type: required("type")?,
            status: Status::parse(&required("status")?),
            name: text("name").map(str::to_string),
            created_at: time("created_at"),
            upload_url: text("upload_url").map(str::to_string),
            upload_expires_at: time("upload_expires_at"),
            download_url: text("download_url").map(str::to_string),
            download_expires_at: time("download_expires_at"),
            estimated_completion: time("estimated_completion"),
            resumable: sent
                .get("resumable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            sent,
        })
    }

    /// The job id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `tweets` or `users` (or what the API sent).
    pub fn job_type(&self) -> &str {
        &self.job_type
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status.clone()
    }

    /// The name, if the job was given one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// When the job was created.
    pub fn created_at(&self) -> Option<Timestamp> {
        self.created_at
    }

    /// The signed URL to upload the ID file to.
    pub fn upload_url(&self) -> Option<&str> {
        self.upload_url.as_deref()
    }

    /// When the upload window closes.
    pub fn upload_expires_at(&self) -> Option<Timestamp> {
        self.upload_expires_at
    }

    /// The signed URL to download the results from.
    pub fn download_url(&self) -> Option<&str> {
        self.download_url.as_deref()
    }

    /// When the download URL stops working.
    pub fn download_expires_at(&self) -> Option<Timestamp> {
        self.download_expires_at
    }

    /// When the API expects processing to finish (undocumented; sent by some versions).
    pub fn estimated_completion(&self) -> Option<Timestamp> {
        self.estimated_completion
    }

    /// Whether the upload URL takes the resumable protocol.
    pub fn resumable(&self) -> bool {
        self.resumable
    }

    /// The upload URL, if the job still takes its IDs: status `created` and
    /// the upload window open at `now`. Otherwise a [`Job`](ErrorKind::Job)
    /// error saying why.
    pub fn open_upload_url(&self, now: Timestamp) -> Result<&str> {
        let closed = |at: Option<Timestamp>| {
            let when = match at {
                Some(at) => format!(" at {at} ({} ago)", human_duration(at.until(now))),
                None => String::new(),
            };
            Error::new(
                ErrorKind::Job,
                format!(
                    "the upload window of {} closed{when}; IDs can no longer be uploaded to \
                     it: create a new job",
                    self.describe()
                ),
            )
        };
        match self.status() {
            Status::Created => {}
            Status::Expired => return Err(closed(self.upload_expires_at())),
            Status::InProgress | Status::Complete => fail!(
                Job,
                "{} already has its IDs: a job takes them once; to check IDs again, \
                 create a new job",
                self.describe()
            ),
            status => fail!(
                Job,
                "{} is {status} and takes no IDs; to check IDs, create a new job",
                self.describe()
            ),
        }
        if let Some(at) = self.upload_expires_at().filter(|at| *at <= now) {
            return Err(closed(Some(at)));
        }
        self.upload_url().ok_or_else(|| {
            Error::new(
                ErrorKind::BadAnswer,
                format!("{} has no upload_url", self.describe()),
            )
        })
    }

    /// The download URL, if the results can be fetched at `now`: status
    /// `complete` and the download not expired. Otherwise a
    /// [`Job`](ErrorKind::Job) error saying why.
    pub fn ready_download_url(&self, now: Timestamp) -> Result<&str> {
        match self.status() {
            Status::Complete => {}
            Status::Created => fail!(
                Job,
                "{} has no IDs yet: upload them first (upload-ids --ids-file FILE --id {}), \
                 then download its results",
                self.describe(),
                self.id()
            ),
            Status::InProgress => fail!(
                Job,
                "{} is not complete yet: wait with --wait, or later run list-job --id {} --wait",
                self.describe(),
                self.id()
            ),
            Status::Expired => fail!(
                Job,
                "{} has no results: its upload window closed without IDs; to check IDs, \
                 create a new job",
                self.describe()
            ),
            _ => fail!(Job, "{} has no results to download", self.describe()),
        }
        if let Some(at) = self.download_expires_at().filter(|at| *at <= now) {
            fail!(
                Job,
                "the results of {} expired at {at}; they can no longer be downloaded: \
                 create a new job and upload the IDs again",
                self.describe()
            );
        }
        self.download_url().ok_or_else(|| {
            Error::new(
                ErrorKind::BadAnswer,
                format!("{} has no download_url", self.describe()),
            )
        })
    }

    /// A short name for messages: `tweets job 123 ("name")`.
    pub fn label(&self) -> String {
        match self.name() {
            Some(name) => format!("{} job {} ({name:?})", self.job_type(), self.id()),
            None => format!("{} job {}", self.job_type(), self.id()),
        }
    }

    /// A description that tells jobs of one name apart:
    /// `tweets job 123 ("name", complete, created 2026-11-30T10:00:00.000Z)`.
    pub fn describe_dated(&self) -> String {
        let created = self
            .created_at()
            .map_or(String::new(), |at| format!(", created {at}"));
        match self.name() {
            Some(name) => format!(
                "{} job {} ({name:?}, {}{created})",
                self.job_type(),
                self.id(),
                self.status()
            ),
            None => format!(
                "{} job {} ({}{created})",
                self.job_type(),
                self.id(),
                self.status()
            ),
        }
    }

    /// A short description for messages: `tweets job 123 ("name", in_progress)`.
    pub fn describe(&self) -> String {
        match self.name() {
            Some(name) => format!(
                "{} job {} ({name:?}, {})",
                self.job_type(),
                self.id(),
                self.status()
            ),
            None => format!("{} job {} ({})", self.job_type(), self.id(), self.status()),
        }
    }

    /// Orders jobs newest first: by `created_at`, then by id (ids grow with time).
    pub fn newest_first(a: &Job, b: &Job) -> Ordering {
        let by_id = |j: &Job| (j.id().len(), j.id().to_string());
        b.created_at()
            .cmp(&a.created_at())
            .then_with(|| by_id(b).cmp(&by_id(a)))
    }
}

impl Serialize for Job {
    /// The object as the API sent it.
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.sent.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Job {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Job, D::Error> {
        Job::from_value(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// The name lifecycle.sh gives part `part` (2 or more) of a run it splits
/// under `name`: `NAME-2`, `NAME-3`, ...
pub fn part_name(name: &str, part: usize) -> String {
    format!("{name}-{part}")
}

/// The later parts, among `jobs`, of the split run whose first part is
/// `first`: for part 2, 3, ... in turn, the newest job of `first`'s type
/// named [`part_name`] that was created after `first` (lifecycle.sh creates
/// the parts one after another) and before the next job of the type with
/// `first`'s name, up to the first part without one. Jobs of those names
/// from other runs under the same name (last month's, say) do not count.
/// Empty when `first` has no name.
pub fn later_parts(first: &Job, jobs: &[Job]) -> Vec<Job> {
    let Some(name) = first.name() else {
        return Vec::new();
    };
    let of_type = |j: &&Job| j.job_type() == first.job_type();
    let newer = |a: &Job, b: &Job| Job::newest_first(a, b) == Ordering::Less;
    let next_run = jobs
        .iter()
        .filter(of_type)
        .filter(|j| j.name() == Some(name) && newer(j, first))
        .max_by(|a, b| Job::newest_first(a, b)); // the oldest of them
    (2..)
        .map_while(|part| {
            let wanted = part_name(name, part);
            jobs.iter()
                .filter(of_type)
                .filter(|j| j.name() == Some(wanted.as_str()) && newer(j, first))
                .filter(|j| next_run.is_none_or(|next| newer(next, j)))
                .min_by(|a, b| Job::newest_first(a, b)) // the newest
                .cloned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_unknown_fields_and_order() {
        let raw =
            json!({"status": "weird", "id": "1", "type": "tweets", "zeta": [1], "alpha": null});
        let job = Job::from_value(raw.clone()).unwrap();
        assert_eq!(job.status(), Status::Other("weird".into()));
        assert_eq!(serde_json::to_string(&job).unwrap(), raw.to_string());
    }

    #[test]
    fn requires_id_type_and_status() {
        assert!(Job::from_value(json!({"id": "1", "type": "tweets"})).is_err());
        assert!(Job::from_value(json!({"id": 1, "type": "tweets", "status": "created"})).is_err());
        assert!(Job::from_value(json!([])).is_err());
    }

    #[test]
    fn sorts_newest_first() {
        let job = |id: &str, at: &str| {
            Job::from_value(
                json!({"id": id, "type": "users", "status": "created", "created_at": at}),
            )
            .unwrap()
        };
        let mut jobs = [
            job("9", "2021-01-01T00:00:00.000Z"),
            job("10", "2022-01-01T00:00:00.000Z"),
            job("11", "2022-01-01T00:00:00.000Z"),
        ];
        jobs.sort_by(Job::newest_first);
        let ids: Vec<_> = jobs.iter().map(Job::id).collect();
        assert_eq!(ids, ["11", "10", "9"]);
    }

    #[test]
    fn later_parts_are_those_of_this_run_of_the_type_in_order() {
        let job = |id: &str, kind: &str, name: &str, at: &str| {
            Job::from_value(json!({"id": id, "type": kind, "status": "complete",
                "name": name, "created_at": format!("2026-0{at}T00:00:00.000Z")}))
            .unwrap()
        };
        let jobs = [
            job("1", "tweets", "m", "1-01"),
            job("2", "tweets", "m-2", "1-01"),
            job("3", "users", "m", "1-02"),
            job("4", "tweets", "m-3", "1-03"),
            job("5", "tweets", "m", "2-01"),
            job("6", "tweets", "m-2", "2-02"),
            job("7", "tweets", "m-2", "2-03"),
            job("8", "users", "m-3", "2-04"),
            job("9", "tweets", "m-4", "2-05"),
            job("10", "tweets", "mm-3", "2-05"),
        ];
        let ids = |first: &Job| {
            let parts = later_parts(first, &jobs);
            parts.iter().map(|j| j.id().to_string()).collect::<Vec<_>>()
        };
        // January's run had three parts (a users job between them is not
        // a run of the tweets job's name), none of February's.
        assert_eq!(ids(&jobs[0]), ["2", "4"]);
        // February's: the newest m-2; no tweets job m-3, so m-4 is not one.
        assert_eq!(ids(&jobs[4]), ["7"]);
        assert!(ids(&jobs[6]).is_empty(), "no m-2-2");
        let unnamed = Job::from_value(json!({"id": "11", "type": "tweets", "status": "complete"}));
        assert!(later_parts(&unnamed.unwrap(), &jobs).is_empty());
    }

    #[test]
    fn values_are_checked() {
        assert!("1234567890123456789".parse::<JobId>().is_ok());
        for bad in ["", "12345678901234567890", "12a", " 1"] {
            assert!(bad.parse::<JobId>().is_err(), "{bad:?}");
        }
        assert!("tweet".parse::<JobType>().is_err());
        assert!("done".parse::<Status>().is_err());
        assert!("expired".parse::<Status>().is_ok());
        assert!("é".repeat(64).parse::<JobName>().is_ok());
        assert!("é".repeat(65).parse::<JobName>().is_err());
        assert!("".parse::<JobName>().is_err());
    }
}
