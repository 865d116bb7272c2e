//! The reconcile jobs: `system.start` (discover → initRelayer → connectAll →
//! startRelayer → waitIbcReady), `system.connect` (discover → connect) and
//! `system.relayer.restart` (discover → restartRelayer). Every step is an observe → plan →
//! act pass: it observes real state (the cache, one batched exec in the relayer pod, gwc's
//! REST API), plans the difference as actions each with its reason, runs only those, and
//! verifies by observing again. A second run finds nothing to do and says why per check.
//!
//! What `force` re-does, per step:
//! - discover, waitIbcReady: nothing (they only observe).
//! - initRelayer: deletes and re-adds every chain entry and every relayer key (refreshing
//!   rpc-addr and the key from the mounted mnemonic); an existing config.yaml is kept.
//! - connectAll / connect: sets every path's ids again from chain state (`rly paths update`;
//!   `rly paths new` only for a missing path: rly refuses a name it has). OPEN channels and
//!   storage registrations are chain state and are never created twice.
//! - startRelayer: stops a running `rly start` (`pkill -x rly`, then `-KILL` after the stop
//!   wait) and starts it again — what `system.relayer.restart` always does. Without force it
//!   does so too when connect changed a path in this run: rly reads its config only at start.
//!
//! - stop / resume: scaleDown → waitPodsGone; scaleUp → waitPodsReady, then the start steps.
//!
//! Every step of every system job is one [`Step`]; a job is a list of them over one [`Run`]
//! (immutable [`Params`] plus the run log where a step leaves what the next one needs: the
//! topology, the relayer's state, what was scaled). The API reaches all of this through one
//! function, [`admission::admit`], with a typed request.

pub mod admission;
pub mod chain_ids;
pub mod chains_live;
pub mod connect;
mod context;
pub mod controller;
pub mod discover;
pub mod gateway;
pub mod init_relayer;
pub mod journal;
pub mod plan;
pub mod refresh_clients;
pub mod relayer_state;
pub mod run;
pub mod scale;
mod settings;
pub mod start_relayer;
pub mod stopped;
pub mod wait_ready;

pub use context::Context;
pub use run::{Params, Run, Target};
pub use settings::{LinkSigners, ReconcileSettings};

use crate::error_code::Failure;
use crate::jobs::{self, JobSpec, Scope, StepCtx, StepOutcome};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use journal::Journal;
use scale::{Direction, Scaled};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Every step of every system job, by the name the job reports. They sort in the order a job
/// runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    ScaleDown,
    WaitPodsGone,
    ScaleUp,
    WaitPodsReady,
    Discover,
    InitRelayer,
    ConnectAll,
    StartRelayer,
    RefreshClients,
    WaitIbcReady,
    Connect,
    RestartRelayer,
}

impl Step {
    /// The steps `system.start` may select, in the order they always run.
    pub const START: [Step; 4] =
        [Self::InitRelayer, Self::ConnectAll, Self::StartRelayer, Self::WaitIbcReady];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScaleDown => "scaleDown",
            Self::WaitPodsGone => "waitPodsGone",
            Self::ScaleUp => "scaleUp",
            Self::WaitPodsReady => "waitPodsReady",
            Self::Discover => "discover",
            Self::InitRelayer => "initRelayer",
            Self::ConnectAll => "connectAll",
            Self::StartRelayer => "startRelayer",
            Self::RefreshClients => "refreshClients",
            Self::WaitIbcReady => "waitIbcReady",
            Self::Connect => "connect",
            Self::RestartRelayer => "restartRelayer",
        }
    }

    /// A step `system.start` accepts in `steps` (discover is accepted and always runs).
    pub fn parse_start(name: &str) -> Option<Self> {
        std::iter::once(Self::Discover).chain(Self::START).find(|s| s.as_str() == name)
    }

    fn is_scale(self) -> bool {
        matches!(self, Self::ScaleDown | Self::WaitPodsGone | Self::ScaleUp | Self::WaitPodsReady)
    }

    async fn run(self, run: &Run, journal: &dyn Journal, scaled: &Scaled) -> Result<StepOutcome, Failure> {
        match self {
            Self::ScaleDown => scale::scale(run, journal, Direction::Stop, scaled).await,
            Self::WaitPodsGone => scale::wait(run, journal, Direction::Stop, scaled).await,
            Self::ScaleUp => scale::scale(run, journal, Direction::Resume, scaled).await,
            Self::WaitPodsReady => scale::wait(run, journal, Direction::Resume, scaled).await,
            Self::Discover => discover::run(run, journal).await,
            Self::InitRelayer => init_relayer::run(run, journal).await,
            Self::ConnectAll | Self::Connect => connect::run(run, journal).await,
            Self::StartRelayer => start_relayer::ensure_running(run, journal).await,
            Self::RefreshClients => refresh_clients::run(run, journal).await,
            Self::RestartRelayer => start_relayer::restart(run, journal).await,
            Self::WaitIbcReady => wait_ready::run(run, journal).await,
        }
    }
}

/// One step of a system job, over the job's run.
struct JobStep {
    step: Step,
    run: Arc<Run>,
    scaled: Arc<Scaled>,
}

impl jobs::Step for JobStep {
    fn name(&self) -> &str {
        self.step.as_str()
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        async move {
            let outcome = self.step.run(&self.run, ctx, &self.scaled).await;
            ctx.set_result(if self.step.is_scale() {
                json!({"workloads": self.run.workloads()})
            } else {
                summary(&self.run)
            });
            outcome
        }
        .boxed()
    }
}

/// The job's result: what the run covered and what it cost.
fn summary(run: &Run) -> Value {
    let topo = run.topology().ok();
    let params = run.params();
    json!({
        "relayerPod": topo.as_ref().map(|t| t.relayer_pod.clone()),
        "chains": topo.as_ref().map(|t| t.chains.clone()),
        "targets": topo.as_ref().map(|t| t.targets.clone()),
        "force": params.force,
        "execCalls": run.exec_count(),
        "dryRun": params.dry_run,
        "plan": params.dry_run.then(|| run.dry_plan()),
        "workloads": Some(run.workloads()).filter(|w| !w.is_empty()),
    })
}

/// A system job of `type_` running `steps` in their fixed order over one run; discover runs
/// before any reconcile step (it finds the topology they work on).
pub fn job(type_: &str, request: Value, run: Run, steps: &[Step], timeout: Duration) -> JobSpec {
    let mut steps = steps.to_vec();
    if steps.iter().any(|s| !s.is_scale()) {
        steps.push(Step::Discover);
    }
    steps.sort();
    steps.dedup();
    let (run, scaled) = (Arc::new(run), Arc::new(Scaled::default()));
    let steps = steps
        .into_iter()
        .map(|step| {
            Arc::new(JobStep { step, run: run.clone(), scaled: scaled.clone() }) as Arc<dyn jobs::Step>
        })
        .collect();
    JobSpec { scope: Scope::System, type_: type_.into(), request, steps, timeout }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_steps_parse_by_their_names_only() {
        assert_eq!(Step::parse_start("connectAll"), Some(Step::ConnectAll));
        assert_eq!(Step::parse_start("discover"), Some(Step::Discover));
        assert_eq!(Step::parse_start("connect"), None);
        assert_eq!(Step::parse_start("ConnectAll"), None);
        assert_eq!(Step::parse_start("scaleUp"), None);
    }

    #[test]
    fn a_resume_job_scales_and_waits_before_the_start_steps() {
        let mut steps = vec![Step::InitRelayer, Step::Discover, Step::WaitPodsReady, Step::ScaleUp];
        steps.sort();
        assert_eq!(steps, [Step::ScaleUp, Step::WaitPodsReady, Step::Discover, Step::InitRelayer]);
    }
}
