//! Layer 3 (`/api/v1/utils`, SPEC §8): each route validates its request, checks the
//! utilities' limits (429 `LIMIT_EXCEEDED` naming the limit and its value), resolves the
//! chain, and submits a job in the `utils` scope (202). The work lives in `crate::experiments`.
//! txBytes never reach a job's stored request, a log line or a response: only counts do.

use super::chains::{chain_ids, checked_tx, tx_hash, upstream};
use super::error::{ApiError, ErrorCode, ErrorEnvelope};
use super::extract::ApiJson;
use super::jobs::accepted;
use crate::app::AppState;
use crate::chain::{self, rpc};
use crate::experiments::confirm::StartAt;
use crate::experiments::{ChainTarget, broadcast, observe, snapshot, throughput};
use crate::jobs::model::{Accepted, Scope};
use crate::jobs::{JobSpec, Step};
use axum::extract::State;
use axum::response::Response;
use futures::FutureExt as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tx_confirmation))
        .routes(routes!(confirm_batch))
        .routes(routes!(broadcast_batch))
        .routes(routes!(throughput_job))
        .routes(routes!(snapshot_job))
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
    let value = value.into();
    ApiError::new(ErrorCode::LimitExceeded, format!("{name} is {value}"))
        .with_details(json!({"limit": name, "value": value, "requested": asked.into()}))
}

fn target(state: &AppState, chain_id: &str) -> Result<ChainTarget, ApiError> {
    Ok(ChainTarget {
        chain_id: chain_id.to_string(),
        rpc: upstream(state, chain_id, "rpc")?,
        api: upstream(state, chain_id, "api")?,
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
    /// When the tx was submitted (RFC 3339); without it the confirmation has no latency.
    pub submitted_at: Option<String>,
    /// First block to look at (blocks before the watch); default: the latest block.
    pub from_height: Option<u64>,
    /// Watch at most this long (default 60, up to maxTimeoutSeconds).
    pub timeout_seconds: Option<u64>,
    /// Stop early when no block comes for this long (default 30).
    pub stall_timeout_seconds: Option<f64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmBatchRequest {
    pub chain_id: String,
    /// Up to maxBatchSize hashes.
    pub txhashes: Vec<String>,
    /// When they were submitted (RFC 3339); without it the confirmations have no latency.
    pub submitted_at: Option<String>,
    /// First block to look at; default: the latest block.
    pub from_height: Option<u64>,
    /// Watch at most this long (default 60, up to maxTimeoutSeconds).
    pub timeout_seconds: Option<u64>,
    /// Stop early when no block comes for this long (default 30).
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

fn observe_job(state: &AppState, o: Observe) -> Result<Response, ApiError> {
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
        (status = 202, description = "job accepted", body = Accepted),
        (status = 400, description = "BAD_REQUEST: unparsable body or missing field", body = ErrorEnvelope),
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
}

/// Waits for many txs by following new blocks (a lookup only for stragglers): per-tx
/// result, latency statistics, and the not-confirmed list at timeout.
#[utoipa::path(post, path = "/observe/confirm-batch", operation_id = "utils_observe_confirm_batch", tag = "utils",
    request_body = ConfirmBatchRequest,
    responses(
        (status = 202, description = "job accepted", body = Accepted),
        (status = 400, description = "BAD_REQUEST: unparsable body or missing field", body = ErrorEnvelope),
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
    pub concurrency: Option<usize>,
    /// `sync` (default: CheckTx answers) or `async`.
    pub mode: Option<broadcast::Mode>,
    /// Pace sends to this many per second (default: as fast as answers come).
    pub rate_per_second: Option<f64>,
    /// Follow blocks until every accepted tx is committed (default true).
    pub wait_for_confirmation: Option<bool>,
    /// The whole batch, sending and confirmation (default 300, up to maxTimeoutSeconds).
    pub timeout_seconds: Option<u64>,
    /// Stop early when no block comes for this long (default 30).
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
        (status = 202, description = "job accepted", body = Accepted),
        (status = 400, description = "BAD_REQUEST: unparsable body or missing field", body = ErrorEnvelope),
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
    let concurrency = r.concurrency.unwrap_or(DEFAULT_CONCURRENCY.min(jobs.max_concurrency));
    if concurrency > jobs.max_concurrency {
        return Err(limit("maxConcurrency", jobs.max_concurrency, concurrency));
    }
    if concurrency == 0 {
        return Err(ApiError::validation("concurrency", "concurrency must be at least 1"));
    }
    if r.tx_bytes.is_empty() {
        return Err(ApiError::validation("txBytes", "at least one tx is needed"));
    }
    if let Some(rate) = r.rate_per_second
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(ApiError::validation("ratePerSecond", "ratePerSecond must be a positive number"));
    }
    let timeout = timeout(&state, r.timeout_seconds, DEFAULT_BATCH_TIMEOUT_SECONDS)?;
    let stall_after = stall_timeout(r.stall_timeout_seconds)?;
    let target = target(&state, &r.chain_id)?;
    let mut txs = Vec::with_capacity(r.tx_bytes.len());
    let mut total_bytes = 0;
    for (i, text) in r.tx_bytes.iter().enumerate() {
        let prepared = checked_tx(text).and_then(|(bytes, b64)| {
            total_bytes += bytes.len();
            broadcast::PreparedTx::new(&bytes, b64)
        });
        let tx = prepared.map_err(|e| {
            let mut error = ApiError::from(e);
            error.details["index"] = i.into();
            error
        })?;
        txs.push(tx);
    }
    let mode = r.mode.unwrap_or_default();
    let wait = r.wait_for_confirmation.unwrap_or(true);
    let request = json!({
        "chainId": r.chain_id,
        "txCount": txs.len(),
        "txTotalBytes": total_bytes,
        "concurrency": concurrency,
        "mode": mode,
        "ratePerSecond": r.rate_per_second,
        "waitForConfirmation": wait,
        "timeoutSeconds": timeout.as_secs(),
        "stallTimeoutSeconds": stall_after.as_secs_f64(),
    });
    let spec = broadcast::BatchSpec {
        client: state.chains.clone(),
        target,
        txs,
        mode,
        concurrency,
        rate: r.rate_per_second,
        wait_for_confirmation: wait,
        timeout,
        stall_after,
        poll: jobs.poll_interval,
    };
    let step = broadcast::BroadcastStep(Arc::new(spec));
    submit(&state, "utils.load.broadcast-batch", request, vec![Arc::new(step)], timeout + JOB_TIMEOUT_MARGIN)
}

// ----- metrics --------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThroughputRequest {
    pub chain_id: String,
    /// The start mark: its header time starts the clock; its txs are not counted.
    pub from_height: Option<u64>,
    pub to_height: Option<u64>,
    /// Instead of heights: the last N blocks (fromHeight = latest − N).
    pub last_blocks: Option<u64>,
}

/// Header-time throughput (SPEC §8's fixed definition) over a height range or the last N blocks.
#[utoipa::path(post, path = "/metrics/throughput", operation_id = "utils_metrics_throughput", tag = "utils",
    request_body = ThroughputRequest,
    responses(
        (status = 202, description = "job accepted", body = Accepted),
        (status = 400, description = "BAD_REQUEST: unparsable body or missing field", body = ErrorEnvelope),
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

/// One timestamped record of system status, chains status, ports, relayer state, IBC pairs
/// and recent jobs, with sorted keys so runs can be diffed.
#[utoipa::path(post, path = "/snapshot/resource", operation_id = "utils_snapshot_resource", tag = "utils",
    responses(
        (status = 202, description = "job accepted", body = Accepted),
        (status = 429, description = "LIMIT_EXCEEDED (maxRunningJobs)", body = ErrorEnvelope),
    ))]
async fn snapshot_job(State(state): State<AppState>) -> Result<Response, ApiError> {
    let gather_state = state.clone();
    let gather: snapshot::Gather = Arc::new(move || {
        let state = gather_state.clone();
        async move { gather(&state).await }.boxed()
    });
    let step = snapshot::SnapshotStep { gather };
    let timeout = Duration::from_secs(state.settings.jobs.max_timeout_seconds);
    submit(&state, "utils.snapshot.resource", json!({}), vec![Arc::new(step)], timeout)
}

fn section<T: serde::Serialize>(r: Result<T, ApiError>) -> Value {
    match r {
        Ok(v) => serde_json::to_value(v).unwrap_or_else(|e| json!({"error": e.to_string()})),
        Err(e) => json!({"error": {"code": e.code, "message": e.message}}),
    }
}

/// Every section of the snapshot, read concurrently where it costs upstream calls.
async fn gather(state: &AppState) -> Map<String, Value> {
    let ids = chain_ids(state).unwrap_or_default();
    let (system, chains, ibc, relayer) = tokio::join!(
        super::system::system_status(state),
        chains_section(state, &ids),
        ibc_section(state, &ids),
        relayer_process(state),
    );
    let mut system = section(system);
    let relayer = json!({"pod": system.get("relayer").cloned(), "process": relayer});
    if let Some(map) = system.as_object_mut() {
        map.remove("relayer");
    }
    let jobs: Vec<Value> = [Scope::System, Scope::Utils]
        .into_iter()
        .flat_map(|scope| state.jobs.list(scope).into_iter().take(RECENT_JOBS).map(move |j| (scope, j)))
        .map(|(scope, j)| json!({"scope": scope, "job": j.summary()}))
        .collect();
    let mut out = Map::new();
    out.insert("system".into(), system);
    out.insert("ports".into(), section(super::system::ports_view(state)));
    out.insert("chains".into(), Value::Array(chains));
    out.insert("ibc".into(), Value::Array(ibc));
    out.insert("relayer".into(), relayer);
    out.insert("jobs".into(), Value::Array(jobs));
    out
}

/// Recent jobs per scope in a snapshot.
const RECENT_JOBS: usize = 20;

/// Each chain's Layer 2 status (chains in discovery order).
async fn chains_section(state: &AppState, ids: &[String]) -> Vec<Value> {
    futures::future::join_all(ids.iter().map(|id| async move {
        let read = async {
            let rpc_url = upstream(state, id, "rpc")?;
            let (view, _) = rpc::node_status(&state.chains, &rpc_url).await?;
            Ok::<_, ApiError>(json!({
                "network": view.network,
                "latestHeight": view.latest_height.map(|h| h.to_string()),
                "latestTime": view.latest_time,
                "catchingUp": view.catching_up,
            }))
        };
        let mut row = match read.await {
            Ok(v) => v,
            Err(e) => json!({"error": {"code": e.code, "message": e.message}}),
        };
        row["chainId"] = id.clone().into();
        row
    }))
    .await
}

/// IBC channels of every chain with the chain their client tracks, sorted by
/// (chainId, portId, channelId).
async fn ibc_section(state: &AppState, ids: &[String]) -> Vec<Value> {
    let per_chain = futures::future::join_all(ids.iter().map(|id| async move {
        let api = match upstream(state, id, "api") {
            Ok(api) => api,
            Err(e) => return vec![json!({"chainId": id, "error": {"code": e.code, "message": e.message}})],
        };
        let channels = match state.chains.rest_get(&api, "/ibc/core/channel/v1/channels", &[]).await {
            Ok(body) => body.get("channels").and_then(Value::as_array).cloned().unwrap_or_default(),
            Err(e) => {
                return vec![
                    json!({"chainId": id, "error": {"code": "UPSTREAM_ERROR", "message": e.to_string()}}),
                ];
            }
        };
        let rows = channels.iter().map(|c| {
            let api = api.clone();
            async move {
                let text = |p: &str| c.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
                let (port, channel) = (text("/port_id"), text("/channel_id"));
                let path = format!("/ibc/core/channel/v1/channels/{channel}/ports/{port}/client_state");
                let counterparty_chain = state.chains.rest_get(&api, &path, &[]).await.ok().and_then(|b| {
                    b.pointer("/identified_client_state/client_state/chain_id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
                json!({
                    "chainId": id,
                    "portId": port,
                    "channelId": channel,
                    "state": text("/state"),
                    "counterparty": {
                        "chainId": counterparty_chain,
                        "portId": text("/counterparty/port_id"),
                        "channelId": text("/counterparty/channel_id"),
                    },
                })
            }
        });
        futures::future::join_all(rows).await
    }))
    .await;
    let mut rows: Vec<Value> = per_chain.into_iter().flatten().collect();
    let key = |v: &Value| {
        ["chainId", "portId", "channelId"]
            .map(|k| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string())
    };
    rows.sort_by_key(key);
    rows
}

/// Whether `rly start` runs in the relayer pod (one harmless exec).
async fn relayer_process(state: &AppState) -> Value {
    let Ok(cache) = super::system::namespace_cache(state) else {
        return json!({"error": "namespace not watched"});
    };
    let pods = cache.pods.state();
    let Some(pod) = crate::cache::views::relayer_pod(&pods, &state.settings.release)
        .and_then(|p| p.metadata.name.clone())
    else {
        return json!({"error": "no relayer pod"});
    };
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(state.kube.clone(), &state.settings.namespace);
    let argv = ["pgrep", "-f", "rly start"];
    match crate::k8s::exec(&api, &pod, None, &argv, None, state.settings.timeouts.exec_timeout).await {
        Ok(out) => json!({"rlyStartRunning": out.code == 0, "command": argv.join(" ")}),
        Err(e) => json!({"error": e.to_string()}),
    }
}
