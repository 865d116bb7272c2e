//! The control handle: how tests and demo users drive churn and faults.
//! Product code never holds one; it sees the effects only through the API server.

use super::chain::{ChainNode, Chains};
use super::cluster::{Cluster, LivePod};
pub use super::faults::ApiRequest;
use super::faults::Faults;
use super::kinds::{DEPLOYMENTS, STATEFULSETS};
use super::rbac::{Policy, RbacError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct Control {
    pub(crate) cluster: Cluster,
    pub(crate) faults: Arc<Faults>,
}

impl Control {
    pub fn namespace(&self) -> &str {
        &self.cluster.config.namespace
    }

    /// The relayer pod's current name (a new one after each recreation).
    pub fn relayer_pod(&self) -> Option<String> {
        self.cluster.relayer_pod_name()
    }

    /// Instance labels of the chains, gwc first.
    pub fn chain_ids(&self) -> Vec<String> {
        self.cluster.chains().into_iter().map(|c| c.instance).collect()
    }

    /// `(rpc, api, grpc)` NodePorts of a chain.
    pub fn node_ports(&self, chain_id: &str) -> Option<(u16, u16, u16)> {
        self.cluster.node_ports(chain_id)
    }

    /// A pod's in-pod world, to inspect its files and processes.
    pub fn pod(&self, name: &str) -> Option<LivePod> {
        self.cluster.pod(name)
    }

    /// Deletes a pod; its controller recreates it. Returns the replacement's name.
    pub fn delete_pod(&self, name: &str) -> Option<String> {
        self.cluster.delete_pod(name)
    }

    /// Holds a pod not-ready (Ready=False, out of Endpoints) until released.
    pub fn hold_not_ready(&self, name: &str) {
        self.cluster.set_held_not_ready(name, true);
    }

    pub fn release_not_ready(&self, name: &str) {
        self.cluster.set_held_not_ready(name, false);
    }

    /// Puts a pod's containers in a restart loop for `duration`, as a container that keeps
    /// exiting: its processes are killed (a running `rly start` with them), the pod shows
    /// `state.waiting.reason: CrashLoopBackOff` with the failed run in `lastState.terminated`
    /// and Ready False during each back-off (exec is refused then), then the container runs
    /// again with `restartCount` one higher, briefly. After `duration` it runs and stays Ready
    /// (its files and volumes kept; nothing it ran before is running). False for an unknown pod.
    pub fn crash_loop_pod(&self, name: &str, duration: Duration) -> bool {
        self.cluster.crash_loop(name, duration)
    }

    /// Adds `n` Running, Ready pods that are neither chains nor the relayer (benchmark load).
    pub fn add_plain_pods(&self, n: usize) {
        self.cluster.add_plain_pods(n);
    }

    /// Sets a StatefulSet's `spec.replicas`, as `kubectl scale` does: at 0 a chain's pod goes
    /// and its node stops (state kept); back at 1 the pod `-0` returns and the chain
    /// continues. Returns false for an unknown StatefulSet.
    pub fn scale_statefulset(&self, name: &str, replicas: u32) -> bool {
        self.cluster
            .write_workload(&STATEFULSETS, name, None, |w| w["spec"]["replicas"] = replicas.into())
            .is_ok()
    }

    /// Sets a Deployment's `spec.replicas` (the relayer, faucet, genesis-server): pods are
    /// created under new names or deleted. Returns false for an unknown Deployment.
    pub fn scale_deployment(&self, name: &str, replicas: u32) -> bool {
        self.cluster
            .write_workload(&DEPLOYMENTS, name, None, |w| w["spec"]["replicas"] = replicas.into())
            .is_ok()
    }

    /// Enforces an RBAC policy on every API request from now on (`None` turns enforcement
    /// off): what the policy does not allow is answered 403 Forbidden as a real API server
    /// answers it. The request log (`api_requests`) keeps recording either way.
    pub fn enforce_rbac(&self, policy: Option<Policy>) {
        self.faults.set_policy(policy);
    }

    /// Enforces the rules a ServiceAccount/Role/RoleBinding/ClusterRole/ClusterRoleBinding
    /// manifest grants the service account `namespace/name` (see `rbac::Policy::from_yaml`).
    pub fn enforce_rbac_yaml(&self, yaml: &str, namespace: &str, name: &str) -> Result<(), RbacError> {
        self.enforce_rbac(Some(Policy::from_yaml(yaml, namespace, name)?));
        Ok(())
    }

    /// Scales the data chains to `n` (`fdsc-0..n-1`).
    pub fn scale_fdsc(&self, n: usize) -> std::io::Result<()> {
        self.cluster.scale_fdsc(n)
    }

    /// Ends every open watch stream (clients re-watch from their last resourceVersion).
    pub fn drop_watches(&self) {
        self.faults.drop_watches();
    }

    /// Makes every resourceVersion handed out so far too old and ends every watch, so
    /// watchers get `410 Expired` and must relist.
    pub fn expire_resource_versions(&self) {
        self.cluster.store.expire_all();
        self.faults.drop_watches();
    }

    /// Adds `latency` before every exec runs (zero turns it off).
    pub fn set_exec_latency(&self, latency: Duration) {
        self.faults.set_exec_latency(latency);
    }

    /// Cuts the next `n` exec streams mid-command: the command runs, the client sees a
    /// broken stream and no exit status.
    pub fn abort_next_execs(&self, n: u32) {
        self.faults.abort_next_execs(n);
    }

    /// Makes the next `n` `rly transact link` calls fail (exit 1, rly's error text) before
    /// creating anything.
    pub fn fail_next_links(&self, n: u32) {
        self.cluster.link_faults.fail_next(n);
    }

    /// Makes the next `n` `rly transact link` calls exit 0 with the channel handshake
    /// unfinished (source end in STATE_INIT, nothing on the destination), as a real handshake
    /// timeout does.
    pub fn stall_next_links(&self, n: u32) {
        self.cluster.link_faults.stall_next(n);
    }

    /// Makes the next `n` `rly transact link` calls stop after ChanOpenAck (gwc's end OPEN, the
    /// counterparty's TRYOPEN) and hang until their process is killed, as when the relayer pod
    /// is deleted between ChanOpenAck and ChanOpenConfirm.
    pub fn cut_next_links_after_ack(&self, n: u32) {
        self.cluster.link_faults.cut_after_ack(n);
    }

    /// The most `rly transact link` processes that ever ran at once in this cluster.
    pub fn most_concurrent_links(&self) -> u32 {
        self.cluster.link_faults.most_running()
    }

    /// Pauses (`true`) or resumes relaying in every `rly start`, without killing it.
    pub fn pause_relaying(&self, paused: bool) {
        self.cluster.relay_controls.pause(paused);
    }

    /// Cuts (`true`) or restores the relayer pod's reach to one chain's RPC, for every
    /// `rly start`: the paths touching that chain relay nothing (rly logs the refused
    /// connection each block) while the chain and its NodePorts keep serving everyone else.
    pub fn cut_relayer_rpc(&self, chain_id: &str, cut: bool) {
        self.cluster.relay_controls.cut_rpc(chain_id, cut);
    }

    /// The next `n` acknowledgements a relayer would relay are lost: never relayed.
    pub fn drop_next_acks(&self, n: u32) {
        self.cluster.relay_controls.drop_next_acks(n);
    }

    /// Sets a light client's status on a chain (`Expired`, `Frozen`, or back to `Active`):
    /// packets and acks whose channel rides on it are refused there.
    pub fn set_client_status(
        &self,
        chain_id: &str,
        client_id: &str,
        status: crate::chain::packets::ClientStatus,
    ) {
        if let Some(node) = self.chain(chain_id) {
            node.update_client(client_id, |c| c.status = status);
        }
    }

    /// Sets a light client's trusting period (as `rly transact link --client-tp` would have):
    /// it expires once its latest consensus state is older than that.
    pub fn set_client_trusting_period(&self, chain_id: &str, client_id: &str, period: Duration) {
        if let Some(node) = self.chain(chain_id) {
            node.update_client(client_id, |c| c.trusting_period_secs = period.as_secs());
        }
    }

    /// Moves a light client's latest consensus state `by` into the past, as if no one had
    /// updated it for that long (it expires once that age passes its trusting period).
    pub fn age_client(&self, chain_id: &str, client_id: &str, by: Duration) {
        let Ok(by) = jiff::SignedDuration::try_from(by) else { return };
        if let Some(node) = self.chain(chain_id) {
            node.update_client(client_id, |c| {
                if let Some(state) = c.consensus.values_mut().next_back() {
                    state.time = state.time.checked_sub(by).unwrap_or(state.time);
                }
            });
        }
    }

    /// A light client as `chain_id` stores it.
    pub fn client(&self, chain_id: &str, client_id: &str) -> Option<crate::chain::packets::ClientInfo> {
        self.chain(chain_id)?.client(client_id)
    }

    /// Sets `address`'s `denom` balance on a chain outright, as if it had spent or received
    /// the difference (a relayer wallet drained below a relay's fee, or refilled). Returns
    /// the balance it had, `None` for an unknown chain.
    pub fn set_balance(&self, chain_id: &str, address: &str, denom: &str, amount: u128) -> Option<u128> {
        let node = self.chain(chain_id)?;
        let old = node.balance(address, denom);
        node.update_state(|l| l.set_balance(address, denom, amount));
        Some(old)
    }

    /// Answers every API request with 500 InternalError for `d`.
    pub fn fail_api_for(&self, d: Duration) {
        self.faults.fail_for(d);
    }

    /// Closes the API server's listener (connection refused) for `d`, cutting open
    /// connections. Returns once the listener is closed, so the next request is refused.
    pub async fn refuse_connections_for(&self, d: Duration) {
        let mut listening = self.faults.listening.subscribe();
        self.faults.refuse_for(d);
        let closed = listening.wait_for(|open| !open);
        let _ = tokio::time::timeout(Duration::from_secs(5), closed).await;
    }

    /// The chain registry (a handle on every running chain node).
    pub fn chains(&self) -> Chains {
        self.cluster.chains.clone()
    }

    /// The node of one chain, for block production, state and faults.
    pub fn chain(&self, chain_id: &str) -> Option<ChainNode> {
        self.cluster.chains.get(chain_id)
    }

    /// Commits `n` blocks on a chain now (any mode); returns their heights, empty for an
    /// unknown chain.
    pub fn produce_blocks(&self, chain_id: &str, n: u64) -> Vec<u64> {
        self.chain(chain_id).map(|c| c.produce_blocks(n)).unwrap_or_default()
    }

    /// Sets a chain's block interval; `None` = manual.
    pub fn set_block_interval(&self, chain_id: &str, interval: Option<Duration>) {
        if let Some(c) = self.chain(chain_id) {
            c.set_block_interval(interval);
        }
    }

    /// Closes a chain's RPC NodePort (connection refused) until `start_chain_rpc`.
    pub async fn stop_chain_rpc(&self, chain_id: &str) {
        if let Some(c) = self.chain(chain_id) {
            c.stop_rpc().await;
        }
    }

    /// Opens a chain's RPC NodePort again.
    pub fn start_chain_rpc(&self, chain_id: &str) -> std::io::Result<()> {
        self.chain(chain_id).map_or(Ok(()), |c| c.start_rpc())
    }

    /// Requests a chain served, by `rpc <method>` and `rest <route template>`.
    pub fn chain_request_counts(&self, chain_id: &str) -> BTreeMap<String, u64> {
        self.chain(chain_id).map(|c| c.request_counts()).unwrap_or_default()
    }

    /// Requests served so far by `verb resource[/subresource]`, e.g. `list pods`,
    /// `watch endpoints`, `create pods/exec`.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.faults.request_counts()
    }

    /// The distinct requests served so far as an RBAC authorizer sees them (verb, API
    /// group, resource, subresource, namespace; or a non-resource path).
    pub fn api_requests(&self) -> Vec<ApiRequest> {
        self.faults.authorizations()
    }
}
