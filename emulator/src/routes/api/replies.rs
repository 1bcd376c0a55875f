//! What the API answers when it refuses: RFC 7807 problems with
//! `https://api.x.com/2/problems/<slug>` types, `invalid-request` problems
//! carrying `errors: [{parameters, message}]`, and `about:blank` for 401,
//! 429 and the other plain HTTP errors; and the content types of its JSON.

use serde_json::{json, Map, Value};

use crate::http::response::Response;

/// Prefix of problem type URIs.
const PROBLEMS: &str = "https://api.x.com/2/problems/";

/// Content type of success bodies.
pub(super) const JSON: &str = "application/json; charset=utf-8";

/// Content type of problem bodies.
pub(super) const PROBLEM_JSON: &str = "application/problem+json";

/// An `about:blank` problem whose title and detail are the reason phrase.
pub(super) fn about_blank(status: u16, text: &str) -> Response {
    Response::json(
        status,
        PROBLEM_JSON,
        &json!({"title": text, "type": "about:blank", "status": status, "detail": text}),
    )
}

/// A typed problem.
pub(super) fn problem(
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
pub(super) fn invalid_request(errors: Vec<Value>) -> Response {
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
pub(super) fn param_error(name: &str, values: &[&str], message: String) -> Value {
    let mut params = Map::new();
    params.insert(name.into(), json!(values));
    json!({"parameters": params, "message": message})
}

/// The 405 for a method the path does not take, with the ones it does.
pub(super) fn method_not_allowed(allow: &str) -> Response {
    about_blank(405, "Method Not Allowed").header("Allow", allow)
}

/// The 200 answer for a well-formed id that names no job.
pub(super) fn job_not_found(id: &str) -> Response {
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

/// The 409 for a second job of a type.
pub(super) fn conflict() -> Response {
    problem(
        409,
        "conflict",
        "Conflict",
        "You cannot create a new job if one is already in progress.",
        vec![],
    )
}

/// The 500 for a file the emulator could not store.
pub(super) fn internal_error(e: &std::io::Error) -> Response {
    problem(
        500,
        "internal-error",
        "Internal Server Error",
        &format!("The emulator could not store the file: {e}"),
        vec![],
    )
}
