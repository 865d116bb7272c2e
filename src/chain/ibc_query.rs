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
