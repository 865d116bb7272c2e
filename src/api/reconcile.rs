//! `POST /system/start`, `/system/connect`, `/system/relayer/restart`: validate the request,
//! then admit a reconcile job and answer 202 with it. Only one system job is
//! queued or running at a time (409 names it).

use super::body::BodyErrors;
use super::error::ApiError;
use super::extract::OptionalJson;
use super::jobs::accepted;
use crate::app::AppState;
use crate::jobs::model::AcceptedAnswer;
use crate::reconcile::admission::{self, ReconcilerStatus, SystemRequest};
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
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

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartRequest {
    /// Must be the namespace the BFF watches (`K8S_NAMESPACE`), if given.
    pub namespace: Option<String>,
    /// Whole-job timeout, 1..=86400 (default: the `RECONCILE_JOB_TIMEOUT` setting, 30 min).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub timeout_seconds: Option<u64>,
    /// Subset of `initRelayer`, `connectAll`, `startRelayer`, `waitIbcReady`, each at most
    /// once; they always run in that order, after `discover`. Default: all.
    #[serde(
        default,
        deserialize_with = "crate::api::list::opt_at_most::<_, String, { admission::START_STEP_COUNT }>"
    )]
    #[schema(max_items = 4)]
    pub steps: Option<Vec<String>>,
    /// Re-do each step's actions (docs/reconcile.md says what each step re-does).
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

/// Admits the system job `request` asks for (202 with the queued job).
async fn admit(state: &AppState, request: SystemRequest) -> Result<Response, ApiError> {
    Ok(accepted(&admission::admit(state.reconcile_context(), &state.jobs, request).await?))
}

/// Brings the system to "experiments can run": relayer configured, every storage chain
/// linked to gwc and registered, `rly start` running, IBC ready.
#[utoipa::path(post, path = "/start", tag = "system", request_body(content = StartRequest, description = "optional"), responses(
    (status = 202, description = "job admitted", body = AcceptedAnswer),
    BodyErrors,
    (status = 409, description = "JOB_CONFLICT: another system job is queued or running; SYSTEM_STOPPED: the release is scaled to zero (resume first)", body = super::error::ErrorEnvelope),
    (status = 422, description = "VALIDATION_ERROR (unknown step, bad timeout, other namespace)", body = super::error::ErrorEnvelope),
    (status = 429, description = "LIMIT_EXCEEDED: timeoutSeconds over 86400 (maxTimeoutSeconds)", body = super::error::ErrorEnvelope),
))]
async fn start(
    State(state): State<AppState>,
    OptionalJson(req): OptionalJson<StartRequest>,
) -> Result<Response, ApiError> {
    let StartRequest { namespace, timeout_seconds, steps, force, dry_run } = req;
    let force = force.unwrap_or(false);
    let dry_run = dry_run.unwrap_or(false);
    admit(&state, SystemRequest::Start { namespace, steps, force, dry_run, timeout_seconds }).await
}

/// Links storage chains to gwc and registers them (all, or one).
#[utoipa::path(post, path = "/connect", tag = "system", request_body(content = ConnectRequest, description = "optional"), responses(
    (status = 202, description = "job admitted", body = AcceptedAnswer),
    BodyErrors,
    (status = 404, description = "CHAIN_NOT_FOUND", body = super::error::ErrorEnvelope),
    (status = 409, description = "JOB_CONFLICT; SYSTEM_STOPPED: the release is scaled to zero (resume first)", body = super::error::ErrorEnvelope),
    (status = 422, description = "VALIDATION_ERROR (bad target)", body = super::error::ErrorEnvelope),
    (status = 429, description = "LIMIT_EXCEEDED: timeoutSeconds over 86400 (maxTimeoutSeconds)", body = super::error::ErrorEnvelope),
))]
async fn connect(
    State(state): State<AppState>,
    OptionalJson(req): OptionalJson<ConnectRequest>,
) -> Result<Response, ApiError> {
    let ConnectRequest { target, force, timeout_seconds, dry_run } = req;
    let target = target.unwrap_or_else(|| "all".into());
    let (force, dry_run) = (force.unwrap_or(false), dry_run.unwrap_or(false));
    admit(&state, SystemRequest::Connect { target, force, dry_run, timeout_seconds }).await
}

/// Stops `rly start` if it runs, starts it, and checks it keeps running.
#[utoipa::path(post, path = "/relayer/restart", tag = "system", request_body(content = RestartRequest, description = "optional"), responses(
    (status = 202, description = "job admitted", body = AcceptedAnswer),
    BodyErrors,
    (status = 409, description = "JOB_CONFLICT; SYSTEM_STOPPED: the release is scaled to zero (resume first)", body = super::error::ErrorEnvelope),
    (status = 422, description = "VALIDATION_ERROR", body = super::error::ErrorEnvelope),
    (status = 429, description = "LIMIT_EXCEEDED: timeoutSeconds over 86400 (maxTimeoutSeconds)", body = super::error::ErrorEnvelope),
))]
async fn restart(
    State(state): State<AppState>,
    OptionalJson(req): OptionalJson<RestartRequest>,
) -> Result<Response, ApiError> {
    let RestartRequest { timeout_seconds, dry_run } = req;
    admit(&state, SystemRequest::RestartRelayer { dry_run: dry_run.unwrap_or(false), timeout_seconds }).await
}

/// `just stop`: records each StatefulSet's and Deployment's replicas (annotation
/// `cryptomeria.io/replicas-before-stop`), scales them to 0 through the scale subresource and
/// waits until their pods are gone. PVC data is kept. Stopping a stopped system skips.
#[utoipa::path(post, path = "/stop", tag = "system", request_body(content = ScaleRequest, description = "optional"), responses(
    (status = 202, description = "job admitted", body = AcceptedAnswer),
    BodyErrors,
    (status = 409, description = "JOB_CONFLICT", body = super::error::ErrorEnvelope),
    (status = 422, description = "VALIDATION_ERROR", body = super::error::ErrorEnvelope),
    (status = 429, description = "LIMIT_EXCEEDED: timeoutSeconds over 86400 (maxTimeoutSeconds)", body = super::error::ErrorEnvelope),
))]
async fn stop(
    State(state): State<AppState>,
    OptionalJson(req): OptionalJson<ScaleRequest>,
) -> Result<Response, ApiError> {
    admit(&state, SystemRequest::Stop { timeout_seconds: req.timeout_seconds }).await
}

/// `just resume`: restores the recorded replicas, waits until the pods are Ready, then runs
/// the start pipeline in the same job (the new relayer pod has lost its config). Resuming a
/// running system skips the scaling and finds the start steps in sync.
#[utoipa::path(post, path = "/resume", tag = "system", request_body(content = ScaleRequest, description = "optional"), responses(
    (status = 202, description = "job admitted", body = AcceptedAnswer),
    BodyErrors,
    (status = 409, description = "JOB_CONFLICT", body = super::error::ErrorEnvelope),
    (status = 422, description = "VALIDATION_ERROR", body = super::error::ErrorEnvelope),
    (status = 429, description = "LIMIT_EXCEEDED: timeoutSeconds over 86400 (maxTimeoutSeconds)", body = super::error::ErrorEnvelope),
))]
async fn resume(
    State(state): State<AppState>,
    OptionalJson(req): OptionalJson<ScaleRequest>,
) -> Result<Response, ApiError> {
    admit(&state, SystemRequest::Resume { timeout_seconds: req.timeout_seconds }).await
}

/// The continuous reconciler: mode, whether the system is in sync (and what differs), its
/// health (the IBC verdict, kept apart from sync), the last pass (time, trigger, job,
/// outcome), the next resync, consecutive failures and the current backoff.
#[utoipa::path(get, path = "/reconciler", tag = "system", responses(
    (status = 200, description = "OK", body = super::Success<ReconcilerStatus>),
))]
async fn reconciler(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(super::ok(state.reconciler.status()))
}
