//! The simulated cluster's controllers: it installs the chart's objects, runs each pod's
//! in-pod world, moves pods Pending → Running → Ready, keeps Endpoints and workload status
//! in step with the pods, and carries out churn (delete/recreate, scale, hold not-ready).
//! The workload controllers (replicas, rollouts) live in `cluster/controllers.rs`.

mod controllers;
mod crash_loop;
mod dns;
mod pods;

pub use controllers::{DeploymentPlan, OwnedPod, WriteError, plan_deployment};

use super::chain::{Chains, NodeConfig};
use super::kinds::{
    CONFIGMAPS, DEPLOYMENTS, ENDPOINTS, NAMESPACES, NODES, PODS, SECRETS, SERVICES, STATEFULSETS,
};
use super::layout::MNEMONICS_DIR;
use super::mnemonics::mnemonic_files;
use super::objects::{self, Chain, DEFAULT_RELEASE, Release};
use super::pod::{PodRuntime, Volume};
use super::store::Store;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Pod Ready → node serving, by default: the chart's entrypoint polls the genesis-server
/// every 2 s while that server's init containers still generate every chain's genesis, so on
/// a fresh install the first fetch succeeds a few tries in.
pub const DEFAULT_BOOT_DELAY: Duration = Duration::from_secs(6);

/// How NodePort numbers are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodePorts {
    /// The chart's numbers (gwc 30007/30003/30000, …), for demo mode.
    Chart,
    /// Free ports picked by the OS and held, so parallel test suites never collide.
    Ephemeral,
}

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub namespace: String,
    /// The Helm release the chart's objects are installed under (their names follow it).
    pub release: String,
    pub fdsc: usize,
    /// Pending → Running/Ready delay of a new pod.
    pub ready_delay: Duration,
    /// Ready → serving delay of a chain pod's node (on install, recreation and scale-up):
    /// the entrypoint's genesis fetch. Zero = the node serves before its pod turns Ready.
    pub boot_delay: Duration,
    /// The node's InternalIP; NodePorts are reachable on it.
    pub node_ip: String,
    pub node_ports: NodePorts,
    /// Time between blocks on every chain; `None` = manual.
    pub block_interval: Option<Duration>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            namespace: DEFAULT_RELEASE.into(),
            release: DEFAULT_RELEASE.into(),
            fdsc: 2,
            ready_delay: Duration::from_millis(200),
            boot_delay: DEFAULT_BOOT_DELAY,
            node_ip: "127.0.0.1".into(),
            node_ports: NodePorts::Ephemeral,
            // CometBFT 0.38's default `timeout_commit` (config/config.go).
            block_interval: Some(Duration::from_secs(1)),
        }
    }
}

/// A live pod: its in-pod world and a token cancelled when the pod goes away.
#[derive(Clone)]
pub struct LivePod {
    pub runtime: PodRuntime,
    pub gone: CancellationToken,
    pub uid: String,
}

/// rpc/api/grpc NodePorts, the listeners holding them, and their process-wide leases.
type AllocatedPorts = ((u16, u16, u16), Vec<std::net::TcpListener>, Vec<super::ports::PortLease>);

#[derive(Default)]
struct State {
    chains: Vec<Chain>,
    pods: BTreeMap<String, LivePod>,
    held_not_ready: BTreeSet<String>,
    node_ports: BTreeMap<String, (u16, u16, u16)>,
    /// The leases on those ports, held while the chain exists.
    port_leases: BTreeMap<String, Vec<super::ports::PortLease>>,
    next_ip: u32,
}

/// Cheap to clone; all clones drive one cluster.
#[derive(Clone)]
pub struct Cluster {
    pub store: Store,
    pub config: Arc<ClusterConfig>,
    /// The names the chart renders under `config.release`.
    pub release: Release,
    /// One chain node per chain, serving on the chain's NodePorts.
    pub chains: Chains,
    relayer_volume: Volume,
    /// `transact link` faults armed by tests; shared by every relayer pod.
    pub link_faults: Arc<super::programs::LinkFaults>,
    /// Relaying knobs (pause, drop acks); shared by every relayer pod.
    pub relay_controls: Arc<super::programs::RelayControls>,
    state: Arc<Mutex<State>>,
    /// Serialises the workload controllers, so two passes never both create a missing pod.
    reconciling: Arc<Mutex<()>>,
}

impl Cluster {
    /// Installs every object of a fresh chart install and starts its pods.
    pub fn install(config: ClusterConfig) -> std::io::Result<Self> {
        let cluster = Self {
            store: Store::default(),
            release: Release::new(&config.release),
            config: Arc::new(config),
            chains: Chains::default(),
            relayer_volume: Volume::new(),
            link_faults: Arc::default(),
            relay_controls: Arc::default(),
            state: Arc::default(),
            reconciling: Arc::default(),
        };
        // A pod turning Ready runs a controller pass; none may act on a half-installed release
        // (it would add a second relayer pod that mounts only the chains added so far).
        let installing = cluster.reconcile_guard();
        let ns = cluster.config.namespace.clone();
        for name in ["default", "kube-system", ns.as_str()] {
            cluster.store.create(&NAMESPACES, objects::namespace(name));
        }
        cluster.store.create(&NODES, objects::node(&cluster.config.node_ip));
        let rel = &cluster.release;
        cluster.store.create(&CONFIGMAPS, objects::scripts_configmap(&ns, rel));
        cluster.store.create(&CONFIGMAPS, objects::genesis_script_configmap(&ns, rel));
        cluster.store.create(&SERVICES, objects::headless_service(&ns, rel));
        cluster.store.create(&DEPLOYMENTS, objects::relayer_deployment(&ns, rel));
        for chain in Chain::all(rel, cluster.config.fdsc) {
            cluster.add_chain(chain)?;
        }
        cluster.sync_secret();
        cluster.spawn_relayer_pod();
        cluster.install_auxiliaries();
        drop(installing);
        cluster.sync();
        Ok(cluster)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ns(&self) -> &str {
        &self.config.namespace
    }

    pub fn chains(&self) -> Vec<Chain> {
        self.lock().chains.clone()
    }

    /// `(rpc, api, grpc)` NodePorts of a chain.
    pub fn node_ports(&self, instance: &str) -> Option<(u16, u16, u16)> {
        self.lock().node_ports.get(instance).copied()
    }

    pub fn pod(&self, name: &str) -> Option<LivePod> {
        self.lock().pods.get(name).cloned()
    }

    /// The relayer pod's current name (it changes when the pod is recreated).
    pub fn relayer_pod_name(&self) -> Option<String> {
        let prefix = format!("{}-", self.release.relayer());
        self.lock().pods.keys().find(|n| n.starts_with(&prefix)).cloned()
    }

    fn add_chain(&self, chain: Chain) -> std::io::Result<()> {
        let ns = self.ns().to_string();
        // The node serves on the listeners that hold its NodePorts, so no one else takes them.
        let (ports, listeners, leases) = self.allocate_node_ports(&chain)?;
        let node = NodeConfig {
            chain_id: chain.instance.clone(),
            app_name: chain.component.to_string(),
            moniker: chain.pod_name(),
            block_interval: self.config.block_interval,
        };
        let node = self.chains.start(node, listeners)?;
        if !self.config.boot_delay.is_zero() {
            // Down until its pod has booted (`cluster/pods.rs`).
            node.suspend();
        }
        let cluster_ip = {
            let mut st = self.lock();
            st.next_ip += 1;
            st.node_ports.insert(chain.instance.clone(), ports);
            st.port_leases.insert(chain.instance.clone(), leases);
            st.chains.push(chain.clone());
            format!("10.96.0.{}", 10 + st.next_ip)
        };
        self.store.create(&STATEFULSETS, objects::chain_statefulset(&chain, &ns));
        self.store.create(&SERVICES, objects::chain_service(&chain, &ns, &cluster_ip, ports));
        self.spawn_chain_pod(&chain);
        Ok(())
    }

    /// The three NodePorts, their listeners and (ephemeral mode) their leases.
    fn allocate_node_ports(&self, chain: &Chain) -> std::io::Result<AllocatedPorts> {
        let ip = self.config.node_ip.as_str();
        let chart = chain.chart_node_ports();
        if self.config.node_ports == NodePorts::Chart {
            let bound: Result<Vec<_>, _> =
                [chart.0, chart.1, chart.2].iter().map(|p| std::net::TcpListener::bind((ip, *p))).collect();
            if let Ok(listeners) = bound {
                return Ok((chart, listeners, Vec::new()));
            }
        }
        let (mut listeners, mut leases) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            let (listener, lease) = super::ports::listen(ip)?;
            listeners.push(listener);
            leases.extend(lease);
        }
        let port = |i: usize| listeners[i].local_addr().map(|a| a.port());
        Ok(((port(0)?, port(1)?, port(2)?), listeners, leases))
    }

    fn sync_secret(&self) {
        let ids: Vec<String> = self.chains().into_iter().map(|c| c.instance).collect();
        self.store
            .create(&SECRETS, objects::mnemonics_secret(self.ns(), &self.release, &mnemonic_files(&ids)));
        // A mounted Secret volume follows the Secret: refresh the files in running pods.
        let files = mnemonic_files(&ids);
        for pod in self.lock().pods.values() {
            for (name, words) in &files {
                pod.runtime.fs().write_file(&format!("{MNEMONICS_DIR}/{name}"), words.as_bytes());
            }
        }
    }

    fn mnemonic_mounts(&self) -> Vec<(String, Vec<u8>)> {
        let ids: Vec<String> = self.chains().into_iter().map(|c| c.instance).collect();
        mnemonic_files(&ids)
            .into_iter()
            .map(|(n, w)| (format!("{MNEMONICS_DIR}/{n}"), w.into_bytes()))
            .collect()
    }

    /// The chart's other Deployments and Services: faucet and genesis-server. Their pods
    /// idle (no faucet or genesis HTTP is served).
    fn install_auxiliaries(&self) {
        let ns = self.ns().to_string();
        let rel = &self.release;
        self.store.create(&CONFIGMAPS, objects::faucet_configmap(&ns, rel));
        self.store.create(&DEPLOYMENTS, objects::faucet_deployment(&ns, rel));
        self.store.create(&DEPLOYMENTS, objects::genesis_server_deployment(&ns, rel, self.config.fdsc));
        let ip = |cluster: &Self| {
            let mut st = cluster.lock();
            st.next_ip += 1;
            format!("10.96.0.{}", 10 + st.next_ip)
        };
        self.store.create(&SERVICES, objects::faucet_service(&ns, rel, &ip(self), objects::FAUCET_NODE_PORT));
        self.store.create(&SERVICES, objects::genesis_server_service(&ns, rel, &ip(self)));
        for name in self.auxiliary_deployments() {
            self.spawn_idle_pod(&name);
        }
    }

    /// Deletes a pod the way a user or eviction would; its controller recreates it
    /// (same name for a StatefulSet, a new name for the relayer Deployment).
    /// Processes die; the relayer's persistent volume survives. Returns the new pod's name.
    pub fn delete_pod(&self, name: &str) -> Option<String> {
        let _pass = self.reconcile_guard();
        let live = self.lock().pods.remove(name)?;
        live.runtime.shutdown();
        live.gone.cancel();
        self.stop_node_of_pod(name);
        self.store.delete(&PODS, Some(self.ns()), name);
        self.sync();
        let created = self.reconcile_locked();
        self.sync();
        created.into_iter().next()
    }

    /// Adds `n` Running and Ready pods that belong to no chart workload (a Deployment
    /// `filler` of nginx-like containers): load for benchmarks of the pod cache. They have
    /// no in-pod world, so `exec` into them fails as into a container without a shell.
    pub fn add_plain_pods(&self, n: usize) {
        let ns = self.ns().to_string();
        let template = json!({
            "metadata": {"labels": {"app.kubernetes.io/name": "filler", "app.kubernetes.io/component": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}], "restartPolicy": "Always"},
        });
        let start = self.store.list(&PODS, Some(&ns)).0.len();
        let uid = objects::synthetic_uid("ReplicaSet", &ns, "filler");
        for i in start..start + n {
            let name = format!("filler-{}-{i}", random_suffix(5));
            let owner = ("ReplicaSet", "filler", uid.as_str());
            let mut pod = objects::pending_pod(&name, &ns, &template, owner, &self.config.node_ip);
            objects::set_running(&mut pod, &format!("10.245.{}.{}", i / 250, i % 250), true);
            self.store.create(&PODS, pod);
        }
    }

    /// Holds a pod not-ready (its readiness probe fails) or releases it.
    pub fn set_held_not_ready(&self, name: &str, held: bool) {
        if held {
            self.lock().held_not_ready.insert(name.to_string());
        } else {
            self.lock().held_not_ready.remove(name);
        }
        self.store.update(&PODS, Some(self.ns()), name, |pod| {
            if let Some(ip) = pod["status"]["podIP"].as_str().map(str::to_string) {
                objects::set_running(pod, &ip, !held);
            }
        });
        self.reconcile();
    }

    /// Scales the data chains to `n` (adds `fdsc-<i>` or removes the highest ones).
    pub fn scale_fdsc(&self, n: usize) -> std::io::Result<()> {
        let _pass = self.reconcile_guard();
        let current = self.chains().iter().filter(|c| c.component == "fdsc").count();
        for i in current..n {
            self.add_chain(Chain::fdsc(&self.release, i))?;
        }
        for i in (n..current).rev() {
            let chain = Chain::fdsc(&self.release, i);
            if let Some(live) = self.lock().pods.remove(&chain.pod_name()) {
                live.runtime.shutdown();
                live.gone.cancel();
            }
            let ns = self.ns().to_string();
            self.store.delete(&PODS, Some(&ns), &chain.pod_name());
            self.store.delete(&SERVICES, Some(&ns), &chain.workload_name());
            self.store.delete(&ENDPOINTS, Some(&ns), &chain.workload_name());
            self.store.delete(&STATEFULSETS, Some(&ns), &chain.workload_name());
            self.chains.remove(&chain.instance);
            let mut st = self.lock();
            st.chains.retain(|c| *c != chain);
            st.node_ports.remove(&chain.instance);
            st.port_leases.remove(&chain.instance);
        }
        self.sync_secret();
        self.sync();
        Ok(())
    }

    /// Recomputes what follows from the pods: Endpoints of every Service and the ready
    /// counts of the workloads. Unchanged objects cost no event.
    fn sync(&self) {
        let ns = self.ns().to_string();
        let (pods, _) = self.store.list(&PODS, Some(&ns));
        let (services, _) = self.store.list(&SERVICES, Some(&ns));
        for svc in &services {
            let selector: BTreeMap<String, String> =
                serde_json::from_value(svc["spec"]["selector"].clone()).unwrap_or_default();
            let selected: Vec<&Value> = pods.iter().filter(|p| selects(&selector, p)).collect();
            let endpoints = objects::endpoints_for(svc, &selected);
            let name = svc["metadata"]["name"].as_str().unwrap_or_default();
            let existing = self.store.update(&ENDPOINTS, Some(&ns), name, |e| {
                e["subsets"] = endpoints["subsets"].clone();
            });
            if existing.is_none() {
                self.store.create(&ENDPOINTS, endpoints);
            }
        }
        for (kind, name) in self.workloads() {
            let Some(workload) = self.store.get(kind, Some(&ns), &name) else { continue };
            let selector: BTreeMap<String, String> =
                serde_json::from_value(workload["spec"]["selector"]["matchLabels"].clone())
                    .unwrap_or_default();
            let owned: Vec<&Value> = pods.iter().filter(|p| selects(&selector, p)).collect();
            let ready = owned.iter().filter(|p| objects::is_pod_ready(p)).count();
            let (label, current) = if kind == &STATEFULSETS {
                (REVISION_LABEL, controllers::revision(&name, &workload["spec"]["template"]))
            } else {
                (POD_TEMPLATE_HASH_LABEL, template_hash(&workload["spec"]["template"]))
            };
            let updated = owned.iter().filter(|p| p["metadata"]["labels"][label] == json!(current)).count();
            self.store.update(kind, Some(&ns), &name, |w| {
                w["status"]["replicas"] = json!(owned.len());
                w["status"]["readyReplicas"] = json!(ready);
                w["status"]["availableReplicas"] = json!(ready);
                w["status"]["updatedReplicas"] = json!(updated);
                if kind == &STATEFULSETS {
                    // One revision at a time: the controller replaces outdated pods at once.
                    w["status"]["currentReplicas"] = json!(updated);
                    w["status"]["currentRevision"] = json!(current);
                    w["status"]["updateRevision"] = json!(current);
                }
            });
        }
    }

    fn workloads(&self) -> Vec<(&'static super::kinds::Kind, String)> {
        let mut out: Vec<_> = self.chains().iter().map(|c| (&STATEFULSETS, c.workload_name())).collect();
        out.push((&DEPLOYMENTS, self.release.relayer()));
        out.extend(self.auxiliary_deployments().into_iter().map(|d| (&DEPLOYMENTS, d)));
        out
    }

    /// The chart's Deployments besides the relayer, whose pods only idle (the faucet's name
    /// is literal in the chart).
    fn auxiliary_deployments(&self) -> [String; 2] {
        ["faucet".to_string(), self.release.genesis_server()]
    }

    /// Stops every pod's processes and every chain node (testbed shutdown).
    pub fn shutdown(&self) {
        self.chains.shutdown_all();
        for pod in std::mem::take(&mut self.lock().pods).into_values() {
            pod.runtime.shutdown();
            pod.gone.cancel();
        }
    }
}

fn selects(selector: &BTreeMap<String, String>, pod: &Value) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| pod["metadata"]["labels"][k] == json!(v))
}

/// The label a Deployment's pods carry with their template's hash (and the ReplicaSet's name).
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";
/// The label a StatefulSet's pods carry with the revision they were made from.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// A pod-template-hash: 10 characters of the safe alphabet from a digest of the template.
pub fn template_hash(template: &Value) -> String {
    use sha2::Digest as _;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let d = sha2::Sha256::digest(template.to_string());
    d.iter().take(10).map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

fn random_suffix(len: usize) -> String {
    // Kubernetes' SafeEncodeString alphabet: no vowels, no confusable characters.
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..len).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect()
}
