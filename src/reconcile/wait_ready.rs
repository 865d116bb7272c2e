//! waitIbcReady proves what it can: every target has an OPEN gateway channel on gwc; gwc and
//! every target are live — answering RPC with `catching_up=false` and a height above the one
//! first seen (a stalled node can report catching_up=false forever); and every pair can be
//! relayed — the relayer's path names the channel ends' clients and connections, both clients
//! are Active, `rly start` runs, and no packet or ack has waited longer than
//! `IBC_STALL_BLOCKS` (the assessment of `system::ibc`). Observes only, until the ready timeout.
use super::gateway::{self, open_channel};
use super::journal::Journal;
use super::relayer_state;
use super::run::Run;
use crate::chart::{GWC, dst_port};
use crate::error_code::ErrorCode;
use crate::error_code::Failure;
use crate::jobs::StepOutcome;
use crate::system::ibc;
use serde_json::json;
use std::collections::BTreeMap;

/// One chain's liveness so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Liveness {
    pub first_height: Option<u64>,
    pub height: Option<u64>,
    pub catching_up: Option<bool>,
    pub error: Option<String>,
}

impl Liveness {
    pub fn observe(&mut self, status: Result<(u64, bool), String>) {
        match status {
            Ok((height, catching_up)) => {
                self.first_height.get_or_insert(height);
                self.height = Some(height);
                self.catching_up = Some(catching_up);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Why the chain is not live yet, or None when it is.
    pub fn not_live(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(format!("RPC does not answer: {e}"));
        }
        match (self.first_height, self.height, self.catching_up) {
            (_, _, Some(true)) => Some("catching up".into()),
            (Some(first), Some(now), Some(false)) if now > first => None,
            (Some(first), _, _) => Some(format!("height stays at {first}")),
            _ => Some("no status yet".into()),
        }
    }
}

pub async fn run(run: &Run, journal: &dyn Journal) -> Result<StepOutcome, Failure> {
    if run.params().dry_run {
        // It only observes, and what it would see depends on actions a dry run did not take.
        return Ok(StepOutcome::Skipped("dry run: waitIbcReady only observes; not waited".into()));
    }
    let topo = run.topology()?;
    let settings = run.settings();
    let ctx = &run.ctx;
    let deadline = tokio::time::Instant::now() + settings.ibc_ready_timeout;
    let chains: Vec<String> = std::iter::once(GWC.to_string()).chain(topo.targets.iter().cloned()).collect();
    let mut live: BTreeMap<String, Liveness> =
        chains.iter().map(|c| (c.clone(), Liveness::default())).collect();
    // Packets pending during this wait, aged from when this job first saw them.
    let pending = ibc::PendingSince::default();
    loop {
        let channels =
            if topo.targets.is_empty() { Vec::new() } else { gateway::channels(run, journal).await? };
        let not_open: Vec<&String> =
            topo.targets.iter().filter(|id| open_channel(&channels, id, dst_port(id)).is_none()).collect();
        let statuses = futures::future::join_all(chains.iter().map(|c| run.node_status(c))).await;
        for (chain, st) in chains.iter().zip(statuses) {
            if let Some(l) = live.get_mut(chain) {
                let st = st.unwrap_or_else(|| Err("no rpc endpoint resolved".into()));
                l.observe(st.map(|s| (s.latest_height, s.catching_up)));
            }
        }
        let not_live: Vec<(String, String)> =
            live.iter().filter_map(|(c, l)| l.not_live().map(|why| (c.clone(), why))).collect();
        // Open and live: now prove that the relayer can relay each pair.
        let mut not_relaying: Vec<(String, Vec<String>)> = Vec::new();
        if not_open.is_empty() && not_live.is_empty() && !topo.targets.is_empty() {
            let relayer = relayer_state::observe(run, journal).await?;
            let observed = ibc::observe_pairs(&ctx.chains, &ctx.directory, &topo.targets, &pending).await;
            for obs in &observed {
                let pair = ibc::assess_pair(obs, Some(&relayer), ctx.ibc.bounds());
                if pair.verdict != ibc::Verdict::Relaying {
                    not_relaying.push((pair.chain_id, pair.reasons));
                }
            }
        }
        if not_open.is_empty() && not_live.is_empty() && not_relaying.is_empty() {
            let heights: Vec<String> =
                live.iter().map(|(c, l)| format!("{c}@{}", l.height.unwrap_or_default())).collect();
            return Ok(StepOutcome::Done(format!(
                "{} gateway channel(s) OPEN, relayer paths match the chains, clients Active, rly running; live: {}",
                topo.targets.len(),
                heights.join(", ")
            )));
        }
        let mut waiting = Vec::new();
        if !not_open.is_empty() {
            waiting.push(format!("no OPEN channel to {}", join(not_open.iter().map(|c| c.as_str()))));
        }
        if !not_live.is_empty() {
            waiting
                .push(format!("not live: {}", join(not_live.iter().map(|(c, why)| format!("{c} ({why})")))));
        }
        if !not_relaying.is_empty() {
            waiting.push(format!(
                "not relaying: {}",
                join(not_relaying.iter().map(|(c, why)| format!("{c} ({})", why.join("; "))))
            ));
        }
        journal.progress(&format!("waiting: {}", waiting.join("; ")));
        if tokio::time::Instant::now() >= deadline {
            let not_live: Vec<_> =
                not_live.iter().map(|(c, why)| json!({"chainId": c, "reason": why})).collect();
            let not_relaying: Vec<_> = not_relaying
                .iter()
                .map(|(c, why)| json!({"chainPair": format!("gwc<->{c}"), "reasons": why}))
                .collect();
            return Err(NotReady {
                after: settings.ibc_ready_timeout,
                waiting,
                details: json!({"notOpen": not_open, "notLive": not_live, "notRelaying": not_relaying}),
            }
            .into());
        }
        tokio::time::sleep(settings.reconcile_poll_interval).await;
    }
}

/// Why waitIbcReady failed: channels not OPEN, chains not live or pairs not relaying when
/// the wait ran out.
#[derive(Debug, thiserror::Error)]
#[error("not ready after {}: {}", humantime::format_duration(*after), waiting.join("; "))]
pub struct NotReady {
    after: std::time::Duration,
    waiting: Vec<String>,
    /// What is not OPEN, not live and not relaying, per chain.
    details: serde_json::Value,
}

impl From<NotReady> for Failure {
    fn from(e: NotReady) -> Self {
        Failure::new(ErrorCode::IbcNotReady, e.to_string()).with_details(e.details)
    }
}

fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_means_answering_not_catching_up_and_advancing() {
        let mut l = Liveness::default();
        assert_eq!(l.not_live().as_deref(), Some("no status yet"));
        l.observe(Ok((10, false)));
        assert_eq!(
            l.not_live().as_deref(),
            Some("height stays at 10"),
            "catching_up=false alone is not trusted"
        );
        l.observe(Ok((10, false)));
        assert!(l.not_live().is_some());
        l.observe(Ok((11, true)));
        assert_eq!(l.not_live().as_deref(), Some("catching up"));
        l.observe(Ok((12, false)));
        assert_eq!(l.not_live(), None);
        l.observe(Err("refused".into()));
        assert!(l.not_live().unwrap().contains("refused"));
    }
}
