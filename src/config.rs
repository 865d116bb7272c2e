//! Settings of `serve` (and of the BFF half of `demo`): one clap struct, each flag with its
//! environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// 64 MiB: 5000 × 12 KiB txs as base64 (a MsgSend is ~330 bytes), with room for the JSON.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Kubeconfig file; default: standard kube inference (KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context; default: its current-context.
    #[arg(long, env = "KUBE_CONTEXT")]
    pub context: Option<String>,
    /// Namespace the chart is installed in.
    #[arg(long, env = "K8S_NAMESPACE", default_value = "cryptomeria")]
    pub namespace: String,
    /// Helm release name. Workload names start with the chart's fullname of it: the release
    /// itself if it contains `cryptomeria`, else `<release>-cryptomeria`.
    #[arg(long, env = "HELM_RELEASE", default_value = "cryptomeria")]
    pub release: String,
    /// Host that NodePorts are reached on; default: auto-detected.
    #[arg(long, env = "NODE_HOST")]
    pub node_host: Option<String>,
    /// Address the API listens on. No authentication: keep it on loopback unless the network is closed.
    #[arg(long, env = "BFF_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Largest request body (`maxBodyBytes`); beyond it 413 PAYLOAD_TOO_LARGE. The default
    /// carries a broadcast-batch of maxBatchSize (5000) txs of up to 12 KiB each, base64.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    #[command(flatten)]
    pub timeouts: Timeouts,
    /// Boxed: keeps `Settings` small inside the CLI's command enum.
    #[command(flatten)]
    pub server: Box<ServerSettings>,
    /// Boxed, as `chains`: keeps `Settings` small inside the CLI's command enum.
    #[command(flatten)]
    pub jobs: Box<JobSettings>,
    /// Boxed: keeps `Settings` small inside the CLI's command enum.
    #[command(flatten)]
    pub chains: Box<ChainSettings>,
    #[command(flatten)]
    pub reconcile: Box<crate::reconcile::ReconcileSettings>,
    #[command(flatten)]
    pub ibc: Box<crate::system::IbcSettings>,
}

/// What one client connection may cost the server: how long it may take to send its request
/// head and body, and how many connections are open at once.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerSettings {
    /// Time a client has to send a request's headers (each new request on a kept-alive
    /// connection too); a slower client's connection is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,
    /// Time a client has to send a whole request body, once its headers are in; a slower
    /// body is 408 REQUEST_TIMEOUT and the connection is closed.
    #[arg(long, env = "BODY_READ_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub body_read_timeout: Duration,
    /// Client connections open at once; further clients wait in the listen backlog until one closes.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// Layer 2: fixed chain endpoints, upstream timeouts, the block-time header cache.
#[derive(Debug, Clone, clap::Args)]
pub struct ChainSettings {
    /// Fixed endpoints of a chain, winning over discovery field by field:
    /// `gwc=rpc=http://127.0.0.1:26657,api=http://127.0.0.1:1317,grpc=127.0.0.1:9090`.
    /// Repeat the flag, or separate entries with `;` in the variable.
    #[arg(long = "chain-endpoint", env = "CHAIN_ENDPOINTS", value_delimiter = ';')]
    pub fixed_endpoints: Vec<crate::chain::endpoints::FixedEndpoint>,
    /// Timeout of one upstream call of the chains API (RPC or REST).
    #[arg(long, env = "CHAIN_HTTP_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub chain_http_timeout: Duration,
    /// TCP connect timeout of the shared HTTP client.
    #[arg(long, env = "CHAIN_CONNECT_TIMEOUT", default_value = "3s", value_parser = humantime::parse_duration)]
    pub chain_connect_timeout: Duration,
    /// How long `broadcastMode=block` waits for inclusion before 504 (CometBFT's own
    /// `timeout_broadcast_tx_commit` default is 10s; a busy testbed needs more).
    #[arg(long, env = "BROADCAST_BLOCK_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub broadcast_block_timeout: Duration,
    /// Interval between inclusion checks of `broadcastMode=block`.
    #[arg(long, env = "BROADCAST_POLL_INTERVAL", default_value = "200ms", value_parser = humantime::parse_duration)]
    pub broadcast_poll_interval: Duration,
    /// Header times kept per chain for blocktime (at least the largest window, 2000).
    #[arg(long, env = "BLOCKTIME_CACHE_BLOCKS", default_value_t = 4000)]
    pub blocktime_cache_blocks: usize,
    /// Chains whose header times are kept at once.
    #[arg(long, env = "BLOCKTIME_CACHE_CHAINS", default_value_t = 64)]
    pub blocktime_cache_chains: usize,
}

impl Default for ChainSettings {
    fn default() -> Self {
        Self {
            fixed_endpoints: Vec::new(),
            chain_http_timeout: Duration::from_secs(10),
            chain_connect_timeout: Duration::from_secs(3),
            broadcast_block_timeout: Duration::from_secs(30),
            broadcast_poll_interval: Duration::from_millis(200),
            blocktime_cache_blocks: 4000,
            blocktime_cache_chains: 64,
        }
    }
}

/// Bounds of the job engine.
#[derive(Debug, Clone, clap::Args)]
pub struct JobSettings {
    /// Utils jobs queued or running at once (`maxRunningJobs`).
    #[arg(long, env = "JOB_MAX_RUNNING", default_value_t = 4)]
    pub max_running_jobs: usize,
    /// Finished jobs kept in memory; the oldest are dropped first.
    #[arg(long, env = "JOB_RETAINED", default_value_t = 200)]
    pub retained_jobs: usize,
    /// Per-job log cap in bytes (oldest lines dropped, with a marker).
    #[arg(long, env = "JOB_LOG_CAP_BYTES", default_value_t = 5 * 1024 * 1024)]
    pub job_log_cap_bytes: usize,
    /// Broadcasts in flight at once in one broadcast-batch (`maxConcurrency`).
    #[arg(long, env = "UTILS_MAX_CONCURRENCY", default_value_t = crate::utils::Limits::DEFAULT.max_concurrency)]
    pub max_concurrency: usize,
    /// Txs in one broadcast-batch, hashes in one confirm-batch (`maxBatchSize`).
    #[arg(long, env = "UTILS_MAX_BATCH_SIZE", default_value_t = crate::utils::Limits::DEFAULT.max_batch_size)]
    pub max_batch_size: usize,
    /// Blocks one throughput measurement may span (`maxThroughputWindow`).
    #[arg(long, env = "UTILS_MAX_THROUGHPUT_WINDOW", default_value_t = crate::utils::Limits::DEFAULT.max_throughput_window)]
    pub max_throughput_window: u64,
    /// Longest `timeoutSeconds` a utils job may ask for (`maxTimeoutSeconds`).
    #[arg(long, env = "UTILS_MAX_TIMEOUT_SECONDS", default_value_t = crate::utils::Limits::DEFAULT.max_timeout_seconds)]
    pub max_timeout_seconds: u64,
    /// How often confirmation follows the chain for new blocks (one `blockchain` call each).
    #[arg(long, env = "UTILS_POLL_INTERVAL", default_value = "250ms", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        let crate::jobs::JobLimits { max_running_utils, retained_finished, log_cap_bytes } =
            crate::jobs::JobLimits::default();
        let crate::utils::Limits {
            max_concurrency,
            max_batch_size,
            max_throughput_window,
            max_timeout_seconds,
            poll_interval,
        } = crate::utils::Limits::DEFAULT;
        Self {
            max_running_jobs: max_running_utils,
            retained_jobs: retained_finished,
            job_log_cap_bytes: log_cap_bytes,
            max_concurrency,
            max_batch_size,
            max_throughput_window,
            max_timeout_seconds,
            poll_interval,
        }
    }
}

impl JobSettings {
    pub fn limits(&self) -> crate::jobs::JobLimits {
        let Self {
            max_running_jobs,
            retained_jobs,
            job_log_cap_bytes,
            max_concurrency: _,
            max_batch_size: _,
            max_throughput_window: _,
            max_timeout_seconds: _,
            poll_interval: _,
        } = self;
        crate::jobs::JobLimits {
            max_running_utils: *max_running_jobs,
            retained_finished: *retained_jobs,
            log_cap_bytes: *job_log_cap_bytes,
        }
    }
}

/// How long the BFF waits on others, and how it judges the API server's health.
#[derive(Debug, Clone, clap::Args)]
pub struct Timeouts {
    /// Interval of the API-server reachability probe behind `/readyz`.
    #[arg(long, env = "K8S_PROBE_INTERVAL", default_value = "2s", value_parser = humantime::parse_duration)]
    pub k8s_probe_interval: Duration,
    /// How long the API server may be unreachable before `/readyz` answers 503.
    #[arg(long, env = "K8S_UNREACHABLE_GRACE", default_value = "15s", value_parser = humantime::parse_duration)]
    pub k8s_unreachable_grace: Duration,
    /// Per-call timeout of chain RPC reads made for status pages (best effort).
    #[arg(long, env = "CHAIN_STATUS_TIMEOUT", default_value = "2s", value_parser = humantime::parse_duration)]
    pub chain_status_timeout: Duration,
    /// How long a chain's status read is reused by status pages.
    #[arg(long, env = "CHAIN_STATUS_TTL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub chain_status_ttl: Duration,
    /// Timeout of one command run in a pod.
    #[arg(long, env = "EXEC_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub exec_timeout: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            k8s_probe_interval: Duration::from_secs(2),
            k8s_unreachable_grace: Duration::from_secs(15),
            chain_status_timeout: Duration::from_secs(2),
            chain_status_ttl: Duration::from_secs(1),
            exec_timeout: Duration::from_secs(60),
        }
    }
}

impl Settings {
    /// Settings for a kubeconfig written by the embedded testbed.
    pub fn for_kubeconfig(kubeconfig: PathBuf, listen: SocketAddr) -> Self {
        Self {
            kubeconfig: Some(kubeconfig),
            context: None,
            namespace: "cryptomeria".into(),
            release: "cryptomeria".into(),
            node_host: None,
            listen,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            timeouts: Timeouts::default(),
            server: Box::default(),
            jobs: Box::default(),
            chains: Box::default(),
            reconcile: Box::default(),
            ibc: Box::default(),
        }
    }
}
