//! Read models of the system, for the HTTP layer, `bench` and the experiments alike: status,
//! ports, topology, and the resource snapshot. They read the cache and the chain directory,
//! call chains through the metered client and pods through the one exec path; they never see
//! the HTTP layer.

pub mod ports;
pub mod preflight;
pub mod relayer;
pub mod snapshot;
pub mod status;
pub mod topology;

use crate::cache::Cache;
use crate::chain::directory::ChainDirectory;
use crate::chain::{ChainClient, StatusCache};
use crate::k8s::PodExec;

/// What the read models may touch.
#[derive(Clone)]
pub struct Reads {
    pub kube: kube::Client,
    pub cache: Cache,
    pub directory: ChainDirectory,
    pub chains: ChainClient,
    /// Recent node statuses (short timeout, memoised per TTL).
    pub chain_status: StatusCache,
    pub exec: PodExec,
    pub namespace: String,
    pub release: String,
    /// The relayer's home in its pod (`RLY_HOME`).
    pub rly_home: String,
}
