//! `/system/topology`: chain pod ↔ Service ↔ ports ↔ Endpoints, per chain, from the cache.

use super::Reads;
use crate::cache::views::{self, ChainTopology, EndpointsSummary, PodSummary};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Topology {
    pub namespace: String,
    pub chains: Vec<ChainTopology>,
    pub relayer: Option<PodSummary>,
    /// Endpoints of the headless Service behind the pods' DNS names.
    pub headless: Option<EndpointsSummary>,
}

/// Chain pod ↔ Service ↔ ports ↔ Endpoints, per chain, with the relayer pod and the headless
/// Service's endpoints.
pub fn topology(reads: &Reads) -> Topology {
    let cache = reads.cache.objects();
    let (pods, services, endpoints) = (cache.pods.state(), cache.services.state(), cache.endpoints.state());
    let endpoints_named = |name: &str| endpoints.iter().find(|e| e.metadata.name.as_deref() == Some(name));
    let mut ids: Vec<String> = views::chain_pods(&pods)
        .iter()
        .filter_map(|p| p.metadata.labels.as_ref()?.get(crate::chart::INSTANCE_LABEL).cloned())
        .chain(
            services
                .iter()
                .filter_map(|s| s.metadata.labels.as_ref()?.get(crate::chart::INSTANCE_LABEL).cloned()),
        )
        .collect();
    ids.sort_by_key(|i| views::chain_order(i));
    ids.dedup();
    let chains = ids
        .iter()
        .map(|id| {
            let pod = views::chain_pods(&pods).into_iter().find(|p| {
                p.metadata.labels.as_ref().and_then(|l| l.get(crate::chart::INSTANCE_LABEL)) == Some(id)
            });
            let svc = views::chain_service(&services, id);
            let eps = svc.and_then(|s| endpoints_named(s.metadata.name.as_deref().unwrap_or_default()));
            views::chain_topology(
                &reads.release,
                id,
                pod.map(|p| p.as_ref()),
                svc.map(|s| s.as_ref()),
                eps.map(|e| e.as_ref()),
            )
        })
        .collect();
    Topology {
        namespace: reads.namespace.clone(),
        chains,
        relayer: views::relayer_pod(&pods, &reads.release).map(|p| views::pod_summary(p)),
        headless: endpoints_named(&crate::chart::headless_service(&reads.release))
            .map(|e| views::endpoints_summary(e)),
    }
}
