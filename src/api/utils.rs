//! The utilities (`/api/v1/utils`): each route validates its request, checks the
//! utilities' limits (429 `LIMIT_EXCEEDED` naming the limit and its value), resolves the
//! chain, and submits a job in the `utils` scope (202). The work lives in `crate::utils`.
//! txBytes never reach a job's stored request, a log line or a response: only counts do.

use super::chains::tx_hash;
use super::error::{ApiError, ErrorEnvelope, Failure};
use super::extract::{ApiJson, OptionalJson};
use super::jobs::accepted;
use crate::api::body::BodyErrors;
use crate::app::AppState;
use crate::chain::{self, rpc};
use crate::jobs::model::{AcceptedAnswer, Scope};
use crate::jobs::{JobSpec, Step};
use crate::utils::confirm::StartAt;
use crate::utils::{ChainTarget, broadcast, observe, snapshot, throughput};
use axum::extract::State;
use axum::response::Response;
use futures::FutureExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

mod experiment;
mod load;
mod packets;
mod send;

use send::{SendFields, echo_send, send_fields};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tx_confirmation))
        .routes(routes!(confirm_batch))
        .routes(routes!(broadcast_batch))
        .routes(routes!(load::transfers))
        .routes(routes!(experiment::upload))
        .routes(routes!(experiment::result_csv))
        .routes(routes!(throughput_job))
        .routes(routes!(snapshot_job))
        .routes(routes!(packets::packets_job))
}

/// Extra time a job gets over its own watch: straggler lookups and the report.
const JOB_TIMEOUT_MARGIN: Duration = Duration::from_secs(60);
/// Defaults of the watch options.
const DEFAULT_OBSERVE_TIMEOUT_SECONDS: u64 = 60;
const DEFAULT_BATCH_TIMEOUT_SECONDS: u64 = 300;
const DEFAULT_STALL_TIMEOUT_SECONDS: f64 = 30.0;
/// Broadcasts in flight when the request names no concurrency.
const DEFAULT_CONCURRENCY: usize = 8;

fn limit(name: &'static str, value: impl Into<Value>, asked: impl Into<Value>) -> ApiError {
    Failure::limit_exceeded(name, value, asked).into()
}

fn target(state: &AppState, chain_id: &str) -> Result<ChainTarget, ApiError> {
    let directory = state.directory.snapshot();
    Ok(ChainTarget {
        chain_id: chain_id.to_string(),
        rpc: directory.upstream(chain_id, "rpc")?,
        api: directory.upstream(chain_id, "api")?,
    })
}

/// `timeoutSeconds` within 1..=maxTimeoutSeconds (429 beyond it); the default is capped too.
fn timeout(state: &AppState, asked: Option<u64>, default: u64) -> Result<Duration, ApiError> {
    let max = state.settings.jobs.max_timeout_seconds;
    match asked.unwrap_or(default.min(max)) {
        0 => Err(ApiError::validation("timeoutSeconds", "timeoutSeconds must be at least 1")),
        s if s > max => Err(limit("maxTimeoutSeconds", max, s)),
        s => Ok(Duration::from_secs(s)),
    }
}

fn stall_timeout(asked: Option<f64>) -> Result<Duration, ApiError> {
    match asked.unwrap_or(DEFAULT_STALL_TIMEOUT_SECONDS) {
        s if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(ApiError::validation("stallTimeoutSeconds", "stallTimeoutSeconds must be in (0, 86400]")),
    }
}

fn parse_time(field: &str, text: Option<&str>) -> Result<Option<jiff::Timestamp>, ApiError> {
    text.map(|t| {
        t.parse().map_err(|_| ApiError::validation(field, format!("{field} must be an RFC 3339 time")))
    })
    .transpose()
}

fn start_at(from_height: Option<u64>) -> Result<StartAt, ApiError> {
    match from_height {
        None => Ok(StartAt::Latest),
        Some(0) => Err(chain::Error::InvalidHeight("fromHeight must be at least 1".into()).into()),
        Some(h) => Ok(StartAt::Height(h)),
    }
}

fn submit(
    state: &AppState,
    type_: &str,
    request: Value,
    steps: Vec<Arc<dyn Step>>,
    timeout: Duration,
) -> Result<Response, ApiError> {
    let job =
        state.jobs.start(JobSpec { scope: Scope::Utils, type_: type_.into(), request, steps, timeout })?;
    Ok(accepted(&job))
}

// ----- observe --------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TxConfirmationRequest {
    pub chain_id: String,
    /// 64 hex digits (any case, optional `0x`).
    pub txhash: String,
    /// When the tx was submitted (RFC 3339); without it the confirmation has no latency, nor
    /// with one after the commit time or before the chain's earliest block (the reason is given).
    pub submitted_at: Option<String>,
    /// First block to look at (blocks before the watch); default: the latest block.
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub from_height: Option<u64>,
    /// Watch at most this long (default 60, up to maxTimeoutSeconds).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub timeout_seconds: Option<u64>,
    /// Stop early when no block comes for this long (default 30).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub stall_timeout_seconds: Option<f64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmBatchRequest {
    pub chain_id: String,
    /// Up to maxBatchSize hashes.
    pub txhashes: Vec<String>,
    /// When they were submitted (RFC 3339); without it the confirmations have no latency, nor
    /// with one after a commit time or before the chain's earliest block (the reason is given).
    pub submitted_at: Option<String>,
    /// First block to look at; default: the latest block.
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub from_height: Option<u64>,
    /// Watch at most this long (default 60, up to maxTimeoutSeconds).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub timeout_seconds: Option<u64>,
    /// Stop early when no block comes for this long (default 30).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub stall_timeout_seconds: Option<f64>,
}

struct Observe {
    chain_id: String,
    txhashes: Vec<String>,
    submitted_at: Option<String>,
    from_height: Option<u64>,
    timeout_seconds: Option<u64>,
    stall_timeout_seconds: Option<f64>,
    single: bool,
}

async fn observe_job(state: &AppState, o: Observe) -> Result<Response, ApiError> {
    let Observe {
        chain_id,
        txhashes,
        submitted_at,
        from_height,
        timeout_seconds,
        stall_timeout_seconds,
        single,
    } = o;
    let max = state.settings.jobs.max_batch_size;
    if txhashes.len() > max {
        return Err(limit("maxBatchSize", max, txhashes.len()));
    }
    if txhashes.is_empty() {
        return Err(ApiError::validation("txhashes", "at least one txhash is needed"));
    }
    let field = if single { "txhash" } else { "txhashes" };
    let mut hashes = Vec::with_capacity(txhashes.len());
    for (i, h) in txhashes.iter().enumerate() {
        let hash = tx_hash(h).ok_or_else(|| {
            ApiError::validation(field, "a tx hash is 64 hex digits")
                .with_details(json!({"field": field, "index": i}))
        })?;
        hashes.push(hash);
    }
    hashes.dedup();
    let submitted = parse_time("submittedAt", submitted_at.as_deref())?;
    let timeout = timeout(state, timeout_seconds, DEFAULT_OBSERVE_TIMEOUT_SECONDS)?;
    let stall_after = stall_timeout(stall_timeout_seconds)?;
    let start = start_at(from_height)?;
    let target = target(state, &chain_id)?;
    if let Some(from) = from_height {
        // Known at once: a watch from a height the chain is far from would only stall.
        let latest = state.chain_status.status(&target.rpc).await.map(|s| s.latest_height);
        if let Ok(latest) = latest
            && from > latest + 1
        {
            return Err(chain::Error::InvalidHeight(format!(
                "fromHeight is beyond the next block: the chain's latest height is {latest}"
            ))
            .into());
        }
    }
    let request = json!({
        "chainId": chain_id,
        "txhash": single.then(|| hashes[0].clone()),
        "txhashCount": hashes.len(),
        "submittedAt": submitted.map(|t| t.to_string()),
        "fromHeight": from_height,
        "timeoutSeconds": timeout.as_secs(),
        "stallTimeoutSeconds": stall_after.as_secs_f64(),
    });
    let step = observe::ObserveStep {
        client: state.chains.clone(),
        target,
        txs: hashes.into_iter().map(|txhash| observe::Watched { txhash, submitted_at: submitted }).collect(),
        start,
        timeout,
        stall_after,
        poll: state.settings.jobs.poll_interval,
        single,
    };
    let type_ = if single { "utils.observe.tx-confirmation" } else { "utils.observe.confirm-batch" };
    submit(state, type_, request, vec![Arc::new(step)], timeout + JOB_TIMEOUT_MARGIN)
}

/// Waits for one tx to be committed: height, confirmation (header) time, latency in two clocks.
#[utoipa::path(post, path = "/observe/tx-confirmation", operation_id = "utils_observe_tx_confirmation", tag = "utils",
    request_body = TxConfirmationRequest,
    responses(
        (status = 202, description = "job accepted", body = AcceptedAnswer),
        BodyErrors,
        (status = 404, description = "CHAIN_NOT_FOUND", body = ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR / INVALID_HEIGHT", body = ErrorEnvelope),
        (status = 429, description = "LIMIT_EXCEEDED (maxRunningJobs, maxTimeoutSeconds)", body = ErrorEnvelope),
    ))]
async fn tx_confirmation(
    State(state): State<AppState>,
    ApiJson(r): ApiJson<TxConfirmationRequest>,
) -> Result<Response, ApiError> {
    observe_job(
        &state,
        Observe {
            chain_id: r.chain_id,
            txhashes: vec![r.txhash],
            submitted_at: r.submitted_at,
            from_height: r.from_height,
            timeout_seconds: r.timeout_seconds,
            stall_timeout_seconds: r.stall_timeout_seconds,
            single: true,
        },
    )
    .await
}

/// Waits for many txs by following new blocks (a lookup only for stragglers): per-tx
/// result, latency statistics, and the not-confirmed list at timeout.
#[utoipa::path(post, path = "/observe/confirm-batch", operation_id = "utils_observe_confirm_batch", tag = "utils",
    request_body = ConfirmBatchRequest,
    responses(
        (status = 202, description = "job accepted", body = AcceptedAnswer),
        BodyErrors,
        (status = 404, description = "CHAIN_NOT_FOUND", body = ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR / INVALID_HEIGHT", body = ErrorEnvelope),
        (status = 429, description = "LIMIT_EXCEEDED (maxBatchSize, maxRunningJobs, maxTimeoutSeconds)", body = ErrorEnvelope),
    ))]
async fn confirm_batch(
    State(state): State<AppState>,
    ApiJson(r): ApiJson<ConfirmBatchRequest>,
) -> Result<Response, ApiError> {
    observe_job(
        &state,
        Observe {
            chain_id: r.chain_id,
            txhashes: r.txhashes,
            submitted_at: r.submitted_at,
            from_height: r.from_height,
            timeout_seconds: r.timeout_seconds,
            stall_timeout_seconds: r.stall_timeout_seconds,
            single: false,
        },
    )
    .await
}

// ----- load -----------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BroadcastBatchRequest {
    pub chain_id: String,
    /// Pre-signed `TxRaw`s, base64, up to maxBatchSize. Never stored or logged.
    pub tx_bytes: Vec<String>,
    /// Broadcasts in flight at once, 1..=maxConcurrency (default 8). Txs of one signer
    /// always go one after another, in sequence order.
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub concurrency: Option<usize>,
    /// `sync` (default: CheckTx answers) or `async`.
    pub mode: Option<broadcast::Mode>,
    /// Pace sends to this many per second (default: as fast as answers come).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub rate_per_second: Option<f64>,
    /// Follow blocks until every accepted tx is committed (default true).
    pub wait_for_confirmation: Option<bool>,
    /// The whole batch, sending and confirmation (default 300, up to maxTimeoutSeconds).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub timeout_seconds: Option<u64>,
    /// Stop early when no block comes for this long (default 30).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub stall_timeout_seconds: Option<f64>,
}

impl std::fmt::Debug for BroadcastBatchRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BroadcastBatchRequest {{ chainId: {}, txBytes: <{} redacted> }}",
            self.chain_id,
            self.tx_bytes.len()
        )
    }
}

/// Sends pre-signed txs with bounded concurrency and reports accepted/rejected counts,
/// per-tx outcomes, send and committed rates, and latency statistics.
#[utoipa::path(post, path = "/load/broadcast-batch", operation_id = "utils_load_broadcast_batch", tag = "utils",
    request_body = BroadcastBatchRequest,
    responses(
        (status = 202, description = "job accepted", body = AcceptedAnswer),
        BodyErrors,
        (status = 404, description = "CHAIN_NOT_FOUND", body = ErrorEnvelope),
        (status = 422, description = "INVALID_TX_BYTES (details name the index) or VALIDATION_ERROR", body = ErrorEnvelope),
        (status = 429, description = "LIMIT_EXCEEDED (maxBatchSize, maxConcurrency, maxRunningJobs, maxTimeoutSeconds)", body = ErrorEnvelope),
    ))]
async fn broadcast_batch(
    State(state): State<AppState>,
    ApiJson(r): ApiJson<BroadcastBatchRequest>,
) -> Result<Response, ApiError> {
    let jobs = &state.settings.jobs;
    if r.tx_bytes.len() > jobs.max_batch_size {
        return Err(limit("maxBatchSize", jobs.max_batch_size, r.tx_bytes.len()));
    }
    let send = send_fields!(r).check(&state)?;
    if r.tx_bytes.is_empty() {
        return Err(ApiError::validation("txBytes", "at least one tx is needed"));
    }
    let target = target(&state, &r.chain_id)?;
    let mode = send.mode;
    let mut txs = Vec::with_capacity(r.tx_bytes.len());
    let mut total_bytes = 0;
    for (i, text) in r.tx_bytes.iter().enumerate() {
        // Decoded, checked, hashed and encoded for sending once, here.
        let prepared = chain::tx::tx_bytes_and_canonical_base64(text).and_then(|(bytes, b64)| {
            total_bytes += bytes.len();
            broadcast::PreparedTx::new(&bytes, &b64, mode)
        });
        let tx = prepared.map_err(|e| {
            let error = ApiError::from(e);
            let mut details = error.details.clone();
            details["index"] = i.into();
            error.with_details(details)
        })?;
        txs.push(tx);
    }
    let mut request = json!({"chainId": r.chain_id, "txCount": txs.len(), "txTotalBytes": total_bytes});
    echo_send(&mut request, &send);
    let spec = broadcast::BatchSpec { client: state.chains.clone(), target, txs, send };
    let step = broadcast::BroadcastStep(Arc::new(spec));
    submit(
        &state,
        "utils.load.broadcast-batch",
        request,
        vec![Arc::new(step)],
        send.timeout + JOB_TIMEOUT_MARGIN,
    )
}

// ----- metrics --------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThroughputRequest {
    pub chain_id: String,
    /// The start mark: its header time starts the clock; its txs are not counted.
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub from_height: Option<u64>,
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub to_height: Option<u64>,
    /// Instead of heights: the last N blocks (fromHeight = latest − N).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub last_blocks: Option<u64>,
}

/// Header-time throughput (txs over the header-time span, fromHeight's block excluded) over a height range or the last N blocks.
#[utoipa::path(post, path = "/metrics/throughput", operation_id = "utils_metrics_throughput", tag = "utils",
    request_body = ThroughputRequest,
    responses(
        (status = 202, description = "job accepted", body = AcceptedAnswer),
        BodyErrors,
        (status = 404, description = "CHAIN_NOT_FOUND", body = ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR (window form) / INVALID_HEIGHT (heights outside the chain)", body = ErrorEnvelope),
        (status = 429, description = "LIMIT_EXCEEDED (maxThroughputWindow, maxRunningJobs)", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE", body = ErrorEnvelope),
    ))]
async fn throughput_job(
    State(state): State<AppState>,
    ApiJson(r): ApiJson<ThroughputRequest>,
) -> Result<Response, ApiError> {
    let (window, requested) = match (r.from_height, r.to_height, r.last_blocks) {
        (Some(from), Some(to), None) => {
            (throughput::Window::Range { from, to }, json!({"fromHeight": from, "toHeight": to}))
        }
        (None, None, Some(n)) => (throughput::Window::Last(n), json!({"lastBlocks": n})),
        _ => {
            return Err(ApiError::validation("window", "give fromHeight and toHeight, or lastBlocks alone"));
        }
    };
    let cap = state.settings.jobs.max_throughput_window;
    if window.span() > cap {
        return Err(limit("maxThroughputWindow", cap, window.span()));
    }
    let target = target(&state, &r.chain_id)?;
    let (status, _) = rpc::node_status(&state.chains, &target.rpc).await?;
    let (from, to) = window.resolve(status.latest_height.unwrap_or_default())?;
    let mut request = requested.clone();
    request["chainId"] = r.chain_id.clone().into();
    let step = throughput::MeasureStep { client: state.chains.clone(), target, from, to, requested };
    let timeout = Duration::from_secs(state.settings.jobs.max_timeout_seconds);
    submit(&state, "utils.metrics.throughput", request, vec![Arc::new(step)], timeout)
}

// ----- snapshot -------------------------------------------------------------------------------

/// A snapshot takes no options: no body, or `{}`; its body is still read and checked as any.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRequest {}

/// One timestamped record of system status, chains status, ports, relayer state, IBC pairs
/// and recent jobs, with sorted keys so runs can be diffed.
#[utoipa::path(post, path = "/snapshot/resource", operation_id = "utils_snapshot_resource", tag = "utils",
    request_body(content = SnapshotRequest, description = "optional; no fields"),
    responses(
        (status = 202, description = "job accepted", body = AcceptedAnswer),
        BodyErrors,
        (status = 422, description = "VALIDATION_ERROR: a field (there are none) or not an object", body = ErrorEnvelope),
        (status = 429, description = "LIMIT_EXCEEDED (maxRunningJobs)", body = ErrorEnvelope),
    ))]
async fn snapshot_job(
    State(state): State<AppState>,
    OptionalJson(SnapshotRequest {}): OptionalJson<SnapshotRequest>,
) -> Result<Response, ApiError> {
    let gather_state = state.clone();
    let gather: snapshot::Gather = Arc::new(move || {
        let state = gather_state.clone();
        async move { crate::system::snapshot::gather(&state.reads(), &state.jobs).await }.boxed()
    });
    let step = snapshot::SnapshotStep { gather };
    let timeout = Duration::from_secs(state.settings.jobs.max_timeout_seconds);
    submit(&state, "utils.snapshot.resource", json!({}), vec![Arc::new(step)], timeout)
}
