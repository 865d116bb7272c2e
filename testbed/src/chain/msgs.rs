//! Message types a chain understands, behind one trait so later simulations (IBC handshakes
//! for `rly`, gwc's `MsgRegisterStorage`) plug in their own. `MsgSend` is built in.
//! A type URL with no handler fails decoding, as an SDK app without that module would.

use super::coins::{Coin, coins_from_proto, coins_to_string};
use super::events::{Event, transfer_events};
use super::keys::validate_address;
use super::ledger::Ledger;
use super::sdk_error::{SdkError, codes};
use cosmrs::Any;
use cosmrs::proto::cosmos::bank::v1beta1::{MsgSend, MsgSendResponse};
use cosmrs::proto::prost::Message as _;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What a delivered message leaves behind.
#[derive(Debug, Clone)]
pub struct MsgOutcome {
    pub events: Vec<Event>,
    /// Packed into `TxMsgData.msg_responses`.
    pub response: Any,
}

/// One message type: how to find its signer, check it, print it and execute it.
pub trait MsgHandler: Send + Sync {
    fn type_url(&self) -> &'static str;
    /// The address that must sign (`cosmos.msg.v1.signer`); decoding errors are code 2.
    fn signer(&self, value: &[u8]) -> Result<String, SdkError>;
    /// The message fields in gRPC-gateway JSON (the caller adds `@type`).
    fn to_json(&self, value: &[u8]) -> Value;
    /// Gas its execution costs (see `gas.rs` for the model).
    fn gas(&self) -> u64;
    /// Executes against the state; on error the caller discards every change.
    fn deliver(&self, ledger: &mut Ledger, value: &[u8]) -> Result<MsgOutcome, SdkError>;
}

/// The handlers of one chain, by type URL. Cheap to clone.
#[derive(Clone)]
pub struct MsgRegistry {
    handlers: Arc<RwLock<HashMap<String, Arc<dyn MsgHandler>>>>,
}

impl Default for MsgRegistry {
    fn default() -> Self {
        let registry = Self { handlers: Arc::default() };
        registry.register(Arc::new(BankSend));
        registry
    }
}

impl MsgRegistry {
    pub fn register(&self, handler: Arc<dyn MsgHandler>) {
        self.handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(handler.type_url().to_string(), handler);
    }

    /// The handler of `type_url`, or the SDK's interface-registry error (code 2).
    pub fn get(&self, type_url: &str) -> Result<Arc<dyn MsgHandler>, SdkError> {
        let handlers = self.handlers.read().unwrap_or_else(|e| e.into_inner());
        handlers
            .get(type_url)
            .cloned()
            .ok_or_else(|| SdkError::tx_decode(format!("unable to resolve type URL {type_url}")))
    }

    /// `{"@type": …, …fields}` of a message, or the raw Any when no handler knows it.
    pub fn msg_json(&self, msg: &Any) -> Value {
        let mut fields = match self.get(&msg.type_url) {
            Ok(h) => h.to_json(&msg.value),
            Err(_) => json!({"value": base64_std(&msg.value)}),
        };
        let mut out = serde_json::Map::new();
        out.insert("@type".into(), json!(msg.type_url));
        if let Value::Object(map) = &mut fields {
            out.append(map);
        }
        Value::Object(out)
    }
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `sdk.GetModuleNameFromTypeURL`: the second dotted component (`/cosmos.bank.v1beta1.MsgSend` → `bank`).
pub fn module_name(type_url: &str) -> &str {
    type_url.trim_start_matches('/').split('.').nth(1).unwrap_or("")
}

pub const MSG_SEND_TYPE_URL: &str = "/cosmos.bank.v1beta1.MsgSend";
const MSG_SEND_RESPONSE_TYPE_URL: &str = "/cosmos.bank.v1beta1.MsgSendResponse";

/// Gas of a `MsgSend` beyond the ante handler: two balance reads and writes and the
/// recipient's account lookup, at the SDK's KV gas prices (`store/types/gas.go
/// KVGasConfig`: read 1000 + 3/byte, write 2000 + 30/byte), rounded.
const MSG_SEND_GAS: u64 = 28_000;

/// `cosmos.bank.v1beta1.MsgSend` (`x/bank/keeper/msg_server.go Send`).
pub struct BankSend;

impl BankSend {
    fn decode(value: &[u8]) -> Result<MsgSend, SdkError> {
        MsgSend::decode(value).map_err(|e| SdkError::tx_decode(e.to_string()))
    }

    /// The checks v0.50's msg server makes before moving coins (so they fail in DeliverTx).
    fn validate(msg: &MsgSend) -> Result<Vec<Coin>, SdkError> {
        validate_address(&msg.from_address).map_err(|e| e.context("invalid from address"))?;
        validate_address(&msg.to_address).map_err(|e| e.context("invalid to address"))?;
        let coins = coins_from_proto(&msg.amount)?;
        if coins.is_empty() || coins.iter().any(|c| c.amount == 0) {
            return Err(SdkError::wrap(codes::INVALID_COINS, coins_to_string(&coins)));
        }
        Ok(coins)
    }
}

impl MsgHandler for BankSend {
    fn type_url(&self) -> &'static str {
        MSG_SEND_TYPE_URL
    }

    fn signer(&self, value: &[u8]) -> Result<String, SdkError> {
        Ok(Self::decode(value)?.from_address)
    }

    fn to_json(&self, value: &[u8]) -> Value {
        let msg = Self::decode(value).unwrap_or_default();
        let amount: Vec<Value> =
            msg.amount.iter().map(|c| json!({"denom": c.denom, "amount": c.amount})).collect();
        json!({"from_address": msg.from_address, "to_address": msg.to_address, "amount": amount})
    }

    fn gas(&self) -> u64 {
        MSG_SEND_GAS
    }

    fn deliver(&self, ledger: &mut Ledger, value: &[u8]) -> Result<MsgOutcome, SdkError> {
        let msg = Self::decode(value)?;
        let coins = Self::validate(&msg)?;
        ledger.send(&msg.from_address, &msg.to_address, &coins)?;
        let mut events = vec![Event::new(
            "message",
            &[("action", MSG_SEND_TYPE_URL), ("sender", &msg.from_address), ("module", "bank")],
        )];
        events.extend(transfer_events(&msg.from_address, &msg.to_address, &coins_to_string(&coins)));
        let response =
            Any { type_url: MSG_SEND_RESPONSE_TYPE_URL.into(), value: MsgSendResponse {}.encode_to_vec() };
        Ok(MsgOutcome { events, response })
    }
}

/// A `MsgSend` packed as an `Any`.
pub fn msg_send(from: &str, to: &str, coins: &[Coin]) -> Any {
    let msg = MsgSend {
        from_address: from.to_string(),
        to_address: to.to_string(),
        amount: coins.iter().map(Coin::to_proto).collect(),
    };
    Any { type_url: MSG_SEND_TYPE_URL.into(), value: msg.encode_to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_come_from_the_type_url() {
        assert_eq!(module_name(MSG_SEND_TYPE_URL), "bank");
        assert_eq!(module_name("/ibc.core.client.v1.MsgCreateClient"), "core");
    }

    #[test]
    fn unknown_type_urls_are_parse_errors() {
        let err = MsgRegistry::default().get("/foo.v1.MsgBar").err().unwrap();
        assert_eq!(
            (err.code, err.log.as_str()),
            (2, "unable to resolve type URL /foo.v1.MsgBar: tx parse error")
        );
    }
}
