//! `utils.load.transfers`: load without hand-signing. The job makes throwaway accounts in
//! memory, funds them (`funding`), signs N transfers between them here (`signer`), and sends
//! them with broadcast-batch's machinery. The keys live in this job's memory only: a
//! response or a log line carries addresses, never a key.

use super::ChainTarget;
use super::broadcast::{BatchSpec, BroadcastStep, PreparedTx, SendOptions};
use super::funding::{Funder, Funding, FundingSource};
use super::signer::{Fee, Signer, internal, transfer};
use crate::chain::{ChainClient, rest};
use crate::chart::DENOM;
use crate::error_code::{ErrorCode, Failure};
use crate::jobs::{Step, StepCtx, StepOutcome};
use crate::sync::Locked;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The load as requested, checked by the API layer.
pub struct LoadSpec {
    pub client: ChainClient,
    pub target: ChainTarget,
    pub txs: usize,
    pub accounts: usize,
    /// uatom per transfer.
    pub amount: u128,
    pub fee: Fee,
    pub funding: Funding,
    pub source: FundingSource,
    /// The batch options, as broadcast-batch takes them (its `txs` are filled by `sign`).
    pub send: SendOptions,
    /// How long funding may wait for its txs to land.
    pub funding_timeout: Duration,
}

/// One throwaway account and the transfers it signs.
struct Account {
    signer: Signer,
    transfers: usize,
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
            let batch = BatchSpec {
                client: self.0.spec.client.clone(),
                target: self.0.spec.target.clone(),
                txs,
                send: self.0.spec.send,
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

    let funder_of = Funder {
        client,
        target: &spec.target,
        source: &spec.source,
        funding: spec.funding,
        gas_price: spec.fee.gas_price,
        timeout: spec.funding_timeout,
        poll: spec.send.poll,
    };
    let network = funder_of.network(ctx).await?;
    // Transfers spread evenly; the first accounts take the remainder.
    let (base, extra) = (spec.txs / spec.accounts, spec.txs % spec.accounts);
    let mut accounts = (0..spec.accounts)
        .map(|i| Ok(Account { signer: Signer::random()?, transfers: base + usize::from(i < extra) }))
        .collect::<Result<Vec<_>, Failure>>()?;
    let mut funder = Signer::random()?;
    // Each account's share pays its transfers and their fees; the funder pays the distribution.
    let per_tx = spec.amount + spec.fee.amount();
    let shares: Vec<u128> = accounts.iter().map(|a| per_tx * a.transfers as u128).collect();
    let distribution = spec.fee.with_gas(spec.fee.gas_limit * accounts.len() as u64);
    let total = shares.iter().sum::<u128>() + distribution.amount();
    ctx.info(&format!(
        "{} throwaway account(s) made in memory; funder {} needs {total}{DENOM}",
        accounts.len(),
        funder.address
    ));

    let (how, (number, sequence)) = funder_of.fund(ctx, &funder.address, total).await?;
    funder.number = number;
    // One tx from the funder pays every account its share.
    let messages = accounts
        .iter()
        .zip(&shares)
        .map(|(a, share)| transfer(&funder.address, &a.signer.address, *share))
        .collect();
    let signed = funder.sign(messages, sequence, &network, distribution)?;
    let answer =
        rest::broadcast_and_wait(client, api, &BASE64.encode(&signed), spec.funding_timeout, spec.send.poll)
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
    let addresses: Vec<String> = accounts.iter().map(|a| a.signer.address.clone()).collect();
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
        account.signer.number = rest::account_numbers(&read)
            .map(|(n, _)| n)
            .ok_or_else(|| internal("account without a number"))?;
    }
    let funding = json!({
        "source": how,
        "funder": funder.address,
        "fundedUatom": total.to_string(),
        "distributionTx": view.txhash,
        "accounts": accounts.iter().map(|a| json!({"address": a.signer.address, "transfers": a.transfers})).collect::<Vec<_>>(),
    });
    let mut shared = load.shared.locked();
    shared.accounts = accounts;
    shared.network = network;
    shared.funding = funding;
    Ok(StepOutcome::Done(format!("{} account(s) funded through {how}", shared.accounts.len())))
}

fn sign(load: &Load, ctx: &StepCtx) -> Result<StepOutcome, Failure> {
    let mut shared = load.shared.locked();
    let Shared { accounts, txs, network, .. } = &mut *shared;
    let n = accounts.len();
    for (i, account) in accounts.iter().enumerate() {
        // Each account pays the next one, so every transfer has a live recipient.
        let to = &accounts[(i + 1) % n].signer.address;
        for sequence in 0..account.transfers as u64 {
            let message = transfer(&account.signer.address, to, load.spec.amount);
            let bytes = account.signer.sign(vec![message], sequence, network, load.spec.fee)?;
            let prepared =
                PreparedTx::new(&bytes, &BASE64.encode(&bytes), load.spec.send.mode).map_err(internal)?;
            txs.push(prepared);
        }
    }
    // The keys are no longer needed: they go with the accounts.
    let signed = txs.len();
    accounts.clear();
    ctx.info(&format!("signed {signed} transfer(s) of {}{DENOM}", load.spec.amount));
    Ok(StepOutcome::Done(format!("{signed} transfer(s) signed")))
}
