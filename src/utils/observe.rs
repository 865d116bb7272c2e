//! `utils.observe.tx-confirmation` and `utils.observe.confirm-batch`: watch hashes someone
//! else submitted until they are committed, with the shared machinery of `confirm`.

use super::ChainTarget;
use super::confirm::{self, End, Follower, FoundBy, StartAt, Submitted, Tracker, WatchOptions};
use crate::chain::ChainClient;
use crate::error_code::ErrorCode;
use crate::error_code::Failure;
use crate::jobs::{Step, StepCtx, StepOutcome};
use crate::sync::Locked;
use futures::FutureExt as _;
use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One watched hash and, when the client knows it, when it was submitted.
#[derive(Debug, Clone)]
pub struct Watched {
    pub txhash: String,
    pub submitted_at: Option<Timestamp>,
}

/// The observe jobs' one step.
pub struct ObserveStep {
    pub client: ChainClient,
    pub target: ChainTarget,
    pub txs: Vec<Watched>,
    pub start: StartAt,
    pub timeout: Duration,
    pub stall_after: Duration,
    pub poll: Duration,
    /// `tx-confirmation`: one hash, and not confirming it in time fails the job.
    pub single: bool,
}

/// A chain error as a step failure with the code the API gives it.
pub(crate) fn upstream_failure(what: &str, e: &crate::chain::Error) -> Failure {
    Failure::new(e.code(), format!("{what}: {e}"))
}

/// The failure of a watch that stopped because the chain stopped producing blocks.
pub(crate) fn stalled(follower: &Follower, stall_after: Duration) -> Failure {
    Failure::new(
        ErrorCode::ChainStalled,
        format!("no new block for {}s after height {}", stall_after.as_secs_f64(), follower.last_height),
    )
    .with_details(
        json!({"lastHeight": follower.last_height, "stallTimeoutSeconds": stall_after.as_secs_f64()}),
    )
}

impl Step for ObserveStep {
    fn name(&self) -> &str {
        "confirm"
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        async move {
            let deadline = Instant::now() + self.timeout;
            let mut follower = Follower::start(self.client.clone(), self.target.clone(), self.start)
                .await
                .map_err(|e| upstream_failure("failed to read the chain's status", &e))?;
            // No submit time, no latency: the watch's own start is not when the tx was sent.
            let tracker =
                Mutex::new(
                    Tracker::of(self.txs.iter().map(|t| {
                        (t.txhash.clone(), t.submitted_at.map(|wall| Submitted { wall, mono: None }))
                    }))
                    .since(follower.watch_start()),
                );
            ctx.info(&format!(
                "watching {} hash(es) from height {}",
                self.txs.len(),
                follower.first_height()
            ));
            let options = WatchOptions { deadline, stall_after: self.stall_after, poll: self.poll };
            let end = confirm::watch(&mut follower, &tracker, options, &CancellationToken::new(), ctx).await;
            let looked_up = tracker.locked().pending().len();
            let found = if looked_up > 0 { follower.lookup_stragglers(&tracker).await } else { 0 };
            if looked_up > 0 {
                ctx.command(&format!("tx lookup of {looked_up} straggler(s)"), &format!("{found} found"));
            }
            follower.settle(&tracker).await;
            let t = tracker.locked();
            let result = if self.single {
                single_result(&self.target, &self.txs[0], &t, end, &follower)
            } else {
                batch_result(&self.target, &self.txs, &t, end, &follower, (looked_up, found))
            };
            let (confirmed, not_confirmed) = (t.confirmed_count(), t.pending().len());
            drop(t);
            ctx.set_result(result);
            if end == End::ChainStalled && not_confirmed > 0 {
                return Err(stalled(&follower, self.stall_after));
            }
            if self.single && not_confirmed > 0 {
                return Err(Failure::new(
                    ErrorCode::Timeout,
                    format!("tx {} was not committed within {}s", self.txs[0].txhash, self.timeout.as_secs()),
                )
                .with_details(
                    json!({"txhash": self.txs[0].txhash, "timeoutSeconds": self.timeout.as_secs()}),
                ));
            }
            Ok(StepOutcome::Done(format!(
                "{confirmed} confirmed, {not_confirmed} not confirmed ({})",
                end.as_str()
            )))
        }
        .boxed()
    }
}

fn heights(follower: &Follower) -> Value {
    let first = follower.first_height();
    json!({
        "fromHeight": first,
        "toHeight": follower.last_height,
        "blocksSpanned": (follower.last_height + 1).saturating_sub(first),
    })
}

fn calls(follower: &Follower) -> Value {
    let mut v = serde_json::to_value(follower.calls).unwrap_or_default();
    v["total"] = follower.calls.total().into();
    v
}

fn single_result(target: &ChainTarget, tx: &Watched, t: &Tracker, end: End, follower: &Follower) -> Value {
    let c = t.confirmation(&tx.txhash);
    json!({
        "chainId": target.chain_id,
        "txhash": tx.txhash,
        "confirmed": c.is_some(),
        "watchEnded": end,
        "height": c.map(|c| c.height),
        "headerTime": c.map(|c| c.header_time.clone()),
        "confirmationTime": c.and_then(|c| c.commit_time.clone()),
        "code": c.map(|c| c.code),
        "log": c.map(|c| c.log.clone()),
        "latency": {
            "definition": confirm::LATENCY_DEFINITION,
            "seconds": c.and_then(|c| c.latency_seconds),
            "observedSeconds": c.and_then(|c| c.observed_latency_seconds),
            "unavailable": c.and_then(|c| c.latency_unavailable.clone()),
            "observedUnavailable": c.and_then(|c| c.observed_latency_unavailable.clone()),
            "unit": "seconds",
        },
        "tx": c,
        "watch": heights(follower),
        "upstreamCalls": calls(follower),
    })
}

fn batch_result(
    target: &ChainTarget,
    txs: &[Watched],
    t: &Tracker,
    end: End,
    follower: &Follower,
    (looked_up, found): (usize, usize),
) -> Value {
    let confirmations: Vec<&confirm::TxConfirmation> =
        txs.iter().filter_map(|w| t.confirmation(&w.txhash)).collect();
    let items: Vec<Value> = txs
        .iter()
        .map(|w| match t.confirmation(&w.txhash) {
            Some(c) => json!({"confirmed": true, "tx": c}),
            None => json!({"confirmed": false, "tx": {"txhash": w.txhash}}),
        })
        .collect();
    let not_confirmed: Vec<&str> =
        txs.iter().filter(|w| t.confirmation(&w.txhash).is_none()).map(|w| w.txhash.as_str()).collect();
    json!({
        "chainId": target.chain_id,
        "watchEnded": end,
        "requested": txs.len(),
        "confirmed": confirmations.len(),
        "failedInBlock": confirmations.iter().filter(|c| c.code != 0).count(),
        "notConfirmed": not_confirmed,
        "latency": confirm::latency(confirmations.iter().copied()),
        "watch": heights(follower),
        "stragglers": {
            "lookedUp": looked_up,
            "found": found,
            "foundBy": FoundBy::Lookup,
        },
        "upstreamCalls": calls(follower),
        "txs": items,
    })
}
