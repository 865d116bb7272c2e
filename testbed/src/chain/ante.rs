//! The ante handler of SDK v0.50 (`x/auth/ante/ante.go NewAnteHandler`), in its order: gas
//! meter, basic checks, timeout height, memo, tx size gas, fee (minimum gas price in CheckTx,
//! then deduction), public keys, signature gas, sequence and SIGN_MODE_DIRECT signature,
//! sequence increment. Signatures can be verified ahead, outside the node's lock.

use super::coins::{Coin, DENOM, coins_to_string};
use super::events::{Event, transfer_events};
use super::gas::{self, GasMeter};
use super::keys::{address_of_public_key, module_address, verify_signature};
use super::ledger::{FEE_COLLECTOR, Ledger};
use super::msgs::MsgRegistry;
use super::sdk_error::{SdkError, codes};
use super::tx_codec::{DecodedTx, secp256k1_pubkey_from_any, sign_doc_bytes};
use base64::Engine as _;
use cosmrs::proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmrs::proto::cosmos::tx::v1beta1::mode_info;

/// `x/auth/types/params.go : DefaultMaxMemoCharacters`.
const MAX_MEMO_CHARACTERS: usize = 256;

/// Which ABCI call runs the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// CheckTx: minimum gas price enforced, signatures verified.
    Check,
    /// FinalizeBlock: every tx in a block passed CheckTx here, so its signatures were verified
    /// over the same bytes and account numbers; they are not verified twice.
    Deliver,
    /// `Simulate`: infinite gas, no fee floor, no signature check.
    Simulate,
}

#[derive(Debug, Clone, Copy)]
pub struct AnteParams<'a> {
    pub chain_id: &'a str,
    pub mode: Mode,
    /// Height of the block the tx would land in.
    pub height: u64,
}

/// A rejection and the gas used up to it (CheckTx and DeliverTx report both).
#[derive(Debug, Clone)]
pub struct Rejected {
    pub error: SdkError,
    pub gas_used: u64,
}

/// What a passed ante handler leaves for message execution.
#[derive(Debug, Clone)]
pub struct AnteOutcome {
    pub signers: Vec<String>,
    pub gas: GasMeter,
    pub events: Vec<Event>,
}

/// Signatures checked ahead of the state lock: per signer, the account number and key
/// that were used and whether the signature verified.
#[derive(Debug, Clone, Default)]
pub struct Verified(Vec<Option<(u64, Vec<u8>, bool)>>);

/// The tx's signers: each message's signer, first appearance first (`GetSigners`).
pub fn signers(tx: &DecodedTx, registry: &MsgRegistry) -> Result<Vec<String>, SdkError> {
    if tx.body.messages.is_empty() {
        return Err(SdkError::wrap(codes::INVALID_REQUEST, "must contain at least one message"));
    }
    let mut out: Vec<String> = Vec::new();
    for msg in &tx.body.messages {
        let signer = registry.get(&msg.type_url)?.signer(&msg.value)?;
        if !out.contains(&signer) {
            out.push(signer);
        }
    }
    Ok(out)
}

/// What each signature must be checked against: the signer's account number and key, read
/// from `ledger` (`None` when the account or key is unknown yet).
pub fn signature_inputs(tx: &DecodedTx, signers: &[String], ledger: &Ledger) -> Vec<Option<(u64, Vec<u8>)>> {
    signers
        .iter()
        .enumerate()
        .map(|(i, signer)| {
            let account = ledger.account(signer)?;
            let key = signer_key(tx, i).or_else(|| account.pub_key.clone())?;
            Some((account.number, key))
        })
        .collect()
}

/// Verifies the signatures ahead of the state lock (the expensive part of CheckTx); `run`
/// re-verifies any whose inputs changed meanwhile.
pub fn verify_ahead(tx: &DecodedTx, inputs: Vec<Option<(u64, Vec<u8>)>>, chain_id: &str) -> Verified {
    let checked = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            input.map(|(number, key)| {
                let ok = signature_verifies(tx, i, number, &key, chain_id);
                (number, key, ok)
            })
        })
        .collect();
    Verified(checked)
}

fn signer_key(tx: &DecodedTx, index: usize) -> Option<Vec<u8>> {
    let any = tx.auth_info.signer_infos.get(index)?.public_key.as_ref()?;
    secp256k1_pubkey_from_any(any).ok()
}

fn signature_verifies(tx: &DecodedTx, index: usize, account_number: u64, key: &[u8], chain_id: &str) -> bool {
    let direct =
        tx.auth_info.signer_infos.get(index).and_then(|s| s.mode_info.as_ref()).and_then(|m| m.sum.as_ref());
    let is_direct = matches!(direct, Some(mode_info::Sum::Single(s)) if s.mode == SignMode::Direct as i32);
    let Some(signature) = tx.raw.signatures.get(index) else { return false };
    is_direct
        && verify_signature(
            key,
            &sign_doc_bytes(&tx.raw.body_bytes, &tx.raw.auth_info_bytes, chain_id, account_number),
            signature,
        )
}

/// Runs the ante handler on `ledger`, which must hold an open checkpoint: on `Err` the
/// caller rolls back.
pub fn run(
    ledger: &mut Ledger,
    tx: &DecodedTx,
    signers: &[String],
    verified: &Verified,
    p: AnteParams<'_>,
) -> Result<AnteOutcome, Rejected> {
    let limit = (p.mode != Mode::Simulate).then(|| tx.gas_limit());
    let mut gas = GasMeter::new(limit);
    let mut events = Vec::new();
    let result = run_decorators(ledger, tx, signers, verified, p, &mut gas, &mut events);
    match result {
        Ok(()) => Ok(AnteOutcome { signers: signers.to_vec(), gas, events }),
        Err(error) => Err(Rejected { error, gas_used: gas.used() }),
    }
}

fn run_decorators(
    ledger: &mut Ledger,
    tx: &DecodedTx,
    signers: &[String],
    verified: &Verified,
    p: AnteParams<'_>,
    gas: &mut GasMeter,
    events: &mut Vec<Event>,
) -> Result<(), SdkError> {
    validate_basic(tx, signers, p.mode)?;
    let timeout = tx.body.timeout_height;
    if timeout > 0 && p.height > timeout {
        let msg = format!("tx timeout height; current height: {}, timeout height: {timeout}", p.height);
        return Err(SdkError::wrap((30, "tx timeout height"), msg));
    }
    let memo_chars = tx.body.memo.chars().count();
    if memo_chars > MAX_MEMO_CHARACTERS {
        let msg = format!(
            "maximum number of characters is {MAX_MEMO_CHARACTERS} but received {memo_chars} characters"
        );
        return Err(SdkError::wrap(codes::MEMO_TOO_LARGE, msg));
    }
    gas.consume(gas::TX_SIZE_COST_PER_BYTE * tx.size as u64, "txSize")?;
    deduct_fee(ledger, tx, signers, p, gas, events)?;
    set_pub_keys(ledger, tx, signers, p, events)?;
    for _ in signers {
        gas.consume(gas::SIG_VERIFY_COST_SECP256K1, "ante verify: secp256k1")?;
    }
    verify_signatures(ledger, tx, signers, verified, p)?;
    for signer in signers {
        gas.consume(gas::SIGNER_ACCOUNT_GAS, "WriteFlat")?;
        if let Some(account) = ledger.account_mut(signer) {
            account.sequence += 1;
        }
    }
    Ok(())
}

/// `ValidateBasicDecorator` (`types/tx/types.go ValidateBasic`); skipped when simulating.
fn validate_basic(tx: &DecodedTx, signers: &[String], mode: Mode) -> Result<(), SdkError> {
    if mode == Mode::Simulate {
        return Ok(());
    }
    let sigs = tx.raw.signatures.len();
    if sigs == 0 {
        return Err(SdkError::bare(codes::NO_SIGNATURES));
    }
    if sigs != signers.len() {
        let msg = format!("wrong number of signers; expected {}, got {sigs}", signers.len());
        return Err(SdkError::wrap(codes::UNAUTHORIZED, msg));
    }
    if tx.auth_info.signer_infos.len() != sigs {
        let msg =
            format!("invalid number of signer;  expected: {sigs}, got {}", tx.auth_info.signer_infos.len());
        return Err(SdkError::wrap(codes::UNAUTHORIZED, msg));
    }
    Ok(())
}

/// `DeductFeeDecorator`: the CheckTx fee floor, then fee payer → `fee_collector`.
fn deduct_fee(
    ledger: &mut Ledger,
    tx: &DecodedTx,
    signers: &[String],
    p: AnteParams<'_>,
    gas: &mut GasMeter,
    events: &mut Vec<Event>,
) -> Result<(), SdkError> {
    let fee = tx.fee_coins()?;
    if p.mode == Mode::Check {
        let required = gas::required_fee(tx.gas_limit());
        let paid = fee.iter().find(|c| c.denom == DENOM).map_or(0, |c| c.amount);
        if required > 0 && paid < required {
            return Err(SdkError::insufficient_fee(
                &coins_to_string(&fee),
                &Coin::uatom(required).to_string(),
            ));
        }
    }
    let mut payer = match tx.auth_info.fee.as_ref().map(|f| f.payer.as_str()) {
        Some(payer) if !payer.is_empty() => payer.to_string(),
        _ => signers.first().cloned().unwrap_or_default(),
    };
    let granter = tx.auth_info.fee.as_ref().map(|f| f.granter.clone()).unwrap_or_default();
    if !granter.is_empty() && granter != payer {
        super::authz::use_granted_fees(ledger, &granter, &payer, &fee)?;
        payer = granter;
    }
    if ledger.account(&payer).is_none() {
        return Err(SdkError::wrap(
            (9, "unknown address"),
            format!("fee payer address: {payer} does not exist"),
        ));
    }
    let fee_text = coins_to_string(&fee);
    if fee.iter().any(|c| c.amount > 0) {
        gas.consume(gas::FEE_DEDUCTION_GAS, "WriteFlat")?;
        let collector = module_address(FEE_COLLECTOR);
        ledger.send(&payer, &collector, &fee).map_err(|e| SdkError::wrap(codes::INSUFFICIENT_FUNDS, e))?;
        events.extend(transfer_events(&payer, &collector, &fee_text));
    }
    events.push(Event::new("tx", &[("fee", &fee_text), ("fee_payer", &payer)]));
    Ok(())
}

/// `SetPubKeyDecorator`: each signer's key must hash to its address; a first tx stores it.
fn set_pub_keys(
    ledger: &mut Ledger,
    tx: &DecodedTx,
    signers: &[String],
    p: AnteParams<'_>,
    events: &mut Vec<Event>,
) -> Result<(), SdkError> {
    for (i, signer) in signers.iter().enumerate() {
        let info = tx.auth_info.signer_infos.get(i);
        let key = match info.and_then(|s| s.public_key.as_ref()) {
            Some(any) => Some(secp256k1_pubkey_from_any(any)?),
            None => None,
        };
        if let Some(key) = &key
            && address_of_public_key(key) != *signer
        {
            let msg = format!("pubKey does not match signer address {signer} with signer index: {i}");
            return Err(SdkError::wrap(codes::INVALID_PUB_KEY, msg));
        }
        let Some(account) = ledger.account(signer) else {
            return Err(SdkError::wrap((9, "unknown address"), format!("account {signer} does not exist")));
        };
        if account.pub_key.is_none() && p.mode != Mode::Simulate && key.is_some() {
            ledger.account_mut(signer).expect("exists").pub_key = key;
        }
        let sequence = info.map_or(0, |s| s.sequence);
        events.push(Event::new("tx", &[("acc_seq", &format!("{signer}/{sequence}"))]));
        if let Some(sig) = tx.raw.signatures.get(i) {
            events.push(Event::new(
                "tx",
                &[("signature", &base64::engine::general_purpose::STANDARD.encode(sig))],
            ));
        }
    }
    Ok(())
}

/// `SigVerificationDecorator`: the key must be known, the sequence must be the account's,
/// and (in CheckTx) the signature must verify over the SignDoc.
fn verify_signatures(
    ledger: &Ledger,
    tx: &DecodedTx,
    signers: &[String],
    verified: &Verified,
    p: AnteParams<'_>,
) -> Result<(), SdkError> {
    for (i, signer) in signers.iter().enumerate() {
        let account = ledger.account(signer).expect("checked by set_pub_keys");
        let Some(key) = account.pub_key.clone().or_else(|| signer_key(tx, i)) else {
            if p.mode == Mode::Simulate {
                continue;
            }
            return Err(SdkError::wrap(codes::INVALID_PUB_KEY, "pubkey on account is not set"));
        };
        let sequence = tx.auth_info.signer_infos.get(i).map_or(0, |s| s.sequence);
        if sequence != account.sequence {
            return Err(SdkError::wrong_sequence(account.sequence, sequence));
        }
        if p.mode != Mode::Check {
            continue;
        }
        let ok = match verified.0.get(i).and_then(Option::as_ref) {
            Some((number, used_key, ok)) if *number == account.number && *used_key == key => *ok,
            _ => signature_verifies(tx, i, account.number, &key, p.chain_id),
        };
        if !ok {
            let msg = format!(
                "signature verification failed; please verify account number ({}) and chain-id ({}): (unable to verify single signer signature)",
                account.number, p.chain_id
            );
            return Err(SdkError::wrap(codes::UNAUTHORIZED, msg));
        }
    }
    Ok(())
}
