//! The API origin: `/2/compliance/jobs` and, in the `api` flavour, the
//! token-signed upload and download routes of spec 2.168.
//!
//! Error bodies follow the wire reference: RFC 7807 problems with
//! `https://api.x.com/2/problems/<slug>` types, `invalid-request` problems
//! carrying `errors: [{parameters, message}]`, and `about:blank` for 401,
//! 429 and the other plain HTTP errors.

use std::fs::{self, File};
use std::io::{Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::config::Flavour;
use crate::faults::plan::StandIn;
use crate::faults::Route;
use crate::http::body::Body;
use crate::http::head::{Framing, Request};
use crate::http::query::percent_decode;
use crate::http::ranges::{parse_range, Range};
use crate::http::response::{reason, Response};
use crate::lock::lock;
use crate::model::clock;
use crate::model::clock::ms;
use crate::model::jobs::Status;
use crate::model::lifecycle::{Again, CancelError, CreateError, Refusal};
use crate::model::limits::{Quota, RateLimits};
use crate::model::results::Kind;
use crate::model::tokens::{self, Purpose};
use crate::model::Model;
use crate::server::Handler;

/// Prefix of problem type URIs.
const PROBLEMS: &str = "https://api.x.com/2/problems/";
/// Content type of success bodies.
const JSON: &str = "application/json; charset=utf-8";
/// Content type of problem bodies.
const PROBLEM_JSON: &str = "application/problem+json";
/// The fields `compliance_job.fields` may name.
const FIELDS: [&str; 10] = [
    "created_at",
    "download_expires_at",
    "download_url",
    "id",
    "name",
    "resumable",
    "status",
    "type",
    "upload_expires_at",
    "upload_url",
];
/// The biggest create body read; real ones are tens of bytes.
const MAX_CREATE_BODY: u64 = 64 * 1024;
/// The biggest upload the `api` flavour takes.
const MAX_UPLOAD: u64 = 1 << 30;

/// The API paths.
enum ApiPath {
    Jobs,
    Job(String),
    Upload(String),
    Download(String),
    Other,
}

fn parse_path(path: &str) -> ApiPath {
    let Some(rest) = path.strip_prefix("/2/compliance/jobs") else {
        return ApiPath::Other;
    };
    if rest.is_empty() {
        return ApiPath::Jobs;
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return ApiPath::Other;
    };
    let mut segs = rest.split('/');
    let id = match segs.next() {
        Some(s) if !s.is_empty() => percent_decode(s),
        _ => return ApiPath::Other,
    };
    match (segs.next(), segs.next()) {
        (None, _) => ApiPath::Job(id),
        (Some("upload"), None) => ApiPath::Upload(id),
        (Some("download"), None) => ApiPath::Download(id),
        _ => ApiPath::Other,
    }
}

/// The routes of the API origin.
#[derive(Debug)]
pub(crate) struct ApiRoutes {
    model: Arc<Model>,
    /// The rate-limit windows of the endpoints.
    limits: Mutex<RateLimits<Route>>,
}

impl ApiRoutes {
    /// The API routes of the model.
    pub(crate) fn new(model: Arc<Model>) -> ApiRoutes {
        ApiRoutes {
            model,
            limits: Mutex::new(RateLimits::default()),
        }
    }

    /// The quota of `route` as it stands, without counting a request.
    fn quota(&self, route: Route) -> Quota {
        let cfg = &self.model.config;
        lock(&self.limits).peek(
            route,
            self.model.clock.now_ms(),
            cfg.rate_limit,
            ms(cfg.rate_window),
        )
    }
}

impl Handler for ApiRoutes {
    fn route(&self, req: &Request) -> Option<Route> {
        route(&self.model, req)
    }

    fn handle(&self, req: &Request, body: &mut Body<'_>) -> Response {
        handle(&self.model, &self.limits, req, body)
    }

    fn stand_in(&self, route: Route, req: &Request, stand_in: StandIn) -> Response {
        match stand_in {
            StandIn::Status(status) => fault_response(status, &self.quota(route)),
            StandIn::RateLimited(reset_after) => rate_limited_response(&self.model, reset_after),
            StandIn::EchoAuth(status) => {
                let authorization = req.header("authorization").unwrap_or("");
                echo_auth_response(status, authorization, &self.quota(route))
            }
        }
    }
}

/// The route of an API request, for faults and rate limits.
fn route(model: &Model, req: &Request) -> Option<Route> {
    let api_flavour = model.config.flavour == Flavour::Api;
    match (parse_path(&req.path), req.method.as_str()) {
        (ApiPath::Jobs, "POST") => Some(Route::CreateJob),
        (ApiPath::Jobs, "GET") => Some(Route::ListJobs),
        (ApiPath::Job(_), "GET") => Some(Route::GetJob),
        (ApiPath::Job(_), "DELETE") => Some(Route::CancelJob),
        (ApiPath::Upload(_), "PUT") if api_flavour => Some(Route::Upload),
        (ApiPath::Download(_), "GET") if api_flavour => Some(Route::Download),
        _ => None,
    }
}

/// Answers one API request.
fn handle(
    model: &Arc<Model>,
    limits: &Mutex<RateLimits<Route>>,
    req: &Request,
    body: &mut Body<'_>,
) -> Response {
    let api_flavour = model.config.flavour == Flavour::Api;
    let path = parse_path(&req.path);
    let Some(route) = route(model, req) else {
        return match path {
            ApiPath::Jobs => method_not_allowed("GET, POST"),
            ApiPath::Job(_) => method_not_allowed("GET, DELETE"),
            ApiPath::Upload(_) if api_flavour => method_not_allowed("PUT"),
            ApiPath::Download(_) if api_flavour => method_not_allowed("GET"),
            _ => Response::json(
                404,
                JSON,
                &json!({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}),
            ),
        };
    };
    // The signed token authorises uploads and downloads; a bearer token is
    // optional there but must be right when sent.
    let bearer_required = !matches!(route, Route::Upload | Route::Download);
    let quota = match admit(model, limits, req, route, bearer_required) {
        Ok(q) => q,
        Err(resp) => return resp,
    };
    let resp = match path {
        ApiPath::Jobs if route == Route::CreateJob => create(model, req, body),
        ApiPath::Jobs => list(model, req),
        ApiPath::Job(id) if route == Route::GetJob => get(model, req, &id),
        ApiPath::Job(id) => cancel(model, req, &id),
        ApiPath::Upload(id) => upload(model, req, body, &id),
        ApiPath::Download(id) => download(model, req, &id),
        ApiPath::Other => method_not_allowed(""),
    };
    with_quota(resp, &quota)
}

fn with_quota(mut resp: Response, quota: &Quota) -> Response {
    resp.headers.extend(quota.headers());
    resp
}

/// Checks the bearer token and counts the request against its endpoint.
fn admit(
    model: &Model,
    limits: &Mutex<RateLimits<Route>>,
    req: &Request,
    route: Route,
    bearer_required: bool,
) -> Result<Quota, Response> {
    let cfg = &model.config;
    let now = model.clock.now_ms();
    let window = ms(cfg.rate_window);
    let authorised = match req.header("authorization") {
        None => !bearer_required,
        Some(h) => h.split_once(' ').is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && token.trim() == cfg.token
        }),
    };
    let mut limits = lock(limits);
    if !authorised {
        let quota = limits.peek(route, now, cfg.rate_limit, window);
        return Err(with_quota(about_blank(401, "Unauthorized"), &quota));
    }
    match limits.take(route, now, cfg.rate_limit, window) {
        Ok(q) => Ok(q),
        Err(q) => Err(with_quota(about_blank(429, "Too Many Requests"), &q)),
    }
}

/// An `about:blank` problem whose title and detail are the reason phrase.
fn about_blank(status: u16, text: &str) -> Response {
    Response::json(
        status,
        PROBLEM_JSON,
        &json!({"title": text, "type": "about:blank", "status": status, "detail": text}),
    )
}

/// A typed problem.
fn problem(
    status: u16,
    slug: &str,
    title: &str,
    detail: &str,
    extra: Vec<(&str, Value)>,
) -> Response {
    let mut m = Map::new();
    m.insert("title".into(), json!(title));
    m.insert("type".into(), json!(format!("{PROBLEMS}{slug}")));
    m.insert("status".into(), json!(status));
    m.insert("detail".into(), json!(detail));
    for (k, v) in extra {
        m.insert(k.into(), v);
    }
    Response::json(status, PROBLEM_JSON, &Value::Object(m))
}

/// The 400 `invalid-request` problem with its `errors` list.
fn invalid_request(errors: Vec<Value>) -> Response {
    Response::json(
        400,
        PROBLEM_JSON,
        &json!({
            "errors": errors,
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": format!("{PROBLEMS}invalid-request"),
            "status": 400,
        }),
    )
}

/// One entry of an `invalid-request` problem.
fn param_error(name: &str, values: &[&str], message: String) -> Value {
    let mut params = Map::new();
    params.insert(name.into(), json!(values));
    json!({"parameters": params, "message": message})
}

fn method_not_allowed(allow: &str) -> Response {
    about_blank(405, "Method Not Allowed").header("Allow", allow)
}

/// The body of a fault-injected error on an API route.
fn fault_response(status: u16, quota: &Quota) -> Response {
    with_quota(about_blank(status, reason(status)), quota)
}

/// The `EchoAuth` fault's answer: an `about:blank` problem that quotes the
/// `Authorization` header, with the quota headers a fault answer carries.
fn echo_auth_response(status: u16, authorization: &str, quota: &Quota) -> Response {
    let text = reason(status);
    let body = json!({
        "title": text,
        "type": "about:blank",
        "status": status,
        "detail": format!("bad header: {authorization}"),
    });
    with_quota(Response::json(status, PROBLEM_JSON, &body), quota)
}

/// The fault-injected 429.
fn rate_limited_response(model: &Model, reset_after: Duration) -> Response {
    let reset = model.clock.now_ms().div_euclid(1000)
        + i64::try_from(reset_after.as_secs()).unwrap_or(i64::MAX / 2);
    let quota = Quota {
        limit: model.config.rate_limit,
        remaining: 0,
        reset,
    };
    with_quota(about_blank(429, "Too Many Requests"), &quota)
}

/// Reports query parameters outside `allowed` (plus the known
/// `compliance_job.fields`), and bad `compliance_job.fields` values.
fn check_query(pairs: &[(String, String)], allowed: &[&str], errors: &mut Vec<Value>) {
    let mut seen: Vec<&str> = Vec::new();
    for (k, v) in pairs.iter().filter(|(k, _)| k == "compliance_job.fields") {
        if v.is_empty() {
            errors.push(param_error(
                k,
                &[],
                "The `compliance_job.fields` query parameter can not be empty".into(),
            ));
        }
        for item in v.split(',').filter(|s| !s.is_empty()) {
            if !FIELDS.contains(&item) {
                errors.push(param_error(
                    k,
                    &[item],
                    format!(
                        "The `compliance_job.fields` query parameter value [{item}] is not one of [{}]",
                        FIELDS.join(",")
                    ),
                ));
            } else if seen.contains(&item) {
                errors.push(param_error(
                    k,
                    &[item],
                    format!(
                        "The `compliance_job.fields` query parameter value [{item}] is duplicated"
                    ),
                ));
            } else {
                seen.push(item);
            }
        }
    }
    let mut reported: Vec<&str> = Vec::new();
    for (k, _) in pairs {
        if allowed.contains(&k.as_str())
            || k == "compliance_job.fields"
            || reported.contains(&k.as_str())
        {
            continue;
        }
        reported.push(k);
        let values: Vec<&str> = pairs
            .iter()
            .filter(|(k2, _)| k2 == k)
            .map(|(_, v)| v.as_str())
            .collect();
        let mut names: Vec<&str> = allowed.to_vec();
        names.push("compliance_job.fields");
        errors.push(param_error(
            k,
            &values,
            format!(
                "The query parameter [{k}] is not one of [{}]",
                names.join(",")
            ),
        ));
    }
}

/// Checks a single-valued enum query parameter.
fn check_enum(
    pairs: &[(String, String)],
    name: &str,
    allowed: &[&str],
    required: bool,
    errors: &mut Vec<Value>,
) -> Option<String> {
    let values: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect();
    match values.as_slice() {
        [] if required => {
            errors.push(param_error(
                name,
                &[],
                format!("The `{name}` query parameter can not be empty"),
            ));
            None
        }
        [] => None,
        [""] => {
            errors.push(param_error(
                name,
                &[""],
                format!("The `{name}` query parameter can not be empty"),
            ));
            None
        }
        [v] if allowed.contains(v) => Some((*v).to_string()),
        [v] => {
            errors.push(param_error(
                name,
                &[v],
                format!(
                    "The `{name}` query parameter value [{v}] is not one of [{}]",
                    allowed.join(",")
                ),
            ));
            None
        }
        many => {
            errors.push(param_error(
                name,
                many,
                format!("The `{name}` query parameter can only be given once"),
            ));
            None
        }
    }
}

/// `GET /2/compliance/jobs?type=&status=`: jobs oldest first, or `{}`.
fn list(model: &Model, req: &Request) -> Response {
    let pairs = req.query_pairs();
    let mut errors = Vec::new();
    let kind = check_enum(&pairs, "type", &["tweets", "users"], true, &mut errors);
    let status = check_enum(
        &pairs,
        "status",
        &["created", "in_progress", "failed", "complete"],
        false,
        &mut errors,
    );
    check_query(&pairs, &["type", "status"], &mut errors);
    if !errors.is_empty() {
        return invalid_request(errors);
    }
    let now = model.clock.now_ms();
    let delay = model.delay_ms();
    let jobs = lock(&model.jobs);
    let data: Vec<Value> = jobs
        .list
        .iter()
        .filter(|j| Some(j.kind.as_str()) == kind.as_deref())
        .filter(|j| {
            status
                .as_deref()
                .is_none_or(|s| j.status(now, delay).as_str() == s)
        })
        .map(|j| j.json(now, delay))
        .collect();
    let count = data.len();
    // The live API answers an empty list with `{}`: twarc's check for it
    // (commit c15c439, September 2021) came from calling it, and twarc
    // fails on a `meta`-only body.
    let body = if data.is_empty() {
        json!({})
    } else {
        json!({"data": data, "meta": {"result_count": count}})
    };
    Response::json(200, JSON, &body)
}

/// True for an id matching `^[0-9]{1,19}$`.
fn valid_id(id: &str) -> bool {
    (1..=19).contains(&id.len()) && id.bytes().all(|c| c.is_ascii_digit())
}

fn bad_id(id: &str) -> Value {
    param_error(
        "id",
        &[id],
        format!("The `id` query parameter value [{id}] does not match ^[0-9]{{1,19}}$"),
    )
}

/// Validates the id and the query of the `{id}` routes.
fn check_id_and_query(
    req: &Request,
    id: &str,
    allowed: &[&str],
) -> Result<Vec<(String, String)>, Response> {
    let pairs = req.query_pairs();
    let mut errors = Vec::new();
    if !valid_id(id) {
        errors.push(bad_id(id));
    }
    check_query(&pairs, allowed, &mut errors);
    if errors.is_empty() {
        Ok(pairs)
    } else {
        Err(invalid_request(errors))
    }
}

/// The 200 answer for a well-formed id that names no job.
fn job_not_found(id: &str) -> Response {
    Response::json(
        200,
        JSON,
        &json!({"errors": [{
            "value": id,
            "detail": format!("Could not find job with id: [{id}]."),
            "title": "Not Found Error",
            "resource_type": "job",
            "parameter": "id",
            "resource_id": id,
            "type": format!("{PROBLEMS}resource-not-found"),
        }]}),
    )
}

/// `GET /2/compliance/jobs/{id}`.
fn get(model: &Model, req: &Request, id: &str) -> Response {
    if let Err(resp) = check_id_and_query(req, id, &["id"]) {
        return resp;
    }
    let now = model.clock.now_ms();
    let jobs = lock(&model.jobs);
    match jobs.find(id) {
        Some(job) => Response::json(200, JSON, &json!({"data": job.json(now, model.delay_ms())})),
        None => job_not_found(id),
    }
}

/// `DELETE /2/compliance/jobs/{id}`: a job that has not finished becomes
/// `failed`; cancelling a finished job is a 409 `conflict` problem.
fn cancel(model: &Model, req: &Request, id: &str) -> Response {
    if let Err(resp) = check_id_and_query(req, id, &["id"]) {
        return resp;
    }
    match model.cancel_job(id) {
        Ok(job) => Response::json(200, JSON, &json!({"data": job})),
        Err(CancelError::NotFound) => job_not_found(id),
        Err(CancelError::Finished(status)) => problem(
            409,
            "conflict",
            "Conflict",
            &format!(
                "Job [{id}] has already finished (status: {}) and cannot be cancelled.",
                status.as_str()
            ),
            vec![],
        ),
    }
}

/// The JSON type name used in schema messages.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A body value as it appears in `parameters`.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `POST /2/compliance/jobs`.
fn create(model: &Model, req: &Request, body: &mut Body<'_>) -> Response {
    let pairs = req.query_pairs();
    let mut errors = Vec::new();
    check_query(&pairs, &[], &mut errors);
    if !errors.is_empty() {
        return invalid_request(errors);
    }
    let media = req
        .header("content-type")
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    if media.as_deref() != Some("application/json") {
        return invalid_request(vec![json!({
            "parameters": {},
            "message": "Requests with bodies must have content-type of application/json."
        })]);
    }
    let mut raw = Vec::new();
    match body.copy_to(&mut raw, MAX_CREATE_BODY) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return invalid_request(vec![
                json!({"parameters": {}, "message": "The request body is too large."}),
            ])
        }
        // The client went away; the connection layer drops this answer.
        Err(_) => return Response::new(400),
    }
    let parsed: Value = match serde_json::from_slice(&raw) {
        Ok(v) => v,
        Err(e) => {
            return invalid_request(vec![json!({
                "parameters": {},
                "message": format!("The request body is not valid JSON: {e}"),
            })])
        }
    };
    let Value::Object(obj) = parsed else {
        return invalid_request(vec![json!({
            "parameters": {},
            "message": format!("$: {} found, object expected", json_type(&parsed)),
        })]);
    };
    for (k, v) in &obj {
        if !["type", "name", "resumable"].contains(&k.as_str()) {
            errors.push(param_error(
                k,
                &[&value_text(v)],
                format!("$.{k}: is not defined in the schema and the schema does not allow additional properties"),
            ));
        }
    }
    let kind = match obj.get("type") {
        None => {
            errors.push(param_error(
                "type",
                &[],
                "$.type: is missing but it is required".into(),
            ));
            None
        }
        Some(Value::String(s)) => match Kind::parse(s) {
            Some(k) => Some(k),
            None => {
                errors.push(param_error(
                    "type",
                    &[s],
                    "$.type: does not have a value in the enumeration [tweets, users]".into(),
                ));
                None
            }
        },
        Some(v) => {
            errors.push(param_error(
                "type",
                &[&value_text(v)],
                format!("$.type: {} found, string expected", json_type(v)),
            ));
            None
        }
    };
    let name = match obj.get("name") {
        None => None,
        Some(Value::String(s)) if s.chars().count() <= 64 => Some(s.clone()),
        Some(Value::String(s)) => {
            errors.push(param_error(
                "name",
                &[s],
                "$.name: may only be 64 characters long".into(),
            ));
            None
        }
        Some(v) => {
            errors.push(param_error(
                "name",
                &[&value_text(v)],
                format!("$.name: {} found, string expected", json_type(v)),
            ));
            None
        }
    };
    let resumable = match obj.get("resumable") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            errors.push(param_error(
                "resumable",
                &[&value_text(v)],
                format!("$.resumable: {} found, boolean expected", json_type(v)),
            ));
            false
        }
    };
    if resumable && model.config.flavour == Flavour::Api {
        errors.push(param_error(
            "resumable",
            &["true"],
            "Resumable uploads are not supported: upload the whole file to upload_url.".into(),
        ));
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return invalid_request(errors);
    };
    match model.create_job(kind, name, resumable) {
        Ok(job) => Response::json(200, JSON, &json!({"data": job.json})),
        Err(CreateError::Conflict) => conflict(),
    }
}

/// The 409 for a second job of a type.
fn conflict() -> Response {
    problem(
        409,
        "conflict",
        "Conflict",
        "You cannot create a new job if one is already in progress.",
        vec![],
    )
}

/// Checks the `token` parameter; the error is the 403 to send.
fn check_token(
    model: &Model,
    pairs: &[(String, String)],
    purpose: Purpose,
    id: &str,
) -> Result<(), Response> {
    let forbidden = |detail: String| {
        problem(
            403,
            "not-authorized-for-resource",
            "Forbidden",
            &detail,
            vec![],
        )
    };
    let token = pairs
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.as_str());
    let word = purpose.as_str();
    match tokens::check(&model.signer, token, purpose, id, model.clock.now_ms()) {
        Ok(()) => Ok(()),
        Err(tokens::Refusal::Missing) => Err(forbidden(format!(
            "A signed `token` query parameter is required to {word} this job."
        ))),
        Err(tokens::Refusal::Invalid) => Err(forbidden(format!(
            "The {word} token is not valid for job [{id}]."
        ))),
        Err(tokens::Refusal::Expired(at)) => Err(token_expired(word, at)),
    }
}

/// The 403 for a token past its expiry (`at_ms`).
fn token_expired(purpose: &str, at_ms: i64) -> Response {
    problem(
        403,
        "not-authorized-for-resource",
        "Forbidden",
        &format!(
            "The {purpose} token expired at {}.",
            clock::timestamp(at_ms)
        ),
        vec![],
    )
}

/// `PUT /2/compliance/jobs/{id}/upload?token=` (`api` flavour).
fn upload(model: &Arc<Model>, req: &Request, body: &mut Body<'_>, id: &str) -> Response {
    let pairs = match check_id_and_query(req, id, &["id", "token"]) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    if let Err(resp) = check_token(model, &pairs, Purpose::Upload, id) {
        return resp;
    }
    let media = req
        .header("content-type")
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    if !matches!(
        media.as_deref(),
        Some("text/plain" | "application/octet-stream")
    ) {
        return problem(
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            "Upload the ID file as text/plain or application/octet-stream.",
            vec![],
        );
    }
    let too_large = || {
        problem(
            413,
            "payload-too-large",
            "Payload Too Large",
            "The ID file may not be larger than 1073741824 bytes.",
            vec![],
        )
    };
    if matches!(req.framing, Framing::Length(n) if n > MAX_UPLOAD) {
        return too_large();
    }
    if !model.accepts_upload(id, Again::Refuse) {
        return no_longer_accepting(model, id);
    }
    let staged = model.files.tmp_path("upload");
    let copied = File::create(&staged).and_then(|mut f| body.copy_to(&mut f, MAX_UPLOAD));
    let resp = match copied {
        Ok(Some(_)) => match model.accept_upload(id, &staged, Again::Refuse) {
            Ok(job) => Response::json(200, JSON, &json!({"data": job})),
            Err(Refusal::NotAccepting) => no_longer_accepting(model, id),
            // The token ran out while the file was arriving.
            Err(Refusal::Expired(at)) => token_expired("upload", at),
            Err(Refusal::Io(e)) => internal_error(&e),
        },
        Ok(None) => too_large(),
        // A broken body is never answered; a disk error is.
        Err(e) => internal_error(&e),
    };
    let _ = fs::remove_file(&staged);
    resp
}

fn internal_error(e: &std::io::Error) -> Response {
    problem(
        500,
        "internal-error",
        "Internal Server Error",
        &format!("The emulator could not store the file: {e}"),
        vec![],
    )
}

fn no_longer_accepting(model: &Model, id: &str) -> Response {
    let now = model.clock.now_ms();
    let status = lock(&model.jobs)
        .find(id)
        .map_or("unknown", |j| j.status(now, model.delay_ms()).as_str());
    problem(
        409,
        "conflict",
        "Conflict",
        &format!("Job [{id}] no longer accepts uploads (status: {status})."),
        vec![],
    )
}

/// `GET /2/compliance/jobs/{id}/download?token=` (`api` flavour).
fn download(model: &Model, req: &Request, id: &str) -> Response {
    let pairs = match check_id_and_query(req, id, &["id", "token"]) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    if let Err(resp) = check_token(model, &pairs, Purpose::Download, id) {
        return resp;
    }
    let now = model.clock.now_ms();
    let complete = lock(&model.jobs)
        .find(id)
        .is_some_and(|j| j.status(now, model.delay_ms()) == Status::Complete);
    let not_found = || {
        problem(
            404,
            "resource-not-found",
            "Not Found Error",
            &format!("Could not find results for job with id: [{id}]."),
            vec![
                ("resource_type", json!("job")),
                ("resource_id", json!(id)),
                ("parameter", json!("id")),
                ("value", json!(id)),
            ],
        )
    };
    if !complete {
        return not_found();
    }
    let Ok(mut file) = File::open(model.files.results(id)) else {
        return not_found();
    };
    let len = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return internal_error(&e),
    };
    match parse_range(req.header("range"), len) {
        Range::Full => Response::new(200).file("application/octet-stream", file, len),
        Range::Unsatisfiable => problem(
            416,
            "range-not-satisfiable",
            "Range Not Satisfiable",
            &format!("The results file has {len} bytes."),
            vec![],
        )
        .header("Content-Range", format!("bytes */{len}")),
        Range::Partial(a, b) => match file.seek(SeekFrom::Start(a)) {
            Ok(_) => Response::new(206)
                .header("Content-Range", format!("bytes {a}-{b}/{len}"))
                .file("application/octet-stream", file, b - a + 1),
            Err(e) => internal_error(&e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(valid_id("1425543269983784962"));
        assert!(valid_id("1"));
        assert!(!valid_id(""));
        assert!(!valid_id("14255432699837849620"));
        assert!(!valid_id("12a"));
    }
}
