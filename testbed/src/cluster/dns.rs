//! The cluster DNS as a pod sees it (CoreDNS's kubernetes plugin, reduced): a Service's name
//! in the pod's namespace, and `<hostname>.<subdomain>` of a pod whose subdomain is a headless
//! Service there (the stable names of StatefulSet pods). A program that dials a host looks it
//! up here first, so a name built under the wrong release fails as `no such host` does.

use crate::kinds::{PODS, SERVICES};
use crate::store::Store;
use serde_json::json;

#[derive(Clone)]
pub struct Dns {
    store: Store,
    namespace: String,
}

impl Dns {
    pub fn new(store: Store, namespace: &str) -> Self {
        Self { store, namespace: namespace.to_string() }
    }

    /// Whether `host` (a name, an IP, or `localhost`) resolves from a pod of the namespace.
    pub fn resolves(&self, host: &str) -> bool {
        if host == "localhost" || host.parse::<std::net::IpAddr>().is_ok() {
            return true;
        }
        let ns = &self.namespace;
        let short = [format!(".{ns}.svc.cluster.local"), format!(".{ns}.svc"), format!(".{ns}")]
            .iter()
            .find_map(|suffix| host.strip_suffix(suffix.as_str()))
            .unwrap_or(host);
        match short.split_once('.') {
            None => self.store.get(&SERVICES, Some(ns), short).is_some(),
            Some((hostname, subdomain)) => {
                let headless = self
                    .store
                    .get(&SERVICES, Some(ns), subdomain)
                    .is_some_and(|s| s["spec"]["clusterIP"] == json!("None"));
                headless
                    && self.store.list(&PODS, Some(ns)).0.iter().any(|p| {
                        p["spec"]["hostname"] == json!(hostname) && p["spec"]["subdomain"] == json!(subdomain)
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_pods_under_a_headless_service_resolve_nothing_else_does() {
        let store = Store::default();
        let meta = |name: &str| json!({"name": name, "namespace": "ns"});
        store.create(
            &SERVICES,
            json!({"metadata": meta("lab-cryptomeria-chain-headless"), "spec": {"clusterIP": "None"}}),
        );
        store.create(
            &SERVICES,
            json!({"metadata": meta("lab-cryptomeria-gwc"), "spec": {"clusterIP": "10.96.0.11"}}),
        );
        store.create(
            &PODS,
            json!({"metadata": meta("lab-cryptomeria-gwc-0"),
            "spec": {"hostname": "lab-cryptomeria-gwc-0", "subdomain": "lab-cryptomeria-chain-headless"}}),
        );
        let dns = Dns::new(store, "ns");
        for host in [
            "lab-cryptomeria-gwc-0.lab-cryptomeria-chain-headless",
            "lab-cryptomeria-gwc",
            "lab-cryptomeria-gwc.ns.svc.cluster.local",
            "localhost",
            "10.0.0.1",
        ] {
            assert!(dns.resolves(host), "{host}");
        }
        for host in [
            "cryptomeria-gwc-0.cryptomeria-chain-headless",
            "lab-cryptomeria-mdsc-0.lab-cryptomeria-chain-headless",
            // A ClusterIP Service gives its pods no names.
            "lab-cryptomeria-gwc-0.lab-cryptomeria-gwc",
            "lab-cryptomeria-gwc.other",
        ] {
            assert!(!dns.resolves(host), "{host}");
        }
    }
}
