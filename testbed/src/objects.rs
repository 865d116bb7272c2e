//! Builders for the objects the real Cryptomeria Helm chart installs (chart
//! `cryptomeria-0.1.0`, its `values.yaml` defaults, under any release name: `release.rs`), as
//! the JSON the API server stores. Pure: no store, no I/O.
//!
//! Labels as the chart writes them: most objects carry the chart's common labels
//! (`helm.sh/chart`, `app.kubernetes.io/{name,version,managed-by}`) plus their component;
//! pod templates and selectors carry only the selector label `app.kubernetes.io/name` plus
//! component (and category/instance for chains); the headless Service, the genesis-server
//! Service and the faucet's objects are written by hand in the chart and carry less.

use crate::layout::{MNEMONICS_DIR, RELAYER_HOME};
use serde_json::{Value, json};

mod pods;
mod release;
pub use pods::{
    Owner, endpoints_for, is_pod_ready, pending_pod, set_crash_loop_back_off, set_restarted, set_running,
    synthetic_uid,
};
pub use release::{CHART_NAME, DEFAULT_RELEASE, Release, fullname, valid_release_name};

pub const NAME_LABEL: &str = "app.kubernetes.io/name";
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
pub const CATEGORY_LABEL: &str = "app.kubernetes.io/category";
pub const NODE_NAME: &str = "cryptomeria-control-plane";
/// `Chart.yaml`: `name-version` and `appVersion`.
pub const HELM_CHART: &str = "cryptomeria-0.1.0";
pub const APP_VERSION: &str = "1.0.0";

/// Container ports of every chain pod (CometBFT RPC, Cosmos REST, gRPC).
pub const CHAIN_PORTS: [(&str, u16); 3] = [("rpc", 26657), ("api", 1317), ("grpc", 9090)];

/// One chain of the testbed: `gwc`, `mdsc` or `fdsc-<i>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The instance label, which is also the chain id.
    pub instance: String,
    /// `gwc`, `mdsc` or `fdsc`.
    pub component: &'static str,
    /// The release that installed it (its object names).
    pub release: Release,
}

impl Chain {
    pub fn gwc(release: &Release) -> Self {
        Self { instance: "gwc".into(), component: "gwc", release: release.clone() }
    }
    pub fn mdsc(release: &Release) -> Self {
        Self { instance: "mdsc".into(), component: "mdsc", release: release.clone() }
    }
    pub fn fdsc(release: &Release, i: usize) -> Self {
        Self { instance: format!("fdsc-{i}"), component: "fdsc", release: release.clone() }
    }

    /// The chain set of a chart install with `fdsc` data chains.
    pub fn all(release: &Release, fdsc: usize) -> Vec<Self> {
        [Self::gwc(release), Self::mdsc(release)]
            .into_iter()
            .chain((0..fdsc).map(|i| Self::fdsc(release, i)))
            .collect()
    }

    pub fn workload_name(&self) -> String {
        self.release.object(&self.instance)
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

    /// Labels of the chain's pods (the StatefulSet's template).
    pub fn labels(&self) -> Value {
        json!({
            NAME_LABEL: CHART_NAME,
            COMPONENT_LABEL: self.component,
            INSTANCE_LABEL: self.instance,
            CATEGORY_LABEL: "chain",
        })
    }

    /// The StatefulSet's selector: name, component and instance (`_chain-template.tpl`).
    pub fn selector(&self) -> Value {
        json!({ NAME_LABEL: CHART_NAME, COMPONENT_LABEL: self.component, INSTANCE_LABEL: self.instance })
    }

    /// `values.yaml` `<component>.persistence.size` of the `data` claim.
    fn storage(&self) -> &'static str {
        if self.component == "mdsc" { "3Gi" } else { "6Gi" }
    }
}

/// The chart's common labels (`cryptomeria.labels` in `_helpers.tpl`) plus `extra`.
pub fn helm_labels(extra: Value) -> Value {
    let mut labels = json!({
        "helm.sh/chart": HELM_CHART,
        NAME_LABEL: CHART_NAME,
        "app.kubernetes.io/version": APP_VERSION,
        "app.kubernetes.io/managed-by": "Helm",
    });
    if let (Some(l), Value::Object(e)) = (labels.as_object_mut(), extra) {
        l.extend(e);
    }
    labels
}

/// The selector labels of a component's pods: `app.kubernetes.io/name` plus the component.
pub fn relayer_labels() -> Value {
    json!({ NAME_LABEL: CHART_NAME, COMPONENT_LABEL: "relayer" })
}

/// Labels of the chart's genesis-server pods (and its Deployment's selector).
pub fn genesis_server_labels() -> Value {
    json!({ NAME_LABEL: CHART_NAME, COMPONENT_LABEL: "genesis-server" })
}

/// The faucet's labels: `app: faucet` only (`templates/faucet/*.yaml`).
pub fn faucet_labels() -> Value {
    json!({"app": "faucet"})
}

/// The chart's faucet Service port and NodePort (`values.yaml faucet.service`).
pub const FAUCET_PORT: u16 = 4500;
pub const FAUCET_NODE_PORT: u16 = 30045;

/// The relayer container's command (`templates/relayer/deployment.yaml`): idles, and exits 0
/// at once on SIGTERM.
pub const RELAYER_PID1_SCRIPT: &str = "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done";

fn meta(name: &str, ns: &str, labels: Value) -> Value {
    json!({"name": name, "namespace": ns, "labels": labels})
}

/// Metadata of an object Helm installed: it also records the release in annotations.
fn helm_meta(name: &str, ns: &str, rel: &Release, labels: Value) -> Value {
    let mut m = meta(name, ns, labels);
    m["annotations"] = json!({"meta.helm.sh/release-name": rel.name, "meta.helm.sh/release-namespace": ns});
    m
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
    let labels = helm_labels(json!({
        COMPONENT_LABEL: chain.component, CATEGORY_LABEL: "chain", INSTANCE_LABEL: chain.instance,
    }));
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": chain.storage()}},
                 "volumeMode": "Filesystem"},
        "status": {"phase": "Pending"}});
    json!({
        "metadata": helm_meta(&chain.workload_name(), ns, &chain.release, labels),
        "spec": {"replicas": 1, "serviceName": chain.release.headless(), "selector": {"matchLabels": chain.selector()},
                 "template": {"metadata": {"labels": chain.labels()}, "spec": chain_pod_spec(chain)},
                 "volumeClaimTemplates": [claim], "podManagementPolicy": "OrderedReady",
                 "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                 "revisionHistoryLimit": 10,
                 "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"}},
        "status": {"replicas": 1, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 1}
    })
}

pub fn relayer_deployment(ns: &str, rel: &Release) -> Value {
    let labels = helm_labels(json!({COMPONENT_LABEL: "relayer"}));
    deployment(helm_meta(&rel.relayer(), ns, rel, labels), relayer_labels(), relayer_pod_spec(rel))
}

/// `<fullname>-genesis-server`: three init containers generate every chain's genesis into a
/// shared emptyDir (`generate.sh` from the `<fullname>-genesis-script` ConfigMap), then
/// nginx serves it.
pub fn genesis_server_deployment(ns: &str, rel: &Release, fdsc: usize) -> Value {
    let mounts = json!([{"name": "shared-data", "mountPath": "/shared"}, {"name": "scripts", "mountPath": "/scripts"},
                        {"name": "mnemonics", "mountPath": "/etc/mnemonics"}]);
    let init = |app: &str, replicas: usize| {
        let command = json!(["/bin/sh", "-c", "/scripts/generate.sh"]);
        json!({"name": format!("gen-{app}"), "image": format!("cryptomeria/{app}:latest"), "imagePullPolicy": "IfNotPresent",
               "command": command, "env": [{"name": "FDSC_REPLICAS", "value": replicas.to_string()}],
               "volumeMounts": mounts.clone()})
    };
    let spec = json!({
        "initContainers": [init("gwc", 0), init("mdsc", 0), init("fdsc", fdsc)],
        "containers": [{"name": "nginx", "image": "cryptomeria/genesis:latest", "imagePullPolicy": "IfNotPresent",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "volumeMounts": [{"name": "shared-data", "mountPath": "/usr/share/nginx/html"}]}],
        "volumes": [{"name": "shared-data", "emptyDir": {}},
                    {"name": "scripts", "configMap": {"name": rel.genesis_script(), "defaultMode": 493}},
                    {"name": "mnemonics", "secret": {"secretName": rel.mnemonics(), "defaultMode": 420}}],
        "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "default",
    });
    let labels = helm_labels(json!({COMPONENT_LABEL: "genesis-server"}));
    deployment(helm_meta(&rel.genesis_server(), ns, rel, labels), genesis_server_labels(), spec)
}

/// The faucet (ping-pub's): its config from the `faucet-config` ConfigMap, its sender's
/// mnemonic from the Secret `cryptomeria-mnemonics` (gwc's local-admin). The chart writes
/// both names literally, so under another release the faucet's Secret does not exist.
pub fn faucet_deployment(ns: &str, rel: &Release) -> Value {
    let spec = json!({
        "containers": [{"name": "faucet", "image": "cryptomeria/faucet:latest", "imagePullPolicy": "IfNotPresent",
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "env": [{"name": "MNEMONIC", "valueFrom": {"secretKeyRef": {
                            "name": "cryptomeria-mnemonics", "key": "gwc.local-admin.mnemonic"}}}],
                        "volumeMounts": [{"name": "config-volume", "mountPath": "/config"}]}],
        "volumes": [{"name": "config-volume", "configMap": {"name": FAUCET_CONFIGMAP, "defaultMode": 420}}],
        "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "default",
    });
    deployment(helm_meta("faucet", ns, rel, faucet_labels()), faucet_labels(), spec)
}

fn deployment(metadata: Value, labels: Value, pod_spec: Value) -> Value {
    json!({
        "metadata": metadata,
        "spec": {"replicas": 1, "selector": {"matchLabels": labels.clone()},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                 "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                 "template": {"metadata": {"labels": labels}, "spec": pod_spec}},
        "status": {"replicas": 1, "readyReplicas": 0, "availableReplicas": 0}
    })
}

pub fn faucet_service(ns: &str, rel: &Release, cluster_ip: &str, node_port: u16) -> Value {
    json!({
        "metadata": helm_meta("faucet", ns, rel, faucet_labels()),
        "spec": {"type": "NodePort", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                 "ports": [{"name": "http", "port": FAUCET_PORT, "targetPort": FAUCET_PORT, "nodePort": node_port, "protocol": "TCP"}],
                 "externalTrafficPolicy": "Cluster", "selector": faucet_labels()},
        "status": {"loadBalancer": {}}
    })
}

pub fn genesis_server_service(ns: &str, rel: &Release, cluster_ip: &str) -> Value {
    json!({
        "metadata": helm_meta(&rel.genesis_server(), ns, rel, json!({})),
        "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                 "ports": [{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"}],
                 "selector": genesis_server_labels()},
        "status": {"loadBalancer": {}}
    })
}

fn mnemonic_volume(rel: &Release) -> (Value, Value) {
    (
        json!({"name": "mnemonics", "secret": {"secretName": rel.mnemonics(), "defaultMode": 420}}),
        json!({"name": "mnemonics", "mountPath": MNEMONICS_DIR, "readOnly": true}),
    )
}

fn chain_pod_spec(chain: &Chain) -> Value {
    let (mn_vol, mn_mount) = mnemonic_volume(&chain.release);
    // The container lists rpc, grpc, api in that order (`_chain-template.tpl`).
    let ports: Vec<Value> = [CHAIN_PORTS[0], CHAIN_PORTS[2], CHAIN_PORTS[1]]
        .iter()
        .map(|(n, p)| json!({"name": n, "containerPort": p, "protocol": "TCP"}))
        .collect();
    let app = chain.component;
    json!({
        "hostname": chain.pod_name(), "subdomain": chain.release.headless(),
        "containers": [{
            "name": "chain", "image": format!("cryptomeria/{app}:latest"), "imagePullPolicy": "IfNotPresent",
            "command": ["/bin/sh", "/scripts/entrypoint-chain.sh"],
            "env": [{"name": "CHAIN_APP_NAME", "value": app}, {"name": "CHAIN_INSTANCE_NAME", "value": chain.instance},
                    {"name": "DENOM", "value": "uatom"}],
            "ports": ports, "resources": {},
            "volumeMounts": [{"name": "data", "mountPath": format!("/home/{app}/.{app}")},
                             {"name": "scripts", "mountPath": "/scripts"}, mn_mount],
        }],
        "volumes": [{"name": "scripts", "configMap": {"name": chain.release.scripts(), "defaultMode": 493}}, mn_vol],
        "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "default",
    })
}

fn relayer_pod_spec(rel: &Release) -> Value {
    let (mn_vol, mn_mount) = mnemonic_volume(rel);
    json!({
        "containers": [{
            "name": "relayer", "image": "cryptomeria/relayer:latest", "imagePullPolicy": "IfNotPresent",
            "command": ["/bin/sh", "-c"], "args": [RELAYER_PID1_SCRIPT], "resources": {},
            "volumeMounts": [{"name": "data", "mountPath": RELAYER_HOME},
                             {"name": "config", "mountPath": format!("{RELAYER_HOME}/config")}, mn_mount],
        }],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": rel.relayer_pvc()}},
                    {"name": "config", "emptyDir": {}}, mn_vol],
        "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "default",
    })
}

/// The headless Service of every chain pod (written by hand in the chart: two labels, no
/// `publishNotReadyAddresses`, so a pod is in its DNS only while Ready).
pub fn headless_service(ns: &str, rel: &Release) -> Value {
    let ports: Vec<Value> = [CHAIN_PORTS[0], CHAIN_PORTS[2], CHAIN_PORTS[1]]
        .iter()
        .map(|(n, p)| json!({"name": n, "port": p, "targetPort": p, "protocol": "TCP"}))
        .collect();
    let labels = json!({NAME_LABEL: CHART_NAME, CATEGORY_LABEL: "chain"});
    json!({
        "metadata": helm_meta(&rel.headless(), ns, rel, labels.clone()),
        "spec": {"clusterIP": "None", "clusterIPs": ["None"], "type": "ClusterIP", "ports": ports, "selector": labels},
        "status": {"loadBalancer": {}}
    })
}

/// A chain's NodePort Service: the chart's labels plus the instance; it selects the chain's pod
/// by name, category and instance.
pub fn chain_service(chain: &Chain, ns: &str, cluster_ip: &str, node_ports: (u16, u16, u16)) -> Value {
    let (rpc, api, grpc) = node_ports;
    let ports: Vec<Value> = CHAIN_PORTS
        .iter()
        .zip([rpc, api, grpc])
        .map(|((n, p), np)| json!({"name": n, "port": p, "targetPort": p, "nodePort": np, "protocol": "TCP"}))
        .collect();
    json!({
        "metadata": helm_meta(&chain.workload_name(), ns, &chain.release, helm_labels(json!({INSTANCE_LABEL: chain.instance}))),
        "spec": {"type": "NodePort", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "ports": ports,
                 "externalTrafficPolicy": "Cluster",
                 "selector": {NAME_LABEL: CHART_NAME, CATEGORY_LABEL: "chain", INSTANCE_LABEL: chain.instance}},
        "status": {"loadBalancer": {}}
    })
}

/// `<fullname>-scripts`: the chain entrypoint (an outline of the chart's: fetch genesis from
/// the genesis-server, 30 tries 2 s apart, then launch the node in a restart loop). Its
/// genesis URL names `cryptomeria-genesis-server` literally, as the chart's does.
pub fn scripts_configmap(ns: &str, rel: &Release) -> Value {
    json!({
        "metadata": helm_meta(&rel.scripts(), ns, rel, helm_labels(json!({}))),
        "data": {"entrypoint-chain.sh": ENTRYPOINT_OUTLINE}
    })
}

const ENTRYPOINT_OUTLINE: &str = r##"#!/usr/bin/env bash
set -e
CHAIN_ID=${CHAIN_INSTANCE_NAME}
CHAIN_HOME="/home/$CHAIN_APP_NAME/.$CHAIN_APP_NAME"
CHAIN_BINARY="${CHAIN_APP_NAME}d"
GENESIS_URL="http://cryptomeria-genesis-server/${CHAIN_ID}.json"
if [ ! -f "$CHAIN_HOME/init_complete_v5" ]; then
    COUNT=0
    while [ $COUNT -lt 30 ]; do
        curl -s -f -o "$CHAIN_HOME/config/genesis.json" "$GENESIS_URL" && break
        echo "⏳ Waiting for Genesis Server... ($COUNT/30)"
        sleep 2
        COUNT=$((COUNT+1))
    done
    touch "$CHAIN_HOME/init_complete_v5"
fi
while true; do
    $CHAIN_BINARY start --home $CHAIN_HOME --log_level error --log_format json &
    PID=$!
    wait $PID
    sleep 1
done
"##;

/// `<fullname>-genesis-script`: `generate.sh`, run by the genesis-server's init containers
/// (an outline of the chart's).
pub fn genesis_script_configmap(ns: &str, rel: &Release) -> Value {
    json!({
        "metadata": helm_meta(&rel.genesis_script(), ns, rel, helm_labels(json!({}))),
        "data": {"generate.sh": GENERATE_OUTLINE}
    })
}

const GENERATE_OUTLINE: &str = r##"#!/bin/sh
set -e
# per chain: init, denom uatom, genesis accounts local-admin 1000000000000uatom and
# relayer 1000000000uatom, gentx, collect-gentxs, block max_bytes 104857600, gwc set-admin;
# writes /shared/<chain-id>.json and /shared/<chain-id>-priv_validator_key.json
"##;

/// The faucet's ConfigMap (`templates/faucet/configmap.yaml`: no chart labels).
pub const FAUCET_CONFIGMAP: &str = "faucet-config";

pub fn faucet_configmap(ns: &str, rel: &Release) -> Value {
    json!({"metadata": helm_meta(FAUCET_CONFIGMAP, ns, rel, json!({})), "data": {"config.js": FAUCET_CONFIG_JS}})
}

const FAUCET_CONFIG_JS: &str = r##"export default {
    port: 4500,
    blockchain: { rpc_endpoint: "http://cryptomeria-gwc:26657" },
    sender: { mnemonic: "MNEMONIC_PLACEHOLDER", option: { prefix: "cosmos" } },
    tx: { amount: { denom: "uatom", amount: "10000000" },
          fee: { amount: [{ amount: "2000", denom: "uatom" }], gas: "200000" } },
    limit: { address: 100, ip: 100 }
}
"##;

/// The mnemonics Secret; `data` holds base64 values as a real Secret does.
pub fn mnemonics_secret(ns: &str, rel: &Release, entries: &[(String, String)]) -> Value {
    use base64::Engine as _;
    let data: serde_json::Map<String, Value> = entries
        .iter()
        .map(|(k, v)| (k.clone(), json!(base64::engine::general_purpose::STANDARD.encode(v))))
        .collect();
    json!({"metadata": helm_meta(&rel.mnemonics(), ns, rel, helm_labels(json!({}))),
           "type": "Opaque", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_statefulset_is_shaped_as_the_chart_renders_it() {
        let sts = chain_statefulset(&Chain::fdsc(&Release::default(), 1), "cryptomeria");
        let labels = &sts["metadata"]["labels"];
        assert_eq!(labels["helm.sh/chart"], "cryptomeria-0.1.0");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm");
        assert_eq!(labels[INSTANCE_LABEL], "fdsc-1");
        let selector = &sts["spec"]["selector"]["matchLabels"];
        assert_eq!(
            *selector,
            json!({NAME_LABEL: CHART_NAME, COMPONENT_LABEL: "fdsc", INSTANCE_LABEL: "fdsc-1"})
        );
        assert_eq!(sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"], "data");
        let container = &sts["spec"]["template"]["spec"]["containers"][0];
        let env: Vec<(&str, &str)> = container["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["name"].as_str().unwrap(), e["value"].as_str().unwrap()))
            .collect();
        assert_eq!(env, [("CHAIN_APP_NAME", "fdsc"), ("CHAIN_INSTANCE_NAME", "fdsc-1"), ("DENOM", "uatom")]);
        assert_eq!(container["volumeMounts"][0], json!({"name": "data", "mountPath": "/home/fdsc/.fdsc"}));
    }

    #[test]
    fn another_release_renames_what_the_chart_derives_from_its_fullname_only() {
        let lab = Release::new("lab");
        let sts = chain_statefulset(&Chain::gwc(&lab), "cryptomeria");
        assert_eq!(sts["metadata"]["name"], "lab-cryptomeria-gwc");
        assert_eq!(sts["metadata"]["annotations"]["meta.helm.sh/release-name"], "lab");
        assert_eq!(sts["spec"]["serviceName"], "lab-cryptomeria-chain-headless");
        let pod = &sts["spec"]["template"]["spec"];
        assert_eq!(
            (&pod["hostname"], &pod["subdomain"]),
            (&json!("lab-cryptomeria-gwc-0"), &json!("lab-cryptomeria-chain-headless"))
        );
        assert_eq!(pod["volumes"][1]["secret"]["secretName"], "lab-cryptomeria-mnemonics");
        // Labels carry the chart's name, not the release's.
        assert_eq!(sts["spec"]["selector"]["matchLabels"][NAME_LABEL], "cryptomeria");
        // The faucet's Secret name is literal in the chart.
        let faucet = faucet_deployment("cryptomeria", &lab);
        let env = &faucet["spec"]["template"]["spec"]["containers"][0]["env"][0];
        assert_eq!(env["valueFrom"]["secretKeyRef"]["name"], "cryptomeria-mnemonics");
    }

    #[test]
    fn the_headless_service_and_the_faucet_follow_the_chart() {
        let headless = headless_service("cryptomeria", &Release::default());
        assert!(headless["spec"].get("publishNotReadyAddresses").is_none());
        let faucet = faucet_deployment("cryptomeria", &Release::default());
        let container = &faucet["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["env"][0]["valueFrom"]["secretKeyRef"],
            json!({"name": "cryptomeria-mnemonics", "key": "gwc.local-admin.mnemonic"})
        );
        assert_eq!(faucet["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"], "faucet-config");
    }
}
