//! `utils.experiments.upload`: the upload experiment Cryptomeria exists for, run by the BFF.
//! Steps: `fund` (one owner per parallel slot, made and funded in memory), one `round-N` per
//! repetition (its sessions in parallel, with the chains' data directories measured before
//! and after), and `evidence` (what the figures were measured on). The result has every
//! session with its phases and commit-clock times, summaries per phase, and the evidence.

pub mod disk;
pub mod packets;
pub mod project;
pub mod report;
pub mod session;

use super::ChainTarget;
use super::funding::{Funder, Funding, FundingSource};
use super::signer::{Fee, Signer};
use crate::chain::ChainClient;
use crate::error_code::Failure;
use crate::jobs::{Step, StepCtx, StepOutcome};
use crate::k8s::PodExec;
use crate::sync::Locked;
use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use session::{Gwc, Outcome, Owner, Plan};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Gathers the run's context at its end (pods and images, chain versions, IBC paths, the
/// gateway's params): built by the API layer, which knows the cluster.
pub type Evidence = Arc<dyn Fn() -> BoxFuture<'static, Value> + Send + Sync>;

/// The experiment as requested and checked.
pub struct Spec {
    pub client: ChainClient,
    pub gwc: ChainTarget,
    /// Every other chain, where the sessions' packets are received, and the client that
    /// reads them all (measured per chain, unlike `client`, which is gwc's).
    pub targets: std::collections::BTreeMap<String, ChainTarget>,
    pub reads: ChainClient,
    pub files: Arc<Vec<project::File>>,
    pub fragment: usize,
    pub fdsc: u32,
    pub repetitions: usize,
    pub parallel: usize,
    pub project: String,
    pub version_prefix: String,
    pub fee: Fee,
    pub funding: Funding,
    pub source: FundingSource,
    pub timeout: Duration,
    pub poll: Duration,
    /// `(chain id, pod)` of every chain, whose data directory is measured.
    pub chain_pods: Vec<(String, String)>,
    pub exec: PodExec,
    pub request: Value,
    pub evidence: Evidence,
}

struct Shared {
    owners: Vec<Owner>,
    network: String,
    sessions: Vec<Value>,
    funding: Value,
    started_at: jiff::Timestamp,
    deadline: tokio::time::Instant,
}

struct Experiment {
    spec: Spec,
    shared: Mutex<Option<Shared>>,
}

pub fn steps(spec: Spec) -> Vec<Arc<dyn Step>> {
    let rounds = spec.repetitions;
    let e = Arc::new(Experiment { spec, shared: Mutex::new(None) });
    let mut steps: Vec<Arc<dyn Step>> = vec![Arc::new(Fund(e.clone()))];
    steps.extend((1..=rounds).map(|n| Arc::new(Round(e.clone(), n, format!("round-{n}"))) as Arc<dyn Step>));
    steps.push(Arc::new(Finish(e)));
    steps
}

struct Fund(Arc<Experiment>);
struct Round(Arc<Experiment>, usize, String);
struct Finish(Arc<Experiment>);

impl Step for Fund {
    fn name(&self) -> &str {
        "fund"
    }
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        fund(&self.0, ctx).boxed()
    }
}

impl Step for Round {
    fn name(&self) -> &str {
        &self.2
    }
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        round(&self.0, self.1, ctx).boxed()
    }
}

impl Step for Finish {
    fn name(&self) -> &str {
        "evidence"
    }
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        finish(&self.0, ctx).boxed()
    }
}

/// uatom an owner spends per session: its two txs, and the executor's distribution and
/// finalize, which the owner's fee allowance pays (their gas grows with the bytes carried).
fn per_session(fee: Fee, bytes: usize) -> u128 {
    let executor = fee.with_gas(2_000_000 + 30 * bytes as u64).amount() * 3 / 2;
    fee.with_gas(200_000).amount() + fee.with_gas(600_000).amount() + executor
}

/// What each owner is given: its sessions with a margin, and at least what the experiment
/// runner gives its `alice` (10 ATOM, also one faucet request).
const OWNER_FLOOR_UATOM: u128 = 10_000_000;

async fn fund(e: &Experiment, ctx: &StepCtx) -> Result<StepOutcome, Failure> {
    let spec = &e.spec;
    let started_at = jiff::Timestamp::now();
    let deadline = tokio::time::Instant::now() + spec.timeout;
    let funder = Funder {
        client: &spec.client,
        target: &spec.gwc,
        source: &spec.source,
        funding: spec.funding,
        gas_price: spec.fee.gas_price,
        timeout: spec.timeout.min(Duration::from_secs(120)),
        poll: spec.poll,
    };
    let network = funder.network(ctx).await?;
    let bytes: usize = spec.files.iter().map(|f| f.data.len()).sum();
    let need = (per_session(spec.fee, bytes) * (spec.repetitions as u128 + 2)).max(OWNER_FLOOR_UATOM);
    let mut owners = Vec::new();
    let mut sources = Vec::new();
    for _ in 0..spec.parallel {
        let mut signer = Signer::random()?;
        let (how, (number, sequence)) = funder.fund(ctx, &signer.address, need).await?;
        signer.number = number;
        ctx.info(&format!("owner {} funded through {how}", signer.address));
        sources.push(json!({"owner": signer.address, "source": how, "uatom": need.to_string()}));
        owners.push(Owner { signer, sequence });
    }
    *e.shared.locked() = Some(Shared {
        owners,
        network,
        sessions: Vec::new(),
        funding: Value::Array(sources),
        started_at,
        deadline,
    });
    Ok(StepOutcome::Done(format!("{} owner(s) funded", spec.parallel)))
}

async fn round(e: &Experiment, n: usize, ctx: &StepCtx) -> Result<StepOutcome, Failure> {
    let spec = &e.spec;
    let (mut owners, network, deadline) = {
        let mut guard = e.shared.locked();
        let shared = guard.as_mut().ok_or_else(|| super::signer::internal("round before fund"))?;
        (std::mem::take(&mut shared.owners), shared.network.clone(), shared.deadline)
    };
    let gwc = Gwc {
        client: spec.client.clone(),
        rpc: spec.gwc.rpc.clone(),
        api: spec.gwc.api.clone(),
        network,
        fee: spec.fee,
        poll: spec.poll,
        deadline,
    };
    let before = disk::measure(&spec.exec, &spec.chain_pods).await;
    let plans: Vec<Plan> = (0..owners.len())
        .map(|slot| Plan {
            files: spec.files.clone(),
            fragment: spec.fragment,
            fdsc: spec.fdsc,
            project: spec.project.clone(),
            version: format!("{}{n}-{slot}", spec.version_prefix),
        })
        .collect();
    ctx.info(&format!("round {n}: {} session(s) of {} file(s)", plans.len(), spec.files.len()));
    let mut outcomes: Vec<Outcome> = futures::future::join_all(
        owners.iter_mut().zip(&plans).map(|(owner, plan)| session::run(&gwc, owner, plan)),
    )
    .await;
    let after = disk::measure(&spec.exec, &spec.chain_pods).await;
    let chains =
        packets::Chains { client: &spec.reads, gwc: &spec.gwc, targets: &spec.targets, poll: spec.poll };
    for o in &mut outcomes {
        packets::account(&chains, o, ctx).await;
    }
    let growth = disk::growth(&before, &after);
    let input: usize = spec.files.iter().map(|f| f.data.len()).sum();
    let mut failed = 0;
    let mut rows = Vec::new();
    for (slot, (o, plan)) in outcomes.iter().zip(&plans).enumerate() {
        let times = report::commit_times(&gwc, o).await;
        let row = report::session_json(n, slot, plan, o, input, &growth, outcomes.len(), times);
        ctx.command(
            &format!("session {} ({})", o.session_id.as_deref().unwrap_or("-"), plan.version),
            &o.state,
        );
        if o.error.is_some() || o.render_equal != Some(true) {
            failed += 1;
        }
        rows.push(row);
    }
    let mut guard = e.shared.locked();
    let shared = guard.as_mut().ok_or_else(|| super::signer::internal("round before fund"))?;
    shared.owners = owners;
    shared.sessions.extend(rows);
    Ok(StepOutcome::Done(format!("{} session(s), {failed} failed", outcomes.len())))
}

async fn finish(e: &Experiment, ctx: &StepCtx) -> Result<StepOutcome, Failure> {
    let spec = &e.spec;
    let (sessions, funding, started_at) = {
        let guard = e.shared.locked();
        let shared = guard.as_ref().ok_or_else(|| super::signer::internal("evidence before fund"))?;
        (shared.sessions.clone(), shared.funding.clone(), shared.started_at)
    };
    let mut evidence = (spec.evidence)().await;
    evidence["request"] = spec.request.clone();
    evidence["bffVersion"] = env!("CARGO_PKG_VERSION").into();
    evidence["startedAt"] = started_at.to_string().into();
    evidence["endedAt"] = jiff::Timestamp::now().to_string().into();
    evidence["blockTime"] = report::block_time(&spec.client, &spec.gwc.rpc, &sessions).await;
    let failed = sessions
        .iter()
        .filter(|s| s["state"] != "SESSION_STATE_CLOSED_SUCCESS" || s["renderEqual"] != true)
        .count();
    let result = json!({
        "sessions": sessions,
        "summary": report::summary(&sessions),
        "funding": funding,
        "evidence": evidence,
    });
    ctx.set_result(result);
    if failed > 0 {
        return Err(Failure::new(
            crate::error_code::ErrorCode::UpstreamError,
            format!(
                "{failed} of {} session(s) did not close successfully with equal renders",
                sessions.len()
            ),
        )
        .with_details(json!({"hint": "each session's error is in the job's result"})));
    }
    Ok(StepOutcome::Done(format!("{} session(s) closed; evidence attached", sessions.len())))
}
