//! Wiring: builds the shared state from the settings (kube client, cluster cache, chain
//! directory and clients, job store). main, demo mode and tests all go through
//! `AppState::connect`; `api::serve` serves it. The domain never sees `AppState`: each part
//! gets the narrow context it needs (`AppState::reconcile_context`).

use crate::cache::directory::{ChainDirectory, DirectorySource};
use crate::cache::{Cache, CacheOptions};
use crate::config::Settings;
use std::sync::Arc;

/// Everything handlers and jobs share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub kube: kube::Client,
    pub cache: Cache,
    /// Jobs of both scopes.
    pub jobs: crate::jobs::JobStore,
    /// Recent node statuses for the often-polled pages.
    pub chain_status: crate::chain::StatusCache,
    /// Layer 2 upstream calls: the same pooled client with the chains API's timeout.
    pub chains: crate::chain::ChainClient,
    /// Header times per chain for `/chains/{id}/blocktime`.
    pub blocktimes: crate::chain::blocktime::HeaderCache,
    /// Which chains exist and how each is reached.
    pub directory: ChainDirectory,
    /// What the continuous reconciler reports (`/system/reconciler`).
    pub reconciler: crate::reconcile::controller::Reconciler,
    /// IBC observations kept between requests (pending packets' first sightings, last answer).
    pub ibc_memo: crate::system::ibc::Memo,
    /// `/system/status`'s serialized pod and service rows, reused while the cache is unchanged.
    pub status_rows: crate::system::status::Rows,
    pub settings: Arc<Settings>,
    /// The one read context, built once: the read models and the reconcile steps share it.
    reads: Arc<crate::system::Reads>,
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
                namespace: settings.namespace.clone(),
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
        let chain_status = crate::chain::StatusCache::new(
            settings.timeouts.chain_status_ttl,
            chains.with_timeout(settings.timeouts.chain_status_timeout),
        );
        let jobs = crate::jobs::JobStore::new(settings.jobs.limits(), crate::jobs::Redactor::default())
            .with_metrics(metrics.clone());
        let directory = ChainDirectory::new(DirectorySource {
            cache: cache.clone(),
            fixed: settings.chains.fixed_endpoints.clone(),
            node_host: settings.node_host.clone(),
            api_host,
            in_cluster,
        });
        let ibc_memo = crate::system::ibc::Memo::default();
        let status_rows = crate::system::status::Rows::default();
        let reads = Arc::new(crate::system::Reads {
            kube: kube.clone(),
            cache: cache.clone(),
            directory: directory.clone(),
            chains: chains.clone(),
            chain_status: chain_status.clone(),
            exec: crate::k8s::PodExec::new(kube.clone(), &settings.namespace, settings.timeouts.exec_timeout),
            namespace: settings.namespace.clone(),
            release: settings.release.clone(),
            rly_home: settings.reconcile.rly_home.clone(),
            ibc: (*settings.ibc).clone(),
            ibc_memo: ibc_memo.clone(),
            metrics: metrics.clone(),
            watch_nodes: settings.node_host.is_none(),
            status_rows: status_rows.clone(),
        });
        let state = Self {
            kube,
            cache,
            chain_status,
            chains,
            blocktimes,
            directory,
            ibc_memo,
            status_rows,
            reconciler: crate::reconcile::controller::Reconciler::new(settings.reconcile.reconcile_mode),
            jobs,
            settings: Arc::new(settings),
            reads,
            metrics,
        };
        if state.settings.reconcile.reconcile_mode == crate::reconcile::controller::Mode::Continuous {
            tokio::spawn(state.reconcile_loop().run());
        }
        Ok(state)
    }

    /// The continuous reconciler over this state.
    fn reconcile_loop(&self) -> crate::reconcile::controller::Loop {
        let r = &self.settings.reconcile;
        crate::reconcile::controller::Loop {
            ctx: self.reconcile_context(),
            reads: self.reads(),
            jobs: self.jobs.clone(),
            pacing: crate::reconcile::controller::Pacing {
                resync: r.reconcile_resync,
                debounce: r.reconcile_debounce,
                backoff_base: r.reconcile_backoff,
                backoff_cap: r.reconcile_backoff_cap,
            },
            job_timeout: r.job_timeout,
            status: self.reconciler.clone(),
        }
    }
}

impl AppState {
    /// What the read models (`crate::system`) run with.
    pub fn reads(&self) -> Arc<crate::system::Reads> {
        self.reads.clone()
    }

    /// The one exec path into the release's pods.
    pub fn exec(&self) -> crate::k8s::PodExec {
        self.reads.exec.clone()
    }

    /// The narrow context the reconcile steps run with.
    pub fn reconcile_context(&self) -> std::sync::Arc<crate::reconcile::Context> {
        std::sync::Arc::new(crate::reconcile::Context {
            reads: self.reads.clone(),
            status_client: self.chains.with_timeout(self.settings.timeouts.chain_status_timeout),
            settings: (*self.settings.reconcile).clone(),
        })
    }
}
