//! Layer 2 (`/api/v1/chains`, SPEC §7): chain discovery from the cache (or fixed
//! configuration), reads shaped from CometBFT RPC / Cosmos REST with the upstream JSON under
//! `raw`, tx simulate/broadcast/decode/build, and block-time statistics. The work lives in
//! `crate::chain`; this file resolves the chain, validates input and shapes the answer.

use super::error::{ApiError, ErrorEnvelope};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::system::namespace_cache;
use crate::app::AppState;
use crate::cache::views;
use crate::chain::endpoints::{self, ChainEndpoints, Mode};
use crate::chain::{self, blocktime, rest, rpc, tx};
use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_chains))
        .routes(routes!(info))
        .routes(routes!(status))
        .routes(routes!(account))
        .routes(routes!(balances))
        .routes(routes!(mempool))
        .routes(routes!(latest_block))
        .routes(routes!(block))
        .routes(routes!(block_txs))
        .routes(routes!(tx_by_hash))
        .routes(routes!(simulate))
        .routes(routes!(broadcast))
        .routes(routes!(decode))
        .routes(routes!(build))
        .routes(routes!(blocktime))
}

// ----- resolution -----------------------------------------------------------------------------

/// One chain as discovery and configuration see it.
struct Resolved {
    endpoints: ChainEndpoints,
    source: endpoints::Source,
    component: Option<String>,
    instance: Option<String>,
    ports: Option<BTreeMap<String, i32>>,
}

/// Chain ids known to the cache (chain pods by instance label) and to the configuration.
pub(super) fn chain_ids(state: &AppState) -> Result<Vec<String>, ApiError> {
    let pods = namespace_cache(state)?.pods.state();
    let mut ids: Vec<String> = views::chain_pods(&pods)
        .iter()
        .filter_map(|p| p.metadata.labels.as_ref()?.get(views::INSTANCE_LABEL).cloned())
        .chain(state.settings.chains.fixed_endpoints.iter().map(|f| f.chain_id.clone()))
        .collect();
    ids.sort_by_key(|i| views::chain_order(i));
    ids.dedup();
    Ok(ids)
}

fn resolve(state: &AppState, chain_id: &str, mode: Mode) -> Result<Resolved, ApiError> {
    if !chain_ids(state)?.iter().any(|id| id == chain_id) {
        return Err(chain::Error::ChainNotFound(chain_id.to_string()).into());
    }
    let cache = namespace_cache(state)?;
    let (pods, services) = (cache.pods.state(), cache.services.state());
    let service = views::chain_service(&services, chain_id);
    let (endpoints, source) = state.chain_endpoints(chain_id, mode);
    let pod = views::chain_pods(&pods).into_iter().find(|p| {
        p.metadata.labels.as_ref().and_then(|l| l.get(views::INSTANCE_LABEL)).map(String::as_str)
            == Some(chain_id)
    });
    let label = |key: &str| pod.and_then(|p| p.metadata.labels.as_ref()?.get(key).cloned());
    Ok(Resolved {
        endpoints,
        source,
        component: label(views::COMPONENT_LABEL),
        instance: label(views::INSTANCE_LABEL),
        ports: service
            .map(|svc| views::named_ports(svc).into_iter().map(|(name, p)| (name, p.port)).collect()),
    })
}

/// The URL the BFF itself calls for `kind`, as `mode=auto` resolves it.
pub(super) fn upstream(state: &AppState, chain_id: &str, kind: &'static str) -> Result<String, ApiError> {
    let eps = resolve(state, chain_id, Mode::Auto)?.endpoints;
    let url = if kind == "rpc" { eps.rpc } else { eps.api };
    url.ok_or_else(|| chain::Error::NoEndpoint { chain: chain_id.to_string(), kind }.into())
}

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
    (status = 200, description = "OK", body = super::Success<ChainList>),
    (status = 422, description = "invalid mode or include, in the error envelope", body = ErrorEnvelope),
    (status = 500, description = "the cache is not available, in the error envelope", body = ErrorEnvelope),
))]
async fn list_chains(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let include: Vec<&str> = match &q.include {
        None => INCLUDE_PARTS.to_vec(),
        Some(list) => list.split(',').map(str::trim).filter(|p| !p.is_empty()).collect(),
    };
    if let Some(bad) = include.iter().find(|p| !INCLUDE_PARTS.contains(p)) {
        return Err(ApiError::validation(
            "include",
            format!("unknown part {bad}; use {}", INCLUDE_PARTS.join(", ")),
        ));
    }
    let mode = q.mode.unwrap_or_default();
    let ids = chain_ids(&state)?;
    let networks: Vec<Option<Option<String>>> = if include.contains(&"network") {
        futures::future::join_all(ids.iter().map(|id| reported_network(&state, id)))
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
            let r = resolve(&state, &id, mode)?;
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
    Ok(super::ok(ChainList { mode: mode.effective(state.in_cluster), items }))
}

/// The node's own chain id through the BFF's endpoint, from the status memo; `None` when
/// the node cannot be asked.
async fn reported_network(state: &AppState, chain_id: &str) -> Option<String> {
    let rpc_url = upstream(state, chain_id, "rpc").ok()?;
    let timeout = state.settings.timeouts.chain_status_timeout;
    state.chain_status.status(&state.http, &rpc_url, timeout).await.ok().map(|s| s.network)
}

// ----- reads ----------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub id: Option<String>,
    /// The chain id the node reports; may differ from the API's `chainId`.
    pub network: Option<String>,
    /// CometBFT version.
    pub version: Option<String>,
    pub moniker: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppVersion {
    /// The application's name (`abci_info.data`).
    pub name: Option<String>,
    pub version: Option<String>,
    /// The app protocol version (`abci_info.app_version`).
    pub protocol: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainInfo {
    pub chain_id: String,
    pub network: Option<String>,
    pub node_info: NodeInfo,
    pub app_version: AppVersion,
    /// `{status, abciInfo}` as the node answered.
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Node info and app version.
#[utoipa::path(get, operation_id = "chains_info", path = "/{chainId}/info", tag = "chains",
    params(("chainId" = String, Path, description = "chain id (instance label)")),
    responses(
        (status = 200, description = "OK", body = super::Success<ChainInfo>),
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn info(
    State(state): State<AppState>,
    ApiPath(chain_id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let rpc_url = upstream(&state, &chain_id, "rpc")?;
    let client = state.chains.for_chain(&chain_id);
    let (status, abci) =
        tokio::try_join!(client.rpc(&rpc_url, "status", &[]), client.rpc(&rpc_url, "abci_info", &[]))?;
    let view = rpc::status_view(&status);
    let text = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    let protocol = abci
        .pointer("/response/app_version")
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
    Ok(super::ok(ChainInfo {
        chain_id,
        network: view.network.clone(),
        node_info: NodeInfo {
            id: view.node_id,
            network: view.network,
            version: view.version,
            moniker: view.moniker,
        },
        app_version: AppVersion {
            name: text(&abci, "/response/data"),
            version: text(&abci, "/response/version"),
            protocol,
        },
        raw: json!({"status": status, "abciInfo": abci}),
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainStatus {
    pub chain_id: String,
    pub network: Option<String>,
    pub latest_height: String,
    pub latest_time: Option<String>,
    pub catching_up: Option<bool>,
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Sync state: latest height and time, catching up.
#[utoipa::path(get, operation_id = "chains_status", path = "/{chainId}/status", tag = "chains",
    params(("chainId" = String, Path, description = "chain id (instance label)")),
    responses(
        (status = 200, description = "OK", body = super::Success<ChainStatus>),
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn status(
    State(state): State<AppState>,
    ApiPath(chain_id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let rpc_url = upstream(&state, &chain_id, "rpc")?;
    let (view, raw) = rpc::node_status(&state.chains.for_chain(&chain_id), &rpc_url).await?;
    Ok(super::ok(ChainStatus {
        chain_id,
        network: view.network,
        latest_height: view.latest_height.unwrap_or_default().to_string(),
        latest_time: view.latest_time,
        catching_up: view.catching_up,
        raw,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub chain_id: String,
    pub address: String,
    /// The account's type URL (`/cosmos.auth.v1beta1.BaseAccount`, …).
    pub account_type: Option<String>,
    pub account_number: String,
    pub sequence: String,
    /// The secp256k1 public key (base64) once the account has signed.
    pub public_key: Option<String>,
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Account number and sequence (for signing).
#[utoipa::path(get, operation_id = "chains_account", path = "/{chainId}/accounts/{address}", tag = "chains",
    params(("chainId" = String, Path, description = "chain id"), ("address" = String, Path, description = "bech32 address")),
    responses(
        (status = 200, description = "OK", body = super::Success<AccountView>),
        (status = 404, description = "CHAIN_NOT_FOUND, or NOT_FOUND when the chain has no such account", body = ErrorEnvelope),
        (status = 422, description = "INVALID_ADDRESS: not a bech32 address with a valid checksum", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn account(
    State(state): State<AppState>,
    ApiPath((chain_id, address)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let api = upstream(&state, &chain_id, "api")?;
    tx::validate_address(&address)?;
    let raw = rest::account(&state.chains.for_chain(&chain_id), &api, &address).await?;
    let (number, sequence) = rest::account_numbers(&raw).unwrap_or_default();
    Ok(super::ok(AccountView {
        chain_id,
        address,
        account_type: raw.get("@type").and_then(Value::as_str).map(str::to_string),
        account_number: number.to_string(),
        sequence: sequence.to_string(),
        public_key: rest::account_public_key(&raw),
        raw,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DenomQuery {
    /// Only this denom.
    denom: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CoinView {
    pub denom: String,
    pub amount: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BalancesView {
    pub chain_id: String,
    pub address: String,
    pub balances: Vec<CoinView>,
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Balances of an address, all denoms or one.
#[utoipa::path(get, operation_id = "chains_balances", path = "/{chainId}/balances/{address}", tag = "chains",
    params(("chainId" = String, Path, description = "chain id"), ("address" = String, Path, description = "bech32 address"), DenomQuery),
    responses(
        (status = 200, description = "OK", body = super::Success<BalancesView>),
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 422, description = "INVALID_ADDRESS: not a bech32 address with a valid checksum", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn balances(
    State(state): State<AppState>,
    ApiPath((chain_id, address)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<DenomQuery>,
) -> Result<Response, ApiError> {
    let api = upstream(&state, &chain_id, "api")?;
    tx::validate_address(&address)?;
    let denom = q.denom.as_deref().filter(|d| !d.is_empty());
    let (list, raw) = rest::balances(&state.chains.for_chain(&chain_id), &api, &address, denom).await?;
    let balances = list
        .iter()
        .map(|c| CoinView {
            denom: c.get("denom").and_then(Value::as_str).unwrap_or_default().to_string(),
            amount: c.get("amount").and_then(Value::as_str).unwrap_or("0").to_string(),
        })
        .collect();
    Ok(super::ok(BalancesView { chain_id, address, balances, raw }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MempoolView {
    pub chain_id: String,
    /// Txs waiting for a block.
    pub pending_count: u64,
    pub total_bytes: Option<String>,
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Pending txs in the node's mempool.
#[utoipa::path(get, operation_id = "chains_mempool", path = "/{chainId}/mempool", tag = "chains",
    params(("chainId" = String, Path, description = "chain id")),
    responses(
        (status = 200, description = "OK", body = super::Success<MempoolView>),
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn mempool(
    State(state): State<AppState>,
    ApiPath(chain_id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let rpc_url = upstream(&state, &chain_id, "rpc")?;
    let raw = state.chains.for_chain(&chain_id).rpc(&rpc_url, "num_unconfirmed_txs", &[]).await?;
    Ok(super::ok(MempoolView {
        chain_id,
        pending_count: rpc::pending_count(&raw).unwrap_or_default(),
        total_bytes: raw.get("total_bytes").and_then(Value::as_str).map(str::to_string),
        raw,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockSummary {
    pub chain_id: String,
    pub height: String,
    pub time: String,
    pub hash: Option<String>,
    pub proposer: Option<String>,
    pub tx_count: usize,
    #[schema(value_type = Object)]
    pub raw: Value,
}

async fn block_summary(
    state: &AppState,
    chain_id: String,
    height: Option<u64>,
) -> Result<Response, ApiError> {
    let rpc_url = upstream(state, &chain_id, "rpc")?;
    let raw = rpc::block(&state.chains.for_chain(&chain_id), &rpc_url, height).await?;
    let view = rpc::block_view(&raw).ok_or_else(|| chain::Error::Upstream {
        url: rpc_url,
        status: None,
        code: None,
        message: "block without header height/time".into(),
    })?;
    Ok(super::ok(BlockSummary {
        chain_id,
        height: view.height.to_string(),
        time: view.time,
        hash: view.hash,
        proposer: view.proposer,
        tx_count: view.txs.len(),
        raw,
    }))
}

/// The latest block.
#[utoipa::path(get, operation_id = "chains_latest_block", path = "/{chainId}/blocks/latest", tag = "chains",
    params(("chainId" = String, Path, description = "chain id")),
    responses(
        (status = 200, description = "OK", body = super::Success<BlockSummary>),
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn latest_block(
    State(state): State<AppState>,
    ApiPath(chain_id): ApiPath<String>,
) -> Result<Response, ApiError> {
    block_summary(&state, chain_id, None).await
}

/// A positive block height, or INVALID_HEIGHT.
fn parse_height(text: &str) -> Result<u64, chain::Error> {
    match text.parse::<u64>() {
        Ok(h) if h > 0 => Ok(h),
        _ => Err(chain::Error::InvalidHeight(format!("{text:?} is not a positive integer"))),
    }
}

/// The block at a height.
#[utoipa::path(get, operation_id = "chains_block", path = "/{chainId}/blocks/{height}", tag = "chains",
    params(("chainId" = String, Path, description = "chain id"), ("height" = String, Path, description = "block height (positive integer)")),
    responses(
        (status = 200, description = "OK", body = super::Success<BlockSummary>),
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 422, description = "INVALID_HEIGHT: not a positive integer, beyond the tip, or pruned", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn block(
    State(state): State<AppState>,
    ApiPath((chain_id, height)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    upstream(&state, &chain_id, "rpc")?;
    let height = parse_height(&height)?;
    block_summary(&state, chain_id, Some(height)).await
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TxsFormat {
    /// `{txhash}` per tx.
    #[default]
    Hashes,
    /// Hash, size, result code, gas, message types, memo, fee.
    Summary,
    /// Hash, the decoded tx and the node's raw result JSON.
    Raw,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TxsQuery {
    /// `hashes` (default), `summary` or `raw`.
    format: Option<TxsFormat>,
    /// At most this many txs, in block order (default all).
    limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockTxs {
    pub chain_id: String,
    pub height: String,
    pub format: TxsFormat,
    /// Txs in the block.
    pub total: usize,
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
}

/// The txs of a block, as hashes, summaries or decoded.
#[utoipa::path(get, operation_id = "chains_block_txs", path = "/{chainId}/blocks/{height}/txs", tag = "chains",
    params(("chainId" = String, Path, description = "chain id"), ("height" = String, Path, description = "block height"), TxsQuery),
    responses(
        (status = 200, description = "OK", body = super::Success<BlockTxs>),
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 422, description = "INVALID_HEIGHT, or VALIDATION_ERROR for format/limit", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn block_txs(
    State(state): State<AppState>,
    ApiPath((chain_id, height)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<TxsQuery>,
) -> Result<Response, ApiError> {
    let rpc_url = upstream(&state, &chain_id, "rpc")?;
    let height = parse_height(&height)?;
    let format = q.format.unwrap_or_default();
    let raw = rpc::block(&state.chains.for_chain(&chain_id), &rpc_url, Some(height)).await?;
    let txs: Vec<Vec<u8>> = rpc::block_view(&raw)
        .map(|b| b.txs.iter().filter_map(|t| BASE64.decode(t).ok()).collect())
        .unwrap_or_default();
    let total = txs.len();
    let shown = &txs[..q.limit.unwrap_or(total).min(total)];
    let results = match format {
        TxsFormat::Hashes => Value::Null,
        _ => rpc::block_results(&state.chains.for_chain(&chain_id), &rpc_url, height).await?,
    };
    let result_of = |i: usize| results.pointer(&format!("/txs_results/{i}")).cloned().unwrap_or(Value::Null);
    let items = shown
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let txhash = rpc::tx_hash_hex(bytes);
            match format {
                TxsFormat::Hashes => json!({"txhash": txhash}),
                TxsFormat::Summary => {
                    let result = result_of(i);
                    let decoded = tx::decode_parts(bytes).ok();
                    let fee = decoded.as_ref().and_then(|d| d.auth_info.fee.clone()).unwrap_or_default();
                    json!({
                        "txhash": txhash,
                        "index": i,
                        "sizeBytes": bytes.len(),
                        "code": result.get("code").cloned().unwrap_or(Value::Null),
                        "gasWanted": result.get("gas_wanted").cloned().unwrap_or(Value::Null),
                        "gasUsed": result.get("gas_used").cloned().unwrap_or(Value::Null),
                        "messages": decoded.as_ref().map(|d| d.body.messages.iter().map(|m| m.type_url.clone()).collect::<Vec<_>>()),
                        "memo": decoded.as_ref().map(|d| d.body.memo.clone()),
                        "fee": fee.amount.iter().map(|c| json!({"denom": c.denom, "amount": c.amount})).collect::<Vec<_>>(),
                        "gasLimit": fee.gas_limit.to_string(),
                    })
                }
                TxsFormat::Raw => json!({
                    "txhash": txhash,
                    "index": i,
                    "tx": tx::decode_json(bytes).ok(),
                    "result": result_of(i),
                }),
            }
        })
        .collect();
    Ok(super::ok(BlockTxs { chain_id, height: height.to_string(), format, total, items }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TxResult {
    pub chain_id: String,
    #[serde(flatten)]
    pub tx: rest::TxResponseView,
    /// `{tx, tx_response}` as the node answered.
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Length of a CometBFT tx hash in hex (sha256).
const TX_HASH_HEX_LEN: usize = 64;

/// A tx hash as CometBFT writes it (uppercase hex, no `0x`), if `text` is one.
pub(super) fn tx_hash(text: &str) -> Option<String> {
    let hash = text.trim_start_matches("0x").to_ascii_uppercase();
    (hash.len() == TX_HASH_HEX_LEN && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hash)
}

/// A committed tx by hash; 404 TX_NOT_FOUND (with the reason) until it is in a block.
#[utoipa::path(get, operation_id = "chains_tx_by_hash", path = "/{chainId}/tx/{hash}", tag = "chains",
    params(("chainId" = String, Path, description = "chain id"), ("hash" = String, Path, description = "tx hash, 64 hex digits")),
    responses(
        (status = 200, description = "OK", body = super::Success<TxResult>),
        (status = 404, description = "CHAIN_NOT_FOUND, or TX_NOT_FOUND with the reason in details", body = ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: the hash is not 64 hex digits", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn tx_by_hash(
    State(state): State<AppState>,
    ApiPath((chain_id, hash)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let api = upstream(&state, &chain_id, "api")?;
    let hash = tx_hash(&hash).ok_or_else(|| ApiError::validation("hash", "a tx hash is 64 hex digits"))?;
    let raw = rest::tx_by_hash(&state.chains.for_chain(&chain_id), &api, &hash).await?;
    let tx = rest::tx_response_view(raw.get("tx_response").unwrap_or(&Value::Null));
    Ok(super::ok(TxResult { chain_id, tx, raw }))
}

// ----- tx submission --------------------------------------------------------------------------

/// A signed tx, as clients send it. Its bytes are never logged or returned.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TxBytesRequest {
    /// The `TxRaw` protobuf, base64.
    pub tx_bytes: String,
}

impl std::fmt::Debug for TxBytesRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TxBytesRequest { txBytes: <redacted> }")
    }
}

/// Base64 → bytes that decode as a tx; the base64 text back for the upstream call.
pub(super) fn checked_tx(text: &str) -> Result<(Vec<u8>, String), chain::Error> {
    let bytes = tx::tx_bytes_from_base64(text)?;
    tx::decode_parts(&bytes)?;
    let canonical = BASE64.encode(&bytes);
    Ok((bytes, canonical))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimulateResult {
    pub chain_id: String,
    pub gas_used: String,
    pub gas_wanted: String,
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Runs a signed tx without committing it: gas used and wanted.
#[utoipa::path(post, operation_id = "chains_simulate", path = "/{chainId}/simulate", tag = "chains", request_body = TxBytesRequest,
    params(("chainId" = String, Path, description = "chain id")),
    responses(
        (status = 200, description = "OK", body = super::Success<SimulateResult>),
        (status = 400, description = "BAD_REQUEST: unparsable body or missing txBytes", body = ErrorEnvelope),
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 422, description = "INVALID_TX_BYTES: not base64 or not a tx", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the tx fails on the chain (details carry the upstream code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn simulate(
    State(state): State<AppState>,
    ApiPath(chain_id): ApiPath<String>,
    ApiJson(body): ApiJson<TxBytesRequest>,
) -> Result<Response, ApiError> {
    let api = upstream(&state, &chain_id, "api")?;
    let (_, tx_base64) = checked_tx(&body.tx_bytes)?;
    let raw = rest::simulate(&state.chains.for_chain(&chain_id), &api, &tx_base64).await?;
    let gas =
        |k: &str| raw.pointer(&format!("/gas_info/{k}")).and_then(Value::as_str).unwrap_or("0").to_string();
    Ok(super::ok(SimulateResult { chain_id, gas_used: gas("gas_used"), gas_wanted: gas("gas_wanted"), raw }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BroadcastRequest {
    /// The `TxRaw` protobuf, base64.
    pub tx_bytes: String,
    /// `sync` (default), `async` or `block` (sync, then wait for inclusion).
    pub broadcast_mode: Option<String>,
}

impl std::fmt::Debug for BroadcastRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BroadcastRequest {{ txBytes: <redacted>, broadcastMode: {:?} }}", self.broadcast_mode)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BroadcastResult {
    pub chain_id: String,
    pub broadcast_mode: String,
    pub txhash: String,
    /// CheckTx code for sync/async; the block's result code for block. 0 = success.
    pub code: i64,
    pub codespace: String,
    pub raw_log: String,
    /// "0" until included.
    pub height: String,
    pub gas_used: String,
    pub gas_wanted: String,
    /// The node's `tx_response`.
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Submits a signed tx (`sync`, `async`, or `block` = sync + wait for inclusion, 504 on timeout).
#[utoipa::path(post, operation_id = "chains_broadcast", path = "/{chainId}/broadcast", tag = "chains", request_body = BroadcastRequest,
    params(("chainId" = String, Path, description = "chain id")),
    responses(
        (status = 200, description = "OK (a non-zero code is the chain's verdict on the tx)", body = super::Success<BroadcastResult>),
        (status = 400, description = "BAD_REQUEST: unparsable body or missing txBytes", body = ErrorEnvelope),
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 422, description = "INVALID_TX_BYTES, or VALIDATION_ERROR for broadcastMode", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: no answer in time, or (block) not included in time", body = ErrorEnvelope),
    ))]
async fn broadcast(
    State(state): State<AppState>,
    ApiPath(chain_id): ApiPath<String>,
    ApiJson(body): ApiJson<BroadcastRequest>,
) -> Result<Response, ApiError> {
    let api = upstream(&state, &chain_id, "api")?;
    let mode = body.broadcast_mode.as_deref().unwrap_or("sync").to_ascii_lowercase();
    let upstream_mode = match mode.as_str() {
        "sync" => Some(rest::UpstreamBroadcastMode::Sync),
        "async" => Some(rest::UpstreamBroadcastMode::Async),
        "block" => None,
        _ => return Err(ApiError::validation("broadcastMode", "broadcastMode must be sync, async or block")),
    };
    let (_, tx_base64) = checked_tx(&body.tx_bytes)?;
    let raw = match upstream_mode {
        Some(upstream_mode) => {
            rest::broadcast(&state.chains.for_chain(&chain_id), &api, &tx_base64, upstream_mode).await?
        }
        None => {
            let settings = &state.settings.chains;
            rest::broadcast_and_wait(
                &state.chains.for_chain(&chain_id),
                &api,
                &tx_base64,
                settings.broadcast_block_timeout,
                settings.broadcast_poll_interval,
            )
            .await?
        }
    };
    let view = rest::tx_response_view(&raw);
    Ok(super::ok(BroadcastResult {
        chain_id,
        broadcast_mode: mode,
        txhash: view.txhash,
        code: view.code,
        codespace: view.codespace,
        raw_log: view.raw_log,
        height: view.height,
        gas_used: view.gas_used,
        gas_wanted: view.gas_wanted,
        raw,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecodedTx {
    pub chain_id: String,
    pub txhash: String,
    /// `messages` (typeUrl, decoded, value), memo, timeoutHeight, extension options.
    #[schema(value_type = Object)]
    pub body: Value,
    /// `signerInfos` (publicKey, modeInfo, sequence) and `fee`.
    #[schema(value_type = Object)]
    pub auth_info: Value,
    /// Signatures, base64.
    pub signatures: Vec<String>,
}

/// Decodes a tx's protobuf: messages, memo, fee, signer infos, signatures.
#[utoipa::path(post, operation_id = "chains_decode", path = "/{chainId}/tx/decode", tag = "chains", request_body = TxBytesRequest,
    params(("chainId" = String, Path, description = "chain id")),
    responses(
        (status = 200, description = "OK", body = super::Success<DecodedTx>),
        (status = 400, description = "BAD_REQUEST: unparsable body or missing txBytes", body = ErrorEnvelope),
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 422, description = "INVALID_TX_BYTES: not base64 or not a tx", body = ErrorEnvelope),
    ))]
async fn decode(
    State(state): State<AppState>,
    ApiPath(chain_id): ApiPath<String>,
    ApiJson(body): ApiJson<TxBytesRequest>,
) -> Result<Response, ApiError> {
    resolve(&state, &chain_id, Mode::Auto)?;
    let bytes = tx::tx_bytes_from_base64(&body.tx_bytes)?;
    let mut view = tx::decode_json(&bytes)?;
    let take = |v: &mut Value, k: &str| v.get_mut(k).map(Value::take).unwrap_or(Value::Null);
    let signatures = take(&mut view, "signatures")
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Ok(super::ok(DecodedTx {
        chain_id,
        txhash: take(&mut view, "txhash").as_str().unwrap_or_default().to_string(),
        body: take(&mut view, "body"),
        auth_info: take(&mut view, "authInfo"),
        signatures,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageInput {
    /// `/cosmos.bank.v1beta1.MsgSend` or `/cosmos.bank.v1beta1.MsgMultiSend`.
    pub type_url: String,
    /// The message's fields (camelCase or proto names).
    #[schema(value_type = Object)]
    pub value: Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeInput {
    /// `[{denom, amount}]`.
    #[schema(value_type = Vec<Object>)]
    pub amount: Option<Value>,
    /// Gas limit (string or number); default 200000.
    #[schema(value_type = String)]
    pub gas_limit: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildRequest {
    /// The single signer.
    pub from_address: String,
    pub messages: Vec<MessageInput>,
    #[serde(default)]
    pub memo: String,
    pub fee: Option<FeeInput>,
    /// Block height after which the tx is invalid; "0" = none.
    pub timeout_height: Option<String>,
    /// The signer's compressed secp256k1 public key, base64; needed until the chain knows it.
    pub public_key: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildResult {
    pub chain_id: String,
    /// The chain id inside the sign doc (the node's `network`).
    pub network: String,
    pub account_number: String,
    pub sequence: String,
    pub sign_mode: String,
    pub body_bytes: String,
    pub auth_info_bytes: String,
    /// SIGN_MODE_DIRECT sign doc: sign sha256 of these bytes with secp256k1.
    pub sign_doc_bytes: String,
    pub note: String,
}

/// Gas limit when the request names none (the `rly`/CLI default of 200000).
const DEFAULT_GAS_LIMIT: u64 = 200_000;

fn gas_limit(value: Option<&Value>) -> Result<u64, chain::Error> {
    let invalid =
        || chain::Error::Validation { field: "fee", message: "gasLimit must be a positive integer".into() };
    match value {
        None | Some(Value::Null) => Ok(DEFAULT_GAS_LIMIT),
        Some(Value::String(s)) => s.parse().map_err(|_| invalid()),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(invalid),
        Some(_) => Err(invalid()),
    }
}

/// Sign-doc material for client-side signing (account number and sequence from the chain).
#[utoipa::path(post, operation_id = "chains_build", path = "/{chainId}/tx/build", tag = "chains", request_body = BuildRequest,
    params(("chainId" = String, Path, description = "chain id")),
    responses(
        (status = 200, description = "OK", body = super::Success<BuildResult>),
        (status = 400, description = "BAD_REQUEST: unparsable body or missing field", body = ErrorEnvelope),
        (status = 404, description = "CHAIN_NOT_FOUND, or NOT_FOUND when the signer has no account yet", body = ErrorEnvelope),
        (status = 422, description = "INVALID_ADDRESS, or VALIDATION_ERROR (messages, fee, publicKey)", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn build(
    State(state): State<AppState>,
    ApiPath(chain_id): ApiPath<String>,
    ApiJson(req): ApiJson<BuildRequest>,
) -> Result<Response, ApiError> {
    let (api, rpc_url) = (upstream(&state, &chain_id, "api")?, upstream(&state, &chain_id, "rpc")?);
    tx::validate_address(&req.from_address)?;
    if req.messages.is_empty() {
        return Err(ApiError::validation("messages", "at least one message is needed"));
    }
    let messages = req
        .messages
        .iter()
        .map(|m| tx::message_from_json(&m.type_url, &m.value))
        .collect::<Result<Vec<_>, _>>()?;
    let fee = req.fee.as_ref();
    let fee_coins = tx::coins_from_json(fee.and_then(|f| f.amount.as_ref()), "fee")?;
    let gas_limit = gas_limit(fee.and_then(|f| f.gas_limit.as_ref()))?;
    let timeout_height = match req.timeout_height.as_deref() {
        None | Some("") => 0,
        Some(h) => {
            h.parse().map_err(|_| ApiError::validation("timeoutHeight", "must be a non-negative integer"))?
        }
    };
    let client = state.chains.for_chain(&chain_id);
    let (account, (status, _)) = tokio::try_join!(
        rest::account(&client, &api, &req.from_address),
        rpc::node_status(&client, &rpc_url)
    )?;
    let (account_number, sequence) = rest::account_numbers(&account)
        .ok_or_else(|| ApiError::internal("account without account_number/sequence"))?;
    let public_key_text =
        req.public_key.clone().or_else(|| rest::account_public_key(&account)).ok_or_else(|| {
            ApiError::validation(
                "publicKey",
                "the chain does not know this account's public key yet; send publicKey",
            )
        })?;
    let public_key = BASE64
        .decode(public_key_text.trim())
        .map_err(|_| ApiError::validation("publicKey", "publicKey must be base64"))?;
    let network = status.network.unwrap_or_else(|| chain_id.clone());
    let material = tx::sign_material(
        messages,
        tx::SignParams {
            memo: req.memo.clone(),
            timeout_height,
            fee: fee_coins,
            gas_limit,
            public_key: &public_key,
            sequence,
            network: &network,
            account_number,
        },
    )?;
    Ok(super::ok(BuildResult {
        chain_id,
        network,
        account_number: account_number.to_string(),
        sequence: sequence.to_string(),
        sign_mode: "SIGN_MODE_DIRECT".into(),
        body_bytes: BASE64.encode(material.body_bytes),
        auth_info_bytes: BASE64.encode(material.auth_info_bytes),
        sign_doc_bytes: BASE64.encode(material.sign_doc_bytes),
        note:
            "signDocBytes is provided for client-side signing: sign sha256(signDocBytes) with the key, then \
               broadcast TxRaw{bodyBytes, authInfoBytes, [signature]}"
                .into(),
    }))
}

// ----- blocktime ------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlocktimeQuery {
    /// Latest blocks to look at, 2..2000 (default 100).
    window: Option<u64>,
    /// Comma list in (0, 100] (default `50,95`).
    percentiles: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlocktimeView {
    pub chain_id: String,
    /// The chain id the node reports.
    pub network: Option<String>,
    /// True when this window was already computed at the same latest height.
    pub cached: bool,
    pub latest_height: String,
    #[serde(flatten)]
    pub report: blocktime::Report,
}

/// Block-time statistics over the latest `window` blocks (seconds).
#[utoipa::path(get, operation_id = "chains_blocktime", path = "/{chainId}/blocktime", tag = "chains",
    params(("chainId" = String, Path, description = "chain id"), BlocktimeQuery),
    responses(
        (status = 200, description = "OK", body = super::Success<BlocktimeView>),
        (status = 404, description = "CHAIN_NOT_FOUND, in the error envelope", body = ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: window outside 2..2000, bad percentiles, or too few blocks", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
async fn blocktime(
    State(state): State<AppState>,
    ApiPath(chain_id): ApiPath<String>,
    ApiQuery(q): ApiQuery<BlocktimeQuery>,
) -> Result<Response, ApiError> {
    let rpc_url = upstream(&state, &chain_id, "rpc")?;
    let window = q.window.unwrap_or(blocktime::DEFAULT_WINDOW);
    if !(blocktime::MIN_WINDOW..=blocktime::MAX_WINDOW).contains(&window) {
        return Err(ApiError::validation(
            "window",
            format!("window must be within {}..{}", blocktime::MIN_WINDOW, blocktime::MAX_WINDOW),
        ));
    }
    let percentiles = match q.percentiles.as_deref() {
        None => blocktime::DEFAULT_PERCENTILES.to_vec(),
        Some(list) => {
            blocktime::parse_percentiles(list).map_err(|m| ApiError::validation("percentiles", m))?
        }
    };
    let measured = blocktime::measure(
        &state.chains.for_chain(&chain_id),
        &state.blocktimes,
        &rpc_url,
        window,
        &percentiles,
    )
    .await?;
    Ok(super::ok(BlocktimeView {
        chain_id,
        network: measured.network,
        cached: measured.cached,
        latest_height: measured.latest_height.to_string(),
        report: measured.report,
    }))
}
