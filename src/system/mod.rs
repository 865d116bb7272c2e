//! Read models of the system, for the HTTP layer, `bench` and the utilities alike: status,
//! ports, topology, and the resource snapshot. They read the cache and the chain directory,
//! call chains through the metered client and pods through the one exec path; they never see
//! the HTTP layer.

pub mod ibc;
pub mod ports;
pub mod preflight;
pub mod relayer;
pub mod restart_loop;
pub mod rights;
mod settings;
pub mod snapshot;
pub mod status;
pub mod topology;

pub use settings::IbcSettings;

use crate::cache::Cache;
use crate::cache::directory::ChainDirectory;
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
    pub ibc: IbcSettings,
    /// Pending packets' first sightings and the last IBC observation, kept for the process.
    pub ibc_memo: ibc::Memo,
    pub metrics: crate::metrics::Metrics,
    /// The status page's serialized pod and service rows, per cache generation.
    pub status_rows: status::Rows,
    /// Whether Nodes are watched (no `NODE_HOST`): preflight then checks that right too.
    pub watch_nodes: bool,
}
