//! The IBC handshake messages `rly transact link` sends (client creation, then the four
//! connection and four channel steps). Only their `signer` is modelled: the simulated relayer
//! applies each step's state change once its tx is included, so the chain checks what a real
//! one checks first — the signer signed, and its fee was paid (by itself or a fee granter).

use super::events::Event;
use super::ledger::Ledger;
use super::msgs::{MsgHandler, MsgOutcome};
use super::sdk_error::SdkError;
use cosmrs::Any;
use prost::encoding::{DecodeContext, decode_key, skip_field, string};
use serde_json::{Value, json};

/// (type URL, field number of `signer`) of each step, as ibc-go's protos number them.
const STEPS: &[(&str, u32)] = &[
    ("/ibc.core.client.v1.MsgCreateClient", 3),
    ("/ibc.core.connection.v1.MsgConnectionOpenInit", 5),
    ("/ibc.core.connection.v1.MsgConnectionOpenTry", 12),
    ("/ibc.core.connection.v1.MsgConnectionOpenAck", 10),
    ("/ibc.core.connection.v1.MsgConnectionOpenConfirm", 4),
    ("/ibc.core.channel.v1.MsgChannelOpenInit", 3),
    ("/ibc.core.channel.v1.MsgChannelOpenTry", 7),
    ("/ibc.core.channel.v1.MsgChannelOpenAck", 7),
    ("/ibc.core.channel.v1.MsgChannelOpenConfirm", 5),
];

/// Gas of a handshake message beyond the ante handler (a few store writes).
const STEP_GAS: u64 = 40_000;

/// The message of handshake step `name` (e.g. `MsgConnectionOpenTry`) signed by `signer`.
pub fn step_msg(name: &str, signer: &str) -> Option<Any> {
    let (url, tag) = STEPS.iter().find(|(url, _)| url.rsplit('.').next() == Some(name))?;
    let mut value = Vec::new();
    string::encode(*tag, &signer.to_string(), &mut value);
    Some(Any { type_url: (*url).to_string(), value })
}

/// The `signer` field of an encoded step (other fields are skipped, as proto3 allows).
fn signer_of(tag: u32, mut buf: &[u8]) -> Result<String, SdkError> {
    let bad = |e: prost::DecodeError| SdkError::tx_decode(e.to_string());
    let mut signer = String::new();
    while !buf.is_empty() {
        let (field, wire) = decode_key(&mut buf).map_err(bad)?;
        if field == tag {
            string::merge(wire, &mut signer, &mut buf, DecodeContext::default()).map_err(bad)?;
        } else {
            skip_field(wire, field, &mut buf, DecodeContext::default()).map_err(bad)?;
        }
    }
    Ok(signer)
}

struct StepHandler {
    url: &'static str,
    tag: u32,
}

impl MsgHandler for StepHandler {
    fn type_url(&self) -> &'static str {
        self.url
    }

    fn signer(&self, value: &[u8]) -> Result<String, SdkError> {
        signer_of(self.tag, value)
    }

    fn to_json(&self, value: &[u8]) -> Value {
        json!({"signer": signer_of(self.tag, value).unwrap_or_default()})
    }

    fn gas(&self) -> u64 {
        STEP_GAS
    }

    fn deliver(&self, _: &mut Ledger, value: &[u8]) -> Result<MsgOutcome, SdkError> {
        let signer = signer_of(self.tag, value)?;
        let module = match self.url {
            u if u.contains(".channel.") => "ibc_channel",
            u if u.contains(".connection.") => "ibc_connection",
            _ => "ibc_client",
        };
        let events = vec![Event::new("message", &[("module", module), ("sender", &signer)])];
        Ok(MsgOutcome {
            events,
            response: Any { type_url: format!("{}Response", self.url), value: Vec::new() },
        })
    }
}

pub(super) fn handlers() -> Vec<std::sync::Arc<dyn MsgHandler>> {
    STEPS
        .iter()
        .map(|&(url, tag)| std::sync::Arc::new(StepHandler { url, tag }) as std::sync::Arc<dyn MsgHandler>)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_carries_its_signer_at_the_ibc_go_field_number() {
        let any = step_msg("MsgConnectionOpenTry", "cosmos1grantee").unwrap();
        assert_eq!(any.type_url, "/ibc.core.connection.v1.MsgConnectionOpenTry");
        assert_eq!(any.value[0], 12 << 3 | 2, "field 12, length-delimited");
        assert_eq!(signer_of(12, &any.value).unwrap(), "cosmos1grantee");
        assert_eq!(signer_of(3, &any.value).unwrap(), "", "other fields are skipped");
        assert!(step_msg("MsgTransfer", "x").is_none());
    }
}
