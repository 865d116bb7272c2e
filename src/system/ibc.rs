//! IBC health per gwc↔chain pair, proven from the chains rather than assumed: the gateway
//! channel on gwc and its counterparty end, both connections, both light clients (status and
//! trusting period), the packets and acknowledgements still waiting in each direction, whether
//! the relayer's path names exactly these clients and connections, and the relayer itself
//! (process, wallet balances). One verdict — `relaying`, `degraded` or `down` — with reasons.
//!
//! Sources: gwc's and each chain's ibc-go REST routes (through the metered chain client) and one
//! relayer probe; `GET /system/ibc` memoises the whole answer briefly, and waitIbcReady
//! evaluates the same assessment with the relayer state its job already observed.

mod assess;
mod observe;

pub use assess::{RelayerObservation, assess, assess_pair, expires_soon, path_matches};
pub use observe::{PairObservation, PendingSince, observe_pairs};

use crate::cache::directory::ChainDirectory;
use crate::chain::ChainClient;
use crate::chart::GWC;
use crate::sync::Locked;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Relaying,
    Degraded,
    Down,
}

/// Bounds of the assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// A packet or ack that has waited this many blocks makes its pair degraded.
    pub stall_blocks: u64,
    /// A relayer wallet below this many uatom gets a low-balance warning.
    pub low_balance_uatom: u128,
}

/// One end of the pair: channel, connection and client as that chain stores them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct End {
    pub chain_id: String,
    pub port_id: String,
    pub channel_id: String,
    pub channel_state: Option<String>,
    pub connection_id: Option<String>,
    pub connection_state: Option<String>,
    pub client_id: Option<String>,
    /// `Active`, `Expired`, `Frozen`, … (ibc-go `client_status`).
    pub client_status: Option<String>,
    pub trusting_period_seconds: Option<u64>,
    /// Height of the tracked chain the client was last updated to.
    pub client_latest_height: Option<u64>,
    /// Time of that update's header (the client's latest consensus state).
    pub consensus_timestamp: Option<jiff::Timestamp>,
    /// How long until the client expires unless updated: trusting period minus the age of its
    /// latest consensus state by the BFF's clock; 0 once past.
    pub trusting_period_left_seconds: Option<u64>,
}

impl End {
    /// Sets the client's latest consensus state and what is left of its trusting period.
    pub fn set_consensus(&mut self, time: Option<jiff::Timestamp>, now: jiff::Timestamp) {
        self.consensus_timestamp = time;
        self.trusting_period_left_seconds = match (time, self.trusting_period_seconds) {
            (Some(t), Some(period)) => {
                let age = now.duration_since(t).as_secs().max(0).unsigned_abs();
                Some(period.saturating_sub(age))
            }
            _ => None,
        };
    }
}

/// Packets (or acks) sent one way and not yet relayed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backlog {
    pub count: usize,
    pub oldest_sequence: Option<u64>,
    /// Blocks of the chain holding them since the longest-waiting one was written (its
    /// `send_packet` / `write_acknowledgement` height), or, where the chain did not say, since
    /// the BFF first saw it pending (then a lower bound).
    pub oldest_pending_blocks: Option<u64>,
    /// The pending sequences, oldest first (at most 20).
    pub sequences: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Direction {
    /// Sent and not received by the other chain.
    pub packets: Backlog,
    /// Received, acknowledged there, and the ack not yet relayed back to the sender.
    pub acks: Backlog,
}

/// What the relayer's config says for the pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelayerPath {
    pub src_client_id: String,
    pub src_connection_id: String,
    pub dst_client_id: String,
    pub dst_connection_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pair {
    pub chain_id: String,
    pub path: String,
    pub gwc: Option<End>,
    pub counterparty: Option<End>,
    /// The relayer's path, when its config has one.
    pub relayer_path: Option<RelayerPath>,
    /// The path names exactly these clients and connections (`null` when unknown).
    pub path_matches: Option<bool>,
    pub gwc_to_chain: Direction,
    pub chain_to_gwc: Direction,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    pub chain_id: String,
    pub address: String,
    pub uatom: Option<String>,
    pub low: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Relayer {
    pub pod: Option<String>,
    /// `rly start` observed running (`null`: not observed).
    pub running: Option<bool>,
    pub pids: Vec<u32>,
    /// When the process was observed, and how long ago.
    pub observed_at: Option<String>,
    pub observation_age_seconds: Option<f64>,
    pub error: Option<String>,
    /// The relayer pod's container restarting in a loop (CrashLoopBackOff, or restarted less
    /// than `system::restart_loop::SETTLE` ago): nothing execs into it meanwhile.
    pub restart_loop: Option<String>,
    pub balances: Vec<Balance>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IbcHealth {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub pairs: Vec<Pair>,
    pub relayer: Relayer,
    pub observed_at: String,
}

// ----- observation ---------------------------------------------------------------------------

/// What the BFF keeps between IBC observations.
#[derive(Clone, Default)]
pub struct Memo {
    pub pending: PendingSince,
    /// Packets followed from observation to observation for the hop-latency histograms.
    pub hops: crate::utils::packets::HopWatch,
    last: Arc<Mutex<Option<(tokio::time::Instant, IbcHealth)>>>,
    /// Held while a request observes: concurrent requests for a stale memo wait for that one
    /// observation instead of each starting their own (single flight).
    observing: Arc<tokio::sync::Mutex<()>>,
    /// Notified when a read (not a reconcile pass) finds drift no watch event announces — the
    /// relayer pod without `rly start`, or an Active client with under a third of its trusting
    /// period left — so the continuous reconciler acts on it rather than at its resync.
    pub drift_seen: Arc<tokio::sync::Notify>,
}

impl Memo {
    fn fresh(&self, ttl: std::time::Duration) -> Option<IbcHealth> {
        let last = self.last.locked();
        last.as_ref().filter(|(at, _)| at.elapsed() < ttl).map(|(_, h)| h.clone())
    }

    /// The last observation's relayer part, however old (the status page's; the rest of the
    /// observation is not copied for it).
    pub fn last_relayer(&self) -> Option<Relayer> {
        self.last.locked().as_ref().map(|(_, h)| h.relayer.clone())
    }

    fn store(&self, health: &IbcHealth) {
        *self.last.locked() = Some((tokio::time::Instant::now(), health.clone()));
    }
}

/// `GET /system/ibc`: the last observation if younger than `IBC_HEALTH_TTL`, else a new one —
/// one relayer probe, the pairs' REST reads and the wallet balances — recorded in metrics.
pub async fn health(reads: &super::Reads) -> IbcHealth {
    let ttl = reads.ibc.ibc_health_ttl;
    if let Some(h) = reads.ibc_memo.fresh(ttl) {
        return h;
    }
    let _observing = reads.ibc_memo.observing.lock().await;
    // Another request may have observed while this one waited.
    match reads.ibc_memo.fresh(ttl) {
        Some(h) => h,
        None => {
            let health = observe_now(reads).await;
            if health.relayer.running == Some(false) || !expiring_clients(&health).is_empty() {
                reads.ibc_memo.drift_seen.notify_one();
            }
            health
        }
    }
}

/// A new observation, whatever the memo holds (the continuous reconciler's passes).
pub async fn observe_now(reads: &super::Reads) -> IbcHealth {
    let directory = reads.directory.snapshot();
    let chains: Vec<String> = directory.chain_ids();
    let relayer_pod = crate::cache::views::relayer_pod(&directory.pods, &reads.release);
    let pod = relayer_pod.and_then(|p| p.metadata.name.clone());
    let restart_loop = relayer_pod.and_then(|p| super::restart_loop::restart_loop(p, jiff::Timestamp::now()));
    drop(directory);
    let targets: Vec<String> = chains.iter().filter(|c| *c != GWC).cloned().collect();
    let plain: Vec<String> = chains.iter().filter(|c| crate::k8s::script::is_plain(c)).cloned().collect();
    let probe = async {
        match &pod {
            // A container that keeps exiting is not exec'd into.
            Some(_) if restart_loop.is_some() => Err(restart_loop.clone().unwrap_or_default()),
            Some(pod) => super::relayer::probe(&reads.exec, pod, &reads.rly_home, &plain)
                .await
                .map_err(|e| e.to_string()),
            None => Err("no relayer pod".to_string()),
        }
    };
    // The hop histograms' block reads run beside the observation, never delaying it.
    let (hops, client, directory, metrics) =
        (reads.ibc_memo.hops.clone(), reads.chains.clone(), reads.directory.clone(), reads.metrics.clone());
    tokio::spawn(async move { hops.pass(&client, &directory, &metrics).await });
    let (state, observations) = tokio::join!(
        probe,
        observe_pairs(&reads.chains, &reads.directory, &targets, &reads.ibc_memo.pending)
    );
    let relayer = RelayerObservation { pod, state, at: jiff::Timestamp::now(), restart_loop };
    let balances = match &relayer.state {
        Ok(st) => {
            let chains: BTreeSet<String> = chains.iter().cloned().collect();
            let low = u128::from(reads.ibc.relayer_low_balance_uatom);
            balances(reads.chain_status.client(), &reads.directory, &st.keys, &chains, low).await
        }
        Err(_) => Vec::new(),
    };
    let health = assess(&observations, &relayer, balances, reads.ibc.bounds());
    record(&reads.metrics, &health);
    reads.ibc_memo.store(&health);
    health
}

/// `(path, chain, client, seconds left)` of every Active client with under a third of its
/// trusting period left.
pub fn expiring_clients(health: &IbcHealth) -> Vec<(String, String, String, u64)> {
    health
        .pairs
        .iter()
        .flat_map(|p| [&p.gwc, &p.counterparty].into_iter().flatten().map(move |e| (p, e)))
        .filter(|(_, e)| e.client_status.as_deref().is_none_or(|s| s == "Active") && expires_soon(e))
        .map(|(p, e)| {
            let client = e.client_id.clone().unwrap_or_default();
            (p.path.clone(), e.chain_id.clone(), client, e.trusting_period_left_seconds.unwrap_or_default())
        })
        .collect()
}

/// The observation's gauges: backlogs per pair and direction, trusting periods, balances.
fn record(metrics: &crate::metrics::Metrics, health: &IbcHealth) {
    for p in &health.pairs {
        for (direction, d) in [("gwc_to_chain", &p.gwc_to_chain), ("chain_to_gwc", &p.chain_to_gwc)] {
            metrics.ibc_unrelayed(&p.chain_id, direction, "packets", d.packets.count);
            metrics.ibc_unrelayed(&p.chain_id, direction, "acks", d.acks.count);
        }
        for end in [&p.gwc, &p.counterparty].into_iter().flatten() {
            if let (Some(client), Some(secs)) = (&end.client_id, end.trusting_period_seconds) {
                metrics.ibc_trusting_period(&end.chain_id, client, secs);
            }
            if let (Some(client), Some(secs)) = (&end.client_id, end.trusting_period_left_seconds) {
                metrics.ibc_trusting_left(&end.chain_id, client, secs);
            }
        }
    }
    for b in &health.relayer.balances {
        if let Some(uatom) = b.uatom.as_deref().and_then(|u| u.parse().ok()) {
            metrics.relayer_balance(&b.chain_id, uatom);
        }
    }
}

/// The relayer wallet's uatom on each chain it has a key for.
pub async fn balances(
    client: &ChainClient,
    directory: &ChainDirectory,
    keys: &BTreeMap<String, String>,
    chains: &BTreeSet<String>,
    low_below: u128,
) -> Vec<Balance> {
    let snapshot = directory.snapshot();
    let reads: Vec<_> = keys
        .iter()
        .filter(|(chain, _)| chains.contains(*chain))
        .map(|(chain, address)| (chain.clone(), address.clone(), snapshot.upstream(chain, "api")))
        .collect();
    drop(snapshot);
    futures::future::join_all(reads.into_iter().map(|(chain, address, api)| async move {
        let amount = match api {
            Ok(api) => {
                crate::chain::rest::uatom_balance(client, &api, &address).await.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        match amount {
            Ok(uatom) => Balance {
                chain_id: chain,
                address,
                low: uatom < low_below,
                uatom: Some(uatom.to_string()),
                error: None,
            },
            Err(e) => Balance { chain_id: chain, address, uatom: None, low: false, error: Some(e) },
        }
    }))
    .await
}

#[cfg(test)]
mod tests;
