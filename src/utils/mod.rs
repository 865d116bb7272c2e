//! The utilities (served under `/api/v1/utils`), each a job in the `utils` scope: confirmation by following
//! new blocks (`confirm`), pre-signed load (`broadcast`), header-time throughput
//! (`throughput`), a resource snapshot (`snapshot`) and packet accounting (`packets`). They speak to chains through
//! `chain::ChainClient` only; the API layer resolves endpoints and validates requests.

pub mod broadcast;
pub mod confirm;
pub mod experiment;
pub mod funding;
pub mod load;
pub mod observe;
pub mod packets;
pub mod signer;
pub mod snapshot;
pub mod stats;
pub mod throughput;

use std::time::Duration;

/// Bounds of the utilities; a request beyond one is 429 `LIMIT_EXCEEDED` naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Broadcasts in flight at once (`maxConcurrency`).
    pub max_concurrency: usize,
    /// Txs per broadcast-batch and hashes per confirm-batch (`maxBatchSize`).
    pub max_batch_size: usize,
    /// Blocks one throughput measurement spans (`maxThroughputWindow`).
    pub max_throughput_window: u64,
    /// Longest watch a job may ask for (`maxTimeoutSeconds`).
    pub max_timeout_seconds: u64,
    /// Interval between `blockchain` polls while following new blocks.
    pub poll_interval: Duration,
}

impl Limits {
    /// Defaults: a CometBFT mempool holds 5000 txs (`[mempool] size`), so a batch never
    /// has to overflow it; 10000 blocks is under three hours of 1 s blocks.
    pub const DEFAULT: Self = Self {
        max_concurrency: 32,
        max_batch_size: 5000,
        max_throughput_window: 10_000,
        max_timeout_seconds: 3600,
        poll_interval: Duration::from_millis(250),
    };
}

/// Where a utility reaches a chain: the API key and the BFF's own RPC/REST URLs for it.
#[derive(Debug, Clone)]
pub struct ChainTarget {
    pub chain_id: String,
    pub rpc: String,
    pub api: String,
}

/// Seconds from `a` to `b` (negative when `b` is earlier).
pub(crate) fn seconds_between(a: jiff::Timestamp, b: jiff::Timestamp) -> f64 {
    b.duration_since(a).as_secs_f64()
}
