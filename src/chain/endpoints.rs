//! Where a chain is reached: discovered endpoints (NodePort outside the cluster, Service DNS
//! inside) or fixed ones from configuration, which win per chain and per field (port-forwards,
//! any CometBFT node). Pure: the cache's directory hands in what it discovered.

use serde::{Deserialize, Serialize};
use std::str::FromStr;
use utoipa::ToSchema;

/// Which side of the cluster the endpoints are for (`?mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// NodePort URLs on the node host.
    External,
    /// Service DNS names and container ports.
    Internal,
    /// External when the BFF runs outside the cluster, internal inside it.
    #[default]
    Auto,
}

impl Mode {
    /// `Auto` made concrete; `in_cluster` comes from `running_in_cluster`.
    pub fn effective(self, in_cluster: bool) -> Self {
        match (self, in_cluster) {
            (Self::Auto, true) => Self::Internal,
            (Self::Auto, false) => Self::External,
            (concrete, _) => concrete,
        }
    }
}

/// Kubernetes sets `KUBERNETES_SERVICE_HOST` in every container; outside a pod it is absent.
pub fn running_in_cluster(kubernetes_service_host: Option<&str>) -> bool {
    kubernetes_service_host.is_some_and(|h| !h.is_empty())
}

/// The three endpoints of a chain (the API's `ChainEndpoints`): URLs for rpc/api, `host:port` for grpc.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChainEndpoints {
    pub rpc: Option<String>,
    pub api: Option<String>,
    pub grpc: Option<String>,
}

/// Where resolved endpoints came from (`meta.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    NodePort,
    ServiceDns,
    Config,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NodePort => "k8s.service.nodeport",
            Self::ServiceDns => "k8s.service.dns",
            Self::Config => "config",
        }
    }
}

/// A `--chain-endpoint gwc=rpc=http://h:1,api=http://h:2,grpc=h:3` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedEndpoint {
    pub chain_id: String,
    pub endpoints: ChainEndpoints,
}

impl FromStr for FixedEndpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (chain_id, rest) = s.split_once('=').ok_or("expected CHAIN=rpc=URL,api=URL,grpc=HOST:PORT")?;
        let chain_id = chain_id.trim();
        if chain_id.is_empty() {
            return Err("empty chain id".into());
        }
        let mut endpoints = ChainEndpoints::default();
        for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, value) =
                part.split_once('=').ok_or_else(|| format!("expected KIND=VALUE, got {part}"))?;
            let slot = match kind.trim() {
                "rpc" => &mut endpoints.rpc,
                "api" => &mut endpoints.api,
                "grpc" => &mut endpoints.grpc,
                other => return Err(format!("unknown endpoint kind {other} (rpc, api, grpc)")),
            };
            *slot = Some(value.trim().trim_end_matches('/').to_string());
        }
        if endpoints == ChainEndpoints::default() {
            return Err(format!("no endpoint given for {chain_id}"));
        }
        Ok(Self { chain_id: chain_id.to_string(), endpoints })
    }
}

/// Endpoints of one chain: fixed fields first, then the discovered set the mode picks.
/// `discovered` is `(external, internal)`; `mode` must be concrete (see `Mode::effective`).
pub fn resolve(
    discovered: Option<(ChainEndpoints, ChainEndpoints)>,
    fixed: Option<&FixedEndpoint>,
    mode: Mode,
) -> (ChainEndpoints, Source) {
    let (base, source) = match (discovered, mode) {
        (Some((_, internal)), Mode::Internal) => (internal, Source::ServiceDns),
        (Some((external, _)), _) => (external, Source::NodePort),
        (None, Mode::Internal) => (ChainEndpoints::default(), Source::ServiceDns),
        (None, _) => (ChainEndpoints::default(), Source::NodePort),
    };
    match fixed {
        None => (base, source),
        Some(f) => (
            ChainEndpoints {
                rpc: f.endpoints.rpc.clone().or(base.rpc),
                api: f.endpoints.api.clone().or(base.api),
                grpc: f.endpoints.grpc.clone().or(base.grpc),
            },
            Source::Config,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(tag: &str) -> ChainEndpoints {
        ChainEndpoints {
            rpc: Some(format!("http://{tag}:1")),
            api: Some(format!("http://{tag}:2")),
            grpc: Some(format!("{tag}:3")),
        }
    }

    #[test]
    fn auto_is_external_outside_the_cluster_and_internal_inside() {
        assert_eq!(Mode::Auto.effective(false), Mode::External);
        assert_eq!(Mode::Auto.effective(true), Mode::Internal);
        assert_eq!(Mode::Internal.effective(false), Mode::Internal);
        assert!(!running_in_cluster(None));
        assert!(running_in_cluster(Some("10.96.0.1")));
    }

    #[test]
    fn fixed_endpoints_parse_from_the_flag_form() {
        let f: FixedEndpoint = "gwc=rpc=http://localhost:26657/,api=http://localhost:1317".parse().unwrap();
        assert_eq!(f.chain_id, "gwc");
        assert_eq!(f.endpoints.rpc.as_deref(), Some("http://localhost:26657"));
        assert_eq!(f.endpoints.grpc, None);
        assert!("gwc".parse::<FixedEndpoint>().is_err());
        assert!("gwc=".parse::<FixedEndpoint>().is_err());
        assert!("gwc=web=http://x".parse::<FixedEndpoint>().is_err());
    }

    #[test]
    fn fixed_fields_win_over_discovery_and_the_rest_is_discovered() {
        let fixed: FixedEndpoint = "gwc=rpc=http://pf:26657".parse().unwrap();
        let (eps, source) = resolve(Some((set("ext"), set("int"))), Some(&fixed), Mode::External);
        assert_eq!(source, Source::Config);
        assert_eq!(eps.rpc.as_deref(), Some("http://pf:26657"));
        assert_eq!(eps.api.as_deref(), Some("http://ext:2"));
        let (eps, source) = resolve(Some((set("ext"), set("int"))), None, Mode::Internal);
        assert_eq!((eps, source), (set("int"), Source::ServiceDns));
    }
}
