//! The one error-code vocabulary. HTTP errors (`api::error::ApiError`) and job failures
//! (`jobs::StepFailure`, a job's `error.code`) both speak it, so a client handles
//! `CHAIN_NOT_FOUND` the same whether a request or a job met it, and the OpenAPI document
//! lists every code a client can see in one enum.

use serde::Serialize;
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

/// What a `K8S_FORBIDDEN` answer (HTTP or job) tells the operator to do.
pub const K8S_FORBIDDEN_HINT: &str = "apply deploy/rbac.yaml, or bind a Role with the verbs it lists";
