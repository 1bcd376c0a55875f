//! The job routes: create, list, look up and cancel compliance jobs.

use serde_json::{json, Value};

use super::params::{check_enum, check_id_and_query, check_query, json_type, value_text};
use super::replies::{conflict, invalid_request, job_not_found, param_error, problem, JSON};
use crate::config::Flavour;
use crate::http::body::Body;
use crate::http::head::Request;
use crate::http::response::Response;
use crate::lock::lock;
use crate::model::lifecycle::{CancelError, CreateError};
use crate::model::results::Kind;
use crate::model::Model;

/// The biggest create body read; real ones are tens of bytes.
const MAX_CREATE_BODY: u64 = 64 * 1024;

/// `GET /2/compliance/jobs?type=&status=`: jobs oldest first, or `{}`.
pub(super) fn list(model: &Model, req: &Request) -> Response {
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

/// `GET /2/compliance/jobs/{id}`.
pub(super) fn get(model: &Model, req: &Request, id: &str) -> Response {
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
pub(super) fn cancel(model: &Model, req: &Request, id: &str) -> Response {
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

/// `POST /2/compliance/jobs`.
pub(super) fn create(model: &Model, req: &Request, body: &mut Body<'_>) -> Response {
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
