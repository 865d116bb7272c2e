//! The set of watched tx hashes and what became of each: submitted when, found in which
//! block and how, and the latencies that follow from the chain's own clock.

use super::super::seconds_between;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use tokio::time::Instant;
use utoipa::ToSchema;

/// When a tx was submitted: the wall clock for the commit latency, and a monotonic instant
/// for the observed latency when the BFF itself sent it.
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
    /// A `tx` lookup after the watch (a straggler); no observed commit then.
    Lookup,
}

/// Why a confirmed tx has no latency.
pub const NO_SUBMIT_TIME: &str = "submit time unknown: give submittedAt to measure latency";
/// A submit time after the commit time: the submitter's clock, not the chain, is wrong.
pub const SUBMITTED_AFTER_COMMIT: &str =
    "submittedAt is after the commit time: the submitter's clock runs ahead of the chain's";
/// A submit time before the chain's earliest block: no tx of this chain was sent then.
pub const SUBMITTED_BEFORE_CHAIN: &str =
    "submittedAt precedes the chain's earliest block: not a time this chain could have received the tx";
/// Why a tx has no observed latency: its block was there before the watch looked.
pub const COMMITTED_BEFORE_WATCH: &str =
    "committed before the watch began: the BFF did not see it being committed";
/// Why a tx has no observed latency: a client's submit time later than the BFF's observation.
pub const SUBMITTED_AFTER_OBSERVED: &str =
    "submittedAt is after the BFF saw the block: the submitter's clock runs ahead of the BFF's";
/// Why a straggler has no observed latency.
pub const FOUND_BY_LOOKUP: &str = "found by a lookup after the watch: its commit was not observed";

/// What the chain said when the watch began: the bounds of a sound measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchStart {
    /// The latest height then: a block at or below it was committed before the watch, so
    /// the BFF's observation of it says nothing about when it was committed.
    pub height: u64,
    /// The earliest block the node holds (its genesis unless pruned): a submit time before
    /// it is a wrong clock, not a long wait.
    pub earliest_block_time: Option<Timestamp>,
}

/// One tx seen committed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TxConfirmation {
    pub txhash: String,
    /// The including block H.
    pub height: u64,
    /// Header time of H: BFT time from H−1's commit, so it may precede the submit. Not a latency.
    pub header_time: String,
    /// The tx's result code in the block (0 = success; non-zero txs are included but failed).
    pub code: i64,
    pub codespace: String,
    pub log: String,
    pub found_by: FoundBy,
    pub submitted_at: Option<String>,
    /// Commit time of H: the header time of H+1 (null until H+1 was seen).
    pub commit_time: Option<String>,
    /// When the BFF saw block H committed (watch only, the BFF's wall clock).
    pub observed_at: Option<String>,
    /// Commit time − submit time, seconds; null with `latencyUnavailable` saying why.
    pub latency_seconds: Option<f64>,
    /// The BFF's wall clock from submit to its observation of the commit, seconds (a local
    /// measure; monotonic when the BFF sent the tx itself).
    pub observed_latency_seconds: Option<f64>,
    /// Why `latencySeconds` is null.
    pub latency_unavailable: Option<String>,
    /// Why `observedLatencySeconds` is null.
    pub observed_latency_unavailable: Option<String>,
}

impl TxConfirmation {
    /// A tx found in block `height` (header time `header_time`), nothing measured yet.
    pub fn included(txhash: String, height: u64, header_time: String, found_by: FoundBy) -> Self {
        Self {
            txhash,
            height,
            header_time,
            code: 0,
            codespace: String::new(),
            log: String::new(),
            found_by,
            submitted_at: None,
            commit_time: None,
            observed_at: None,
            latency_seconds: None,
            observed_latency_seconds: None,
            latency_unavailable: None,
            observed_latency_unavailable: None,
        }
    }
}

/// The hashes being watched and what has been found.
#[derive(Default)]
pub struct Tracker {
    pub(super) pending: HashMap<String, Option<Submitted>>,
    pub(super) confirmed: HashMap<String, TxConfirmation>,
    /// Confirmed hashes whose commit time is not known yet, by the height that gives it (H+1),
    /// with their submit time.
    pub(super) awaiting: BTreeMap<u64, Vec<(String, Option<Submitted>)>>,
    /// No more hashes will be added.
    pub(super) closed: bool,
    pub(super) start: WatchStart,
}

impl Tracker {
    /// A closed tracker of a known list.
    pub fn of(hashes: impl IntoIterator<Item = (String, Option<Submitted>)>) -> Self {
        Self { pending: hashes.into_iter().collect(), closed: true, ..Self::default() }
    }

    /// Measures against the chain as it was when the watch began.
    pub fn since(self, start: WatchStart) -> Self {
        Self { start, ..self }
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

    /// Every watched hash is in a block (commit times may still be awaited).
    pub fn all_included(&self) -> bool {
        self.closed && self.pending.is_empty()
    }

    /// Every watched hash is in a block and has its commit time.
    pub fn done(&self) -> bool {
        self.all_included() && self.awaiting.is_empty()
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

    /// The heights whose header time would give a missing commit time, lowest first.
    pub fn awaited_heights(&self) -> Vec<u64> {
        self.awaiting.keys().copied().collect()
    }

    pub(super) fn watches_any(&self, hashes: &[String]) -> bool {
        hashes.iter().any(|h| self.pending.contains_key(h))
    }

    /// Records a committed tx found by `found_by`; `observed` is when its block was seen.
    pub(super) fn confirm(&mut self, mut c: TxConfirmation, observed: Option<(Timestamp, Instant)>) {
        let Some(submitted) = self.pending.remove(&c.txhash) else { return };
        c.observed_at = observed.map(|(wall, _)| wall.to_string());
        match submitted {
            Some(s) => {
                c.submitted_at = Some(s.wall.to_string());
                if self.start.earliest_block_time.is_some_and(|earliest| s.wall < earliest) {
                    c.latency_unavailable = Some(SUBMITTED_BEFORE_CHAIN.into());
                    c.observed_latency_unavailable = Some(SUBMITTED_BEFORE_CHAIN.into());
                } else {
                    match self.observed_latency(c.height, s, observed) {
                        Ok(seconds) => c.observed_latency_seconds = Some(seconds),
                        Err(why) => c.observed_latency_unavailable = Some(why.into()),
                    }
                }
            }
            None => {
                c.latency_unavailable = Some(NO_SUBMIT_TIME.into());
                c.observed_latency_unavailable = Some(NO_SUBMIT_TIME.into());
            }
        }
        self.awaiting.entry(c.height + 1).or_default().push((c.txhash.clone(), submitted));
        self.confirmed.insert(c.txhash.clone(), c);
    }

    /// Submit → the BFF's observation of block `height`, or why there is none: only a block
    /// committed after the watch began was seen being committed.
    fn observed_latency(
        &self,
        height: u64,
        s: Submitted,
        observed: Option<(Timestamp, Instant)>,
    ) -> Result<f64, &'static str> {
        let Some((wall, mono)) = observed else { return Err(FOUND_BY_LOOKUP) };
        if height <= self.start.height {
            return Err(COMMITTED_BEFORE_WATCH);
        }
        match s.mono {
            Some(sent) => Ok(mono.duration_since(sent).as_secs_f64()),
            None if wall < s.wall => Err(SUBMITTED_AFTER_OBSERVED),
            None => Ok(seconds_between(s.wall, wall)),
        }
    }

    /// Block `height` has header time `time`: the commit time of every tx included at
    /// `height − 1`.
    pub(super) fn header_seen(&mut self, height: u64, time: &str) {
        let Some(waiting) = self.awaiting.remove(&height) else { return };
        let commit = time.parse::<Timestamp>().ok();
        for (hash, submitted) in waiting {
            let Some(c) = self.confirmed.get_mut(&hash) else { continue };
            c.commit_time = Some(time.to_string());
            if c.latency_unavailable.is_some() {
                continue; // already out of the statistics (a submit time before the chain)
            }
            match (submitted, commit) {
                (Some(s), Some(commit)) if commit < s.wall => {
                    c.latency_unavailable = Some(SUBMITTED_AFTER_COMMIT.into())
                }
                (Some(s), Some(commit)) => c.latency_seconds = Some(seconds_between(s.wall, commit)),
                (Some(_), None) => {
                    c.latency_unavailable = Some(format!("block {height} has an unreadable header time"))
                }
                (None, _) => {}
            }
        }
    }

    /// The watch is over: a tx still without a commit time says why it has no latency.
    pub(super) fn give_up_awaiting(&mut self) {
        for (height, waiting) in std::mem::take(&mut self.awaiting) {
            for (hash, submitted) in waiting {
                let Some(c) = self.confirmed.get_mut(&hash) else { continue };
                if submitted.is_some() && c.latency_unavailable.is_none() {
                    c.latency_unavailable = Some(format!(
                        "commit time unknown: block {height} (whose header time is the commit time of block {}) was not seen before the watch ended",
                        height - 1
                    ));
                }
            }
        }
    }
}
