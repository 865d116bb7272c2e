//! ibc-go's REST reads (grpc-gateway routes of `ibc.core.channel.v1.Query`): a chain's channel
//! ends and the chain each channel's client tracks. The one IBC listing of the product: the
//! reconcile steps and the resource snapshot both read channels here.

use super::{ChainClient, Result};
use serde_json::Value;

/// One channel end as `/ibc/core/channel/v1/channels` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelEnd {
    pub port_id: String,
    pub channel_id: String,
    /// `STATE_OPEN`, `STATE_INIT`, … as ibc-go's JSON writes the enum.
    pub state: String,
    pub counterparty_port_id: String,
    pub counterparty_channel_id: String,
    pub connection_hops: Vec<String>,
}

/// Most channels a chain of this testbed carries, asked for in one page.
const PAGE_LIMIT: &str = "1000";

fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Reads one entry of ibc-go's `channels` list.
pub fn channel_end(v: &Value) -> ChannelEnd {
    ChannelEnd {
        port_id: text(v, "/port_id"),
        channel_id: text(v, "/channel_id"),
        state: text(v, "/state"),
        counterparty_port_id: text(v, "/counterparty/port_id"),
        counterparty_channel_id: text(v, "/counterparty/channel_id"),
        connection_hops: v["connection_hops"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
    }
}

/// Every channel end of the chain behind `api`.
pub async fn channels(client: &ChainClient, api: &str) -> Result<Vec<ChannelEnd>> {
    let list =
        client.rest_get(api, "/ibc/core/channel/v1/channels", &[("pagination.limit", PAGE_LIMIT)]).await?;
    Ok(list["channels"].as_array().into_iter().flatten().map(channel_end).collect())
}

/// The chain id the client under `port`/`channel` tracks (`client_state.chain_id`), if the
/// chain says.
pub async fn counterparty_chain(
    client: &ChainClient,
    api: &str,
    port: &str,
    channel: &str,
) -> Result<Option<String>> {
    let path = format!("/ibc/core/channel/v1/channels/{channel}/ports/{port}/client_state");
    let body = client.rest_get(api, &path, &[]).await?;
    Ok(body
        .pointer("/identified_client_state/client_state/chain_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_string))
}

/// A connection end (`/ibc/core/connection/v1/connections/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionEnd {
    pub connection_id: String,
    pub client_id: String,
    /// `STATE_OPEN`, `STATE_INIT`, `STATE_TRYOPEN`.
    pub state: String,
    pub counterparty_client_id: String,
    pub counterparty_connection_id: String,
}

/// What a channel's light client says (`…/client_state`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStateView {
    pub client_id: String,
    /// The chain the client tracks.
    pub chain_id: Option<String>,
    /// `trusting_period` in seconds (`"1209600s"` in JSON).
    pub trusting_period_secs: Option<u64>,
    pub latest_height: Option<u64>,
}

/// Seconds of a protobuf Duration in JSON (`"1209600s"`, `"0.5s"`).
fn duration_secs(text: &str) -> Option<u64> {
    let secs: f64 = text.strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then_some(secs as u64)
}

fn u64_text(v: &Value, pointer: &str) -> Option<u64> {
    match v.pointer(pointer)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// One channel end (`/ibc/core/channel/v1/channels/{channel}/ports/{port}`).
pub async fn channel(client: &ChainClient, api: &str, port: &str, channel: &str) -> Result<ChannelEnd> {
    let body =
        client.rest_get(api, &format!("/ibc/core/channel/v1/channels/{channel}/ports/{port}"), &[]).await?;
    let mut end = channel_end(&body["channel"]);
    // The single-channel answer does not repeat its own ids.
    end.port_id = port.to_string();
    end.channel_id = channel.to_string();
    Ok(end)
}

pub async fn connection(client: &ChainClient, api: &str, id: &str) -> Result<ConnectionEnd> {
    let body = client.rest_get(api, &format!("/ibc/core/connection/v1/connections/{id}"), &[]).await?;
    let c = &body["connection"];
    Ok(ConnectionEnd {
        connection_id: id.to_string(),
        client_id: text(c, "/client_id"),
        state: text(c, "/state"),
        counterparty_client_id: text(c, "/counterparty/client_id"),
        counterparty_connection_id: text(c, "/counterparty/connection_id"),
    })
}

/// `Active`, `Expired`, `Frozen`, … (`/ibc/core/client/v1/client_status/{id}`).
pub async fn client_status(client: &ChainClient, api: &str, id: &str) -> Result<String> {
    let body = client.rest_get(api, &format!("/ibc/core/client/v1/client_status/{id}"), &[]).await?;
    Ok(text(&body, "/status"))
}

pub async fn client_state(
    client: &ChainClient,
    api: &str,
    port: &str,
    channel: &str,
) -> Result<ClientStateView> {
    let path = format!("/ibc/core/channel/v1/channels/{channel}/ports/{port}/client_state");
    let body = client.rest_get(api, &path, &[]).await?;
    let ics = &body["identified_client_state"];
    Ok(ClientStateView {
        client_id: text(ics, "/client_id"),
        chain_id: ics.pointer("/client_state/chain_id").and_then(Value::as_str).map(str::to_string),
        trusting_period_secs: ics
            .pointer("/client_state/trusting_period")
            .and_then(Value::as_str)
            .and_then(duration_secs),
        latest_height: u64_text(ics, "/client_state/latest_height/revision_height"),
    })
}

/// When a client's latest consensus state was made: the tracked chain's header time
/// (`/ibc/core/client/v1/consensus_states/{id}/…?latest_height=true`).
pub async fn latest_consensus_time(
    client: &ChainClient,
    api: &str,
    id: &str,
) -> Result<Option<jiff::Timestamp>> {
    let path = format!("/ibc/core/client/v1/consensus_states/{id}/revision/0/height/0");
    let body = client.rest_get(api, &path, &[("latest_height", "true")]).await?;
    Ok(body.pointer("/consensus_state/timestamp").and_then(Value::as_str).and_then(|t| t.parse().ok()))
}

/// Sequences listed under `key` (`commitments`, `acknowledgements`) of a packet-state list.
fn listed_sequences(body: &Value, key: &str) -> Vec<u64> {
    let mut seqs: Vec<u64> =
        body[key].as_array().into_iter().flatten().filter_map(|s| u64_text(s, "/sequence")).collect();
    seqs.sort_unstable();
    seqs
}

fn sequence_list(body: &Value) -> Vec<u64> {
    let mut seqs: Vec<u64> = body["sequences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().and_then(|s| s.parse().ok()).or_else(|| s.as_u64()))
        .collect();
    seqs.sort_unstable();
    seqs
}

fn joined(seqs: &[u64]) -> String {
    seqs.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// Asked of the receiving chain (its own `port`/`channel`): which of the sender's commitment
/// sequences it has not received.
pub async fn unreceived_packets(
    client: &ChainClient,
    api: &str,
    port: &str,
    channel: &str,
    sequences: &[u64],
) -> Result<Vec<u64>> {
    unreceived(client, api, port, channel, sequences, "unreceived_packets").await
}

/// Asked of the sending chain (its own `port`/`channel`): which of the receiver's
/// acknowledgement sequences still have a commitment here, i.e. acks not yet relayed back.
pub async fn unreceived_acks(
    client: &ChainClient,
    api: &str,
    port: &str,
    channel: &str,
    sequences: &[u64],
) -> Result<Vec<u64>> {
    unreceived(client, api, port, channel, sequences, "unreceived_acks").await
}

/// `…/packet_commitments/{sequences}/{query}`: the sequences the chain says are still owed.
async fn unreceived(
    client: &ChainClient,
    api: &str,
    port: &str,
    channel: &str,
    sequences: &[u64],
    query: &str,
) -> Result<Vec<u64>> {
    if sequences.is_empty() {
        return Ok(Vec::new());
    }
    let path = format!(
        "/ibc/core/channel/v1/channels/{channel}/ports/{port}/packet_commitments/{}/{query}",
        joined(sequences)
    );
    Ok(sequence_list(&client.rest_get(api, &path, &[]).await?))
}

/// Packet commitments of `port`/`channel` and the height the chain answered at.
pub async fn packet_commitments_at(
    client: &ChainClient,
    api: &str,
    port: &str,
    channel: &str,
) -> Result<(Vec<u64>, Option<u64>)> {
    packet_states_at(client, api, port, channel, "packet_commitments", "commitments").await
}

/// Written acknowledgements of `port`/`channel` and the height the chain answered at.
pub async fn packet_acknowledgements_at(
    client: &ChainClient,
    api: &str,
    port: &str,
    channel: &str,
) -> Result<(Vec<u64>, Option<u64>)> {
    packet_states_at(client, api, port, channel, "packet_acknowledgements", "acknowledgements").await
}

/// A `PacketState` list route (`route`, its list under `key`) and the answer's height.
async fn packet_states_at(
    client: &ChainClient,
    api: &str,
    port: &str,
    channel: &str,
    route: &str,
    key: &str,
) -> Result<(Vec<u64>, Option<u64>)> {
    let path = format!("/ibc/core/channel/v1/channels/{channel}/ports/{port}/{route}");
    let body = client.rest_get(api, &path, &[("pagination.limit", PAGE_LIMIT)]).await?;
    Ok((listed_sequences(&body, key), u64_text(&body, "/height/revision_height")))
}

/// The height of the tx whose `event` (`send_packet` on the sender, `write_acknowledgement` on
/// the receiver) is for `sequence` on the end `port`/`channel` (its `packet_<side>_port` and
/// `…_channel`): one `tx_search` on the chain's RPC; `None` when the chain indexes none.
pub async fn packet_event_height(
    client: &ChainClient,
    rpc: &str,
    (event, side): (&str, &str),
    port: &str,
    channel: &str,
    sequence: u64,
) -> Result<Option<u64>> {
    let query = format!(
        "\"{event}.packet_{side}_port='{port}' AND {event}.packet_{side}_channel='{channel}' AND \
         {event}.packet_sequence='{sequence}'\""
    );
    let params = [("query", query), ("per_page", "1".to_string()), ("order_by", "\"asc\"".to_string())];
    let found = client.rpc(rpc, "tx_search", &params).await?;
    Ok(found.pointer("/txs/0/height").and_then(Value::as_str).and_then(|h| h.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn protobuf_durations_and_packet_lists_read_as_ibc_go_writes_them() {
        assert_eq!(duration_secs("1209600s"), Some(1_209_600));
        assert_eq!(duration_secs("0.5s"), Some(0));
        assert_eq!(duration_secs("forever"), None);
        let body = json!({"commitments": [{"sequence": "3"}, {"sequence": "1"}], "pagination": {}});
        assert_eq!(listed_sequences(&body, "commitments"), vec![1, 3]);
        assert_eq!(sequence_list(&json!({"sequences": ["5", "2"]})), vec![2, 5]);
    }
}
