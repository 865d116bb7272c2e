//! CometBFT JSON-RPC reads over `ChainClient` (URI form: `GET <rpc>/status`).

/// What `/status` says about a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// `node_info.network`: the chain id the node reports.
    pub network: String,
    pub latest_height: u64,
    pub latest_block_time: String,
    pub catching_up: bool,
}

/// `GET <rpc>/status`, within the client's timeout, as the liveness checks need it.
pub async fn status(client: &ChainClient, rpc: &str) -> Result<NodeStatus> {
    let (view, _) = node_status(client, rpc).await?;
    Ok(NodeStatus {
        network: view.network.unwrap_or_default(),
        latest_height: view.latest_height.unwrap_or_default(),
        latest_block_time: view.latest_time.unwrap_or_default(),
        catching_up: view.catching_up.unwrap_or_default(),
    })
}

// ----- Layer 2 reads over `ChainClient` ----------------------------------------------------

use super::{ChainClient, Error, Result};
use serde_json::Value;

/// CometBFT's texts for a height it cannot serve (`rpc/core/env.go`).
const HEIGHT_ERROR_MARKERS: [&str; 3] = [
    "must be less than or equal to the current blockchain height",
    "height must be greater than 0",
    "is not available, lowest height is",
];

/// Most block metas CometBFT's `blockchain` returns per call (`rpc/core/blocks.go`, limit 20).
pub const BLOCKCHAIN_PAGE: u64 = 20;

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn u64_at(v: &Value, pointer: &str) -> Option<u64> {
    match v.pointer(pointer)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// What `status` says, shaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView {
    pub network: Option<String>,
    pub node_id: Option<String>,
    pub version: Option<String>,
    pub moniker: Option<String>,
    pub latest_height: Option<u64>,
    pub latest_time: Option<String>,
    pub catching_up: Option<bool>,
}

pub fn status_view(result: &Value) -> StatusView {
    StatusView {
        network: str_at(result, "/node_info/network").map(str::to_string),
        node_id: str_at(result, "/node_info/id").map(str::to_string),
        version: str_at(result, "/node_info/version").map(str::to_string),
        moniker: str_at(result, "/node_info/moniker").map(str::to_string),
        latest_height: u64_at(result, "/sync_info/latest_block_height"),
        latest_time: str_at(result, "/sync_info/latest_block_time").map(str::to_string),
        catching_up: result.pointer("/sync_info/catching_up").and_then(Value::as_bool),
    }
}

/// `status` and its shaped view; the latest height is required.
pub async fn node_status(client: &ChainClient, rpc: &str) -> Result<(StatusView, Value)> {
    let raw = client.rpc(rpc, "status", &[]).await?;
    let view = status_view(&raw);
    if view.latest_height.is_none() {
        return Err(malformed(rpc, "status without sync_info.latest_block_height"));
    }
    Ok((view, raw))
}

pub fn malformed(url: &str, what: &str) -> Error {
    Error::Upstream {
        url: url.to_string(),
        status: None,
        code: None,
        message: format!("unexpected answer: {what}"),
    }
}

/// `block` at a height (latest when `None`); CometBFT's height errors become `InvalidHeight`.
pub async fn block(client: &ChainClient, rpc: &str, height: Option<u64>) -> Result<Value> {
    let params: Vec<(&str, String)> = height.map(|h| ("height", h.to_string())).into_iter().collect();
    client.rpc(rpc, "block", &params).await.map_err(height_error)
}

/// `block_results` at a height.
pub async fn block_results(client: &ChainClient, rpc: &str, height: u64) -> Result<Value> {
    client.rpc(rpc, "block_results", &[("height", height.to_string())]).await.map_err(height_error)
}

fn height_error(e: Error) -> Error {
    match e {
        Error::Upstream { message, .. } if HEIGHT_ERROR_MARKERS.iter().any(|m| message.contains(m)) => {
            Error::InvalidHeight(message)
        }
        other => other,
    }
}

/// A block shaped: height, time, hash, proposer and its txs (base64, as in `data.txs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockView {
    pub height: u64,
    pub time: String,
    pub hash: Option<String>,
    pub proposer: Option<String>,
    pub txs: Vec<String>,
}

pub fn block_view(result: &Value) -> Option<BlockView> {
    Some(BlockView {
        height: u64_at(result, "/block/header/height")?,
        time: str_at(result, "/block/header/time")?.to_string(),
        hash: str_at(result, "/block_id/hash").map(str::to_string),
        proposer: str_at(result, "/block/header/proposer_address").map(str::to_string),
        txs: result
            .pointer("/block/data/txs")
            .and_then(Value::as_array)
            .map(|txs| txs.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
    })
}

/// The CometBFT tx hash: uppercase hex of sha256 over the tx bytes.
pub fn tx_hash_hex(tx: &[u8]) -> String {
    hex::encode_upper(sha2::Digest::finalize(sha2::Digest::chain_update(
        <sha2::Sha256 as sha2::Digest>::new(),
        tx,
    )))
}

/// One `block_metas` entry of `blockchain`, shaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockMeta {
    pub height: u64,
    /// Header time, RFC 3339 as the node wrote it.
    pub time: String,
    pub num_txs: u64,
}

/// `blockchain(minHeight, maxHeight)`: the metas returned (newest first, as CometBFT sends
/// them, at most `BLOCKCHAIN_PAGE`) and the node's `last_height`.
pub async fn block_metas(
    client: &ChainClient,
    rpc: &str,
    min: u64,
    max: u64,
) -> Result<(Vec<BlockMeta>, u64)> {
    let params = [("minHeight", min.to_string()), ("maxHeight", max.to_string())];
    let result = client.rpc(rpc, "blockchain", &params).await.map_err(height_error)?;
    let metas = result
        .get("block_metas")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(rpc, "no block_metas"))?;
    let metas = metas
        .iter()
        .map(|m| {
            Some(BlockMeta {
                height: u64_at(m, "/header/height")?,
                time: str_at(m, "/header/time")?.to_string(),
                num_txs: u64_at(m, "/num_txs").unwrap_or_default(),
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| malformed(rpc, "block meta without header height/time"))?;
    let last =
        u64_at(&result, "/last_height").unwrap_or_else(|| metas.iter().map(|m| m.height).max().unwrap_or(0));
    Ok((metas, last))
}

/// `blockchain(minHeight, maxHeight)`: `(height, header time)` of each meta returned.
pub async fn header_times(client: &ChainClient, rpc: &str, min: u64, max: u64) -> Result<Vec<(u64, String)>> {
    let (metas, _) = block_metas(client, rpc, min, max).await?;
    Ok(metas.into_iter().map(|m| (m.height, m.time)).collect())
}

/// The hashes of a block's txs (base64 `data.txs`), in block order; an undecodable entry
/// hashes to an empty string.
pub fn block_tx_hashes(block: &BlockView) -> Vec<String> {
    use base64::Engine as _;
    block
        .txs
        .iter()
        .map(|t| {
            base64::engine::general_purpose::STANDARD.decode(t).map(|b| tx_hash_hex(&b)).unwrap_or_default()
        })
        .collect()
}

/// `num_unconfirmed_txs`: the pending count (`total`, else `n_txs`).
pub fn pending_count(result: &Value) -> Option<u64> {
    u64_at(result, "/total").or_else(|| u64_at(result, "/n_txs"))
}
