//! Layer 1 reads (`/system/status`, `/system/ports`, `/system/topology`): handlers over the
//! read models in `crate::system`, all served from the cache.

use super::error::ApiError;
use crate::app::AppState;
use crate::system::{ibc::IbcHealth, ports::PortsView, status::SystemStatus, topology::Topology};
use axum::extract::State;
use axum::response::Response;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(ports))
        .routes(routes!(topology))
        .routes(routes!(ibc))
}

/// Health summary: pods, services, relayer pod, chain heights.
#[utoipa::path(get, path = "/status", tag = "system", responses(
    (status = 200, description = "OK", body = super::Success<SystemStatus>),
    (status = 500, description = "internal error, in the error envelope", body = super::error::ErrorEnvelope),
))]
async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(super::ok(crate::system::status::system_status(&state.reads()).await))
}

/// Connection endpoints per chain: NodePort URLs outside the cluster, Service DNS inside.
#[utoipa::path(get, path = "/ports", tag = "system", responses((status = 200, description = "OK", body = super::Success<PortsView>)))]
async fn ports(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(super::ok(crate::system::ports::ports_view(&state.reads())))
}

/// Chain pod ↔ Service ↔ ports ↔ Endpoints, per chain.
#[utoipa::path(get, path = "/topology", tag = "system", responses((status = 200, description = "OK", body = super::Success<Topology>)))]
async fn topology(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(super::ok(crate::system::topology::topology(&state.reads())))
}

/// IBC health per gwc↔chain pair: channel, connection and client ends with their states, the
/// relayer path's ids against the chain's, unrelayed packets and acks per direction, the
/// relayer's process and wallets, and a verdict `relaying | degraded | down` with reasons.
/// Memoised for `IBC_HEALTH_TTL` (one relayer probe and the chains' REST per observation).
#[utoipa::path(get, path = "/ibc", tag = "system", responses((status = 200, description = "OK", body = super::Success<IbcHealth>)))]
async fn ibc(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(super::ok(crate::system::ibc::health(&state.reads()).await))
}
