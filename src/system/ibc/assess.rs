//! The assessment: from one observation of a pair (both ends, backlogs, the relayer's path)
//! to its verdict and reasons, and from every pair and the relayer to the system's verdict.
//! Pure: no I/O, unit-tested in `tests.rs`.

use super::{Balance, Bounds, End, IbcHealth, Pair, PairObservation, Relayer, RelayerPath, Verdict};
use crate::chart::{OPEN, path_name};
use crate::system::relayer::{PathState, RelayerState};

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
            if let Some(blocks) = backlog.oldest_pending_blocks.filter(|b| *b >= bounds.stall_blocks) {
                let named: Vec<String> = backlog.sequences.iter().map(u64::to_string).collect();
                degraded.push(format!(
                    "{} {what} {label} unrelayed, the oldest (sequence {}) pending for {blocks} blocks (bound {}); \
                     sequences [{}]",
                    backlog.count,
                    backlog.oldest_sequence.unwrap_or_default(),
                    bounds.stall_blocks,
                    named.join(", ")
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

/// Whether an end's client has under a third of its trusting period left (the continuous
/// reconciler then runs `rly transact update-clients` on its path).
pub fn expires_soon(end: &End) -> bool {
    let (Some(left), Some(period)) = (end.trusting_period_left_seconds, end.trusting_period_seconds) else {
        return false;
    };
    left < period / EXPIRY_WARNING_SHARE
}

/// "expires soon" for an Active client with under a third of its trusting period left.
fn expiry_warning(end: &End, path: &str) -> Option<String> {
    let (left, period) = (end.trusting_period_left_seconds?, end.trusting_period_seconds?);
    expires_soon(end).then(|| {
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
    /// The pod's container restarting in a loop (`system::restart_loop`): then it was not
    /// probed, and this is the reason.
    pub restart_loop: Option<String>,
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
        (Some(_), Err(_)) if relayer.restart_loop.is_some() => {
            // Nothing relays while the container keeps exiting: rly dies with each exit.
            reasons.extend(relayer.restart_loop.clone());
            verdict = Verdict::Down;
        }
        (Some(_), Err(e)) => {
            reasons.push(format!("the relayer could not be observed: {e}"));
            verdict = verdict.max(Verdict::Degraded);
        }
        _ => {}
    }
    for b in balances.iter().filter(|b| b.low) {
        // Nothing the BFF can do heals an empty wallet: the reason says who must be funded where.
        reasons.push(format!(
            "relayer wallet on {chain} is low: {}uatom (warning below {}); a relay tx's fee may not be paid: fund {} on {chain}",
            b.uatom.as_deref().unwrap_or("?"),
            bounds.low_balance_uatom,
            b.address,
            chain = b.chain_id,
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
            restart_loop: relayer.restart_loop.clone(),
            balances,
        },
        observed_at: now.to_string(),
    }
}
