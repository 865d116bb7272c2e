//! The chain directory: which chains exist and how each is reached, resolved in one place for
//! every reader (`/chains`, `/system/ports`, the reconcile steps, the utilities, the
//! snapshot). A reader takes one `Snapshot` per request, so ids, endpoints, ports and labels
//! all come from the same view of the cache.

use super::{Cache, views};
use crate::chain::endpoints::{self, ChainEndpoints, FixedEndpoint, Mode, Source};
use k8s_openapi::api::core::v1::{Pod, Service};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How chains are found: the cache of the release's namespace, the pinned
/// `--chain-endpoint`s, and what decides the node host and the `auto` mode.
#[derive(Clone)]
pub struct ChainDirectory {
    cache: Cache,
    fixed: Arc<[FixedEndpoint]>,
    /// The `NODE_HOST` setting, if given.
    node_host: Option<String>,
    /// Host of the kubeconfig's API server URL: the last resort for the node host.
    api_host: Option<String>,
    /// The BFF runs in a pod (`mode=auto` then resolves to internal endpoints).
    in_cluster: bool,
}

/// Where a directory finds its inputs.
pub struct DirectorySource {
    pub cache: Cache,
    pub fixed: Vec<FixedEndpoint>,
    pub node_host: Option<String>,
    pub api_host: Option<String>,
    pub in_cluster: bool,
}

/// One chain as discovery and configuration see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedChain {
    pub endpoints: ChainEndpoints,
    pub source: Source,
    pub component: Option<String>,
    pub instance: Option<String>,
    /// The Service's named ports (`rpc`, `api`, `grpc` → container port), when it has one.
    pub ports: Option<BTreeMap<String, i32>>,
}

/// The directory at one instant: one read of the cached pods and services.
pub struct Snapshot<'a> {
    directory: &'a ChainDirectory,
    pub pods: Vec<Arc<Pod>>,
    pub services: Vec<Arc<Service>>,
    node_host: (Option<String>, &'static str),
}

impl ChainDirectory {
    pub fn new(source: DirectorySource) -> Self {
        let DirectorySource { cache, fixed, node_host, api_host, in_cluster } = source;
        Self { cache, fixed: fixed.into(), node_host, api_host, in_cluster }
    }

    pub fn in_cluster(&self) -> bool {
        self.in_cluster
    }

    /// Reads the cache once.
    pub fn snapshot(&self) -> Snapshot<'_> {
        let cache = self.cache.objects();
        let (pods, services) = (cache.pods.state(), cache.services.state());
        Snapshot { directory: self, pods, services, node_host: self.node_host() }
    }

    /// Where NodePorts are reached, and how that was decided: the `NODE_HOST` setting, else
    /// a Node's InternalIP, else the kubeconfig server's host.
    pub fn node_host(&self) -> (Option<String>, &'static str) {
        if let Some(h) = &self.node_host {
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
}

impl Snapshot<'_> {
    /// Every chain id: the chain pods' instance labels and the pinned ids, gwc, mdsc, then
    /// fdsc-0, fdsc-1, … in numeric order.
    pub fn chain_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = views::chain_pods(&self.pods)
            .iter()
            .filter_map(|p| p.metadata.labels.as_ref()?.get(crate::chart::INSTANCE_LABEL).cloned())
            .chain(self.directory.fixed.iter().map(|f| f.chain_id.clone()))
            .collect();
        ids.sort_by_key(|i| views::chain_order(i));
        ids.dedup();
        ids
    }

    pub fn contains(&self, chain_id: &str) -> bool {
        self.chain_ids().iter().any(|id| id == chain_id)
    }

    /// The node host this snapshot resolved NodePort URLs with, and how it was decided.
    pub fn node_host(&self) -> (Option<&str>, &'static str) {
        (self.node_host.0.as_deref(), self.node_host.1)
    }

    /// A chain's endpoints in `mode` and where they came from: pinned fields first, then the
    /// chain's Service. A chain nobody knows resolves to empty endpoints.
    pub fn endpoints(&self, chain_id: &str, mode: Mode) -> (ChainEndpoints, Source) {
        let discovered = views::chain_service(&self.services, chain_id).map(|svc| {
            let (external, internal) = views::chain_endpoints(svc, self.node_host.0.as_deref());
            (external.into(), internal.into())
        });
        let fixed = self.directory.fixed.iter().find(|f| f.chain_id == chain_id);
        endpoints::resolve(discovered, fixed, mode.effective(self.directory.in_cluster))
    }

    /// One known chain with its endpoints in `mode`, labels and ports.
    pub fn resolve(&self, chain_id: &str, mode: Mode) -> crate::chain::Result<ResolvedChain> {
        if !self.contains(chain_id) {
            return Err(crate::chain::Error::ChainNotFound(chain_id.to_string()));
        }
        let (endpoints, source) = self.endpoints(chain_id, mode);
        let pod = views::chain_pods(&self.pods).into_iter().find(|p| {
            p.metadata.labels.as_ref().and_then(|l| l.get(crate::chart::INSTANCE_LABEL)).map(String::as_str)
                == Some(chain_id)
        });
        let label = |key: &str| pod.and_then(|p| p.metadata.labels.as_ref()?.get(key).cloned());
        Ok(ResolvedChain {
            endpoints,
            source,
            component: label(crate::chart::COMPONENT_LABEL),
            instance: label(crate::chart::INSTANCE_LABEL),
            ports: views::chain_service(&self.services, chain_id)
                .map(|svc| views::named_ports(svc).into_iter().map(|(name, p)| (name, p.port)).collect()),
        })
    }

    /// The URL the BFF itself calls for `kind` (`rpc` or `api`) of a known chain, as
    /// `mode=auto` resolves it.
    pub fn upstream(&self, chain_id: &str, kind: &'static str) -> crate::chain::Result<String> {
        let eps = self.resolve(chain_id, Mode::Auto)?.endpoints;
        let url = if kind == "rpc" { eps.rpc } else { eps.api };
        url.ok_or_else(|| crate::chain::Error::NoEndpoint { chain: chain_id.to_string(), kind })
    }

    /// The endpoints the BFF itself uses to reach `chain_id`, known or not (`mode=auto`).
    pub fn upstream_endpoints(&self, chain_id: &str) -> ChainEndpoints {
        self.endpoints(chain_id, Mode::Auto).0
    }
}
