//! CometBFT 0.38 RPC JSON of blocks, headers, commits and tx results (`libs/json`
//! encoding: 64-bit ints as strings, `HexBytes` uppercase hex, `[]byte` base64, nil as
//! null), matching the recorded fixtures field for field.

use crate::chain::block::{
    APP_PROTOCOL, BLOCK_ID_FLAG_COMMIT, BLOCK_PROTOCOL, Block, BlockId, Commit, Header, tx_proof,
};
use crate::chain::events::events_json;
use crate::chain::execute::TxResult;
use crate::chain::node::IndexedTx;
use base64::Engine as _;
use serde_json::{Value, json};

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// Go's `time.RFC3339Nano` in UTC: nanoseconds with trailing zeros trimmed.
pub fn rfc3339_nano(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.fZ").to_string()
}

pub fn block_id_json(id: Option<&BlockId>) -> Value {
    match id {
        Some(id) => {
            json!({"hash": hex_upper(&id.hash), "parts": {"total": id.parts_total, "hash": hex_upper(&id.parts_hash)}})
        }
        None => json!({"hash": "", "parts": {"total": 0, "hash": ""}}),
    }
}

pub fn header_json(h: &Header) -> Value {
    json!({
        "version": {"block": BLOCK_PROTOCOL.to_string(), "app": APP_PROTOCOL.to_string()},
        "chain_id": h.chain_id,
        "height": h.height.to_string(),
        "time": rfc3339_nano(h.time),
        "last_block_id": block_id_json(h.last_block_id.as_ref()),
        "last_commit_hash": hex_upper(&h.last_commit_hash),
        "data_hash": hex_upper(&h.data_hash),
        "validators_hash": hex_upper(&h.validators_hash),
        "next_validators_hash": hex_upper(&h.next_validators_hash),
        "consensus_hash": hex_upper(&h.consensus_hash),
        "app_hash": hex_upper(&h.app_hash),
        "last_results_hash": hex_upper(&h.last_results_hash),
        "evidence_hash": hex_upper(&h.evidence_hash),
        "proposer_address": hex_upper(&h.proposer_address),
    })
}

pub fn commit_json(c: &Commit) -> Value {
    let signatures: Vec<Value> = c
        .signatures
        .iter()
        .map(|s| {
            json!({
                "block_id_flag": BLOCK_ID_FLAG_COMMIT,
                "validator_address": hex_upper(&s.validator_address),
                "timestamp": rfc3339_nano(s.timestamp),
                "signature": b64(&s.signature),
            })
        })
        .collect();
    json!({"height": c.height.to_string(), "round": 0, "block_id": block_id_json(c.block_id.as_ref()), "signatures": signatures})
}

pub fn block_json(b: &Block) -> Value {
    let txs: Vec<String> = b.txs.iter().map(|t| b64(t)).collect();
    json!({
        "header": header_json(&b.header),
        "data": {"txs": txs},
        "evidence": {"evidence": []},
        "last_commit": commit_json(&b.last_commit),
    })
}

/// `ResultBlock`: `{block_id, block}`.
pub fn result_block_json(b: &Block) -> Value {
    json!({"block_id": block_id_json(Some(&b.id)), "block": block_json(b)})
}

/// `BlockMeta` as in `blockchain`.
pub fn block_meta_json(b: &Block) -> Value {
    json!({
        "block_id": block_id_json(Some(&b.id)),
        "block_size": b.size.to_string(),
        "header": header_json(&b.header),
        "num_txs": b.txs.len().to_string(),
    })
}

/// `ExecTxResult` / `ResponseCheckTx` (same JSON keys in 0.38).
pub fn tx_result_json(r: &TxResult) -> Value {
    json!({
        "code": r.code,
        "data": if r.data.is_empty() { Value::Null } else { json!(b64(&r.data)) },
        "log": r.log,
        "info": "",
        "gas_wanted": r.gas_wanted.to_string(),
        "gas_used": r.gas_used.to_string(),
        "events": events_json(&r.events),
        "codespace": r.codespace,
    })
}

/// One `ResultTx` (`tx` and each `tx_search.txs[i]`), with the inclusion proof when asked.
pub fn indexed_tx_json(t: &IndexedTx, prove: bool) -> Value {
    let mut out = json!({
        "hash": hex_upper(&t.hash()),
        "height": t.height().to_string(),
        "index": t.index,
        "tx_result": tx_result_json(t.result()),
        "tx": b64(t.bytes()),
    });
    if prove && let Some((leaf, aunts)) = tx_proof(&t.block.tx_hashes, t.index as usize) {
        out["proof"] = json!({
            "root_hash": hex_upper(&t.block.header.data_hash),
            "data": b64(t.bytes()),
            "proof": {
                "total": t.block.txs.len().to_string(),
                "index": t.index.to_string(),
                "leaf_hash": b64(&leaf),
                "aunts": aunts.iter().map(|a| b64(a)).collect::<Vec<_>>(),
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_like_go_rfc3339_nano() {
        let t: jiff::Timestamp = "2023-05-17T14:12:48.347696210Z".parse().unwrap();
        assert_eq!(rfc3339_nano(t), "2023-05-17T14:12:48.34769621Z");
        let whole: jiff::Timestamp = "2023-05-17T14:12:48Z".parse().unwrap();
        assert_eq!(rfc3339_nano(whole), "2023-05-17T14:12:48Z");
    }
}
