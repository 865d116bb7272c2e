//! The live cluster cache: kube-runtime reflectors keep Pods, Services, Endpoints and
//! ConfigMaps of the release's namespace (and Nodes, for nodeHost detection) in memory.
//! Every HTTP read about cluster state is served from here, never by a LIST per request.

pub mod directory;
mod health;
mod reflectors;
pub mod views;

pub use health::{ApiHealth, Readiness};

use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Node, Pod, Service};
use kube::runtime::reflector::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The readers of the namespace's reflectors.
#[derive(Clone)]
pub struct NamespaceCache {
    pub pods: Store<Pod>,
    pub services: Store<Service>,
    pub endpoints: Store<Endpoints>,
    pub configmaps: Store<ConfigMap>,
}

/// Cheap to clone: store readers and shared health.
#[derive(Clone)]
pub struct Cache {
    namespace: Arc<str>,
    objects: NamespaceCache,
    /// Cluster-wide Nodes, only when nodeHost is not configured.
    pub nodes: Option<Store<Node>>,
    pub health: ApiHealth,
    changed: watch::Receiver<u64>,
    /// Ends the reflectors and the probe: a shutdown closes its own watches quietly.
    stop: tokio_util::sync::CancellationToken,
}

/// How the cache watches the API server.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// The one namespace watched: the release's.
    pub namespace: String,
    /// Watch Nodes (cluster-wide) for nodeHost auto-detection.
    pub watch_nodes: bool,
    /// How often the API server is probed (`GET /version`) for `/readyz`.
    pub probe_interval: Duration,
    /// How long the API server may be unreachable before `/readyz` turns 503.
    pub unreachable_grace: Duration,
    /// Where the reflectors count their watch restarts.
    pub metrics: crate::metrics::Metrics,
}

impl Cache {
    /// Starts one reflector per kind, and the API-server probe. Returns at
    /// once; `health` reports when every reflector has synced.
    pub fn start(client: kube::Client, options: &CacheOptions) -> Self {
        let health = ApiHealth::new(options.unreachable_grace);
        let (bump, changed) = watch::channel(0u64);
        let stop = tokio_util::sync::CancellationToken::new();
        let mut spawner = reflectors::Spawner {
            client: client.clone(),
            health: health.clone(),
            bump: Arc::new(bump),
            metrics: options.metrics.clone(),
            stop: stop.clone(),
        };
        let ns = &options.namespace;
        let objects = NamespaceCache {
            pods: spawner.namespaced(ns),
            services: spawner.namespaced(ns),
            endpoints: spawner.namespaced(ns),
            configmaps: spawner.namespaced(ns),
        };
        let nodes = options.watch_nodes.then(|| spawner.cluster_wide());
        health::spawn_probe(client, health.clone(), options.probe_interval, stop.clone());
        Self { namespace: ns.as_str().into(), objects, nodes, health, changed, stop }
    }

    /// Stops watching (at shutdown): the stores keep what they hold, nothing logs the
    /// streams' end as a failure.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// The readers of the watched namespace.
    pub fn objects(&self) -> &NamespaceCache {
        &self.objects
    }

    /// Objects held per reflector, named as the reflectors are (`pods/<ns>`, `nodes`).
    pub fn object_counts(&self) -> Vec<(String, usize)> {
        let mut counts = Vec::new();
        let (ns, c) = (&self.namespace, &self.objects);
        counts.push((format!("pods/{ns}"), c.pods.state().len()));
        counts.push((format!("services/{ns}"), c.services.state().len()));
        counts.push((format!("endpoints/{ns}"), c.endpoints.state().len()));
        counts.push((format!("configmaps/{ns}"), c.configmaps.state().len()));
        if let Some(nodes) = &self.nodes {
            counts.push(("nodes".to_string(), nodes.state().len()));
        }
        counts
    }

    /// A receiver that changes whenever any reflector applies an event.
    pub fn changed(&self) -> watch::Receiver<u64> {
        self.changed.clone()
    }
}
