//! `MsgUpdateClient` as a relayer bundles it before its packets: the chain's 07-tendermint
//! client of the counterparty learns a newer header. Only the header fields the consensus
//! state keeps are declared (tags of `tendermint.types.Header`); signatures are not verified,
//! as proofs are not elsewhere in the testbed.

use super::block::Header as BlockHeader;
use super::events::Event;
use super::ledger::Ledger;
use super::light_client::ConsensusState;
use super::msgs::{MsgHandler, MsgOutcome};
use super::sdk_error::{SdkError, codes};
use cosmrs::Any;
use prost::Message as _;
use serde_json::{Value, json};

pub const MSG_UPDATE_CLIENT: &str = "/ibc.core.client.v1.MsgUpdateClient";
pub const TENDERMINT_HEADER: &str = "/ibc.lightclients.tendermint.v1.Header";

/// `ibc.core.client.v1.MsgUpdateClient`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgUpdateClient {
    #[prost(string, tag = "1")]
    pub client_id: String,
    #[prost(message, optional, tag = "2")]
    pub client_message: Option<Any>,
    #[prost(string, tag = "3")]
    pub signer: String,
}

/// `ibc.lightclients.tendermint.v1.Header` (its signed header only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TmHeader {
    #[prost(message, optional, tag = "1")]
    pub signed_header: Option<SignedHeader>,
}

/// `tendermint.types.SignedHeader` (its header only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SignedHeader {
    #[prost(message, optional, tag = "1")]
    pub header: Option<HeaderFields>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// The fields of `tendermint.types.Header` a consensus state is made of.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HeaderFields {
    #[prost(string, tag = "2")]
    pub chain_id: String,
    #[prost(int64, tag = "3")]
    pub height: i64,
    #[prost(message, optional, tag = "4")]
    pub time: Option<Timestamp>,
    #[prost(bytes = "vec", tag = "9")]
    pub next_validators_hash: Vec<u8>,
    #[prost(bytes = "vec", tag = "11")]
    pub app_hash: Vec<u8>,
}

/// The `MsgUpdateClient` a relayer signed as `signer` sends to move `client_id` to `header`.
pub fn update_msg(client_id: &str, header: &BlockHeader, signer: &str) -> Any {
    let time = Timestamp { seconds: header.time.as_second(), nanos: header.time.subsec_nanosecond() };
    let fields = HeaderFields {
        chain_id: header.chain_id.clone(),
        height: i64::try_from(header.height).unwrap_or(i64::MAX),
        time: Some(time),
        next_validators_hash: header.next_validators_hash.to_vec(),
        app_hash: header.app_hash.to_vec(),
    };
    let tm = TmHeader { signed_header: Some(SignedHeader { header: Some(fields) }) };
    let msg = MsgUpdateClient {
        client_id: client_id.to_string(),
        client_message: Some(Any { type_url: TENDERMINT_HEADER.into(), value: tm.encode_to_vec() }),
        signer: signer.to_string(),
    };
    Any { type_url: MSG_UPDATE_CLIENT.into(), value: msg.encode_to_vec() }
}

fn decode(value: &[u8]) -> Result<MsgUpdateClient, SdkError> {
    MsgUpdateClient::decode(value)
        .map_err(|e| SdkError::tx_decode(format!("failed to decode MsgUpdateClient: {e}")))
}

fn header_of(m: &MsgUpdateClient) -> Result<(u64, ConsensusState), SdkError> {
    let bad = |what: &str| SdkError::wrap(codes::INVALID_REQUEST, format!("invalid client message: {what}"));
    let any = m.client_message.as_ref().ok_or_else(|| bad("missing"))?;
    if any.type_url != TENDERMINT_HEADER {
        return Err(bad(&any.type_url));
    }
    let h = TmHeader::decode(any.value.as_slice())
        .ok()
        .and_then(|t| t.signed_header)
        .and_then(|s| s.header)
        .ok_or_else(|| bad("no header"))?;
    let time = h.time.unwrap_or_default();
    let time = jiff::Timestamp::new(time.seconds, time.nanos).map_err(|e| bad(&e.to_string()))?;
    let hash = |b: &[u8]| <[u8; 32]>::try_from(b).unwrap_or_default();
    let state =
        ConsensusState { time, root: hash(&h.app_hash), next_validators_hash: hash(&h.next_validators_hash) };
    Ok((u64::try_from(h.height).unwrap_or_default(), state))
}

pub struct UpdateClientHandler;

impl MsgHandler for UpdateClientHandler {
    fn type_url(&self) -> &'static str {
        MSG_UPDATE_CLIENT
    }

    fn signer(&self, value: &[u8]) -> Result<String, SdkError> {
        Ok(decode(value)?.signer)
    }

    fn to_json(&self, value: &[u8]) -> Value {
        let m = decode(value).unwrap_or_default();
        json!({"client_id": m.client_id, "client_message": {"@type": m.client_message.map(|a| a.type_url)},
               "signer": m.signer})
    }

    fn gas(&self) -> u64 {
        30_000
    }

    fn deliver(&self, ledger: &mut Ledger, value: &[u8]) -> Result<MsgOutcome, SdkError> {
        let m = decode(value)?;
        let (height, state) = header_of(&m)?;
        let now = jiff::Timestamp::from_nanosecond(i128::from(ledger.block_time_ns())).unwrap_or_default();
        let store = ledger.packets_mut();
        let client = store.clients.get_mut(&m.client_id).ok_or_else(|| {
            SdkError::wrap(codes::INVALID_REQUEST, format!("client {} not found", m.client_id))
        })?;
        let status = client.status_at(now);
        if !client.update(height, state, now) {
            return Err(SdkError::wrap(
                codes::UNAUTHORIZED,
                format!(
                    "cannot update client ({}) with status {}: client state is not active",
                    m.client_id,
                    status.as_str()
                ),
            ));
        }
        let events = vec![
            Event::new(
                "update_client",
                &[
                    ("client_id", &m.client_id),
                    ("client_type", "07-tendermint"),
                    ("consensus_heights", &format!("0-{height}")),
                ],
            ),
            Event::new("message", &[("module", "ibc_client")]),
        ];
        let response = Any { type_url: format!("{MSG_UPDATE_CLIENT}Response"), value: Vec::new() };
        Ok(MsgOutcome { events, response })
    }
}
