//! IBC channel ends as a chain stores them (`ibc-go v8 : IdentifiedChannel` plus the client
//! each connection rides on). The simulated `rly transact link` opens them in-process; the
//! REST channel queries read them.

/// Channel states by their protobuf enum names (`ibc.core.channel.v1.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    Init,
    TryOpen,
    Open,
    Closed,
}

impl ChannelState {
    pub fn as_proto_name(self) -> &'static str {
        match self {
            Self::Init => "STATE_INIT",
            Self::TryOpen => "STATE_TRYOPEN",
            Self::Open => "STATE_OPEN",
            Self::Closed => "STATE_CLOSED",
        }
    }
}

/// One channel end on this chain and what it connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IbcChannel {
    pub port_id: String,
    pub channel_id: String,
    pub state: ChannelState,
    /// `ORDER_UNORDERED` or `ORDER_ORDERED`.
    pub ordering: &'static str,
    pub counterparty_port_id: String,
    /// Empty while the counterparty end is still INIT.
    pub counterparty_channel_id: String,
    pub connection_id: String,
    pub version: String,
    /// The light client under the connection, e.g. `07-tendermint-0`.
    pub client_id: String,
    /// The chain that client tracks (the counterparty's chain id).
    pub counterparty_chain_id: String,
}

/// `channel-<n>` with `n` the number of channels this chain already has (ibc-go numbers
/// channel identifiers per chain from a global sequence).
pub fn next_channel_id(existing: &[IbcChannel]) -> String {
    format!("channel-{}", existing.len())
}
