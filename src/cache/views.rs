//! Pure projections of cached objects into what the API returns. No I/O, no kube client:
//! plain functions over `k8s-openapi` types, unit-tested below.

use crate::chart::{CATEGORY_LABEL, COMPONENT_LABEL, INSTANCE_LABEL};
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Pod, Service};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodSummary {
    pub name: String,
    pub namespace: String,
    pub component: Option<String>,
    pub instance: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub phase: String,
    pub ready: bool,
    pub restarts: i32,
    pub node: Option<String>,
    pub pod_ip: Option<String>,
    pub start_time: Option<String>,
}

fn label(labels: Option<&BTreeMap<String, String>>, key: &str) -> Option<String> {
    labels.and_then(|l| l.get(key)).cloned()
}

pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub fn phase(pod: &Pod) -> String {
    pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into())
}

pub fn pod_summary(pod: &Pod) -> PodSummary {
    let labels = pod.metadata.labels.as_ref();
    let status = pod.status.as_ref();
    PodSummary {
        name: pod.metadata.name.clone().unwrap_or_default(),
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        component: label(labels, COMPONENT_LABEL),
        instance: label(labels, INSTANCE_LABEL),
        labels: labels.cloned().unwrap_or_default(),
        phase: phase(pod),
        ready: is_ready(pod),
        restarts: status
            .and_then(|s| s.container_statuses.as_ref())
            .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum()),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        pod_ip: status.and_then(|s| s.pod_ip.clone()),
        start_time: status.and_then(|s| s.start_time.as_ref()).map(|t| t.0.to_string()),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServicePortSummary {
    pub name: Option<String>,
    pub port: i32,
    pub node_port: Option<i32>,
    pub protocol: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSummary {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(rename = "clusterIP")]
    pub cluster_ip: Option<String>,
    pub ports: Vec<ServicePortSummary>,
    pub selector: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

pub fn service_summary(svc: &Service) -> ServiceSummary {
    let spec = svc.spec.as_ref();
    ServiceSummary {
        name: svc.metadata.name.clone().unwrap_or_default(),
        type_: spec.and_then(|s| s.type_.clone()).unwrap_or_else(|| "ClusterIP".into()),
        cluster_ip: spec.and_then(|s| s.cluster_ip.clone()),
        ports: spec
            .and_then(|s| s.ports.as_ref())
            .into_iter()
            .flatten()
            .map(|p| ServicePortSummary {
                name: p.name.clone(),
                port: p.port,
                node_port: p.node_port,
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            })
            .collect(),
        selector: spec.and_then(|s| s.selector.clone()).unwrap_or_default(),
        labels: svc.metadata.labels.clone().unwrap_or_default(),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointAddress {
    pub ip: String,
    /// The pod behind the address, when the Endpoints name one.
    pub pod: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointsSummary {
    pub name: String,
    pub ready: Vec<EndpointAddress>,
    pub not_ready: Vec<EndpointAddress>,
    pub ports: Vec<ServicePortSummary>,
}

pub fn endpoints_summary(ep: &Endpoints) -> EndpointsSummary {
    let addresses =
        |list: Option<&Vec<k8s_openapi::api::core::v1::EndpointAddress>>| -> Vec<EndpointAddress> {
            list.into_iter()
                .flatten()
                .map(|a| EndpointAddress {
                    ip: a.ip.clone(),
                    pod: a.target_ref.as_ref().and_then(|r| r.name.clone()),
                })
                .collect()
        };
    let subsets = ep.subsets.as_deref().unwrap_or_default();
    EndpointsSummary {
        name: ep.metadata.name.clone().unwrap_or_default(),
        ready: subsets.iter().flat_map(|s| addresses(s.addresses.as_ref())).collect(),
        not_ready: subsets.iter().flat_map(|s| addresses(s.not_ready_addresses.as_ref())).collect(),
        ports: subsets
            .iter()
            .flat_map(|s| s.ports.iter().flatten())
            .map(|p| ServicePortSummary {
                name: p.name.clone(),
                port: p.port,
                node_port: None,
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            })
            .collect(),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ConfigMapSummary {
    pub name: String,
    /// Key names only: ConfigMap data is never returned.
    pub keys: Vec<String>,
}

pub fn configmap_summary(cm: &ConfigMap) -> ConfigMapSummary {
    let mut keys: Vec<String> = cm.data.iter().flat_map(|d| d.keys().cloned()).collect();
    keys.extend(cm.binary_data.iter().flat_map(|d| d.keys().cloned()));
    keys.sort();
    ConfigMapSummary { name: cm.metadata.name.clone().unwrap_or_default(), keys }
}

/// The relayer pod: by component label, else by its Deployment's name as prefix (the chart
/// names the Deployment `<fullname>-relayer`).
pub fn relayer_pod<'a>(pods: &'a [Arc<Pod>], release: &str) -> Option<&'a Arc<Pod>> {
    let by_label = pods
        .iter()
        .find(|p| label(p.metadata.labels.as_ref(), COMPONENT_LABEL).as_deref() == Some("relayer"));
    let prefix = format!("{}-", crate::chart::relayer_workload(release));
    by_label
        .or_else(|| pods.iter().find(|p| p.metadata.name.as_deref().is_some_and(|n| n.starts_with(&prefix))))
}

/// Chain pods (category=chain), ordered gwc, mdsc, then fdsc-0, fdsc-1, … by instance.
pub fn chain_pods(pods: &[Arc<Pod>]) -> Vec<&Arc<Pod>> {
    let mut chains: Vec<&Arc<Pod>> = pods
        .iter()
        .filter(|p| label(p.metadata.labels.as_ref(), CATEGORY_LABEL).as_deref() == Some("chain"))
        .filter(|p| label(p.metadata.labels.as_ref(), INSTANCE_LABEL).is_some())
        .collect();
    chains
        .sort_by_key(|p| chain_order(&label(p.metadata.labels.as_ref(), INSTANCE_LABEL).unwrap_or_default()));
    chains
}

/// Sort key: gwc first, mdsc second, then data chains by number, then anything else by name.
pub fn chain_order(instance: &str) -> (u8, u64, String) {
    match instance {
        "gwc" => (0, 0, String::new()),
        "mdsc" => (1, 0, String::new()),
        other => match other.strip_prefix("fdsc-").and_then(|n| n.parse().ok()) {
            Some(n) => (2, n, String::new()),
            None => (3, 0, other.to_string()),
        },
    }
}

/// The NodePort Service of a chain instance (label `app.kubernetes.io/instance`).
pub fn chain_service<'a>(services: &'a [Arc<Service>], instance: &str) -> Option<&'a Arc<Service>> {
    services.iter().find(|s| {
        label(s.metadata.labels.as_ref(), INSTANCE_LABEL).as_deref() == Some(instance)
            && s.spec.as_ref().and_then(|sp| sp.type_.as_deref()) == Some("NodePort")
    })
}

/// `{port, nodePort}` per named chain port.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NamedPort {
    pub port: i32,
    pub node_port: Option<i32>,
}

pub fn named_ports(svc: &Service) -> BTreeMap<String, NamedPort> {
    svc.spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p.name.clone()?, NamedPort { port: p.port, node_port: p.node_port })))
        .collect()
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct EndpointSet {
    pub rpc: Option<String>,
    pub api: Option<String>,
    pub grpc: Option<String>,
}

impl From<EndpointSet> for crate::chain::endpoints::ChainEndpoints {
    fn from(set: EndpointSet) -> Self {
        let EndpointSet { rpc, api, grpc } = set;
        Self { rpc, api, grpc }
    }
}

/// External (`http://nodeHost:nodePort`, grpc as `host:port`) and internal
/// (`http://<service>:<port>`) endpoints of a chain Service.
pub fn chain_endpoints(svc: &Service, node_host: Option<&str>) -> (EndpointSet, EndpointSet) {
    let ports = named_ports(svc);
    let name = svc.metadata.name.clone().unwrap_or_default();
    let url = |scheme: bool, host: &str, port: i32| {
        if scheme { format!("http://{host}:{port}") } else { format!("{host}:{port}") }
    };
    let external = |n: &str| {
        let p = ports.get(n)?;
        Some(url(n != "grpc", node_host?, p.node_port?))
    };
    let internal = |n: &str| ports.get(n).map(|p| url(n != "grpc", &name, p.port));
    (
        EndpointSet { rpc: external("rpc"), api: external("api"), grpc: external("grpc") },
        EndpointSet { rpc: internal("rpc"), api: internal("api"), grpc: internal("grpc") },
    )
}

/// One chain as the topology shows it: pod ↔ Service ↔ ports ↔ Endpoints.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChainTopology {
    pub chain_id: String,
    pub component: Option<String>,
    pub pod: Option<PodSummary>,
    /// Stable in-cluster DNS name of the pod via the headless Service.
    pub pod_dns: Option<String>,
    pub service: Option<String>,
    pub ports: BTreeMap<String, NamedPort>,
    pub endpoints: Option<EndpointsSummary>,
}

pub fn chain_topology(
    release: &str,
    instance: &str,
    pod: Option<&Pod>,
    service: Option<&Service>,
    endpoints: Option<&Endpoints>,
) -> ChainTopology {
    let pod_summary = pod.map(pod_summary);
    ChainTopology {
        chain_id: instance.to_string(),
        component: pod_summary.as_ref().and_then(|p| p.component.clone()),
        pod_dns: pod_summary
            .as_ref()
            .map(|p| format!("{}.{}", p.name, crate::chart::headless_service(release))),
        pod: pod_summary,
        service: service.and_then(|s| s.metadata.name.clone()),
        ports: service.map(named_ports).unwrap_or_default(),
        endpoints: endpoints.map(endpoints_summary),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mk_pod(name: &str, labels: serde_json::Value, ready: bool) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "ns", "labels": labels},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}],
                           "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": ready, "restartCount": 2}]}
            }))
            .unwrap(),
        )
    }

    fn mk_service(name: &str, instance: &str) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {INSTANCE_LABEL: instance}},
            "spec": {"type": "NodePort", "ports": [
                {"name": "rpc", "port": 26657, "nodePort": 30007},
                {"name": "api", "port": 1317, "nodePort": 30003},
                {"name": "grpc", "port": 9090, "nodePort": 30000}]}
        }))
        .unwrap()
    }

    #[test]
    fn pod_summary_reads_labels_readiness_and_restarts() {
        let pod = mk_pod("p", json!({COMPONENT_LABEL: "gwc", INSTANCE_LABEL: "gwc"}), true);
        let s = pod_summary(&pod);
        assert_eq!(
            (s.component.as_deref(), s.instance.as_deref(), s.ready, s.restarts),
            (Some("gwc"), Some("gwc"), true, 2)
        );
    }

    #[test]
    fn relayer_pod_is_found_by_label_then_by_name_prefix() {
        let by_label = [mk_pod("x", json!({COMPONENT_LABEL: "relayer"}), true)];
        assert_eq!(relayer_pod(&by_label, "cryptomeria").unwrap().metadata.name.as_deref(), Some("x"));
        let by_name = [mk_pod("cryptomeria-relayer-abc-def", json!({}), true)];
        assert!(relayer_pod(&by_name, "cryptomeria").is_some());
        assert!(relayer_pod(&by_name, "other").is_none());
        // Release `lab` renders `lab-cryptomeria-relayer`.
        let lab = [mk_pod("lab-cryptomeria-relayer-abc-def", json!({}), true)];
        assert!(relayer_pod(&lab, "lab").is_some());
        assert!(relayer_pod(&lab, "cryptomeria").is_none());
    }

    #[test]
    fn chain_pods_are_ordered_gwc_mdsc_then_data_chains_numerically() {
        let pods: Vec<_> = ["fdsc-10", "fdsc-2", "mdsc", "gwc"]
            .iter()
            .map(|i| mk_pod(i, json!({CATEGORY_LABEL: "chain", INSTANCE_LABEL: i}), true))
            .collect();
        let order: Vec<_> = chain_pods(&pods).iter().map(|p| p.metadata.name.clone().unwrap()).collect();
        assert_eq!(order, ["gwc", "mdsc", "fdsc-2", "fdsc-10"]);
    }

    #[test]
    fn chain_endpoints_use_node_ports_outside_and_service_dns_inside() {
        let (ext, int) = chain_endpoints(&mk_service("cryptomeria-gwc", "gwc"), Some("10.0.0.5"));
        assert_eq!(ext.rpc.as_deref(), Some("http://10.0.0.5:30007"));
        assert_eq!(ext.grpc.as_deref(), Some("10.0.0.5:30000"));
        assert_eq!(int.api.as_deref(), Some("http://cryptomeria-gwc:1317"));
        assert_eq!(int.grpc.as_deref(), Some("cryptomeria-gwc:9090"));
        let (ext, _) = chain_endpoints(&mk_service("cryptomeria-gwc", "gwc"), None);
        assert_eq!(ext.rpc, None, "no nodeHost, no external URL");
    }

    #[test]
    fn configmap_summary_returns_keys_never_values() {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"b": "secret", "a": "x"}}))
                .unwrap();
        let s = configmap_summary(&cm);
        assert_eq!(s.keys, ["a", "b"]);
        assert!(!serde_json::to_string(&s).unwrap().contains("secret"));
    }
}
