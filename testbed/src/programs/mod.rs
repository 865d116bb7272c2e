//! Simulated programs that run inside the testbed's pods: the relayer's `rly`, backed by
//! the in-process chains.

pub(super) mod chain_keys;
pub(super) mod gateway_cli;
pub(super) mod gateway_tx;
mod rly;
mod rly_config;
mod rly_link;
mod rly_relay;
mod yaml;

pub use rly::Rly;
pub use rly_link::LinkFaults;
pub use rly_relay::RelayControls;
