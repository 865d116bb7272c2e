//! `POST /system/start`, `/system/connect`, `/system/relayer/restart`: validate the request,
//! then admit a reconcile job and answer 202 with it. Only one system job is
//! queued or running at a time (409 names it).

use super::error::{ApiError, ErrorCode};
use super::extract::OptionalJson;
use super::jobs::accepted;
use crate::app::AppState;
use crate::cache::views;
use crate::jobs::model::Accepted;
use crate::reconcile::{self, Session, StepName, Target};
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(connect))
        .routes(routes!(restart))
        .routes(routes!(stop))
        .routes(routes!(resume))
        .routes(routes!(reconciler))
}

/// Longest accepted `timeoutSeconds` (one day).
const MAX_TIMEOUT_SECONDS: u64 = 86_400;

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartRequest {
    /// Must be the namespace the BFF watches (`K8S_NAMESPACE`), if given.
    pub namespace: Option<String>,
    /// Whole-job timeout, 1..=86400 (default: the `RECONCILE_JOB_TIMEOUT` setting, 30 min).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub timeout_seconds: Option<u64>,
    /// Subset of `initRelayer`, `connectAll`, `startRelayer`, `waitIbcReady`; they always run
    /// in that order, after `discover`. Default: all.
    pub steps: Option<Vec<String>>,
    /// Re-do each step's actions (see the README for what each step re-does).
    pub force: Option<bool>,
    /// Observe and plan only: the job's result lists each action it would take with its
    /// reason, and nothing is changed.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectRequest {
    /// `all` (default) or `chain:<chainId>`.
    pub target: Option<String>,
    pub force: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub timeout_seconds: Option<u64>,
    /// Observe and plan only: the job's result lists each action it would take with its
    /// reason, and nothing is changed.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestartRequest {
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub timeout_seconds: Option<u64>,
    /// Observe and plan only: the job's result lists each action it would take with its
    /// reason, and nothing is changed.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScaleRequest {
    /// Whole-job timeout, 1..=86400 (default: the `RECONCILE_JOB_TIMEOUT` setting).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub timeout_seconds: Option<u64>,
}

fn timeout(state: &AppState, seconds: Option<u64>) -> Result<Duration, ApiError> {
    match seconds {
        None => Ok(state.settings.reconcile.job_timeout),
        Some(s) if (1..=MAX_TIMEOUT_SECONDS).contains(&s) => Ok(Duration::from_secs(s)),
        Some(_) => Err(ApiError::validation(
            "timeoutSeconds",
            format!("timeoutSeconds must be 1..={MAX_TIMEOUT_SECONDS}"),
        )),
    }
}

fn admit(state: &AppState, spec: crate::jobs::JobSpec) -> Result<Response, ApiError> {
    Ok(accepted(&state.jobs.start(spec)?))
}

/// Brings the system to "experiments can run": relayer configured, every storage chain
/// linked to gwc and registered, `rly start` running, IBC ready.
#[utoipa::path(post, path = "/start", tag = "system", request_body(content = StartRequest, description = "optional"), responses(
    (status = 202, description = "job admitted", body = Accepted),
    (status = 409, description = "JOB_CONFLICT: another system job is queued or running", body = super::error::ErrorEnvelope),
    (status = 422, description = "VALIDATION_ERROR (unknown step, bad timeout, other namespace)", body = super::error::ErrorEnvelope),
))]
async fn start(
    State(state): State<AppState>,
    OptionalJson(req): OptionalJson<StartRequest>,
) -> Result<Response, ApiError> {
    if req.namespace.as_deref().is_some_and(|ns| ns != state.settings.namespace) {
        return Err(ApiError::validation(
            "namespace",
            format!(
                "this BFF reconciles namespace {}; run one with K8S_NAMESPACE set for another",
                state.settings.namespace
            ),
        ));
    }
    let steps = match &req.steps {
        None => StepName::START.to_vec(),
        Some(names) => names
            .iter()
            .map(|n| {
                StepName::parse_start(n).ok_or_else(|| {
                    ApiError::validation(
                        "steps",
                        "unknown step; steps are initRelayer, connectAll, startRelayer, waitIbcReady",
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let timeout = timeout(&state, req.timeout_seconds)?;
    let force = req.force.unwrap_or(false);
    let request = json!({"namespace": state.settings.namespace, "steps": steps.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "force": force, "timeoutSeconds": timeout.as_secs(), "dryRun": req.dry_run.unwrap_or(false)});
    let mut session = Session::new(state.reconcile_context(), Target::All, force);
    session.dry_run = req.dry_run.unwrap_or(false);
    admit(&state, reconcile::job("system.start", request, session, &steps, timeout))
}

/// Links storage chains to gwc and registers them (all, or one).
#[utoipa::path(post, path = "/connect", tag = "system", request_body(content = ConnectRequest, description = "optional"), responses(
    (status = 202, description = "job admitted", body = Accepted),
    (status = 404, description = "CHAIN_NOT_FOUND", body = super::error::ErrorEnvelope),
    (status = 409, description = "JOB_CONFLICT", body = super::error::ErrorEnvelope),
    (status = 422, description = "VALIDATION_ERROR (bad target)", body = super::error::ErrorEnvelope),
))]
async fn connect(
    State(state): State<AppState>,
    OptionalJson(req): OptionalJson<ConnectRequest>,
) -> Result<Response, ApiError> {
    let text = req.target.as_deref().unwrap_or("all");
    let target = Target::parse(text)
        .ok_or_else(|| ApiError::validation("target", "target must be \"all\" or \"chain:<chainId>\""))?;
    if let Target::Chain(id) = &target {
        if id == crate::chart::GWC {
            return Err(ApiError::validation(
                "target",
                "gwc is the gateway every link starts at; name a storage chain",
            ));
        }
        let pods = state.cache.objects().pods.state();
        let known = views::chain_pods(&pods).iter().any(|p| {
            p.metadata.labels.as_ref().and_then(|l| l.get(crate::chart::INSTANCE_LABEL)) == Some(id)
        });
        if !known {
            return Err(ApiError::new(
                ErrorCode::ChainNotFound,
                "no chain pod has that instance; GET /api/v1/chains lists the chains",
            ));
        }
    }
    let timeout = timeout(&state, req.timeout_seconds)?;
    let force = req.force.unwrap_or(false);
    let dry_run = req.dry_run.unwrap_or(false);
    let request =
        json!({"target": text, "force": force, "timeoutSeconds": timeout.as_secs(), "dryRun": dry_run});
    let mut session = Session::new(state.reconcile_context(), target, force);
    session.force_init = false;
    session.dry_run = dry_run;
    // The relayer must know a chain before linking it: a new chain gets its entry and key first.
    let steps = [StepName::InitRelayer, StepName::Connect];
    admit(&state, reconcile::job("system.connect", request, session, &steps, timeout))
}

/// Stops `rly start` if it runs, starts it, and checks it keeps running.
#[utoipa::path(post, path = "/relayer/restart", tag = "system", request_body(content = RestartRequest, description = "optional"), responses(
    (status = 202, description = "job admitted", body = Accepted),
    (status = 409, description = "JOB_CONFLICT", body = super::error::ErrorEnvelope),
    (status = 422, description = "VALIDATION_ERROR", body = super::error::ErrorEnvelope),
))]
async fn restart(
    State(state): State<AppState>,
    OptionalJson(req): OptionalJson<RestartRequest>,
) -> Result<Response, ApiError> {
    let timeout = timeout(&state, req.timeout_seconds)?;
    let request = json!({"timeoutSeconds": timeout.as_secs(), "dryRun": req.dry_run.unwrap_or(false)});
    let mut session = Session::new(state.reconcile_context(), Target::All, true);
    session.dry_run = req.dry_run.unwrap_or(false);
    admit(
        &state,
        reconcile::job("system.relayer.restart", request, session, &[StepName::RestartRelayer], timeout),
    )
}

/// `just stop`: records each StatefulSet's and Deployment's replicas (annotation
/// `cryptomeria.io/replicas-before-stop`), scales them to 0 through the scale subresource and
/// waits until their pods are gone. PVC data is kept. Stopping a stopped system skips.
#[utoipa::path(post, path = "/stop", tag = "system", request_body(content = ScaleRequest, description = "optional"), responses(
    (status = 202, description = "job admitted", body = Accepted),
    (status = 409, description = "JOB_CONFLICT", body = super::error::ErrorEnvelope),
    (status = 422, description = "VALIDATION_ERROR", body = super::error::ErrorEnvelope),
))]
async fn stop(
    State(state): State<AppState>,
    OptionalJson(req): OptionalJson<ScaleRequest>,
) -> Result<Response, ApiError> {
    scale(&state, &req, reconcile::stop_job)
}

/// Admits a stop or resume job built by `job`.
fn scale(
    state: &AppState,
    req: &ScaleRequest,
    job: fn(serde_json::Value, Session, Duration) -> crate::jobs::JobSpec,
) -> Result<Response, ApiError> {
    let timeout = timeout(state, req.timeout_seconds)?;
    let request = json!({"timeoutSeconds": timeout.as_secs()});
    let session = Session::new(state.reconcile_context(), Target::All, false);
    admit(state, job(request, session, timeout))
}

/// `just resume`: restores the recorded replicas, waits until the pods are Ready, then runs
/// the start pipeline in the same job (the new relayer pod has lost its config). Resuming a
/// running system skips the scaling and finds the start steps in sync.
#[utoipa::path(post, path = "/resume", tag = "system", request_body(content = ScaleRequest, description = "optional"), responses(
    (status = 202, description = "job admitted", body = Accepted),
    (status = 409, description = "JOB_CONFLICT", body = super::error::ErrorEnvelope),
    (status = 422, description = "VALIDATION_ERROR", body = super::error::ErrorEnvelope),
))]
async fn resume(
    State(state): State<AppState>,
    OptionalJson(req): OptionalJson<ScaleRequest>,
) -> Result<Response, ApiError> {
    scale(&state, &req, reconcile::resume_job)
}

/// The continuous reconciler: mode, whether the system is in sync (and what differs), its
/// health (the IBC verdict, kept apart from sync), the last pass (time, trigger, job,
/// outcome), the next resync, consecutive failures and the current backoff.
#[utoipa::path(get, path = "/reconciler", tag = "system", responses(
    (status = 200, description = "OK", body = super::Success<reconcile::controller::ReconcilerStatus>),
))]
async fn reconciler(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(super::ok(state.reconciler.status()))
}
