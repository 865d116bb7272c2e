//! `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` — "may I?" answered by the
//! enforced RBAC policy (everything is allowed while none is enforced), as `kubectl auth
//! can-i` and clients checking their rights ask it. Every authenticated identity may create
//! one (the `system:basic-user` ClusterRole).

use super::Shared;
use super::status;
use crate::faults::ApiRequest;
use crate::rbac::Attributes;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

pub async fn create(State(s): State<Shared>, body: Bytes) -> Response {
    s.faults.count("create selfsubjectaccessreviews".into());
    s.faults.authorize(ApiRequest::Resource {
        verb: "create".into(),
        method: "POST".into(),
        group: "authorization.k8s.io".into(),
        resource: "selfsubjectaccessreviews".into(),
        subresource: None,
        namespace: None,
    });
    let Ok(mut review) = serde_json::from_slice::<Value>(&body) else {
        return status::bad_request("the body is not a SelfSubjectAccessReview");
    };
    let spec = &review["spec"];
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let attrs = if let Some(ra) = spec.get("resourceAttributes").filter(|v| v.is_object()) {
        Attributes::resource(
            &text(&ra["verb"]).unwrap_or_default(),
            &text(&ra["group"]).unwrap_or_default(),
            &text(&ra["resource"]).unwrap_or_default(),
            text(&ra["subresource"]).as_deref(),
            text(&ra["namespace"]).as_deref(),
            text(&ra["name"]).as_deref(),
        )
    } else if let Some(na) = spec.get("nonResourceAttributes").filter(|v| v.is_object()) {
        Attributes::NonResource {
            verb: text(&na["verb"]).unwrap_or_default(),
            path: text(&na["path"]).unwrap_or_default(),
        }
    } else {
        return status::invalid(
            "SelfSubjectAccessReview",
            "authorization.k8s.io",
            "",
            "spec.resourceAttributes",
            "null",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        );
    };
    let allowed = s.faults.policy().is_none_or(|p| p.allows(&attrs));
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectAccessReview");
    review["metadata"] = json!({"creationTimestamp": null});
    review["status"] = json!({"allowed": allowed});
    (axum::http::StatusCode::CREATED, Json(review)).into_response()
}
