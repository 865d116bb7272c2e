//! The confirmation machinery shared by the observe jobs and broadcast-batch. It follows new
//! blocks — one `blockchain` call per poll for the metas, then `block` + `block_results` only
//! for blocks that hold txs and contain a watched hash — and matches each block's tx hashes
//! (uppercase hex SHA-256 of the tx bytes) against the pending set, so the cost grows with
//! the blocks spanned, not with the hashes watched. Only stragglers still pending when the
//! watch ends are looked up one by one.
//!
//! Latency has one sound clock, the chain's own. Under CometBFT's BFT time the header time of block H
//! is taken from H−1's commit, so a tx that arrived during H−1's commit timeout is included in
//! H with a header time *before* it was sent. The network agreed H was committed at the header
//! time of H+1 (what CometBFT's `loadtime report` uses), so: commit time of H = header time of
//! H+1, latency = commit time − submit time. The wall-clock moment the BFF saw block H is a
//! second, local measure. The including block's header time is kept as a field, never as a
//! latency, and a tx with no known submit time has no latency (null, with the reason).
//!
//! Never a negative or absurd figure: a submit time after the commit time (a client's clock
//! ahead of the chain's) or before the chain's earliest block gives no latency, with the
//! reason, and the statistics leave it out. The observed latency exists only for blocks
//! committed after the watch began: for an older block it would be the watch's delay.

mod tracker;

pub use tracker::{
    COMMITTED_BEFORE_WATCH, FoundBy, NO_SUBMIT_TIME, SUBMITTED_AFTER_COMMIT, SUBMITTED_BEFORE_CHAIN,
    Submitted, Tracker, TxConfirmation, WatchStart,
};

use super::{ChainTarget, stats};
use crate::chain::{self, ChainClient, rest, rpc};
use crate::jobs::StepCtx;
use crate::sync::Locked;
use futures::{StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

/// Upstream calls a watch made, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Calls {
    pub status: u64,
    pub blockchain: u64,
    pub block: u64,
    pub block_results: u64,
    pub tx_lookups: u64,
}

impl Calls {
    pub fn total(&self) -> u64 {
        let Self { status, blockchain, block, block_results, tx_lookups } = *self;
        status + blockchain + block + block_results + tx_lookups
    }
}

/// Follows a chain's new blocks from a starting height.
pub struct Follower {
    client: ChainClient,
    target: ChainTarget,
    /// The next height to read.
    next: u64,
    /// The first height the watch reads.
    first: u64,
    /// The latest height when the watch started, and its header time: a start mark.
    pub start_height: u64,
    pub start_time: Option<Timestamp>,
    /// The earliest block's header time the node reported then (its genesis unless pruned).
    earliest_time: Option<Timestamp>,
    /// The highest height read so far.
    pub last_height: u64,
    last_new_block: Instant,
    pub calls: Calls,
}

/// Where a watch begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// This height, inclusive (blocks committed before the watch).
    Height(u64),
    /// The latest block, inclusive (the tx may be in it already).
    Latest,
    /// The first block after the latest one (txs not sent yet).
    AfterLatest,
}

impl Follower {
    pub async fn start(client: ChainClient, target: ChainTarget, at: StartAt) -> chain::Result<Self> {
        let (status, raw) = rpc::node_status(&client, &target.rpc).await?;
        let earliest_time = raw.pointer("/sync_info/earliest_block_time").and_then(Value::as_str);
        let latest = status.latest_height.unwrap_or_default();
        let next = match at {
            StartAt::Height(h) => h.max(1),
            StartAt::Latest => latest.max(1),
            StartAt::AfterLatest => latest + 1,
        };
        Ok(Self {
            client,
            target,
            next,
            first: next,
            start_height: latest,
            start_time: status.latest_time.as_deref().and_then(|t| t.parse().ok()),
            earliest_time: earliest_time.and_then(|t| t.parse().ok()),
            last_height: next.saturating_sub(1),
            last_new_block: Instant::now(),
            calls: Calls { status: 1, ..Calls::default() },
        })
    }

    /// The first height the watch reads.
    pub fn first_height(&self) -> u64 {
        self.first
    }

    /// The chain as it was when the watch began, for a tracker to measure against.
    pub fn watch_start(&self) -> WatchStart {
        WatchStart { height: self.start_height, earliest_block_time: self.earliest_time }
    }

    /// Reads every block committed since the last call and confirms the watched hashes in
    /// them; returns how many new blocks there were. A page of metas is one observation:
    /// its arrival is the observed commit time of every block in it.
    pub async fn scan(&mut self, tracker: &Mutex<Tracker>) -> chain::Result<u64> {
        let mut seen = 0;
        loop {
            // One known height below `next` keeps the range non-empty when nothing is new.
            let (min, max) = (self.next.saturating_sub(1).max(1), self.next + rpc::BLOCKCHAIN_PAGE - 2);
            let (mut metas, last) = rpc::block_metas(&self.client, &self.target.rpc, min, max).await?;
            let observed = (Timestamp::now(), Instant::now());
            self.calls.blockchain += 1;
            metas.retain(|m| m.height >= self.next);
            metas.sort_by_key(|m| m.height);
            let busy: Vec<rpc::BlockMeta> = if tracker.locked().all_included() {
                Vec::new()
            } else {
                metas.iter().filter(|m| m.num_txs > 0).cloned().collect()
            };
            let (client, rpc_url) = (&self.client, self.target.rpc.as_str());
            let read: Vec<(Vec<TxConfirmation>, u64)> = futures::stream::iter(busy)
                .map(move |meta| async move { read_block(client, rpc_url, &meta, tracker).await })
                .buffered(CONCURRENT_READS)
                .try_collect()
                .await?;
            let mut t = tracker.locked();
            for (found, calls) in read {
                self.calls.block += 1;
                self.calls.block_results += calls - 1;
                for c in found {
                    t.confirm(c, Some(observed));
                }
            }
            for m in &metas {
                t.header_seen(m.height, &m.time);
            }
            drop(t);
            if let Some(newest) = metas.last() {
                self.next = newest.height + 1;
                self.last_height = newest.height;
                self.last_new_block = observed.1;
                seen += metas.len() as u64;
            }
            if metas.is_empty() || last < self.next {
                return Ok(seen);
            }
        }
    }

    /// Time since the last new block (or since the watch began).
    pub fn idle(&self) -> Duration {
        self.last_new_block.elapsed()
    }

    /// Looks up each hash still pending (the stragglers) by `tx`, a few at once; returns
    /// how many were found.
    pub async fn lookup_stragglers(&mut self, tracker: &Mutex<Tracker>) -> usize {
        const CONCURRENT_LOOKUPS: usize = 8;
        let stragglers = tracker.locked().pending();
        let (client, api) = (&self.client, self.target.api.as_str());
        let asked = stragglers.len() as u64;
        let found: Vec<Option<TxConfirmation>> = futures::stream::iter(stragglers)
            .map(|hash| async move {
                let raw = rest::tx_by_hash(client, api, &hash).await.ok()?;
                let r = rest::tx_response_view(raw.get("tx_response")?);
                let height = Some(r.height).filter(|h| *h > 0)?;
                Some(TxConfirmation {
                    code: r.code,
                    codespace: r.codespace,
                    log: r.raw_log,
                    ..TxConfirmation::included(hash, height, r.timestamp, FoundBy::Lookup)
                })
            })
            .buffer_unordered(CONCURRENT_LOOKUPS)
            .collect()
            .await;
        self.calls.tx_lookups += asked;
        let mut tracker = tracker.locked();
        let mut n = 0;
        for c in found.into_iter().flatten() {
            self.last_height = self.last_height.max(c.height);
            tracker.confirm(c, None);
            n += 1;
        }
        n
    }

    /// Ends the watch's measuring: reads the header times still awaited (H+1 of a straggler,
    /// or a block committed after the last poll), a `blockchain` page at a time, and gives
    /// every tx still without a commit time its reason.
    pub async fn settle(&mut self, tracker: &Mutex<Tracker>) {
        loop {
            let Some(&lowest) = tracker.locked().awaited_heights().first() else { return };
            // From the including block, which exists, so the range is never empty.
            let (min, max) = (lowest - 1, lowest - 1 + rpc::BLOCKCHAIN_PAGE - 1);
            let Ok((metas, _)) = rpc::block_metas(&self.client, &self.target.rpc, min, max).await else {
                break;
            };
            self.calls.blockchain += 1;
            let mut t = tracker.locked();
            for m in &metas {
                t.header_seen(m.height, &m.time);
            }
            if t.awaited_heights().first() == Some(&lowest) {
                break;
            }
        }
        tracker.locked().give_up_awaiting();
    }
}

/// `block` and `block_results` read at once while catching up.
const CONCURRENT_READS: usize = 4;

/// The watched txs of one block (`block`, then `block_results` only when a watched hash is
/// in it) and how many calls that took.
async fn read_block(
    client: &ChainClient,
    rpc_url: &str,
    meta: &rpc::BlockMeta,
    tracker: &Mutex<Tracker>,
) -> chain::Result<(Vec<TxConfirmation>, u64)> {
    let raw = rpc::block(client, rpc_url, Some(meta.height)).await?;
    let view = rpc::block_view(&raw).ok_or_else(|| rpc::malformed(rpc_url, "block without header"))?;
    let hashes = rpc::block_tx_hashes(&view);
    if !tracker.locked().watches_any(&hashes) {
        return Ok((Vec::new(), 1));
    }
    let results = rpc::block_results(client, rpc_url, meta.height).await?;
    let t = tracker.locked();
    let found = hashes
        .iter()
        .enumerate()
        .filter(|(_, hash)| t.pending.contains_key(*hash))
        .map(|(i, hash)| {
            let r = results.pointer(&format!("/txs_results/{i}")).unwrap_or(&Value::Null);
            let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            TxConfirmation {
                code: r.get("code").and_then(Value::as_i64).unwrap_or_default(),
                codespace: text("codespace"),
                log: text("log"),
                ..TxConfirmation::included(hash.clone(), meta.height, meta.time.clone(), FoundBy::Block)
            }
        })
        .collect();
    Ok((found, 2))
}

/// Why a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum End {
    /// Every watched hash was found, with its commit time.
    AllConfirmed,
    /// Every watched hash was found, but the block after the last including one (whose header
    /// time is the commit time) did not come within the stall timeout.
    CommitUnseen,
    /// The deadline passed first.
    Timeout,
    /// No new block for the stall timeout: the chain stopped producing blocks.
    ChainStalled,
    /// The caller stopped it (broadcast without waiting).
    Stopped,
}

impl End {
    /// The wire name, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllConfirmed => "allConfirmed",
            Self::CommitUnseen => "commitUnseen",
            Self::Timeout => "timeout",
            Self::ChainStalled => "chainStalled",
            Self::Stopped => "stopped",
        }
    }
}

/// How long and how a watch runs.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    pub deadline: Instant,
    pub stall_after: Duration,
    pub poll: Duration,
}

/// Follows blocks until every hash is confirmed, the deadline, a stall, or `stop`. An
/// upstream error is logged and retried at the next poll (a dead node ends as a stall).
pub async fn watch(
    follower: &mut Follower,
    tracker: &Mutex<Tracker>,
    options: WatchOptions,
    stop: &CancellationToken,
    ctx: &StepCtx,
) -> End {
    let mut last_error: Option<String> = None;
    loop {
        match follower.scan(tracker).await {
            Ok(n) if n > 0 => {
                last_error = None;
                let t = tracker.locked();
                ctx.progress(&format!(
                    "height {}: {} confirmed, {} pending",
                    follower.last_height,
                    t.confirmed_count(),
                    t.pending.len()
                ));
            }
            Ok(_) => {}
            Err(e) => {
                let text = e.to_string();
                if last_error.as_deref() != Some(text.as_str()) {
                    ctx.warn(&format!("following blocks failed (retrying): {text}"));
                }
                last_error = Some(text);
            }
        }
        if tracker.locked().done() {
            return End::AllConfirmed;
        }
        if follower.idle() >= options.stall_after {
            return if tracker.locked().all_included() { End::CommitUnseen } else { End::ChainStalled };
        }
        if Instant::now() >= options.deadline {
            return End::Timeout;
        }
        tokio::select! {
            _ = tokio::time::sleep(options.poll) => {}
            _ = stop.cancelled() => return End::Stopped,
        }
    }
}

/// Latency statistics of a watch's confirmations. Only txs with a known submit time and
/// commit time count; the others are tallied by reason.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmationLatency {
    /// What `commit` measures.
    pub definition: &'static str,
    /// Commit time (header time of H+1) − submit time.
    pub commit: Option<stats::LatencyStats>,
    /// The BFF's wall clock from submit to its observation of the commit (a local measure).
    pub observed: Option<stats::LatencyStats>,
    /// Confirmed txs left out of `commit`, and why.
    pub excluded: usize,
    pub excluded_by_reason: BTreeMap<String, usize>,
    /// Confirmed txs left out of `observed`, and why.
    pub observed_excluded_by_reason: BTreeMap<String, usize>,
}

/// The definition every latency report carries.
pub const LATENCY_DEFINITION: &str =
    "commit time of the including block H (header time of H+1) minus submit time, seconds";

pub fn latency<'a>(confirmations: impl Iterator<Item = &'a TxConfirmation> + Clone) -> ConfirmationLatency {
    let commit: Vec<f64> = confirmations.clone().filter_map(|c| c.latency_seconds).collect();
    let observed: Vec<f64> = confirmations.clone().filter_map(|c| c.observed_latency_seconds).collect();
    let mut excluded_by_reason = BTreeMap::new();
    for c in confirmations.clone().filter(|c| c.latency_seconds.is_none()) {
        let reason = c.latency_unavailable.clone().unwrap_or_else(|| "commit time unknown".into());
        *excluded_by_reason.entry(reason).or_insert(0) += 1;
    }
    let mut observed_excluded_by_reason = BTreeMap::new();
    for c in confirmations.filter(|c| c.observed_latency_seconds.is_none()) {
        let reason = c.observed_latency_unavailable.clone().unwrap_or_else(|| "not observed".into());
        *observed_excluded_by_reason.entry(reason).or_insert(0) += 1;
    }
    ConfirmationLatency {
        definition: LATENCY_DEFINITION,
        commit: stats::latency_stats(&commit),
        observed: stats::latency_stats(&observed),
        excluded: excluded_by_reason.values().sum(),
        excluded_by_reason,
        observed_excluded_by_reason,
    }
}

#[cfg(test)]
mod tests;
