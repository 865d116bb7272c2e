//! `/system/status`: the release's pods, services and relayer pod from the cache, and each
//! chain's height. The heights are the one live part: best-effort RPC calls, concurrent, each
//! memoised briefly with a short timeout; a silent chain shows an `error`, it never fails the page.

use super::Reads;
use crate::cache::views::{self, NamedPort};
use crate::sync::Locked;
use k8s_openapi::api::core::v1::{Pod, Service};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusPod {
    pub name: String,
    pub component: Option<String>,
    pub instance: Option<String>,
    pub phase: String,
    pub ready: bool,
    pub restarts: i32,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusService {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    /// Named ports (`rpc`, `api`, `grpc`, …) with their NodePorts.
    pub ports: BTreeMap<String, NamedPort>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelayerStatus {
    pub pod: Option<String>,
    /// The relayer pod is Running and Ready.
    pub pod_ready: bool,
    /// `rly start` as last observed in the pod (`null`: never observed since the BFF started
    /// or the pod changed); see `observedAt` for how old that is.
    pub running: Option<bool>,
    pub observed_at: Option<String>,
    pub observation_age_seconds: Option<f64>,
    pub hint: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainHeight {
    /// The API's key for the chain: the pod's instance label.
    pub chain_id: String,
    /// What the node itself reports as its chain id (`node_info.network`).
    pub network: Option<String>,
    pub latest_height: Option<u64>,
    pub latest_block_time: Option<String>,
    pub catching_up: Option<bool>,
    /// Why the height is missing, when it is.
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemStatus {
    pub namespace: String,
    pub timestamp: String,
    /// Serialized once per cache generation (`Rows`).
    #[schema(value_type = Vec<StatusPod>)]
    pub pods: Arc<RawValue>,
    #[schema(value_type = Vec<StatusService>)]
    pub services: Arc<RawValue>,
    pub relayer: RelayerStatus,
    pub chains: Vec<ChainHeight>,
}

/// What the page derives from the cached pods and services, kept per cache generation: with
/// thousands of pods, serializing the rows and scanning the pods for the relayer and the
/// chains are most of the page's cost, and they change only when the cache does.
#[derive(Clone, Default)]
pub struct Rows(Arc<Mutex<Option<PartsAt>>>);

struct PartsAt {
    generation: u64,
    node_host: Option<String>,
    parts: Parts,
}

#[derive(Clone)]
struct Parts {
    pods: Arc<RawValue>,
    services: Arc<RawValue>,
    /// The relayer pod's name, and whether it is Running and Ready.
    relayer: Option<(String, bool)>,
    /// Each chain pod's chain id and its RPC endpoint, in the page's order.
    chains: Arc<[(String, Option<String>)]>,
}

impl Rows {
    fn get(&self, generation: u64, node_host: &Option<String>) -> Option<Parts> {
        let memo = self.0.locked();
        memo.as_ref()
            .filter(|r| r.generation == generation && r.node_host == *node_host)
            .map(|r| r.parts.clone())
    }

    fn put(&self, generation: u64, node_host: Option<String>, parts: Parts) {
        *self.0.locked() = Some(PartsAt { generation, node_host, parts });
    }
}

/// The status page from the cache (also a section of the resource snapshot).
pub async fn system_status(reads: &Reads) -> SystemStatus {
    // The generation is read before the snapshot: parts stored under it are never older than it.
    let generation = *reads.cache.changed().borrow();
    let node_host = reads.directory.node_host().0;
    let parts = match reads.status_rows.get(generation, &node_host) {
        Some(parts) => parts,
        None => {
            let directory = reads.directory.snapshot();
            let parts = parts(reads, &directory.pods, &directory.services, node_host.as_deref());
            reads.status_rows.put(generation, node_host, parts.clone());
            parts
        }
    };
    page(reads, parts).await
}

fn raw<T: Serialize>(rows: &T) -> Arc<RawValue> {
    let text = serde_json::to_string(rows).unwrap_or_else(|_| "[]".into());
    Arc::from(RawValue::from_string(text).unwrap_or_else(|_| RawValue::NULL.to_owned()))
}

/// The page's parts from these pods and services.
fn parts(reads: &Reads, pods: &[Arc<Pod>], services: &[Arc<Service>], node_host: Option<&str>) -> Parts {
    let mut pod_rows: Vec<StatusPod> = pods
        .iter()
        .map(|p| {
            let s = views::pod_summary(p);
            StatusPod {
                name: s.name,
                component: s.component,
                instance: s.instance,
                phase: s.phase,
                ready: s.ready,
                restarts: s.restarts,
            }
        })
        .collect();
    pod_rows.sort_by(|a, b| a.name.cmp(&b.name));
    let mut service_rows: Vec<StatusService> = services
        .iter()
        .map(|s| StatusService {
            name: s.metadata.name.clone().unwrap_or_default(),
            type_: s.spec.as_ref().and_then(|sp| sp.type_.clone()).unwrap_or_else(|| "ClusterIP".into()),
            ports: views::named_ports(s),
        })
        .collect();
    service_rows.sort_by(|a, b| a.name.cmp(&b.name));
    let relayer = views::relayer_pod(pods, &reads.release).and_then(|p| {
        let ready = views::phase(p) == "Running" && views::is_ready(p);
        Some((p.metadata.name.clone()?, ready))
    });
    let chains = views::chain_pods(pods)
        .into_iter()
        .filter_map(|pod| {
            let chain_id = pod.metadata.labels.as_ref()?.get(crate::chart::INSTANCE_LABEL)?.clone();
            let rpc = views::chain_service(services, &chain_id)
                .and_then(|svc| views::chain_endpoints(svc, node_host).0.rpc);
            Some((chain_id, rpc))
        })
        .collect();
    Parts { pods: raw(&pod_rows), services: raw(&service_rows), relayer, chains }
}

/// The status page of these pods and services, wherever they were read from (`bench`
/// measures a per-request LIST through it against the cached route).
pub async fn status_of(reads: &Reads, pods: Vec<Arc<Pod>>, services: Vec<Arc<Service>>) -> SystemStatus {
    let node_host = reads.directory.node_host().0;
    page(reads, parts(reads, &pods, &services, node_host.as_deref())).await
}

async fn page(reads: &Reads, parts: Parts) -> SystemStatus {
    let now = jiff::Timestamp::now();
    let pod = parts.relayer.as_ref().map(|(name, _)| name.clone());
    // The last IBC observation's probe, if it saw this very pod.
    let observed = reads.ibc_memo.last_relayer().filter(|r| r.pod.is_some() && r.pod == pod);
    let relayer = RelayerStatus {
        pod,
        pod_ready: parts.relayer.as_ref().is_some_and(|(_, ready)| *ready),
        running: observed.as_ref().and_then(|r| r.running),
        observed_at: observed.as_ref().and_then(|r| r.observed_at.clone()),
        observation_age_seconds: observed.as_ref().and_then(|r| r.observed_at.as_deref()).and_then(|t| {
            let at: jiff::Timestamp = t.parse().ok()?;
            Some(now.duration_since(at).as_secs_f64().max(0.0))
        }),
        hint: "relaying, paths, clients and unrelayed packets: GET /api/v1/system/ibc".into(),
    };
    SystemStatus {
        namespace: reads.namespace.clone(),
        timestamp: now.round(jiff::Unit::Second).map_or_else(|_| String::new(), |t| t.to_string()),
        pods: parts.pods,
        services: parts.services,
        relayer,
        chains: chain_heights(reads, &parts.chains).await,
    }
}

/// Each chain's height from the status memo; only chains never read yet are asked, at once.
/// Each answer or error stands alone.
async fn chain_heights(reads: &Reads, chains: &[(String, Option<String>)]) -> Vec<ChainHeight> {
    let memo = &reads.chain_status;
    let calls = chains.iter().map(|(chain_id, rpc)| async move {
        let mut row = ChainHeight {
            chain_id: chain_id.clone(),
            network: None,
            latest_height: None,
            latest_block_time: None,
            catching_up: None,
            error: None,
        };
        let Some(url) = rpc else {
            row.error = Some("no NodePort rpc endpoint resolved for this chain".into());
            return row;
        };
        let answer = match memo.memoized(url) {
            Some(answer) => answer,
            None => memo.status(url).await,
        };
        match answer {
            Ok(s) => {
                row.network = Some(s.network);
                row.latest_height = Some(s.latest_height);
                row.latest_block_time = Some(s.latest_block_time);
                row.catching_up = Some(s.catching_up);
            }
            Err(e) => row.error = Some(e),
        }
        row
    });
    futures::future::join_all(calls).await
}
