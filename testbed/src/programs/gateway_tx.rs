//! gwc's `MsgRegisterStorage` (the tx `gwcd tx gateway register-storage CHANNEL CHAIN_ID
//! API_ENDPOINT TYPE` submits, TESTBED.md §3): a message handler plugged into gwc's registry,
//! and the signed tx the CLI builds. Fields are protobuf strings 1..5 (creator, channel_id,
//! chain_id, api_endpoint, connection_type), encoded by hand: no generated code exists for
//! the gateway module here.

use crate::chain::events::Event;
use crate::chain::gateway::StorageInfo;
use crate::chain::ledger::Ledger;
use crate::chain::msgs::{MsgHandler, MsgOutcome};
use crate::chain::sdk_error::{SdkError, codes};
use cosmrs::Any;
use serde_json::{Value, json};

/// The message's type URL (gateway module package `gwc.gateway.v1`, as its REST route
/// `/gwc/gateway/v1/storage_endpoints` names it).
pub const TYPE_URL: &str = "/gwc.gateway.v1.MsgRegisterStorage";
/// Gas the simulated execution costs (a few KV writes in the SDK's gas model).
const GAS: u64 = 30_000;

/// The decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgRegisterStorage {
    pub creator: String,
    pub info: StorageInfo,
}

fn put_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

impl MsgRegisterStorage {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let i = &self.info;
        for (n, s) in [
            (1u64, &self.creator),
            (2, &i.channel_id),
            (3, &i.chain_id),
            (4, &i.api_endpoint),
            (5, &i.connection_type),
        ] {
            if !s.is_empty() {
                put_varint((n << 3) | 2, &mut out);
                put_varint(s.len() as u64, &mut out);
                out.extend_from_slice(s.as_bytes());
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, SdkError> {
        let bad = || SdkError::wrap(codes::TX_DECODE, "failed to decode MsgRegisterStorage".to_string());
        let mut m = MsgRegisterStorage { creator: String::new(), info: empty_info() };
        let mut pos = 0;
        while pos < bytes.len() {
            let key = get_varint(bytes, &mut pos).ok_or_else(bad)?;
            let (field, wire) = (key >> 3, key & 7);
            match wire {
                0 => {
                    get_varint(bytes, &mut pos).ok_or_else(bad)?;
                }
                2 => {
                    let len =
                        usize::try_from(get_varint(bytes, &mut pos).ok_or_else(bad)?).map_err(|_| bad())?;
                    let end = pos.checked_add(len).filter(|e| *e <= bytes.len()).ok_or_else(bad)?;
                    let s = String::from_utf8(bytes[pos..end].to_vec()).map_err(|_| bad())?;
                    pos = end;
                    match field {
                        1 => m.creator = s,
                        2 => m.info.channel_id = s,
                        3 => m.info.chain_id = s,
                        4 => m.info.api_endpoint = s,
                        5 => m.info.connection_type = s,
                        _ => {}
                    }
                }
                _ => return Err(bad()),
            }
        }
        Ok(m)
    }

    pub fn to_any(&self) -> Any {
        Any { type_url: TYPE_URL.into(), value: self.encode() }
    }
}

fn empty_info() -> StorageInfo {
    StorageInfo {
        channel_id: String::new(),
        chain_id: String::new(),
        api_endpoint: String::new(),
        connection_type: String::new(),
    }
}

/// The handler gwc registers.
pub struct RegisterStorageHandler;

impl MsgHandler for RegisterStorageHandler {
    fn type_url(&self) -> &'static str {
        TYPE_URL
    }

    fn signer(&self, value: &[u8]) -> Result<String, SdkError> {
        Ok(MsgRegisterStorage::decode(value)?.creator)
    }

    fn to_json(&self, value: &[u8]) -> Value {
        match MsgRegisterStorage::decode(value) {
            Ok(m) => {
                json!({"creator": m.creator, "channel_id": m.info.channel_id, "chain_id": m.info.chain_id,
                "api_endpoint": m.info.api_endpoint, "connection_type": m.info.connection_type})
            }
            Err(_) => json!({}),
        }
    }

    fn gas(&self) -> u64 {
        GAS
    }

    fn deliver(&self, ledger: &mut Ledger, value: &[u8]) -> Result<MsgOutcome, SdkError> {
        let m = MsgRegisterStorage::decode(value)?;
        if m.info.chain_id.is_empty() || m.info.channel_id.is_empty() {
            return Err(SdkError::wrap(
                codes::INVALID_REQUEST,
                "channel id and chain id are required".to_string(),
            ));
        }
        let list = ledger.storage_endpoints_mut();
        list.retain(|i| i.chain_id != m.info.chain_id);
        list.push(m.info.clone());
        let event = Event::new(
            "register_storage",
            &[("chain_id", &m.info.chain_id), ("channel_id", &m.info.channel_id)],
        );
        let response = Any { type_url: format!("{TYPE_URL}Response"), value: Vec::new() };
        Ok(MsgOutcome { events: vec![event], response })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_truncated_bytes() {
        let m = MsgRegisterStorage {
            creator: "cosmos1x".into(),
            info: StorageInfo {
                channel_id: "channel-0".into(),
                chain_id: "mdsc".into(),
                api_endpoint: "http://a:1317".into(),
                connection_type: "metastore".into(),
            },
        };
        let bytes = m.encode();
        assert_eq!(MsgRegisterStorage::decode(&bytes).unwrap(), m);
        assert!(MsgRegisterStorage::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(MsgRegisterStorage::decode(&[0xff]).is_err());
    }
}
