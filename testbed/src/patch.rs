//! PATCH bodies as the API server applies them (apiserver pkg/endpoints/handlers/patch.go):
//! JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.
//!
//! Strategic merge is modelled for what kubectl sends: maps merge as in a merge patch,
//! `null` deletes, `$patch: delete|replace` on a map is honoured, other `$` directives
//! (`$setElementOrder`, `$retainKeys`, `$deleteFromPrimitiveList`) are dropped, and a list of
//! objects that all carry `name` merges item by item on `name` (containers, volumes, env);
//! any other list is replaced, where the real server would merge on the field's own
//! patchMergeKey (`volumeMounts` on `mountPath`, `ports` on `containerPort`).

use serde_json::{Map, Value};

/// The accepted PATCH media types, in the order the real server lists them.
pub const PATCH_TYPES: [&str; 4] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
    "application/strategic-merge-patch+json",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    StrategicMerge,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatchError {
    /// 415: a media type the server does not take (server-side apply is not modelled).
    #[error(
        "the body of the request was in an unknown format - accepted media types include: {}",
        PATCH_TYPES.join(", ")
    )]
    UnsupportedMediaType,
    /// 400: the body does not parse, or a JSON patch cannot be applied.
    #[error("{0}")]
    BadRequest(String),
}

impl PatchType {
    /// From a request's Content-Type (parameters such as `charset` ignored).
    pub fn from_content_type(content_type: Option<&str>) -> Result<Self, PatchError> {
        let media = content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match media.as_str() {
            "application/json-patch+json" => Ok(Self::Json),
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::StrategicMerge),
            _ => Err(PatchError::UnsupportedMediaType),
        }
    }
}

/// Applies `body` to `doc`, returning the patched document.
pub fn apply(doc: &Value, kind: PatchType, body: &[u8]) -> Result<Value, PatchError> {
    let mut out = doc.clone();
    match kind {
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| PatchError::BadRequest(format!("error decoding patch: {e}")))?;
            json_patch::patch(&mut out, &ops).map_err(|e| {
                PatchError::BadRequest(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
        }
        PatchType::Merge | PatchType::StrategicMerge => {
            let patch: Value = serde_json::from_slice(body)
                .map_err(|e| PatchError::BadRequest(format!("error decoding patch: {e}")))?;
            if !patch.is_object() {
                return Err(PatchError::BadRequest(
                    "the server rejected our request due to an error in our request: patch is not a JSON object".into(),
                ));
            }
            if kind == PatchType::Merge {
                json_patch::merge(&mut out, &patch);
            } else {
                strategic_merge(&mut out, &patch);
            }
        }
    }
    Ok(out)
}

fn strategic_merge(doc: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *doc = patch.clone();
        return;
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("delete") => {
            *doc = Value::Null;
            return;
        }
        Some("replace") => {
            *doc = Value::Object(without_directives(p));
            return;
        }
        _ => {}
    }
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let Value::Object(d) = doc else { return };
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        match v {
            Value::Null => {
                d.remove(k);
            }
            Value::Object(_) => {
                let slot = d.entry(k.clone()).or_insert(Value::Null);
                strategic_merge(slot, v);
                if slot.is_null() {
                    d.remove(k);
                }
            }
            Value::Array(items) => {
                let merged = match d.get(k) {
                    Some(Value::Array(existing)) if merges_by_name(items) => merge_by_name(existing, items),
                    _ => items.iter().map(strip_directives).collect(),
                };
                d.insert(k.clone(), Value::Array(merged));
            }
            _ => {
                d.insert(k.clone(), v.clone());
            }
        }
    }
}

fn merges_by_name(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.get("name").is_some_and(Value::is_string))
}

fn merge_by_name(existing: &[Value], patch: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = existing.to_vec();
    for item in patch {
        match out.iter().position(|e| e.get("name") == item.get("name")) {
            Some(i) => {
                strategic_merge(&mut out[i], item);
                if out[i].is_null() {
                    out.remove(i);
                }
            }
            None if item.get("$patch").and_then(Value::as_str) == Some("delete") => {}
            None => out.push(strip_directives(item)),
        }
    }
    out
}

fn without_directives(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k.clone(), strip_directives(v))).collect()
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(without_directives(m)),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sts() -> Value {
        json!({"metadata": {"name": "s", "annotations": {"keep": "1"}},
               "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i:1"}]}}}})
    }

    #[test]
    fn merge_patch_sets_and_deletes_annotations() {
        let body = br#"{"metadata":{"annotations":{"cryptomeria.io/stopped-replicas":"1","keep":null}}}"#;
        let out = apply(&sts(), PatchType::Merge, body).unwrap();
        assert_eq!(out["metadata"]["annotations"], json!({"cryptomeria.io/stopped-replicas": "1"}));
        assert_eq!(out["spec"]["replicas"], 1);
    }

    #[test]
    fn strategic_merge_adds_a_template_annotation_and_merges_containers_by_name() {
        let body = br#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"t"}},
                        "spec":{"$setElementOrder/containers":[{"name":"c"}],"containers":[{"name":"c","image":"i:2"}]}}}}"#;
        let out = apply(&sts(), PatchType::StrategicMerge, body).unwrap();
        assert_eq!(
            out["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "t"
        );
        assert_eq!(out["spec"]["template"]["spec"]["containers"], json!([{"name": "c", "image": "i:2"}]));
        assert!(out["spec"]["template"]["spec"].get("$setElementOrder/containers").is_none());
    }

    #[test]
    fn strategic_patch_directive_replace_and_delete() {
        let out = apply(
            &sts(),
            PatchType::StrategicMerge,
            br#"{"metadata":{"annotations":{"$patch":"replace","a":"b"}}}"#,
        )
        .unwrap();
        assert_eq!(out["metadata"]["annotations"], json!({"a": "b"}));
        let out =
            apply(&sts(), PatchType::StrategicMerge, br#"{"metadata":{"annotations":{"$patch":"delete"}}}"#)
                .unwrap();
        assert!(out["metadata"].get("annotations").is_none());
    }

    #[test]
    fn json_patch_replaces_replicas_and_reports_a_failed_test() {
        let out = apply(&sts(), PatchType::Json, br#"[{"op":"replace","path":"/spec/replicas","value":0}]"#)
            .unwrap();
        assert_eq!(out["spec"]["replicas"], 0);
        let err = apply(&sts(), PatchType::Json, br#"[{"op":"test","path":"/spec/replicas","value":5}]"#);
        assert!(matches!(err, Err(PatchError::BadRequest(_))));
    }

    #[test]
    fn media_types_are_recognised_and_others_refused() {
        assert_eq!(PatchType::from_content_type(Some("application/merge-patch+json")), Ok(PatchType::Merge));
        assert_eq!(
            PatchType::from_content_type(Some("application/strategic-merge-patch+json; charset=utf-8")),
            Ok(PatchType::StrategicMerge)
        );
        assert_eq!(PatchType::from_content_type(Some("application/json-patch+json")), Ok(PatchType::Json));
        let err = PatchType::from_content_type(Some("application/apply-patch+yaml")).unwrap_err();
        assert!(err.to_string().starts_with("the body of the request was in an unknown format"));
        assert!(apply(&sts(), PatchType::Merge, b"[1]").is_err());
    }
}
