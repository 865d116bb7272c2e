//! Pods and Endpoints as the kubelet and the endpoints controller write them: a pending pod
//! of a workload's template, its move to Running/Ready, and the Endpoints of a Service.

use super::NODE_NAME;
use serde_json::{Value, json};

/// A pod's controller: `(kind, name, uid)` of the StatefulSet or ReplicaSet that owns it.
pub type Owner<'a> = (&'a str, &'a str, &'a str);

/// A freshly scheduled, not yet started pod of a workload's template.
pub fn pending_pod(name: &str, ns: &str, template: &Value, owner: Owner<'_>, host_ip: &str) -> Value {
    let mut labels = template["metadata"]["labels"].clone();
    if owner.0 == "StatefulSet" {
        labels["statefulset.kubernetes.io/pod-name"] = json!(name);
        labels["apps.kubernetes.io/pod-index"] = json!("0");
    }
    let mut spec = template["spec"].clone();
    spec["nodeName"] = json!(NODE_NAME);
    let containers: Vec<Value> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false, "started": false,
                   "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}})
        })
        .collect();
    let now = crate::store::now_rfc3339();
    json!({
        "metadata": {"name": name, "namespace": ns, "labels": labels,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner.0, "name": owner.1, "uid": owner.2,
                                          "controller": true, "blockOwnerDeletion": true}]},
        "spec": spec,
        "status": {
            "phase": "Pending", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "startTime": now, "qosClass": "BestEffort",
            "conditions": [
                condition("PodReadyToStartContainers", false, &now), condition("Initialized", true, &now),
                condition("Ready", false, &now), condition("ContainersReady", false, &now),
                condition("PodScheduled", true, &now),
            ],
            "containerStatuses": containers,
        }
    })
}

/// A stable uid for an object the testbed does not serve (a Deployment's ReplicaSet), so
/// ownerReferences still carry one: a UUID-shaped digest of kind, namespace and name.
pub fn synthetic_uid(kind: &str, ns: &str, name: &str) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(format!("{kind}/{ns}/{name}"));
    let h = hex::encode(&d[..16]);
    format!("{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

fn condition(kind: &str, status: bool, now: &str) -> Value {
    let mut c = json!({"type": kind, "status": if status { "True" } else { "False" }, "lastProbeTime": null,
                       "lastTransitionTime": now});
    if !status && matches!(kind, "Ready" | "ContainersReady") {
        c["reason"] = json!("ContainersNotReady");
    }
    c
}

/// Moves a pod to Running with its IP; `ready` decides the Ready conditions and container
/// readiness (a held-not-ready pod runs but fails its readiness probe).
pub fn set_running(pod: &mut Value, pod_ip: &str, ready: bool) {
    let now = crate::store::now_rfc3339();
    let status = &mut pod["status"];
    status["phase"] = json!("Running");
    status["podIP"] = json!(pod_ip);
    status["podIPs"] = json!([{"ip": pod_ip}]);
    if let Some(conds) = status["conditions"].as_array_mut() {
        for c in conds {
            let kind = c["type"].as_str().unwrap_or_default().to_string();
            let want = !matches!(kind.as_str(), "Ready" | "ContainersReady") || ready;
            if c["status"] != json!(if want { "True" } else { "False" }) {
                *c = condition(&kind, want, &now);
            }
        }
    }
    if let Some(containers) = status["containerStatuses"].as_array_mut() {
        for c in containers {
            if c["state"].get("running").is_none() {
                c["state"] = json!({"running": {"startedAt": now}});
                c["imageID"] = json!(format!(
                    "docker.io/{}@sha256:{}",
                    c["image"].as_str().unwrap_or(""),
                    "0".repeat(64)
                ));
                c["containerID"] = json!(format!("containerd://{:064x}", rand::random::<u128>()));
            }
            c["started"] = json!(true);
            c["ready"] = json!(ready);
        }
    }
}

/// The pod's containers exited with `exit_code` and the kubelet holds them in its restart
/// back-off: `state.waiting` CrashLoopBackOff with the kubelet's message, the run that ended
/// in `lastState.terminated`, not ready (the pod's Ready conditions False).
pub fn set_crash_loop_back_off(pod: &mut Value, exit_code: i32, back_off: std::time::Duration) {
    let now = crate::store::now_rfc3339();
    let (name, ns, uid) = (
        pod["metadata"]["name"].clone(),
        pod["metadata"]["namespace"].clone(),
        pod["metadata"]["uid"].clone(),
    );
    let status = &mut pod["status"];
    if let Some(conds) = status["conditions"].as_array_mut() {
        for c in conds.iter_mut().filter(|c| matches!(c["type"].as_str(), Some("Ready" | "ContainersReady")))
        {
            if c["status"] != json!("False") {
                *c = condition(c["type"].as_str().unwrap_or_default(), false, &now);
            }
        }
    }
    for c in status["containerStatuses"].as_array_mut().into_iter().flatten() {
        let started = c["state"]["running"]["startedAt"].clone();
        c["lastState"] = json!({"terminated": {"exitCode": exit_code, "reason": "Error", "startedAt": started,
                                               "finishedAt": now, "containerID": c["containerID"]}});
        let message = format!(
            "back-off {}s restarting failed container={} pod={}_{}({})",
            back_off.as_secs(),
            c["name"].as_str().unwrap_or_default(),
            name.as_str().unwrap_or_default(),
            ns.as_str().unwrap_or_default(),
            uid.as_str().unwrap_or_default()
        );
        c["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": message}});
        c["ready"] = json!(false);
        c["started"] = json!(false);
    }
}

/// The kubelet started the containers again after their back-off: `restartCount` up by one,
/// a new container running since now (`lastState` keeps the run that failed).
pub fn set_restarted(pod: &mut Value, ready: bool) {
    for c in pod["status"]["containerStatuses"].as_array_mut().into_iter().flatten() {
        let restarts = c["restartCount"].as_u64().unwrap_or_default() + 1;
        c["restartCount"] = json!(restarts);
        c["state"] = json!({});
    }
    let ip = pod["status"]["podIP"].as_str().unwrap_or_default().to_string();
    set_running(pod, &ip, ready);
}

pub fn is_pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

/// The Endpoints of a Service given the pods it selects: ready pods in `addresses`, the rest in
/// `notReadyAddresses` (unless the Service publishes not-ready addresses).
pub fn endpoints_for(service: &Value, pods: &[&Value]) -> Value {
    let publish_not_ready = service["spec"]["publishNotReadyAddresses"] == json!(true);
    let (mut ready, mut not_ready) = (Vec::new(), Vec::new());
    for pod in pods {
        let Some(ip) = pod["status"]["podIP"].as_str() else { continue };
        let mut addr = json!({"ip": ip, "nodeName": NODE_NAME,
            "targetRef": {"kind": "Pod", "name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"],
                          "uid": pod["metadata"]["uid"]}});
        if let Some(h) = pod["spec"]["hostname"].as_str() {
            addr["hostname"] = json!(h);
        }
        if publish_not_ready || is_pod_ready(pod) { ready.push(addr) } else { not_ready.push(addr) }
    }
    let ports: Vec<Value> = service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| json!({"name": p["name"], "port": p["targetPort"], "protocol": p["protocol"]}))
        .collect();
    let mut subset = json!({"ports": ports});
    if !ready.is_empty() {
        subset["addresses"] = json!(ready);
    }
    if !not_ready.is_empty() {
        subset["notReadyAddresses"] = json!(not_ready);
    }
    let subsets = if ready.is_empty() && not_ready.is_empty() { json!([]) } else { json!([subset]) };
    json!({"metadata": {"name": service["metadata"]["name"], "namespace": service["metadata"]["namespace"],
                        "labels": service["metadata"]["labels"]},
           "subsets": subsets})
}
