//! The HTTP API: `/healthz`, `/readyz`, `/metrics`, and `/api/v1` (`system`: reads and jobs,
//! `chains`, `utils`), every route registered through one `OpenApiRouter` so the served routes
//! and the OpenAPI document cannot drift apart. `router` is the single value main and the tests serve (`serve`).

pub(crate) mod body;
mod chains;
mod connections;
pub mod error;
pub mod extract;
mod health;
mod int;
pub mod jobs;
mod k8s;
mod list;
mod metrics;
mod openapi;
mod preflight;
mod reconcile;
pub mod serve;
pub mod system;
mod ui;
mod utils;

use crate::app::AppState;
use axum::Json;
use axum::response::{IntoResponse, Response};
use error::ApiError;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

/// The success envelope of reads: `{"ok": true, "data": …}`.
#[derive(Serialize, ToSchema)]
pub struct Success<T> {
    /// Always true.
    pub ok: bool,
    pub data: T,
}

pub fn ok<T: Serialize>(data: T) -> Response {
    Json(Success { ok: true, data }).into_response()
}

/// The application: health endpoints, `/api/v1`, its OpenAPI document and docs page, the dashboard.
pub fn router(state: AppState) -> axum::Router {
    let (router, doc) = OpenApiRouter::with_openapi(openapi::base())
        .merge(health::router())
        .merge(metrics::router())
        .nest(
            "/api/v1/system",
            system::router()
                .merge(preflight::router())
                .merge(k8s::router())
                .merge(reconcile::router())
                .merge(jobs::system::router()),
        )
        .nest("/api/v1/chains", chains::router())
        .nest("/api/v1/utils", utils::router().merge(jobs::utils::router()))
        .split_for_parts();
    let max_body_bytes = state.settings.max_body_bytes;
    let body_read_timeout = state.settings.server.body_read_timeout;
    let router = router
        .merge(openapi::docs(doc))
        .merge(ui::router())
        .fallback(|| async { ApiError::route_not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(error::ErrorCode::MethodNotAllowed, "method not allowed on this route")
        })
        .layer(axum::middleware::map_response(utf8_json))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    body::limit_layer(router, max_body_bytes, body_read_timeout).with_state(state)
}

/// Every JSON answer says its charset (`application/json; charset=utf-8`), as the API contract promises.
async fn utf8_json(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if headers.get(axum::http::header::CONTENT_TYPE).is_some_and(|v| v == "application/json") {
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    response
}
