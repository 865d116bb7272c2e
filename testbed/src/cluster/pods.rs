//! Pod lifecycle: each pod starts Pending with its in-pod world, runs and turns Ready after
//! `ready_delay`, and a chain pod's node serves only `boot_delay` after that. The chart's
//! chain StatefulSets have no readinessProbe: the container is Ready while its entrypoint
//! still fetches genesis from the genesis-server (30 tries, 2 s apart) and only then starts
//! the node, so a client that trusts Ready alone meets a refusing RPC port.

use super::{Cluster, LivePod, POD_TEMPLATE_HASH_LABEL, REVISION_LABEL, controllers, template_hash};
use crate::chain::ChainNode;
use crate::daemons;
use crate::kinds::{DEPLOYMENTS, PODS, STATEFULSETS};
use crate::layout::RELAYER_HOME;
use crate::objects::{self, Chain};
use crate::pod::{PodRuntime, PodSpec, Programs, Volume};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

impl Cluster {
    pub(super) fn spawn_chain_pod(&self, chain: &Chain) {
        let spec = PodSpec {
            hostname: chain.pod_name(),
            mounts: vec![],
            files: self.mnemonic_mounts(),
            pid1: vec![
                chain.binary(),
                "start".into(),
                "--home".into(),
                format!("/home/{}/.{}", chain.component, chain.component),
            ],
            programs: Programs::new()
                .with(&chain.binary(), daemons::ChainDaemon::new(chain, self.chains.clone())),
        };
        let sts = self.store.get(&STATEFULSETS, Some(self.ns()), &chain.workload_name()).unwrap_or_default();
        let uid = sts["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        let mut template = sts["spec"]["template"].clone();
        // The StatefulSet controller labels each pod with the revision it was made from.
        template["metadata"]["labels"][REVISION_LABEL] =
            json!(controllers::revision(&chain.workload_name(), &sts["spec"]["template"]));
        // Each `volumeClaimTemplates` entry becomes the pod's claim `<template>-<pod>`.
        if let Some(volumes) = template["spec"]["volumes"].as_array_mut() {
            let claim = format!("data-{}", chain.pod_name());
            volumes.insert(0, json!({"name": "data", "persistentVolumeClaim": {"claimName": claim}}));
        }
        self.spawn_pod(&chain.pod_name(), spec, template, ("StatefulSet", &chain.workload_name(), &uid));
    }

    /// Returns the new pod's name.
    pub(super) fn spawn_relayer_pod(&self) -> String {
        // The config dir is an emptyDir over the data PVC (chart commit 7c207ac): config.yaml
        // is lost with the pod, the keys beside it survive.
        let mounts = vec![
            (RELAYER_HOME.to_string(), self.relayer_volume.clone()),
            (format!("{RELAYER_HOME}/config"), Volume::new()),
        ];
        let pid1 = vec!["/bin/sh".into(), "-c".into(), objects::RELAYER_PID1_SCRIPT.into()];
        let programs = Programs::new().with(
            "rly",
            crate::programs::Rly::new(
                self.chains.clone(),
                self.link_faults.clone(),
                self.relay_controls.clone(),
                {
                    let dns = super::dns::Dns::new(self.store.clone(), self.ns());
                    std::sync::Arc::new(move |host: &str| dns.resolves(host))
                },
            ),
        );
        let live = self.spawn_deployment_pod(&self.release.relayer(), mounts, pid1, programs);
        live.runtime.hostname().to_string()
    }

    /// Returns the new pod's name.
    pub(super) fn spawn_idle_pod(&self, deployment: &str) -> String {
        let live = self.spawn_deployment_pod(deployment, Vec::new(), Vec::new(), Programs::new());
        live.runtime.hostname().to_string()
    }

    /// A Deployment's pod: `<deployment>-<pod-template-hash>-<5 random chars>`, owned by the
    /// ReplicaSet `<deployment>-<pod-template-hash>` (the hash is stable for the template).
    fn spawn_deployment_pod(
        &self,
        deployment: &str,
        mounts: Vec<(String, Volume)>,
        pid1: Vec<String>,
        programs: Programs,
    ) -> LivePod {
        let mut template = self
            .store
            .get(&DEPLOYMENTS, Some(self.ns()), deployment)
            .map(|d| d["spec"]["template"].clone())
            .unwrap_or_default();
        let hash = template_hash(&template);
        template["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] = json!(hash);
        let replica_set = format!("{deployment}-{hash}");
        let name = format!("{replica_set}-{}", super::random_suffix(5));
        let spec = PodSpec { hostname: name.clone(), mounts, files: self.mnemonic_mounts(), pid1, programs };
        let uid = objects::synthetic_uid("ReplicaSet", self.ns(), &replica_set);
        let live = self.spawn_pod(&name, spec, template, ("ReplicaSet", &replica_set, &uid));
        if deployment == self.release.relayer() {
            live.runtime.log().append(b"relayer container started; rly idles until configured\n");
        }
        live
    }

    fn spawn_pod(&self, name: &str, spec: PodSpec, template: Value, owner: objects::Owner<'_>) -> LivePod {
        let runtime = PodRuntime::start(spec);
        let pod = self
            .store
            .create(&PODS, objects::pending_pod(name, self.ns(), &template, owner, &self.config.node_ip));
        let uid = pod["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        let live = LivePod { runtime, gone: CancellationToken::new(), uid: uid.clone() };
        self.lock().pods.insert(name.to_string(), live.clone());
        let (cluster, name, delay) = (self.clone(), name.to_string(), self.config.ready_delay);
        let gone = live.gone.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(delay) => cluster.start_containers(&name, &uid, gone),
                _ = gone.cancelled() => {}
            }
        });
        live
    }

    fn start_containers(&self, name: &str, uid: &str, gone: CancellationToken) {
        let ip = {
            let mut st = self.lock();
            st.next_ip += 1;
            format!("10.244.0.{}", 10 + st.next_ip % 240)
        };
        let node = self.chain_node_of_pod(name);
        let boot = self.config.boot_delay;
        // Without a boot delay the node serves before anyone can see the pod Ready.
        if let Some(node) = node.as_ref().filter(|_| boot.is_zero()) {
            serve_now(node);
        }
        let ready = !self.lock().held_not_ready.contains(name);
        let started = self.store.update(&PODS, Some(self.ns()), name, |pod| {
            if pod["metadata"]["uid"] == json!(uid) {
                objects::set_running(pod, &ip, ready);
            }
        });
        let started = started.is_some_and(|p| p["metadata"]["uid"] == json!(uid));
        if let Some(node) = node.filter(|_| started && !boot.is_zero()) {
            tokio::spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep(boot) => serve_now(&node),
                    _ = gone.cancelled() => {}
                }
            });
        }
        // A rollout waits for new pods to be Ready before it removes the old ones.
        self.reconcile();
    }

    /// The node of the chain whose pod is `name`, if it is a chain pod.
    pub(super) fn chain_node_of_pod(&self, name: &str) -> Option<ChainNode> {
        let chain = self.chains().into_iter().find(|c| c.pod_name() == name)?;
        self.chains.get(&chain.instance)
    }

    /// A chain pod went away: its node stops serving and producing until a new pod boots
    /// (state kept, as the data directory on the claim `data` is).
    pub(super) fn stop_node_of_pod(&self, name: &str) {
        if let Some(node) = self.chain_node_of_pod(name) {
            node.suspend();
        }
    }
}

/// The node started by the entrypoint: its ports listen before this returns (when they can
/// be bound at once; otherwise the node keeps retrying), then it produces blocks again.
fn serve_now(node: &ChainNode) {
    let _ = node.start_rpc();
    let _ = node.start_api();
    node.resume();
}
