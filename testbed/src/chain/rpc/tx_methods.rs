//! Tx and mempool methods (`rpc/core/{mempool,tx,blocks}.go`): broadcast in its three
//! modes, `tx`, `tx_search` and `block_search` over the event query language, and the
//! unconfirmed-tx views.

use super::error::RpcError;
use super::methods::{per_page, validate_page};
use super::params::Params;
use super::shapes::{b64, hex_upper, indexed_tx_json, result_block_json, tx_result_json};
use crate::chain::block::Block;
use crate::chain::execute::TxResult;
use crate::chain::node::{BROADCAST_TX_COMMIT_TIMEOUT, ChainNode, IndexedTx};
use crate::chain::query::Query;
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn call(node: &ChainNode, method: &str, p: &Params) -> Result<Value, RpcError> {
    match method {
        "broadcast_tx_sync" => broadcast_sync(node, p),
        "broadcast_tx_async" => broadcast_async(node, p),
        "broadcast_tx_commit" => broadcast_commit(node, p).await,
        "tx" => tx(node, p),
        "tx_search" => tx_search(node, p),
        "block_search" => block_search(node, p),
        "num_unconfirmed_txs" => {
            let (_, n, bytes) = node.unconfirmed(0);
            Ok(
                json!({"n_txs": n.to_string(), "total": n.to_string(), "total_bytes": bytes.to_string(), "txs": null}),
            )
        }
        "unconfirmed_txs" => {
            let limit = per_page(p.int("limit")?) as usize;
            let (txs, n, bytes) = node.unconfirmed(limit);
            let txs: Vec<String> = txs.iter().map(|t| b64(t)).collect();
            Ok(
                json!({"n_txs": txs.len().to_string(), "total": n.to_string(), "total_bytes": bytes.to_string(), "txs": txs}),
            )
        }
        _ => Err(RpcError::method_not_found()),
    }
}

fn tx_param(p: &Params) -> Result<Vec<u8>, RpcError> {
    Ok(p.bytes("tx")?.unwrap_or_default())
}

/// `ResultBroadcastTx`; `data` is `HexBytes`.
fn broadcast_json(hash: &[u8; 32], r: &TxResult) -> Value {
    json!({"code": r.code, "data": hex_upper(&r.data), "log": r.log, "codespace": r.codespace, "hash": hex_upper(hash)})
}

fn broadcast_sync(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let outcome = node.check_tx(&tx_param(p)?).map_err(|e| RpcError::internal(e.to_string()))?;
    Ok(broadcast_json(&outcome.hash, &outcome.result))
}

/// Async does not wait for CheckTx: only the mempool's own refusals come back.
fn broadcast_async(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let outcome = node.check_tx(&tx_param(p)?).map_err(|e| RpcError::internal(e.to_string()))?;
    Ok(broadcast_json(&outcome.hash, &TxResult::default()))
}

async fn broadcast_commit(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let outcome = node.check_tx(&tx_param(p)?).map_err(|e| RpcError::internal(e.to_string()))?;
    let check_tx = tx_result_json(&outcome.result);
    let hash = hex_upper(&outcome.hash);
    if !outcome.result.is_ok() {
        let empty = tx_result_json(&TxResult::default());
        return Ok(json!({"check_tx": check_tx, "tx_result": empty, "hash": hash, "height": "0"}));
    }
    match node.wait_for_tx(&outcome.hash, BROADCAST_TX_COMMIT_TIMEOUT).await {
        Some(tx) => Ok(json!({
            "check_tx": check_tx,
            "tx_result": tx_result_json(tx.result()),
            "hash": hash,
            "height": tx.height().to_string(),
        })),
        None => Err(RpcError::internal("timed out waiting for tx to be included in a block")),
    }
}

fn tx(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let hash = p.bytes("hash")?.unwrap_or_default();
    let prove = p.boolean("prove")?.unwrap_or(false);
    let found = <[u8; 32]>::try_from(hash.as_slice()).ok().and_then(|h| node.find_tx(&h));
    match found {
        Some(t) => Ok(indexed_tx_json(&t, prove)),
        None => Err(RpcError::internal(format!("tx ({}) not found", hex_upper(&hash)))),
    }
}

fn order(p: &Params) -> Result<bool, RpcError> {
    match p.string("order_by")?.as_deref() {
        None | Some("") | Some("asc") => Ok(true),
        Some("desc") => Ok(false),
        Some(_) => Err(RpcError::internal("expected order_by to be either `asc` or `desc` or empty")),
    }
}

fn parse_query(p: &Params) -> Result<Query, RpcError> {
    let text = p.string("query")?.unwrap_or_default();
    Query::parse(&text).map_err(|e| RpcError::internal(format!("failed to parse query: {e}")))
}

/// One page of `items` (already in the requested order).
fn page<T>(items: Vec<T>, p: &Params) -> Result<(usize, Vec<T>), RpcError> {
    let per_page = per_page(p.int("per_page")?);
    let page = validate_page(p.int("page")?, per_page, items.len())?;
    let total = items.len();
    let skip = ((page - 1) * per_page) as usize;
    Ok((total, items.into_iter().skip(skip).take(per_page as usize).collect()))
}

fn tx_search(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let query = parse_query(p)?;
    let prove = p.boolean("prove")?.unwrap_or(false);
    let ascending = order(p)?;
    let mut found: Vec<IndexedTx> = match query.exact_string("tx.hash") {
        Some(hash) => hex::decode(hash)
            .ok()
            .and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok())
            .and_then(|h| node.find_tx(&h))
            .into_iter()
            .collect(),
        None => {
            let latest = node.latest_height();
            let heights = match query.exact_number("tx.height") {
                Some(h) => h..=h.min(latest),
                None => 1..=latest,
            };
            heights
                .filter_map(|h| node.block(h))
                .flat_map(|block| {
                    (0..block.txs.len() as u32).map(move |index| IndexedTx { block: block.clone(), index })
                })
                .collect()
        }
    };
    found.retain(|t| tx_matches(&query, t));
    if !ascending {
        found.reverse();
    }
    let (total, txs) = page(found, p)?;
    let txs: Vec<Value> = txs.iter().map(|t| indexed_tx_json(t, prove)).collect();
    Ok(json!({"txs": txs, "total_count": total.to_string()}))
}

/// A tx's indexed attributes: `tx.hash`, `tx.height` and each `event.attribute`.
fn tx_matches(query: &Query, t: &IndexedTx) -> bool {
    let mut attrs: Vec<(String, String)> =
        vec![("tx.hash".into(), hex_upper(&t.hash())), ("tx.height".into(), t.height().to_string())];
    for event in &t.result().events {
        for (k, v) in &event.attributes {
            attrs.push((format!("{}.{k}", event.kind), v.clone()));
        }
    }
    query.matches(|key| attrs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect())
}

fn block_search(node: &ChainNode, p: &Params) -> Result<Value, RpcError> {
    let query = parse_query(p)?;
    let ascending = order(p)?;
    let mut found: Vec<Arc<Block>> = (1..=node.latest_height())
        .filter_map(|h| node.block(h))
        .filter(|b| {
            let height = b.header.height.to_string();
            query.matches(|key| if key == "block.height" { vec![height.as_str()] } else { Vec::new() })
        })
        .collect();
    if !ascending {
        found.reverse();
    }
    let (total, blocks) = page(found, p)?;
    Ok(
        json!({"blocks": blocks.iter().map(|b| result_block_json(b)).collect::<Vec<_>>(), "total_count": total.to_string()}),
    )
}
