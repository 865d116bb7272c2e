//! The one error-code vocabulary. HTTP errors (`api::error::ApiError`) and job failures
//! (`jobs::StepFailure`, a job's `error.code`) both speak it, so a client handles
//! `CHAIN_NOT_FOUND` the same whether a request or a job met it, and the OpenAPI document
//! lists every code a client can see in one enum.

use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// Stable, machine-readable error codes (SPEC §3). Codes marked "job" are met by running jobs
/// and reported in the job's `error.code`; every other code is also an HTTP answer with the
/// status `ErrorCode::status` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BadRequest,
    NotFound,
    JobNotFound,
    PodNotFound,
    ChainNotFound,
    /// A tx hash the chain does not know (yet): details say why it may be missing.
    TxNotFound,
    MethodNotAllowed,
    JobConflict,
    ValidationError,
    InvalidAddress,
    InvalidHeight,
    InvalidTxBytes,
    LimitExceeded,
    /// The request body is larger than `maxBodyBytes`.
    PayloadTooLarge,
    /// A request body not sent as `application/json`.
    UnsupportedMediaType,
    InternalError,
    K8sUnavailable,
    /// The BFF's own ServiceAccount lacks a Kubernetes right: the message names it
    /// (details: `K8S_FORBIDDEN_HINT`).
    K8sForbidden,
    UpstreamError,
    UpstreamUnreachable,
    NotReady,
    Timeout,
    /// Job: an exec in a pod could not run or its command failed.
    ExecFailed,
    /// Job: no relayer pod, or it vanished mid-job (run the job again).
    RelayerNotFound,
    /// Job: the relayer pod is not Running and Ready.
    RelayerNotReady,
    /// Job: `rly transact link` did not leave an OPEN gateway channel after every attempt.
    RelayerLinkFailed,
    /// Job: a storage chain's gateway registration did not land on gwc.
    StorageRegisterFailed,
    /// Job: channels not OPEN or chains not live within the wait.
    IbcNotReady,
    /// Job: the chain stopped producing blocks while a job followed it.
    ChainStalled,
}

impl ErrorCode {
    /// The HTTP status of this code. Job-only codes carry the status they would have if a
    /// request met them directly (a failed upstream action is a bad gateway, a not-ready
    /// dependency unavailable).
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::NotFound
            | Self::JobNotFound
            | Self::PodNotFound
            | Self::ChainNotFound
            | Self::TxNotFound
            | Self::RelayerNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::JobConflict => StatusCode::CONFLICT,
            Self::ValidationError | Self::InvalidAddress | Self::InvalidHeight | Self::InvalidTxBytes => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::LimitExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::K8sForbidden => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InternalError | Self::K8sUnavailable => StatusCode::INTERNAL_SERVER_ERROR,
            Self::UpstreamError
            | Self::ExecFailed
            | Self::RelayerLinkFailed
            | Self::StorageRegisterFailed => StatusCode::BAD_GATEWAY,
            Self::UpstreamUnreachable | Self::NotReady | Self::RelayerNotReady | Self::IbcNotReady => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Timeout | Self::ChainStalled => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

/// What a `K8S_FORBIDDEN` answer (HTTP or job) tells the operator to do.
pub const K8S_FORBIDDEN_HINT: &str = "apply deploy/rbac.yaml, or bind a Role with the verbs it lists";
