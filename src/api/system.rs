//! Layer 1 reads served from the cache: `/system/status`, `/system/ports`, `/system/topology`.
//! Chain heights in status are the one live part: best-effort RPC calls, concurrent, each
//! with a short timeout; a silent chain shows an `error`, it never fails the response.

use super::error::ApiError;
use crate::app::AppState;
use crate::cache::NamespaceCache;
use crate::cache::views::{self, ChainTopology, EndpointSet, EndpointsSummary, NamedPort, PodSummary};
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status)).routes(routes!(ports)).routes(routes!(topology))
}

/// The cache of the configured namespace (always watched).
pub(super) fn namespace_cache(state: &AppState) -> Result<&NamespaceCache, ApiError> {
    state
        .cache
        .namespace(&state.settings.namespace)
        .ok_or_else(|| ApiError::internal(format!("namespace {} is not watched", state.settings.namespace)))
}

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
    /// The relayer pod is Running and Ready (whether `rly start` runs is a job's concern).
    pub running: bool,
    pub hint: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainHeight {
    /// The API's key for the chain: the pod's instance label.
    pub chain_id: String,
    /// What the node itself reports as its chain id (`node_info.network`).
    pub network: Option<String>,
    pub latest_height: Option<String>,
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
    pub pods: Vec<StatusPod>,
    pub services: Vec<StatusService>,
    pub relayer: RelayerStatus,
    pub chains: Vec<ChainHeight>,
}

/// Health summary: pods, services, relayer pod, chain heights.
#[utoipa::path(get, path = "/status", tag = "system", responses(
    (status = 200, description = "OK", body = super::Success<SystemStatus>),
    (status = 500, description = "internal error, in the error envelope", body = super::error::ErrorEnvelope),
))]
async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(super::ok(system_status(&state).await?))
}

/// What `/system/status` answers (also a section of the resource snapshot).
pub(super) async fn system_status(state: &AppState) -> Result<SystemStatus, ApiError> {
    let cache = namespace_cache(state)?;
    status_of(state, cache.pods.state(), cache.services.state()).await
}

/// The status page of these pods and services, wherever they were read from (the cache here;
/// `bench` measures a per-request LIST through the same function).
pub async fn status_of(
    state: &AppState,
    pods: Vec<Arc<k8s_openapi::api::core::v1::Pod>>,
    services: Vec<Arc<k8s_openapi::api::core::v1::Service>>,
) -> Result<SystemStatus, ApiError> {
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
    let relayer = views::relayer_pod(&pods, &state.settings.release);
    let relayer = RelayerStatus {
        pod: relayer.and_then(|p| p.metadata.name.clone()),
        running: relayer.is_some_and(|p| views::phase(p) == "Running" && views::is_ready(p)),
        hint: "pod state only; rly process and IBC readiness: run /system/start or /system/preflight".into(),
    };
    let chains = chain_heights(state, &pods, &services).await;
    Ok(SystemStatus {
        namespace: state.settings.namespace.clone(),
        timestamp: jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .map_or_else(|_| String::new(), |t| t.to_string()),
        pods: pod_rows,
        services: service_rows,
        relayer,
        chains,
    })
}

/// Asks every chain's RPC for its status at once; each answer or error stands alone.
async fn chain_heights(
    state: &AppState,
    pods: &[Arc<k8s_openapi::api::core::v1::Pod>],
    services: &[Arc<k8s_openapi::api::core::v1::Service>],
) -> Vec<ChainHeight> {
    let node_host = state.directory.node_host().0;
    let calls = views::chain_pods(pods).into_iter().filter_map(|pod| {
        let chain_id = pod.metadata.labels.as_ref()?.get(views::INSTANCE_LABEL)?.clone();
        let rpc = views::chain_service(services, &chain_id)
            .and_then(|svc| views::chain_endpoints(svc, node_host.as_deref()).0.rpc);
        let (http, timeout) = (state.http.clone(), state.settings.timeouts.chain_status_timeout);
        let memo = state.chain_status.clone();
        Some(async move {
            let mut row = ChainHeight {
                chain_id,
                network: None,
                latest_height: None,
                latest_block_time: None,
                catching_up: None,
                error: None,
            };
            match rpc {
                None => row.error = Some("no NodePort rpc endpoint resolved for this chain".into()),
                Some(url) => match memo.status(&http, &url, timeout).await {
                    Ok(s) => {
                        row.network = Some(s.network);
                        row.latest_height = Some(s.latest_height.to_string());
                        row.latest_block_time = Some(s.latest_block_time);
                        row.catching_up = Some(s.catching_up);
                    }
                    Err(e) => row.error = Some(e),
                },
            }
            row
        })
    });
    futures::future::join_all(calls).await
}

/// Where NodePorts are reached, and how that was decided.

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainPorts {
    pub chain_id: String,
    pub service: String,
    pub external: EndpointSet,
    pub internal: EndpointSet,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortsView {
    pub namespace: String,
    pub node_host: Option<String>,
    /// `config` (NODE_HOST), `nodeInternalIP` or `kubeconfigServer`.
    pub node_host_source: String,
    pub chains: Vec<ChainPorts>,
}

/// Connection endpoints per chain: NodePort URLs outside the cluster, Service DNS inside.
#[utoipa::path(get, path = "/ports", tag = "system", responses((status = 200, description = "OK", body = super::Success<PortsView>)))]
async fn ports(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(super::ok(ports_view(&state)?))
}

/// What `/system/ports` answers (also a section of the resource snapshot).
pub(super) fn ports_view(state: &AppState) -> Result<PortsView, ApiError> {
    let cache = namespace_cache(state)?;
    let (host, source) = state.directory.node_host();
    let services = cache.services.state();
    let mut instances: Vec<String> = services
        .iter()
        .filter(|s| s.spec.as_ref().and_then(|sp| sp.type_.as_deref()) == Some("NodePort"))
        .filter_map(|s| s.metadata.labels.as_ref()?.get(views::INSTANCE_LABEL).cloned())
        .collect();
    instances.sort_by_key(|i| views::chain_order(i));
    let chains = instances
        .into_iter()
        .filter_map(|id| {
            let svc = views::chain_service(&services, &id)?;
            let (external, internal) = views::chain_endpoints(svc, host.as_deref());
            Some(ChainPorts {
                chain_id: id,
                service: svc.metadata.name.clone().unwrap_or_default(),
                external,
                internal,
            })
        })
        .collect();
    Ok(PortsView {
        namespace: state.settings.namespace.clone(),
        node_host: host,
        node_host_source: source.into(),
        chains,
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Topology {
    pub namespace: String,
    pub chains: Vec<ChainTopology>,
    pub relayer: Option<PodSummary>,
    /// Endpoints of the headless Service behind the pods' DNS names.
    pub headless: Option<EndpointsSummary>,
}

/// Chain pod ↔ Service ↔ ports ↔ Endpoints, per chain.
#[utoipa::path(get, path = "/topology", tag = "system", responses((status = 200, description = "OK", body = super::Success<Topology>)))]
async fn topology(State(state): State<AppState>) -> Result<Response, ApiError> {
    let cache = namespace_cache(&state)?;
    let (pods, services, endpoints) = (cache.pods.state(), cache.services.state(), cache.endpoints.state());
    let endpoints_named = |name: &str| endpoints.iter().find(|e| e.metadata.name.as_deref() == Some(name));
    let mut ids: Vec<String> = views::chain_pods(&pods)
        .iter()
        .filter_map(|p| p.metadata.labels.as_ref()?.get(views::INSTANCE_LABEL).cloned())
        .chain(
            services.iter().filter_map(|s| s.metadata.labels.as_ref()?.get(views::INSTANCE_LABEL).cloned()),
        )
        .collect();
    ids.sort_by_key(|i| views::chain_order(i));
    ids.dedup();
    let chains = ids
        .iter()
        .map(|id| {
            let pod = views::chain_pods(&pods)
                .into_iter()
                .find(|p| p.metadata.labels.as_ref().and_then(|l| l.get(views::INSTANCE_LABEL)) == Some(id));
            let svc = views::chain_service(&services, id);
            let eps = svc.and_then(|s| endpoints_named(s.metadata.name.as_deref().unwrap_or_default()));
            views::chain_topology(
                id,
                pod.map(|p| p.as_ref()),
                svc.map(|s| s.as_ref()),
                eps.map(|e| e.as_ref()),
            )
        })
        .collect();
    Ok(super::ok(Topology {
        namespace: state.settings.namespace.clone(),
        chains,
        relayer: views::relayer_pod(&pods, &state.settings.release).map(|p| views::pod_summary(p)),
        headless: endpoints_named(views::HEADLESS_SERVICE).map(|e| views::endpoints_summary(e)),
    }))
}
