//! Checking what a request says: query parameters, `compliance_job.fields`
//! and job ids, reported in the API's own words.

use serde_json::Value;

use super::replies::{invalid_request, param_error};
use crate::http::head::Request;
use crate::http::response::Response;

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

/// Reports query parameters outside `allowed` (plus the known
/// `compliance_job.fields`), and bad `compliance_job.fields` values.
pub(super) fn check_query(pairs: &[(String, String)], allowed: &[&str], errors: &mut Vec<Value>) {
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
pub(super) fn check_enum(
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

/// True for an id matching `^[0-9]{1,19}$`.
pub(super) fn valid_id(id: &str) -> bool {
    (1..=19).contains(&id.len()) && id.bytes().all(|c| c.is_ascii_digit())
}

/// The `invalid-request` entry for an id that is not one.
fn bad_id(id: &str) -> Value {
    param_error(
        "id",
        &[id],
        format!("The `id` query parameter value [{id}] does not match ^[0-9]{{1,19}}$"),
    )
}

/// Validates the id and the query of the `{id}` routes.
pub(super) fn check_id_and_query(
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

/// The JSON type name used in schema messages.
pub(super) fn json_type(v: &Value) -> &'static str {
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
pub(super) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
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
