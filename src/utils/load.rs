//! `utils.load.transfers`: load without hand-signing. The job makes throwaway accounts in
//! memory, funds them (the chart's faucet, or a bank send from `local-admin` in the chain's
//! pod, as the scripts' `faucet.sh` does), signs N transfers between them here, and sends
//! them with broadcast-batch's machinery. The keys live in this job's memory only: a
//! response or a log line carries addresses, never a key.

use super::ChainTarget;
use super::broadcast::{BatchSpec, BroadcastStep, Mode, PreparedTx};
use crate::chain::{ChainClient, rest, rpc, tx};
use crate::chart::{ACCOUNT_PREFIX, DENOM, LOCAL_ADMIN, chain_binary, chain_home};
use crate::error_code::{ErrorCode, Failure};
use crate::jobs::{Step, StepCtx, StepOutcome};
use crate::k8s::PodExec;
use crate::sync::Locked;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::proto::Any;
use cosmrs::proto::cosmos::bank::v1beta1::MsgSend;
use cosmrs::proto::cosmos::base::v1beta1::Coin;
use cosmrs::proto::cosmos::tx::v1beta1::TxRaw;
use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _};
use prost::Message as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use utoipa::ToSchema;

/// Where the funds for the throwaway accounts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub enum Funding {
    /// The faucet where it serves the chain (gwc), else a bank send from local-admin; a
    /// faucet that does not answer or gives too little is topped up by the bank send.
    #[default]
    Auto,
    /// Only the chart's faucet (`GET /send/{address}`).
    Faucet,
    /// Only a bank send from the chain's `local-admin` key, in the chain's pod.
    BankSend,
}

/// How the chain is reached for funding: the faucet's URL when it serves this chain, and
/// the chain pod whose keyring holds local-admin.
pub struct FundingSource {
    pub faucet: Option<String>,
    pub pod: Option<String>,
    pub exec: PodExec,
}

/// The load as requested, checked by the API layer.
pub struct LoadSpec {
    pub client: ChainClient,
    pub target: ChainTarget,
    pub txs: usize,
    pub accounts: usize,
    /// uatom per transfer.
    pub amount: u128,
    pub gas_limit: u64,
    /// uatom per unit of gas.
    pub gas_price: f64,
    pub funding: Funding,
    pub source: FundingSource,
    /// The batch options, as broadcast-batch takes them (its `txs` are filled by `sign`).
    pub batch: BatchOptions,
}

pub struct BatchOptions {
    pub mode: Mode,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub wait_for_confirmation: bool,
    pub timeout: Duration,
    pub stall_after: Duration,
    pub poll: Duration,
    /// How long funding may wait for its txs to land.
    pub funding_timeout: Duration,
}

/// One throwaway account: its key (never leaves this job), address and, once funded, number.
struct Account {
    key: SigningKey,
    address: String,
    public_key: Vec<u8>,
    number: u64,
    /// Transfers this account signs.
    transfers: usize,
}

impl Account {
    fn new(transfers: usize) -> Result<Self, Failure> {
        let key = SigningKey::random();
        let public = key.public_key();
        let address = public.account_id(ACCOUNT_PREFIX).map_err(internal)?.to_string();
        Ok(Self { public_key: public.to_bytes(), key, address, number: 0, transfers })
    }
}

fn internal(e: impl std::fmt::Display) -> Failure {
    Failure::new(ErrorCode::InternalError, e.to_string())
}

/// What the steps hand on: the funded accounts, then the signed txs.
#[derive(Default)]
struct Shared {
    accounts: Vec<Account>,
    txs: Vec<PreparedTx>,
    network: String,
    funding: Value,
}

/// The job's steps: `fund`, `sign`, `broadcast`.
pub fn steps(spec: LoadSpec) -> Vec<Arc<dyn Step>> {
    let load = Arc::new(Load { spec, shared: Mutex::new(Shared::default()) });
    vec![Arc::new(Fund(load.clone())), Arc::new(Sign(load.clone())), Arc::new(Broadcast(load))]
}

struct Load {
    spec: LoadSpec,
    shared: Mutex<Shared>,
}

impl Load {
    fn fee(&self, gas: u64) -> u128 {
        (gas as f64 * self.spec.gas_price).ceil() as u128
    }

    /// What the funder must hold: every transfer with its fee, and the distribution's fee.
    fn needs(&self, accounts: &[Account]) -> (Vec<u128>, u64, u128) {
        let per_tx = self.spec.amount + self.fee(self.spec.gas_limit);
        let shares: Vec<u128> = accounts.iter().map(|a| per_tx * a.transfers as u128).collect();
        let gas = self.spec.gas_limit * accounts.len() as u64;
        let total = shares.iter().sum::<u128>() + self.fee(gas);
        (shares, gas, total)
    }
}

struct Fund(Arc<Load>);
struct Sign(Arc<Load>);
struct Broadcast(Arc<Load>);

impl Step for Fund {
    fn name(&self) -> &str {
        "fund"
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        fund(&self.0, ctx).boxed()
    }
}

impl Step for Sign {
    fn name(&self) -> &str {
        "sign"
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        async move { sign(&self.0, ctx) }.boxed()
    }
}

impl Step for Broadcast {
    fn name(&self) -> &str {
        "broadcast"
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        async move {
            let (txs, funding) = {
                let mut shared = self.0.shared.locked();
                (std::mem::take(&mut shared.txs), shared.funding.clone())
            };
            let o = &self.0.spec.batch;
            let batch = BatchSpec {
                client: self.0.spec.client.clone(),
                target: self.0.spec.target.clone(),
                txs,
                mode: o.mode,
                concurrency: o.concurrency,
                rate: o.rate,
                wait_for_confirmation: o.wait_for_confirmation,
                timeout: o.timeout,
                stall_after: o.stall_after,
                poll: o.poll,
            };
            let outcome = BroadcastStep(Arc::new(batch)).run(ctx).await;
            ctx.edit_result(|result| result["funding"] = funding);
            outcome
        }
        .boxed()
    }
}

async fn fund(load: &Load, ctx: &StepCtx) -> Result<StepOutcome, Failure> {
    let spec = &load.spec;
    let (client, api) = (&spec.client, spec.target.api.as_str());
    let (status, _) = rpc::node_status(client, &spec.target.rpc)
        .await
        .map_err(|e| super::observe::upstream_failure("failed to read the chain's status", &e))?;
    let network = status.network.unwrap_or_else(|| spec.target.chain_id.clone());
    // Transfers spread evenly; the first accounts take the remainder.
    let (base, extra) = (spec.txs / spec.accounts, spec.txs % spec.accounts);
    let mut accounts = (0..spec.accounts)
        .map(|i| Account::new(base + usize::from(i < extra)))
        .collect::<Result<Vec<_>, _>>()?;
    let funder = Account::new(0)?;
    let (shares, distribution_gas, total) = load.needs(&accounts);
    ctx.info(&format!(
        "{} throwaway account(s) made in memory; funder {} needs {total}{DENOM}",
        accounts.len(),
        funder.address
    ));

    let how = obtain(load, ctx, &funder.address, total).await?;
    let deadline = tokio::time::Instant::now() + spec.batch.funding_timeout;
    let (number, sequence) = wait_for_account(load, &funder.address, deadline).await?;
    // One tx from the funder pays every account its share.
    let messages: Vec<Any> = accounts
        .iter()
        .zip(&shares)
        .map(|(a, share)| transfer(&funder.address, &a.address, *share))
        .collect();
    let signed = signed_tx(&funder, messages, (number, sequence), &network, distribution_gas, load)?;
    let b64 = BASE64.encode(&signed);
    let answer = rest::broadcast_and_wait(client, api, &b64, spec.batch.funding_timeout, spec.batch.poll)
        .await
        .map_err(|e| super::observe::upstream_failure("the distribution tx failed", &e))?;
    let view = rest::tx_response_view(&answer);
    if view.code != 0 {
        return Err(Failure::new(
            ErrorCode::UpstreamError,
            format!("the distribution tx was refused (code {}): {}", view.code, view.raw_log),
        )
        .with_details(json!({"txhash": view.txhash, "code": view.code, "codespace": view.codespace})));
    }
    ctx.command(
        &format!("distribute to {} account(s) (tx {})", accounts.len(), view.txhash),
        &format!("committed at height {}", view.height),
    );
    // Account numbers, a few reads at a time.
    let addresses: Vec<String> = accounts.iter().map(|a| a.address.clone()).collect();
    let numbers: Vec<_> = futures::stream::iter(addresses)
        .map(|address| {
            let client = client.clone();
            async move { rest::account(&client, api, &address).await }
        })
        .buffered(8)
        .collect()
        .await;
    for (account, read) in accounts.iter_mut().zip(numbers) {
        let read = read.map_err(|e| super::observe::upstream_failure("reading a funded account", &e))?;
        account.number = rest::account_numbers(&read)
            .map(|(n, _)| n)
            .ok_or_else(|| internal("account without a number"))?;
    }
    let funding = json!({
        "source": how,
        "funder": funder.address,
        "fundedUatom": total.to_string(),
        "distributionTx": view.txhash,
        "accounts": accounts.iter().map(|a| json!({"address": a.address, "transfers": a.transfers})).collect::<Vec<_>>(),
    });
    let mut shared = load.shared.locked();
    shared.accounts = accounts;
    shared.network = network;
    shared.funding = funding;
    Ok(StepOutcome::Done(format!("{} account(s) funded through {how}", shared.accounts.len())))
}

/// Gets `total` to `funder`: the faucet, a bank send from local-admin, or the faucet topped
/// up by a bank send. Says which.
async fn obtain(load: &Load, ctx: &StepCtx, funder: &str, total: u128) -> Result<&'static str, Failure> {
    let spec = &load.spec;
    let faucet = match (spec.funding, &spec.source.faucet) {
        (Funding::BankSend, _) => None,
        (_, Some(url)) => Some(url.as_str()),
        (Funding::Faucet, None) => {
            return Err(Failure::new(
                ErrorCode::ValidationError,
                format!("no faucet serves {}: the chart's faucet funds gwc only", spec.target.chain_id),
            )
            .with_details(json!({"field": "funding", "hint": "use funding=bankSend or auto"})));
        }
        (Funding::Auto, None) => None,
    };
    if let Some(url) = faucet {
        match faucet_send(&spec.client, url, funder).await {
            Ok(given) if given >= total || spec.funding == Funding::Faucet => {
                ctx.command(&format!("GET {url}/send/{funder}"), &format!("{given}{DENOM} sent"));
                if given < total {
                    return Err(Failure::new(
                        ErrorCode::LimitExceeded,
                        format!("the faucet gives {given}{DENOM} a request; this load needs {total}{DENOM}"),
                    )
                    .with_details(json!({"hint": "fewer txs, or funding=bankSend / auto"})));
                }
                return Ok("faucet");
            }
            Ok(given) => {
                ctx.command(&format!("GET {url}/send/{funder}"), &format!("{given}{DENOM} sent"));
                bank_send(load, ctx, funder, total - given).await?;
                return Ok("faucet+bankSend");
            }
            Err(why) if spec.funding == Funding::Faucet => {
                return Err(Failure::new(
                    ErrorCode::UpstreamError,
                    format!("the faucet did not fund: {why}"),
                ));
            }
            Err(why) => {
                ctx.info(&format!("the faucet did not fund ({why}); a bank send from {LOCAL_ADMIN} instead"))
            }
        }
    }
    bank_send(load, ctx, funder, total).await?;
    Ok("bankSend")
}

/// ping-pub's faucet: `GET /send/{address}` answers `{result: DeliverTxResponse}` or
/// `{result: "<why not>"}`. The amount it sent, from the response's transfer event.
async fn faucet_send(client: &ChainClient, url: &str, address: &str) -> Result<u128, String> {
    let answer = client.rest_get(url, &format!("/send/{address}"), &[]).await.map_err(|e| e.to_string())?;
    let result = &answer["result"];
    if let Some(why) = result.as_str() {
        return Err(why.to_string());
    }
    if result["code"].as_i64().unwrap_or(-1) != 0 {
        return Err(format!("tx code {}", result["code"]));
    }
    let sent = result["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "transfer")
        .flat_map(|e| e["attributes"].as_array().into_iter().flatten())
        .find(|a| a["key"] == "amount")
        .and_then(|a| a["value"].as_str())
        .and_then(|v| v.strip_suffix(DENOM))
        .and_then(|v| v.parse::<u128>().ok());
    sent.ok_or_else(|| "the faucet's answer names no amount".into())
}

/// `<chain>d tx bank send local-admin <to> <amount>` in the chain's pod (the scripts' faucet.sh).
async fn bank_send(load: &Load, ctx: &StepCtx, to: &str, amount: u128) -> Result<(), Failure> {
    let spec = &load.spec;
    let chain = spec.target.chain_id.as_str();
    let pod = spec.source.pod.as_deref().ok_or_else(|| {
        Failure::new(ErrorCode::PodNotFound, format!("no ready pod of {chain} to send from {LOCAL_ADMIN}"))
    })?;
    let (binary, home, coins) = (chain_binary(chain), chain_home(chain), format!("{amount}{DENOM}"));
    let price = format!("{}{DENOM}", spec.gas_price);
    let argv = [
        binary.as_str(),
        "tx",
        "bank",
        "send",
        LOCAL_ADMIN,
        to,
        &coins,
        "--chain-id",
        chain,
        "--gas",
        "200000",
        "--gas-prices",
        &price,
        "--broadcast-mode",
        "sync",
        "-o",
        "json",
        "-y",
        "--keyring-backend",
        "test",
        "--home",
        &home,
    ];
    let display = format!("{binary} tx bank send {LOCAL_ADMIN} {to} {coins}");
    let out = spec
        .source
        .exec
        .run(pod, &argv, None)
        .await
        .map_err(|e| Failure::new(ErrorCode::ExecFailed, format!("{display} in {pod}: {e}")))?;
    let answer: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
    if out.code != 0 || answer["code"].as_i64() != Some(0) {
        let said = answer["raw_log"].as_str().unwrap_or_else(|| crate::k8s::script::last_line(&out.stderr));
        ctx.command(&display, &format!("exit {}", out.code));
        return Err(Failure::new(
            ErrorCode::ExecFailed,
            format!("{display} failed (exit {}, code {}): {said}", out.code, answer["code"]),
        )
        .with_details(json!({"hint": format!("fund {LOCAL_ADMIN} on {chain}, or use the faucet")})));
    }
    ctx.command(&display, &format!("ok (tx {})", answer["txhash"].as_str().unwrap_or("?")));
    Ok(())
}

/// Waits until `address` exists on chain (funded); its number and sequence.
async fn wait_for_account(
    load: &Load,
    address: &str,
    deadline: tokio::time::Instant,
) -> Result<(u64, u64), Failure> {
    let spec = &load.spec;
    loop {
        match rest::account(&spec.client, &spec.target.api, address).await {
            Ok(account) => {
                if let Some(numbers) = rest::account_numbers(&account) {
                    return Ok(numbers);
                }
            }
            Err(crate::chain::Error::NotFound { .. }) => {}
            Err(e) => return Err(super::observe::upstream_failure("reading the funder's account", &e)),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Failure::new(
                ErrorCode::Timeout,
                format!(
                    "the funder {address} was not funded within {}s",
                    spec.batch.funding_timeout.as_secs()
                ),
            ));
        }
        tokio::time::sleep(spec.batch.poll).await;
    }
}

fn transfer(from: &str, to: &str, amount: u128) -> Any {
    let msg = MsgSend {
        from_address: from.to_string(),
        to_address: to.to_string(),
        amount: vec![Coin { denom: DENOM.into(), amount: amount.to_string() }],
    };
    Any { type_url: tx::MSG_SEND.into(), value: msg.encode_to_vec() }
}

/// A `TxRaw` of `messages` signed by `account` (SIGN_MODE_DIRECT).
fn signed_tx(
    account: &Account,
    messages: Vec<Any>,
    (number, sequence): (u64, u64),
    network: &str,
    gas_limit: u64,
    load: &Load,
) -> Result<Vec<u8>, Failure> {
    let material = tx::sign_material(
        messages,
        tx::SignParams {
            memo: String::new(),
            timeout_height: 0,
            fee: vec![Coin { denom: DENOM.into(), amount: load.fee(gas_limit).to_string() }],
            gas_limit,
            public_key: &account.public_key,
            sequence,
            network,
            account_number: number,
        },
    )
    .map_err(internal)?;
    let signature = account.key.sign(&material.sign_doc_bytes).map_err(internal)?;
    let raw = TxRaw {
        body_bytes: material.body_bytes,
        auth_info_bytes: material.auth_info_bytes,
        signatures: vec![signature.to_bytes().to_vec()],
    };
    Ok(raw.encode_to_vec())
}

fn sign(load: &Load, ctx: &StepCtx) -> Result<StepOutcome, Failure> {
    let mut shared = load.shared.locked();
    let Shared { accounts, txs, network, .. } = &mut *shared;
    let n = accounts.len();
    for (i, account) in accounts.iter().enumerate() {
        // Each account pays the next one, so every transfer has a live recipient.
        let to = &accounts[(i + 1) % n].address;
        for sequence in 0..account.transfers as u64 {
            let message = transfer(&account.address, to, load.spec.amount);
            let bytes = signed_tx(
                account,
                vec![message],
                (account.number, sequence),
                network,
                load.spec.gas_limit,
                load,
            )?;
            let prepared =
                PreparedTx::new(&bytes, &BASE64.encode(&bytes), load.spec.batch.mode).map_err(internal)?;
            txs.push(prepared);
        }
    }
    // The keys are no longer needed: they go with the accounts.
    let signed = txs.len();
    accounts.clear();
    ctx.info(&format!("signed {signed} transfer(s) of {}{DENOM}", load.spec.amount));
    Ok(StepOutcome::Done(format!("{signed} transfer(s) signed")))
}
