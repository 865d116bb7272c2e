//! The one place errors become HTTP. Every failure leaves as
//! `{"ok":false,"error":{"code","message","details"}}` with the status SPEC §3 assigns to its
//! code. Lower layers keep their own error enums and convert here; an internal cause is
//! logged (never sent), and messages sent to clients never carry secrets.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// Stable, machine-readable error codes (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BadRequest,
    NotFound,
    JobNotFound,
    PodNotFound,
    ChainNotFound,
    MethodNotAllowed,
    JobConflict,
    ValidationError,
    InvalidAddress,
    InvalidHeight,
    InvalidTxBytes,
    LimitExceeded,
    InternalError,
    K8sUnavailable,
    UpstreamError,
    UpstreamUnreachable,
    NotReady,
    Timeout,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::NotFound | Self::JobNotFound | Self::PodNotFound | Self::ChainNotFound => {
                StatusCode::NOT_FOUND
            }
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::JobConflict => StatusCode::CONFLICT,
            Self::ValidationError | Self::InvalidAddress | Self::InvalidHeight | Self::InvalidTxBytes => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::LimitExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::InternalError | Self::K8sUnavailable => StatusCode::INTERNAL_SERVER_ERROR,
            Self::UpstreamError => StatusCode::BAD_GATEWAY,
            Self::UpstreamUnreachable | Self::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Value,
    /// Logged by `into_response`, never sent.
    internal: Option<String>,
}

/// The error envelope, as documented in OpenAPI.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// Always false.
    pub ok: bool,
    pub error: ErrorBody,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// Structured context: the offending field, the limit, the running job…
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: json!({}), internal: None }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Attaches a cause for the service log only.
    pub fn with_internal(mut self, cause: impl std::fmt::Display) -> Self {
        self.internal = Some(cause.to_string());
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// 422 naming the offending field.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message).with_details(json!({"field": field}))
    }

    pub fn route_not_found(path: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no route for {path}")).with_details(json!({"path": path}))
    }

    pub fn pod_not_found(pod: &str) -> Self {
        Self::new(ErrorCode::PodNotFound, format!("pod {pod} not found")).with_details(json!({"pod": pod}))
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::InternalError, "internal error").with_internal(cause)
    }

    /// The Kubernetes API failed or could not be reached.
    pub fn k8s(cause: kube::Error) -> Self {
        let message = match &cause {
            kube::Error::Api(status) => format!("Kubernetes API answered {}: {}", status.code, status.reason),
            _ => "Kubernetes API unreachable".to_string(),
        };
        Self::new(ErrorCode::K8sUnavailable, message).with_internal(cause)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        if let Some(cause) = &self.internal {
            tracing::warn!(code = ?self.code, %cause, "request failed");
        }
        let body = json!({"ok": false, "error": {"code": self.code, "message": self.message, "details": self.details}});
        (status, axum::Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
