//! Settings of the IBC health assessment (flags and environment), flattened into `serve`'s.

use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct IbcSettings {
    /// A packet or ack that has waited this many blocks of the chain that wrote it makes its
    /// pair degraded and fails waitIbcReady.
    #[arg(long, env = "IBC_STALL_BLOCKS", default_value_t = 3)]
    pub ibc_stall_blocks: u64,
    /// A relayer wallet below this many uatom gets a low-balance warning (preflight, /system/ibc).
    #[arg(long, env = "RELAYER_LOW_BALANCE_UATOM", default_value_t = 20_000)]
    pub relayer_low_balance_uatom: u64,
    /// How long one IBC observation answers `/system/ibc` before the next is taken.
    #[arg(long, env = "IBC_HEALTH_TTL", default_value = "2s", value_parser = humantime::parse_duration)]
    pub ibc_health_ttl: Duration,
}

impl Default for IbcSettings {
    fn default() -> Self {
        Self {
            ibc_stall_blocks: 3,
            relayer_low_balance_uatom: 20_000,
            ibc_health_ttl: Duration::from_secs(2),
        }
    }
}

impl IbcSettings {
    pub fn bounds(&self) -> super::ibc::Bounds {
        super::ibc::Bounds {
            stall_blocks: self.ibc_stall_blocks,
            low_balance_uatom: u128::from(self.relayer_low_balance_uatom),
        }
    }
}
