//! Wiring: builds the shared state from the settings (kube client, cluster cache, HTTP
//! client) and serves the API on a bound listener until a shutdown future resolves. main,
//! demo mode and tests all go through `AppState::connect` and `serve`.

use crate::api;
use crate::cache::{Cache, CacheOptions};
use crate::config::Settings;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Everything handlers and jobs share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub kube: kube::Client,
    pub cache: Cache,
    /// Client for chain RPC/REST.
    pub http: reqwest::Client,
    /// Jobs of both scopes.
    pub jobs: crate::jobs::JobStore,
    /// Recent node statuses for the often-polled pages.
    pub chain_status: crate::chain::StatusCache,
    /// Layer 2 upstream calls: the same pooled client with the chains API's timeout.
    pub chains: crate::chain::ChainClient,
    /// Header times per chain for `/chains/{id}/blocktime`.
    pub blocktimes: crate::chain::blocktime::HeaderCache,
    /// The BFF runs in a pod (`mode=auto` then resolves to internal endpoints).
    pub in_cluster: bool,
    pub settings: Arc<Settings>,
    /// Host of the kubeconfig's API server URL: the last resort for nodeHost.
    pub api_host: Option<String>,
    /// The registry `/metrics` serves; the runner, reflectors and chain client record into it.
    pub metrics: crate::metrics::Metrics,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("failed to read the kubeconfig: {0}")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    #[error("failed to infer a Kubernetes configuration: {0}")]
    Infer(#[source] kube::config::InferConfigError),
    #[error("failed to build the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error("failed to build the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
}

impl AppState {
    /// Builds the clients and starts the cache's reflectors. No request is awaited: an
    /// unreachable cluster shows in `/readyz`, not as a start failure.
    pub async fn connect(settings: Settings) -> Result<Self, StartError> {
        let options =
            kube::config::KubeConfigOptions { context: settings.context.clone(), ..Default::default() };
        let config = match &settings.kubeconfig {
            Some(path) => {
                let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(StartError::Kubeconfig)?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(StartError::Kubeconfig)?
            }
            None => kube::Config::infer().await.map_err(StartError::Infer)?,
        };
        let api_host = config.cluster_url.host().map(str::to_string);
        let kube = kube::Client::try_from(config).map_err(StartError::Client)?;
        let metrics = crate::metrics::Metrics::new();
        let cache = Cache::start(
            kube.clone(),
            &CacheOptions {
                namespaces: vec![settings.namespace.clone()],
                watch_nodes: settings.node_host.is_none(),
                probe_interval: settings.timeouts.k8s_probe_interval,
                unreachable_grace: settings.timeouts.k8s_unreachable_grace,
                metrics: metrics.clone(),
            },
        );
        let http = reqwest::Client::builder()
            .connect_timeout(settings.chains.chain_connect_timeout)
            .build()
            .map_err(StartError::Http)?;
        let chains = crate::chain::ChainClient::new(http.clone(), settings.chains.chain_http_timeout)
            .with_metrics(metrics.clone());
        let blocktimes = crate::chain::blocktime::HeaderCache::new(
            settings.chains.blocktime_cache_blocks,
            settings.chains.blocktime_cache_chains,
        );
        let in_cluster = crate::chain::endpoints::running_in_cluster(
            std::env::var("KUBERNETES_SERVICE_HOST").ok().as_deref(),
        );
        let chain_status = crate::chain::StatusCache::new(settings.timeouts.chain_status_ttl);
        let jobs = crate::jobs::JobStore::new(settings.jobs.limits(), crate::jobs::Redactor::default())
            .with_metrics(metrics.clone());
        Ok(Self {
            kube,
            cache,
            http,
            chain_status,
            chains,
            blocktimes,
            in_cluster,
            jobs,
            settings: Arc::new(settings),
            api_host,
            metrics,
        })
    }
}

impl AppState {
    /// Where NodePorts are reached, and how that was decided: the `NODE_HOST` setting, else
    /// a Node's InternalIP, else the kubeconfig server's host.
    pub fn node_host(&self) -> (Option<String>, &'static str) {
        if let Some(h) = &self.settings.node_host {
            return (Some(h.clone()), "config");
        }
        let internal_ip = self.cache.nodes.as_ref().and_then(|nodes| {
            nodes.state().iter().find_map(|n| {
                let addresses = n.status.as_ref()?.addresses.as_ref()?;
                addresses.iter().find(|a| a.type_ == "InternalIP").map(|a| a.address.clone())
            })
        });
        match internal_ip {
            Some(ip) => (Some(ip), "nodeInternalIP"),
            None => (self.api_host.clone(), "kubeconfigServer"),
        }
    }

    /// A chain's endpoints in `mode` and where they came from: fixed configuration first, then
    /// the chain's Service from the cache.
    pub fn chain_endpoints(
        &self,
        chain_id: &str,
        mode: crate::chain::endpoints::Mode,
    ) -> (crate::chain::endpoints::ChainEndpoints, crate::chain::endpoints::Source) {
        use crate::cache::views;
        let discovered = self.cache.namespace(&self.settings.namespace).and_then(|cache| {
            let services = cache.services.state();
            let svc = views::chain_service(&services, chain_id)?;
            let (external, internal) = views::chain_endpoints(svc, self.node_host().0.as_deref());
            Some((external.into(), internal.into()))
        });
        let fixed = self.settings.chains.fixed_endpoints.iter().find(|f| f.chain_id == chain_id);
        crate::chain::endpoints::resolve(discovered, fixed, mode.effective(self.in_cluster))
    }

    /// The endpoints the BFF itself uses to reach `chain_id` (`mode=auto`).
    pub fn chain_upstream(&self, chain_id: &str) -> crate::chain::endpoints::ChainEndpoints {
        self.chain_endpoints(chain_id, crate::chain::endpoints::Mode::Auto).0
    }
}

/// Serves the API on `listener` until `shutdown` resolves; then cancels every running job
/// (each records its final state, which ends its log followers) and lets in-flight requests
/// finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let jobs = state.jobs.clone();
    let shutdown = async move {
        shutdown.await;
        jobs.cancel_all().await;
    };
    serve_router(listener, api::router(state), shutdown).await
}

/// Serves a router built from `api::router` (tests add routes of their own to it).
pub async fn serve_router(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
