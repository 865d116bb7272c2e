//! ibc-go's packet events read out of one block's `block_results`: `send_packet`,
//! `recv_packet`, `acknowledge_packet` and `timeout_packet` of the txs that succeeded, each with
//! the account that sent its message (the `message` event of the same `msg_index`), and the
//! `MsgRecvPacket`s that changed nothing: ibc-go makes a redundant relay a no-op success that
//! emits no `recv_packet`, so such a message shows only as its `message` event.

use serde_json::Value;

pub const MSG_RECV_PACKET: &str = "/ibc.core.channel.v1.MsgRecvPacket";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Send,
    Recv,
    Ack,
    Timeout,
}

impl Kind {
    fn of(event_type: &str) -> Option<Self> {
        Some(match event_type {
            "send_packet" => Self::Send,
            "recv_packet" => Self::Recv,
            "acknowledge_packet" => Self::Ack,
            "timeout_packet" => Self::Timeout,
            _ => return None,
        })
    }
}

/// One packet event with the route that identifies the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketEvent {
    pub kind: Kind,
    pub src_port: String,
    pub src_channel: String,
    pub dst_port: String,
    pub dst_channel: String,
    pub sequence: u64,
    /// The packet data (`packet_data_hex`), when the event carries it.
    pub data: Option<Vec<u8>>,
    /// Who sent the message that emitted it (the relayer, for recv/ack/timeout).
    pub signer: Option<String>,
}

/// A `MsgRecvPacket` of a successful tx that emitted no `recv_packet`: a redundant relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoOpRecv {
    pub tx_index: usize,
    pub msg_index: u64,
    pub signer: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockPackets {
    pub events: Vec<PacketEvent>,
    pub no_op_recvs: Vec<NoOpRecv>,
}

fn attr<'a>(event: &'a Value, key: &str) -> Option<&'a str> {
    event["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"].as_str() == Some(key))
        .and_then(|a| a["value"].as_str())
}

fn msg_index(event: &Value) -> Option<u64> {
    attr(event, "msg_index").and_then(|i| i.parse().ok())
}

/// The packet events of a `block_results` answer, txs in block order.
pub fn parse(results: &Value) -> BlockPackets {
    let mut out = BlockPackets::default();
    let txs = results["txs_results"].as_array().map(Vec::as_slice).unwrap_or_default();
    for (tx_index, tx) in txs.iter().enumerate() {
        if tx["code"].as_u64().unwrap_or(0) != 0 {
            continue;
        }
        let events = tx["events"].as_array().map(Vec::as_slice).unwrap_or_default();
        let sender_of = |index: Option<u64>| {
            events
                .iter()
                .find(|e| e["type"] == "message" && msg_index(e) == index && attr(e, "sender").is_some())
                .and_then(|e| attr(e, "sender"))
                .map(str::to_string)
        };
        for e in events {
            let Some(kind) = e["type"].as_str().and_then(Kind::of) else { continue };
            let text = |k: &str| attr(e, k).unwrap_or_default().to_string();
            let Some(sequence) = attr(e, "packet_sequence").and_then(|s| s.parse().ok()) else { continue };
            out.events.push(PacketEvent {
                kind,
                src_port: text("packet_src_port"),
                src_channel: text("packet_src_channel"),
                dst_port: text("packet_dst_port"),
                dst_channel: text("packet_dst_channel"),
                sequence,
                data: attr(e, "packet_data_hex").and_then(|h| hex::decode(h).ok()),
                signer: sender_of(msg_index(e)),
            });
        }
        for e in
            events.iter().filter(|e| e["type"] == "message" && attr(e, "action") == Some(MSG_RECV_PACKET))
        {
            let index = msg_index(e);
            let received = events.iter().any(|r| r["type"] == "recv_packet" && msg_index(r) == index);
            if let (false, Some(msg_index)) = (received, index) {
                out.no_op_recvs.push(NoOpRecv {
                    tx_index,
                    msg_index,
                    signer: attr(e, "sender").map(str::to_string),
                });
            }
        }
    }
    out
}

/// `GatewayPacketData` as far as the session goes: a fragment (field 2, its `session_id` 1) or
/// a manifest (field 3, its `session_id` 7).
#[derive(Clone, PartialEq, prost::Message)]
struct GatewayPacketData {
    #[prost(message, optional, tag = "2")]
    fragment: Option<FragmentPacket>,
    #[prost(message, optional, tag = "3")]
    manifest: Option<ManifestPacket>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FragmentPacket {
    #[prost(string, tag = "1")]
    session_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ManifestPacket {
    #[prost(string, tag = "7")]
    session_id: String,
}

/// What a gateway packet carries (`fragment` or `manifest`) and for which upload session.
pub fn gateway_payload(data: &[u8]) -> Option<(&'static str, String)> {
    let d = <GatewayPacketData as prost::Message>::decode(data).ok()?;
    match (d.fragment, d.manifest) {
        (Some(f), _) => Some(("fragment", f.session_id)),
        (None, Some(m)) => Some(("manifest", m.session_id)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, attrs: &[(&str, &str)]) -> Value {
        let attributes: Vec<Value> = attrs.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
        json!({"type": kind, "attributes": attributes})
    }

    #[test]
    fn packet_events_carry_their_route_and_the_relayer_and_a_no_op_recv_is_seen() {
        let route = [
            ("packet_sequence", "4"),
            ("packet_src_port", "gateway"),
            ("packet_src_channel", "channel-1"),
            ("packet_dst_port", "datastore"),
            ("packet_dst_channel", "channel-0"),
            ("packet_data_hex", "0a0b"),
        ];
        let mut recv: Vec<(&str, &str)> = route.to_vec();
        recv.push(("msg_index", "1"));
        let results = json!({"txs_results": [
            {"code": 0, "events": [
                event("message", &[("action", "/ibc.core.client.v1.MsgUpdateClient"), ("sender", "r"), ("msg_index", "0")]),
                event("message", &[("action", MSG_RECV_PACKET), ("sender", "relayer1"), ("msg_index", "1")]),
                event("recv_packet", &recv),
                event("message", &[("action", MSG_RECV_PACKET), ("sender", "relayer1"), ("msg_index", "2")]),
            ]},
            {"code": 5, "events": [event("send_packet", &route)]},
        ]});
        let b = parse(&results);
        assert_eq!(b.events.len(), 1, "a failed tx's events do not count");
        let e = &b.events[0];
        assert_eq!((e.kind, e.sequence, e.src_channel.as_str()), (Kind::Recv, 4, "channel-1"));
        assert_eq!(e.data.as_deref(), Some(&[0x0a, 0x0b][..]));
        assert_eq!(e.signer.as_deref(), Some("relayer1"));
        assert_eq!(
            b.no_op_recvs,
            vec![NoOpRecv { tx_index: 0, msg_index: 2, signer: Some("relayer1".into()) }]
        );
    }

    #[test]
    fn gateway_payloads_name_their_session() {
        use prost::Message as _;
        let d =
            GatewayPacketData { fragment: Some(FragmentPacket { session_id: "s1".into() }), manifest: None };
        assert_eq!(gateway_payload(&d.encode_to_vec()), Some(("fragment", "s1".into())));
        let d =
            GatewayPacketData { fragment: None, manifest: Some(ManifestPacket { session_id: "s2".into() }) };
        assert_eq!(gateway_payload(&d.encode_to_vec()), Some(("manifest", "s2".into())));
        assert_eq!(gateway_payload(&[0xff]), None);
    }
}
