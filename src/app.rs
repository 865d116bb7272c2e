//! Wiring: builds the shared state from the settings and serves the API on a bound listener
//! until a shutdown future resolves (main, demo mode and tests all go through `serve`).

use crate::api;
use crate::config::Settings;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Everything handlers and jobs share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub kube: kube::Client,
    pub settings: Arc<Settings>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("failed to read the kubeconfig: {0}")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    #[error("failed to infer a Kubernetes configuration: {0}")]
    Infer(#[source] kube::config::InferConfigError),
    #[error("failed to build the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
}

impl AppState {
    /// Builds the Kubernetes client from the kubeconfig (or standard inference). No request
    /// is sent yet: an unreachable cluster shows in `/readyz`, not as a start failure.
    pub async fn connect(settings: Settings) -> Result<Self, StartError> {
        let options = kube::config::KubeConfigOptions { context: settings.context.clone(), ..Default::default() };
        let config = match &settings.kubeconfig {
            Some(path) => {
                let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(StartError::Kubeconfig)?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(StartError::Kubeconfig)?
            }
            None => kube::Config::infer().await.map_err(StartError::Infer)?,
        };
        let kube = kube::Client::try_from(config).map_err(StartError::Client)?;
        Ok(Self { kube, settings: Arc::new(settings) })
    }
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, api::router(state)).with_graceful_shutdown(shutdown).await
}
