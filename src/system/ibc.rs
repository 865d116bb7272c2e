//! IBC health per gwc↔chain pair, proven from the chains rather than assumed: the gateway
//! channel on gwc and its counterparty end, both connections, both light clients (status and
//! trusting period), the packets and acknowledgements still waiting in each direction, whether
//! the relayer's path names exactly these clients and connections, and the relayer itself
//! (process, wallet balances). One verdict — `relaying`, `degraded` or `down` — with reasons.
//!
//! Sources: gwc's and each chain's ibc-go REST routes (through the metered chain client) and one
//! relayer probe; `GET /system/ibc` memoises the whole answer briefly, and waitIbcReady
//! evaluates the same assessment with the relayer state its job already observed.

mod observe;

pub use observe::{PairObservation, PendingSince, observe_pairs};

use super::relayer::{PathState, RelayerState};
use crate::chain::ChainClient;
use crate::chain::directory::ChainDirectory;
use crate::chart::{GWC, OPEN, path_name};
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
    /// A packet or ack pending longer than this many blocks makes its pair degraded.
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
    /// Blocks of the chain holding it since the BFF first saw the oldest one pending: a lower
    /// bound of its real age (the BFF cannot see when it was sent).
    pub oldest_pending_blocks: Option<u64>,
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
    last: Arc<Mutex<Option<(tokio::time::Instant, IbcHealth)>>>,
    /// Held while a request observes: concurrent requests for a stale memo wait for that one
    /// observation instead of each starting their own (single flight).
    observing: Arc<tokio::sync::Mutex<()>>,
}

impl Memo {
    fn fresh(&self, ttl: std::time::Duration) -> Option<IbcHealth> {
        let last = self.last.locked();
        last.as_ref().filter(|(at, _)| at.elapsed() < ttl).map(|(_, h)| h.clone())
    }

    /// The last observation, however old.
    pub fn last(&self) -> Option<IbcHealth> {
        self.last.locked().as_ref().map(|(_, h)| h.clone())
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
        None => observe_now(reads).await,
    }
}

/// A new observation, whatever the memo holds (the continuous reconciler's passes).
pub async fn observe_now(reads: &super::Reads) -> IbcHealth {
    let directory = reads.directory.snapshot();
    let chains: Vec<String> = directory.chain_ids();
    let pod = crate::cache::views::relayer_pod(&directory.pods, &reads.release)
        .and_then(|p| p.metadata.name.clone());
    drop(directory);
    let targets: Vec<String> = chains.iter().filter(|c| *c != GWC).cloned().collect();
    let plain: Vec<String> = chains.iter().filter(|c| crate::k8s::script::is_plain(c)).cloned().collect();
    let probe = async {
        match &pod {
            Some(pod) => super::relayer::probe(&reads.exec, pod, &reads.rly_home, &plain)
                .await
                .map_err(|e| e.to_string()),
            None => Err("no relayer pod".to_string()),
        }
    };
    let (state, observations) = tokio::join!(
        probe,
        observe_pairs(&reads.chains, &reads.directory, &targets, &reads.ibc_memo.pending)
    );
    let relayer = RelayerObservation { pod, state, at: jiff::Timestamp::now() };
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

// ----- assessment ----------------------------------------------------------------------------

fn relayer_path(p: &PathState) -> RelayerPath {
    RelayerPath {
        src_client_id: p.src_client.clone(),
        src_connection_id: p.src_connection.clone(),
        dst_client_id: p.dst_client.clone(),
        dst_connection_id: p.dst_connection.clone(),
    }
}

/// Whether `path` names exactly the pair's clients and connections (gwc is the path's src).
pub fn path_matches(path: &PathState, gwc: &End, other: &End) -> bool {
    let eq = |a: &str, b: &Option<String>| b.as_deref().is_some_and(|b| !a.is_empty() && a == b);
    eq(&path.src_client, &gwc.client_id)
        && eq(&path.src_connection, &gwc.connection_id)
        && eq(&path.dst_client, &other.client_id)
        && eq(&path.dst_connection, &other.connection_id)
}

/// The verdict of one pair given the relayer's state (`None`: not observed).
pub fn assess_pair(obs: &PairObservation, relayer: Option<&RelayerState>, bounds: Bounds) -> Pair {
    let mut down = Vec::new();
    let mut degraded = Vec::new();
    let chain = &obs.chain_id;
    let path = path_name(chain);
    let configured = relayer.and_then(|r| r.paths.get(&path));
    let mut matches = None;
    degraded.extend(obs.errors.iter().map(|e| format!("could not observe gwc<->{chain}: {e}")));
    match (&obs.gwc, &obs.counterparty) {
        (Some(gwc), Some(other)) => {
            if gwc.channel_state.as_deref() != Some(OPEN) || other.channel_state.as_deref() != Some(OPEN) {
                down.push(format!(
                    "channel {} is {} on gwc and {} on {chain}",
                    gwc.channel_id,
                    gwc.channel_state.as_deref().unwrap_or("unknown"),
                    other.channel_state.as_deref().unwrap_or("unknown")
                ));
            }
            for end in [gwc, other] {
                match end.client_status.as_deref() {
                    Some("Active") | None => {
                        if let Some(warning) = expiry_warning(end, &path) {
                            degraded.push(warning);
                        }
                    }
                    Some(status) => down.push(format!(
                        "client {} on {} is {status}",
                        end.client_id.as_deref().unwrap_or("?"),
                        end.chain_id
                    )),
                }
            }
            if let Some(relayer) = relayer {
                matches = Some(configured.is_some_and(|p| path_matches(p, gwc, other)));
                match configured {
                    None => down.push(format!("the relayer has no path {path}")),
                    Some(p) if !path_matches(p, gwc, other) => down.push(format!(
                        "path {path} names clients {}/{} and connections {}/{}, the chains {}/{} and {}/{}",
                        or_none(&p.src_client),
                        or_none(&p.dst_client),
                        or_none(&p.src_connection),
                        or_none(&p.dst_connection),
                        gwc.client_id.as_deref().unwrap_or("?"),
                        other.client_id.as_deref().unwrap_or("?"),
                        gwc.connection_id.as_deref().unwrap_or("?"),
                        other.connection_id.as_deref().unwrap_or("?"),
                    )),
                    Some(_) => {}
                }
                if relayer.running.is_empty() {
                    down.push("rly start is not running".into());
                }
            }
        }
        _ if obs.errors.is_empty() => down.push(format!("no gateway channel between gwc and {chain}")),
        _ => {}
    }
    for (name, dir) in [("gwc->", &obs.gwc_to_chain), ("->gwc", &obs.chain_to_gwc)] {
        let label = if name == "gwc->" { format!("gwc->{chain}") } else { format!("{chain}->gwc") };
        for (what, backlog) in [("packets", &dir.packets), ("acks", &dir.acks)] {
            if let Some(blocks) = backlog.oldest_pending_blocks.filter(|b| *b > bounds.stall_blocks) {
                degraded.push(format!(
                    "{} {what} {label} unrelayed, the oldest (sequence {}) pending for {blocks} blocks (bound {})",
                    backlog.count,
                    backlog.oldest_sequence.unwrap_or_default(),
                    bounds.stall_blocks
                ));
            }
        }
    }
    let verdict = if !down.is_empty() {
        Verdict::Down
    } else if !degraded.is_empty() {
        Verdict::Degraded
    } else {
        Verdict::Relaying
    };
    Pair {
        chain_id: chain.clone(),
        path,
        gwc: obs.gwc.clone(),
        counterparty: obs.counterparty.clone(),
        relayer_path: configured.map(relayer_path),
        path_matches: matches,
        gwc_to_chain: obs.gwc_to_chain.clone(),
        chain_to_gwc: obs.chain_to_gwc.clone(),
        verdict,
        reasons: down.into_iter().chain(degraded).collect(),
    }
}

/// Warn when less than this share of a client's trusting period is left. A running `rly start`
/// updates a path's client once two thirds of it have passed, packets or not; a client past
/// that was not updated (rly down, stuck, or its txs failing) and will expire, after which only
/// governance can recover it.
const EXPIRY_WARNING_SHARE: u64 = 3;

/// "expires soon" for an Active client with under a third of its trusting period left.
fn expiry_warning(end: &End, path: &str) -> Option<String> {
    let (left, period) = (end.trusting_period_left_seconds?, end.trusting_period_seconds?);
    (left < period / EXPIRY_WARNING_SHARE).then(|| {
        format!(
            "client {} on {} expires in {left}s unless updated (trusting period {period}s): relay a packet over it or run `rly transact update-clients {path}`",
            end.client_id.as_deref().unwrap_or("?"),
            end.chain_id
        )
    })
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "(none)" } else { s }
}

// ----- the whole answer ----------------------------------------------------------------------

/// The relayer as the probe saw it.
pub struct RelayerObservation {
    pub pod: Option<String>,
    pub state: Result<RelayerState, String>,
    pub at: jiff::Timestamp,
}

/// Combines pairs and relayer into the system's verdict.
pub fn assess(
    observations: &[PairObservation],
    relayer: &RelayerObservation,
    balances: Vec<Balance>,
    bounds: Bounds,
) -> IbcHealth {
    let state = relayer.state.as_ref().ok();
    let pairs: Vec<Pair> = observations.iter().map(|o| assess_pair(o, state, bounds)).collect();
    let mut reasons: Vec<String> = Vec::new();
    let mut verdict = pairs.iter().map(|p| p.verdict).max().unwrap_or(Verdict::Relaying);
    if pairs.is_empty() {
        reasons.push("no storage chain to relay to".into());
        verdict = Verdict::Down;
    }
    match (&relayer.pod, &relayer.state) {
        (None, _) => {
            reasons.push("no relayer pod".into());
            verdict = Verdict::Down;
        }
        (Some(_), Err(e)) => {
            reasons.push(format!("the relayer could not be observed: {e}"));
            verdict = verdict.max(Verdict::Degraded);
        }
        _ => {}
    }
    for b in balances.iter().filter(|b| b.low) {
        reasons.push(format!(
            "relayer wallet on {} is low: {}uatom (warning below {})",
            b.chain_id,
            b.uatom.as_deref().unwrap_or("?"),
            bounds.low_balance_uatom
        ));
        verdict = verdict.max(Verdict::Degraded);
    }
    for p in pairs.iter().filter(|p| p.verdict != Verdict::Relaying) {
        reasons.extend(p.reasons.iter().map(|r| format!("{}: {r}", p.chain_id)));
    }
    let now = jiff::Timestamp::now();
    let (running, pids, error) = match &relayer.state {
        Ok(st) => (Some(!st.running.is_empty()), st.running.clone(), None),
        Err(e) => (None, Vec::new(), Some(e.clone())),
    };
    IbcHealth {
        verdict,
        reasons,
        pairs,
        relayer: Relayer {
            pod: relayer.pod.clone(),
            running: running.filter(|_| relayer.pod.is_some()),
            pids,
            observed_at: relayer.pod.as_ref().map(|_| relayer.at.to_string()),
            observation_age_seconds: relayer
                .pod
                .as_ref()
                .map(|_| now.duration_since(relayer.at).as_secs_f64().max(0.0)),
            error,
            balances,
        },
        observed_at: now.to_string(),
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
