//! `meta.k8s.io/v1` Table rendering, which plain `kubectl get` asks for. Pod, StatefulSet
//! and Deployment columns and cells follow kubernetes pkg/printers/internalversion/printers.go;
//! other kinds get Name and Age.

use serde_json::{Value, json};

pub fn wants_table(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("as=Table"))
}

pub fn table(plural: &str, items: &[Value], rv: u64) -> Value {
    let (columns, cells): (Value, fn(&Value) -> Value) = match plural {
        "pods" => (pod_columns(), pod_cells),
        "statefulsets" => (statefulset_columns(), statefulset_cells),
        "deployments" => (deployment_columns(), deployment_cells),
        _ => (json!([column("Name", "string", "name", 0), column("Age", "string", "", 0)]), generic_cells),
    };
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            json!({"cells": cells(obj), "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                                   "metadata": obj["metadata"]}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv.to_string()},
           "columnDefinitions": columns, "rows": rows})
}

fn column(name: &str, kind: &str, format: &str, priority: u8) -> Value {
    json!({"name": name, "type": kind, "format": format, "description": "", "priority": priority})
}

fn pod_columns() -> Value {
    json!([
        column("Name", "string", "name", 0),
        column("Ready", "string", "", 0),
        column("Status", "string", "", 0),
        column("Restarts", "string", "", 0),
        column("Age", "string", "", 0),
        column("IP", "string", "", 1),
        column("Node", "string", "", 1),
        column("Nominated Node", "string", "", 1),
        column("Readiness Gates", "string", "", 1),
    ])
}

fn pod_cells(pod: &Value) -> Value {
    let statuses = pod["status"]["containerStatuses"].as_array().cloned().unwrap_or_default();
    let total = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready =
        statuses.iter().filter(|c| c["ready"] == json!(true) && c["state"].get("running").is_some()).count();
    let restarts: u64 = statuses.iter().filter_map(|c| c["restartCount"].as_u64()).sum();
    let mut reason =
        pod["status"]["reason"].as_str().or(pod["status"]["phase"].as_str()).unwrap_or("Unknown").to_string();
    for c in &statuses {
        if let Some(r) =
            c["state"]["waiting"]["reason"].as_str().or(c["state"]["terminated"]["reason"].as_str())
        {
            reason = r.to_string();
        }
    }
    if pod["metadata"].get("deletionTimestamp").is_some_and(|t| !t.is_null()) {
        reason = "Terminating".into();
    }
    json!([
        pod["metadata"]["name"],
        format!("{ready}/{total}"),
        reason,
        restarts,
        age(&pod["metadata"]["creationTimestamp"]),
        pod["status"]["podIP"].as_str().unwrap_or("<none>"),
        pod["spec"]["nodeName"].as_str().unwrap_or("<none>"),
        "<none>",
        "<none>",
    ])
}

fn statefulset_columns() -> Value {
    json!([
        column("Name", "string", "name", 0),
        column("Ready", "string", "", 0),
        column("Age", "string", "", 0),
        column("Containers", "string", "", 1),
        column("Images", "string", "", 1),
    ])
}

/// `Containers` and `Images` of a workload's pod template, comma-joined.
fn template_containers(obj: &Value) -> (String, String) {
    let containers = obj["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default();
    let field = |f: &str| containers.iter().filter_map(|c| c[f].as_str()).collect::<Vec<_>>().join(",");
    (field("name"), field("image"))
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn statefulset_cells(sts: &Value) -> Value {
    let (containers, images) = template_containers(sts);
    json!([
        sts["metadata"]["name"],
        format!("{}/{}", count(&sts["status"]["readyReplicas"]), count(&sts["spec"]["replicas"])),
        age(&sts["metadata"]["creationTimestamp"]),
        containers,
        images,
    ])
}

fn deployment_columns() -> Value {
    json!([
        column("Name", "string", "name", 0),
        column("Ready", "string", "", 0),
        column("Up-to-date", "string", "", 0),
        column("Available", "string", "", 0),
        column("Age", "string", "", 0),
        column("Containers", "string", "", 1),
        column("Images", "string", "", 1),
        column("Selector", "string", "", 1),
    ])
}

fn deployment_cells(d: &Value) -> Value {
    let (containers, images) = template_containers(d);
    let status = &d["status"];
    json!([
        d["metadata"]["name"],
        format!("{}/{}", count(&status["readyReplicas"]), count(&d["spec"]["replicas"])),
        count(&status["updatedReplicas"]),
        count(&status["availableReplicas"]),
        age(&d["metadata"]["creationTimestamp"]),
        containers,
        images,
        super::workloads::selector_string(&d["spec"]["selector"]),
    ])
}

fn generic_cells(obj: &Value) -> Value {
    json!([obj["metadata"]["name"], age(&obj["metadata"]["creationTimestamp"])])
}

/// kubectl's short human duration: `45s`, `5m`, `3h`, `2d`.
fn age(created: &Value) -> String {
    let Some(t) = created.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()) else {
        return "<unknown>".into();
    };
    let secs = (jiff::Timestamp::now().as_second() - t.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}
