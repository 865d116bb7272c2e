//! IBC channel queries (`ibc-go v8 : modules/core/04-channel/keeper/grpc_query.go`) and gwc's
//! gateway storage-endpoint query, over the state the in-pod simulations write.

use super::{GrpcCode, RestError, ok};
use crate::chain::gateway::storage_endpoints_json;
use crate::chain::ibc::IbcChannel;
use crate::chain::node::ChainNode;
use crate::chain::packets::DEFAULT_TRUSTING_PERIOD_SECS;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

/// The gateway module exists only in gwc's app.
const GATEWAY_APP: &str = "gwc";

/// IBC `ParseChainID`: the revision is the number after the last `-` when it has no leading
/// zero (`gwc`, `fdsc-0` → 0).
fn revision_number(chain_id: &str) -> u64 {
    match chain_id.rsplit_once('-') {
        Some((_, n)) if !n.starts_with('0') => n.parse().unwrap_or(0),
        _ => 0,
    }
}

fn height_json(node: &ChainNode) -> Value {
    json!({"revision_number": revision_number(node.chain_id()).to_string(), "revision_height": node.latest_height().to_string()})
}

fn channel_fields(c: &IbcChannel) -> serde_json::Map<String, Value> {
    let v = json!({
        "state": c.state.as_proto_name(),
        "ordering": c.ordering,
        "counterparty": {"port_id": c.counterparty_port_id, "channel_id": c.counterparty_channel_id},
        "connection_hops": [c.connection_id],
        "version": c.version,
    });
    v.as_object().cloned().unwrap_or_default()
}

/// `IdentifiedChannel` (v8 adds `upgrade_sequence`).
fn identified_channel_json(c: &IbcChannel) -> Value {
    let mut fields = channel_fields(c);
    fields.insert("port_id".into(), json!(c.port_id));
    fields.insert("channel_id".into(), json!(c.channel_id));
    fields.insert("upgrade_sequence".into(), json!("0"));
    Value::Object(fields)
}

pub async fn channels(State(node): State<ChainNode>) -> Response {
    let channels = node.channels();
    let list: Vec<Value> = channels.iter().map(identified_channel_json).collect();
    ok(json!({
        "channels": list,
        "pagination": {"next_key": null, "total": channels.len().to_string()},
        "height": height_json(&node),
    }))
}

fn find(node: &ChainNode, channel_id: &str, port_id: &str) -> Result<IbcChannel, RestError> {
    node.channels().into_iter().find(|c| c.channel_id == channel_id && c.port_id == port_id).ok_or_else(
        || {
            RestError::new(
                GrpcCode::NotFound,
                format!("port-id: {port_id}, channel-id: {channel_id}: channel not found"),
            )
        },
    )
}

pub async fn channel(
    State(node): State<ChainNode>,
    Path((channel_id, port_id)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let c = find(&node, &channel_id, &port_id)?;
    let mut fields = channel_fields(&c);
    fields.insert("upgrade_sequence".into(), json!("0"));
    Ok(ok(json!({"channel": Value::Object(fields), "proof": null, "proof_height": height_json(&node)})))
}

/// The channel's light client, whose `chain_id` names the chain on the other end.
pub async fn client_state(
    State(node): State<ChainNode>,
    Path((channel_id, port_id)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let c = find(&node, &channel_id, &port_id)?;
    let client = node.client(&c.client_id);
    let latest_height = client.as_ref().and_then(|k| k.latest()).map_or(0, |(h, _)| h);
    let trusting_period = client.map_or(DEFAULT_TRUSTING_PERIOD_SECS, |k| k.trusting_period_secs);
    let zero = json!({"revision_number": "0", "revision_height": "0"});
    let latest = json!({"revision_number": revision_number(&c.counterparty_chain_id).to_string(), "revision_height": latest_height.to_string()});
    let client_state = json!({
        "@type": "/ibc.lightclients.tendermint.v1.ClientState",
        "chain_id": c.counterparty_chain_id,
        "trust_level": {"numerator": "1", "denominator": "3"},
        "trusting_period": format!("{trusting_period}s"),
        "unbonding_period": "1814400s",
        "max_clock_drift": "20s",
        "frozen_height": zero,
        "latest_height": latest,
        "proof_specs": [],
        "upgrade_path": ["upgrade", "upgradedIBCState"],
        "allow_update_after_expiry": true,
        "allow_update_after_misbehaviour": true,
    });
    Ok(ok(json!({
        "identified_client_state": {"client_id": c.client_id, "client_state": client_state},
        "proof": null,
        "proof_height": height_json(&node),
    })))
}

pub async fn storage_endpoints(State(node): State<ChainNode>) -> Result<Response, RestError> {
    if node.0.app_name != GATEWAY_APP {
        return Err(RestError::new(GrpcCode::Unimplemented, "Not Implemented"));
    }
    Ok(ok(storage_endpoints_json(&node.storage_endpoints())))
}

#[cfg(test)]
mod tests {
    use super::revision_number;

    #[test]
    fn revision_numbers_follow_ibc_chain_id_parsing() {
        assert_eq!(revision_number("gwc"), 0);
        assert_eq!(revision_number("fdsc-0"), 0);
        assert_eq!(revision_number("osmosis-1"), 1);
    }
}
