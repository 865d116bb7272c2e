//! The one way into the system jobs. A handler turns its HTTP body into a [`SystemRequest`]
//! and calls [`admit`]: admission validates it against the settings and the cache, fixes the
//! run's parameters, builds the job from the [`Step`]s it runs and submits it (one system job
//! at a time). The API sees only this module: the request, the answer, and the failures.

use super::{Context, Params, Run, Step, Target};
use crate::cache::views;
use crate::chart::{GWC, INSTANCE_LABEL};
use crate::error_code::{ErrorCode, Failure};
use crate::jobs::{Job, JobStore};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub use super::controller::{Reconciler, ReconcilerStatus};

/// Longest accepted `timeoutSeconds` (one day).
pub const MAX_TIMEOUT_SECONDS: u64 = 86_400;

/// A system job as a client asks for it (already parsed from JSON, not yet validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemRequest {
    /// `system.start`: `steps` picks a subset of the start steps (default: all).
    Start {
        namespace: Option<String>,
        steps: Option<Vec<String>>,
        force: bool,
        dry_run: bool,
        timeout_seconds: Option<u64>,
    },
    /// `system.connect`: `target` is `all` or `chain:<chainId>`.
    Connect { target: String, force: bool, dry_run: bool, timeout_seconds: Option<u64> },
    /// `system.relayer.restart`.
    RestartRelayer { dry_run: bool, timeout_seconds: Option<u64> },
    /// `system.stop`.
    Stop { timeout_seconds: Option<u64> },
    /// `system.resume`.
    Resume { timeout_seconds: Option<u64> },
}

/// Validates `request`, then submits its job; the answer is the queued job. A job that needs
/// running pods is refused at once (SYSTEM_STOPPED) while the release is stopped.
pub async fn admit(ctx: Arc<Context>, jobs: &JobStore, request: SystemRequest) -> Result<Job, Failure> {
    // First: a stopped release has no chain pods, so a `chain:<id>` target would read as unknown.
    if !matches!(request, SystemRequest::Stop { .. } | SystemRequest::Resume { .. }) {
        super::stopped::refuse_if_stopped(&ctx.kube, &ctx.namespace).await?;
    }
    let (type_, request, params, steps, timeout) = match request {
        SystemRequest::Start { namespace, steps, force, dry_run, timeout_seconds } => {
            if namespace.as_deref().is_some_and(|ns| ns != ctx.namespace) {
                return Err(validation(
                    "namespace",
                    format!(
                        "this BFF reconciles namespace {}; run one with K8S_NAMESPACE set for another",
                        ctx.namespace
                    ),
                ));
            }
            let steps = match steps {
                None => Step::START.to_vec(),
                Some(names) => start_steps(&names)?,
            };
            let timeout = timeout(&ctx, timeout_seconds)?;
            let request = json!({"namespace": ctx.namespace, "steps": steps.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "force": force, "timeoutSeconds": timeout.as_secs(), "dryRun": dry_run});
            let params = Params { target: Target::All, force, force_init: force, dry_run };
            ("system.start", request, params, steps, timeout)
        }
        SystemRequest::Connect { target: text, force, dry_run, timeout_seconds } => {
            let target = connect_target(&ctx, &text)?;
            let timeout = timeout(&ctx, timeout_seconds)?;
            let request = json!({"target": text, "force": force, "timeoutSeconds": timeout.as_secs(), "dryRun": dry_run});
            // A connect job only adds what the relayer lacks: force re-does the paths, not the keys.
            let params = Params { target, force, force_init: false, dry_run };
            // The relayer must know a chain before linking it: a new chain gets its entry and key first.
            ("system.connect", request, params, vec![Step::InitRelayer, Step::Connect], timeout)
        }
        SystemRequest::RestartRelayer { dry_run, timeout_seconds } => {
            let timeout = timeout(&ctx, timeout_seconds)?;
            let request = json!({"timeoutSeconds": timeout.as_secs(), "dryRun": dry_run});
            let params = Params { target: Target::All, force: true, force_init: true, dry_run };
            ("system.relayer.restart", request, params, vec![Step::RestartRelayer], timeout)
        }
        SystemRequest::Stop { timeout_seconds } => {
            let timeout = timeout(&ctx, timeout_seconds)?;
            let request = json!({"timeoutSeconds": timeout.as_secs()});
            ("system.stop", request, Params::plain(), vec![Step::ScaleDown, Step::WaitPodsGone], timeout)
        }
        SystemRequest::Resume { timeout_seconds } => {
            let timeout = timeout(&ctx, timeout_seconds)?;
            let request = json!({"timeoutSeconds": timeout.as_secs()});
            // The new relayer pod has lost its config: the start steps follow in the same job.
            let mut steps = vec![Step::ScaleUp, Step::WaitPodsReady];
            steps.extend(Step::START);
            ("system.resume", request, Params::plain(), steps, timeout)
        }
    };
    let spec = super::job(type_, request, Run::new(ctx, params), &steps, timeout);
    Ok(jobs.start(spec)?)
}

fn validation(field: &str, message: impl Into<String>) -> Failure {
    Failure::new(ErrorCode::ValidationError, message).with_details(json!({"field": field}))
}

/// How many steps `steps` may name: each start step once.
pub const START_STEP_COUNT: usize = Step::START.len();

/// The start steps `names` picks: each a known step, none twice (the stored request then
/// holds at most the four names, whatever the client sent).
fn start_steps(names: &[String]) -> Result<Vec<Step>, Failure> {
    let mut steps: Vec<Step> = Vec::with_capacity(START_STEP_COUNT);
    for name in names {
        let step = Step::parse_start(name).ok_or_else(|| {
            validation("steps", "unknown step; steps are initRelayer, connectAll, startRelayer, waitIbcReady")
        })?;
        if steps.contains(&step) {
            return Err(validation("steps", "each step may be named once"));
        }
        steps.push(step);
    }
    // Stored and reported in the order they run.
    steps.sort();
    Ok(steps)
}

/// `timeoutSeconds`: 1..=one day, the `RECONCILE_JOB_TIMEOUT` setting when not given. Beyond
/// the limit is LIMIT_EXCEEDED, as for the utilities' `maxTimeoutSeconds`.
fn timeout(ctx: &Context, seconds: Option<u64>) -> Result<Duration, Failure> {
    match seconds {
        None => Ok(ctx.settings.job_timeout),
        Some(0) => {
            Err(validation("timeoutSeconds", format!("timeoutSeconds must be 1..={MAX_TIMEOUT_SECONDS}")))
        }
        Some(s) if s > MAX_TIMEOUT_SECONDS => {
            Err(Failure::limit_exceeded("maxTimeoutSeconds", MAX_TIMEOUT_SECONDS, s))
        }
        Some(s) => Ok(Duration::from_secs(s)),
    }
}

/// `all`, or `chain:<id>` naming a storage chain some pod runs.
fn connect_target(ctx: &Context, text: &str) -> Result<Target, Failure> {
    let target = Target::parse(text)
        .ok_or_else(|| validation("target", "target must be \"all\" or \"chain:<chainId>\""))?;
    if let Target::Chain(id) = &target {
        if id == GWC {
            return Err(validation(
                "target",
                "gwc is the gateway every link starts at; name a storage chain",
            ));
        }
        let pods = ctx.cache.objects().pods.state();
        let known = views::chain_pods(&pods)
            .iter()
            .any(|p| p.metadata.labels.as_ref().and_then(|l| l.get(INSTANCE_LABEL)) == Some(id));
        if !known {
            return Err(Failure::new(
                ErrorCode::ChainNotFound,
                "no chain pod has that instance; GET /api/v1/chains lists the chains",
            ));
        }
    }
    Ok(target)
}
