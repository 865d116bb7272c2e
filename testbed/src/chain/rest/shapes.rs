//! gRPC-gateway JSON of blocks, accounts and txs (protobuf JSON with `OrigName` and
//! `EmitDefaults`: bytes base64, enums by name, Timestamps RFC 3339 with 0/3/6/9 digits).

use crate::chain::block::{APP_PROTOCOL, BLOCK_PROTOCOL, Block, BlockId, Commit, Header};
use crate::chain::events::events_json;
use crate::chain::ledger::Account;
use crate::chain::msgs::MsgRegistry;
use crate::chain::node::IndexedTx;
use crate::chain::tx_codec::{DecodedTx, SECP256K1_PUBKEY_TYPE_URL, secp256k1_pubkey_from_any};
use base64::Engine as _;
use cosmrs::proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmrs::proto::cosmos::tx::v1beta1::mode_info;
use serde_json::{Value, json};

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `google.protobuf.Timestamp` JSON: UTC, fractional digits in groups of 3 (none when whole).
pub fn proto_timestamp(t: jiff::Timestamp) -> String {
    let nanos = t.subsec_nanosecond();
    let base = t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let fraction = match nanos {
        0 => String::new(),
        n if n % 1_000_000 == 0 => format!(".{:03}", n / 1_000_000),
        n if n % 1_000 == 0 => format!(".{:06}", n / 1_000),
        n => format!(".{n:09}"),
    };
    format!("{base}{fraction}Z")
}

fn block_id_json(id: Option<&BlockId>) -> Value {
    match id {
        Some(id) => {
            json!({"hash": b64(&id.hash), "part_set_header": {"total": id.parts_total, "hash": b64(&id.parts_hash)}})
        }
        None => json!({"hash": "", "part_set_header": {"total": 0, "hash": ""}}),
    }
}

fn header_json(h: &Header, proposer: Value) -> Value {
    json!({
        "version": {"block": BLOCK_PROTOCOL.to_string(), "app": APP_PROTOCOL.to_string()},
        "chain_id": h.chain_id,
        "height": h.height.to_string(),
        "time": proto_timestamp(h.time),
        "last_block_id": block_id_json(h.last_block_id.as_ref()),
        "last_commit_hash": b64(&h.last_commit_hash),
        "data_hash": b64(&h.data_hash),
        "validators_hash": b64(&h.validators_hash),
        "next_validators_hash": b64(&h.next_validators_hash),
        "consensus_hash": b64(&h.consensus_hash),
        "app_hash": b64(&h.app_hash),
        "last_results_hash": b64(&h.last_results_hash),
        "evidence_hash": b64(&h.evidence_hash),
        "proposer_address": proposer,
    })
}

fn commit_json(c: &Commit) -> Value {
    let signatures: Vec<Value> = c
        .signatures
        .iter()
        .map(|s| {
            json!({"block_id_flag": "BLOCK_ID_FLAG_COMMIT", "validator_address": b64(&s.validator_address),
                   "timestamp": proto_timestamp(s.timestamp), "signature": b64(&s.signature)})
        })
        .collect();
    json!({"height": c.height.to_string(), "round": 0, "block_id": block_id_json(c.block_id.as_ref()), "signatures": signatures})
}

/// `GetLatestBlockResponse` / `GetBlockByHeightResponse`: `block` with a base64 proposer,
/// `sdk_block` with a `cosmosvalcons1…` one.
pub fn block_response_json(b: &Block) -> Value {
    let txs: Vec<String> = b.txs.iter().map(|t| b64(t)).collect();
    let body = |proposer: Value| {
        json!({
            "header": header_json(&b.header, proposer),
            "data": {"txs": txs},
            "evidence": {"evidence": []},
            "last_commit": commit_json(&b.last_commit),
        })
    };
    let valcons = cosmrs::AccountId::new("cosmosvalcons", &b.header.proposer_address)
        .map(|a| a.to_string())
        .unwrap_or_default();
    json!({
        "block_id": block_id_json(Some(&b.id)),
        "block": body(json!(b64(&b.header.proposer_address))),
        "sdk_block": body(json!(valcons)),
    })
}

fn pub_key_json(key: Option<&[u8]>) -> Value {
    key.map_or(Value::Null, |k| json!({"@type": SECP256K1_PUBKEY_TYPE_URL, "key": b64(k)}))
}

/// An account as the auth query's `Any` renders it.
pub fn account_json(a: &Account) -> Value {
    let base = json!({
        "address": a.address,
        "pub_key": pub_key_json(a.pub_key.as_deref()),
        "account_number": a.number.to_string(),
        "sequence": a.sequence.to_string(),
    });
    match &a.module {
        Some(m) => {
            json!({"@type": "/cosmos.auth.v1beta1.ModuleAccount", "base_account": base, "name": m.name, "permissions": m.permissions})
        }
        None => {
            let mut out = json!({"@type": "/cosmos.auth.v1beta1.BaseAccount"});
            if let (Value::Object(o), Value::Object(b)) = (&mut out, base) {
                o.extend(b);
            }
            out
        }
    }
}

fn sign_mode_name(mode: i32) -> &'static str {
    SignMode::try_from(mode).map_or("SIGN_MODE_UNSPECIFIED", |m| m.as_str_name())
}

/// `cosmos.tx.v1beta1.Tx` in gateway JSON.
pub fn tx_json(tx: &DecodedTx, registry: &MsgRegistry) -> Value {
    let messages: Vec<Value> = tx.body.messages.iter().map(|m| registry.msg_json(m)).collect();
    let signer_infos: Vec<Value> = tx
        .auth_info
        .signer_infos
        .iter()
        .map(|s| {
            let key = s.public_key.as_ref().and_then(|k| secp256k1_pubkey_from_any(k).ok());
            let mode = match s.mode_info.as_ref().and_then(|m| m.sum.as_ref()) {
                Some(mode_info::Sum::Single(single)) => json!({"single": {"mode": sign_mode_name(single.mode)}}),
                _ => Value::Null,
            };
            json!({"public_key": pub_key_json(key.as_deref()), "mode_info": mode, "sequence": s.sequence.to_string()})
        })
        .collect();
    let fee = tx.auth_info.fee.clone().unwrap_or_default();
    json!({
        "body": {
            "messages": messages,
            "memo": tx.body.memo,
            "timeout_height": tx.body.timeout_height.to_string(),
            "extension_options": [],
            "non_critical_extension_options": [],
        },
        "auth_info": {
            "signer_infos": signer_infos,
            "fee": {
                "amount": fee.amount.iter().map(|c| json!({"denom": c.denom, "amount": c.amount})).collect::<Vec<_>>(),
                "gas_limit": fee.gas_limit.to_string(),
                "payer": fee.payer,
                "granter": fee.granter,
            },
            "tip": null,
        },
        "signatures": tx.raw.signatures.iter().map(|s| b64(s)).collect::<Vec<_>>(),
    })
}

/// `TxResponse` of a committed tx (v0.50: `logs` always empty, `raw_log` empty on success).
pub fn tx_response_json(t: &IndexedTx, tx: &DecodedTx, registry: &MsgRegistry) -> Value {
    let r = t.result();
    let mut tx_any = json!({"@type": "/cosmos.tx.v1beta1.Tx"});
    if let (Value::Object(o), Value::Object(body)) = (&mut tx_any, tx_json(tx, registry)) {
        o.extend(body);
    }
    json!({
        "height": t.height().to_string(),
        "txhash": hex::encode_upper(t.hash()),
        "codespace": r.codespace,
        "code": r.code,
        "data": hex::encode_upper(&r.data),
        "raw_log": r.log,
        "logs": [],
        "info": "",
        "gas_wanted": r.gas_wanted.to_string(),
        "gas_used": r.gas_used.to_string(),
        "tx": tx_any,
        "timestamp": proto_timestamp(t.block.header.time),
        "events": events_json(&r.events),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_use_groups_of_three_digits() {
        let t = |s: &str| proto_timestamp(s.parse().unwrap());
        assert_eq!(t("2024-01-02T03:04:05Z"), "2024-01-02T03:04:05Z");
        assert_eq!(t("2024-01-02T03:04:05.1Z"), "2024-01-02T03:04:05.100Z");
        assert_eq!(t("2024-01-02T03:04:05.000001Z"), "2024-01-02T03:04:05.000001Z");
        assert_eq!(t("2024-01-02T03:04:05.123456789Z"), "2024-01-02T03:04:05.123456789Z");
    }
}
