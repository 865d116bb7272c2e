//! What the steps of one reconcile run share: the reconcile context, the request's
//! target and force flag, the topology discover found, and the relayer's last observed
//! state (reused by later steps until an action changes it, so a warm run execs once).

use super::journal::Journal;
use super::{Context, ReconcileSettings};
use crate::chart::GWC;
use crate::error_code::{ErrorCode, Failure};
use crate::k8s::{ExecError, ExecOutput};
use crate::sync::Locked;
use crate::system::relayer::RelayerState;
use serde_json::json;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Which storage chains a run links to gwc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Chain(String),
}

impl Target {
    /// `all` or `chain:<chainId>`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "all" => Some(Self::All),
            _ => text.strip_prefix("chain:").filter(|id| !id.is_empty()).map(|id| Self::Chain(id.into())),
        }
    }
}

/// The system as discover saw it in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub relayer_pod: String,
    pub gwc_pod: String,
    /// Every Running chain, gwc first.
    pub chains: Vec<String>,
    /// The storage chains this run links (all non-gwc chains, or the one asked for).
    pub targets: Vec<String>,
}

impl Topology {
    /// The chains the relayer must know for this run: gwc and the targets.
    pub fn relayer_chains(&self) -> Vec<String> {
        std::iter::once(GWC.to_string()).chain(self.targets.iter().cloned()).collect()
    }
}

/// The most script one batched exec carries: the command travels in the exec request's URL
/// (each byte of it percent-encoded up to three times), which clients cap at 64 KiB.
pub const BATCH_SCRIPT_BYTES: usize = 16 * 1024;

/// Consecutive ranges of `lines` whose lengths add up to at most `budget` each (a longer line
/// alone in its range).
fn chunk_lines(lines: &[String], budget: usize) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, l) in lines.iter().enumerate() {
        if i > start && size + l.len() > budget {
            chunks.push(start..i);
            (start, size) = (i, 0);
        }
        size += l.len() + BATCH_LINE_OVERHEAD;
    }
    if start < lines.len() {
        chunks.push(start..lines.len());
    }
    chunks
}

/// What `Batch` wraps around each line (markers and the exit-code check).
const BATCH_LINE_OVERHEAD: usize = 80;

/// An observing command (`rly q channels`, the relayer probe, `gwcd q gateway endpoints`)
/// ran and exited non-zero: EXEC_FAILED.
#[derive(Debug, thiserror::Error)]
#[error("{command} exited {code}: {stderr}")]
pub struct CommandExited {
    pub command: String,
    pub code: i32,
    pub stderr: String,
}

impl From<CommandExited> for Failure {
    fn from(e: CommandExited) -> Self {
        Failure::new(ErrorCode::ExecFailed, e.to_string())
    }
}

/// What a run was asked to do, fixed when it is admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub target: Target,
    pub force: bool,
    /// Whether initRelayer honours `force` (a connect job only adds what is missing).
    pub force_init: bool,
    /// Observe and plan only: no step acts (`"dryRun": true`).
    pub dry_run: bool,
}

impl Params {
    /// Every chain, without force or dry run (stop, resume, the continuous reconciler).
    pub fn plain() -> Self {
        Self { target: Target::All, force: false, force_init: false, dry_run: false }
    }
}

/// One reconcile run: the context it acts through, its parameters, and its run log.
pub struct Run {
    pub ctx: std::sync::Arc<Context>,
    params: Params,
    /// What a dry run would have done, step after step.
    dry_plan: Mutex<Vec<serde_json::Value>>,
    topology: Mutex<Option<Topology>>,
    relayer: Mutex<Option<RelayerState>>,
    /// Counterparty chain of each gateway channel seen (a channel's client never changes).
    channel_chains: Mutex<std::collections::BTreeMap<String, String>>,
    execs: AtomicU64,
    /// connect created or changed a path: a running `rly start` (which reads config.yaml only
    /// when it starts) must be restarted to relay it.
    paths_changed: AtomicBool,
    /// The workloads a stop or resume observed (listed in the job's result).
    workloads: Mutex<Vec<serde_json::Value>>,
}

impl Run {
    pub fn new(ctx: std::sync::Arc<Context>, params: Params) -> Self {
        Self {
            ctx,
            params,
            dry_plan: Mutex::default(),
            topology: Mutex::new(None),
            relayer: Mutex::new(None),
            channel_chains: Mutex::default(),
            execs: AtomicU64::new(0),
            paths_changed: AtomicBool::new(false),
            workloads: Mutex::default(),
        }
    }

    /// After a step planned: records the plan, and says how the step ends without acting —
    /// skipped when there is nothing to do, done (having acted on nothing) in a dry run.
    /// `None`: the step acts.
    pub fn decide<A: super::plan::Act>(
        &self,
        plan: &super::plan::Plan<A>,
        journal: &dyn Journal,
    ) -> Option<crate::jobs::StepOutcome> {
        plan.record(journal);
        if plan.is_empty() {
            return Some(crate::jobs::StepOutcome::Skipped(plan.summary()));
        }
        if !self.params.dry_run {
            return None;
        }
        self.dry_plan.locked().extend(plan.listing());
        let n = plan.actions.len();
        Some(crate::jobs::StepOutcome::Done(format!("dry run: would run {n} action(s); nothing was changed")))
    }

    pub fn set_workloads(&self, w: Vec<serde_json::Value>) {
        *self.workloads.locked() = w;
    }

    /// The workloads a stop or resume observed (empty for other jobs).
    pub fn workloads(&self) -> Vec<serde_json::Value> {
        self.workloads.locked().clone()
    }

    /// The actions a dry run planned so far.
    pub fn dry_plan(&self) -> Vec<serde_json::Value> {
        self.dry_plan.locked().clone()
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn settings(&self) -> &ReconcileSettings {
        &self.ctx.settings
    }

    pub fn release(&self) -> &str {
        &self.ctx.release
    }

    /// Execs this run made so far.
    pub fn exec_count(&self) -> u64 {
        self.execs.load(Ordering::Relaxed)
    }

    pub fn set_topology(&self, t: Topology) {
        *self.topology.locked() = Some(t);
    }

    /// The topology discover found (discover always runs first).
    pub fn topology(&self) -> Result<Topology, Failure> {
        self.topology
            .locked()
            .clone()
            .ok_or_else(|| Failure::new(ErrorCode::InternalError, "discover did not run before this step"))
    }

    pub fn cached_relayer(&self) -> Option<RelayerState> {
        self.relayer.locked().clone()
    }

    pub fn remember_relayer(&self, s: Option<RelayerState>) {
        *self.relayer.locked() = s;
    }

    pub fn channel_chain(&self, channel: &str) -> Option<String> {
        self.channel_chains.locked().get(channel).cloned()
    }

    pub fn remember_channel_chain(&self, channel: &str, chain: &str) {
        self.channel_chains.locked().insert(channel.into(), chain.into());
    }

    pub fn mark_paths_changed(&self) {
        self.paths_changed.store(true, Ordering::Relaxed);
    }

    /// Whether a step of this run created or changed a relayer path.
    pub fn paths_changed(&self) -> bool {
        self.paths_changed.load(Ordering::Relaxed)
    }

    /// Forgets the relayer's observed state: an action may have changed it.
    pub fn invalidate(&self) {
        self.remember_relayer(None);
    }

    /// Runs `argv` in `pod` and logs `display` (never a secret) with its outcome.
    pub async fn exec(
        &self,
        journal: &dyn Journal,
        pod: &str,
        argv: &[&str],
        display: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, ExecError> {
        self.execs.fetch_add(1, Ordering::Relaxed);
        let result = self.ctx.exec.run(pod, argv, stdin).await;
        Self::logged(journal, display, result)
    }

    /// As `exec` (no stdin), timed out after `timeout` instead of `EXEC_TIMEOUT`.
    pub async fn exec_for(
        &self,
        journal: &dyn Journal,
        pod: &str,
        argv: &[&str],
        display: &str,
        timeout: std::time::Duration,
    ) -> Result<ExecOutput, ExecError> {
        self.execs.fetch_add(1, Ordering::Relaxed);
        let result = self.ctx.exec.run_for(pod, argv, timeout).await;
        Self::logged(journal, display, result)
    }

    fn logged(
        journal: &dyn Journal,
        display: &str,
        result: Result<ExecOutput, ExecError>,
    ) -> Result<ExecOutput, ExecError> {
        match &result {
            Ok(out) => {
                let outcome = if out.code == 0 { "ok".to_string() } else { format!("exit {}", out.code) };
                journal.command(display, &outcome, "");
            }
            Err(e) => journal.command(display, "error", &e.to_string()),
        }
        result
    }

    /// A chain's `/status` as the BFF reaches it; `None` when no RPC endpoint is resolved.
    pub async fn node_status(&self, chain: &str) -> Option<Result<crate::chain::rpc::NodeStatus, String>> {
        let rpc = self.ctx.directory.snapshot().upstream_endpoints(chain).rpc?;
        Some(crate::chain::rpc::status(&self.ctx.status_client, &rpc).await.map_err(|e| e.to_string()))
    }

    /// Runs a shell script in `pod` (`sh -c`).
    pub async fn script(
        &self,
        journal: &dyn Journal,
        pod: &str,
        script: &str,
        display: &str,
    ) -> Result<ExecOutput, ExecError> {
        self.exec(journal, pod, &["sh", "-c", script], display, None).await
    }

    /// Runs a plan's actions as batched scripts in `pod` (`prelude`, then each action's shell
    /// line; as many execs as keep each script under [`BATCH_SCRIPT_BYTES`]), journaling each
    /// action with its outcome and reason; the first that failed as (its command, exit code,
    /// last line said). Later actions depend on earlier ones: a failure ends the run.
    pub async fn run_batched<A: super::plan::Act>(
        &self,
        journal: &dyn Journal,
        pod: &str,
        prelude: &str,
        plan: &super::plan::Plan<A>,
        line: impl Fn(&A) -> String,
        display: &str,
    ) -> Result<Option<(String, i32, String)>, Failure> {
        use crate::k8s::script::{Batch, last_line};
        let lines: Vec<String> = plan.actions.iter().map(|p| line(&p.action)).collect();
        let chunks = chunk_lines(&lines, BATCH_SCRIPT_BYTES.saturating_sub(prelude.len()));
        let mut first = 0;
        for (i, chunk) in chunks.iter().enumerate() {
            let mut batch = Batch::new(prelude);
            for l in &lines[chunk.clone()] {
                batch.push(l);
            }
            let display = if chunks.len() > 1 {
                format!("{display} ({}/{})", i + 1, chunks.len())
            } else {
                display.to_string()
            };
            self.invalidate();
            let out = self
                .script(journal, pod, batch.script(), &display)
                .await
                .map_err(|e| self.exec_failure(e))?;
            for ran in Batch::results(&out.stdout) {
                let Some(p) = plan.actions.get(first + ran.index) else { continue };
                let outcome = if ran.code == 0 { "ok".to_string() } else { format!("exit {}", ran.code) };
                journal.command(&p.action.command(), &outcome, &p.reason);
                if ran.code != 0 {
                    return Ok(Some((p.action.command(), ran.code, last_line(&ran.output).to_string())));
                }
            }
            first = chunk.end;
        }
        Ok(None)
    }

    /// What an exec that produced no exit code means to a step: a vanished relayer pod is
    /// RELAYER_NOT_FOUND (run the job again), a refused exec K8S_FORBIDDEN, anything else
    /// EXEC_FAILED; the details name the pod.
    pub fn exec_failure(&self, e: ExecError) -> Failure {
        let pod = e.pod().to_string();
        let relayer = self.topology.locked().as_ref().map(|t| t.relayer_pod.clone());
        let (code, message) = match &e {
            ExecError::PodGone { .. } if relayer.as_deref() == Some(pod.as_str()) => (
                ErrorCode::RelayerNotFound,
                format!(
                    "{e}; the relayer pod was deleted or recreated mid-job: run the job again, it resumes from what it observes"
                ),
            ),
            ExecError::Forbidden { .. } => (ErrorCode::K8sForbidden, e.to_string()),
            _ => (ErrorCode::ExecFailed, e.to_string()),
        };
        Failure::new(code, message).with_details(json!({"pod": pod}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_all_or_one_chain() {
        assert_eq!(Target::parse("all"), Some(Target::All));
        assert_eq!(Target::parse("chain:fdsc-1"), Some(Target::Chain("fdsc-1".into())));
        assert_eq!(Target::parse("chain:"), None);
        assert_eq!(Target::parse("fdsc-1"), None);
    }

    #[test]
    fn batches_split_where_the_script_would_outgrow_one_exec() {
        let lines: Vec<String> = ["a".repeat(30), "b".repeat(30), "c".repeat(100), "d".repeat(10)].into();
        // 30+80 fits 120, the next does not: one range each, the long line alone.
        assert_eq!(chunk_lines(&lines, 120), vec![0..1, 1..2, 2..3, 3..4]);
        assert_eq!(chunk_lines(&lines, 10_000), vec![0..4]);
        assert_eq!(chunk_lines(&[], 100), Vec::<std::ops::Range<usize>>::new());
        // Every line is in exactly one range, in order.
        let many: Vec<String> = (0..100).map(|i| "x".repeat(i * 7 % 300)).collect();
        let ranges = chunk_lines(&many, BATCH_SCRIPT_BYTES / 8);
        assert_eq!(ranges.first().map(|r| r.start), Some(0));
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(ranges.last().map(|r| r.end), Some(100));
    }
}
