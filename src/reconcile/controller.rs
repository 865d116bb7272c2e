//! Continuous reconcile (`RECONCILE_MODE=continuous`): the desired state is the started
//! system, and a loop keeps it so without anyone posting. A pass is triggered by the cache's
//! watch events (debounced: a burst of pod changes is one pass), by a `/system/ibc` read that
//! found drift no watch event announces (`rly start` gone, a client in the last third of its
//! trusting period), by the periodic resync
//! (`RECONCILE_RESYNC`) and, after a failure, by its backoff timer. A pass observes — pods,
//! and the IBC assessment of `system::ibc` (channels, relayer paths, clients, `rly`) — and
//! acts only on drift, as a visible `system.reconcile` job running the start pipeline (whose
//! steps themselves act only on the difference) under the system lock: a user's POST meanwhile
//! gets 409 naming the pass, and a pass waits for a user's job. A pass that finds the system in
//! sync leaves no job, only a metric and a debug line.
//!
//! Why not kube-runtime's `Controller`: it reconciles Kubernetes objects by key, and our desired
//! state is not an object but the whole release; its trigger, debounce and backoff ideas are
//! kept (watch-driven, a periodic requeue, exponential backoff with a cap).

use super::{Context, Params, Run, Step};
use crate::jobs::store::Refused;
use crate::jobs::{JobStore, Scope};
use crate::sync::Locked;
use crate::system::ibc::{self, Verdict};
use serde::Serialize;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use utoipa::ToSchema;

/// `on-demand` (jobs only when posted) or `continuous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    #[default]
    OnDemand,
    Continuous,
}

/// How the loop paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    pub resync: Duration,
    /// Quiet time after a watch event before the pass (a burst is one pass).
    pub debounce: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

impl Pacing {
    /// kube-runtime's default error policy shape: doubling from the base, capped.
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
        self.backoff_base.saturating_mul(factor).min(self.backoff_cap)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastPass {
    pub at: String,
    /// `startup`, `watch`, `observation` (a `/system/ibc` read found `rly start` not
    /// running or a client about to expire), `resync`, `backoff` or `restart-loop` (the
    /// recheck after a pass that waited on a restart loop).
    pub trigger: String,
    /// `in-sync` (nothing done), `stopped` (nothing done: `/system/stop` scaled the release
    /// down; `drift` says what a resume will bring back), `waiting` (nothing done: the relayer
    /// pod restarts in a loop; `drift` names it), `succeeded`, `failed`, `canceled`, or
    /// `skipped` (a refusal).
    pub outcome: String,
    /// The `system.reconcile` job, when the pass acted.
    pub job_id: Option<String>,
    /// What differed from the started system when the pass began.
    pub drift: Vec<String>,
}

/// `GET /system/reconciler`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconcilerStatus {
    pub mode: Mode,
    /// Whether the last observation matched the started system (`null`: not observed yet).
    pub in_sync: Option<bool>,
    /// What differs, when not in sync.
    pub drift: Vec<String>,
    /// The IBC verdict of the last observation (health, kept apart from sync as Argo CD does).
    pub health: Option<Verdict>,
    pub last_pass: Option<LastPass>,
    pub next_resync: Option<String>,
    pub consecutive_failures: u32,
    pub backoff_seconds: Option<f64>,
    pub passes: u64,
}

/// What the API reads of the loop.
#[derive(Clone)]
pub struct Reconciler(Arc<Mutex<ReconcilerStatus>>);

impl Reconciler {
    pub fn new(mode: Mode) -> Self {
        Self(Arc::new(Mutex::new(ReconcilerStatus {
            mode,
            in_sync: None,
            drift: Vec::new(),
            health: None,
            last_pass: None,
            next_resync: None,
            consecutive_failures: 0,
            backoff_seconds: None,
            passes: 0,
        })))
    }

    pub fn status(&self) -> ReconcilerStatus {
        self.0.locked().clone()
    }

    fn update(&self, change: impl FnOnce(&mut ReconcilerStatus)) {
        change(&mut self.0.locked());
    }
}

/// What one pass came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Passed {
    /// In sync (or stopped): no job.
    InSync,
    /// Drift, but the relayer pod is restarting in a loop: no job, no exec into it; the next
    /// pass comes after [`RESTART_LOOP_RECHECK`] (or a watch event) until it has settled.
    Waiting,
    /// A job ran; whether it succeeded.
    Acted(bool),
}

/// How soon a pass that waited on a restart loop looks again (the loop's end is a watch
/// event; its settle time is not).
const RESTART_LOOP_RECHECK: Duration = Duration::from_secs(1);

/// Everything one pass needs.
pub struct Loop {
    pub ctx: Arc<Context>,
    pub reads: std::sync::Arc<crate::system::Reads>,
    pub jobs: JobStore,
    pub pacing: Pacing,
    pub job_timeout: Duration,
    pub status: Reconciler,
}

/// The differences from the started system an observation shows (empty: in sync).
pub fn drift(health: &ibc::IbcHealth) -> Vec<String> {
    let mut out: Vec<String> = health
        .pairs
        .iter()
        .filter(|p| p.verdict == Verdict::Down)
        .flat_map(|p| p.reasons.iter().map(move |r| format!("{}: {r}", p.chain_id)))
        .collect();
    if health.pairs.is_empty() {
        out.push("no storage chain is linked".into());
    }
    if let Some(looping) = &health.relayer.restart_loop {
        out.push(format!("waiting: {looping}"));
    }
    if health.relayer.pod.is_some() && health.relayer.running == Some(false) {
        out.push("rly start is not running".into());
    }
    for (path, chain, client, left) in ibc::expiring_clients(health) {
        out.push(format!(
            "client {client} on {chain} expires in {left}s unless updated: rly transact update-clients {path}"
        ));
    }
    out.dedup();
    out
}

impl Loop {
    /// Runs until the process ends.
    pub async fn run(self) {
        let mut changed = self.ctx.cache.changed();
        let mut trigger = "startup";
        let mut failures = 0u32;
        loop {
            let passed = self.pass(trigger).await;
            failures = match passed {
                Passed::Acted(false) => failures + 1,
                _ => 0,
            };
            let backoff = (failures > 0).then(|| self.pacing.backoff(failures));
            let resync_at = Instant::now() + self.pacing.resync;
            self.status.update(|s| {
                s.consecutive_failures = failures;
                s.backoff_seconds = backoff.map(|b| b.as_secs_f64());
                s.next_resync = Some((jiff::Timestamp::now() + self.pacing.resync).to_string());
            });
            crate::metrics::Metrics::reconcile_pass(match passed {
                Passed::InSync => "in_sync",
                Passed::Waiting => "waiting",
                Passed::Acted(true) => "succeeded",
                Passed::Acted(false) => "failed",
            });
            // Waiting on a restart loop: look again soon, not only at the resync.
            let (wake_at, wake) = match passed {
                Passed::Waiting => (Instant::now() + RESTART_LOOP_RECHECK, "restart-loop"),
                _ => (resync_at, "resync"),
            };
            // The next trigger: the backoff after a failure, else a debounced watch event or
            // the resync, whichever comes first.
            trigger = match backoff {
                Some(wait) => {
                    tokio::time::sleep(wait).await;
                    "backoff"
                }
                None => tokio::select! {
                    r = changed.changed() => {
                        if r.is_err() {
                            return;
                        }
                        self.settle(&mut changed).await;
                        "watch"
                    }
                    // A read of `/system/ibc` found `rly start` not running or a client
                    // about to expire.
                    _ = self.reads.ibc_memo.drift_seen.notified() => "observation",
                    _ = tokio::time::sleep_until(wake_at) => wake,
                },
            };
        }
    }

    /// Waits until no watch event came for the debounce time.
    async fn settle(&self, changed: &mut tokio::sync::watch::Receiver<u64>) {
        while tokio::time::timeout(self.pacing.debounce, changed.changed()).await.is_ok_and(|r| r.is_ok()) {}
    }

    /// One pass: in sync or waiting (no job), or the job it ran and whether it succeeded.
    async fn pass(&self, trigger: &str) -> Passed {
        self.wait_for_system_jobs().await;
        let health = ibc::observe_now(&self.reads).await;
        let drift = drift(&health);
        let now = jiff::Timestamp::now().to_string();
        self.status.update(|s| {
            s.in_sync = Some(drift.is_empty());
            s.drift = drift.clone();
            s.health = Some(health.verdict);
            s.passes += 1;
        });
        if !drift.is_empty() && self.stopped().await {
            // The operator's stop is the desired state until a resume: no pass acts on it.
            tracing::debug!(trigger, "reconcile pass: the system is stopped");
            self.status.update(|s| {
                s.in_sync = Some(true);
                s.drift = Vec::new();
                s.last_pass = Some(LastPass {
                    at: now,
                    trigger: trigger.into(),
                    outcome: "stopped".into(),
                    job_id: None,
                    drift,
                })
            });
            return Passed::InSync;
        }
        if health.relayer.restart_loop.is_some() {
            // A container that keeps exiting would kill whatever a job started in it, and
            // execs into it fail: wait until it has run quietly (`system::restart_loop`).
            tracing::info!(trigger, drift = ?drift, "reconcile pass waits: the relayer pod restarts in a loop");
            self.status.update(|s| {
                s.last_pass = Some(LastPass {
                    at: now,
                    trigger: trigger.into(),
                    outcome: "waiting".into(),
                    job_id: None,
                    drift,
                })
            });
            return Passed::Waiting;
        }
        if drift.is_empty() {
            tracing::debug!(trigger, "reconcile pass: in sync");
            self.status.update(|s| {
                s.last_pass = Some(LastPass {
                    at: now,
                    trigger: trigger.into(),
                    outcome: "in-sync".into(),
                    job_id: None,
                    drift: Vec::new(),
                })
            });
            return Passed::InSync;
        }
        let request = json!({"trigger": trigger, "drift": drift});
        let run = Run::new(self.ctx.clone(), Params::plain());
        // The start pipeline, and a client in the last third of its trusting period updated.
        let steps = [&Step::START[..], &[Step::RefreshClients]].concat();
        let spec = super::job("system.reconcile", request, run, &steps, self.job_timeout);
        let (job_id, outcome) = match self.jobs.start(spec) {
            Ok(job) => {
                tracing::info!(trigger, job = %job.job_id, drift = ?drift, "reconcile pass acts");
                let outcome = match self.jobs.get(Scope::System, &job.job_id) {
                    Some(cell) => {
                        cell.finished().await;
                        cell.snapshot().status.as_str().to_string()
                    }
                    None => "failed".to_string(),
                };
                (Some(job.job_id), outcome)
            }
            // A user's job got in first: the next pass (after it) observes again.
            Err(Refused::Conflict { .. }) => (None, "skipped".to_string()),
            Err(e) => (None, format!("refused: {e}")),
        };
        let succeeded = outcome == "succeeded" || outcome == "skipped";
        self.status.update(|s| {
            s.last_pass = Some(LastPass { at: now, trigger: trigger.into(), outcome, job_id, drift });
        });
        Passed::Acted(succeeded)
    }

    /// Whether `POST /system/stop` scaled the release down (a workload at 0 replicas with its
    /// recorded count). Read from the API server only when a pass sees drift; without the
    /// right to list workloads the system counts as not stopped.
    async fn stopped(&self) -> bool {
        match super::scale::observe(&self.ctx.kube, &self.ctx.namespace).await {
            Ok(workloads) => super::stopped::is_stopped(&workloads),
            Err(e) => {
                tracing::debug!(error = %e.message, "reconcile pass: workloads not observed");
                false
            }
        }
    }

    /// A pass never races a user's system job: it waits for it to end.
    async fn wait_for_system_jobs(&self) {
        loop {
            let running = self.jobs.list(Scope::System).into_iter().find(|j| !j.status.is_finished());
            let Some(job) = running else { return };
            match self.jobs.get(Scope::System, &job.job_id) {
                Some(cell) => cell.finished().await,
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let p = Pacing {
            resync: Duration::from_secs(60),
            debounce: Duration::from_millis(500),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(300),
        };
        let secs: Vec<u64> = (1..=11).map(|f| p.backoff(f).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }
}
