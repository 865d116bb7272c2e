//! waitIbcReady proves what it can: every target has an OPEN gateway channel on gwc; gwc and
//! every target are live — answering RPC with `catching_up=false` and a height above the one
//! first seen (a stalled node can report catching_up=false forever); and every pair can be
//! relayed — the relayer's path names the channel ends' clients and connections, both clients
//! are Active, `rly start` runs, and no packet or ack has waited longer than
//! `IBC_STALL_BLOCKS` (the assessment of `system::ibc`). Observes only, until the ready timeout.
use super::chains_live::{self, Chains};
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

/// How long a chain may show no new block before the wait logs it (several block times).
const QUIET_BEFORE_NEWS: std::time::Duration = std::time::Duration::from_secs(10);

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
    let mut live = Chains::new(&chains);
    let started = tokio::time::Instant::now();
    // Packets pending during this wait, aged from when this job first saw them.
    let pending = ibc::PendingSince::default();
    loop {
        let channels =
            if topo.targets.is_empty() { Vec::new() } else { gateway::channels(run, journal).await? };
        let not_open: Vec<&String> =
            topo.targets.iter().filter(|id| open_channel(&channels, id, dst_port(id)).is_none()).collect();
        live.observe(run).await;
        let not_live = live.not_live();
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
            return Ok(StepOutcome::Done(format!(
                "{} gateway channel(s) OPEN, relayer paths match the chains, clients Active, rly running; live: {}",
                topo.targets.len(),
                live.heights()
            )));
        }
        let expired = tokio::time::Instant::now() >= deadline;
        let mut waiting = Vec::new();
        if !not_open.is_empty() {
            waiting.push(format!("no OPEN channel to {}", join(not_open.iter().map(|c| c.as_str()))));
        }
        // A healthy chain needs a block time to show a height rise: only one that stays silent
        // past `QUIET_BEFORE_NEWS` (or to the end) is worth a line in the log.
        let news: Vec<_> =
            not_live.iter().filter(|_| expired || started.elapsed() >= QUIET_BEFORE_NEWS).cloned().collect();
        if !news.is_empty() {
            waiting.push(format!("not live: {}", chains_live::describe(&news)));
        }
        if !not_relaying.is_empty() {
            waiting.push(format!(
                "not relaying: {}",
                join(not_relaying.iter().map(|(c, why)| format!("{c} ({})", why.join("; "))))
            ));
        }
        if !waiting.is_empty() {
            journal.progress(&format!("waiting: {}", waiting.join("; ")));
        }
        if expired {
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
