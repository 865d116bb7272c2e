//! The testbed's chains (TESTBED.md §4): one simulated CometBFT 0.38 + Cosmos SDK v0.50 node
//! per chain pod, serving CometBFT RPC and Cosmos REST on the chain's NodePorts, producing
//! blocks with real header times, and verifying transactions for real.
//!
//! ```text
//! rpc/ (26657) ─┐                       ┌─ execute (CheckTx / deliver / simulate)
//! rest/ (1317) ─┼─▶ node (ChainNode) ──▶ state ─┤     └─ ante → keys, gas, sdk_error
//! control ──────┘     │ producer (interval)     ├─ mempool, block (hashes, precommit)
//!                     └ watch: heights, mempool └─ ledger (accounts, balances, ibc, gateway)
//! ```
//! `Chains` is the registry the cluster fills as chains are added and removed.

pub mod ante;
pub mod authz;
pub mod block;
pub mod client_update;
pub mod coins;
mod counters;
pub mod disk;
mod endpoint;
pub mod events;
pub mod execute;
pub mod gas;
pub mod gateway;
pub mod genesis;
mod gw_executor;
mod gw_http;
pub mod gw_keeper;
#[cfg(test)]
mod gw_keeper_tests;
pub mod gw_wire;
pub mod ibc;
pub mod ibc_handshake;
pub mod keys;
pub mod ledger;
pub mod light_client;
pub mod mempool;
pub mod merkle;
pub mod msgs;
mod node;
#[cfg(test)]
mod node_tests;
pub mod packet_events;
pub mod packets;
pub mod pagination;
mod producer;
pub mod query;
pub(crate) mod rest;
pub mod rpc;
pub mod sdk_error;
pub mod sessions;
mod state;
pub mod tx_codec;

pub use node::{
    APP_VERSION, BROADCAST_TX_COMMIT_TIMEOUT, ChainNode, CheckOutcome, IndexedTx, MempoolStatus, NodeConfig,
};

use endpoint::Endpoint;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// A weak handle on the registry, held by nodes (no reference cycle).
#[derive(Clone)]
pub struct ChainsRef(std::sync::Weak<RwLock<BTreeMap<String, ChainNode>>>);

impl ChainsRef {
    /// The chain's node if it is serving.
    pub fn serving(&self, chain_id: &str) -> Option<ChainNode> {
        let nodes = self.0.upgrade()?;
        let node = nodes.read().unwrap_or_else(|e| e.into_inner()).get(chain_id).cloned();
        node.filter(ChainNode::is_running)
    }
}

/// The running chains by chain id. Cheap to clone; all clones see one registry.
#[derive(Clone, Default)]
pub struct Chains {
    nodes: Arc<RwLock<BTreeMap<String, ChainNode>>>,
}

impl Chains {
    pub fn get(&self, chain_id: &str) -> Option<ChainNode> {
        self.nodes.read().unwrap_or_else(|e| e.into_inner()).get(chain_id).cloned()
    }

    /// The chain's node if it is serving: what a client inside the cluster (the relayer)
    /// can reach. A chain whose pod is scaled away is unreachable.
    pub fn serving(&self, chain_id: &str) -> Option<ChainNode> {
        self.get(chain_id).filter(ChainNode::is_running)
    }

    pub fn ids(&self) -> Vec<String> {
        self.nodes.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect()
    }

    /// Starts a chain's node and serves it on the listeners reserved for its NodePorts, in
    /// `(rpc, api, grpc)` order. gRPC is not served; its port stays held.
    pub fn start(
        &self,
        config: NodeConfig,
        listeners: Vec<std::net::TcpListener>,
    ) -> std::io::Result<ChainNode> {
        let node = ChainNode::new(config);
        let _ = node.0.peers.set(ChainsRef(Arc::downgrade(&self.nodes)));
        if let Err(e) = Self::serve(&node, listeners) {
            node.shutdown();
            return Err(e);
        }
        let mut nodes = self.nodes.write().unwrap_or_else(|e| e.into_inner());
        nodes.insert(node.chain_id().to_string(), node.clone());
        Ok(node)
    }

    fn serve(node: &ChainNode, listeners: Vec<std::net::TcpListener>) -> std::io::Result<()> {
        let mut listeners = listeners.into_iter();
        if let Some(rpc) = listeners.next() {
            let _ = node.0.rpc.set(Endpoint::serve(rpc, rpc::router(node.clone()))?);
        }
        if let Some(api) = listeners.next() {
            let _ = node.0.api.set(Endpoint::serve(api, rest::router(node.clone()))?);
        }
        *node.0.grpc_port.lock().unwrap_or_else(|e| e.into_inner()) = listeners.next();
        Ok(())
    }

    /// Stops and forgets a chain (scale-down).
    pub fn remove(&self, chain_id: &str) {
        if let Some(node) = self.nodes.write().unwrap_or_else(|e| e.into_inner()).remove(chain_id) {
            node.shutdown();
        }
    }

    pub fn shutdown_all(&self) {
        for (_, node) in std::mem::take(&mut *self.nodes.write().unwrap_or_else(|e| e.into_inner())) {
            node.shutdown();
        }
    }
}
