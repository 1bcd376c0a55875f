//! The blocking client: one HTTP agent, the API base and the token, and the
//! three compliance endpoints (`POST /2/compliance/jobs`,
//! `GET /2/compliance/jobs`, `GET /2/compliance/jobs/:id`).

use std::io::Read as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use ureq::http::Response;
use ureq::Body;

use crate::auth::{redact_in, Origin, Secrets};
use crate::config::Config;
use crate::error::bail_usage;
use crate::error::{describe_error_item, one_line, ApiError, MAX_ERROR_BODY};
use crate::error::{fail, Context as _, Error, ErrorKind, OfKind as _, Result};
use crate::jobs::{self, Job, JobId, JobName, JobRef, JobType, NewJob, Status};
use crate::report::Reporter;
use crate::retry::Retrier;
use crate::time::Timestamp;
use crate::wire::NoAnswer;

/// A blocking client for the batch compliance API.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    config: Config,
    origin: Origin,
    /// The rate-limit headers of the last API answer: requests left, and when
    /// the window resets.
    rate_limit: Mutex<Option<(u64, Timestamp)>>,
}

/// The size of ureq's buffers, both ways: the most an upload writes to the
/// connection at once, and the most a download reads from it.
const TRANSFER_BUFFER: usize = 1024 * 1024;

impl Client {
    /// A client for `config`.
    pub fn new(mut config: Config) -> Result<Client> {
        // Whatever the reporter passes on has this client's token scrubbed.
        config.reporter = config
            .reporter
            .clone()
            .with_secrets(&Secrets::of(&config.token));
        let agent = ureq::Agent::config_builder()
            // Status codes are decoded here, into errors a person can act on.
            .http_status_as_error(false)
            .user_agent(config.user_agent.as_str())
            .timeout_connect(Some(config.connect_timeout))
            .timeout_per_read(Some(config.read_timeout))
            .timeout_per_write(Some(config.read_timeout))
            // The head of an answer has a deadline of its own: a server that
            // trickles it a byte at a time never trips the per-read timeout.
            .timeout_send_request(Some(config.read_timeout))
            .timeout_recv_response(Some(config.read_timeout))
            // ureq's default, made explicit: a redirect never carries the token.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
            // Fewer, larger writes and reads on the socket.
            .output_buffer_size(TRANSFER_BUFFER)
            .input_buffer_size(TRANSFER_BUFFER)
            .build()
            .new_agent();
        let origin = Origin::of(&config.api_url)?;
        Ok(Client {
            agent,
            config,
            origin,
            rate_limit: Mutex::new(None),
        })
    }

    /// What the last API answer said of the rate limit: requests left in
    /// the window, and when it resets (if that is still ahead).
    pub(crate) fn rate_limit(&self) -> Option<(u64, Timestamp)> {
        match *self.rate_limit.lock().ok()? {
            Some((left, reset)) if reset > Timestamp::now() => Some((left, reset)),
            _ => None,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The HTTP agent, shared by API calls and transfers.
    /// Where this client's notes, warnings and progress go.
    pub fn reporter(&self) -> &Reporter {
        &self.config.reporter
    }

    /// A count of attempts for one operation, by this client's policy,
    /// telling its retries to this client's reporter.
    pub(crate) fn retrier(&self) -> Retrier {
        Retrier::new(self.config.retry, self.reporter().clone())
    }

    pub(crate) fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// The `Authorization` value for `url`: the token, but only on the API's origin.
    pub(crate) fn authorization_for(&self, url: &str) -> Option<String> {
        match Origin::of(url) {
            Ok(origin) if origin == self.origin => Some(self.config.token.header_value()),
            _ => None,
        }
    }

    /// Creates a job.
    ///
    /// A name is how people find their jobs again, month after month: it may
    /// be used again once the job that had it has finished (complete, failed
    /// or expired), but not while an active job of the type holds it. If the
    /// API refuses because a job of that type is still active, the error
    /// names it.
    ///
    /// `POST` is not idempotent: after a failure the job may exist though
    /// its answer was lost. Before another try, the jobs are listed, and a
    /// job is taken as this run's only when it can be: `created`, of the
    /// name and kind asked for, and not among the jobs listed before the
    /// first request was sent (another run's job, made earlier, is never
    /// adopted). Two such jobs cannot be told apart: that is an error
    /// naming both, not a guess.
    pub fn create_job(&self, new: &NewJob) -> Result<Job> {
        let job_type = new.job_type;
        // Every job listed now was made before this run's request: none can be its own.
        let before = self.list_jobs(job_type, None)?;
        if let Some(name) = &new.name {
            let holder = before
                .iter()
                .find(|j| j.name() == Some(name.as_str()) && j.status().is_active());
            if let Some(job) = holder {
                bail_usage!(
                    "the name {name:?} belongs to {}, which is still active; a name can be \
                     used again once its job has finished, or add --replace to cancel it",
                    job.describe()
                );
            }
        }
        let body = serde_json::to_vec(new).of_kind(ErrorKind::Io)?;
        let started = Timestamp::now();
        let mut retrier = self.retrier();
        loop {
            let left = retrier.time_left();
            let e = match self.send("POST", "/2/compliance/jobs", &[], Some(&body), left) {
                Ok(envelope) => return job_from(envelope),
                Err(e) => e,
            };
            if e.kind() == ErrorKind::Conflict {
                return Err(self.explain_conflict(e, job_type));
            }
            retrier.after_failure(e)?;
            // POST is not idempotent: the job may exist though its answer was lost.
            if let Some(job) = self.made_by_this_run(new, &before, started)? {
                self.reporter().note(format!(
                    "{} was created by this run's request, whose answer was lost; using it",
                    job.describe()
                ));
                return Ok(job);
            }
        }
    }

    /// Adds the active job of that type to a `conflict` error, if it can be listed.
    fn explain_conflict(&self, e: Error, job_type: JobType) -> Error {
        let active = self.list_jobs(job_type, None).ok().and_then(|jobs| {
            jobs.into_iter()
                .find(|j| matches!(j.status(), Status::Created | Status::InProgress))
        });
        let Some(job) = active else { return e };
        let advice = match job.status() {
            Status::Created => "upload its IDs, let its upload window close".to_string(),
            _ => format!("wait for it to finish (list-job --id {} --wait)", job.id()),
        };
        let advice = format!("{advice}, or add --replace to cancel it");
        e.context(format!(
            "only one {job_type} job may be active at a time, and {} is; {advice}",
            job.describe()
        ))
    }

    /// The job this run's lost request made, if one can be told to be it: a
    /// `created` job like `new` (name, resumable) that is not in `before`
    /// (listed before the request) and was created since `since` (give or
    /// take clock skew). `None`: no such job, the request made none. Two or
    /// more: an error naming them, since either may be another run's.
    fn made_by_this_run(
        &self,
        new: &NewJob,
        before: &[Job],
        since: Timestamp,
    ) -> Result<Option<Job>> {
        let job_type = new.job_type;
        let check = format!("`list-jobs --type {job_type} --status created` shows it");
        let skew = 5 * 60 * 1000;
        let jobs = self
            .list_jobs(job_type, Some(&Status::Created))
            .with_context(|| {
                format!(
                    "the {job_type} job this run asked for may have been created though the \
                     answer was lost, and the jobs could not be listed to find it: {check}"
                )
            })?;
        let mut ours: Vec<Job> = jobs
            .into_iter()
            .filter(|j| before.iter().all(|b| b.id() != j.id()))
            .filter(|j| {
                j.name() == new.name.as_ref().map(JobName::as_str)
                    && j.resumable() == new.resumable
                    && j.created_at()
                        .is_some_and(|at| at.millis() >= since.millis() - skew)
            })
            .collect();
        match ours.len() {
            0 | 1 => Ok(ours.pop()),
            _ => {
                let found: Vec<String> = ours.iter().map(Job::describe_dated).collect();
                fail!(
                    Conflict,
                    "the answer to this run's request was lost, and {} {job_type} jobs like \
                     the one it asked for were created since it began: {}; any one of them may \
                     be another run's (create-job run twice at once?), so none is taken as \
                     this run's. `list-jobs --type {job_type} --status created` shows them: \
                     go on with the one that is yours, by its --id",
                    ours.len(),
                    found.join(", ")
                )
            }
        }
    }

    /// Lists the jobs of one type, newest first, optionally of one status.
    ///
    /// The API cannot filter on `expired`; that filter is applied here.
    pub fn list_jobs(&self, job_type: JobType, status: Option<&Status>) -> Result<Vec<Job>> {
        self.list_jobs_within(job_type, status, None)
    }

    /// [`Client::list_jobs`], retries and rate-limit waits included, before
    /// `deadline` (which `--timeout` set).
    fn list_jobs_within(
        &self,
        job_type: JobType,
        status: Option<&Status>,
        deadline: Option<Instant>,
    ) -> Result<Vec<Job>> {
        let mut query = vec![("type", job_type.as_str())];
        if let Some(status) = status.filter(|s| **s != Status::Expired) {
            query.push(("status", status.as_str()));
        }
        let envelope = self.get("/2/compliance/jobs", &query, deadline)?;
        // An empty list comes as `{}` (or with `meta` alone); `errors` alone
        // is a failure, whatever the status said.
        let data = match envelope.get("data") {
            None | Some(Value::Null) => {
                if let Some(why) = first_error(&envelope) {
                    fail!(
                        BadAnswer,
                        "GET /2/compliance/jobs: the API answered with errors only: {why}"
                    );
                }
                Vec::new()
            }
            Some(Value::Array(items)) => items.clone(),
            Some(_) => fail!(BadAnswer, "GET /2/compliance/jobs: `data` is not a list"),
        };
        let mut jobs = data
            .into_iter()
            .map(Job::from_value)
            .collect::<Result<Vec<_>>>()
            .context("GET /2/compliance/jobs")?;
        if let Some(status) = status {
            jobs.retain(|j| j.status() == *status);
        }
        jobs.sort_by(Job::newest_first);
        Ok(jobs)
    }

    /// Lists the jobs of the given types (both when `None`), newest first.
    pub fn list_all(&self, job_type: Option<JobType>, status: Option<&Status>) -> Result<Vec<Job>> {
        self.list_all_within(job_type, status, None)
    }

    fn list_all_within(
        &self,
        job_type: Option<JobType>,
        status: Option<&Status>,
        deadline: Option<Instant>,
    ) -> Result<Vec<Job>> {
        let types = match job_type {
            Some(t) => vec![t],
            None => JobType::ALL.to_vec(),
        };
        let mut jobs = Vec::new();
        for t in types {
            jobs.extend(self.list_jobs_within(t, status, deadline)?);
        }
        jobs.sort_by(Job::newest_first);
        Ok(jobs)
    }

    /// Gets one job by id. An unknown id is a
    /// [`NotFound`](crate::ErrorKind::NotFound) error.
    pub fn get_job(&self, id: &JobId) -> Result<Job> {
        self.get_job_within(id, None)
    }

    /// Gets one job by id, retries and rate-limit waits included, before
    /// `deadline` (which `--timeout` set).
    pub fn get_job_within(&self, id: &JobId, deadline: Option<Instant>) -> Result<Job> {
        let path = format!("/2/compliance/jobs/{id}");
        let envelope = self.get(&path, &[], deadline)?;
        if envelope.get("data").is_none_or(Value::is_null) {
            let why = first_error(&envelope).unwrap_or_else(|| "the API sent no job".into());
            let why = why.trim_end_matches('.');
            fail!(
                NotFound,
                "job {id} not found: {why}; list-jobs shows the jobs of both types, with their ids"
            );
        }
        job_from(envelope)
    }

    /// Finds the job a user named: by id, or the newest job with exactly that
    /// name (within `--type` if given). A name that jobs of both types have,
    /// without `--type`, is a usage error naming them: a tweets job must
    /// never get user IDs. When older jobs have the name, a note on stderr
    /// says which one was taken.
    pub fn find_job(&self, job: &JobRef) -> Result<Job> {
        self.find_job_within(job, None)
    }

    /// [`Client::find_job`], its requests, retries and rate-limit waits
    /// included, before `deadline` (which `--timeout` set, from the start of
    /// the run).
    pub fn find_job_within(&self, job: &JobRef, deadline: Option<Instant>) -> Result<Job> {
        let (name, job_type) = match job {
            JobRef::Id(id) => return self.get_job_within(id, deadline),
            JobRef::Name { name, job_type } => (name, *job_type),
        };
        let mut matches: Vec<Job> = self
            .list_all_within(job_type, None, deadline)?
            .into_iter()
            .filter(|j| j.name() == Some(name.as_str()))
            .collect();
        let Some(newest) = matches.first() else {
            return Err(self.none_named(name, job_type, deadline));
        };
        let other_type = matches.iter().find(|j| j.job_type() != newest.job_type());
        if let Some(other) = other_type {
            bail_usage!(
                "jobs of both types are named {name:?}: {} and {}; say which with --type \
                 tweets or --type users",
                newest.describe_dated(),
                other.describe_dated()
            );
        }
        if matches.len() > 1 {
            self.reporter().note(format!(
                "{} jobs are named {name:?}; taking the newest, {}",
                matches.len(),
                newest.describe_dated()
            ));
        }
        Ok(matches.swap_remove(0))
    }

    /// The error for a name that no job of `job_type` (of either type when
    /// `None`) has, saying where to look: at the other type's job of that
    /// name when there is one (a look only this failure makes), else at
    /// list-jobs.
    fn none_named(
        &self,
        name: &JobName,
        job_type: Option<JobType>,
        deadline: Option<Instant>,
    ) -> Error {
        let Some(asked) = job_type else {
            return Error::new(
                ErrorKind::NotFound,
                format!(
                    "no tweets or users job named {name:?} is listed; list-jobs shows the jobs \
                     of both types, with their names"
                ),
            );
        };
        let other = asked.other();
        // Whether the other type has the name only adds to the message: a
        // failure to list its jobs leaves it out.
        let theirs = self
            .list_jobs_within(other, None, deadline)
            .ok()
            .and_then(|jobs| jobs.into_iter().find(|j| j.name() == Some(name.as_str())));
        let message = match theirs {
            Some(job) => format!(
                "no {asked} job named {name:?} is listed, but {} is: use --type {other}",
                job.describe_dated()
            ),
            None => format!(
                "no {asked} job named {name:?} is listed, and no {other} job either; \
                 list-jobs --type {asked} shows the {asked} jobs, with their names"
            ),
        };
        Error::new(ErrorKind::NotFound, message)
    }

    /// The later parts of the split run whose first part is `first`: the
    /// jobs of its type named `NAME-2`, `NAME-3`, ..., as lifecycle.sh names
    /// the parts of a run it splits ([`jobs::later_parts`] says which count).
    /// One listing of the type; no request for a job without a name.
    pub fn later_parts(&self, first: &Job) -> Result<Vec<Job>> {
        let job_type = match first.job_type().parse::<JobType>() {
            Ok(job_type) if first.name().is_some() => job_type,
            _ => return Ok(Vec::new()),
        };
        let listed = self.list_jobs(job_type, None)?;
        Ok(jobs::later_parts(first, &listed))
    }

    /// After a download by name: a warning when `first` is the first part
    /// of a run that lifecycle.sh split into jobs named NAME, NAME-2, ...,
    /// saying that `file` holds that part only and how to get the rest;
    /// `None` for a job that is no such part. A failed lookup is a warning
    /// too: the download itself worked.
    pub fn split_run_warning(&self, first: &Job, file: &str) -> Option<String> {
        let (name, kind) = (first.name()?, first.job_type());
        let (second, parts) = match self.later_parts(first) {
            Ok(later) => (jobs::part_name(name, 2), later.len() + 1),
            Err(e) => {
                return Some(format!(
                    "could not look for jobs named {:?}, ... (the later parts of a run that \
                     lifecycle.sh split): {e:#}",
                    jobs::part_name(name, 2)
                ))
            }
        };
        let last = jobs::part_name(name, parts);
        let (others, which, download) = match parts {
            1 => return None,
            2 => (
                format!("the {kind} job {second:?} is part 2"),
                "part 2",
                format!("{second:?}"),
            ),
            _ => (
                format!("the {kind} jobs {second:?} to {last:?} are parts 2 to {parts}"),
                "each part",
                format!("{second:?} to {last:?}"),
            ),
        };
        Some(format!(
            "{name:?} is part 1 of {parts} of a split run: {others}, as lifecycle.sh names \
             parts. {file} holds part 1 only; lifecycle.sh writes all parts into the one \
             --results-file it was given, or download {which} with --type {kind} --name \
             {download}."
        ))
    }

    /// Cancels a job that has not finished (`DELETE /2/compliance/jobs/:id`,
    /// API 2.168): it becomes `failed` and frees its type's slot. An API
    /// without the endpoint gets an error saying when the slot frees itself.
    pub fn cancel_job(&self, job: &Job) -> Result<Job> {
        let id = JobId::from_api(job.id())?;
        let path = format!("/2/compliance/jobs/{id}");
        // Not retried blindly: a lost answer is checked by looking.
        let sent = self
            .retrier()
            .run(|left| self.send("DELETE", &path, &[], None, left));
        let envelope = match sent {
            Ok(envelope) => envelope,
            Err(e) => {
                let missing = e
                    .find::<ApiError>()
                    .is_some_and(|a| matches!(a.status, 404 | 405) && !a.is("resource-not-found"));
                if !missing {
                    return Err(e.context(format!("cannot cancel {}", job.describe())));
                }
                let frees = match (job.status(), job.upload_expires_at()) {
                    (Status::Created, Some(at)) => {
                        format!("when its upload window closes at {at}")
                    }
                    (Status::Created, None) => "when its upload window closes".to_string(),
                    _ => "when it finishes".to_string(),
                };
                fail!(
                    Refused,
                    "this API cannot cancel jobs (DELETE /2/compliance/jobs/{id} answered HTTP \
                     {}): {} frees its slot {frees}",
                    e.find::<ApiError>().map_or(0, |a| a.status),
                    job.describe()
                );
            }
        };
        if envelope.get("data").is_none_or(Value::is_null) {
            let why = first_error(&envelope).unwrap_or_else(|| "the API sent no job".into());
            fail!(NotFound, "cannot cancel {}: {why}", job.describe());
        }
        job_from(envelope)
    }

    /// Cancels the active job of `job_type`, if there is one, to make room
    /// for a new job (`create-job --replace`); returns it as cancelled.
    pub fn cancel_active(&self, job_type: JobType) -> Result<Option<Job>> {
        let active = self
            .list_jobs(job_type, None)?
            .into_iter()
            .find(|j| j.status().is_active());
        let Some(job) = active else {
            return Ok(None);
        };
        self.reporter().note(format!(
            "cancelling {} to make room (--replace)",
            job.describe()
        ));
        self.cancel_job(&job).map(Some)
    }

    /// GETs from the API, retried by the policy (within `deadline`), and
    /// returns the JSON envelope.
    fn get(&self, path: &str, query: &[(&str, &str)], deadline: Option<Instant>) -> Result<Value> {
        self.retrier()
            .until(deadline, "--timeout")
            .run(|left| self.send("GET", path, query, None, left))
    }

    /// Calls the API once, within `limit` if given, and returns its JSON
    /// envelope; a non-200 answer becomes an [`ApiError`], and partial
    /// `errors` beside `data` are printed as warnings.
    fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&[u8]>,
        limit: Option<Duration>,
    ) -> Result<Value> {
        let request = format!("{method} {path}");
        let url = format!("{}{path}", self.config.api_url);
        let auth = self.config.token.header_value();
        // An answer of the API is a few kilobytes: its body gets --stall in
        // all, so a trickle cannot hold it.
        let body_time = Some(self.config.read_timeout);
        let sent = match method {
            "POST" => bounded(self.agent.post(&url), limit)
                .config()
                .timeout_recv_body(body_time)
                .build()
                .query_pairs(query.iter().copied())
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(body.unwrap_or_default()),
            "GET" | "DELETE" => {
                let bare = match method {
                    "GET" => self.agent.get(&url),
                    _ => self.agent.delete(&url),
                };
                bounded(bare, limit)
                    .config()
                    .timeout_recv_body(body_time)
                    .build()
                    .query_pairs(query.iter().copied())
                    .header("authorization", &auth)
                    .call()
            }
            _ => fail!(Usage, "{request}: not a method this client sends"),
        };
        let mut response = sent.map_err(|e| {
            let host = self.origin.host_port();
            let api_url = &self.config.api_url;
            let failure = NoAnswer::of(&e, &url);
            let message = match &failure {
                NoAnswer::NotTls if self.origin.is_loopback() => format!(
                    "{request}: {host} answered in plain HTTP, not TLS: use \
                     X_API_URL=http://{host} (the emulator speaks plain http)"
                ),
                NoAnswer::NotTls => format!(
                    "{request}: {host} answered, but not in TLS, though X_API_URL={api_url} \
                     asks for it: is a proxy or a captive portal answering in its place? \
                     Check the network"
                ),
                NoAnswer::Refused => format!(
                    "{request}: {host} refused the connection; is the server at \
                     X_API_URL={api_url} (or the emulator) running?"
                ),
                NoAnswer::UnknownHost => format!(
                    "{request}: cannot find the host {} (X_API_URL={api_url}); check the \
                     name and the network",
                    self.origin.host()
                ),
                // The bound is the run's: --timeout, or the retry time.
                NoAnswer::TimeUp => {
                    format!("{request} to {host}: no whole answer within the time left")
                }
                NoAnswer::Broke(why) => format!("{request} to {host}: {why}"),
                NoAnswer::TooLarge | NoAnswer::NotJson(_) => {
                    format!("{request} to {host}: {}", redact_in(&e.to_string(), &url))
                }
            };
            Error::new(failure.kind(self.origin.is_loopback()), message)
        })?;
        let status = response.status().as_u16();
        let remaining = response
            .headers()
            .get("x-rate-limit-remaining")
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        if let (Some(remaining), Some(reset)) = (remaining, rate_limit_reset(&response)) {
            if let Ok(mut last) = self.rate_limit.lock() {
                *last = Some((remaining, reset));
            }
        }
        if status != 200 {
            let reset = rate_limit_reset(&response);
            let retry_after = retry_after(&response, Timestamp::now());
            let body = read_limited(&mut response, MAX_ERROR_BODY);
            let mut error = ApiError::decode(request, status, reset, &body);
            error.retry_after = retry_after;
            return Err(error.into_error());
        }
        // No answer of the API comes near this; one that does is not retried.
        if let Some(len) = response.body().content_length().filter(|n| *n > MAX_ANSWER) {
            fail!(
                BadAnswer,
                "{request}: the answer is {len} bytes, over the {} MiB an API answer may be",
                MAX_ANSWER >> 20
            );
        }
        let envelope: Value = match response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_json()
        {
            Ok(envelope) => envelope,
            Err(e) => {
                let failure = NoAnswer::of(&e, &url);
                let why = match &failure {
                    NoAnswer::TooLarge => format!(
                        "the answer is over the {} MiB an API answer may be",
                        MAX_ANSWER >> 20
                    ),
                    NoAnswer::NotJson(why) => format!("the answer is not JSON: {why}"),
                    // The connection broke while the answer came: worth another try.
                    NoAnswer::Broke(why) => format!("reading the answer: {why}"),
                    _ => format!("reading the answer: {}", redact_in(&e.to_string(), &url)),
                };
                let kind = failure.kind(self.origin.is_loopback());
                return Err(Error::new(kind, format!("{request}: {why}")));
            }
        };
        if envelope.get("data").is_some_and(|d| !d.is_null()) {
            if let Some(errors) = envelope.get("errors").and_then(Value::as_array) {
                for e in errors {
                    let item = one_line(&describe_error_item(e));
                    self.reporter().warn(format!("{request}: {item}"));
                }
            }
        }
        Ok(envelope)
    }
}

/// The most an API answer may be: far more than any list of jobs.
const MAX_ANSWER: u64 = 64 * 1024 * 1024;

/// The first of an envelope's `errors`, as one line.
fn first_error(envelope: &Value) -> Option<String> {
    let first = envelope.get("errors")?.as_array()?.first()?;
    Some(one_line(&describe_error_item(first)))
}

fn job_from(envelope: Value) -> Result<Job> {
    let data = envelope.get("data").cloned().unwrap_or(Value::Null);
    Job::from_value(data)
}

/// `x-rate-limit-reset`, Unix seconds, if present.
pub(crate) fn rate_limit_reset(response: &Response<Body>) -> Option<Timestamp> {
    let value = response
        .headers()
        .get("x-rate-limit-reset")?
        .to_str()
        .ok()?;
    value.trim().parse().ok().map(Timestamp::from_unix_seconds)
}

/// `Retry-After`, as a time: seconds after `now`, or an HTTP date.
fn retry_after(response: &Response<Body>, now: Timestamp) -> Option<Timestamp> {
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    retry_after_at(value, now)
}

/// A `Retry-After` value as a time: a number of seconds after `now`, or an
/// HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110's IMF-fixdate).
fn retry_after_at(value: &str, now: Timestamp) -> Option<Timestamp> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        let millis = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        return Some(Timestamp::from_millis(now.millis().saturating_add(millis)));
    }
    let [_weekday, day, month, year, time, "GMT"] =
        value.split_whitespace().collect::<Vec<_>>()[..]
    else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    Timestamp::parse(&format!("{year}-{month:02}-{day:0>2}T{time}Z"))
}

/// Reads at most `limit` bytes of a body, for an error message; what cannot
/// be read is left out rather than turned into another error.
pub(crate) fn read_limited(response: &mut Response<Body>, limit: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = response
        .body_mut()
        .as_reader()
        .take(limit)
        .read_to_end(&mut out);
    out
}

/// Bounds a request by `limit`, from its start to the end of its body
/// (ureq's global timeout); `None` leaves it to the per-read timeouts.
pub(crate) fn bounded<B>(
    request: ureq::RequestBuilder<B>,
    limit: Option<std::time::Duration>,
) -> ureq::RequestBuilder<B> {
    match limit {
        Some(limit) => request.config().timeout_global(Some(limit)).build(),
        None => request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = Timestamp::parse("2026-12-01T10:00:00.000Z").unwrap();
        let at = |v: &str| retry_after_at(v, now).map(|t| t.to_string());
        assert_eq!(at("120").as_deref(), Some("2026-12-01T10:02:00.000Z"));
        assert_eq!(at(" 0 ").as_deref(), Some("2026-12-01T10:00:00.000Z"));
        assert_eq!(
            at("Sun, 06 Nov 1994 08:49:37 GMT").as_deref(),
            Some("1994-11-06T08:49:37.000Z")
        );
        assert!(at("18446744073709551615").is_some(), "far, not a panic");
        for bad in [
            "",
            "-1",
            "soon",
            "1.5",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 31 Feb 2026 00:00:00 GMT",
        ] {
            assert_eq!(at(bad), None, "{bad:?}");
        }
    }
}
