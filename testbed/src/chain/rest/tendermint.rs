//! `cosmos.base.tendermint.v1beta1.Service` over REST: node info, syncing, blocks.

use super::shapes::{b64, block_response_json};
use super::{GrpcCode, RestError, ok};
use crate::chain::node::{APP_VERSION, ChainNode};
use crate::chain::rpc::{COMETBFT_VERSION, NODE_CHANNELS_HEX};
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

/// The SDK line the chains run (chain-shapes.md: SDK v0.50, as `rly` v2.6 builds against).
const COSMOS_SDK_VERSION: &str = "v0.50.11";

pub async fn node_info(State(node): State<ChainNode>) -> Response {
    let channels = hex::decode(NODE_CHANNELS_HEX).unwrap_or_default();
    let app = node.0.app_name.clone();
    ok(json!({
        "default_node_info": {
            "protocol_version": {"p2p": "8", "block": "11", "app": "0"},
            "default_node_id": node.0.node_id,
            "listen_addr": "tcp://0.0.0.0:26656",
            "network": node.chain_id(),
            "version": COMETBFT_VERSION,
            "channels": b64(&channels),
            "moniker": node.moniker(),
            "other": {"tx_index": "on", "rpc_address": "tcp://0.0.0.0:26657"},
        },
        "application_version": {
            "name": app,
            "app_name": format!("{app}d"),
            "version": APP_VERSION,
            "git_commit": "",
            "build_tags": "",
            "go_version": "go version go1.22.7 linux/amd64",
            "build_deps": [],
            "cosmos_sdk_version": COSMOS_SDK_VERSION,
        },
    }))
}

pub async fn syncing() -> Response {
    ok(json!({"syncing": false}))
}

pub async fn latest_block(State(node): State<ChainNode>) -> Result<Response, RestError> {
    let block = node.latest_block().ok_or_else(|| RestError::new(GrpcCode::Unknown, "no blocks yet"))?;
    Ok(ok(block_response_json(&block)))
}

/// `GetBlockByHeight` (`client/grpc/cmtservice/service.go`): heights above the chain's are
/// InvalidArgument; zero and negatives fail in CometBFT's `block` call.
pub async fn block_by_height(
    State(node): State<ChainNode>,
    Path(height): Path<String>,
) -> Result<Response, RestError> {
    let parsed: i64 = height.parse().map_err(|_| {
        let msg = format!(
            "type mismatch, parameter: height, error: strconv.ParseInt: parsing \"{height}\": invalid syntax"
        );
        RestError::new(GrpcCode::InvalidArgument, msg)
    })?;
    let latest = node.latest_height();
    if parsed > latest as i64 {
        return Err(RestError::new(
            GrpcCode::InvalidArgument,
            "requested block height is bigger then the chain length",
        ));
    }
    if parsed <= 0 {
        return Err(RestError::new(
            GrpcCode::Unknown,
            format!("height must be greater than 0, but got {parsed}"),
        ));
    }
    let block =
        node.block(parsed as u64).ok_or_else(|| RestError::new(GrpcCode::Unknown, "block not found"))?;
    Ok(ok(block_response_json(&block)))
}
