//! The one error-code vocabulary. HTTP errors (`api::error::ApiError`) and job failures
//! (a failed job's `error`, the same `Failure`) both speak it, so a client handles
//! `CHAIN_NOT_FOUND` the same whether a request or a job met it, and the OpenAPI document
//! lists every code a client can see in one enum.

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// Stable, machine-readable error codes. Codes marked "job" are met by running jobs
/// and reported in the job's `error.code`; every other code is also an HTTP answer (the API
/// layer gives each code its status). Nothing here knows HTTP.
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
    /// The client did not send its request body within `BODY_READ_TIMEOUT`.
    RequestTimeout,
    /// The release is scaled to zero (`POST /system/stop`): nothing can start or link until
    /// `POST /api/v1/system/resume`; details list each workload's replicas.
    SystemStopped,
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

/// A failure as a client sees it, whether a request or a running job met it: a stable code,
/// a message for people and structured details (the offending field, the limit, the running
/// job…). The API sends it inside its envelope with the status of its code; a failed job
/// carries it as its `error`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = ErrorBody)]
pub struct Failure {
    pub code: ErrorCode,
    pub message: String,
    #[schema(value_type = Object)]
    pub details: Value,
}

impl Failure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: json!({}) }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// A request beyond one of the BFF's limits: `limit` is its name (`maxBatchSize`),
    /// `value` its setting and `requested` what the request asked for.
    pub fn limit_exceeded(limit: &str, value: impl Into<Value>, requested: impl Into<Value>) -> Self {
        let value = value.into();
        Self::new(ErrorCode::LimitExceeded, format!("{limit} is {value}"))
            .with_details(json!({"limit": limit, "value": value, "requested": requested.into()}))
    }
}

/// What a `K8S_FORBIDDEN` answer (HTTP or job) tells the operator to do.
pub const K8S_FORBIDDEN_HINT: &str = "apply deploy/rbac.yaml, or bind a Role with the verbs it lists";
