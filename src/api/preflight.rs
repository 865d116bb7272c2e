//! `/system/preflight`: the handler over `crate::system::preflight`.

use super::error::ApiError;
use crate::app::AppState;
use crate::system::preflight::Preflight;
use axum::extract::State;
use axum::response::Response;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preflight))
}

/// Checks every precondition of `/system/start`.
#[utoipa::path(get, path = "/preflight", tag = "system", responses((status = 200, description = "OK", body = super::Success<Preflight>)))]
async fn preflight(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(super::ok(crate::system::preflight::preflight(&state.reads()).await))
}
