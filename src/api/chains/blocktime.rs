//! `GET /chains/{chainId}/blocktime`: header-time block intervals over an incremental header
//! cache.

use crate::api::error::{ApiError, ErrorEnvelope};
use crate::api::extract::ApiQuery;
use crate::app::AppState;
use crate::chain::blocktime;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Chain, UpstreamErrors};

// ----- blocktime ------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlocktimeQuery {
    /// Latest blocks to look at, 2..2000 (default 100).
    window: Option<u64>,
    /// Comma list in (0, 100] (default `50,95`).
    percentiles: Option<String>,
    /// `intervals`: also return every interval of the window (for histograms and sparklines).
    include: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlocktimeView {
    pub chain_id: String,
    /// The chain id the node reports.
    pub network: Option<String>,
    /// True when this window was already computed at the same latest height.
    pub cached: bool,
    pub latest_height: u64,
    #[serde(flatten)]
    pub report: blocktime::Report,
    /// With `include=intervals`: each header-time interval in seconds, oldest first; the
    /// i-th is from block `range.fromHeight`+i to the next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intervals: Option<Vec<f64>>,
}

/// Block-time statistics over the latest `window` blocks (seconds).
#[utoipa::path(get, operation_id = "chains_blocktime", path = "/{chainId}/blocktime", tag = "chains",
    params(("chainId" = String, Path, description = "chain id"), BlocktimeQuery),
    responses(
        (status = 200, description = "OK", body = crate::api::Success<BlocktimeView>),
        UpstreamErrors,
        (status = 422, description = "VALIDATION_ERROR: window outside 2..2000, bad percentiles, or too few blocks", body = ErrorEnvelope),
    ))]
pub(super) async fn blocktime(
    State(state): State<AppState>,
    Chain { id: chain_id, endpoints }: Chain,
    ApiQuery(q): ApiQuery<BlocktimeQuery>,
) -> Result<Response, ApiError> {
    let rpc_url = endpoints.rpc()?;
    let window = q.window.unwrap_or(blocktime::DEFAULT_WINDOW);
    if !(blocktime::MIN_WINDOW..=blocktime::MAX_WINDOW).contains(&window) {
        return Err(ApiError::validation(
            "window",
            format!("window must be within {}..{}", blocktime::MIN_WINDOW, blocktime::MAX_WINDOW),
        ));
    }
    let with_intervals = match q.include.as_deref().map(str::trim) {
        None | Some("") => false,
        Some("intervals") => true,
        Some(_) => return Err(ApiError::validation("include", "the only part is `intervals`")),
    };
    let percentiles = match q.percentiles.as_deref() {
        None => blocktime::DEFAULT_PERCENTILES.to_vec(),
        Some(list) => {
            blocktime::parse_percentiles(list).map_err(|m| ApiError::validation("percentiles", m))?
        }
    };
    let measured = blocktime::measure(
        &state.chains.for_chain(&chain_id),
        &state.blocktimes,
        &rpc_url,
        window,
        &percentiles,
    )
    .await?;
    let intervals = with_intervals.then(|| measured.report.intervals.clone());
    Ok(crate::api::ok(BlocktimeView {
        chain_id,
        network: measured.network,
        cached: measured.cached,
        latest_height: measured.latest_height,
        report: measured.report,
        intervals,
    }))
}
