//! Tolerant query-string parsing: kube-rs sends `?&watch=true…` (a leading empty pair) and
//! `command` repeats for exec, so the raw pairs are kept in order.

use crate::kinds::Kind;
use crate::selectors::{FieldSelector, LabelSelector, SelectorError};
use serde_json::Value;

#[derive(Debug, Default, Clone)]
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .into_owned()
            .filter(|(k, _)| !k.is_empty())
            .collect();
        Self { pairs }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
    }

    /// Kubernetes booleans: `true`/`1` (and `false`/`0`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | "True"))
    }

    pub fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, String> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| format!("invalid value {v:?} for {key}")),
        }
    }

    pub fn selectors(&self, kind: &Kind) -> Result<(LabelSelector, FieldSelector), SelectorError> {
        let labels = LabelSelector::parse(self.get("labelSelector").unwrap_or(""))?;
        let fields = FieldSelector::parse(self.get("fieldSelector").unwrap_or(""), &supported_fields(kind))?;
        Ok((labels, fields))
    }
}

/// The selectable fields of each kind (pods per kubernetes pkg/registry/core/pod/strategy.go).
pub fn supported_fields(kind: &Kind) -> Vec<&'static str> {
    let mut fields = vec!["metadata.name", "metadata.namespace"];
    match kind.plural {
        "pods" => fields.extend([
            "spec.nodeName",
            "spec.host",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ]),
        "secrets" => fields.push("type"),
        "namespaces" => fields.push("status.phase"),
        "nodes" => fields.push("spec.unschedulable"),
        _ => {}
    }
    fields
}

/// Reads a selectable field the way the server's field-label conversion does.
pub fn field_value(obj: &Value, field: &str) -> String {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    match field {
        "spec.host" => s("/spec/nodeName"),
        "spec.hostNetwork" => {
            obj.pointer("/spec/hostNetwork").and_then(Value::as_bool).unwrap_or(false).to_string()
        }
        "spec.unschedulable" => {
            obj.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false).to_string()
        }
        "status.podIPs" => s("/status/podIPs/0/ip"),
        "type" => s("/type"),
        other => s(&format!("/{}", other.replace('.', "/"))),
    }
}

pub fn matches(obj: &Value, labels: &LabelSelector, fields: &FieldSelector) -> bool {
    labels.matches_object(obj) && fields.matches(|f| field_value(obj, f))
}
