//! The confirmation machinery shared by the observe jobs and broadcast-batch. It follows new
//! blocks — one `blockchain` call per poll for the metas, then `block` + `block_results` only
//! for blocks that hold txs and contain a watched hash — and matches each block's tx hashes
//! (uppercase hex SHA-256 of the tx bytes) against the pending set, so the cost grows with
//! the blocks spanned, not with the hashes watched. Only stragglers still pending when the
//! watch ends are looked up one by one. Latency is measured in two clocks, as CometBFT's
//! loadtime and Hermes do: inclusion header time − submit time, and wall-clock submit →
//! the moment the BFF observed the committed block.

use super::{ChainTarget, seconds_between, stats};
use crate::chain::{self, ChainClient, rest, rpc};
use crate::jobs::StepCtx;
use futures::{StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

/// When a tx was submitted: the wall clock for header latency, and a monotonic instant for
/// wall-clock latency when the BFF itself sent it.
#[derive(Debug, Clone, Copy)]
pub struct Submitted {
    pub wall: Timestamp,
    pub mono: Option<Instant>,
}

impl Submitted {
    pub fn now() -> Self {
        Self { wall: Timestamp::now(), mono: Some(Instant::now()) }
    }
}

/// How a confirmation was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum FoundBy {
    /// Its hash was in a block the watch followed.
    Block,
    /// A `tx` lookup after the watch (a straggler); no wall-clock latency then.
    Lookup,
}

/// One tx seen committed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TxConfirmation {
    pub txhash: String,
    pub height: u64,
    /// Header time of the block that includes it.
    pub header_time: String,
    /// The tx's result code in the block (0 = success; non-zero txs are included but failed).
    pub code: i64,
    pub codespace: String,
    pub log: String,
    pub found_by: FoundBy,
    pub submitted_at: Option<String>,
    /// When the BFF saw the committed block (watch only).
    pub observed_at: Option<String>,
    /// Inclusion header time − submit time, seconds.
    pub header_latency_seconds: Option<f64>,
    /// Wall clock from submit to the observed commit, seconds.
    pub wall_latency_seconds: Option<f64>,
}

/// The hashes being watched and what has been found.
#[derive(Default)]
pub struct Tracker {
    pending: HashMap<String, Option<Submitted>>,
    confirmed: HashMap<String, TxConfirmation>,
    /// No more hashes will be added.
    closed: bool,
}

impl Tracker {
    /// A closed tracker of a known list.
    pub fn of(hashes: impl IntoIterator<Item = (String, Option<Submitted>)>) -> Self {
        Self { pending: hashes.into_iter().collect(), confirmed: HashMap::new(), closed: true }
    }

    /// Watches a hash (before it is sent, so no block can include it unwatched).
    pub fn expect(&mut self, hash: &str, submitted: Submitted) {
        self.pending.insert(hash.to_string(), Some(submitted));
    }

    /// Stops watching a hash the chain refused.
    pub fn forget(&mut self, hash: &str) {
        self.pending.remove(hash);
    }

    pub fn close(&mut self) {
        self.closed = true;
    }

    pub fn done(&self) -> bool {
        self.closed && self.pending.is_empty()
    }

    pub fn pending(&self) -> Vec<String> {
        let mut list: Vec<String> = self.pending.keys().cloned().collect();
        list.sort();
        list
    }

    pub fn confirmation(&self, hash: &str) -> Option<&TxConfirmation> {
        self.confirmed.get(hash)
    }

    pub fn confirmed_count(&self) -> usize {
        self.confirmed.len()
    }

    fn watches_any(&self, hashes: &[String]) -> bool {
        hashes.iter().any(|h| self.pending.contains_key(h))
    }

    /// Records a committed tx found by `found_by`; `observed` is when its block was seen.
    fn confirm(&mut self, mut c: TxConfirmation, observed: Option<(Timestamp, Instant)>) {
        let Some(submitted) = self.pending.remove(&c.txhash) else { return };
        if let (Some(s), Ok(header)) = (submitted, c.header_time.parse::<Timestamp>()) {
            c.submitted_at = Some(s.wall.to_string());
            c.header_latency_seconds = Some(seconds_between(s.wall, header));
            c.wall_latency_seconds = observed.map(|(wall, mono)| match s.mono {
                Some(sent) => mono.duration_since(sent).as_secs_f64(),
                None => seconds_between(s.wall, wall),
            });
        }
        c.observed_at = observed.map(|(wall, _)| wall.to_string());
        self.confirmed.insert(c.txhash.clone(), c);
    }
}

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
        let (status, _) = rpc::node_status(&client, &target.rpc).await?;
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
            last_height: next.saturating_sub(1),
            last_new_block: Instant::now(),
            calls: Calls { status: 1, ..Calls::default() },
        })
    }

    /// The first height the watch reads.
    pub fn first_height(&self) -> u64 {
        self.first
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
            let busy: Vec<rpc::BlockMeta> = if lock(tracker).done() {
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
            let mut t = lock(tracker);
            for (found, calls) in read {
                self.calls.block += 1;
                self.calls.block_results += calls - 1;
                for c in found {
                    t.confirm(c, Some(observed));
                }
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
        let stragglers = lock(tracker).pending();
        let (client, api) = (&self.client, self.target.api.as_str());
        let asked = stragglers.len() as u64;
        let found: Vec<Option<TxConfirmation>> = futures::stream::iter(stragglers)
            .map(|hash| async move {
                let raw = rest::tx_by_hash(client, api, &hash).await.ok()?;
                let r = rest::tx_response_view(raw.get("tx_response")?);
                Some(TxConfirmation {
                    txhash: hash,
                    height: r.height.parse().ok()?,
                    header_time: r.timestamp,
                    code: r.code,
                    codespace: r.codespace,
                    log: r.raw_log,
                    found_by: FoundBy::Lookup,
                    submitted_at: None,
                    observed_at: None,
                    header_latency_seconds: None,
                    wall_latency_seconds: None,
                })
            })
            .buffer_unordered(CONCURRENT_LOOKUPS)
            .collect()
            .await;
        self.calls.tx_lookups += asked;
        let mut tracker = lock(tracker);
        let mut n = 0;
        for c in found.into_iter().flatten() {
            self.last_height = self.last_height.max(c.height);
            tracker.confirm(c, None);
            n += 1;
        }
        n
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
    if !lock(tracker).watches_any(&hashes) {
        return Ok((Vec::new(), 1));
    }
    let results = rpc::block_results(client, rpc_url, meta.height).await?;
    let t = lock(tracker);
    let found = hashes
        .iter()
        .enumerate()
        .filter(|(_, hash)| t.pending.contains_key(*hash))
        .map(|(i, hash)| {
            let r = results.pointer(&format!("/txs_results/{i}")).unwrap_or(&Value::Null);
            let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            TxConfirmation {
                txhash: hash.clone(),
                height: meta.height,
                header_time: meta.time.clone(),
                code: r.get("code").and_then(Value::as_i64).unwrap_or_default(),
                codespace: text("codespace"),
                log: text("log"),
                found_by: FoundBy::Block,
                submitted_at: None,
                observed_at: None,
                header_latency_seconds: None,
                wall_latency_seconds: None,
            }
        })
        .collect();
    Ok((found, 2))
}

pub(crate) fn lock(tracker: &Mutex<Tracker>) -> std::sync::MutexGuard<'_, Tracker> {
    tracker.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum End {
    /// Every watched hash was found.
    AllConfirmed,
    /// The deadline passed first.
    Timeout,
    /// No new block for the stall timeout: the chain stopped producing blocks.
    ChainStalled,
    /// The caller stopped it (broadcast without waiting).
    Stopped,
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
                let t = lock(tracker);
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
        if lock(tracker).done() {
            return End::AllConfirmed;
        }
        if follower.idle() >= options.stall_after {
            return End::ChainStalled;
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

/// Latency statistics of confirmations found in blocks (header clock and wall clock).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmationLatency {
    /// Inclusion header time − submit time.
    pub header: Option<stats::LatencyStats>,
    /// Wall clock from submit to the observed commit.
    pub wall: Option<stats::LatencyStats>,
}

pub fn latency<'a>(confirmations: impl Iterator<Item = &'a TxConfirmation> + Clone) -> ConfirmationLatency {
    let header: Vec<f64> = confirmations.clone().filter_map(|c| c.header_latency_seconds).collect();
    let wall: Vec<f64> = confirmations.filter_map(|c| c.wall_latency_seconds).collect();
    ConfirmationLatency { header: stats::latency_stats(&header), wall: stats::latency_stats(&wall) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(hash: &str, header_time: &str) -> TxConfirmation {
        TxConfirmation {
            txhash: hash.into(),
            height: 7,
            header_time: header_time.into(),
            code: 0,
            codespace: String::new(),
            log: String::new(),
            found_by: FoundBy::Block,
            submitted_at: None,
            observed_at: None,
            header_latency_seconds: None,
            wall_latency_seconds: None,
        }
    }

    #[test]
    fn a_confirmation_carries_latency_in_both_clocks() {
        let sent: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mono = Instant::now();
        let mut t = Tracker::default();
        t.expect("AA", Submitted { wall: sent, mono: Some(mono) });
        t.close();
        assert!(!t.done());
        let observed: Timestamp = "2026-01-01T00:00:03Z".parse().unwrap();
        t.confirm(
            found("AA", "2026-01-01T00:00:02.5Z"),
            Some((observed, mono + Duration::from_millis(2900))),
        );
        let c = t.confirmation("AA").unwrap();
        assert_eq!(c.header_latency_seconds, Some(2.5));
        assert_eq!(c.wall_latency_seconds, Some(2.9), "the monotonic clock wins when the BFF sent it");
        assert!(t.done());
    }

    #[test]
    fn unwatched_and_refused_hashes_are_not_confirmed() {
        let mut t = Tracker::of([("AA".to_string(), None), ("BB".to_string(), None)]);
        t.forget("BB");
        t.confirm(found("CC", "2026-01-01T00:00:00Z"), None);
        assert_eq!(t.confirmed_count(), 0);
        assert_eq!(t.pending(), vec!["AA".to_string()]);
        t.confirm(found("AA", "2026-01-01T00:00:00Z"), None);
        let c = t.confirmation("AA").unwrap();
        assert_eq!((c.header_latency_seconds, c.wall_latency_seconds), (None, None), "no submit time given");
        assert!(t.done());
    }
}
