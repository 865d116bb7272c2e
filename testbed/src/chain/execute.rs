//! CheckTx, FinalizeBlock's per-tx execution and Simulate: the ante handler, then (except in
//! CheckTx) the messages, each under a ledger checkpoint so a failure leaves no trace. The
//! result is the ABCI `ResponseCheckTx` / `ExecTxResult` a client sees.

use super::ante::{self, AnteParams, Mode, Verified};
use super::events::Event;
use super::ledger::Ledger;
use super::msgs::{MsgRegistry, module_name};
use super::sdk_error::SdkError;
use super::tx_codec::DecodedTx;
use cosmrs::proto::cosmos::base::abci::v1beta1::TxMsgData;
use cosmrs::proto::prost::Message as _;

/// An ABCI tx result (`ResponseCheckTx` or `ExecTxResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxResult {
    pub code: u32,
    pub codespace: String,
    pub log: String,
    /// `TxMsgData` bytes on success (empty for CheckTx and failures).
    pub data: Vec<u8>,
    pub gas_wanted: u64,
    pub gas_used: u64,
    pub events: Vec<Event>,
}

impl TxResult {
    pub fn is_ok(&self) -> bool {
        self.code == 0
    }

    /// A failure as `errors.ResponseCheckTxWithEvents` / `ResponseExecTxResultWithEvents` builds it.
    pub fn failed(error: &SdkError, gas_wanted: u64, gas_used: u64, events: Vec<Event>) -> Self {
        Self {
            code: error.code,
            codespace: error.codespace.to_string(),
            log: error.log.clone(),
            data: Vec::new(),
            gas_wanted,
            gas_used,
            events,
        }
    }
}

/// CheckTx on the check state: the ante handler only (messages run in blocks).
pub fn check_tx(
    ledger: &mut Ledger,
    tx: &DecodedTx,
    registry: &MsgRegistry,
    verified: &Verified,
    p: AnteParams<'_>,
) -> TxResult {
    let gas_wanted = tx.gas_limit();
    let signers = match ante::signers(tx, registry) {
        Ok(s) => s,
        Err(e) => return TxResult::failed(&e, gas_wanted, 0, Vec::new()),
    };
    ledger.checkpoint();
    match ante::run(ledger, tx, &signers, verified, p) {
        Ok(outcome) => {
            ledger.commit();
            TxResult {
                gas_wanted,
                gas_used: outcome.gas.used(),
                events: outcome.events,
                ..Default::default()
            }
        }
        Err(rejected) => {
            ledger.rollback();
            TxResult::failed(&rejected.error, gas_wanted, rejected.gas_used, Vec::new())
        }
    }
}

/// One tx of a block on the deliver state: the ante handler (its fee and sequence stay even
/// when a message fails), then every message (all or nothing).
pub fn deliver_tx(
    ledger: &mut Ledger,
    tx: &DecodedTx,
    registry: &MsgRegistry,
    chain_id: &str,
    height: u64,
) -> TxResult {
    run_tx(ledger, tx, registry, AnteParams { chain_id, mode: Mode::Deliver, height })
}

/// `cosmos.tx.v1beta1.Service/Simulate` on a scratch copy of the state.
pub fn simulate(
    mut ledger: Ledger,
    tx: &DecodedTx,
    registry: &MsgRegistry,
    chain_id: &str,
    height: u64,
) -> TxResult {
    run_tx(&mut ledger, tx, registry, AnteParams { chain_id, mode: Mode::Simulate, height })
}

fn run_tx(ledger: &mut Ledger, tx: &DecodedTx, registry: &MsgRegistry, p: AnteParams<'_>) -> TxResult {
    let gas_wanted = tx.gas_limit();
    let signers = match ante::signers(tx, registry) {
        Ok(s) => s,
        Err(e) => return TxResult::failed(&e, gas_wanted, 0, Vec::new()),
    };
    ledger.checkpoint();
    let mut outcome = match ante::run(ledger, tx, &signers, &Verified::default(), p) {
        Ok(o) => o,
        Err(rejected) => {
            ledger.rollback();
            return TxResult::failed(&rejected.error, gas_wanted, rejected.gas_used, Vec::new());
        }
    };
    ledger.commit();
    let ante_events = outcome.events.clone();
    ledger.checkpoint();
    let mut events = outcome.events;
    let mut responses = Vec::new();
    for (index, msg) in tx.body.messages.iter().enumerate() {
        let run = registry.get(&msg.type_url).and_then(|handler| {
            outcome.gas.consume(handler.gas(), "WriteFlat")?;
            handler.deliver(ledger, &msg.value)
        });
        match run {
            Ok(done) => {
                let signer = signers.get(index).or(signers.first()).cloned().unwrap_or_default();
                let header = message_event(&msg.type_url, &signer, &done.events);
                events.extend(header.into_iter().chain(done.events).map(|e| e.with_msg_index(index)));
                responses.push(done.response);
            }
            Err(e) => {
                ledger.rollback();
                let error = e.context(format!("failed to execute message; message index: {index}"));
                return TxResult::failed(&error, gas_wanted, outcome.gas.used(), ante_events);
            }
        }
    }
    ledger.commit();
    let data = TxMsgData { msg_responses: responses, ..Default::default() }.encode_to_vec();
    TxResult { data, gas_wanted, gas_used: outcome.gas.used(), events, ..Default::default() }
}

/// baseapp's `message{action, sender, module}` event, unless the handler emitted its own.
fn message_event(type_url: &str, signer: &str, emitted: &[Event]) -> Option<Event> {
    let has_action = emitted.iter().any(|e| e.kind == "message" && e.value("action").is_some());
    (!has_action).then(|| {
        Event::new("message", &[("action", type_url), ("sender", signer), ("module", module_name(type_url))])
    })
}
