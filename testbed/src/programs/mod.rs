//! Simulated programs that run inside the testbed's pods: the relayer's `rly`, backed by
//! the in-process chains.

pub(super) mod chain_keys;
pub(super) mod gateway_cli;
pub(super) mod gateway_tx;
mod rly;
mod rly_cli;
mod rly_config;
mod rly_feegrant;
#[cfg(test)]
mod rly_feegrant_tests;
mod rly_handshake;
mod rly_home;
mod rly_link;
mod rly_relay;
mod rly_signer;
mod yaml;

pub use rly::Rly;
pub use rly_handshake::LinkFaults;
pub use rly_relay::RelayControls;
