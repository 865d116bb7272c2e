//! Clients of the chains' own APIs (CometBFT RPC, Cosmos REST).

pub mod rpc;
mod status_cache;

pub use status_cache::StatusCache;
