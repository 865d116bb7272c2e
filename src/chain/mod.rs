//! Clients of the chains' own APIs (CometBFT RPC, Cosmos REST) and the chain-side domain of
//! the chain reads: endpoints (given, never discovered here), tx decode/build, block-time
//! statistics. Nothing here knows axum or Kubernetes objects: the cache's directory resolves
//! endpoints from Pods and Services, and `api::chains` turns these results and `Error` into
//! HTTP.

pub mod blocktime;
pub mod client;
pub mod endpoints;
pub mod gateway_msgs;
pub mod ibc;
pub mod ibc_query;
pub mod proto_json;
pub mod rest;
pub mod rpc;
mod status_cache;
pub mod tx;

pub use client::ChainClient;
pub use status_cache::StatusCache;

/// Why a chain call failed, in terms the API layer maps to its error codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No chain pod and no fixed endpoint carries this id.
    #[error("chain {0} not found")]
    ChainNotFound(String),
    /// The chain exists but the endpoint kind (`rpc`/`api`) could not be resolved.
    #[error("no {kind} endpoint resolved for chain {chain}")]
    NoEndpoint { chain: String, kind: &'static str },
    #[error("invalid address: {0}")]
    InvalidAddress(String),
    #[error("invalid height: {0}")]
    InvalidHeight(String),
    #[error("invalid txBytes: {0}")]
    InvalidTxBytes(String),
    /// A request field out of range or of the wrong form.
    #[error("invalid {field}: {message}")]
    Validation { field: &'static str, message: String },
    /// Connection refused, DNS failure, reset: the node is not there.
    #[error("failed to reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("{url} did not answer within {timeout_ms} ms")]
    Timeout { url: String, timeout_ms: u128 },
    /// The node answered with an error (JSON-RPC error, REST error body, non-2xx).
    #[error("{url} answered an error: {message}")]
    Upstream { url: String, status: Option<u16>, code: Option<i64>, message: String },
    /// The node asked about an object it does not have (REST gRPC code 5).
    #[error("{what} not found: {reason}")]
    NotFound { what: &'static str, reason: String },
    /// A broadcast tx was not included within the wait of `broadcastMode=block`.
    #[error("tx {txhash} was not included in a block within {timeout_ms} ms")]
    InclusionTimeout { txhash: String, timeout_ms: u128 },
}

impl Error {
    /// The code every layer reports this failure with: the one mapping from chain errors to
    /// the shared vocabulary, used by HTTP answers and by jobs alike.
    pub fn code(&self) -> crate::error_code::ErrorCode {
        use crate::error_code::ErrorCode as C;
        match self {
            Self::ChainNotFound(_) => C::ChainNotFound,
            Self::NoEndpoint { .. } | Self::Unreachable { .. } => C::UpstreamUnreachable,
            Self::InvalidAddress(_) => C::InvalidAddress,
            Self::InvalidHeight(_) => C::InvalidHeight,
            Self::InvalidTxBytes(_) => C::InvalidTxBytes,
            Self::Validation { .. } => C::ValidationError,
            Self::Timeout { .. } | Self::InclusionTimeout { .. } => C::Timeout,
            Self::Upstream { .. } => C::UpstreamError,
            Self::NotFound { what: "tx", .. } => C::TxNotFound,
            Self::NotFound { .. } => C::NotFound,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
