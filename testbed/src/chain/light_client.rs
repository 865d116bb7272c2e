//! The light clients (07-tendermint) a chain keeps of its counterparties and the connection
//! ends over them: consensus states by height, the trusting period, and the status ibc-go
//! derives from them (`Active` / `Expired` / `Frozen`).

use std::collections::BTreeMap;

/// A light client's status (`modules/core/exported/client.go Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientStatus {
    #[default]
    Active,
    Expired,
    Frozen,
}

impl ClientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Expired => "Expired",
            Self::Frozen => "Frozen",
        }
    }
}

/// The trusting period rly v2.6 gives the clients it creates when none is asked for: 85% of
/// the chain's 21-day unbonding period, truncated to the hour (17 d 20 h).
pub const DEFAULT_TRUSTING_PERIOD_SECS: u64 = 1_540_800;

/// A 07-tendermint consensus state: what the client stored from one header of the tracked chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsensusState {
    pub time: jiff::Timestamp,
    /// The header's app hash (the commitment root).
    pub root: [u8; 32],
    pub next_validators_hash: [u8; 32],
}

impl ConsensusState {
    pub fn of(header: &super::block::Header) -> Self {
        Self { time: header.time, root: header.app_hash, next_validators_hash: header.next_validators_hash }
    }
}

/// A 07-tendermint client on this chain, tracking `chain_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub chain_id: String,
    /// `Frozen` or `Expired` set by a test; `Active` leaves the status to the clock.
    pub status: ClientStatus,
    pub trusting_period_secs: u64,
    /// Consensus states by height of the tracked chain.
    pub consensus: BTreeMap<u64, ConsensusState>,
}

impl ClientInfo {
    /// A client created from the tracked chain's header at `height`.
    pub fn new(chain_id: &str, height: u64, state: ConsensusState) -> Self {
        Self {
            chain_id: chain_id.to_string(),
            status: ClientStatus::Active,
            trusting_period_secs: DEFAULT_TRUSTING_PERIOD_SECS,
            consensus: BTreeMap::from([(height, state)]),
        }
    }

    /// The latest consensus state and its height.
    pub fn latest(&self) -> Option<(u64, ConsensusState)> {
        self.consensus.last_key_value().map(|(h, c)| (*h, *c))
    }

    /// ibc-go's 07-tendermint `Status`: expired once the latest consensus state is older than
    /// the trusting period at the host chain's time `now`.
    pub fn status_at(&self, now: jiff::Timestamp) -> ClientStatus {
        if self.status != ClientStatus::Active {
            return self.status;
        }
        let period =
            jiff::SignedDuration::from_secs(i64::try_from(self.trusting_period_secs).unwrap_or(i64::MAX));
        match self.latest().map(|(_, c)| c.time.checked_add(period).unwrap_or(c.time)) {
            Some(expires) if expires <= now => ClientStatus::Expired,
            _ => ClientStatus::Active,
        }
    }

    /// `MsgUpdateClient` with the tracked chain's header at `height`: refused (false) once the
    /// client is not Active, as ibc-go refuses to update an expired or frozen client.
    pub fn update(&mut self, height: u64, state: ConsensusState, now: jiff::Timestamp) -> bool {
        if self.status_at(now) != ClientStatus::Active {
            return false;
        }
        if self.latest().is_none_or(|(h, _)| height > h) {
            self.consensus.insert(height, state);
        }
        true
    }
}

/// A connection end on this chain and its counterparty's ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub client_id: String,
    pub counterparty_client_id: String,
    pub counterparty_connection_id: String,
}
