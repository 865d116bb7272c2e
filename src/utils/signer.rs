//! Keys made and used inside one job: a throwaway secp256k1 account that signs
//! SIGN_MODE_DIRECT txs in the BFF. The key never leaves the value that holds it: only the
//! address is ever shown, and `Debug` prints nothing else.

use crate::chain::tx;
use crate::chart::{ACCOUNT_PREFIX, DENOM};
use crate::error_code::{ErrorCode, Failure};
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::proto::Any;
use cosmrs::proto::cosmos::bank::v1beta1::MsgSend;
use cosmrs::proto::cosmos::base::v1beta1::Coin;
use cosmrs::proto::cosmos::tx::v1beta1::TxRaw;
use prost::Message as _;

pub struct Signer {
    key: SigningKey,
    pub address: String,
    public_key: Vec<u8>,
    /// The account number, once the chain has the account.
    pub number: u64,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer {{ address: {}, key: <redacted> }}", self.address)
    }
}

/// How a tx pays: its gas limit, at a price in uatom per gas.
#[derive(Debug, Clone, Copy)]
pub struct Fee {
    pub gas_limit: u64,
    pub gas_price: f64,
}

impl Fee {
    pub fn amount(&self) -> u128 {
        (self.gas_limit as f64 * self.gas_price).ceil() as u128
    }

    pub fn with_gas(self, gas_limit: u64) -> Self {
        Self { gas_limit, ..self }
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Failure {
    Failure::new(ErrorCode::InternalError, e.to_string())
}

impl Signer {
    /// A fresh random key.
    pub fn random() -> Result<Self, Failure> {
        let key = SigningKey::random();
        let public = key.public_key();
        let address = public.account_id(ACCOUNT_PREFIX).map_err(internal)?.to_string();
        Ok(Self { public_key: public.to_bytes(), key, address, number: 0 })
    }

    /// A `TxRaw` of `messages` at `sequence` on `network`, signed by this key.
    pub fn sign(
        &self,
        messages: Vec<Any>,
        sequence: u64,
        network: &str,
        fee: Fee,
    ) -> Result<Vec<u8>, Failure> {
        let material = tx::sign_material(
            messages,
            tx::SignParams {
                memo: String::new(),
                timeout_height: 0,
                fee: vec![coin(fee.amount())],
                gas_limit: fee.gas_limit,
                public_key: &self.public_key,
                sequence,
                network,
                account_number: self.number,
            },
        )
        .map_err(internal)?;
        let signature = self.key.sign(&material.sign_doc_bytes).map_err(internal)?;
        let raw = TxRaw {
            body_bytes: material.body_bytes,
            auth_info_bytes: material.auth_info_bytes,
            signatures: vec![signature.to_bytes().to_vec()],
        };
        Ok(raw.encode_to_vec())
    }
}

pub fn coin(amount: u128) -> Coin {
    Coin { denom: DENOM.into(), amount: amount.to_string() }
}

/// A bank `MsgSend` of `amount` uatom.
pub fn transfer(from: &str, to: &str, amount: u128) -> Any {
    let msg =
        MsgSend { from_address: from.to_string(), to_address: to.to_string(), amount: vec![coin(amount)] };
    any(tx::MSG_SEND, &msg)
}

pub fn any(type_url: &str, msg: &impl prost::Message) -> Any {
    Any { type_url: type_url.into(), value: msg.encode_to_vec() }
}
