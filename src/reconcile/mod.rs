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
//! Steps take a [`Session`] and a [`Journal`] (the job's log), not the HTTP job.

pub mod chain_ids;
pub mod connect;
mod context;
pub mod controller;
pub mod discover;
pub mod gateway;
pub mod init_relayer;
pub mod journal;
pub mod plan;
pub mod relayer_state;
pub mod scale;
pub mod session;
mod settings;
pub mod start_relayer;
pub mod wait_ready;

pub use context::Context;
pub use session::{Session, Target};
pub use settings::ReconcileSettings;

use crate::jobs::{JobSpec, Scope, Step, StepCtx, StepFailure, StepOutcome};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use journal::Journal;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A reconcile step by its SPEC name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepName {
    Discover,
    InitRelayer,
    ConnectAll,
    StartRelayer,
    WaitIbcReady,
    Connect,
    RestartRelayer,
}

impl StepName {
    /// The steps `system.start` may select, in the order they always run.
    pub const START: [StepName; 4] =
        [Self::InitRelayer, Self::ConnectAll, Self::StartRelayer, Self::WaitIbcReady];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discover => "discover",
            Self::InitRelayer => "initRelayer",
            Self::ConnectAll => "connectAll",
            Self::StartRelayer => "startRelayer",
            Self::WaitIbcReady => "waitIbcReady",
            Self::Connect => "connect",
            Self::RestartRelayer => "restartRelayer",
        }
    }

    /// A step `system.start` accepts in `steps` (discover is accepted and always runs).
    pub fn parse_start(name: &str) -> Option<Self> {
        std::iter::once(Self::Discover).chain(Self::START).find(|s| s.as_str() == name)
    }

    async fn run(self, session: &Session, journal: &dyn Journal) -> Result<StepOutcome, StepFailure> {
        match self {
            Self::Discover => discover::run(session, journal).await,
            Self::InitRelayer => init_relayer::run(session, journal).await,
            Self::ConnectAll | Self::Connect => connect::run(session, journal).await,
            Self::StartRelayer => start_relayer::run(session, journal, session.force).await,
            Self::RestartRelayer => start_relayer::run(session, journal, true).await,
            Self::WaitIbcReady => wait_ready::run(session, journal).await,
        }
    }
}

struct JobStep {
    name: StepName,
    session: Arc<Session>,
}

impl Step for JobStep {
    fn name(&self) -> &str {
        self.name.as_str()
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, StepFailure>> {
        async move {
            let outcome = self.name.run(&self.session, ctx).await;
            ctx.set_result(summary(&self.session));
            outcome
        }
        .boxed()
    }
}

/// The job's result: what the run covered and what it cost.
fn summary(session: &Session) -> Value {
    let topo = session.topology().ok();
    json!({
        "relayerPod": topo.as_ref().map(|t| t.relayer_pod.clone()),
        "chains": topo.as_ref().map(|t| t.chains.clone()),
        "targets": topo.as_ref().map(|t| t.targets.clone()),
        "force": session.force,
        "execCalls": session.exec_count(),
        "dryRun": session.dry_run,
        "plan": session.dry_run.then(|| session.dry_plan()),
        "workloads": Some(session.workloads()).filter(|w| !w.is_empty()),
    })
}

/// A job of `type_` running `steps` (discover first) over one session.
pub fn job(type_: &str, request: Value, session: Session, steps: &[StepName], timeout: Duration) -> JobSpec {
    let session = Arc::new(session);
    JobSpec { scope: Scope::System, type_: type_.into(), request, steps: job_steps(&session, steps), timeout }
}

/// `steps` in their fixed order, discover first.
fn job_steps(session: &Arc<Session>, steps: &[StepName]) -> Vec<Arc<dyn Step>> {
    let mut names = vec![StepName::Discover];
    names.extend(steps.iter().copied().filter(|s| *s != StepName::Discover));
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| Arc::new(JobStep { name, session: session.clone() }) as Arc<dyn Step>)
        .collect()
}

/// `system.stop`: scaleDown → waitPodsGone.
pub fn stop_job(request: Value, session: Session, timeout: Duration) -> JobSpec {
    let steps = scale::steps(scale::Direction::Stop, Arc::new(session)).to_vec();
    JobSpec { scope: Scope::System, type_: "system.stop".into(), request, steps, timeout }
}

/// `system.resume`: scaleUp → waitPodsReady, then the start pipeline in the same job.
pub fn resume_job(request: Value, session: Session, timeout: Duration) -> JobSpec {
    let session = Arc::new(session);
    let mut steps = scale::steps(scale::Direction::Resume, session.clone()).to_vec();
    steps.extend(job_steps(&session, &StepName::START));
    JobSpec { scope: Scope::System, type_: "system.resume".into(), request, steps, timeout }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_steps_parse_by_spec_name_only() {
        assert_eq!(StepName::parse_start("connectAll"), Some(StepName::ConnectAll));
        assert_eq!(StepName::parse_start("discover"), Some(StepName::Discover));
        assert_eq!(StepName::parse_start("connect"), None);
        assert_eq!(StepName::parse_start("ConnectAll"), None);
    }
}
