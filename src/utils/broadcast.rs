//! `utils.load.broadcast-batch`: pre-signed txs sent to a chain, at most `concurrency` in
//! flight, optionally paced to a rate, while the confirmation machinery follows the new
//! blocks. A node refuses a sequence that arrives before its predecessor (code 32), so txs of
//! one signer go out one after another in sequence order ("lanes"); concurrency applies
//! across signers. Send rate (accepted by CheckTx, wall clock) and committed rate (header
//! time, from the start mark to the last including block) are reported apart. A chain that
//! stops producing blocks stops the batch early with `CHAIN_STALLED`.

use super::confirm::{self, End, Follower, StartAt, Submitted, Tracker, WatchOptions};
use super::observe::{stalled, upstream_failure};
use super::{ChainTarget, seconds_between, stats};
use crate::chain::{ChainClient, rest, tx};
use crate::error_code::Failure;
use crate::jobs::{Step, StepCtx, StepOutcome};
use crate::sync::Locked;
use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

/// A tx ready to send: the broadcast's request body (it carries the tx's base64, so it is
/// never logged), hash, and lane. Decoded, hashed and encoded once, when the batch is
/// submitted; a send only clones the body's handle.
pub struct PreparedTx {
    body: bytes::Bytes,
    pub txhash: String,
    /// The first signer's public key, which orders txs into lanes; `None` = a lane of its own.
    signer: Option<Vec<u8>>,
    sequence: u64,
}

impl std::fmt::Debug for PreparedTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreparedTx {{ txhash: {}, txBytes: <redacted> }}", self.txhash)
    }
}

impl PreparedTx {
    /// From a tx's bytes and their canonical base64, to be sent in `mode`; the bytes must
    /// decode as a tx (`INVALID_TX_BYTES` otherwise).
    pub fn new(bytes: &[u8], base64: &str, mode: Mode) -> Result<Self, crate::chain::Error> {
        let parts = tx::decode_parts(bytes)?;
        let first = parts.auth_info.signer_infos.first();
        Ok(Self {
            body: rest::broadcast_body(base64, mode.upstream()),
            txhash: crate::chain::rpc::tx_hash_hex(bytes),
            signer: first.and_then(|s| s.public_key.as_ref()).map(|k| k.value.clone()),
            sequence: first.map_or(0, |s| s.sequence),
        })
    }
}

/// Indices of `txs` grouped by signer, each lane in sequence order (stable); lanes in the
/// order their first tx appears.
pub fn lanes(txs: &[PreparedTx]) -> Vec<Vec<usize>> {
    let mut by_signer: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut first_of: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
    for (i, t) in txs.iter().enumerate() {
        let lane = match &t.signer {
            Some(key) => *first_of.entry(key.as_slice()).or_insert(i),
            None => i,
        };
        by_signer.entry(lane).or_default().push(i);
    }
    by_signer
        .into_values()
        .map(|mut lane| {
            lane.sort_by_key(|&i| txs[i].sequence);
            lane
        })
        .collect()
}

/// `sync` waits for CheckTx; `async` returns before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Sync,
    Async,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Async => "async",
        }
    }

    fn upstream(self) -> rest::UpstreamBroadcastMode {
        match self {
            Self::Sync => rest::UpstreamBroadcastMode::Sync,
            Self::Async => rest::UpstreamBroadcastMode::Async,
        }
    }
}

/// What happened to one tx.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Sent {
    /// Not sent: the batch stopped first.
    NotSent,
    /// CheckTx accepted it (code 0).
    Accepted,
    /// CheckTx refused it (code ≠ 0).
    Rejected,
    /// The broadcast call itself failed (unreachable, timeout, upstream error).
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TxOutcome {
    pub index: usize,
    pub txhash: String,
    pub status: Sent,
    pub code: Option<i64>,
    pub codespace: String,
    pub log: String,
    /// Round trip of the broadcast call, seconds.
    pub broadcast_seconds: Option<f64>,
    /// Where and when it was committed, when the watch found it.
    pub confirmation: Option<confirm::TxConfirmation>,
}

/// The batch as submitted.
pub struct BatchSpec {
    pub client: ChainClient,
    pub target: ChainTarget,
    pub txs: Vec<PreparedTx>,
    pub send: SendOptions,
}

/// How a batch is sent and followed: what broadcast-batch and load's transfers share.
#[derive(Debug, Clone, Copy)]
pub struct SendOptions {
    pub mode: Mode,
    pub concurrency: usize,
    /// Sends per second across lanes; `None` = as fast as answers come.
    pub rate: Option<f64>,
    pub wait_for_confirmation: bool,
    /// Whole batch, sending and confirmation.
    pub timeout: Duration,
    pub stall_after: Duration,
    pub poll: Duration,
}

/// Paces sends to a rate: each send takes the next free slot.
struct Pacer {
    gap: Option<Duration>,
    next: Mutex<Instant>,
}

impl Pacer {
    async fn wait(&self) {
        let Some(gap) = self.gap else { return };
        let slot = {
            let mut next = self.next.locked();
            let slot = (*next).max(Instant::now());
            *next = slot + gap;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// When sending began and ended (the last broadcast's answer), wall clock, and its length
/// on the monotonic clock.
struct SendWindow {
    started: jiff::Timestamp,
    ended: jiff::Timestamp,
    seconds: f64,
}

/// The batch's one step.
pub struct BroadcastStep(pub Arc<BatchSpec>);

impl Step for BroadcastStep {
    fn name(&self) -> &str {
        "broadcast"
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        run(&self.0, ctx).boxed()
    }
}

async fn run(spec: &BatchSpec, ctx: &StepCtx) -> Result<StepOutcome, Failure> {
    let deadline = Instant::now() + spec.send.timeout;
    let mut follower = Follower::start(spec.client.clone(), spec.target.clone(), StartAt::AfterLatest)
        .await
        .map_err(|e| upstream_failure("failed to read the chain's status", &e))?;
    let lanes = lanes(&spec.txs);
    ctx.info(&format!(
        "sending {} txs in {} lane(s), concurrency {}, mode {}, start mark height {}",
        spec.txs.len(),
        lanes.len(),
        spec.send.concurrency,
        spec.send.mode.as_str(),
        follower.start_height
    ));
    let tracker = Mutex::new(Tracker::default().since(follower.watch_start()));
    let outcomes: Mutex<Vec<TxOutcome>> = Mutex::new(
        spec.txs
            .iter()
            .enumerate()
            .map(|(index, t)| TxOutcome {
                index,
                txhash: t.txhash.clone(),
                status: Sent::NotSent,
                code: None,
                codespace: String::new(),
                log: String::new(),
                broadcast_seconds: None,
                confirmation: None,
            })
            .collect(),
    );
    let stop_sending = CancellationToken::new();
    let sending_done = CancellationToken::new();
    let pacer = Pacer {
        gap: spec.send.rate.map(|r| Duration::from_secs_f64(1.0 / r)),
        next: Mutex::new(Instant::now()),
    };
    let send_started = jiff::Timestamp::now();
    let send_clock = Instant::now();

    let url = rest::broadcast_url(&spec.target.api);
    // The send clock stops when the last broadcast has answered, not when the watch ends:
    // send figures time the sending only.
    let send = async {
        futures::stream::iter(lanes.iter().cloned())
            .map(|lane| send_lane(spec, &url, lane, &tracker, &outcomes, &pacer, &stop_sending, deadline))
            .buffer_unordered(spec.send.concurrency.max(1))
            .collect::<Vec<()>>()
            .await;
        let sent_for = send_clock.elapsed();
        let send_ended = jiff::Timestamp::now();
        tracker.locked().close();
        sending_done.cancel();
        ctx.info(&format!("sending ended after {:.3}s", sent_for.as_secs_f64()));
        SendWindow { started: send_started, ended: send_ended, seconds: sent_for.as_secs_f64() }
    };
    // While sending, the watch runs too (for wall-clock commit times and stall detection);
    // without waitForConfirmation it stops when sending ends.
    let options = WatchOptions { deadline, stall_after: spec.send.stall_after, poll: spec.send.poll };
    let follow = async {
        let stop =
            if spec.send.wait_for_confirmation { CancellationToken::new() } else { sending_done.clone() };
        let end = confirm::watch(&mut follower, &tracker, options, &stop, ctx).await;
        if matches!(end, End::ChainStalled | End::Timeout) {
            stop_sending.cancel();
        }
        end
    };
    let (window, mut end) = tokio::join!(send, follow);
    if !spec.send.wait_for_confirmation && end == End::AllConfirmed && !sending_done.is_cancelled() {
        end = End::Stopped;
    }
    let looked_up = tracker.locked().pending().len();
    let found = if spec.send.wait_for_confirmation && end != End::ChainStalled && looked_up > 0 {
        follower.lookup_stragglers(&tracker).await
    } else {
        0
    };
    follower.settle(&tracker).await;
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    let t = tracker.locked();
    for o in &mut outcomes {
        o.confirmation = t.confirmation(&o.txhash).cloned();
    }
    drop(t);
    let result = report(spec, &outcomes, &follower, end, &window, lanes.len(), (looked_up, found));
    let summary = format!(
        "{} accepted, {} rejected, {} not sent; {} confirmed ({})",
        result["accepted"],
        result["rejected"],
        result["notSent"],
        result["confirmation"]["confirmed"],
        end.as_str()
    );
    ctx.set_result(result);
    if end == End::ChainStalled {
        return Err(stalled(&follower, spec.send.stall_after).with_details(json!({
            "lastHeight": follower.last_height,
            "stallTimeoutSeconds": spec.send.stall_after.as_secs_f64(),
            "hint": "the batch stopped early; counts and per-tx outcomes are in the job's result",
        })));
    }
    Ok(StepOutcome::Done(summary))
}

/// Sends one lane in order to `url` (the node's broadcast route), recording each outcome;
/// stops at `stop` or the deadline.
#[allow(clippy::too_many_arguments)] // one call site; the batch's shared pieces
async fn send_lane(
    spec: &BatchSpec,
    url: &str,
    lane: Vec<usize>,
    tracker: &Mutex<Tracker>,
    outcomes: &Mutex<Vec<TxOutcome>>,
    pacer: &Pacer,
    stop: &CancellationToken,
    deadline: Instant,
) {
    for i in lane {
        tokio::select! {
            _ = pacer.wait() => {}
            _ = stop.cancelled() => return,
        }
        if stop.is_cancelled() || Instant::now() >= deadline {
            return;
        }
        let t = &spec.txs[i];
        let submitted = Submitted::now();
        tracker.locked().expect(&t.txhash, submitted);
        let answer = rest::broadcast_prepared(&spec.client, &spec.target.api, url, t.body.clone()).await;
        let rtt = submitted.mono.map(|m| m.elapsed().as_secs_f64());
        let mut all = outcomes.locked();
        let o = &mut all[i];
        o.broadcast_seconds = rtt;
        match answer {
            Ok(r) => {
                o.status = if r.code == 0 { Sent::Accepted } else { Sent::Rejected };
                o.code = Some(r.code);
                o.codespace = r.codespace;
                o.log = r.raw_log;
            }
            Err(e) => {
                o.status = Sent::Error;
                o.log = e.to_string();
            }
        }
        if o.status != Sent::Accepted {
            tracker.locked().forget(&t.txhash);
        }
    }
}

#[allow(clippy::too_many_arguments)] // one call site; the pieces are the batch's evidence
fn report(
    spec: &BatchSpec,
    outcomes: &[TxOutcome],
    follower: &Follower,
    end: End,
    window: &SendWindow,
    lanes: usize,
    (looked_up, found): (usize, usize),
) -> Value {
    let count = |s: Sent| outcomes.iter().filter(|o| o.status == s).count();
    let (accepted, rejected, errors, not_sent) =
        (count(Sent::Accepted), count(Sent::Rejected), count(Sent::Error), count(Sent::NotSent));
    let sent = outcomes.len() - not_sent;
    let rtts: Vec<f64> = outcomes.iter().filter_map(|o| o.broadcast_seconds).collect();
    let confirmations: Vec<&confirm::TxConfirmation> =
        outcomes.iter().filter_map(|o| o.confirmation.as_ref()).collect();
    let mut rejected_by_code: BTreeMap<String, usize> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.status == Sent::Rejected) {
        *rejected_by_code.entry(o.code.unwrap_or_default().to_string()).or_default() += 1;
    }
    // Committed rate: the start mark is the latest header before the first send.
    let last = confirmations.iter().max_by_key(|c| c.height);
    let committed_window = match (follower.start_time, last) {
        (Some(start), Some(last)) => last.header_time.parse::<jiff::Timestamp>().ok().map(|end| {
            let seconds = seconds_between(start, end);
            json!({
                "fromHeight": follower.start_height,
                "fromHeaderTime": start.to_string(),
                "toHeight": last.height,
                "toHeaderTime": last.header_time,
                "durationSeconds": seconds,
                "committedTps": stats::rate(confirmations.len() as u64, seconds),
            })
        }),
        _ => None,
    };
    let not_confirmed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.status == Sent::Accepted && o.confirmation.is_none())
        .map(|o| o.txhash.as_str())
        .collect();
    let mut calls = serde_json::to_value(follower.calls).unwrap_or_default();
    calls["total"] = follower.calls.total().into();
    calls["broadcast"] = sent.into();
    json!({
        "chainId": spec.target.chain_id,
        "mode": spec.send.mode,
        "concurrency": spec.send.concurrency,
        "lanes": lanes,
        "ratePerSecond": spec.send.rate,
        "waitForConfirmation": spec.send.wait_for_confirmation,
        "total": outcomes.len(),
        "sent": sent,
        "accepted": accepted,
        "rejected": rejected,
        "errors": errors,
        "notSent": not_sent,
        "rejectedByCode": rejected_by_code,
        "watchEnded": end,
        "send": {
            "startedAt": window.started.to_string(),
            "endedAt": window.ended.to_string(),
            "durationSeconds": window.seconds,
            "sendTps": stats::rate(sent as u64, window.seconds),
            "acceptedTps": stats::rate(accepted as u64, window.seconds),
            "broadcastLatency": stats::latency_stats(&rtts),
        },
        "confirmation": {
            "confirmed": confirmations.len(),
            "failedInBlock": confirmations.iter().filter(|c| c.code != 0).count(),
            "notConfirmed": not_confirmed,
            "fromHeight": follower.first_height(),
            "toHeight": follower.last_height,
            "committed": committed_window,
            "latency": confirm::latency(confirmations.iter().copied()),
            "stragglers": {"lookedUp": looked_up, "found": found},
        },
        "upstreamCalls": calls,
        "txs": outcomes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(signer: Option<u8>, sequence: u64) -> PreparedTx {
        PreparedTx {
            body: bytes::Bytes::new(),
            txhash: format!("{signer:?}/{sequence}"),
            signer: signer.map(|s| vec![s; 33]),
            sequence,
        }
    }

    #[test]
    fn txs_of_one_signer_share_a_lane_in_sequence_order() {
        let txs = vec![
            prepared(Some(1), 5),
            prepared(Some(2), 0),
            prepared(Some(1), 4),
            prepared(None, 0),
            prepared(Some(1), 6),
        ];
        assert_eq!(lanes(&txs), vec![vec![2, 0, 4], vec![1], vec![3]]);
    }
}
