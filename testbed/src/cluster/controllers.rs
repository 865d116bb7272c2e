//! The workload controllers (kube-controller-manager's statefulset and deployment
//! controllers, reduced to what the chart needs): `spec.replicas` and `spec.template` of each
//! StatefulSet and Deployment decide which pods run.
//!
//! - A chain StatefulSet runs its pod `-0` while `replicas >= 1` (the testbed runs one node
//!   per chain: ordinals above 0 are never created). At 0 the pod is deleted and the chain's
//!   node is suspended (no blocks, ports refuse); its state stays, as the data directory on
//!   the PVC does, and the recreated pod continues from the kept height. A changed template
//!   (`kubectl rollout restart statefulset`) recreates the pod under the same name.
//! - A Deployment's pods are `<name>-<pod-template-hash>-<5 chars>`. A changed template
//!   (`kubectl rollout restart`) is rolled out as RollingUpdate with the chart's 25%/25% does
//!   for one replica: the new pod first, the old ones deleted once the new ones are Ready.
//!   The relayer's `/home/relayer/.relayer` PVC is shared by every relayer pod; its `config`
//!   emptyDir is each pod's own.

use super::{Cluster, POD_TEMPLATE_HASH_LABEL, template_hash};
use crate::kinds::{DEPLOYMENTS, Kind, PODS, STATEFULSETS};
use crate::objects;
use serde_json::Value;

/// One pod of a Deployment as its controller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedPod {
    pub name: String,
    /// Its pod-template-hash.
    pub hash: String,
    pub ready: bool,
}

/// What one pass of the Deployment controller does.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DeploymentPlan {
    /// New pods of the current template to create.
    pub create: usize,
    /// Pods to delete, by name.
    pub delete: Vec<String>,
}

/// The Deployment controller's decision for `replicas` of the template hashed `hash`: make
/// up the number of current pods, remove surplus current pods, and remove old-template pods
/// once the current ones are all Ready (at once when scaling to 0).
pub fn plan_deployment(replicas: usize, hash: &str, pods: &[OwnedPod]) -> DeploymentPlan {
    let (current, old): (Vec<&OwnedPod>, Vec<&OwnedPod>) = pods.iter().partition(|p| p.hash == hash);
    let mut plan = DeploymentPlan { create: replicas.saturating_sub(current.len()), delete: Vec::new() };
    // Surplus current pods go, not-ready ones first (ReplicaSet's deletion ranking).
    let mut surplus = current.clone();
    surplus.sort_by_key(|p| p.ready);
    plan.delete.extend(surplus.iter().take(current.len().saturating_sub(replicas)).map(|p| p.name.clone()));
    let ready_current = current.iter().filter(|p| p.ready).count();
    if replicas == 0 || ready_current >= replicas {
        plan.delete.extend(old.iter().map(|p| p.name.clone()));
    }
    plan
}

/// `spec.replicas`, which defaults to 1.
pub fn desired_replicas(workload: &Value) -> usize {
    workload["spec"]["replicas"].as_u64().map_or(1, |r| usize::try_from(r).unwrap_or(usize::MAX))
}

/// A StatefulSet revision name, `<statefulset>-<hash of the template>`.
pub fn revision(statefulset: &str, template: &Value) -> String {
    format!("{statefulset}-{}", template_hash(template))
}

/// Why a workload write was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    #[error("not found")]
    NotFound,
    /// The writer's resourceVersion is not the stored one.
    #[error("the object has been modified")]
    Conflict,
}

impl Cluster {
    pub(super) fn reconcile_guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.reconciling.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the workload controllers once, then brings Endpoints and status up to date.
    /// Returns the pods it created.
    pub fn reconcile(&self) -> Vec<String> {
        let created = {
            let _pass = self.reconcile_guard();
            self.reconcile_locked()
        };
        self.sync();
        created
    }

    /// One pass over every workload; the caller holds `reconcile_guard`.
    pub(super) fn reconcile_locked(&self) -> Vec<String> {
        let mut created = Vec::new();
        for (kind, name) in self.workloads() {
            if kind == &STATEFULSETS {
                created.extend(self.reconcile_statefulset(&name));
            } else {
                created.extend(self.reconcile_deployment(&name));
            }
        }
        created
    }

    fn reconcile_statefulset(&self, name: &str) -> Vec<String> {
        let Some(chain) = self.chains().into_iter().find(|c| c.workload_name() == name) else {
            return Vec::new();
        };
        let Some(sts) = self.store.get(&STATEFULSETS, Some(self.ns()), name) else { return Vec::new() };
        let pod = self.store.get(&PODS, Some(self.ns()), &chain.pod_name());
        let running = self.lock().pods.contains_key(&chain.pod_name());
        let want = desired_replicas(&sts) >= 1;
        let current = revision(name, &sts["spec"]["template"]);
        let outdated =
            pod.as_ref().is_some_and(|p| p["metadata"]["labels"][super::REVISION_LABEL] != current);
        if running && (!want || outdated) {
            self.terminate_pod(&chain.pod_name());
        }
        if want && (!running || outdated) {
            self.spawn_chain_pod(&chain);
            return vec![chain.pod_name()];
        }
        Vec::new()
    }

    fn reconcile_deployment(&self, name: &str) -> Vec<String> {
        let Some(deployment) = self.store.get(&DEPLOYMENTS, Some(self.ns()), name) else {
            return Vec::new();
        };
        let hash = template_hash(&deployment["spec"]["template"]);
        let prefix = format!("{name}-");
        let names: Vec<String> =
            self.lock().pods.keys().filter(|n| n.starts_with(&prefix)).cloned().collect();
        let pods: Vec<OwnedPod> = names
            .into_iter()
            .map(|n| {
                let obj = self.store.get(&PODS, Some(self.ns()), &n).unwrap_or_default();
                let hash = obj["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL].as_str().unwrap_or_default();
                OwnedPod { hash: hash.to_string(), ready: objects::is_pod_ready(&obj), name: n }
            })
            .collect();
        let plan = plan_deployment(desired_replicas(&deployment), &hash, &pods);
        for pod in &plan.delete {
            self.terminate_pod(pod);
        }
        (0..plan.create).map(|_| self.spawn_for_deployment(name)).collect()
    }

    fn spawn_for_deployment(&self, name: &str) -> String {
        if name == self.release.relayer() { self.spawn_relayer_pod() } else { self.spawn_idle_pod(name) }
    }

    /// Removes a pod at once (its processes die, a chain's node stops; volumes other than
    /// emptyDirs survive).
    fn terminate_pod(&self, name: &str) {
        if let Some(live) = self.lock().pods.remove(name) {
            live.runtime.shutdown();
            live.gone.cancel();
        }
        self.stop_node_of_pod(name);
        self.store.delete(&PODS, Some(self.ns()), name);
    }

    /// Stores a client's write to a StatefulSet or Deployment (`change` edits the stored
    /// object; status and server-owned metadata stay the server's) and lets the controllers
    /// act on it. `expected_rv` is the writer's precondition. Returns the stored object.
    pub fn write_workload(
        &self,
        kind: &'static Kind,
        name: &str,
        expected_rv: Option<&str>,
        change: impl FnOnce(&mut Value),
    ) -> Result<Value, WriteError> {
        let stored = {
            let _pass = self.reconcile_guard();
            let current = self.store.get(kind, Some(self.ns()), name).ok_or(WriteError::NotFound)?;
            if expected_rv.is_some_and(|rv| current["metadata"]["resourceVersion"] != rv) {
                return Err(WriteError::Conflict);
            }
            let stored =
                self.store.update(kind, Some(self.ns()), name, change).ok_or(WriteError::NotFound)?;
            self.reconcile_locked();
            stored
        };
        self.sync();
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, hash: &str, ready: bool) -> OwnedPod {
        OwnedPod { name: name.into(), hash: hash.into(), ready }
    }

    #[test]
    fn a_deployment_below_its_replicas_creates_pods_of_the_current_template() {
        assert_eq!(plan_deployment(1, "h1", &[]), DeploymentPlan { create: 1, delete: vec![] });
        let plan = plan_deployment(2, "h1", &[pod("a", "h1", true)]);
        assert_eq!(plan, DeploymentPlan { create: 1, delete: vec![] });
    }

    #[test]
    fn scaling_a_deployment_to_zero_deletes_every_pod_at_once() {
        let pods = [pod("a", "h1", true), pod("b", "h0", false)];
        let plan = plan_deployment(0, "h1", &pods);
        assert_eq!(plan.create, 0);
        assert_eq!(plan.delete, ["a", "b"]);
    }

    #[test]
    fn a_rollout_keeps_the_old_pod_until_the_new_one_is_ready() {
        let surge = plan_deployment(1, "h2", &[pod("old", "h1", true)]);
        assert_eq!(surge, DeploymentPlan { create: 1, delete: vec![] });
        let waiting = plan_deployment(1, "h2", &[pod("old", "h1", true), pod("new", "h2", false)]);
        assert_eq!(waiting, DeploymentPlan::default());
        let done = plan_deployment(1, "h2", &[pod("old", "h1", true), pod("new", "h2", true)]);
        assert_eq!(done, DeploymentPlan { create: 0, delete: vec!["old".into()] });
    }

    #[test]
    fn surplus_pods_go_not_ready_ones_first() {
        let plan = plan_deployment(1, "h", &[pod("ready", "h", true), pod("starting", "h", false)]);
        assert_eq!(plan.delete, ["starting"]);
    }

    #[test]
    fn replicas_default_to_one_and_revisions_follow_the_template() {
        assert_eq!(desired_replicas(&json!({"spec": {}})), 1);
        assert_eq!(desired_replicas(&json!({"spec": {"replicas": 0}})), 0);
        let t1 = json!({"metadata": {"labels": {"a": "b"}}});
        let t2 = json!({"metadata": {"labels": {"a": "b"}, "annotations": {"x": "y"}}});
        assert_eq!(revision("s", &t1), revision("s", &t1));
        assert_ne!(revision("s", &t1), revision("s", &t2));
        assert!(revision("s", &t1).starts_with("s-"));
    }

    /// A cluster on free ports with manual blocks and a short start-up delay.
    fn cluster() -> Cluster {
        let config = crate::ClusterConfig {
            fdsc: 1,
            ready_delay: std::time::Duration::from_millis(5),
            boot_delay: std::time::Duration::ZERO,
            block_interval: None,
            ..Default::default()
        };
        Cluster::install(config).expect("cluster installs")
    }

    /// Polls `cond` every 5 ms until it holds; fails after 10 s.
    async fn until(what: &str, cond: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while !cond() {
            assert!(tokio::time::Instant::now() < deadline, "never: {what}");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    fn ready(c: &Cluster, pod: &str) -> bool {
        c.store.get(&PODS, Some("cryptomeria"), pod).is_some_and(|p| objects::is_pod_ready(&p))
    }

    fn scale(c: &Cluster, kind: &'static Kind, name: &str, replicas: u64) {
        c.write_workload(kind, name, None, |w| w["spec"]["replicas"] = json!(replicas))
            .expect("workload exists");
    }

    #[tokio::test]
    async fn a_chain_scaled_to_zero_stops_and_continues_from_its_height_when_scaled_back() {
        let c = cluster();
        let (sts, pod) = ("cryptomeria-fdsc-0", "cryptomeria-fdsc-0-0");
        until("fdsc-0 Ready", || ready(&c, pod)).await;
        let node = c.chains.get("fdsc-0").expect("node");
        node.produce_blocks(3);
        let height = node.latest_height();

        scale(&c, &STATEFULSETS, sts, 0);
        assert!(c.store.get(&PODS, Some("cryptomeria"), pod).is_none());
        assert!(c.pod(pod).is_none());
        assert!(!node.is_running());
        assert!(node.produce_blocks(1).is_empty(), "a stopped node commits nothing");
        assert!(c.chains.serving("fdsc-0").is_none());
        let w = c.store.get(&STATEFULSETS, Some("cryptomeria"), sts).unwrap();
        assert_eq!(
            (w["status"]["replicas"].as_u64(), w["status"]["readyReplicas"].as_u64()),
            (Some(0), Some(0))
        );
        assert_eq!(w["metadata"]["generation"], w["status"]["observedGeneration"]);
        let endpoints = c.store.get(&crate::kinds::ENDPOINTS, Some("cryptomeria"), sts).unwrap();
        assert_eq!(endpoints["subsets"], json!([]));

        scale(&c, &STATEFULSETS, sts, 1);
        let pending = c.store.get(&PODS, Some("cryptomeria"), pod).expect("pod -0 again");
        assert_eq!(pending["status"]["phase"], "Pending");
        until("fdsc-0 Ready again", || ready(&c, pod) && node.is_running()).await;
        assert_eq!(node.produce_blocks(1), vec![height + 1]);
    }

    #[tokio::test]
    async fn the_relayer_scaled_to_zero_and_back_gets_a_new_pod_and_loses_only_its_config_dir() {
        let c = cluster();
        let relayer = c.release.relayer();
        let old = c.relayer_pod_name().expect("a relayer pod");
        let fs = c.pod(&old).unwrap().runtime.fs().clone();
        fs.write_file(&format!("{}/config/config.yaml", crate::layout::RELAYER_HOME), b"global: {}\n");
        fs.write_file(&format!("{}/keys/gwc/keyring-test/relayer.info", crate::layout::RELAYER_HOME), b"k");

        scale(&c, &DEPLOYMENTS, &relayer, 0);
        assert_eq!(c.relayer_pod_name(), None);
        assert!(c.pod(&old).is_none());

        scale(&c, &DEPLOYMENTS, &relayer, 1);
        let new = c.relayer_pod_name().expect("a new relayer pod");
        assert_ne!(new, old);
        let fs = c.pod(&new).unwrap().runtime.fs().clone();
        assert!(!fs.exists(&format!("{}/config/config.yaml", crate::layout::RELAYER_HOME)));
        assert!(fs.exists(&format!("{}/keys/gwc/keyring-test/relayer.info", crate::layout::RELAYER_HOME)));
    }

    #[tokio::test]
    async fn a_template_change_rolls_the_relayer_out_new_pod_first() {
        let c = cluster();
        let relayer = c.release.relayer();
        let old = c.relayer_pod_name().expect("a relayer pod");
        until("relayer Ready", || ready(&c, &old)).await;
        c.write_workload(&DEPLOYMENTS, &relayer, None, |w| {
            w["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] =
                json!("now");
        })
        .unwrap();
        let names = |c: &Cluster| -> Vec<String> {
            c.lock().pods.keys().filter(|n| n.starts_with(&format!("{relayer}-"))).cloned().collect()
        };
        assert_eq!(names(&c).len(), 2, "the new pod starts beside the old one");
        until("the old relayer pod is gone", || names(&c).len() == 1 && !names(&c).contains(&old)).await;
        let new = names(&c).remove(0);
        assert!(ready(&c, &new));
        let d = c.store.get(&DEPLOYMENTS, Some("cryptomeria"), &relayer).unwrap();
        assert_eq!(d["status"]["updatedReplicas"], 1);
        assert_eq!(d["metadata"]["generation"], 2);
    }

    #[tokio::test]
    async fn the_auxiliary_deployments_scale_too() {
        let c = cluster();
        let faucet_pods = |c: &Cluster| c.lock().pods.keys().filter(|n| n.starts_with("faucet-")).count();
        assert_eq!(faucet_pods(&c), 1);
        scale(&c, &DEPLOYMENTS, "faucet", 0);
        assert_eq!(faucet_pods(&c), 0);
        scale(&c, &DEPLOYMENTS, "faucet", 2);
        assert_eq!(faucet_pods(&c), 2);
        let genesis = c.release.genesis_server();
        scale(&c, &DEPLOYMENTS, &genesis, 0);
        assert!(!c.lock().pods.keys().any(|n| n.starts_with(&format!("{genesis}-"))));
        until("both faucet pods Ready", || {
            let d = c.store.get(&DEPLOYMENTS, Some("cryptomeria"), "faucet").unwrap();
            d["status"]["readyReplicas"] == 2
        })
        .await;
    }

    #[tokio::test]
    async fn a_stale_resource_version_is_a_conflict() {
        let c = cluster();
        let err = c.write_workload(&STATEFULSETS, "cryptomeria-gwc", Some("1"), |_| {}).unwrap_err();
        assert_eq!(err, WriteError::Conflict);
        let missing = c.write_workload(&STATEFULSETS, "nope", None, |_| {}).unwrap_err();
        assert_eq!(missing, WriteError::NotFound);
    }

    fn relayer_pods(c: &Cluster) -> Vec<String> {
        let prefix = format!("{}-", c.release.relayer());
        c.lock().pods.keys().filter(|n| n.starts_with(&prefix)).cloned().collect()
    }

    /// Install against the controllers: pods of the first chains turn Ready (and run a controller
    /// pass) while later chains are still being added. Seen under load in the fault schedules as a
    /// second relayer pod created mid-install, mounting only the mnemonics of the chains added so
    /// far, which then outlived the complete one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn controllers_never_act_on_a_half_installed_release() {
        for _ in 0..10 {
            let config = crate::ClusterConfig {
                fdsc: 3,
                ready_delay: std::time::Duration::ZERO,
                boot_delay: std::time::Duration::ZERO,
                block_interval: None,
                ..Default::default()
            };
            let c = Cluster::install(config).expect("cluster installs");
            let ids: Vec<String> = c.chains().into_iter().map(|c| c.instance).collect();
            let pods = relayer_pods(&c);
            assert_eq!(pods.len(), 1, "one relayer pod after install: {pods:?}");
            let faucets = c.lock().pods.keys().filter(|n| n.starts_with("faucet-")).count();
            assert_eq!(faucets, 1, "one faucet pod after install");
            let fs = c.pod(&pods[0]).expect("relayer pod").runtime.fs().clone();
            for id in &ids {
                let file = format!("/etc/mnemonics/{id}.relayer.mnemonic");
                assert!(fs.exists(&file), "{} lacks {file}", pods[0]);
            }
            until("every pod Ready", || {
                c.store.list(&PODS, Some("cryptomeria")).0.iter().all(objects::is_pod_ready)
            })
            .await;
            assert_eq!(relayer_pods(&c), pods, "the installed relayer pod is the one that stays");
        }
    }
}
