//! `cosmos.tx.v1beta1.Service` over REST: simulate, broadcast (SYNC/ASYNC; BLOCK refused as
//! v0.50 refuses it) and tx by hash (`x/auth/tx/service.go`, `client/broadcast.go`).

use super::shapes::{b64, tx_json, tx_response_json};
use super::{GrpcCode, RestError, ok};
use crate::chain::events::events_json;
use crate::chain::mempool::MempoolError;
use crate::chain::node::ChainNode;
use crate::chain::sdk_error::{SDK_CODESPACE, codes};
use crate::chain::tx_codec::decode_tx;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine as _;
use cosmrs::proto::prost::Message as _;
use serde_json::{Value, json};

fn body_json(body: &Bytes) -> Result<Value, RestError> {
    serde_json::from_slice(body).map_err(|e| RestError::new(GrpcCode::InvalidArgument, e.to_string()))
}

fn tx_bytes(body: &Value) -> Result<Vec<u8>, RestError> {
    let text = body.get("tx_bytes").and_then(Value::as_str).unwrap_or_default();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| RestError::new(GrpcCode::InvalidArgument, e.to_string()))
}

pub async fn simulate(State(node): State<ChainNode>, body: Bytes) -> Result<Response, RestError> {
    let bytes = tx_bytes(&body_json(&body)?)?;
    if bytes.is_empty() {
        return Err(RestError::new(GrpcCode::InvalidArgument, "empty txBytes is not allowed"));
    }
    let tx = decode_tx(&bytes).map_err(|e| RestError::new(GrpcCode::Unknown, e.log))?;
    let result = node.simulate(&tx);
    if !result.is_ok() {
        let msg = format!(
            "{} With gas wanted: '{}' and gas used: '{}' ",
            result.log, result.gas_wanted, result.gas_used
        );
        return Err(RestError::new(GrpcCode::Unknown, msg));
    }
    let responses = cosmrs::proto::cosmos::base::abci::v1beta1::TxMsgData::decode(result.data.as_slice())
        .map(|d| d.msg_responses)
        .unwrap_or_default();
    let msg_responses: Vec<Value> = responses.iter().map(|r| json!({"@type": r.type_url})).collect();
    Ok(ok(json!({
        "gas_info": {"gas_wanted": result.gas_wanted.to_string(), "gas_used": result.gas_used.to_string()},
        "result": {"data": b64(&result.data), "log": "", "events": events_json(&result.events), "msg_responses": msg_responses},
    })))
}

/// `BroadcastMode`: by name or number; only SYNC and ASYNC are served in v0.50.
fn broadcast_mode(body: &Value) -> Result<&'static str, RestError> {
    let mode = match body.get("mode") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    match mode.as_str() {
        "BROADCAST_MODE_SYNC" | "2" => Ok("sync"),
        "BROADCAST_MODE_ASYNC" | "3" => Ok("async"),
        "BROADCAST_MODE_BLOCK" | "1" | "BROADCAST_MODE_UNSPECIFIED" | "0" | "" => Err(RestError::new(
            GrpcCode::Unknown,
            "unsupported return type unspecified; supported types: sync, async",
        )),
        other => Err(RestError::new(
            GrpcCode::InvalidArgument,
            format!("invalid value for enum type: \"{other}\""),
        )),
    }
}

fn tx_response(hash: &str, code: u32, codespace: &str, data: &[u8], raw_log: &str) -> Value {
    json!({"tx_response": {
        "height": "0", "txhash": hash, "codespace": codespace, "code": code, "data": hex::encode_upper(data),
        "raw_log": raw_log, "logs": [], "info": "", "gas_wanted": "0", "gas_used": "0", "tx": null,
        "timestamp": "", "events": [],
    }})
}

pub async fn broadcast(State(node): State<ChainNode>, body: Bytes) -> Result<Response, RestError> {
    let body = body_json(&body)?;
    let bytes = tx_bytes(&body)?;
    if bytes.is_empty() {
        return Err(RestError::new(GrpcCode::InvalidArgument, "invalid empty tx"));
    }
    let mode = broadcast_mode(&body)?;
    let hash = hex::encode_upper(crate::chain::tx_codec::tx_hash(&bytes));
    match node.check_tx(&bytes) {
        // `CheckCometError` maps CometBFT's refusals to SDK codes with an empty raw log.
        Err(MempoolError::InCache) => {
            Ok(ok(tx_response(&hash, codes::TX_IN_MEMPOOL_CACHE.0, SDK_CODESPACE, &[], "")))
        }
        Err(MempoolError::Full { .. }) => {
            Ok(ok(tx_response(&hash, codes::MEMPOOL_IS_FULL.0, SDK_CODESPACE, &[], "")))
        }
        Err(MempoolError::TooLarge { .. }) => {
            Ok(ok(tx_response(&hash, codes::TX_TOO_LARGE.0, SDK_CODESPACE, &[], "")))
        }
        Ok(_) if mode == "async" => Ok(ok(tx_response(&hash, 0, "", &[], ""))),
        Ok(outcome) => {
            let r = outcome.result;
            Ok(ok(tx_response(&hash, r.code, &r.codespace, &r.data, &r.log)))
        }
    }
}

pub async fn by_hash(State(node): State<ChainNode>, Path(hash): Path<String>) -> Result<Response, RestError> {
    let not_found = || RestError::new(GrpcCode::NotFound, format!("tx not found: {hash}"));
    let bytes = hex::decode(&hash).map_err(|_| not_found())?;
    let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| not_found())?;
    let found = node.find_tx(&key).ok_or_else(not_found)?;
    let tx = decode_tx(found.bytes()).map_err(|e| RestError::new(GrpcCode::Unknown, e.log))?;
    let registry = node.msg_registry();
    Ok(ok(json!({"tx": tx_json(&tx, registry), "tx_response": tx_response_json(&found, &tx, registry)})))
}
