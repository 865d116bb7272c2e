//! The reconcile jobs' own settings (flags and environment), flattened into `serve`'s.

use std::time::Duration;

/// The reconcile jobs (`system.start`, `system.connect`, `system.relayer.restart`): where the
/// relayer keeps its state, and the retry and wait policy of the scripts.
#[derive(Debug, Clone, clap::Args)]
pub struct ReconcileSettings {
    /// `on-demand`: jobs run when posted; `continuous`: a loop keeps the system started, driven
    /// by watch events and a periodic resync, acting only on drift.
    #[arg(long = "reconcile", env = "RECONCILE_MODE", value_enum, default_value = "on-demand")]
    pub reconcile_mode: super::controller::Mode,
    /// Continuous mode: how often a pass runs without any watch event.
    #[arg(long, env = "RECONCILE_RESYNC", default_value = "60s", value_parser = humantime::parse_duration)]
    pub reconcile_resync: Duration,
    /// Continuous mode: quiet time after a watch event before the pass (a burst is one pass).
    #[arg(long, env = "RECONCILE_DEBOUNCE", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub reconcile_debounce: Duration,
    /// Continuous mode: the first wait after a failed pass; it doubles per failure.
    #[arg(long, env = "RECONCILE_BACKOFF", default_value = "1s", value_parser = humantime::parse_duration)]
    pub reconcile_backoff: Duration,
    /// Continuous mode: the longest wait after failed passes.
    #[arg(long, env = "RECONCILE_BACKOFF_CAP", default_value = "5m", value_parser = humantime::parse_duration)]
    pub reconcile_backoff_cap: Duration,
    /// How long start/connect wait for the pods they touch to be Running and Ready (the
    /// scripts' `kubectl wait --for=condition=ready pod --all --timeout=300s`).
    #[arg(long, env = "PODS_READY_TIMEOUT", default_value = "300s", value_parser = humantime::parse_duration)]
    pub pods_ready_timeout: Duration,
    /// How long connect waits for gwc and the chains it links to serve (RPC answering, not
    /// catching up, height rising): the chart's chain pods are Ready while they still fetch
    /// genesis (the scripts loop `gwcd status` before linking).
    #[arg(long, env = "CHAINS_LIVE_TIMEOUT", default_value = "300s", value_parser = humantime::parse_duration)]
    pub chains_live_timeout: Duration,
    /// The relayer's home in the relayer pod (`rly --home`).
    #[arg(long, env = "RLY_HOME", default_value = "/home/relayer/.relayer")]
    pub rly_home: String,
    /// gwcd's home in the gwc pod (the `local-admin` key registers storage).
    #[arg(long, env = "GWC_HOME", default_value = "/home/gwc/.gwc")]
    pub gwc_home: String,
    /// Attempts of one `rly transact link` before RELAYER_LINK_FAILED (the scripts: 5).
    #[arg(long, env = "LINK_ATTEMPTS", default_value_t = 5)]
    pub link_attempts: u32,
    /// Which gwc key signs a link: `shared` (the relayer key; links run one at a time, as the
    /// scripts do) or `per-path` (each link in its own rly home under `<RLY_HOME>/links/`,
    /// signing with its own gwc key whose fees the relayer account pays through a fee grant,
    /// so links run side by side).
    #[arg(long, env = "LINK_SIGNERS", value_enum, default_value = "shared")]
    pub link_signers: LinkSigners,
    /// Timeout of one `rly transact link` exec, apart from EXEC_TIMEOUT: a handshake takes a
    /// client, four connection and four channel steps, each a block and a client update.
    #[arg(long, env = "LINK_TIMEOUT", default_value = "10m", value_parser = humantime::parse_duration)]
    pub link_timeout: Duration,
    /// Wait between link attempts (the scripts: 10s).
    #[arg(long, env = "LINK_RETRY_WAIT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub link_retry_wait: Duration,
    /// How long a stopped `rly` may take to exit before it is killed (`pkill -KILL`).
    #[arg(long, env = "RELAYER_STOP_WAIT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub relayer_stop_wait: Duration,
    /// How long after starting `rly start` it is checked to still run.
    #[arg(long, env = "RELAYER_VERIFY_DELAY", default_value = "3s", value_parser = humantime::parse_duration)]
    pub relayer_verify_delay: Duration,
    /// Interval between observations while waiting (storage registered, chains live, channels open).
    #[arg(long, env = "RECONCILE_POLL_INTERVAL", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub reconcile_poll_interval: Duration,
    /// How long a storage registration may take to show on gwc after its tx was accepted.
    #[arg(long, env = "REGISTRATION_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub registration_timeout: Duration,
    /// How long waitIbcReady waits for every channel OPEN and every chain live.
    #[arg(long, env = "IBC_READY_TIMEOUT", default_value = "5m", value_parser = humantime::parse_duration)]
    pub ibc_ready_timeout: Duration,
    /// Default whole-job timeout when the request gives no `timeoutSeconds`.
    #[arg(long, env = "RECONCILE_JOB_TIMEOUT", default_value = "30m", value_parser = humantime::parse_duration)]
    pub job_timeout: Duration,
}

/// Which gwc key signs `rly transact link` (`--link-signers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LinkSigners {
    Shared,
    PerPath,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            rly_home: "/home/relayer/.relayer".into(),
            gwc_home: "/home/gwc/.gwc".into(),
            link_attempts: 5,
            link_signers: LinkSigners::Shared,
            reconcile_mode: super::controller::Mode::OnDemand,
            reconcile_resync: Duration::from_secs(60),
            reconcile_debounce: Duration::from_millis(500),
            reconcile_backoff: Duration::from_secs(1),
            reconcile_backoff_cap: Duration::from_secs(300),
            pods_ready_timeout: Duration::from_secs(300),
            chains_live_timeout: Duration::from_secs(300),
            link_timeout: Duration::from_secs(600),
            link_retry_wait: Duration::from_secs(10),
            relayer_stop_wait: Duration::from_secs(10),
            relayer_verify_delay: Duration::from_secs(3),
            reconcile_poll_interval: Duration::from_millis(500),
            registration_timeout: Duration::from_secs(60),
            ibc_ready_timeout: Duration::from_secs(300),
            job_timeout: Duration::from_secs(1800),
        }
    }
}
