//! The API origin: `/2/compliance/jobs` and, in the `api` flavour, the
//! token-signed upload and download routes of spec 2.168. This file
//! dispatches a request to its route after the bearer token and the rate
//! limits admit it; `jobs` and `files` answer it, in the words of
//! `replies` and `params`.

mod files;
mod jobs;
mod params;
mod replies;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::config::{Config, Flavour};
use crate::faults::plan::StandIn;
use crate::faults::Route;
use crate::http::body::Body;
use crate::http::head::Request;
use crate::http::query::percent_decode;
use crate::http::response::{reason, Response};
use crate::lock::lock;
use crate::model::clock::ms;
use crate::model::rate_limits::{Quota, RateWindows};
use crate::model::Model;
use crate::server::Handler;
use replies::{about_blank, method_not_allowed, JSON, PROBLEM_JSON};

/// The API paths.
enum ApiPath {
    Jobs,
    Job(String),
    Upload(String),
    Download(String),
    Other,
}

/// Which API path a request path is; job ids are percent-decoded.
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
    limits: Mutex<RateWindows<Route>>,
}

impl ApiRoutes {
    /// The API routes of the model.
    pub(crate) fn new(model: Arc<Model>) -> ApiRoutes {
        ApiRoutes {
            model,
            limits: Mutex::new(RateWindows::default()),
        }
    }

    /// The quota of `route` as it stands, without counting a request.
    fn quota(&self, route: Route) -> Quota {
        let cfg = &self.model.config;
        lock(&self.limits).peek(
            route,
            self.model.clock.now_ms(),
            limit(cfg, route),
            ms(cfg.rate_window),
        )
    }
}

impl Handler for ApiRoutes {
    fn route(&self, req: &Request) -> Option<Route> {
        route(&self.model, req)
    }

    fn handle(&self, req: &Request, body: &mut Body<'_>) -> Response {
        handle(&self.model, &self.limits, req, body).finish(req, self.model.clock.http_date())
    }

    fn stand_in(&self, route: Route, req: &Request, stand_in: StandIn) -> Response {
        let resp = match stand_in {
            StandIn::Status(status) => fault_response(status, &self.quota(route)),
            StandIn::RateLimited(reset_after) => {
                rate_limited_response(&self.model, route, reset_after)
            }
            StandIn::EchoAuth(status) => {
                let authorization = req.header("authorization").unwrap_or("");
                echo_auth_response(status, authorization, &self.quota(route))
            }
        };
        resp.finish(req, self.model.clock.http_date())
    }

    fn fail_next_job(&self) {
        self.model.fail_next_job();
    }
}

/// The requests per window that `route` allows.
fn limit(cfg: &Config, route: Route) -> u32 {
    let limits = &cfg.rate_limits;
    match route {
        Route::CreateJob => limits.create_job,
        Route::ListJobs => limits.list_jobs,
        Route::GetJob => limits.get_job,
        Route::CancelJob => limits.cancel_job,
        Route::Upload => limits.upload,
        Route::Download => limits.download,
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
    limits: &Mutex<RateWindows<Route>>,
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
        ApiPath::Jobs if route == Route::CreateJob => jobs::create(model, req, body),
        ApiPath::Jobs => jobs::list(model, req),
        ApiPath::Job(id) if route == Route::GetJob => jobs::get(model, req, &id),
        ApiPath::Job(id) => jobs::cancel(model, req, &id),
        ApiPath::Upload(id) => files::upload(model, req, body, &id),
        ApiPath::Download(id) => files::download(model, req, &id),
        ApiPath::Other => method_not_allowed(""),
    };
    with_quota(resp, &quota)
}

/// Adds the `x-rate-limit-*` headers of a quota.
fn with_quota(mut resp: Response, quota: &Quota) -> Response {
    resp.headers.extend(quota.headers());
    resp
}

/// Checks the bearer token and counts the request against its endpoint.
fn admit(
    model: &Model,
    limits: &Mutex<RateWindows<Route>>,
    req: &Request,
    route: Route,
    bearer_required: bool,
) -> Result<Quota, Response> {
    let cfg = &model.config;
    let now = model.clock.now_ms();
    let window = ms(cfg.rate_window);
    let limit = limit(cfg, route);
    let authorised = match req.header("authorization") {
        None => !bearer_required,
        Some(h) => h.split_once(' ').is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && token.trim() == cfg.token
        }),
    };
    let mut limits = lock(limits);
    if !authorised {
        let quota = limits.peek(route, now, limit, window);
        return Err(with_quota(about_blank(401, "Unauthorized"), &quota));
    }
    match limits.take(route, now, limit, window) {
        Ok(q) => Ok(q),
        Err(q) => Err(with_quota(about_blank(429, "Too Many Requests"), &q)),
    }
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

/// The fault-injected 429 on `route`, which reports the route's limit.
fn rate_limited_response(model: &Model, route: Route, reset_after: Duration) -> Response {
    let reset = model.clock.now_ms().div_euclid(1000)
        + i64::try_from(reset_after.as_secs()).unwrap_or(i64::MAX / 2);
    let quota = Quota {
        limit: limit(&model.config, route),
        remaining: 0,
        reset,
    };
    with_quota(about_blank(429, "Too Many Requests"), &quota)
}
