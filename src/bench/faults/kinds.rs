//! P11's faults: their JSON keys, table text, baselines, and how each is lifted.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    RlyKilled,
    RlyPaused,
    PodDeleted,
    FdscHalted,
    RpcCut,
    ClientNearExpiry,
    WalletDrained,
    RestartLoop,
}

impl Fault {
    pub(super) const ALL: [Fault; 8] = [
        Fault::RlyKilled,
        Fault::RlyPaused,
        Fault::PodDeleted,
        Fault::FdscHalted,
        Fault::RpcCut,
        Fault::ClientNearExpiry,
        Fault::WalletDrained,
        Fault::RestartLoop,
    ];

    pub(super) fn key(self) -> &'static str {
        match self {
            Fault::RlyKilled => "rly_killed",
            Fault::RlyPaused => "rly_paused",
            Fault::PodDeleted => "pod_deleted",
            Fault::FdscHalted => "fdsc_halted",
            Fault::RpcCut => "rpc_cut",
            Fault::ClientNearExpiry => "client_near_expiry",
            Fault::WalletDrained => "wallet_drained",
            Fault::RestartLoop => "restart_loop",
        }
    }

    pub(super) fn what(self) -> &'static str {
        match self {
            Fault::RlyKilled => "rly killed",
            Fault::RlyPaused => "rly paused, then resumed",
            Fault::PodDeleted => "relayer pod deleted",
            Fault::FdscHalted => "one fdsc halted, then resumed",
            Fault::RpcCut => "relayer cut off from one fdsc's RPC, then restored",
            Fault::ClientNearExpiry => "gwc client in the last third of its trusting period, rly stuck",
            Fault::WalletDrained => "relayer's gwc wallet drained, then funded",
            Fault::RestartLoop => "relayer pod in a restart loop (CrashLoopBackOff), then running",
        }
    }

    /// The product heals it with no one lifting it (a restart loop ends by itself; the product
    /// then restarts rly, timed from that end).
    pub(super) fn heals_itself(self) -> bool {
        matches!(self, Fault::RlyKilled | Fault::PodDeleted | Fault::RestartLoop)
    }

    /// What a scripts user sees, as P10 says it.
    pub(super) fn baseline(self) -> &'static str {
        match self {
            Fault::RlyKilled | Fault::PodDeleted | Fault::RestartLoop => {
                "never detected; relays nothing until a human re-runs the scripts"
            }
            Fault::WalletDrained => "never detected; no account named; sessions stay open",
            Fault::ClientNearExpiry => "never detected; the client expires (governance to recover)",
            _ => "never detected; sessions close late, no reason given",
        }
    }
}

/// How the fault is undone (by the bench, standing for the world or a human).
pub(super) enum Lift {
    Nothing,
    Resume,
    Blocks(String),
    Reach(String),
    Refill(String, u128),
    /// It ends by itself at this instant (a restart loop's time up).
    Ends(std::time::Instant),
}
