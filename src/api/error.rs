//! The one place errors become HTTP. Every failure leaves as
//! `{"ok":false,"error":{"code","message","details"}}` (the documented `ErrorEnvelope`) with
//! the status its code maps to (`status_of`, one exhaustive match). Lower layers keep their
//! own error enums and convert here; an internal cause is logged (never sent), and messages
//! sent to clients never carry secrets.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

pub use crate::error_code::{ErrorCode, Failure};

/// An error on its way to the client: the failure it sends, and a cause it only logs.
#[derive(Debug, Clone)]
pub struct ApiError {
    error: Failure,
    /// Logged by `into_response`, never sent.
    internal: Option<String>,
}

impl std::ops::Deref for ApiError {
    type Target = Failure;
    fn deref(&self) -> &Failure {
        &self.error
    }
}

impl From<Failure> for ApiError {
    fn from(error: Failure) -> Self {
        Self { error, internal: None }
    }
}

/// The error envelope, as documented in OpenAPI.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// Always false.
    pub ok: bool,
    pub error: Failure,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure::new(code, message).into()
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.error.details = details;
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

    /// No route matches. The path came from the request: it is not repeated back.
    pub fn route_not_found() -> Self {
        Self::new(ErrorCode::NotFound, "no route for this path; GET /api/v1/openapi.json lists them")
    }

    /// The pod named in the path does not exist (the name is the client's: not repeated back).
    pub fn pod_not_found() -> Self {
        Self::new(ErrorCode::PodNotFound, "no pod with that name in the namespace")
            .with_details(json!({"field": "pod"}))
    }

    /// Reports the error against `field` (kept with the other details), e.g. `messages[0].value`.
    pub fn at_field(mut self, field: &str) -> Self {
        match self.error.details.as_object_mut() {
            Some(details) => {
                details.insert("field".into(), field.into());
            }
            None => self.error.details = json!({"field": field}),
        }
        self
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::InternalError, "internal error").with_internal(cause)
    }

    /// The Kubernetes API failed or could not be reached.
    pub fn k8s(cause: kube::Error) -> Self {
        if let kube::Error::Api(status) = &cause
            && status.code == 403
        {
            // Kubernetes' message names the identity and the missing right, nothing secret.
            let message = format!("the BFF's ServiceAccount lacks a Kubernetes right: {}", status.message);
            return Self::new(ErrorCode::K8sForbidden, message)
                .with_details(json!({"hint": crate::error_code::K8S_FORBIDDEN_HINT}));
        }
        let message = match &cause {
            kube::Error::Api(status) => format!("Kubernetes API answered {}: {}", status.code, status.reason),
            _ => "Kubernetes API unreachable".to_string(),
        };
        Self::new(ErrorCode::K8sUnavailable, message).with_internal(cause)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.code);
        if let Some(cause) = &self.internal {
            tracing::warn!(code = ?self.code, %cause, "request failed");
        }
        let body = ErrorEnvelope { ok: false, error: self.error };
        (status, axum::Json(body)).into_response()
    }
}

/// The HTTP status of each code. Job-only codes carry the status they would have if a
/// request met them directly (a failed upstream action is a bad gateway, a not-ready
/// dependency unavailable).
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::BadRequest => StatusCode::BAD_REQUEST,
        C::NotFound
        | C::JobNotFound
        | C::PodNotFound
        | C::ChainNotFound
        | C::TxNotFound
        | C::RelayerNotFound => StatusCode::NOT_FOUND,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        C::JobConflict | C::SystemStopped => StatusCode::CONFLICT,
        C::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        C::ValidationError | C::InvalidAddress | C::InvalidHeight | C::InvalidTxBytes => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        C::LimitExceeded => StatusCode::TOO_MANY_REQUESTS,
        C::K8sForbidden => StatusCode::FORBIDDEN,
        C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        C::InternalError | C::K8sUnavailable => StatusCode::INTERNAL_SERVER_ERROR,
        C::UpstreamError | C::ExecFailed | C::RelayerLinkFailed | C::StorageRegisterFailed => {
            StatusCode::BAD_GATEWAY
        }
        C::UpstreamUnreachable | C::NotReady | C::RelayerNotReady | C::IbcNotReady => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        C::Timeout | C::ChainStalled => StatusCode::GATEWAY_TIMEOUT,
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Layer 2: chain calls. Upstream errors keep the node's code and text in `details`; the
/// URL goes to the log only (it may be a configured endpoint with credentials in it).
impl From<crate::chain::Error> for ApiError {
    fn from(e: crate::chain::Error) -> Self {
        use crate::chain::Error as E;
        let error_code = e.code();
        match e {
            // The id came from the request: it is not echoed back (a client's input never returns in an error).
            E::ChainNotFound(_) => {
                Self::new(error_code, "no chain with that id; GET /api/v1/chains lists the chains")
            }
            E::NoEndpoint { chain, kind } => {
                Self::new(error_code, format!("no {kind} endpoint resolved for chain {chain}"))
                    .with_details(json!({"chainId": chain, "endpoint": kind}))
            }
            E::InvalidAddress(reason) => {
                Self::new(error_code, "invalid bech32 address").with_details(json!({"reason": reason}))
            }
            E::InvalidHeight(reason) => {
                Self::new(error_code, "invalid height").with_details(json!({"reason": reason}))
            }
            E::InvalidTxBytes(reason) => Self::new(error_code, "txBytes cannot be decoded")
                .with_details(json!({"field": "txBytes", "reason": reason})),
            E::Validation { field, message } => Self::validation(field, message),
            ref unreachable @ E::Unreachable { .. } => {
                Self::new(error_code, "chain node unreachable").with_internal(unreachable)
            }
            E::Timeout { timeout_ms, .. } => {
                Self::new(error_code, format!("chain node did not answer within {timeout_ms} ms"))
                    .with_details(json!({"timeoutMs": timeout_ms}))
                    .with_internal(&e)
            }
            E::Upstream { ref status, ref code, ref message, .. } => {
                Self::new(error_code, format!("chain node answered an error: {message}"))
                    .with_details(json!({"upstreamStatus": status, "upstreamCode": code, "upstreamLog": message}))
                    .with_internal(&e)
            }
            E::NotFound { what: "tx", reason } => Self::new(error_code, "tx not found (yet)").with_details(json!({
                "reason": "not in any committed block: not included yet, rejected at CheckTx, or tx indexing is off",
                "upstream": reason,
            })),
            E::NotFound { what, reason } => Self::new(error_code, format!("{what} not found"))
                .with_details(json!({"upstream": reason})),
            E::InclusionTimeout { txhash, timeout_ms } => Self::new(
                error_code,
                format!("tx was accepted but not included in a block within {timeout_ms} ms"),
            )
            .with_details(json!({"txhash": txhash, "timeoutMs": timeout_ms})),
        }
    }
}
