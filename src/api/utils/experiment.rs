//! `POST /utils/experiments/upload` (the upload experiment, `crate::utils::experiment`) and
//! `GET /utils/jobs/{id}/result.csv` (its sessions as CSV). The route checks the request,
//! builds the project, finds every chain pod (their data directories are measured) and the
//! funding sources, and gathers the evidence the result carries at its end.

use super::load::funding_source;
use super::{JOB_TIMEOUT_MARGIN, limit, submit, target, timeout};
use crate::api::body::BodyErrors;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::api::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::cache::views;
use crate::chart::{GWC, INSTANCE_LABEL};
use crate::jobs::model::{AcceptedAnswer, Scope};
use crate::utils::experiment::{self, Evidence, Spec, project};
use crate::utils::funding::Funding;
use crate::utils::signer::Fee;
use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use futures::FutureExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

/// The exam scripts' fragment size: 254 KiB.
const DEFAULT_FRAGMENT_BYTES: usize = 254 * 1024;
/// What one session may upload (the gateway's TUS limit is above it).
const MAX_PROJECT_BYTES: usize = 64 << 20;
const MAX_FILES: usize = 10_000;
const MAX_REPETITIONS: usize = 20;
const MAX_PARALLEL: usize = 4;
const DEFAULT_TIMEOUT_SECONDS: u64 = 1800;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GeneratedFiles {
    /// Files to generate (the first is `index.html`).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub count: Option<usize>,
    /// Bytes of each file.
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub size_bytes: Option<usize>,
    /// The generator's seed: the same seed gives the same bytes.
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub seed: Option<u64>,
    /// Instead of generating: the files themselves, base64, within maxBodyBytes.
    pub items: Option<Vec<InlineFile>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InlineFile {
    pub path: String,
    pub base64: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadExperimentRequest {
    pub files: GeneratedFiles,
    /// Fragment size (default 254 KiB).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub fragment_bytes: Option<usize>,
    /// Data chains to spread over (0 = all, the default).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub fdsc_count: Option<u64>,
    /// Sessions one after another (default 1, at most 20).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub repetitions: Option<usize>,
    /// Sessions at once in each repetition, each with its own owner (default 1, at most 4).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub parallel: Option<usize>,
    /// The project's name on the gateway (default `bff-upload`).
    pub project_name: Option<String>,
    /// Versions are `<prefix><repetition>-<slot>` (default `v`).
    pub version_prefix: Option<String>,
    /// The whole experiment (default 1800, up to maxTimeoutSeconds).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub timeout_seconds: Option<u64>,
    /// Where the owners' funds come from: `auto` (default), `faucet`, `bankSend`.
    pub funding: Option<Funding>,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::validation(field, message)
}

fn files(r: &GeneratedFiles) -> Result<Vec<project::File>, ApiError> {
    if let Some(items) = &r.items {
        if r.count.is_some() || r.size_bytes.is_some() || r.seed.is_some() {
            return Err(invalid("files", "give files.items or files.count/sizeBytes/seed, not both"));
        }
        return items
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let data = base64::engine::general_purpose::STANDARD
                    .decode(f.base64.trim())
                    .map_err(|_| invalid(&format!("files.items[{i}].base64"), "must be base64"))?;
                let path = project::normalize(&f.path);
                if path.is_empty() || path.split('/').any(|p| p == "..") {
                    return Err(invalid(&format!("files.items[{i}].path"), "must be a relative path"));
                }
                Ok(project::File { path, data })
            })
            .collect();
    }
    let count = r.count.ok_or_else(|| invalid("files.count", "files.count is required"))?;
    let size = r.size_bytes.ok_or_else(|| invalid("files.sizeBytes", "files.sizeBytes is required"))?;
    if count == 0 || count > MAX_FILES {
        return Err(invalid("files.count", "files.count must be 1..=10000"));
    }
    if size == 0 || count.saturating_mul(size) > MAX_PROJECT_BYTES {
        return Err(invalid("files.sizeBytes", "files.count × files.sizeBytes must be 1..=64 MiB"));
    }
    Ok(project::generated(count, size, r.seed.unwrap_or(1)))
}

/// Runs the upload experiment: per repetition, the real client flow against gwc's gateway
/// (owner made and funded in the BFF, init-session, grants, root proof, TUS upload, wait for
/// CLOSED_SUCCESS, render verified byte for byte), timed in the exam scripts' four phases,
/// with each chain's disk growth and the run's evidence.
#[utoipa::path(post, path = "/experiments/upload", operation_id = "utils_experiments_upload", tag = "utils",
    request_body = UploadExperimentRequest,
    responses(
        (status = 202, description = "job accepted", body = AcceptedAnswer),
        BodyErrors,
        (status = 404, description = "CHAIN_NOT_FOUND (no gwc)", body = ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR", body = ErrorEnvelope),
        (status = 429, description = "LIMIT_EXCEEDED (maxRunningJobs, maxTimeoutSeconds)", body = ErrorEnvelope),
    ))]
pub(super) async fn upload(
    State(state): State<AppState>,
    ApiJson(r): ApiJson<UploadExperimentRequest>,
) -> Result<Response, ApiError> {
    let files = files(&r.files)?;
    let input: usize = files.iter().map(|f| f.data.len()).sum();
    if input > MAX_PROJECT_BYTES || input == 0 {
        return Err(invalid("files", "the project must hold 1 byte to 64 MiB"));
    }
    let fragment = r.fragment_bytes.unwrap_or(DEFAULT_FRAGMENT_BYTES);
    if !(1..=MAX_PROJECT_BYTES).contains(&fragment) {
        return Err(invalid("fragmentBytes", "fragmentBytes must be 1..=64 MiB"));
    }
    let repetitions = r.repetitions.unwrap_or(1);
    if !(1..=MAX_REPETITIONS).contains(&repetitions) {
        return Err(invalid("repetitions", "repetitions must be 1..=20"));
    }
    let parallel = r.parallel.unwrap_or(1);
    if !(1..=MAX_PARALLEL).contains(&parallel) {
        return Err(invalid("parallel", "parallel must be 1..=4"));
    }
    let name_ok = |s: &str| {
        !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    let project = r.project_name.clone().unwrap_or_else(|| "bff-upload".into());
    if !name_ok(&project) {
        return Err(invalid("projectName", "projectName must be 1..=64 of [A-Za-z0-9._-]"));
    }
    let version_prefix = r.version_prefix.clone().unwrap_or_else(|| "v".into());
    if !name_ok(&version_prefix) {
        return Err(invalid("versionPrefix", "versionPrefix must be 1..=64 of [A-Za-z0-9._-]"));
    }
    let timeout = timeout(&state, r.timeout_seconds, DEFAULT_TIMEOUT_SECONDS)?;
    let gwc = target(&state, GWC)?;
    let fdsc = r.fdsc_count.unwrap_or(0);
    let fdsc = u32::try_from(fdsc).map_err(|_| invalid("fdscCount", "fdscCount is too large"))?;
    let chain_pods = chain_pods(&state);
    let available = chain_pods.iter().filter(|(c, _)| c.starts_with("fdsc")).count();
    if fdsc as usize > available {
        return Err(limit("fdscCount", available, fdsc));
    }
    let request = json!({
        "files": {"count": files.len(), "totalBytes": input, "generated": r.files.items.is_none(),
            "sizeBytes": r.files.size_bytes, "seed": r.files.seed.or(r.files.items.is_none().then_some(1))},
        "fragmentBytes": fragment, "fdscCount": fdsc, "repetitions": repetitions, "parallel": parallel,
        "projectName": project, "versionPrefix": version_prefix, "timeoutSeconds": timeout.as_secs(),
        "funding": r.funding.unwrap_or_default(),
    });
    let spec = Spec {
        client: state.chains.for_chain(GWC).with_timeout(Duration::from_secs(120)),
        gwc,
        targets: super::packets::counterparties(&state),
        reads: state.chains.clone(),
        files: Arc::new(files),
        fragment,
        fdsc,
        repetitions,
        parallel,
        project,
        version_prefix,
        fee: Fee { gas_limit: 200_000, gas_price: 0.001 },
        funding: r.funding.unwrap_or_default(),
        source: funding_source(&state, GWC),
        timeout,
        poll: state.settings.jobs.poll_interval,
        chain_pods,
        exec: state.exec(),
        request: request.clone(),
        evidence: evidence(&state),
    };
    submit(&state, "utils.experiments.upload", request, experiment::steps(spec), timeout + JOB_TIMEOUT_MARGIN)
}

/// `(chain id, pod)` of every ready chain pod.
fn chain_pods(state: &AppState) -> Vec<(String, String)> {
    let snapshot = state.directory.snapshot();
    views::chain_pods(&snapshot.pods)
        .into_iter()
        .filter(|p| views::is_ready(p))
        .filter_map(|p| {
            Some((p.metadata.labels.as_ref()?.get(INSTANCE_LABEL)?.clone(), p.metadata.name.clone()?))
        })
        .collect()
}

/// What the figures were measured on: each pod's images, each chain's versions, the
/// gateway's params and the IBC paths, read when the experiment ends.
fn evidence(state: &AppState) -> Evidence {
    let state = state.clone();
    Arc::new(move || {
        let state = state.clone();
        async move {
            let pods: Vec<Value> = state.directory.snapshot().pods.iter().map(|p| pod_images(p)).collect();
            let chains =
                futures::future::join_all(state.directory.snapshot().chain_ids().into_iter().map(|id| {
                    let state = state.clone();
                    async move { chain_versions(&state, &id).await }
                }))
                .await;
            let params = match target(&state, GWC) {
                Ok(t) => state
                    .chains
                    .rest_get(&t.api, "/gwc/gateway/v1/params", &[])
                    .await
                    .map(|v| v["params"].clone())
                    .unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            let ibc =
                serde_json::to_value(crate::system::ibc::health(&state.reads()).await).unwrap_or_default();
            json!({"pods": pods, "chains": chains, "gatewayParams": params, "ibc": ibc})
        }
        .boxed()
    })
}

fn pod_images(p: &k8s_openapi::api::core::v1::Pod) -> Value {
    let spec = p.spec.as_ref();
    let statuses = p.status.as_ref().and_then(|s| s.container_statuses.clone()).unwrap_or_default();
    let containers: Vec<Value> = spec
        .map(|s| {
            s.containers
                .iter()
                .map(|c| {
                    let id = statuses.iter().find(|s| s.name == c.name).map(|s| s.image_id.clone());
                    json!({"name": c.name, "image": c.image, "imageID": id})
                })
                .collect()
        })
        .unwrap_or_default();
    let image = containers.first().map(|c| c["image"].clone()).unwrap_or(Value::Null);
    json!({"name": p.metadata.name, "image": image, "containers": containers})
}

async fn chain_versions(state: &AppState, id: &str) -> Value {
    let Ok(t) = target(state, id) else { return json!({"chainId": id}) };
    let client = state.chains.for_chain(id);
    let (node, app) = futures::join!(
        crate::chain::rpc::node_status(&client, &t.rpc),
        client.rest_get(&t.api, "/cosmos/base/tendermint/v1beta1/node_info", &[])
    );
    json!({
        "chainId": id,
        "network": node.as_ref().ok().and_then(|(s, _)| s.network.clone()),
        "cometbftVersion": node.as_ref().ok().and_then(|(s, _)| s.version.clone()),
        "appVersion": app.as_ref().ok().map(|a| a["application_version"].clone()),
    })
}

/// The sessions of a finished upload experiment as CSV, one row per session.
#[utoipa::path(get, path = "/jobs/{id}/result.csv", operation_id = "utils_job_result_csv", tag = "utils jobs",
    params(("id" = String, Path, description = "job id")),
    responses(
        (status = 200, description = "text/csv: one row per session, the exam scripts' fields among the columns", body = String),
        (status = 404, description = "JOB_NOT_FOUND, or a job whose result has no sessions", body = ErrorEnvelope),
    ))]
pub(super) async fn result_csv(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let job = state.jobs.get(Scope::Utils, &id).map(|c| c.snapshot());
    let result = job.and_then(|j| j.result).filter(|r| r["sessions"].is_array());
    let Some(result) = result else {
        return Err(ApiError::new(
            crate::error_code::ErrorCode::JobNotFound,
            "no upload experiment result with this id",
        ));
    };
    let csv = experiment::report::csv(&result);
    Ok(([(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
}
