//! Writes to StatefulSets and Deployments: PATCH and PUT of the object, and the `scale`
//! subresource (GET, PUT, PATCH) as an `autoscaling/v1` Scale, shaped as kubernetes
//! pkg/registry/apps/{statefulset,deployment}/storage `scaleFrom*` builds it. The write is
//! stored, then the testbed's controllers act on it (cluster/controllers.rs).

use super::status;
use crate::cluster::{Cluster, WriteError};
use crate::kinds::Kind;
use crate::patch::{self, PatchError, PatchType};
use axum::Json;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The Scale of a workload: the parent's identity, `spec.replicas` (omitted at 0, as
/// `ScaleSpec.Replicas` is `omitempty`), `status.replicas` and the selector as a string.
pub fn scale_of(workload: &Value) -> Value {
    let meta = &workload["metadata"];
    let mut spec = json!({});
    if let Some(r) = workload["spec"]["replicas"].as_u64().filter(|r| *r > 0) {
        spec["replicas"] = json!(r);
    }
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                     "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"]},
        "spec": spec,
        "status": {"replicas": workload["status"]["replicas"].as_u64().unwrap_or(0),
                   "selector": selector_string(&workload["spec"]["selector"])},
    })
}

/// A LabelSelector as `labels.Selector.String()` prints it: requirements sorted by key,
/// comma-joined (`a=b`, `k in (x,y)`, `k notin (x)`, `k`, `!k`).
pub fn selector_string(selector: &Value) -> String {
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector["matchLabels"].as_object() {
        reqs.extend(
            labels.iter().map(|(k, v)| (k.clone(), format!("{k}={}", v.as_str().unwrap_or_default()))),
        );
    }
    for e in selector["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default();
        let mut values: Vec<&str> =
            e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        values.sort_unstable();
        let text = match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        };
        reqs.push((key.to_string(), text));
    }
    reqs.sort();
    reqs.into_iter().map(|(_, r)| r).collect::<Vec<_>>().join(",")
}

pub fn get_scale(cluster: &Cluster, kind: &'static Kind, name: &str) -> Response {
    match cluster.store.get(kind, Some(&cluster.config.namespace), name) {
        Some(w) => Json(scale_of(&w)).into_response(),
        None => status::not_found_in(kind.group, kind.plural, name),
    }
}

/// What a write asks for, decoded from PUT's object or PATCH's patch of the current one.
fn desired(
    current: &Value,
    method: &Method,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Value, Response> {
    let result = if method == Method::PATCH {
        PatchType::from_content_type(content_type).and_then(|t| patch::apply(current, t, body))
    } else {
        serde_json::from_slice(body).map_err(|e| PatchError::BadRequest(format!("error decoding body: {e}")))
    };
    match result {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err(status::bad_request("the body is not a JSON object")),
        Err(e @ PatchError::UnsupportedMediaType) => Err(status::unsupported_media_type(&e.to_string())),
        Err(PatchError::BadRequest(m)) => Err(status::bad_request(&m)),
    }
}

/// Checks a written object's name and `spec.replicas`; returns the replicas, if given.
fn validate(kind_name: &str, group: &str, name: &str, obj: &Value) -> Result<Option<u64>, Response> {
    if let Some(n) = obj["metadata"]["name"].as_str().filter(|n| *n != name) {
        return Err(status::bad_request(&format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    match &obj["spec"]["replicas"] {
        Value::Null => Ok(None),
        Value::Number(n) if n.as_u64().is_some_and(|r| r <= i32::MAX as u64) => Ok(n.as_u64()),
        Value::Number(n) if n.is_i64() => Err(status::invalid(
            kind_name,
            group,
            name,
            "spec.replicas",
            &n.to_string(),
            "must be greater than or equal to 0",
        )),
        other => Err(status::bad_request(&format!(
            "{kind_name} in version \"v1\" cannot be handled as a {kind_name}: json: cannot unmarshal {other} into Go struct field of type int32"
        ))),
    }
}

/// The writer's resourceVersion precondition: a non-empty `metadata.resourceVersion`.
fn precondition(obj: &Value) -> Option<&str> {
    obj["metadata"]["resourceVersion"].as_str().filter(|rv| !rv.is_empty())
}

fn write_error(kind: &Kind, name: &str, e: WriteError) -> Response {
    match e {
        WriteError::NotFound => status::not_found_in(kind.group, kind.plural, name),
        WriteError::Conflict => status::conflict(kind.group, kind.plural, name),
    }
}

/// A PUT or PATCH as received: its method, Content-Type and body.
pub struct Write<'a> {
    pub method: &'a Method,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// The object `write` asks for, applied to `view` of the stored workload `name`.
fn requested(
    cluster: &Cluster,
    kind: &'static Kind,
    name: &str,
    write: &Write<'_>,
    view: impl Fn(&Value) -> Value,
) -> Result<Value, Response> {
    let Some(current) = cluster.store.get(kind, Some(&cluster.config.namespace), name) else {
        return Err(status::not_found_in(kind.group, kind.plural, name));
    };
    desired(&view(&current), write.method, write.content_type, write.body)
}

/// PUT or PATCH of `<workload>/scale`: only `spec.replicas` is taken from the Scale.
pub fn write_scale(cluster: &Cluster, kind: &'static Kind, name: &str, write: &Write<'_>) -> Response {
    let scale = match requested(cluster, kind, name, write, scale_of) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    // An absent `spec.replicas` decodes as 0 (int32, omitempty).
    let replicas = match validate("Scale", "autoscaling", name, &scale) {
        Ok(r) => r.unwrap_or(0),
        Err(resp) => return resp,
    };
    match cluster
        .write_workload(kind, name, precondition(&scale), |w| w["spec"]["replicas"] = json!(replicas))
    {
        Ok(stored) => Json(scale_of(&stored)).into_response(),
        Err(e) => write_error(kind, name, e),
    }
}

/// PUT or PATCH of a StatefulSet or Deployment: labels, annotations and spec are taken;
/// status and the server's metadata stay (a write to the main resource ignores status).
pub fn write_object(cluster: &Cluster, kind: &'static Kind, name: &str, write: &Write<'_>) -> Response {
    let obj = match requested(cluster, kind, name, write, Value::clone) {
        Ok(o) => o,
        Err(resp) => return resp,
    };
    if let Err(resp) = validate(kind.kind, kind.group, name, &obj) {
        return resp;
    }
    let change = |w: &mut Value| {
        for field in ["labels", "annotations"] {
            match obj["metadata"].get(field).filter(|v| v.is_object()) {
                Some(v) => w["metadata"][field] = v.clone(),
                None => {
                    if let Some(m) = w["metadata"].as_object_mut() {
                        m.remove(field);
                    }
                }
            }
        }
        if obj["spec"].is_object() {
            w["spec"] = obj["spec"].clone();
        }
    };
    match cluster.write_workload(kind, name, precondition(&obj), change) {
        Ok(stored) => Json(stored).into_response(),
        Err(e) => write_error(kind, name, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(replicas: u64) -> Value {
        json!({
            "metadata": {"name": "cryptomeria-gwc", "namespace": "cryptomeria", "uid": "u-1", "resourceVersion": "1042",
                         "creationTimestamp": "2026-01-01T00:00:00Z", "generation": 3, "labels": {"x": "y"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": "cryptomeria",
                                                                        "app.kubernetes.io/instance": "gwc"}}},
            "status": {"replicas": 1, "readyReplicas": 1}
        })
    }

    #[test]
    fn a_scale_carries_the_parents_identity_replicas_and_selector_string() {
        let scale = scale_of(&sts(1));
        assert_eq!(
            scale,
            json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
                   "metadata": {"name": "cryptomeria-gwc", "namespace": "cryptomeria", "uid": "u-1",
                                "resourceVersion": "1042", "creationTimestamp": "2026-01-01T00:00:00Z"},
                   "spec": {"replicas": 1},
                   "status": {"replicas": 1,
                              "selector": "app.kubernetes.io/instance=gwc,app.kubernetes.io/name=cryptomeria"}})
        );
    }

    #[test]
    fn zero_replicas_are_omitted_from_the_scale_spec_as_the_real_server_does() {
        assert_eq!(scale_of(&sts(0))["spec"], json!({}));
    }

    #[test]
    fn selector_expressions_print_as_the_label_selector_grammar() {
        let sel = json!({"matchLabels": {"b": "1"}, "matchExpressions": [
            {"key": "a", "operator": "In", "values": ["y", "x"]},
            {"key": "c", "operator": "NotIn", "values": ["z"]},
            {"key": "d", "operator": "Exists"},
            {"key": "e", "operator": "DoesNotExist"}]});
        assert_eq!(selector_string(&sel), "a in (x,y),b=1,c notin (z),d,!e");
    }

    #[test]
    fn negative_replicas_are_invalid_and_a_renamed_object_is_refused() {
        let bad = json!({"metadata": {"name": "s"}, "spec": {"replicas": -1}});
        let resp = validate("StatefulSet", "apps", "s", &bad).unwrap_err();
        assert_eq!(resp.status(), 422);
        let renamed = json!({"metadata": {"name": "t"}, "spec": {}});
        assert_eq!(validate("StatefulSet", "apps", "s", &renamed).unwrap_err().status(), 400);
        assert_eq!(
            validate("Scale", "autoscaling", "s", &json!({"spec": {"replicas": 2}})).ok(),
            Some(Some(2))
        );
    }
}
