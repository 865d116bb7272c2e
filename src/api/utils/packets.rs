//! `POST /api/v1/utils/observe/packets`: accounting of every packet gwc's gateway channels sent
//! in a gwc height range (the work is `crate::utils::packets`).

use super::{limit, submit, target};
use crate::api::body::BodyErrors;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::api::extract::ApiJson;
use crate::app::AppState;
use crate::chain::{self, rpc};
use crate::chart::GWC;
use crate::jobs::model::AcceptedAnswer;
use crate::utils::packets::PacketsStep;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PacketsRequest {
    /// First gwc height whose sends count.
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub from_height: Option<u64>,
    /// Last gwc height whose sends count (at most gwc's latest).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub to_height: Option<u64>,
    /// Only the pair of gwc and this chain.
    pub chain_id: Option<String>,
    /// Only the packets of this upload session.
    pub session_id: Option<String>,
}

/// Every packet sent on gwc's gateway channels in a height range, followed to its receipt and
/// ack (or timeout) from the chains' events: heights, commit times, relayer, redundant relays,
/// per-hop statistics per pair, and sent = acked + timedOut + pending with pending ages.
#[utoipa::path(post, path = "/observe/packets", operation_id = "utils_observe_packets", tag = "utils",
    request_body = PacketsRequest,
    responses(
        (status = 202, description = "job accepted", body = AcceptedAnswer),
        BodyErrors,
        (status = 404, description = "CHAIN_NOT_FOUND", body = ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR / INVALID_HEIGHT (range outside gwc)", body = ErrorEnvelope),
        (status = 429, description = "LIMIT_EXCEEDED (maxThroughputWindow, maxRunningJobs)", body = ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR", body = ErrorEnvelope),
        (status = 503, description = "UPSTREAM_UNREACHABLE", body = ErrorEnvelope),
    ))]
pub(super) async fn packets_job(
    State(state): State<AppState>,
    ApiJson(r): ApiJson<PacketsRequest>,
) -> Result<Response, ApiError> {
    let (Some(from), Some(to)) = (r.from_height, r.to_height) else {
        return Err(ApiError::validation("fromHeight", "give fromHeight and toHeight"));
    };
    if from == 0 || to < from {
        return Err(chain::Error::InvalidHeight("need 1 <= fromHeight <= toHeight".into()).into());
    }
    let cap = state.settings.jobs.max_throughput_window;
    if to - from + 1 > cap {
        return Err(limit("maxThroughputWindow", cap, to - from + 1));
    }
    for (field, v) in [("chainId", &r.chain_id), ("sessionId", &r.session_id)] {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(ApiError::validation(field, format!("{field} must not be empty")));
        }
    }
    let gwc = target(&state, GWC)?;
    if let Some(chain_id) = &r.chain_id {
        target(&state, chain_id)?;
    }
    let (status, _) = rpc::node_status(&state.chains, &gwc.rpc).await?;
    let latest = status.latest_height.unwrap_or_default();
    if to > latest {
        return Err(
            chain::Error::InvalidHeight(format!("toHeight is above gwc's latest height {latest}")).into()
        );
    }
    let targets = counterparties(&state);
    let request =
        json!({"fromHeight": from, "toHeight": to, "chainId": r.chain_id, "sessionId": r.session_id});
    let step = PacketsStep {
        client: state.chains.clone(),
        gwc,
        targets,
        from,
        to,
        chain_id: r.chain_id,
        session_id: r.session_id,
    };
    let timeout = Duration::from_secs(state.settings.jobs.max_timeout_seconds);
    submit(&state, "utils.observe.packets", request, vec![Arc::new(step)], timeout)
}

/// Where every chain but gwc is reached (those without endpoints left out).
pub(super) fn counterparties(state: &AppState) -> BTreeMap<String, crate::utils::ChainTarget> {
    let chain_ids = state.directory.snapshot().chain_ids();
    chain_ids
        .into_iter()
        .filter(|c| c != GWC)
        .filter_map(|c| target(state, &c).ok().map(|t| (c, t)))
        .collect()
}
