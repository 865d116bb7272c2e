//! The IBC packet lifecycle as ibc-go v10's 04-channel keeper stores it: per-channel send
//! sequences, packet commitments on the source, receipts and written acknowledgements on
//! the destination, and the acknowledgement relayed back deleting the commitment. The light
//! clients and connection ends the store keeps are in `light_client`. Proofs are not
//! verified: a relayed message is trusted as long as the channel is OPEN, its counterparty
//! matches and the client under it is Active. Each step emits ibc-go's packet events
//! (`packet_events`).
//!
//! Commitments follow `modules/core/04-channel/types/packet.go CommitPacket` (sha256 of
//! timeout timestamp, timeout height and sha256(data)) and `CommitAcknowledgement`.

use super::events::Event;
use super::ledger::Ledger;
use super::msgs::{MsgHandler, MsgOutcome};
use super::packet_events;
use super::sdk_error::{SdkError, codes};
use cosmrs::Any;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};

pub use super::light_client::{
    ClientInfo, ClientStatus, ConnectionInfo, ConsensusState, DEFAULT_TRUSTING_PERIOD_SECS,
};

/// `ibc.core.client.v1.Height`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Height {
    #[prost(uint64, tag = "1")]
    pub revision_number: u64,
    #[prost(uint64, tag = "2")]
    pub revision_height: u64,
}

/// `ibc.core.channel.v1.Packet`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
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

/// `ibc.core.channel.v1.MsgRecvPacket`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgRecvPacket {
    #[prost(message, optional, tag = "1")]
    pub packet: Option<Packet>,
    #[prost(bytes = "vec", tag = "2")]
    pub proof_commitment: Vec<u8>,
    #[prost(message, optional, tag = "3")]
    pub proof_height: Option<Height>,
    #[prost(string, tag = "4")]
    pub signer: String,
}

/// `ibc.core.channel.v1.MsgAcknowledgement`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgAcknowledgement {
    #[prost(message, optional, tag = "1")]
    pub packet: Option<Packet>,
    #[prost(bytes = "vec", tag = "2")]
    pub acknowledgement: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub proof_acked: Vec<u8>,
    #[prost(message, optional, tag = "4")]
    pub proof_height: Option<Height>,
    #[prost(string, tag = "5")]
    pub signer: String,
}

pub const MSG_RECV_PACKET: &str = "/ibc.core.channel.v1.MsgRecvPacket";
pub const MSG_ACKNOWLEDGEMENT: &str = "/ibc.core.channel.v1.MsgAcknowledgement";

/// `(port, channel)` of a channel end on this chain.
pub type ChannelKey = (String, String);

/// Everything the channel keeper keeps about packets, plus clients and connections.
#[derive(Debug, Clone, Default)]
pub struct PacketStore {
    pub next_send: BTreeMap<ChannelKey, u64>,
    /// Commitments of sent packets, kept with the packet (a relayer reads it from the send
    /// event; here from the store) until the acknowledgement deletes them.
    pub commitments: BTreeMap<(ChannelKey, u64), ([u8; 32], Packet)>,
    /// Receipts of received packets, keyed by the destination (this chain's) end.
    pub receipts: BTreeSet<(ChannelKey, u64)>,
    /// Written acknowledgements with the packet they answer.
    pub acks: BTreeMap<(ChannelKey, u64), (Vec<u8>, Packet)>,
    pub clients: BTreeMap<String, ClientInfo>,
    pub connections: BTreeMap<String, ConnectionInfo>,
}

/// `CommitPacket`: sha256(timeout_timestamp ‖ revision_number ‖ revision_height ‖ sha256(data)).
pub fn packet_commitment(p: &Packet) -> [u8; 32] {
    let h = p.timeout_height.clone().unwrap_or_default();
    let mut buf = Vec::with_capacity(56);
    buf.extend_from_slice(&p.timeout_timestamp.to_be_bytes());
    buf.extend_from_slice(&h.revision_number.to_be_bytes());
    buf.extend_from_slice(&h.revision_height.to_be_bytes());
    buf.extend_from_slice(&Sha256::digest(&p.data));
    Sha256::digest(&buf).into()
}

/// `CommitAcknowledgement`: sha256 of the acknowledgement bytes.
pub fn ack_commitment(ack: &[u8]) -> [u8; 32] {
    Sha256::digest(ack).into()
}

/// `channeltypes.NewResultAcknowledgement(result)` as its JSON bytes.
pub fn result_ack(result: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    json!({"result": base64::engine::general_purpose::STANDARD.encode(result)}).to_string().into_bytes()
}

/// `channeltypes.NewErrorAcknowledgement(err)`: the ABCI code only, as ibc-go v8 writes it.
pub fn error_ack(code: u32) -> Vec<u8> {
    json!({"error": format!("ABCI code: {code}: error handling packet: see events for details")})
        .to_string()
        .into_bytes()
}

pub fn ack_is_success(ack: &[u8]) -> bool {
    serde_json::from_slice::<Value>(ack).is_ok_and(|v| v.get("result").is_some())
}

/// What an application module does with packets on its port (ibc-go's `IBCModule`).
pub trait PacketApp {
    /// `OnRecvPacket`: the acknowledgement to write.
    fn on_recv(&self, ledger: &mut Ledger, packet: &Packet) -> Vec<u8>;
    /// `OnAcknowledgementPacket`.
    fn on_ack(&self, ledger: &mut Ledger, packet: &Packet, ack: &[u8]);
}

impl Ledger {
    /// `SendPacket` on a local channel end: the next sequence, the commitment; returns the
    /// sequence and the `send_packet` events. The channel must be OPEN.
    pub fn send_packet(
        &mut self,
        port: &str,
        channel: &str,
        data: Vec<u8>,
        timeout_timestamp: u64,
    ) -> Result<(u64, Vec<Event>), SdkError> {
        let end = self
            .channels()
            .iter()
            .find(|c| c.port_id == port && c.channel_id == channel)
            .cloned()
            .ok_or_else(|| {
                SdkError::wrap(
                    codes::INVALID_REQUEST,
                    format!("port-id: {port}, channel-id: {channel}: channel not found"),
                )
            })?;
        if end.state != super::ibc::ChannelState::Open {
            return Err(SdkError::wrap(
                codes::INVALID_REQUEST,
                format!("channel is not OPEN (got {}): invalid channel state", end.state.as_proto_name()),
            ));
        }
        let key = (port.to_string(), channel.to_string());
        let store = self.packets_mut();
        let sequence = *store.next_send.get(&key).unwrap_or(&1);
        store.next_send.insert(key.clone(), sequence + 1);
        let packet = Packet {
            sequence,
            source_port: port.to_string(),
            source_channel: channel.to_string(),
            destination_port: end.counterparty_port_id.clone(),
            destination_channel: end.counterparty_channel_id.clone(),
            data,
            timeout_height: Some(Height::default()),
            timeout_timestamp,
        };
        let events = packet_events::send(&packet, Some(&end));
        store.commitments.insert((key, sequence), (packet_commitment(&packet), packet));
        Ok((sequence, events))
    }

    /// The client under a local channel end, and whether it is Active.
    fn require_active_client(&self, port: &str, channel: &str) -> Result<(), SdkError> {
        let end = self.channels().iter().find(|c| c.port_id == port && c.channel_id == channel).cloned();
        let Some(end) = end else {
            return Err(SdkError::wrap(
                codes::INVALID_REQUEST,
                format!("port-id: {port}, channel-id: {channel}: channel not found"),
            ));
        };
        let status = self
            .packets()
            .clients
            .get(&end.client_id)
            .map(|c| c.status_at(jiff::Timestamp::now()))
            .unwrap_or_default();
        if status != ClientStatus::Active {
            return Err(SdkError::wrap(
                codes::UNAUTHORIZED,
                format!(
                    "client ({}) status is {}: client state is not active",
                    end.client_id,
                    status.as_str()
                ),
            ));
        }
        Ok(())
    }
}

/// Which application owns a port: the gateway (gwc) and the two storage modules.
fn app_for(port: &str) -> Option<&'static dyn PacketApp> {
    super::sessions::app_for_port(port)
}

fn decode<M: prost::Message + Default>(value: &[u8], name: &str) -> Result<M, SdkError> {
    M::decode(value).map_err(|e| SdkError::tx_decode(format!("failed to decode {name}: {e}")))
}

fn channel_end(ledger: &Ledger, port: &str, channel: &str) -> Option<super::ibc::IbcChannel> {
    ledger.channels().iter().find(|c| c.port_id == port && c.channel_id == channel).cloned()
}

/// `MsgRecvPacket` on the destination: receipt, app callback, written acknowledgement.
pub struct RecvPacketHandler;

impl MsgHandler for RecvPacketHandler {
    fn type_url(&self) -> &'static str {
        MSG_RECV_PACKET
    }

    fn signer(&self, value: &[u8]) -> Result<String, SdkError> {
        Ok(decode::<MsgRecvPacket>(value, "MsgRecvPacket")?.signer)
    }

    fn to_json(&self, value: &[u8]) -> Value {
        let m = decode::<MsgRecvPacket>(value, "MsgRecvPacket").unwrap_or_default();
        json!({"packet": m.packet.as_ref().map(packet_json), "signer": m.signer})
    }

    fn gas(&self) -> u64 {
        60_000
    }

    fn deliver(&self, ledger: &mut Ledger, value: &[u8]) -> Result<MsgOutcome, SdkError> {
        let m = decode::<MsgRecvPacket>(value, "MsgRecvPacket")?;
        let p = m.packet.ok_or_else(|| SdkError::wrap(codes::INVALID_REQUEST, "packet cannot be nil"))?;
        let (port, channel) = (p.destination_port.clone(), p.destination_channel.clone());
        ledger.require_active_client(&port, &channel)?;
        let end = ledger.channels().iter().find(|c| c.port_id == port && c.channel_id == channel).cloned();
        if end.is_none_or(|e| {
            e.counterparty_channel_id != p.source_channel || e.counterparty_port_id != p.source_port
        }) {
            return Err(SdkError::wrap(
                codes::UNAUTHORIZED,
                "packet source does not match the channel's counterparty",
            ));
        }
        if p.timeout_timestamp != 0 && ledger.block_time_ns() >= p.timeout_timestamp {
            return Err(SdkError::wrap(
                codes::INVALID_REQUEST,
                format!("block timestamp >= packet timeout timestamp ({})", p.timeout_timestamp),
            ));
        }
        let key = ((port.clone(), channel.clone()), p.sequence);
        let response = Any { type_url: format!("{MSG_RECV_PACKET}Response"), value: Vec::new() };
        if ledger.packets().receipts.contains(&key) {
            // ibc-go: a redundant relay is a no-op success (ResponseResultType NOOP) whose
            // cached context, events included, is dropped.
            return Ok(MsgOutcome { events: Vec::new(), response });
        }
        ledger.packets_mut().receipts.insert(key.clone());
        let ack = match app_for(&port) {
            Some(app) => app.on_recv(ledger, &p),
            None => error_ack(codes::UNKNOWN_REQUEST.0),
        };
        ledger.packets_mut().acks.insert(key, (ack.clone(), p.clone()));
        let events =
            packet_events::recv_and_write_ack(&p, channel_end(ledger, &port, &channel).as_ref(), &ack);
        Ok(MsgOutcome { events, response })
    }
}

/// `MsgAcknowledgement` on the source: the commitment is deleted, the app sees the ack.
pub struct AcknowledgementHandler;

impl MsgHandler for AcknowledgementHandler {
    fn type_url(&self) -> &'static str {
        MSG_ACKNOWLEDGEMENT
    }

    fn signer(&self, value: &[u8]) -> Result<String, SdkError> {
        Ok(decode::<MsgAcknowledgement>(value, "MsgAcknowledgement")?.signer)
    }

    fn to_json(&self, value: &[u8]) -> Value {
        let m = decode::<MsgAcknowledgement>(value, "MsgAcknowledgement").unwrap_or_default();
        json!({"packet": m.packet.as_ref().map(packet_json), "signer": m.signer})
    }

    fn gas(&self) -> u64 {
        50_000
    }

    fn deliver(&self, ledger: &mut Ledger, value: &[u8]) -> Result<MsgOutcome, SdkError> {
        let m = decode::<MsgAcknowledgement>(value, "MsgAcknowledgement")?;
        let p = m.packet.ok_or_else(|| SdkError::wrap(codes::INVALID_REQUEST, "packet cannot be nil"))?;
        let (port, channel) = (p.source_port.clone(), p.source_channel.clone());
        ledger.require_active_client(&port, &channel)?;
        let key = ((port.clone(), channel.clone()), p.sequence);
        let response = Any { type_url: format!("{MSG_ACKNOWLEDGEMENT}Response"), value: Vec::new() };
        match ledger.packets().commitments.get(&key) {
            // Already acknowledged: a no-op, as in ibc-go.
            None => return Ok(MsgOutcome { events: Vec::new(), response }),
            Some((c, _)) if *c != packet_commitment(&p) => {
                return Err(SdkError::wrap(
                    codes::UNAUTHORIZED,
                    "commitment bytes are not equal: invalid packet",
                ));
            }
            Some(_) => {}
        }
        ledger.packets_mut().commitments.remove(&key);
        if let Some(app) = app_for(&port) {
            app.on_ack(ledger, &p, &m.acknowledgement);
        }
        let events = packet_events::acknowledge(&p, channel_end(ledger, &port, &channel).as_ref());
        Ok(MsgOutcome { events, response })
    }
}

pub fn packet_json(p: &Packet) -> Value {
    use base64::Engine as _;
    let h = p.timeout_height.clone().unwrap_or_default();
    json!({"sequence": p.sequence.to_string(), "source_port": p.source_port, "source_channel": p.source_channel,
           "destination_port": p.destination_port, "destination_channel": p.destination_channel,
           "data": base64::engine::general_purpose::STANDARD.encode(&p.data),
           "timeout_height": {"revision_number": h.revision_number.to_string(), "revision_height": h.revision_height.to_string()},
           "timeout_timestamp": p.timeout_timestamp.to_string()})
}

pub fn any_of<M: prost::Message>(type_url: &str, m: &M) -> Any {
    Any { type_url: type_url.to_string(), value: m.encode_to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitments_change_with_data_and_timeout() {
        let p = Packet { sequence: 1, data: b"a".to_vec(), timeout_timestamp: 5, ..Default::default() };
        let mut q = p.clone();
        q.data = b"b".to_vec();
        assert_ne!(packet_commitment(&p), packet_commitment(&q));
        q.data = b"a".to_vec();
        q.timeout_timestamp = 6;
        assert_ne!(packet_commitment(&p), packet_commitment(&q));
        assert!(ack_is_success(&result_ack(&[1])));
        assert!(!ack_is_success(&error_ack(6)));
    }

    #[test]
    fn a_client_expires_after_its_trusting_period_and_then_refuses_updates() {
        let t0: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let at = |secs: i64| t0.checked_add(jiff::SignedDuration::from_secs(secs)).unwrap();
        let state = |time| ConsensusState { time, root: [1; 32], next_validators_hash: [2; 32] };
        let mut c = ClientInfo::new("gwc", 10, state(t0));
        c.trusting_period_secs = 100;
        assert_eq!(c.status_at(at(99)), ClientStatus::Active);
        assert!(c.update(20, state(at(50)), at(99)), "an active client takes a newer header");
        assert_eq!(c.latest().map(|(h, _)| h), Some(20));
        assert!(c.update(15, state(at(60)), at(99)), "an older header is no error");
        assert_eq!(c.latest().map(|(h, s)| (h, s.time)), Some((20, at(50))), "and changes nothing");
        assert_eq!(c.status_at(at(149)), ClientStatus::Active, "the period counts from the latest state");
        assert_eq!(c.status_at(at(150)), ClientStatus::Expired);
        assert!(!c.update(30, state(at(149)), at(150)), "an expired client refuses updates");
        assert_eq!(c.latest().map(|(h, _)| h), Some(20));
        c.status = ClientStatus::Frozen;
        assert_eq!(c.status_at(at(0)), ClientStatus::Frozen, "a frozen client stays frozen");
    }
}
