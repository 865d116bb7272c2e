//! Transactions as protobuf (SDK v0.50 `cosmos.tx.v1beta1`): decode client `txBytes` into
//! JSON (messages with their type URL, decoded values for the types whose protos we have,
//! memo, fee, signer infos, signatures) and build sign-doc material for client-side signing.
//! The bytes themselves are never returned or logged; errors name the failure, not the input.

use super::{Error, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cosmrs::proto::Any;
use cosmrs::proto::cosmos::bank::v1beta1::{Input, MsgMultiSend, MsgSend, Output};
use cosmrs::proto::cosmos::base::v1beta1::Coin;
use cosmrs::proto::cosmos::crypto::secp256k1::PubKey;
use cosmrs::proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmrs::proto::cosmos::tx::v1beta1::{
    AuthInfo, Fee, ModeInfo, SignDoc, SignerInfo, TxBody, TxRaw, mode_info,
};
use prost::Message;
use serde_json::{Value, json};
use std::str::FromStr;

pub const MSG_SEND: &str = "/cosmos.bank.v1beta1.MsgSend";
pub const MSG_MULTI_SEND: &str = "/cosmos.bank.v1beta1.MsgMultiSend";
pub const SECP256K1_PUBKEY: &str = "/cosmos.crypto.secp256k1.PubKey";
/// The message types `tx/build` can encode.
pub const BUILDABLE: [&str; 2] = [MSG_SEND, MSG_MULTI_SEND];

/// Bech32 address with a valid checksum (any prefix).
pub fn validate_address(address: &str) -> Result<cosmrs::AccountId> {
    // The reason only: the address came from the request and is not echoed back (a client's input never returns in an error).
    cosmrs::AccountId::from_str(address).map_err(|e| Error::InvalidAddress(e.to_string()))
}

/// The address as chains store it: bech32 is case-insensitive but written lowercase, and an
/// all-uppercase address (valid bech32, e.g. from a QR code) would otherwise find nothing.
pub fn normalize_address(address: &str) -> Result<String> {
    let lower = if address.chars().any(|c| c.is_ascii_lowercase()) {
        address.to_string()
    } else {
        address.to_ascii_lowercase()
    };
    validate_address(&lower).map(|id| id.to_string())
}

/// `txBytes` from base64 (standard alphabet, padding optional); empty is invalid.
pub fn tx_bytes_from_base64(text: &str) -> Result<Vec<u8>> {
    let trimmed = text.trim();
    let bytes = BASE64
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed.trim_end_matches('=')))
        .map_err(|e| Error::InvalidTxBytes(format!("not base64: {e}")))?;
    if bytes.is_empty() {
        return Err(Error::InvalidTxBytes("empty".into()));
    }
    Ok(bytes)
}

/// `txBytes` from base64 as `tx_bytes_from_base64` reads them, and their canonical base64
/// (standard alphabet, padded): the text itself when it already is (no encode then).
pub fn tx_bytes_and_canonical_base64(text: &str) -> Result<(Vec<u8>, String)> {
    let trimmed = text.trim();
    // The STANDARD engine accepts only canonical text (padding and trailing bits checked).
    if let Ok(bytes) = BASE64.decode(trimmed)
        && !bytes.is_empty()
    {
        return Ok((bytes, trimmed.to_string()));
    }
    let bytes = tx_bytes_from_base64(text)?;
    let canonical = BASE64.encode(&bytes);
    Ok((bytes, canonical))
}

/// The three parts of a tx, decoded.
pub struct DecodedParts {
    pub body: TxBody,
    pub auth_info: AuthInfo,
    pub signatures: Vec<Vec<u8>>,
}

/// Decodes `TxRaw`, then its body and auth info.
pub fn decode_parts(bytes: &[u8]) -> Result<DecodedParts> {
    let raw = TxRaw::decode(bytes).map_err(|e| Error::InvalidTxBytes(format!("not a TxRaw: {e}")))?;
    let body = TxBody::decode(raw.body_bytes.as_slice())
        .map_err(|e| Error::InvalidTxBytes(format!("body is not a TxBody: {e}")))?;
    let auth_info = AuthInfo::decode(raw.auth_info_bytes.as_slice())
        .map_err(|e| Error::InvalidTxBytes(format!("authInfo is not an AuthInfo: {e}")))?;
    Ok(DecodedParts { body, auth_info, signatures: raw.signatures })
}

fn coins_json(coins: &[Coin]) -> Value {
    coins.iter().map(|c| json!({"denom": c.denom, "amount": c.amount})).collect()
}

/// The decoded value of a known message type; `None` for a type we have no proto for or
/// bytes that do not decode as it.
pub fn message_value(any: &Any) -> Option<Value> {
    let bytes = any.value.as_slice();
    match any.type_url.as_str() {
        MSG_SEND => MsgSend::decode(bytes).ok().map(|m| {
            json!({"fromAddress": m.from_address, "toAddress": m.to_address, "amount": coins_json(&m.amount)})
        }),
        MSG_MULTI_SEND => MsgMultiSend::decode(bytes).ok().map(|m| {
            let side = |address: &str, coins: &[Coin]| json!({"address": address, "coins": coins_json(coins)});
            json!({
                "inputs": m.inputs.iter().map(|i| side(&i.address, &i.coins)).collect::<Vec<_>>(),
                "outputs": m.outputs.iter().map(|o| side(&o.address, &o.coins)).collect::<Vec<_>>(),
            })
        }),
        _ => super::ibc::message_value(any),
    }
}

fn any_json(any: &Any) -> Value {
    match message_value(any) {
        Some(value) => json!({"typeUrl": any.type_url, "decoded": true, "value": value}),
        None => json!({"typeUrl": any.type_url, "decoded": false, "valueSize": any.value.len()}),
    }
}

fn public_key_json(any: &Any) -> Value {
    match any.type_url.as_str() {
        SECP256K1_PUBKEY => match PubKey::decode(any.value.as_slice()) {
            Ok(k) => json!({"typeUrl": any.type_url, "key": BASE64.encode(k.key)}),
            Err(_) => json!({"typeUrl": any.type_url}),
        },
        _ => json!({"typeUrl": any.type_url}),
    }
}

fn mode_json(mode: Option<&ModeInfo>) -> Value {
    let name = |m: i32| SignMode::try_from(m).map(|m| m.as_str_name()).unwrap_or("UNKNOWN");
    match mode.and_then(|m| m.sum.as_ref()) {
        Some(mode_info::Sum::Single(s)) => json!({"single": {"mode": name(s.mode)}}),
        Some(mode_info::Sum::Multi(m)) => {
            json!({"multi": {"modeInfos": m.mode_infos.iter().map(|i| mode_json(Some(i))).collect::<Vec<_>>()}})
        }
        None => Value::Null,
    }
}

/// The JSON view of a tx (what `tx/decode` answers): body, authInfo, signatures (base64), txhash.
pub fn decode_json(bytes: &[u8]) -> Result<Value> {
    let DecodedParts { body, auth_info, signatures } = decode_parts(bytes)?;
    let fee = auth_info.fee.unwrap_or_default();
    Ok(json!({
        "txhash": super::rpc::tx_hash_hex(bytes),
        "body": {
            "messages": body.messages.iter().map(any_json).collect::<Vec<_>>(),
            "memo": body.memo,
            "timeoutHeight": body.timeout_height.to_string(),
            "extensionOptions": body.extension_options.iter().map(any_json).collect::<Vec<_>>(),
            "nonCriticalExtensionOptions": body.non_critical_extension_options.iter().map(any_json).collect::<Vec<_>>(),
        },
        "authInfo": {
            "signerInfos": auth_info.signer_infos.iter().map(|s| json!({
                "publicKey": s.public_key.as_ref().map(public_key_json),
                "modeInfo": mode_json(s.mode_info.as_ref()),
                "sequence": s.sequence.to_string(),
            })).collect::<Vec<_>>(),
            "fee": {
                "amount": coins_json(&fee.amount),
                "gasLimit": fee.gas_limit.to_string(),
                "payer": fee.payer,
                "granter": fee.granter,
            },
        },
        "signatures": signatures.iter().map(|s| BASE64.encode(s)).collect::<Vec<_>>(),
    }))
}

// ----- build --------------------------------------------------------------------------------

fn text<'a>(value: &'a Value, camel: &str, snake: &str) -> Option<&'a str> {
    value.get(camel).or_else(|| value.get(snake)).and_then(Value::as_str)
}

/// Coins from `[{"denom","amount"}]` (amount as string or number).
pub fn coins_from_json(value: Option<&Value>, field: &'static str) -> Result<Vec<Coin>> {
    let invalid = |message: String| Error::Validation { field, message };
    let Some(value) = value else { return Ok(Vec::new()) };
    let list = value.as_array().ok_or_else(|| invalid("must be a list of {denom, amount}".into()))?;
    list.iter()
        .map(|c| {
            let denom = c.get("denom").and_then(Value::as_str).filter(|d| !d.is_empty());
            let amount = match c.get("amount") {
                Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                    Some(s.clone())
                }
                Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
                _ => None,
            };
            match (denom, amount) {
                (Some(denom), Some(amount)) => Ok(Coin { denom: denom.to_string(), amount }),
                _ => Err(invalid("each coin needs a denom and a non-negative integer amount".into())),
            }
        })
        .collect()
}

/// A message from `{typeUrl, value}` JSON (camelCase or proto snake_case field names).
pub fn message_from_json(type_url: &str, value: &Value) -> Result<Any> {
    let address = |camel: &str, snake: &str| -> Result<String> {
        let a = text(value, camel, snake).ok_or_else(|| Error::Validation {
            field: "messages",
            message: format!("{camel} is required"),
        })?;
        normalize_address(a)
    };
    let encoded = match type_url {
        MSG_SEND => MsgSend {
            from_address: address("fromAddress", "from_address")?,
            to_address: address("toAddress", "to_address")?,
            amount: coins_from_json(value.get("amount"), "messages")?,
        }
        .encode_to_vec(),
        MSG_MULTI_SEND => {
            let side = |key: &str| -> Result<Vec<(String, Vec<Coin>)>> {
                let list = value.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
                list.iter()
                    .map(|e| {
                        let a = e.get("address").and_then(Value::as_str).unwrap_or_default();
                        Ok((normalize_address(a)?, coins_from_json(e.get("coins"), "messages")?))
                    })
                    .collect()
            };
            MsgMultiSend {
                inputs: side("inputs")?
                    .into_iter()
                    .map(|(address, coins)| Input { address, coins })
                    .collect(),
                outputs: side("outputs")?
                    .into_iter()
                    .map(|(address, coins)| Output { address, coins })
                    .collect(),
            }
            .encode_to_vec()
        }
        _ => {
            // The type URL is the client's: named by its field, not repeated.
            return Err(Error::Validation {
                field: "messages",
                message: format!("cannot build messages of this type; supported: {}", BUILDABLE.join(", ")),
            });
        }
    };
    Ok(Any { type_url: type_url.to_string(), value: encoded })
}

/// What the client signs (SIGN_MODE_DIRECT) and the parts it puts in its `TxRaw`.
pub struct SignMaterial {
    pub body_bytes: Vec<u8>,
    pub auth_info_bytes: Vec<u8>,
    pub sign_doc_bytes: Vec<u8>,
}

/// Everything a sign doc needs besides the messages.
pub struct SignParams<'a> {
    pub memo: String,
    pub timeout_height: u64,
    pub fee: Vec<Coin>,
    pub gas_limit: u64,
    /// Compressed secp256k1 public key of the single signer (33 bytes).
    pub public_key: &'a [u8],
    pub sequence: u64,
    /// The chain id the node reports (`node_info.network`), not the API key.
    pub network: &'a str,
    pub account_number: u64,
}

pub fn sign_material(messages: Vec<Any>, p: SignParams<'_>) -> Result<SignMaterial> {
    if p.public_key.len() != 33 {
        return Err(Error::Validation {
            field: "publicKey",
            message: "must be a 33-byte compressed secp256k1 key".into(),
        });
    }
    let body = TxBody { messages, memo: p.memo, timeout_height: p.timeout_height, ..Default::default() };
    let signer = SignerInfo {
        public_key: Some(Any {
            type_url: SECP256K1_PUBKEY.into(),
            value: PubKey { key: p.public_key.to_vec() }.encode_to_vec(),
        }),
        mode_info: Some(ModeInfo {
            sum: Some(mode_info::Sum::Single(mode_info::Single { mode: SignMode::Direct as i32 })),
        }),
        sequence: p.sequence,
    };
    let auth_info = AuthInfo {
        signer_infos: vec![signer],
        fee: Some(Fee { amount: p.fee, gas_limit: p.gas_limit, ..Default::default() }),
        ..Default::default()
    };
    let (body_bytes, auth_info_bytes) = (body.encode_to_vec(), auth_info.encode_to_vec());
    let sign_doc = SignDoc {
        body_bytes: body_bytes.clone(),
        auth_info_bytes: auth_info_bytes.clone(),
        chain_id: p.network.to_string(),
        account_number: p.account_number,
    };
    Ok(SignMaterial { body_bytes, auth_info_bytes, sign_doc_bytes: sign_doc.encode_to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4";

    fn send(amount: &str) -> Any {
        message_from_json(MSG_SEND, &json!({"fromAddress": ALICE, "toAddress": ALICE, "amount": [{"denom": "uatom", "amount": amount}]}))
            .unwrap()
    }

    #[test]
    fn bad_bech32_checksums_are_invalid_addresses() {
        assert!(validate_address(ALICE).is_ok());
        assert_eq!(
            normalize_address(&ALICE.to_ascii_uppercase()).unwrap(),
            ALICE,
            "uppercase bech32 is the same address"
        );
        assert!(normalize_address(&format!("C{}", &ALICE[1..])).is_err(), "mixed case is not bech32");
        let broken = format!("{}5", &ALICE[..ALICE.len() - 1]);
        assert!(matches!(validate_address(&broken), Err(Error::InvalidAddress(_))));
        assert!(matches!(validate_address("nope"), Err(Error::InvalidAddress(_))));
    }

    #[test]
    fn canonical_base64_is_kept_and_other_forms_are_re_encoded() {
        let bytes = vec![0x0a, 0x02, 0x08, 0x01, 0xff];
        let canonical = BASE64.encode(&bytes);
        for text in
            [canonical.clone(), format!(" {canonical}\n"), canonical.trim_end_matches('=').to_string()]
        {
            assert_eq!(
                tx_bytes_and_canonical_base64(&text).unwrap(),
                (bytes.clone(), canonical.clone()),
                "{text:?}"
            );
        }
        assert!(matches!(tx_bytes_and_canonical_base64(""), Err(Error::InvalidTxBytes(_))));
        assert!(matches!(tx_bytes_and_canonical_base64("%%"), Err(Error::InvalidTxBytes(_))));
    }

    #[test]
    fn garbage_is_invalid_tx_bytes_and_never_panics() {
        assert!(matches!(tx_bytes_from_base64("%%%"), Err(Error::InvalidTxBytes(_))));
        assert!(matches!(tx_bytes_from_base64(""), Err(Error::InvalidTxBytes(_))));
        for junk in [&b"\xff\xff\xff"[..], b"\x0a\x05abc", b"hello world"] {
            assert!(matches!(decode_json(junk), Err(Error::InvalidTxBytes(_))));
        }
    }

    #[test]
    fn a_built_tx_decodes_back_to_its_message_fee_and_signer() {
        let key = [2u8; 33];
        let m = sign_material(
            vec![send("5")],
            SignParams {
                memo: "hi".into(),
                timeout_height: 0,
                fee: vec![Coin { denom: "uatom".into(), amount: "200".into() }],
                gas_limit: 200_000,
                public_key: &key,
                sequence: 4,
                network: "gwc",
                account_number: 1,
            },
        )
        .unwrap();
        let raw = TxRaw {
            body_bytes: m.body_bytes,
            auth_info_bytes: m.auth_info_bytes,
            signatures: vec![vec![1; 64]],
        };
        let view = decode_json(&raw.encode_to_vec()).unwrap();
        assert_eq!(view["body"]["messages"][0]["value"]["amount"][0]["amount"], "5");
        assert_eq!(view["body"]["memo"], "hi");
        assert_eq!(view["authInfo"]["fee"]["gasLimit"], "200000");
        assert_eq!(view["authInfo"]["signerInfos"][0]["sequence"], "4");
        assert_eq!(view["authInfo"]["signerInfos"][0]["modeInfo"]["single"]["mode"], "SIGN_MODE_DIRECT");
        let doc = SignDoc::decode(m.sign_doc_bytes.as_slice()).unwrap();
        assert_eq!((doc.chain_id.as_str(), doc.account_number), ("gwc", 1));
    }

    #[test]
    fn ibc_transfers_decode_and_unknown_types_only_show_their_size() {
        let transfer = super::super::ibc::MsgTransfer {
            source_port: "transfer".into(),
            source_channel: "channel-0".into(),
            token: Some(Coin { denom: "uatom".into(), amount: "7".into() }),
            sender: ALICE.into(),
            receiver: ALICE.into(),
            ..Default::default()
        };
        let any = Any { type_url: super::super::ibc::MSG_TRANSFER.into(), value: transfer.encode_to_vec() };
        assert_eq!(message_value(&any).unwrap()["sourceChannel"], "channel-0");
        let unknown = any_json(&Any { type_url: "/gwc.gateway.v1.MsgX".into(), value: vec![1, 2, 3] });
        assert_eq!(unknown, json!({"typeUrl": "/gwc.gateway.v1.MsgX", "decoded": false, "valueSize": 3}));
    }

    #[test]
    fn unsupported_build_types_and_bad_amounts_are_validation_errors() {
        assert!(matches!(message_from_json("/x.Msg", &json!({})), Err(Error::Validation { .. })));
        let bad =
            json!({"fromAddress": ALICE, "toAddress": ALICE, "amount": [{"denom": "uatom", "amount": "-1"}]});
        assert!(matches!(message_from_json(MSG_SEND, &bad), Err(Error::Validation { .. })));
    }
}
