//! Chain reads (`info`, `status`, accounts, balances, mempool, blocks, txs): CometBFT RPC and
//! Cosmos REST answers shaped, with the upstream JSON under `raw`.

use crate::api::error::{ApiError, ErrorEnvelope};
use crate::api::extract::{ApiPath, ApiQuery};
use crate::app::AppState;
use crate::chain::{self, rest, rpc, tx};
use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::{Chain, UpstreamErrors};

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
        (status = 200, description = "OK", body = crate::api::Success<ChainInfo>),
        UpstreamErrors,
    ))]
pub(super) async fn info(
    State(state): State<AppState>,
    Chain { id: chain_id, endpoints }: Chain,
) -> Result<Response, ApiError> {
    let rpc_url = endpoints.rpc()?;
    let client = state.chains.for_chain(&chain_id);
    let (status, abci) =
        tokio::try_join!(client.rpc(&rpc_url, "status", &[]), client.rpc(&rpc_url, "abci_info", &[]))?;
    let view = rpc::status_view(&status);
    let text = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    let protocol = abci
        .pointer("/response/app_version")
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
    Ok(crate::api::ok(ChainInfo {
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
    pub latest_height: u64,
    pub latest_time: Option<String>,
    pub catching_up: Option<bool>,
    #[schema(value_type = Object)]
    pub raw: Value,
}

/// Sync state: latest height and time, catching up.
#[utoipa::path(get, operation_id = "chains_status", path = "/{chainId}/status", tag = "chains",
    params(("chainId" = String, Path, description = "chain id (instance label)")),
    responses(
        (status = 200, description = "OK", body = crate::api::Success<ChainStatus>),
        UpstreamErrors,
    ))]
pub(super) async fn status(
    State(state): State<AppState>,
    Chain { id: chain_id, endpoints }: Chain,
) -> Result<Response, ApiError> {
    let rpc_url = endpoints.rpc()?;
    let (view, raw) = rpc::node_status(&state.chains.for_chain(&chain_id), &rpc_url).await?;
    Ok(crate::api::ok(ChainStatus {
        chain_id,
        network: view.network,
        latest_height: view.latest_height.unwrap_or_default(),
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
        (status = 200, description = "OK", body = crate::api::Success<AccountView>),
        (status = 404, description = "CHAIN_NOT_FOUND, or NOT_FOUND when the chain has no such account", body = ErrorEnvelope),
        (status = 422, description = "INVALID_ADDRESS: not a bech32 address with a valid checksum", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
pub(super) async fn account(
    State(state): State<AppState>,
    Chain { id: chain_id, endpoints }: Chain,
    ApiPath((_chain, address)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let api = endpoints.api()?;
    let address = tx::normalize_address(&address)?;
    let raw = rest::account(&state.chains.for_chain(&chain_id), &api, &address).await?;
    let (number, sequence) = rest::account_numbers(&raw).unwrap_or_default();
    Ok(crate::api::ok(AccountView {
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
        (status = 200, description = "OK", body = crate::api::Success<BalancesView>),
        UpstreamErrors,
        (status = 422, description = "INVALID_ADDRESS: not a bech32 address with a valid checksum", body = ErrorEnvelope),
    ))]
pub(super) async fn balances(
    State(state): State<AppState>,
    Chain { id: chain_id, endpoints }: Chain,
    ApiPath((_chain, address)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<DenomQuery>,
) -> Result<Response, ApiError> {
    let api = endpoints.api()?;
    let address = tx::normalize_address(&address)?;
    let denom = q.denom.as_deref().filter(|d| !d.is_empty());
    let (list, raw) = rest::balances(&state.chains.for_chain(&chain_id), &api, &address, denom).await?;
    let balances = list
        .iter()
        .map(|c| CoinView {
            denom: c.get("denom").and_then(Value::as_str).unwrap_or_default().to_string(),
            amount: c.get("amount").and_then(Value::as_str).unwrap_or("0").to_string(),
        })
        .collect();
    Ok(crate::api::ok(BalancesView { chain_id, address, balances, raw }))
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
        (status = 200, description = "OK", body = crate::api::Success<MempoolView>),
        UpstreamErrors,
    ))]
pub(super) async fn mempool(
    State(state): State<AppState>,
    Chain { id: chain_id, endpoints }: Chain,
) -> Result<Response, ApiError> {
    let rpc_url = endpoints.rpc()?;
    let raw = state.chains.for_chain(&chain_id).rpc(&rpc_url, "num_unconfirmed_txs", &[]).await?;
    Ok(crate::api::ok(MempoolView {
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
    pub height: u64,
    pub time: String,
    pub hash: Option<String>,
    pub proposer: Option<String>,
    pub tx_count: usize,
    #[schema(value_type = Object)]
    pub raw: Value,
}

async fn block_summary(state: &AppState, chain: Chain, height: Option<u64>) -> Result<Response, ApiError> {
    let rpc_url = chain.endpoints.rpc()?;
    let chain_id = chain.id;
    let raw = rpc::block(&state.chains.for_chain(&chain_id), &rpc_url, height).await?;
    let view = rpc::block_view(&raw).ok_or_else(|| chain::Error::Upstream {
        url: rpc_url,
        status: None,
        code: None,
        message: "block without header height/time".into(),
    })?;
    Ok(crate::api::ok(BlockSummary {
        chain_id,
        height: view.height,
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
        (status = 200, description = "OK", body = crate::api::Success<BlockSummary>),
        UpstreamErrors,
    ))]
pub(super) async fn latest_block(State(state): State<AppState>, chain: Chain) -> Result<Response, ApiError> {
    block_summary(&state, chain, None).await
}

/// A positive block height within CometBFT's int64, or INVALID_HEIGHT naming the `height`
/// field: checked before any upstream call (a node answers a height beyond int64 with a parse
/// error, which would read as its failure rather than the client's).
fn parse_height(text: &str) -> Result<u64, ApiError> {
    match text.parse::<i64>() {
        Ok(h) if h > 0 => Ok(h.unsigned_abs()),
        _ => Err(ApiError::from(chain::Error::InvalidHeight(format!(
            "the height must be an integer from 1 to {}",
            i64::MAX
        )))
        .at_field("height")),
    }
}

/// The block at a height.
#[utoipa::path(get, operation_id = "chains_block", path = "/{chainId}/blocks/{height}", tag = "chains",
    params(("chainId" = String, Path, description = "chain id"), ("height" = String, Path, description = "block height (positive integer)")),
    responses(
        (status = 200, description = "OK", body = crate::api::Success<BlockSummary>),
        UpstreamErrors,
        (status = 422, description = "INVALID_HEIGHT: not a positive integer, beyond the tip, or pruned", body = ErrorEnvelope),
    ))]
pub(super) async fn block(
    State(state): State<AppState>,
    chain: Chain,
    ApiPath((_chain, height)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    chain.endpoints.rpc()?;
    let height = parse_height(&height)?;
    block_summary(&state, chain, Some(height)).await
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
    pub height: u64,
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
        (status = 200, description = "OK", body = crate::api::Success<BlockTxs>),
        UpstreamErrors,
        (status = 422, description = "INVALID_HEIGHT, or VALIDATION_ERROR for format/limit", body = ErrorEnvelope),
    ))]
pub(super) async fn block_txs(
    State(state): State<AppState>,
    Chain { id: chain_id, endpoints }: Chain,
    ApiPath((_chain, height)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<TxsQuery>,
) -> Result<Response, ApiError> {
    let rpc_url = endpoints.rpc()?;
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
    Ok(crate::api::ok(BlockTxs { chain_id, height, format, total, items }))
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
pub(crate) fn tx_hash(text: &str) -> Option<String> {
    let hash = text.trim_start_matches("0x").to_ascii_uppercase();
    (hash.len() == TX_HASH_HEX_LEN && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hash)
}

/// A committed tx by hash; 404 TX_NOT_FOUND (with the reason) until it is in a block.
#[utoipa::path(get, operation_id = "chains_tx_by_hash", path = "/{chainId}/tx/{hash}", tag = "chains",
    params(("chainId" = String, Path, description = "chain id"), ("hash" = String, Path, description = "tx hash, 64 hex digits")),
    responses(
        (status = 200, description = "OK", body = crate::api::Success<TxResult>),
        (status = 404, description = "CHAIN_NOT_FOUND, or TX_NOT_FOUND with the reason in details", body = ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: the hash is not 64 hex digits", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached", body = ErrorEnvelope),
        (status = 504, description = "TIMEOUT: the node did not answer in time", body = ErrorEnvelope),
    ))]
pub(super) async fn tx_by_hash(
    State(state): State<AppState>,
    Chain { id: chain_id, endpoints }: Chain,
    ApiPath((_chain, hash)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let api = endpoints.api()?;
    let hash = tx_hash(&hash).ok_or_else(|| ApiError::validation("hash", "a tx hash is 64 hex digits"))?;
    let raw = rest::tx_by_hash(&state.chains.for_chain(&chain_id), &api, &hash).await?;
    let tx = rest::tx_response_view(raw.get("tx_response").unwrap_or(&Value::Null));
    Ok(crate::api::ok(TxResult { chain_id, tx, raw }))
}
