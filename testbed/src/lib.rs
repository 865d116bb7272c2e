//! The embedded simulated Cryptomeria cluster: a Kubernetes API server
//! with the chart's objects, pods with an in-pod world behind `exec`, and a control handle
//! for faults and churn. Product code never imports this module; it reaches the testbed
//! only through the kubeconfig written here, as it would a real cluster.
//!
//! The chains carry IBC packets as ibc-go v8 stores them (`chain::packets`), gwc's upload
//! sessions are their source (`chain::sessions`), and the in-pod `rly start` relays them for
//! the paths whose ids match the channel ends. Proofs are accepted unverified.
//!
//! StatefulSets and Deployments take PATCH/PUT and the `scale` subresource; the workload
//! controllers act on replicas and templates (`kubectl scale`, `kubectl rollout restart`).
//! RBAC is enforced only when a test asks for it (`Control::enforce_rbac`, `rbac`).
//!
//! Chain pods boot as the chart's do: Ready first (no readinessProbe), the node serving only
//! after `boot_delay`, while the entrypoint fetches genesis (`cluster/pods.rs`).
//!
//! ```text
//! Testbed ─┬─ apiserver (HTTP: discovery, list/watch, log, exec, patch, scale) ─ r/w ─┐
//!          │    └ rbac (opt-in: 403 Forbidden as a real server words it)             │
//!          ├─ cluster (controllers: replicas, rollouts, pod lifecycle, endpoints) ───┤ store
//!          ├─ pod/* (per-pod filesystem, processes, shell)                           │
//!          ├─ chain/* (one CometBFT + SDK node per chain, on its NodePorts)           │
//!          └─ control (faults + churn + RBAC for tests) ──────────────────────────────┘
//! ```

mod apiserver;
pub mod chain;
pub mod cluster;
pub mod control;
mod daemons;
mod faults;
pub mod kinds;
mod kubeconfig;
pub mod layout;
pub mod mnemonics;
pub mod objects;
pub mod patch;
pub mod pod;
mod ports;
mod programs;
pub mod rbac;
pub mod selectors;
mod serve;
pub mod store;

pub use cluster::{ClusterConfig, DEFAULT_BOOT_DELAY, NodePorts};
pub use control::Control;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How to build a testbed; `Testbed::builder()` starts from the chart's defaults.
#[derive(Debug, Clone)]
pub struct TestbedBuilder {
    cluster: ClusterConfig,
    api_bind: SocketAddr,
    kubeconfig: Option<PathBuf>,
    bookmark_interval: Duration,
    /// `None` = `cluster::DEFAULT_BOOT_DELAY`.
    boot_delay: Option<Duration>,
}

impl TestbedBuilder {
    /// Number of data chains `fdsc-0..n-1` (default 2).
    pub fn fdsc(mut self, n: usize) -> Self {
        self.cluster.fdsc = n;
        self
    }

    /// Pending → Running/Ready delay of new pods.
    pub fn ready_delay(mut self, d: Duration) -> Self {
        self.cluster.ready_delay = d;
        self
    }

    /// Ready → serving delay of each chain pod's node, on install, recreation and scale-up
    /// (default `DEFAULT_BOOT_DELAY`; zero = the node serves before its pod is Ready).
    pub fn boot_delay(mut self, d: Duration) -> Self {
        self.boot_delay = Some(d);
        self
    }

    /// `d` unless `boot_delay` was set: for harnesses whose tests want serving chains unless
    /// one asks for the boot gap.
    pub fn boot_delay_unless_set(mut self, d: Duration) -> Self {
        self.boot_delay.get_or_insert(d);
        self
    }

    pub fn node_ports(mut self, p: NodePorts) -> Self {
        self.cluster.node_ports = p;
        self
    }

    /// The Helm release the chart's objects are installed under (default `cryptomeria`):
    /// workload, Service, Secret and ConfigMap names follow the chart's fullname rule.
    pub fn release(mut self, name: &str) -> Self {
        self.cluster.release = name.to_string();
        self
    }

    pub fn namespace(mut self, ns: &str) -> Self {
        self.cluster.namespace = ns.to_string();
        self
    }

    /// Time between blocks on every chain; `None` = manual (blocks only through
    /// `Control::produce_blocks`). Default 1 s, CometBFT 0.38's `timeout_commit`.
    pub fn block_interval(mut self, interval: Option<Duration>) -> Self {
        self.cluster.block_interval = interval;
        self
    }

    /// Where the API server listens (default 127.0.0.1 on a free port).
    pub fn api_bind(mut self, addr: SocketAddr) -> Self {
        self.api_bind = addr;
        self
    }

    /// How often watches that allow bookmarks get one (default 5 s).
    pub fn bookmark_interval(mut self, d: Duration) -> Self {
        self.bookmark_interval = d;
        self
    }

    /// Where to write the kubeconfig (default: a fresh temporary directory).
    pub fn kubeconfig(mut self, path: impl Into<PathBuf>) -> Self {
        self.kubeconfig = Some(path.into());
        self
    }

    pub async fn start(mut self) -> std::io::Result<Testbed> {
        let shutdown = CancellationToken::new();
        if !objects::valid_release_name(&self.cluster.release) {
            let why = format!(
                "release name {:?} is not a DNS label of at most 53 characters",
                self.cluster.release
            );
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, why));
        }
        self.cluster.boot_delay = self.boot_delay.unwrap_or(cluster::DEFAULT_BOOT_DELAY);
        let cluster = cluster::Cluster::install(self.cluster)?;
        let faults = Arc::new(faults::Faults::default());
        let addr = apiserver::start(
            cluster.clone(),
            faults.clone(),
            self.api_bind,
            self.bookmark_interval,
            shutdown.clone(),
        )
        .await?;
        let (kubeconfig, tempdir) = match self.kubeconfig {
            Some(p) => (p, None),
            None => {
                let dir = tempfile::Builder::new().prefix("cryptomeria-testbed-").tempdir()?;
                (dir.path().join("kubeconfig"), Some(dir))
            }
        };
        let api_url = format!("http://{addr}");
        kubeconfig::write(&kubeconfig, &api_url, &cluster.config.namespace)?;
        Ok(Testbed { api_url, kubeconfig, control: Control { cluster, faults }, shutdown, _tempdir: tempdir })
    }
}

/// A running testbed. Dropping it stops the API server and every pod.
pub struct Testbed {
    /// `http://127.0.0.1:PORT` of the API server.
    pub api_url: String,
    /// The kubeconfig that points at it.
    pub kubeconfig: PathBuf,
    pub control: Control,
    shutdown: CancellationToken,
    _tempdir: Option<tempfile::TempDir>,
}

impl Testbed {
    pub fn builder() -> TestbedBuilder {
        TestbedBuilder {
            cluster: ClusterConfig::default(),
            api_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            kubeconfig: None,
            bookmark_interval: Duration::from_secs(5),
            boot_delay: None,
        }
    }

    /// Where each chain's NodePorts are, for humans: `gwc rpc=http://127.0.0.1:30007 …`.
    pub fn chain_summary(&self) -> Vec<String> {
        let ip = &self.control.cluster.config.node_ip;
        self.control
            .chain_ids()
            .into_iter()
            .filter_map(|id| {
                let (rpc, api, grpc) = self.control.node_ports(&id)?;
                Some(format!("{id} rpc=http://{ip}:{rpc} api=http://{ip}:{api} grpc={ip}:{grpc}"))
            })
            .collect()
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.control.cluster.shutdown();
    }
}
