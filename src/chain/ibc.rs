//! IBC messages a relayer or a transfer puts in txs, declared by hand from ibc-go v8's
//! protos (`proto/ibc/applications/transfer/v1/tx.proto`, `core/channel/v1/{channel,tx}.proto`,
//! `core/client/v1/{client,tx}.proto`): no ibc-proto crate is in the dependency graph (it
//! would pull a second tendermint line). Only what decode shows is declared.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cosmrs::proto::Any;
use cosmrs::proto::cosmos::base::v1beta1::Coin;
use prost::Message;
use serde_json::{Value, json};

pub const MSG_TRANSFER: &str = "/ibc.applications.transfer.v1.MsgTransfer";
pub const MSG_RECV_PACKET: &str = "/ibc.core.channel.v1.MsgRecvPacket";
pub const MSG_ACKNOWLEDGEMENT: &str = "/ibc.core.channel.v1.MsgAcknowledgement";
pub const MSG_TIMEOUT: &str = "/ibc.core.channel.v1.MsgTimeout";
pub const MSG_UPDATE_CLIENT: &str = "/ibc.core.client.v1.MsgUpdateClient";

/// `ibc.core.client.v1.Height`.
#[derive(Clone, PartialEq, Message)]
pub struct Height {
    #[prost(uint64, tag = "1")]
    pub revision_number: u64,
    #[prost(uint64, tag = "2")]
    pub revision_height: u64,
}

#[derive(Clone, PartialEq, Message)]
pub struct MsgTransfer {
    #[prost(string, tag = "1")]
    pub source_port: String,
    #[prost(string, tag = "2")]
    pub source_channel: String,
    #[prost(message, optional, tag = "3")]
    pub token: Option<Coin>,
    #[prost(string, tag = "4")]
    pub sender: String,
    #[prost(string, tag = "5")]
    pub receiver: String,
    #[prost(message, optional, tag = "6")]
    pub timeout_height: Option<Height>,
    #[prost(uint64, tag = "7")]
    pub timeout_timestamp: u64,
    #[prost(string, tag = "8")]
    pub memo: String,
}

/// `ibc.core.channel.v1.Packet`.
#[derive(Clone, PartialEq, Message)]
pub struct Packet {
    #[prost(uint64, tag = "1")]
    pub sequence: u64,
    #[prost(string, tag = "2")]
    pub source_port: String,
    #[prost(string, tag = "3")]
    pub source_channel: String,
    #[prost(string, tag = "4")]
    pub destination_port: String,
    #[prost(string, tag = "5")]
    pub destination_channel: String,
    #[prost(bytes = "vec", tag = "6")]
    pub data: Vec<u8>,
    #[prost(message, optional, tag = "7")]
    pub timeout_height: Option<Height>,
    #[prost(uint64, tag = "8")]
    pub timeout_timestamp: u64,
}

#[derive(Clone, PartialEq, Message)]
pub struct MsgRecvPacket {
    #[prost(message, optional, tag = "1")]
    pub packet: Option<Packet>,
    #[prost(message, optional, tag = "3")]
    pub proof_height: Option<Height>,
    #[prost(string, tag = "4")]
    pub signer: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct MsgAcknowledgement {
    #[prost(message, optional, tag = "1")]
    pub packet: Option<Packet>,
    #[prost(bytes = "vec", tag = "2")]
    pub acknowledgement: Vec<u8>,
    #[prost(message, optional, tag = "4")]
    pub proof_height: Option<Height>,
    #[prost(string, tag = "5")]
    pub signer: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct MsgTimeout {
    #[prost(message, optional, tag = "1")]
    pub packet: Option<Packet>,
    #[prost(message, optional, tag = "3")]
    pub proof_height: Option<Height>,
    #[prost(uint64, tag = "4")]
    pub next_sequence_recv: u64,
    #[prost(string, tag = "5")]
    pub signer: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct MsgUpdateClient {
    #[prost(string, tag = "1")]
    pub client_id: String,
    #[prost(message, optional, tag = "2")]
    pub client_message: Option<Any>,
    #[prost(string, tag = "3")]
    pub signer: String,
}

fn height_json(h: Option<Height>) -> Value {
    h.map_or(Value::Null, |h| {
        json!({"revisionNumber": h.revision_number.to_string(), "revisionHeight": h.revision_height.to_string()})
    })
}

/// Packet data as JSON when it is JSON (ICS-20 `FungibleTokenPacketData` is), else base64.
fn bytes_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(BASE64.encode(bytes)))
}

fn packet_json(p: Option<Packet>) -> Value {
    p.map_or(Value::Null, |p| {
        json!({
            "sequence": p.sequence.to_string(),
            "sourcePort": p.source_port,
            "sourceChannel": p.source_channel,
            "destinationPort": p.destination_port,
            "destinationChannel": p.destination_channel,
            "data": bytes_json(&p.data),
            "timeoutHeight": height_json(p.timeout_height),
            "timeoutTimestamp": p.timeout_timestamp.to_string(),
        })
    })
}

/// The decoded value of an IBC message we declare; `None` for others or bad bytes.
pub fn message_value(any: &Any) -> Option<Value> {
    let bytes = any.value.as_slice();
    match any.type_url.as_str() {
        MSG_TRANSFER => MsgTransfer::decode(bytes).ok().map(|m| {
            json!({
                "sourcePort": m.source_port,
                "sourceChannel": m.source_channel,
                "token": m.token.map(|c| json!({"denom": c.denom, "amount": c.amount})),
                "sender": m.sender,
                "receiver": m.receiver,
                "timeoutHeight": height_json(m.timeout_height),
                "timeoutTimestamp": m.timeout_timestamp.to_string(),
                "memo": m.memo,
            })
        }),
        MSG_RECV_PACKET => MsgRecvPacket::decode(bytes).ok().map(|m| {
            json!({"packet": packet_json(m.packet), "proofHeight": height_json(m.proof_height), "signer": m.signer})
        }),
        MSG_ACKNOWLEDGEMENT => MsgAcknowledgement::decode(bytes).ok().map(|m| {
            json!({
                "packet": packet_json(m.packet),
                "acknowledgement": bytes_json(&m.acknowledgement),
                "proofHeight": height_json(m.proof_height),
                "signer": m.signer,
            })
        }),
        MSG_TIMEOUT => MsgTimeout::decode(bytes).ok().map(|m| {
            json!({
                "packet": packet_json(m.packet),
                "proofHeight": height_json(m.proof_height),
                "nextSequenceRecv": m.next_sequence_recv.to_string(),
                "signer": m.signer,
            })
        }),
        MSG_UPDATE_CLIENT => MsgUpdateClient::decode(bytes).ok().map(|m| {
            json!({
                "clientId": m.client_id,
                "clientMessageType": m.client_message.map(|a| a.type_url),
                "signer": m.signer,
            })
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_received_transfer_packet_shows_its_route_and_token_data() {
        let packet = Packet {
            sequence: 3,
            source_port: "transfer".into(),
            source_channel: "channel-0".into(),
            destination_port: "transfer".into(),
            destination_channel: "channel-1".into(),
            data: br#"{"amount":"5","denom":"uatom","receiver":"r","sender":"s"}"#.to_vec(),
            timeout_height: Some(Height { revision_number: 0, revision_height: 100 }),
            timeout_timestamp: 0,
        };
        let msg = MsgRecvPacket { packet: Some(packet), proof_height: None, signer: "relayer".into() };
        let any = Any { type_url: MSG_RECV_PACKET.into(), value: msg.encode_to_vec() };
        let v = message_value(&any).unwrap();
        assert_eq!(v["packet"]["sequence"], "3");
        assert_eq!(v["packet"]["destinationChannel"], "channel-1");
        assert_eq!(v["packet"]["data"]["amount"], "5");
        assert_eq!(v["packet"]["timeoutHeight"]["revisionHeight"], "100");
        assert_eq!(v["signer"], "relayer");
    }

    #[test]
    fn bytes_that_are_not_the_declared_message_are_not_decoded() {
        let any = Any { type_url: MSG_TIMEOUT.into(), value: vec![0xff, 0xff, 0xff] };
        assert_eq!(message_value(&any), None);
        assert_eq!(message_value(&Any { type_url: "/x.y".into(), value: vec![] }), None);
    }
}
