//! `GET /chains`: every chain with its endpoints by mode, ports, labels and source, from one
//! directory snapshot.

use crate::api::error::{ApiError, ErrorEnvelope};
use crate::api::extract::ApiQuery;
use crate::app::AppState;
use crate::chain::endpoints::{ChainEndpoints, Mode};
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

use crate::cache::directory::Snapshot;

// ----- GET /chains ----------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `external` (NodePort), `internal` (cluster DNS) or `auto` (default).
    mode: Option<Mode>,
    /// Comma list of `endpoints`, `ports`, `meta`, `network`; default all. `network` asks
    /// each node (memoized, short timeout); leave it out for a pure cache read.
    include: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainMeta {
    pub component: Option<String>,
    pub instance: Option<String>,
    /// `k8s.service.nodeport`, `k8s.service.dns` or `config`.
    pub source: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainSummary {
    /// The API's key: the pod's instance label (or the configured id).
    pub chain_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<ChainEndpoints>,
    /// Container ports by name (`rpc` 26657, `api` 1317, `grpc` 9090).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ports: Option<BTreeMap<String, i32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<ChainMeta>,
    /// What the node reports as its chain id (`node_info.network`); null when unreachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Option<String>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainList {
    /// The mode the endpoints are for, `auto` made concrete.
    pub mode: Mode,
    pub items: Vec<ChainSummary>,
}

const INCLUDE_PARTS: [&str; 4] = ["endpoints", "ports", "meta", "network"];

/// The chains and where to reach them.
#[utoipa::path(get, operation_id = "chains_list_chains", path = "/", tag = "chains", params(ListQuery), responses(
    (status = 200, description = "OK", body = crate::api::Success<ChainList>),
    (status = 422, description = "invalid mode or include, in the error envelope", body = ErrorEnvelope),
    (status = 500, description = "the cache is not available, in the error envelope", body = ErrorEnvelope),
))]
pub(super) async fn list_chains(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let include: Vec<&str> = match &q.include {
        None => INCLUDE_PARTS.to_vec(),
        Some(list) => list.split(',').map(str::trim).filter(|p| !p.is_empty()).collect(),
    };
    if include.iter().any(|p| !INCLUDE_PARTS.contains(p)) {
        return Err(ApiError::validation(
            "include",
            format!("unknown part; use {}", INCLUDE_PARTS.join(", ")),
        ));
    }
    let mode = q.mode.unwrap_or_default();
    let directory = state.directory.snapshot();
    let ids = directory.chain_ids();
    let networks: Vec<Option<Option<String>>> = if include.contains(&"network") {
        futures::future::join_all(ids.iter().map(|id| reported_network(&state, &directory, id)))
            .await
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None; ids.len()]
    };
    let items = ids
        .into_iter()
        .zip(networks)
        .map(|(id, network)| {
            let r = directory.resolve(&id, mode)?;
            Ok(ChainSummary {
                network,
                endpoints: include.contains(&"endpoints").then_some(r.endpoints),
                ports: if include.contains(&"ports") { r.ports } else { None },
                meta: include.contains(&"meta").then(|| ChainMeta {
                    component: r.component,
                    instance: r.instance,
                    source: r.source.as_str().into(),
                }),
                chain_id: id,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(crate::api::ok(ChainList { mode: mode.effective(state.directory.in_cluster()), items }))
}

/// The node's own chain id through the BFF's endpoint, from the status memo; `None` when
/// the node cannot be asked.
pub(super) async fn reported_network(
    state: &AppState,
    directory: &Snapshot<'_>,
    chain_id: &str,
) -> Option<String> {
    let rpc_url = directory.upstream(chain_id, "rpc").ok()?;
    state.chain_status.status(&rpc_url).await.ok().map(|s| s.network)
}
