//! waitIbcReady: every target has an OPEN gateway channel on gwc, and gwc and every target
//! are live — answering RPC with `catching_up=false` and a height above the one first seen
//! (a stalled node can report catching_up=false forever). Observes only (REST and RPC from
//! the BFF; no exec when gwc's REST is reachable) until the ready timeout.

use super::connect::dst_port;
use super::gateway::{self, GWC, open_channel};
use super::journal::Journal;
use super::session::Session;
use crate::jobs::{StepFailure, StepOutcome};
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

pub async fn run(session: &Session, journal: &dyn Journal) -> Result<StepOutcome, StepFailure> {
    let topo = session.topology()?;
    let settings = session.settings();
    let deadline = tokio::time::Instant::now() + settings.ibc_ready_timeout;
    let chains: Vec<String> = std::iter::once(GWC.to_string()).chain(topo.targets.iter().cloned()).collect();
    let mut live: BTreeMap<String, Liveness> =
        chains.iter().map(|c| (c.clone(), Liveness::default())).collect();
    loop {
        let channels =
            if topo.targets.is_empty() { Vec::new() } else { gateway::channels(session, journal).await? };
        let not_open: Vec<&String> =
            topo.targets.iter().filter(|id| open_channel(&channels, id, dst_port(id)).is_none()).collect();
        let statuses = futures::future::join_all(chains.iter().map(|c| session.node_status(c))).await;
        for (chain, st) in chains.iter().zip(statuses) {
            if let Some(l) = live.get_mut(chain) {
                let st = st.unwrap_or_else(|| Err("no rpc endpoint resolved".into()));
                l.observe(st.map(|s| (s.latest_height, s.catching_up)));
            }
        }
        let not_live: Vec<(String, String)> =
            live.iter().filter_map(|(c, l)| l.not_live().map(|why| (c.clone(), why))).collect();
        if not_open.is_empty() && not_live.is_empty() {
            let heights: Vec<String> =
                live.iter().map(|(c, l)| format!("{c}@{}", l.height.unwrap_or_default())).collect();
            return Ok(StepOutcome::Done(format!(
                "{} gateway channel(s) OPEN; live: {}",
                topo.targets.len(),
                heights.join(", ")
            )));
        }
        let mut waiting = Vec::new();
        if !not_open.is_empty() {
            let ids: Vec<&str> = not_open.iter().map(|id| id.as_str()).collect();
            waiting.push(format!("no OPEN gateway channel to {}", ids.join(", ")));
        }
        waiting.extend(not_live.iter().map(|(c, why)| format!("{c} not live ({why})")));
        journal.progress(&format!("waiting: {}", waiting.join("; ")));
        if tokio::time::Instant::now() >= deadline {
            let not_live: Vec<_> =
                not_live.iter().map(|(c, why)| json!({"chainId": c, "reason": why})).collect();
            return Err(StepFailure::new(
                "IBC_NOT_READY",
                format!(
                    "not ready after {}: {} channel(s) not OPEN, {} chain(s) not live",
                    humantime::format_duration(settings.ibc_ready_timeout),
                    not_open.len(),
                    not_live.len()
                ),
            )
            .with_details(json!({"notOpen": not_open, "notLive": not_live})));
        }
        tokio::time::sleep(settings.reconcile_poll_interval).await;
    }
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
