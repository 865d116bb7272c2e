//! Settings of `serve` (and of the BFF half of `demo`): one clap struct, each flag with its
//! environment variable (SPEC §10).

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Helm release name (prefix of the workload names).
    #[arg(long, env = "HELM_RELEASE", default_value = "cryptomeria")]
    pub release: String,
    /// Host that NodePorts are reached on; default: auto-detected.
    #[arg(long, env = "NODE_HOST")]
    pub node_host: Option<String>,
    /// Address the API listens on. No authentication: keep it on loopback unless the network is closed.
    #[arg(long, env = "BFF_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
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
        }
    }
}
