//! Transaction bytes in and out: the SDK's `DefaultTxDecoder` (ADR-027 checks on `TxRaw`,
//! then `TxBody` and `AuthInfo`), the SIGN_MODE_DIRECT sign bytes, the tx hash, and a signer
//! that builds real signed `TxRaw`s for tests, benches and the in-pod simulations.

use super::coins::Coin;
use super::keys::TestKey;
use super::sdk_error::{SdkError, codes};
use cosmrs::Any;
use cosmrs::proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmrs::proto::cosmos::tx::v1beta1::{
    AuthInfo, Fee, ModeInfo, SignDoc, SignerInfo, TxBody, TxRaw, mode_info,
};
use cosmrs::proto::prost::Message as _;
use sha2::{Digest as _, Sha256};

/// Type URL of a secp256k1 public key inside `SignerInfo.public_key`.
pub const SECP256K1_PUBKEY_TYPE_URL: &str = "/cosmos.crypto.secp256k1.PubKey";

/// A decoded transaction and the exact bytes it came from.
#[derive(Debug, Clone)]
pub struct DecodedTx {
    pub hash: [u8; 32],
    pub raw: TxRaw,
    pub body: TxBody,
    pub auth_info: AuthInfo,
    /// Length of the broadcast bytes (gas is charged per byte).
    pub size: usize,
}

impl DecodedTx {
    pub fn gas_limit(&self) -> u64 {
        self.auth_info.fee.as_ref().map_or(0, |f| f.gas_limit)
    }

    pub fn fee_coins(&self) -> Result<Vec<Coin>, SdkError> {
        super::coins::coins_from_proto(self.auth_info.fee.as_ref().map_or(&[][..], |f| &f.amount))
    }
}

/// Uppercase hex SHA-256 of the TxRaw bytes (`cometbft types/tx.go Tx.Hash`, printed `%X`).
pub fn tx_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn hash_hex(hash: &[u8; 32]) -> String {
    hex::encode_upper(hash)
}

/// `x/auth/tx/decoder.go : DefaultTxDecoder`: every error is code 2 `tx parse error`.
pub fn decode_tx(bytes: &[u8]) -> Result<DecodedTx, SdkError> {
    reject_non_adr027_tx_raw(bytes).map_err(SdkError::tx_decode)?;
    let raw = TxRaw::decode(bytes).map_err(|e| SdkError::tx_decode(prost_text(&e)))?;
    let body = TxBody::decode(raw.body_bytes.as_slice()).map_err(|e| SdkError::tx_decode(prost_text(&e)))?;
    let auth_info =
        AuthInfo::decode(raw.auth_info_bytes.as_slice()).map_err(|e| SdkError::tx_decode(prost_text(&e)))?;
    Ok(DecodedTx { hash: tx_hash(bytes), raw, body, auth_info, size: bytes.len() })
}

fn prost_text(e: &cosmrs::proto::prost::DecodeError) -> String {
    e.to_string().trim_start_matches("failed to decode Protobuf message: ").to_string()
}

/// ADR-027 canonical `TxRaw`: only length-delimited fields, ascending field numbers, minimal
/// length prefixes. Error texts are those of `rejectNonADR027TxRaw`.
fn reject_non_adr027_tx_raw(mut bytes: &[u8]) -> Result<(), String> {
    let mut prev_tag = 0u64;
    while !bytes.is_empty() {
        let (key, key_len) = read_varint(bytes).ok_or("invalid length; unexpected EOF")?;
        let (tag, wire_type) = (key >> 3, key & 7);
        if tag == 0 {
            return Err("invalid length; invalid field number".into());
        }
        if wire_type != 2 {
            return Err(format!("expected 2 wire type, got {wire_type}"));
        }
        if tag < prev_tag {
            return Err(format!("txRaw must follow ADR-027, got tagNum {tag} after tagNum {prev_tag}"));
        }
        prev_tag = tag;
        let (len, len_len) = read_varint(&bytes[key_len..]).ok_or("invalid length; unexpected EOF")?;
        let minimal = varint_len(len);
        if minimal != len_len {
            return Err(format!(
                "length prefix varint for tagNum {tag} is not as short as possible, read {len_len}, only need {minimal}"
            ));
        }
        let end = usize::try_from(len).ok().and_then(|l| (key_len + len_len).checked_add(l));
        match end {
            Some(end) if end <= bytes.len() => bytes = &bytes[end..],
            _ => return Err("invalid length; unexpected EOF".into()),
        }
    }
    Ok(())
}

fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().take(10).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros()).max(1).div_ceil(7) as usize
}

/// The SIGN_MODE_DIRECT sign bytes: `SignDoc{body_bytes, auth_info_bytes, chain_id,
/// account_number}` as protobuf, over the bytes exactly as broadcast.
pub fn sign_doc_bytes(
    body_bytes: &[u8],
    auth_info_bytes: &[u8],
    chain_id: &str,
    account_number: u64,
) -> Vec<u8> {
    SignDoc {
        body_bytes: body_bytes.to_vec(),
        auth_info_bytes: auth_info_bytes.to_vec(),
        chain_id: chain_id.to_string(),
        account_number,
    }
    .encode_to_vec()
}

/// What to put in a transaction before signing it.
#[derive(Debug, Clone)]
pub struct UnsignedTx {
    pub msgs: Vec<Any>,
    pub memo: String,
    pub fee: Vec<Coin>,
    pub gas_limit: u64,
    /// `--fee-granter`: the account whose feegrant allowance pays the fee.
    pub granter: String,
}

impl UnsignedTx {
    pub fn new(msgs: Vec<Any>, fee: Coin, gas_limit: u64) -> Self {
        Self { msgs, memo: String::new(), fee: vec![fee], gas_limit, granter: String::new() }
    }

    pub fn with_granter(mut self, granter: &str) -> Self {
        self.granter = granter.to_string();
        self
    }

    /// Signs in SIGN_MODE_DIRECT with `key` (its public key goes into the signer info) and
    /// returns the `TxRaw` bytes ready to broadcast.
    pub fn sign(&self, key: &TestKey, chain_id: &str, account_number: u64, sequence: u64) -> Vec<u8> {
        self.sign_with(key, &key.public_key, chain_id, account_number, sequence)
    }

    /// Like `sign`, but names `claimed_public_key` in the signer info while `key` signs:
    /// how a test builds a tx signed by the wrong key.
    pub fn sign_with(
        &self,
        key: &TestKey,
        claimed_public_key: &[u8],
        chain_id: &str,
        account_number: u64,
        sequence: u64,
    ) -> Vec<u8> {
        let body = TxBody { messages: self.msgs.clone(), memo: self.memo.clone(), ..Default::default() };
        let auth_info = AuthInfo {
            signer_infos: vec![SignerInfo {
                public_key: Some(secp256k1_pubkey_any(claimed_public_key)),
                mode_info: Some(ModeInfo {
                    sum: Some(mode_info::Sum::Single(mode_info::Single { mode: SignMode::Direct as i32 })),
                }),
                sequence,
            }],
            fee: Some(Fee {
                amount: self.fee.iter().map(Coin::to_proto).collect(),
                gas_limit: self.gas_limit,
                payer: String::new(),
                granter: self.granter.clone(),
            }),
            ..Default::default()
        };
        let (body_bytes, auth_info_bytes) = (body.encode_to_vec(), auth_info.encode_to_vec());
        let signature = key.sign(&sign_doc_bytes(&body_bytes, &auth_info_bytes, chain_id, account_number));
        TxRaw { body_bytes, auth_info_bytes, signatures: vec![signature] }.encode_to_vec()
    }
}

pub fn secp256k1_pubkey_any(key: &[u8]) -> Any {
    let inner = cosmrs::proto::cosmos::crypto::secp256k1::PubKey { key: key.to_vec() };
    Any { type_url: SECP256K1_PUBKEY_TYPE_URL.into(), value: inner.encode_to_vec() }
}

/// The compressed key inside a `SignerInfo.public_key`, if it is a secp256k1 key.
pub fn secp256k1_pubkey_from_any(any: &Any) -> Result<Vec<u8>, SdkError> {
    if any.type_url != SECP256K1_PUBKEY_TYPE_URL {
        return Err(SdkError::wrap(
            codes::INVALID_PUB_KEY,
            format!("unsupported public key type {}", any.type_url),
        ));
    }
    let key = cosmrs::proto::cosmos::crypto::secp256k1::PubKey::decode(any.value.as_slice())
        .map_err(|e| SdkError::tx_decode(prost_text(&e)))?;
    Ok(key.key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn a_kvstore_tx_is_a_parse_error_with_the_recorded_text() {
        // chain-shapes.md §4: "expected 2 wire type, got 3: tx parse error" (SDK issue #10840);
        // `sync-key=value` starts with 0x73 = field 14, wire type 3.
        let err = decode_tx(b"sync-key=value").unwrap_err();
        assert_eq!((err.code, err.log.as_str()), (2, "expected 2 wire type, got 3: tx parse error"));
    }

    #[test]
    fn truncated_and_reordered_tx_raws_are_parse_errors() {
        assert_eq!(decode_tx(&[0x0a, 0x05, 0x01]).unwrap_err().code, 2);
        let reordered = [0x12, 0x00, 0x0a, 0x00];
        assert_eq!(
            decode_tx(&reordered).unwrap_err().log,
            "txRaw must follow ADR-027, got tagNum 1 after tagNum 2: tx parse error"
        );
        let long_prefix = [0x0a, 0x80, 0x00];
        assert!(decode_tx(&long_prefix).unwrap_err().log.contains("not as short as possible"));
    }

    #[test]
    fn the_recorded_simd_tx_decodes_and_hashes_to_its_recorded_hash() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/cometbft/simd_v0_37/tx_search.json"))
                .unwrap();
        let tx = &fixture["result"]["txs"][0];
        let bytes = base64::engine::general_purpose::STANDARD.decode(tx["tx"].as_str().unwrap()).unwrap();
        let decoded = decode_tx(&bytes).unwrap();
        assert_eq!(hash_hex(&decoded.hash), tx["hash"].as_str().unwrap());
        assert_eq!(decoded.body.messages[0].type_url, "/ibc.core.client.v1.MsgCreateClient");
        assert_eq!(decoded.gas_limit(), 88080);
    }

    #[test]
    fn a_signed_tx_verifies_against_its_sign_doc() {
        let key = TestKey::random();
        let bytes = UnsignedTx::new(vec![], Coin::uatom(200), 200_000).sign(&key, "gwc", 7, 3);
        let tx = decode_tx(&bytes).unwrap();
        let doc = sign_doc_bytes(&tx.raw.body_bytes, &tx.raw.auth_info_bytes, "gwc", 7);
        assert!(super::super::keys::verify_signature(&key.public_key, &doc, &tx.raw.signatures[0]));
        assert_eq!(tx.auth_info.signer_infos[0].sequence, 3);
    }
}
