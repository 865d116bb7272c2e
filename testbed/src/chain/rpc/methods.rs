//! The CometBFT 0.38 RPC routes (`rpc/core/routes.go`) with their argument names, and the
//! info and block methods (`rpc/core/{status,net,abci,blocks,consensus}.go`): the same
//! results, range rules and error texts. Tx and mempool methods live in `tx_methods.rs`.

use super::error::RpcError;
use super::params::Params;
use super::shapes::{
    b64, block_id_json, block_meta_json, commit_json, header_json, hex_upper, result_block_json,
    rfc3339_nano, tx_result_json,
};
use super::{abci_query, tx_methods};
use crate::chain::block::{Block, VOTING_POWER};
use crate::chain::genesis::consensus_params_json;
use crate::chain::node::ChainNode;
use serde_json::{Value, json};
use std::sync::Arc;

/// The CometBFT release reported in `node_info.version`: `cosmos/relayer @ v2.6.0 : go.mod`
/// pins cometbft v0.38.12, the line the chains are built on (chain-shapes.md).
pub const COMETBFT_VERSION: &str = "0.38.12";
/// `p2p.ProtocolVersion` of 0.38 (`version/version.go P2PProtocol`).
const P2P_PROTOCOL: &str = "8";
/// The reactor channel ids a 0.38 node advertises (the recorded `status.node_info.channels`).
pub const NODE_CHANNELS_HEX: &str = "40202122233038606100";
/// What `blockchain` returns at most per call (`rpc/core/blocks.go BlockchainInfo`).
const BLOCKCHAIN_LIMIT: u64 = 20;
/// `rpc/core/env.go`: default and maximum `per_page`.
pub const DEFAULT_PER_PAGE: i64 = 30;
pub const MAX_PER_PAGE: i64 = 100;

/// Every served route with its parameter names in order (positional JSON-RPC params map
/// onto them). Routes of the real server not listed here answer "Method not found":
/// `consensus_state`, `dump_consensus_state`, `broadcast_evidence`, `check_tx`, websocket
/// subscriptions.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("health", &[]),
    ("status", &[]),
    ("net_info", &[]),
    ("blockchain", &["minHeight", "maxHeight"]),
    ("genesis", &[]),
    ("genesis_chunked", &["chunk"]),
    ("block", &["height"]),
    ("block_by_hash", &["hash"]),
    ("block_results", &["height"]),
    ("commit", &["height"]),
    ("header", &["height"]),
    ("header_by_hash", &["hash"]),
    ("tx", &["hash", "prove"]),
    ("tx_search", &["query", "prove", "page", "per_page", "order_by"]),
    ("block_search", &["query", "page", "per_page", "order_by"]),
    ("validators", &["height", "page", "per_page"]),
    ("consensus_params", &["height"]),
    ("unconfirmed_txs", &["limit"]),
    ("num_unconfirmed_txs", &[]),
    ("broadcast_tx_commit", &["tx"]),
    ("broadcast_tx_sync", &["tx"]),
    ("broadcast_tx_async", &["tx"]),
    ("abci_query", &["path", "data", "height", "prove"]),
    ("abci_info", &[]),
];

pub fn arg_names(method: &str) -> Option<&'static [&'static str]> {
    ROUTES.iter().find(|(name, _)| *name == method).map(|(_, args)| *args)
}

/// Runs one method; `method` must be a route.
pub async fn call(node: &ChainNode, method: &str, p: &Params) -> Result<Value, RpcError> {
    match method {
        "health" => Ok(json!({})),
        "status" => Ok(status(node)),
        "net_info" => {
            Ok(json!({"listening": true, "listeners": ["Listener(@)"], "n_peers": "0", "peers": []}))
        }
        "blockchain" => blockchain(node, p),
        "genesis" => Ok(json!({"genesis": node.0.genesis_json})),
        "genesis_chunked" => genesis_chunked(node, p),
        "block" => block_at(node, p.int("height")?).map(|b| result_block_json(&b)),
        "block_by_hash" => block_by_hash(node, p),
        "block_results" => block_results(node, p),
        "commit" => commit(node, p),
        "header" => block_at(node, p.int("height")?).map(|b| json!({"header": header_json(&b.header)})),
        "header_by_hash" => header_by_hash(node, p),
        "validators" => validators(node, p),
        "consensus_params" => {
            let block = block_at(node, p.int("height")?)?;
            Ok(
                json!({"block_height": block.header.height.to_string(), "consensus_params": consensus_params_json()}),
            )
        }
        "abci_info" => Ok(abci_info(node)),
        "abci_query" => abci_query::call(node, p),
        _ => tx_methods::call(node, method, p).await,
    }
}

fn status(node: &ChainNode) -> Value {
    let (earliest, latest) = (node.block(1), node.latest_block());
    let hash = |b: &Option<Arc<Block>>| b.as_ref().map(|b| hex_upper(&b.id.hash)).unwrap_or_default();
    let time = |b: &Option<Arc<Block>>| b.as_ref().map(|b| rfc3339_nano(b.header.time)).unwrap_or_default();
    let height = |b: &Option<Arc<Block>>| b.as_ref().map_or(0, |b| b.header.height).to_string();
    json!({
        "node_info": {
            "protocol_version": {"p2p": P2P_PROTOCOL, "block": crate::chain::block::BLOCK_PROTOCOL.to_string(),
                                 "app": crate::chain::block::APP_PROTOCOL.to_string()},
            "id": node.0.node_id,
            "listen_addr": "tcp://0.0.0.0:26656",
            "network": node.chain_id(),
            "version": COMETBFT_VERSION,
            "channels": NODE_CHANNELS_HEX,
            "moniker": node.moniker(),
            "other": {"tx_index": "on", "rpc_address": "tcp://0.0.0.0:26657"},
        },
        "sync_info": {
            "latest_block_hash": hash(&latest),
            "latest_app_hash": latest.as_ref().map(|b| hex_upper(&b.app_hash_after)).unwrap_or_default(),
            "latest_block_height": height(&latest),
            "latest_block_time": time(&latest),
            "earliest_block_hash": hash(&earliest),
            "earliest_app_hash": earliest.as_ref().map(|b| hex_upper(&b.header.app_hash)).unwrap_or_default(),
            "earliest_block_height": height(&earliest),
            "earliest_block_time": time(&earliest),
            "catching_up": false,
        },
        "validator_info": validator_json(node, false),
    })
}

fn validator_json(node: &ChainNode, with_priority: bool) -> Value {
    let v = &node.identity().validator;
    let mut out = json!({
        "address": hex_upper(&v.address),
        "pub_key": {"type": "tendermint/PubKeyEd25519", "value": b64(&v.public_key)},
        "voting_power": VOTING_POWER.to_string(),
    });
    if with_priority {
        out["proposer_priority"] = json!("0");
    }
    out
}

/// `getHeight`: an explicit height must be within `1..=latest`; none means the latest.
pub fn resolve_height(latest: u64, height: Option<i64>) -> Result<u64, RpcError> {
    match height {
        None => Ok(latest),
        Some(h) if h <= 0 => Err(RpcError::internal(format!("height must be greater than 0, but got {h}"))),
        Some(h) if h as u64 > latest => Err(RpcError::internal(format!(
            "height {h} must be less than or equal to the current blockchain height {latest}"
        ))),
        Some(h) => Ok(h as u64),
    }
}

fn block_at(node: &ChainNode, height: Option<i64>) -> Result<Arc<Block>, RpcError> {
    let h = resolve_height(node.latest_height(), height)?;
    node.block(h)
        .ok_or_else(|| RpcError::internal(format!("height {h} is not available, lowest height is 1")))
}

fn blockchain(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let latest = node.latest_height();
    let (min, max) = (p.int("minHeight")?.unwrap_or(0), p.int("maxHeight")?.unwrap_or(0));
    if min < 0 || max < 0 {
        return Err(RpcError::internal("heights must be non-negative"));
    }
    let max = if max == 0 { latest } else { (max as u64).min(latest) };
    let min = if min == 0 { 1 } else { min as u64 };
    let min = min.max((max + 1).saturating_sub(BLOCKCHAIN_LIMIT)).max(1);
    if min > max {
        return Err(RpcError::internal(format!("min height {min} can't be greater than max height {max}")));
    }
    let metas: Vec<Value> =
        (min..=max).rev().filter_map(|h| node.block(h)).map(|b| block_meta_json(&b)).collect();
    Ok(json!({"last_height": latest.to_string(), "block_metas": metas}))
}

fn genesis_chunked(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let chunk = p.int("chunk")?.unwrap_or(0);
    if chunk != 0 {
        return Err(RpcError::internal(format!("there are 1 chunks, {chunk} is invalid")));
    }
    let doc = serde_json::to_vec(&node.0.genesis_json).unwrap_or_default();
    Ok(json!({"chunk": "0", "total": "1", "data": b64(&doc)}))
}

fn find_by_hash(node: &ChainNode, p: &Params) -> Result<Option<Arc<Block>>, RpcError> {
    let hash = p.bytes("hash")?.unwrap_or_default();
    let latest = node.latest_height();
    Ok((1..=latest).rev().filter_map(|h| node.block(h)).find(|b| b.id.hash.as_slice() == hash.as_slice()))
}

fn block_by_hash(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    Ok(match find_by_hash(node, p)? {
        Some(b) => result_block_json(&b),
        None => json!({"block_id": block_id_json(None), "block": null}),
    })
}

fn header_by_hash(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    Ok(json!({"header": find_by_hash(node, p)?.map(|b| header_json(&b.header))}))
}

fn block_results(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let b = block_at(node, p.int("height")?)?;
    let txs_results = if b.results.is_empty() {
        Value::Null
    } else {
        Value::Array(b.results.iter().map(tx_result_json).collect())
    };
    Ok(json!({
        "height": b.header.height.to_string(),
        "txs_results": txs_results,
        "finalize_block_events": [],
        "validator_updates": [],
        "consensus_param_updates": consensus_params_json(),
        "app_hash": b64(&b.app_hash_after),
    }))
}

fn commit(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let b = block_at(node, p.int("height")?)?;
    // The latest block's commit is the node's "seen commit", not yet in a block.
    let canonical = b.header.height < node.latest_height();
    Ok(
        json!({"signed_header": {"header": header_json(&b.header), "commit": commit_json(&b.commit)}, "canonical": canonical}),
    )
}

fn validators(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let b = block_at(node, p.int("height")?)?;
    let per_page = per_page(p.int("per_page")?);
    let page = validate_page(p.int("page")?, per_page, 1)?;
    let list = if page == 1 { vec![validator_json(node, true)] } else { Vec::new() };
    Ok(json!({"block_height": b.header.height.to_string(), "validators": list, "count": "1", "total": "1"}))
}

fn abci_info(node: &ChainNode) -> Value {
    let latest = node.latest_block();
    json!({"response": {
        "data": node.0.app_name,
        "version": super::super::node::APP_VERSION,
        "app_version": crate::chain::block::APP_PROTOCOL.to_string(),
        "last_block_height": latest.as_ref().map_or(0, |b| b.header.height).to_string(),
        "last_block_app_hash": latest.as_ref().map(|b| b64(&b.app_hash_after)).unwrap_or_default(),
    }})
}

/// `validatePerPage`: default 30, at most 100.
pub fn per_page(requested: Option<i64>) -> i64 {
    match requested {
        Some(n) if n >= 1 => n.min(MAX_PER_PAGE),
        _ => DEFAULT_PER_PAGE,
    }
}

/// `validatePage`: pages are `1..=ceil(total/per_page)` (at least one page).
pub fn validate_page(page: Option<i64>, per_page: i64, total: usize) -> Result<i64, RpcError> {
    let pages = ((total as i64 - 1).max(0) / per_page) + 1;
    match page {
        None => Ok(1),
        Some(p) if p <= 0 || p > pages => {
            Err(RpcError::internal(format!("page should be within [1, {pages}] range, given {p}")))
        }
        Some(p) => Ok(p),
    }
}
