//! ibc-go v8 packet, connection and client queries (`proto/ibc/core/{channel,connection,
//! client}/v1/query.proto`): commitments, unreceived packets/acks, acknowledgements,
//! connection ends and client status, over the chain's packet store.

use super::{GrpcCode, RestError, ok};
use crate::chain::node::ChainNode;
use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

fn height(node: &ChainNode) -> Value {
    json!({"revision_number": "0", "revision_height": node.latest_height().to_string()})
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn state(port: &str, channel: &str, seq: u64, data: &[u8]) -> Value {
    json!({"port_id": port, "channel_id": channel, "sequence": seq.to_string(), "data": b64(data)})
}

fn page(n: usize) -> Value {
    json!({"next_key": null, "total": n.to_string()})
}

/// `1,2,3` as the gateway parses a repeated uint64 path parameter.
fn sequences(raw: &str) -> Result<Vec<u64>, RestError> {
    raw.split(',').filter(|s| !s.is_empty()).map(|s| s.parse().map_err(|_| {
        RestError::new(GrpcCode::InvalidArgument, format!("type mismatch, parameter: sequences, error: strconv.ParseUint: parsing \"{s}\": invalid syntax"))
    })).collect()
}

pub async fn commitments(
    State(node): State<ChainNode>,
    Path((channel, port)): Path<(String, String)>,
) -> Response {
    let list: Vec<Value> = node.read_state(|l| {
        l.packets()
            .commitments
            .iter()
            .filter(|((k, _), _)| k.0 == port && k.1 == channel)
            .map(|((_, seq), (c, _))| state(&port, &channel, *seq, c))
            .collect()
    });
    ok(json!({"commitments": list, "pagination": page(list.len()), "height": height(&node)}))
}

pub async fn acknowledgements(
    State(node): State<ChainNode>,
    Path((channel, port)): Path<(String, String)>,
) -> Response {
    let list: Vec<Value> = node.read_state(|l| {
        l.packets()
            .acks
            .iter()
            .filter(|((k, _), _)| k.0 == port && k.1 == channel)
            .map(|((_, seq), (ack, _))| {
                state(&port, &channel, *seq, &crate::chain::packets::ack_commitment(ack))
            })
            .collect()
    });
    ok(json!({"acknowledgements": list, "pagination": page(list.len()), "height": height(&node)}))
}

/// On the destination: which of the source's commitment sequences have no receipt here.
pub async fn unreceived_packets(
    State(node): State<ChainNode>,
    Path((channel, port, seqs)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let seqs = sequences(&seqs)?;
    let key = (port, channel);
    let out: Vec<String> = node.read_state(|l| {
        seqs.iter()
            .filter(|s| !l.packets().receipts.contains(&(key.clone(), **s)))
            .map(u64::to_string)
            .collect()
    });
    Ok(ok(json!({"sequences": out, "height": height(&node)})))
}

/// On the source: which of the destination's ack sequences still have a commitment here.
pub async fn unreceived_acks(
    State(node): State<ChainNode>,
    Path((channel, port, seqs)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let seqs = sequences(&seqs)?;
    let key = (port, channel);
    let out: Vec<String> = node.read_state(|l| {
        seqs.iter()
            .filter(|s| l.packets().commitments.contains_key(&(key.clone(), **s)))
            .map(u64::to_string)
            .collect()
    });
    Ok(ok(json!({"sequences": out, "height": height(&node)})))
}

pub async fn connection(
    State(node): State<ChainNode>,
    Path(id): Path<String>,
) -> Result<Response, RestError> {
    let c = node
        .read_state(|l| l.packets().connections.get(&id).cloned())
        .ok_or_else(|| RestError::new(GrpcCode::NotFound, format!("{id}: connection not found")))?;
    Ok(ok(json!({
        "connection": {
            "client_id": c.client_id,
            "versions": [{"identifier": "1", "features": ["ORDER_ORDERED", "ORDER_UNORDERED"]}],
            "state": "STATE_OPEN",
            "counterparty": {"client_id": c.counterparty_client_id, "connection_id": c.counterparty_connection_id,
                             "prefix": {"key_prefix": b64(b"ibc")}},
            "delay_period": "0",
        },
        "proof": null,
        "proof_height": height(&node),
    })))
}

/// The light client `id`, or ibc-go's NotFound.
fn client(node: &ChainNode, id: &str) -> Result<crate::chain::packets::ClientInfo, RestError> {
    node.client(id).ok_or_else(|| RestError::new(GrpcCode::NotFound, format!("client {id} not found")))
}

pub async fn client_status(
    State(node): State<ChainNode>,
    Path(id): Path<String>,
) -> Result<Response, RestError> {
    let c = client(&node, &id)?;
    Ok(ok(json!({"status": c.status_at(host_time(&node)).as_str()})))
}

/// The time queries judge client status by: the latest block's (ibc-go uses the query
/// context's block time).
pub fn host_time(node: &ChainNode) -> jiff::Timestamp {
    node.latest_block().map_or_else(jiff::Timestamp::now, |b| b.header.time)
}

#[derive(serde::Deserialize)]
pub struct ConsensusQuery {
    #[serde(default)]
    latest_height: bool,
}

/// A client's consensus state at a height, or its latest with `latest_height=true`
/// (`ibc/core/client/v1 Query/ConsensusState`).
pub async fn consensus_state(
    State(node): State<ChainNode>,
    Path((id, _revision, revision_height)): Path<(String, String, String)>,
    axum::extract::Query(q): axum::extract::Query<ConsensusQuery>,
) -> Result<Response, RestError> {
    let c = client(&node, &id)?;
    let found = if q.latest_height {
        c.latest()
    } else {
        let h: u64 = revision_height
            .parse()
            .map_err(|_| RestError::new(GrpcCode::InvalidArgument, "invalid revision height"))?;
        c.consensus.get(&h).map(|state| (h, *state))
    };
    let Some((_, state)) = found else {
        return Err(RestError::new(
            GrpcCode::NotFound,
            format!("consensus state not found: client {id} at height {revision_height}"),
        ));
    };
    Ok(ok(json!({
        "consensus_state": {
            "@type": "/ibc.lightclients.tendermint.v1.ConsensusState",
            "timestamp": state.time.to_string(),
            "root": {"hash": b64(&state.root)},
            "next_validators_hash": hex::encode_upper(state.next_validators_hash),
        },
        "proof": null,
        "proof_height": height(&node),
    })))
}
