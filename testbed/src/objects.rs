//! Builders for the objects the real Cryptomeria Helm chart installs (release `cryptomeria`),
//! as the JSON the API server stores. Pure: no store, no I/O.

use serde_json::{Value, json};

pub const RELEASE: &str = "cryptomeria";
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
pub const CATEGORY_LABEL: &str = "app.kubernetes.io/category";
pub const HEADLESS_SERVICE: &str = "cryptomeria-chain-headless";
pub const NODE_NAME: &str = "cryptomeria-control-plane";

/// Container ports of every chain pod (CometBFT RPC, Cosmos REST, gRPC).
pub const CHAIN_PORTS: [(&str, u16); 3] = [("rpc", 26657), ("api", 1317), ("grpc", 9090)];

/// One chain of the testbed: `gwc`, `mdsc` or `fdsc-<i>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The instance label, which is also the chain id.
    pub instance: String,
    /// `gwc`, `mdsc` or `fdsc`.
    pub component: &'static str,
}

impl Chain {
    pub fn gwc() -> Self {
        Self { instance: "gwc".into(), component: "gwc" }
    }
    pub fn mdsc() -> Self {
        Self { instance: "mdsc".into(), component: "mdsc" }
    }
    pub fn fdsc(i: usize) -> Self {
        Self { instance: format!("fdsc-{i}"), component: "fdsc" }
    }

    /// The chain set of a chart install with `fdsc` data chains.
    pub fn all(fdsc: usize) -> Vec<Self> {
        [Self::gwc(), Self::mdsc()].into_iter().chain((0..fdsc).map(Self::fdsc)).collect()
    }

    pub fn workload_name(&self) -> String {
        format!("{RELEASE}-{}", self.instance)
    }
    pub fn pod_name(&self) -> String {
        format!("{}-0", self.workload_name())
    }
    /// The daemon binary, e.g. `gwcd`.
    pub fn binary(&self) -> String {
        format!("{}d", self.component)
    }

    /// The chart's NodePorts `(rpc, api, grpc)`: gwc 30007/30003/30000, mdsc +10, fdsc-i +20+10i.
    pub fn chart_node_ports(&self) -> (u16, u16, u16) {
        let base = match self.component {
            "gwc" => 30000,
            "mdsc" => 30010,
            _ => {
                let i: u16 = self.instance.trim_start_matches("fdsc-").parse().unwrap_or(0);
                30020 + 10 * i
            }
        };
        (base + 7, base + 3, base)
    }

    pub fn labels(&self) -> Value {
        json!({
            NAME_LABEL: RELEASE,
            COMPONENT_LABEL: self.component,
            INSTANCE_LABEL: self.instance,
            CATEGORY_LABEL: "chain",
        })
    }
}

pub fn relayer_labels() -> Value {
    json!({ NAME_LABEL: RELEASE, COMPONENT_LABEL: "relayer" })
}

/// Labels of the chart's genesis-server Deployment and its pods.
pub fn genesis_server_labels() -> Value {
    json!({ NAME_LABEL: RELEASE, COMPONENT_LABEL: "genesis-server" })
}

/// The faucet's labels: `app: faucet` only (`templates/faucet/*.yaml`).
pub fn faucet_labels() -> Value {
    json!({"app": "faucet"})
}

/// The chart's faucet Service port and NodePort (`values.yaml faucet.service`).
pub const FAUCET_PORT: u16 = 4500;
pub const FAUCET_NODE_PORT: u16 = 30045;

/// The relayer's persistent volume claim (`templates/relayer/pvc.yaml`).
pub const RELAYER_PVC: &str = "cryptomeria-relayer-data";

/// The relayer container's command (`templates/relayer/deployment.yaml`): idles, and exits 0
/// at once on SIGTERM.
pub const RELAYER_PID1_SCRIPT: &str = "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done";

fn meta(name: &str, ns: &str, labels: Value) -> Value {
    json!({"name": name, "namespace": ns, "labels": labels})
}

pub fn namespace(name: &str) -> Value {
    json!({"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

pub fn node(internal_ip: &str) -> Value {
    json!({
        "metadata": {"name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                                                  "node-role.kubernetes.io/control-plane": ""}},
        "spec": {},
        "status": {
            "addresses": [{"type": "InternalIP", "address": internal_ip}, {"type": "Hostname", "address": NODE_NAME}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
            "nodeInfo": {"kubeletVersion": "v1.32.2", "operatingSystem": "linux", "architecture": "amd64",
                         "containerRuntimeVersion": "containerd://2.0.2", "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "kernelVersion": "6.1.0", "kubeProxyVersion": "", "machineID": "", "systemUUID": "", "bootID": ""}
        }
    })
}

pub fn chain_statefulset(chain: &Chain, ns: &str) -> Value {
    let selector = json!({ NAME_LABEL: RELEASE, INSTANCE_LABEL: chain.instance });
    json!({
        "metadata": meta(&chain.workload_name(), ns, chain.labels()),
        "spec": {"replicas": 1, "serviceName": HEADLESS_SERVICE, "selector": {"matchLabels": selector},
                 "template": {"metadata": {"labels": chain.labels()}, "spec": chain_pod_spec(chain)}},
        "status": {"replicas": 1, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 1}
    })
}

pub fn relayer_deployment(ns: &str) -> Value {
    deployment(&format!("{RELEASE}-relayer"), ns, relayer_labels(), relayer_pod_spec())
}

/// `cryptomeria-genesis-server`: serves the generated genesis files over nginx.
pub fn genesis_server_deployment(ns: &str) -> Value {
    let spec = json!({
        "containers": [{"name": "nginx", "image": "cryptomeria/genesis:latest",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "volumeMounts": [{"name": "shared-data", "mountPath": "/usr/share/nginx/html"}]}],
        "volumes": [{"name": "shared-data", "emptyDir": {}}],
        "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "default",
    });
    deployment(&format!("{RELEASE}-genesis-server"), ns, genesis_server_labels(), spec)
}

pub fn faucet_deployment(ns: &str) -> Value {
    let spec = json!({
        "containers": [{"name": "faucet", "image": "cryptomeria/faucet:latest",
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}]}],
        "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "default",
    });
    deployment("faucet", ns, faucet_labels(), spec)
}

fn deployment(name: &str, ns: &str, labels: Value, pod_spec: Value) -> Value {
    json!({
        "metadata": meta(name, ns, labels.clone()),
        "spec": {"replicas": 1, "selector": {"matchLabels": labels.clone()},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                 "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                 "template": {"metadata": {"labels": labels}, "spec": pod_spec}},
        "status": {"replicas": 1, "readyReplicas": 0, "availableReplicas": 0}
    })
}

pub fn faucet_service(ns: &str, cluster_ip: &str, node_port: u16) -> Value {
    json!({
        "metadata": meta("faucet", ns, faucet_labels()),
        "spec": {"type": "NodePort", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                 "ports": [{"name": "http", "port": FAUCET_PORT, "targetPort": FAUCET_PORT, "nodePort": node_port, "protocol": "TCP"}],
                 "externalTrafficPolicy": "Cluster", "selector": faucet_labels()},
        "status": {"loadBalancer": {}}
    })
}

pub fn genesis_server_service(ns: &str, cluster_ip: &str) -> Value {
    json!({
        "metadata": meta(&format!("{RELEASE}-genesis-server"), ns, json!({})),
        "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                 "ports": [{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"}],
                 "selector": genesis_server_labels()},
        "status": {"loadBalancer": {}}
    })
}

fn mnemonic_volume() -> (Value, Value) {
    (
        json!({"name": "mnemonics", "secret": {"secretName": format!("{RELEASE}-mnemonics")}}),
        json!({"name": "mnemonics", "mountPath": "/etc/mnemonics", "readOnly": true}),
    )
}

fn chain_pod_spec(chain: &Chain) -> Value {
    let (mn_vol, mn_mount) = mnemonic_volume();
    let ports: Vec<Value> =
        CHAIN_PORTS.iter().map(|(n, p)| json!({"name": n, "containerPort": p, "protocol": "TCP"})).collect();
    json!({
        "hostname": chain.pod_name(), "subdomain": HEADLESS_SERVICE,
        "containers": [{
            "name": "chain", "image": format!("cryptomeria/{}:latest", chain.binary()),
            "command": ["/bin/sh", "/scripts/entrypoint-chain.sh"], "ports": ports,
            "volumeMounts": [mn_mount, {"name": "scripts", "mountPath": "/scripts"}],
        }],
        "volumes": [mn_vol, {"name": "scripts", "configMap": {"name": format!("{RELEASE}-scripts")}}],
        "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "default",
    })
}

fn relayer_pod_spec() -> Value {
    let (mn_vol, mn_mount) = mnemonic_volume();
    json!({
        "containers": [{
            "name": "relayer", "image": "cryptomeria/relayer:latest",
            "command": ["/bin/sh", "-c"], "args": [RELAYER_PID1_SCRIPT],
            "volumeMounts": [{"name": "data", "mountPath": "/home/relayer/.relayer"},
                             {"name": "config", "mountPath": "/home/relayer/.relayer/config"}, mn_mount],
        }],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": RELAYER_PVC}},
                    {"name": "config", "emptyDir": {}}, mn_vol],
        "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "default",
    })
}

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
    let now = super::store::now_rfc3339();
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
    let now = super::store::now_rfc3339();
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

pub fn is_pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

pub fn headless_service(ns: &str) -> Value {
    let ports: Vec<Value> = CHAIN_PORTS
        .iter()
        .map(|(n, p)| json!({"name": n, "port": p, "targetPort": p, "protocol": "TCP"}))
        .collect();
    json!({
        "metadata": meta(HEADLESS_SERVICE, ns, json!({NAME_LABEL: RELEASE, CATEGORY_LABEL: "chain"})),
        "spec": {"clusterIP": "None", "clusterIPs": ["None"], "type": "ClusterIP", "ports": ports,
                 "publishNotReadyAddresses": true,
                 "selector": {NAME_LABEL: RELEASE, CATEGORY_LABEL: "chain"}},
        "status": {"loadBalancer": {}}
    })
}

pub fn chain_service(chain: &Chain, ns: &str, cluster_ip: &str, node_ports: (u16, u16, u16)) -> Value {
    let (rpc, api, grpc) = node_ports;
    let ports: Vec<Value> = CHAIN_PORTS
        .iter()
        .zip([rpc, api, grpc])
        .map(|((n, p), np)| json!({"name": n, "port": p, "targetPort": p, "nodePort": np, "protocol": "TCP"}))
        .collect();
    json!({
        "metadata": meta(&chain.workload_name(), ns, json!({NAME_LABEL: RELEASE, INSTANCE_LABEL: chain.instance})),
        "spec": {"type": "NodePort", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "ports": ports,
                 "externalTrafficPolicy": "Cluster",
                 "selector": {NAME_LABEL: RELEASE, INSTANCE_LABEL: chain.instance}},
        "status": {"loadBalancer": {}}
    })
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

pub fn scripts_configmap(ns: &str) -> Value {
    json!({
        "metadata": meta(&format!("{RELEASE}-scripts"), ns, json!({NAME_LABEL: RELEASE})),
        "data": {"entrypoint-chain.sh": "#!/bin/sh\nset -e\nexec \"${CHAIN_BINARY}\" start --home \"${CHAIN_HOME}\"\n"}
    })
}

/// The mnemonics Secret; `data` holds base64 values as a real Secret does.
pub fn mnemonics_secret(ns: &str, entries: &[(String, String)]) -> Value {
    use base64::Engine as _;
    let data: serde_json::Map<String, Value> = entries
        .iter()
        .map(|(k, v)| (k.clone(), json!(base64::engine::general_purpose::STANDARD.encode(v))))
        .collect();
    json!({"metadata": meta(&format!("{RELEASE}-mnemonics"), ns, json!({NAME_LABEL: RELEASE})),
           "type": "Opaque", "data": data})
}
