//! Whether gwc and the chains a step talks to serve: a chain is live when its RPC answers,
//! it is not catching up, and its height has risen since this wait first saw it (a node that
//! answers but makes no block is not live). The chart's chain pods turn Ready while their
//! entrypoint still fetches genesis, so a pod's readiness says nothing about its node; the
//! scripts loop `gwcd status` for the same reason before they link.

use super::journal::Journal;
use super::run::Run;
use crate::error_code::{ErrorCode, Failure};
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

/// The liveness of a set of chains, observed together.
#[derive(Debug, Clone, Default)]
pub struct Chains(pub BTreeMap<String, Liveness>);

impl Chains {
    pub fn new<'a>(chains: impl IntoIterator<Item = &'a String>) -> Self {
        Self(chains.into_iter().map(|c| (c.clone(), Liveness::default())).collect())
    }

    /// One RPC `status` per chain, in parallel.
    pub async fn observe(&mut self, run: &Run) {
        let statuses = futures::future::join_all(self.0.keys().map(|c| run.node_status(c))).await;
        for (live, status) in self.0.values_mut().zip(statuses) {
            let status = status.unwrap_or_else(|| Err("no rpc endpoint resolved".into()));
            live.observe(status.map(|s| (s.latest_height, s.catching_up)));
        }
    }

    /// `(chain, why)` for each chain that is not live.
    pub fn not_live(&self) -> Vec<(String, String)> {
        self.0.iter().filter_map(|(c, l)| l.not_live().map(|why| (c.clone(), why))).collect()
    }

    /// `gwc@12, fdsc-0@9`.
    pub fn heights(&self) -> String {
        let heights: Vec<String> =
            self.0.iter().map(|(c, l)| format!("{c}@{}", l.height.unwrap_or_default())).collect();
        heights.join(", ")
    }
}

/// `gwc (RPC does not answer: …), fdsc-0 (height stays at 3)`.
pub fn describe(not_live: &[(String, String)]) -> String {
    not_live.iter().map(|(c, why)| format!("{c} ({why})")).collect::<Vec<_>>().join(", ")
}

/// Waits until every chain of `chains` is live, observing every poll interval, up to
/// `CHAINS_LIVE_TIMEOUT`; logs what it waits for whenever that changes (not on the first
/// look, when no height can have risen yet). TIMEOUT names each chain and what it answered.
pub async fn wait(run: &Run, journal: &dyn Journal, chains: &[String]) -> Result<String, Failure> {
    let settings = run.settings();
    let deadline = tokio::time::Instant::now() + settings.chains_live_timeout;
    let mut live = Chains::new(chains);
    let mut said = String::new();
    let mut looks = 0u32;
    loop {
        live.observe(run).await;
        looks += 1;
        let not_live = live.not_live();
        if not_live.is_empty() {
            if looks > 2 {
                journal.info(&format!("chains serving: {}", live.heights()));
            }
            return Ok(live.heights());
        }
        // A healthy chain needs one more look to show a new block; say nothing until then.
        let waiting = describe(&not_live);
        if looks > 1 && waiting != said {
            journal.info(&format!("waiting for chains to serve: {waiting}"));
            said = waiting;
        }
        if tokio::time::Instant::now() >= deadline {
            let details: Vec<_> = not_live
                .iter()
                .map(|(c, why)| json!({"chainId": c, "reason": why, "height": live.0[c].height}))
                .collect();
            return Err(Failure::new(
                ErrorCode::Timeout,
                format!(
                    "chains not serving after {}: {}",
                    humantime::format_duration(settings.chains_live_timeout),
                    describe(&not_live)
                ),
            )
            .with_details(json!({
                "notLive": details,
                "hint": "a chain pod is Ready while its entrypoint still fetches genesis; check the chain pods' logs, or raise CHAINS_LIVE_TIMEOUT",
            })));
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
        l.observe(Err("connection refused".into()));
        assert_eq!(l.not_live().as_deref(), Some("RPC does not answer: connection refused"));
        l.observe(Ok((10, false)));
        assert_eq!(l.not_live().as_deref(), Some("height stays at 10"));
        l.observe(Ok((11, true)));
        assert_eq!(l.not_live().as_deref(), Some("catching up"));
        l.observe(Ok((12, false)));
        assert_eq!(l.not_live(), None);
    }
}
