//! The OpenAPI 3.1 document (generated from the handlers' annotations) at
//! `/api/v1/openapi.json`, and Swagger UI at `/api/v1/docs`, its assets vendored in the
//! binary so the page works with no network.

use crate::app::AppState;
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "cryptomeria-bff", description = "Reconciler and REST API for the Cryptomeria testbed"),
    components(schemas(super::error::ErrorEnvelope, super::error::ErrorCode)),
    tags(
        (name = "health", description = "liveness, readiness and Prometheus metrics"),
        (name = "system", description = "Layer 1: the testbed's state, from the live cache"),
        (name = "k8s", description = "Layer 1: Kubernetes objects of the namespace"),
        (name = "system jobs", description = "start/connect/restart jobs: one at a time"),
        (name = "chains", description = "Layer 2: chain discovery, reads, txs and block time"),
        (name = "utils jobs", description = "utility jobs: bounded by maxRunningJobs"),
    )
)]
struct Base;

pub fn base() -> OpenApi {
    Base::openapi()
}

pub fn docs(doc: OpenApi) -> axum::Router<AppState> {
    SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", doc).into()
}
