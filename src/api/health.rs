//! `/healthz` (the process answers) and `/readyz` (every cache synced and the API server
//! reachable, or unreachable for less than the grace).

use super::error::{ApiError, ErrorCode};
use crate::app::AppState;
use crate::cache::Readiness;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `alive` or `ready`.
    pub status: String,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "OK", body = super::Success<Health>)))]
async fn healthz() -> Response {
    super::ok(Health { status: "alive".into() })
}

/// Ready to serve reads from the cache.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "OK", body = super::Success<Health>),
    (status = 503, description = "caches not synced, or the API server unreachable past the grace; `details.reasons` says which", body = super::error::ErrorEnvelope),
))]
async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.cache.health.readiness() {
        Readiness::Ready => Ok(super::ok(Health { status: "ready".into() })),
        Readiness::NotReady(reasons) => {
            Err(ApiError::new(ErrorCode::NotReady, reasons.join("; "))
                .with_details(json!({"reasons": reasons})))
        }
    }
}
