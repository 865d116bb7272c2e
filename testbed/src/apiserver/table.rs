//! `meta.k8s.io/v1` Table rendering, which plain `kubectl get` asks for. Pod, Service, Node,
//! StatefulSet and Deployment columns and cells follow the API server's own printers
//! (kubernetes pkg/printers/internalversion/printers.go): the server always sends the
//! priority-1 cells, which kubectl shows with `-o wide`. Other kinds get Name and Age.

use serde_json::{Value, json};

pub fn wants_table(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("as=Table"))
}

pub fn table(plural: &str, items: &[Value], rv: u64) -> Value {
    let (columns, cells): (Value, fn(&Value) -> Value) = match plural {
        "pods" => (pod_columns(), pod_cells),
        "statefulsets" => (statefulset_columns(), statefulset_cells),
        "deployments" => (deployment_columns(), deployment_cells),
        "services" => (service_columns(), service_cells),
        "nodes" => (node_columns(), node_cells),
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

fn service_columns() -> Value {
    json!([
        column("Name", "string", "name", 0),
        column("Type", "string", "", 0),
        column("Cluster-IP", "string", "", 0),
        column("External-IP", "string", "", 0),
        column("Port(s)", "string", "", 0),
        column("Age", "string", "", 0),
        column("Selector", "string", "", 1),
    ])
}

fn service_cells(svc: &Value) -> Value {
    let spec = &svc["spec"];
    let cluster_ip = spec["clusterIPs"][0].as_str().or(spec["clusterIP"].as_str()).unwrap_or("<none>");
    let external_ips: Vec<&str> =
        spec["externalIPs"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let kind = spec["type"].as_str().unwrap_or("ClusterIP");
    let external = match kind {
        "ClusterIP" | "NodePort" if !external_ips.is_empty() => external_ips.join(","),
        "ClusterIP" | "NodePort" => "<none>".to_string(),
        "LoadBalancer" => "<pending>".to_string(),
        "ExternalName" => spec["externalName"].as_str().unwrap_or_default().to_string(),
        _ => "<unknown>".to_string(),
    };
    // `port/protocol`, or `port:nodePort/protocol` where a NodePort is allocated.
    let ports: Vec<String> = spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let (port, protocol) = (count(&p["port"]), p["protocol"].as_str().unwrap_or("TCP"));
            match count(&p["nodePort"]) {
                0 => format!("{port}/{protocol}"),
                node_port => format!("{port}:{node_port}/{protocol}"),
            }
        })
        .collect();
    json!([
        svc["metadata"]["name"],
        kind,
        cluster_ip,
        external,
        if ports.is_empty() { "<none>".to_string() } else { ports.join(",") },
        age(&svc["metadata"]["creationTimestamp"]),
        label_string(&spec["selector"]),
    ])
}

fn node_columns() -> Value {
    json!([
        column("Name", "string", "name", 0),
        column("Status", "string", "", 0),
        column("Roles", "string", "", 0),
        column("Age", "string", "", 0),
        column("Version", "string", "", 0),
        column("Internal-IP", "string", "", 1),
        column("External-IP", "string", "", 1),
        column("OS-Image", "string", "", 1),
        column("Kernel-Version", "string", "", 1),
        column("Container-Runtime", "string", "", 1),
    ])
}

fn node_cells(node: &Value) -> Value {
    let status = &node["status"];
    let ready = status["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == "Ready");
    let mut state = vec![match ready {
        Some(c) if c["status"] == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if node["spec"]["unschedulable"] == json!(true) {
        state.push("SchedulingDisabled");
    }
    // Roles come from `node-role.kubernetes.io/<role>` labels and a `kubernetes.io/role` value.
    let mut roles: Vec<&str> = node["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
            Some(role) if !role.is_empty() => Some(role),
            _ if k == "kubernetes.io/role" => v.as_str().filter(|r| !r.is_empty()),
            _ => None,
        })
        .collect();
    roles.sort_unstable();
    roles.dedup();
    let address = |kind: &str| {
        status["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["type"] == kind)
            .and_then(|a| a["address"].as_str())
            .unwrap_or("<none>")
            .to_string()
    };
    let info =
        |field: &str| status["nodeInfo"][field].as_str().filter(|s| !s.is_empty()).unwrap_or("<unknown>");
    json!([
        node["metadata"]["name"],
        state.join(","),
        if roles.is_empty() { "<none>".to_string() } else { roles.join(",") },
        age(&node["metadata"]["creationTimestamp"]),
        status["nodeInfo"]["kubeletVersion"].as_str().unwrap_or_default(),
        address("InternalIP"),
        address("ExternalIP"),
        info("osImage"),
        info("kernelVersion"),
        info("containerRuntimeVersion"),
    ])
}

/// `k=v,k=v` in key order, as labels.FormatLabels prints a map; `<none>` when empty.
fn label_string(map: &Value) -> String {
    let pairs: Vec<String> = map
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    if pairs.is_empty() { "<none>".into() } else { pairs.join(",") }
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
