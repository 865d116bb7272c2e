//! Spawns the reflectors: each owns its store writer, runs under its own span, marks its
//! kind synced on the first complete list, and bumps the cache's change counter per event.

use super::health::ApiHealth;
use futures::StreamExt as _;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Resource, ResourceExt as _};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
use tokio::sync::watch;
use tracing::Instrument as _;

/// What a reflected kind must be (every k8s-openapi core type is).
pub(super) trait Reflected:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}
impl<K> Reflected for K where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

pub(super) struct Spawner {
    pub client: kube::Client,
    pub health: ApiHealth,
    pub bump: Arc<watch::Sender<u64>>,
    pub metrics: crate::metrics::Metrics,
    /// Cancelled at shutdown: each reflector drops its watch and ends.
    pub stop: tokio_util::sync::CancellationToken,
}

impl Spawner {
    pub fn namespaced<K>(&mut self, ns: &str) -> Store<K>
    where
        K: Reflected + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    {
        let name = format!("{}/{ns}", K::plural(&()));
        self.spawn(Api::namespaced(self.client.clone(), ns), name, false)
    }

    pub fn cluster_wide<K>(&mut self) -> Store<K>
    where
        K: Reflected + Resource<Scope = k8s_openapi::ClusterResourceScope>,
    {
        let name = K::plural(&()).to_string();
        // Only Nodes are watched cluster-wide, for nodeHost detection, which has a fallback.
        self.spawn(Api::all(self.client.clone()), name, true)
    }

    fn spawn<K: Reflected>(&mut self, api: Api<K>, name: String, optional: bool) -> Store<K> {
        let (reader, writer) = reflector::store();
        self.health.register(&name, optional);
        let (health, bump, metrics) = (self.health.clone(), self.bump.clone(), self.metrics.clone());
        metrics.watch_started(&name);
        let stop = self.stop.clone();
        let span = tracing::info_span!("reflector", kind = %name);
        let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()).default_backoff());
        tokio::spawn(
            async move {
                let mut stream = std::pin::pin!(stream);
                let mut listed_once = false;
                loop {
                    // Stop first: after a shutdown the watched server may already be gone
                    // (demo's testbed), and its closed stream is not a failure worth a WARN.
                    let event = tokio::select! {
                        biased;
                        _ = stop.cancelled() => {
                            tracing::debug!("stopped");
                            break;
                        }
                        event = stream.next() => match event {
                            Some(event) => event,
                            None => break,
                        },
                    };
                    match event {
                        // Every initial list after the first is a restart (410 Expired, a
                        // desync): the store is rebuilt from a fresh list.
                        Ok(watcher::Event::Init) if std::mem::replace(&mut listed_once, true) => {
                            metrics.watch_restarted(&name, "relist");
                        }
                        Ok(watcher::Event::InitDone) => {
                            health.mark_synced(&name);
                            tracing::debug!("synced");
                        }
                        Ok(watcher::Event::Apply(ref obj) | watcher::Event::Delete(ref obj)) => {
                            tracing::trace!(object = %obj.name_any(), "changed");
                        }
                        Ok(_) => {}
                        // The watcher retries with backoff; the probe decides readiness.
                        Err(
                            watcher::Error::InitialListFailed(kube::Error::Api(ref s))
                            | watcher::Error::WatchStartFailed(kube::Error::Api(ref s)),
                        ) if s.code == 403 => {
                            metrics.watch_restarted(&name, "error");
                            health.mark_forbidden(&name, s.message.clone());
                            tracing::warn!(message = %s.message, "watch forbidden; retrying");
                        }
                        Err(error) => {
                            metrics.watch_restarted(&name, "error");
                            tracing::warn!(%error, "watch failed; retrying");
                        }
                    }
                    bump.send_modify(|n| *n += 1);
                }
            }
            .instrument(span),
        );
        reader
    }
}
