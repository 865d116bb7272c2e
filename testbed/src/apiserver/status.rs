//! `metav1.Status` error responses, worded as apimachinery's `pkg/api/errors` words them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Response {
    let mut body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                          "message": message, "reason": reason, "code": code});
    if let Some(d) = details {
        body["details"] = d;
    }
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(body)).into_response()
}

pub fn not_found(plural: &str, name: &str) -> Response {
    status(
        404,
        "NotFound",
        &format!("{plural} \"{name}\" not found"),
        Some(json!({"name": name, "kind": plural})),
    )
}

/// What client-go says for a bare 404: the path names no resource.
pub fn no_such_path() -> Response {
    status(404, "NotFound", "the server could not find the requested resource", Some(json!({})))
}

pub fn bad_request(message: &str) -> Response {
    status(400, "BadRequest", message, None)
}

pub fn internal(message: &str) -> Response {
    status(
        500,
        "InternalError",
        &format!("Internal error occurred: {message}"),
        Some(json!({"causes": [{"message": message}]})),
    )
}

pub fn method_not_allowed(method: &str) -> Response {
    status(
        405,
        "MethodNotAllowed",
        &format!("the server does not allow this method on the requested resource ({method})"),
        Some(json!({})),
    )
}

/// `statefulsets.apps` for a group's resource, `pods` for the core group (GroupResource).
pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") }
}

/// 404 for a named object of any group: `statefulsets.apps "x" not found`.
pub fn not_found_in(group: &str, resource: &str, name: &str) -> Response {
    let mut details = json!({"name": name, "kind": resource});
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    status(404, "NotFound", &format!("{} \"{name}\" not found", qualified(group, resource)), Some(details))
}

/// 409 for a write whose resourceVersion precondition failed.
pub fn conflict(group: &str, resource: &str, name: &str) -> Response {
    let message = format!(
        "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
        qualified(group, resource)
    );
    status(409, "Conflict", &message, Some(json!({"name": name, "group": group, "kind": resource})))
}

/// 422 for one invalid field (apimachinery `NewInvalid` with one `field.Invalid`), e.g.
/// `StatefulSet.apps "x" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`.
pub fn invalid(kind: &str, group: &str, name: &str, field: &str, value: &str, detail: &str) -> Response {
    let cause = format!("Invalid value: {value}: {detail}");
    let message = format!("{} \"{name}\" is invalid: {field}: {cause}", qualified(group, kind));
    let details = json!({"name": name, "group": group, "kind": kind,
                         "causes": [{"reason": "FieldValueInvalid", "message": cause, "field": field}]});
    status(422, "Invalid", &message, Some(details))
}

pub fn unsupported_media_type(message: &str) -> Response {
    status(415, "UnsupportedMediaType", message, Some(json!({})))
}

pub fn forbidden(body: Value) -> Response {
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}
