//! `/system/ports`: per chain, the external NodePort URLs and the internal Service DNS URLs,
//! from one directory snapshot.

use super::Reads;
use crate::cache::views::{self, EndpointSet};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainPorts {
    pub chain_id: String,
    pub service: String,
    pub external: EndpointSet,
    pub internal: EndpointSet,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortsView {
    pub namespace: String,
    pub node_host: Option<String>,
    /// `config` (NODE_HOST), `nodeInternalIP` or `kubeconfigServer`.
    pub node_host_source: String,
    pub chains: Vec<ChainPorts>,
}

/// What `/system/ports` answers (also a section of the resource snapshot).
pub fn ports_view(reads: &Reads) -> PortsView {
    let directory = reads.directory.snapshot();
    let (host, source) = directory.node_host();
    let services = &directory.services;
    let mut instances: Vec<String> = services
        .iter()
        .filter(|s| s.spec.as_ref().and_then(|sp| sp.type_.as_deref()) == Some("NodePort"))
        .filter_map(|s| s.metadata.labels.as_ref()?.get(crate::chart::INSTANCE_LABEL).cloned())
        .collect();
    instances.sort_by_key(|i| views::chain_order(i));
    let chains = instances
        .into_iter()
        .filter_map(|id| {
            let svc = views::chain_service(services, &id)?;
            let (external, internal) = views::chain_endpoints(svc, host);
            Some(ChainPorts {
                chain_id: id,
                service: svc.metadata.name.clone().unwrap_or_default(),
                external,
                internal,
            })
        })
        .collect();
    PortsView {
        namespace: reads.namespace.clone(),
        node_host: host.map(str::to_string),
        node_host_source: source.into(),
        chains,
    }
}
