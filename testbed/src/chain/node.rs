//! `ChainNode`: one simulated chain, shared by its RPC and REST servers, the block producer,
//! the control handle and the in-pod simulations. Cheap to clone. Every change of height
//! or mempool is published on a watch channel, so callers wait on events, never on time.

use super::ante::{self, AnteParams, Mode};
use super::block::Block;
use super::counters::Counters;
use super::endpoint::Endpoint;
use super::execute::{self, TxResult};
use super::gateway::StorageInfo;
use super::genesis;
use super::ibc::IbcChannel;
use super::keys::TestKey;
use super::ledger::{Account, Ledger};
use super::mempool::{MempoolError, PendingTx};
use super::msgs::{MsgHandler, MsgRegistry};
use super::packets::ClientInfo;
use super::state::{ChainIdentity, NodeState};
use super::tx_codec::{self, DecodedTx};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// `[rpc] timeout_broadcast_tx_commit`: 60 s, as the Cryptomeria apps' `initCometBFTConfig`
/// sets it (CometBFT's default is 10 s).
pub const BROADCAST_TX_COMMIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The app's version string (`abci_info.version`). No Cryptomeria release is pinned by the
/// chart, so this is a placeholder in the SDK's `version.Version` form.
pub const APP_VERSION: &str = "v0.1.0";

/// How a node is set up.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub chain_id: String,
    /// The application's name (`abci_info.data`), e.g. `gwc` for `gwcd`.
    pub app_name: String,
    /// The node's moniker (the pod's hostname in the chart).
    pub moniker: String,
    /// Time between blocks; `None` = manual (blocks only through `produce_blocks`).
    pub block_interval: Option<Duration>,
}

/// Pending work and throughput of the mempool, published on every change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MempoolStatus {
    /// Txs waiting for a block.
    pub pending: usize,
    /// Txs that ever passed CheckTx here.
    pub accepted_total: u64,
}

/// What a broadcast did: the tx hash and its CheckTx result.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub hash: [u8; 32],
    pub result: TxResult,
}

/// A committed tx with its place and result.
#[derive(Debug, Clone)]
pub struct IndexedTx {
    pub block: Arc<Block>,
    pub index: u32,
}

impl IndexedTx {
    pub fn height(&self) -> u64 {
        self.block.header.height
    }
    pub fn bytes(&self) -> &[u8] {
        &self.block.txs[self.index as usize]
    }
    pub fn hash(&self) -> [u8; 32] {
        self.block.tx_hashes[self.index as usize]
    }
    pub fn result(&self) -> &TxResult {
        &self.block.results[self.index as usize]
    }
}

pub(super) struct Inner {
    pub identity: ChainIdentity,
    pub app_name: String,
    pub moniker: String,
    /// Hex id of the node key (`p2p.ID`).
    pub node_id: String,
    pub genesis_json: serde_json::Value,
    pub registry: MsgRegistry,
    pub counters: Counters,
    /// gwc's TUS uploads in progress (the node's upload directory).
    pub uploads: Mutex<std::collections::BTreeMap<String, super::gw_http::Upload>>,
    /// The other chains, as the gwc node reaches them over its registered endpoints.
    pub peers: OnceLock<super::ChainsRef>,
    state: Mutex<NodeState>,
    heights: watch::Sender<u64>,
    mempool: watch::Sender<MempoolStatus>,
    interval: watch::Sender<Option<Duration>>,
    /// False while the chain's pod is scaled away: no blocks, no RPC/REST (state is kept,
    /// as on the PersistentVolume).
    running: watch::Sender<bool>,
    pub(super) rpc: OnceLock<Endpoint>,
    pub(super) api: OnceLock<Endpoint>,
    /// Holds the gRPC NodePort so nothing else takes it (gRPC itself is not served).
    pub(super) grpc_port: Mutex<Option<std::net::TcpListener>>,
    pub shutdown: CancellationToken,
}

/// A handle on one running chain.
#[derive(Clone)]
pub struct ChainNode(pub(super) Arc<Inner>);

impl ChainNode {
    /// Creates the chain at genesis and commits block 1 (at the genesis time), as a fresh
    /// node does right after InitChain. Starts producing blocks if an interval is set.
    pub fn new(config: NodeConfig) -> Self {
        let genesis_time = jiff::Timestamp::now();
        let identity = ChainIdentity::new(&config.chain_id, genesis_time);
        let mut ledger = genesis::genesis_ledger(&config.chain_id);
        if config.app_name == "gwc" {
            // The genesis server's `set-admin`: gwc's local-admin is the gateway admin.
            ledger.gateway_mut().params.local_admin =
                TestKey::for_role(&config.chain_id, "local-admin").address;
        }
        let genesis_json =
            genesis::genesis_json(&config.chain_id, &genesis_time.to_string(), &identity.validator, &ledger);
        let node_key = sha2::Digest::finalize(sha2::Digest::chain_update(
            <sha2::Sha256 as sha2::Digest>::new(),
            format!("cryptomeria-testbed/{}/node", config.chain_id),
        ));
        let inner = Inner {
            identity,
            app_name: config.app_name,
            moniker: config.moniker,
            node_id: hex::encode(&node_key[..20]),
            genesis_json,
            registry: MsgRegistry::default(),
            counters: Counters::default(),
            uploads: Mutex::default(),
            peers: OnceLock::new(),
            state: Mutex::new(NodeState::new(ledger)),
            heights: watch::Sender::new(0),
            mempool: watch::Sender::new(MempoolStatus::default()),
            interval: watch::Sender::new(config.block_interval),
            running: watch::Sender::new(true),
            rpc: OnceLock::new(),
            api: OnceLock::new(),
            grpc_port: Mutex::new(None),
            shutdown: CancellationToken::new(),
        };
        let node = Self(Arc::new(inner));
        node.register_ibc_handlers();
        node.produce_blocks(1);
        super::producer::spawn(node.clone());
        node
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn chain_id(&self) -> &str {
        &self.0.identity.chain_id
    }

    pub fn moniker(&self) -> &str {
        &self.0.moniker
    }

    pub(super) fn identity(&self) -> &ChainIdentity {
        &self.0.identity
    }

    // ----- blocks -------------------------------------------------------------------------

    pub fn latest_height(&self) -> u64 {
        self.lock().height()
    }

    pub fn latest_block(&self) -> Option<Arc<Block>> {
        self.lock().latest()
    }

    pub fn block(&self, height: u64) -> Option<Arc<Block>> {
        self.lock().block(height)
    }

    /// Commits `n` blocks now, each with whatever the mempool holds; returns their heights.
    /// A suspended node (its pod scaled away) commits nothing.
    pub fn produce_blocks(&self, n: u64) -> Vec<u64> {
        let mut heights = Vec::new();
        if !self.is_running() {
            return heights;
        }
        for _ in 0..n {
            let (block, status) = {
                let mut state = self.lock();
                let block = state.produce(&self.0.identity, &self.0.registry, jiff::Timestamp::now());
                (block, state.mempool.len())
            };
            heights.push(block.header.height);
            // Height first: whoever wakes on the mempool change sees the new block.
            self.0.heights.send_replace(block.header.height);
            self.0.mempool.send_modify(|s| s.pending = status);
        }
        heights
    }

    /// Changes the block interval at once (`None` = manual): under the state lock, so a
    /// scheduled block is either made (height published) before this returns or not at all.
    pub fn set_block_interval(&self, interval: Option<Duration>) {
        let _state = self.lock();
        self.0.interval.send_replace(interval);
    }

    /// The producer's block, made only if `period` is still the schedule, its height published
    /// before the state lock is released (see `set_block_interval`).
    pub(super) fn produce_scheduled(&self, period: Duration) {
        if !self.is_running() {
            return;
        }
        let mut state = self.lock();
        if *self.0.interval.borrow() != Some(period) {
            return;
        }
        let block = state.produce(&self.0.identity, &self.0.registry, jiff::Timestamp::now());
        let pending = state.mempool.len();
        self.0.heights.send_replace(block.header.height);
        drop(state);
        self.0.mempool.send_modify(|s| s.pending = pending);
    }

    pub fn block_interval(&self) -> Option<Duration> {
        *self.0.interval.borrow()
    }

    pub(super) fn interval_watch(&self) -> watch::Receiver<Option<Duration>> {
        self.0.interval.subscribe()
    }

    pub(super) fn running_watch(&self) -> watch::Receiver<bool> {
        self.0.running.subscribe()
    }

    /// Whether the node runs (false while its pod is scaled away).
    pub fn is_running(&self) -> bool {
        *self.0.running.borrow()
    }

    /// The chain's pod is gone (StatefulSet scaled to 0): the node stops producing and its
    /// RPC and REST ports refuse connections. Its state (blocks, accounts, IBC) is kept, as
    /// the data directory on the pod's PersistentVolumeClaim is.
    pub fn suspend(&self) {
        self.0.running.send_replace(false);
        for endpoint in [self.0.rpc.get(), self.0.api.get()].into_iter().flatten() {
            endpoint.shut();
        }
    }

    /// The chain's pod started again: the node serves and produces from its kept height.
    /// Binding a port the stopped accept loop may still hold is retried briefly.
    pub fn resume(&self) {
        if self.is_running() {
            return;
        }
        self.0.running.send_replace(true);
        let node = self.clone();
        tokio::spawn(async move {
            for _ in 0..200 {
                let rpc = node.0.rpc.get().map_or(Ok(()), Endpoint::start);
                let api = node.0.api.get().map_or(Ok(()), Endpoint::start);
                if (rpc.is_ok() && api.is_ok()) || node.0.shutdown.is_cancelled() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tracing::warn!(chain = node.chain_id(), "chain ports could not be bound again after resume");
        });
    }

    /// The latest height, updated after each commit.
    pub fn subscribe_heights(&self) -> watch::Receiver<u64> {
        self.0.heights.subscribe()
    }

    /// Resolves once the chain has reached `height`.
    pub async fn wait_for_height(&self, height: u64) {
        let mut rx = self.subscribe_heights();
        let _ = rx.wait_for(|h| *h >= height).await;
    }

    // ----- mempool and transactions -------------------------------------------------------

    pub fn subscribe_mempool(&self) -> watch::Receiver<MempoolStatus> {
        self.0.mempool.subscribe()
    }

    pub fn mempool_status(&self) -> MempoolStatus {
        *self.0.mempool.borrow()
    }

    /// Resolves once `pred` holds for the mempool status.
    pub async fn wait_for_mempool(&self, pred: impl FnMut(&MempoolStatus) -> bool) {
        let mut rx = self.subscribe_mempool();
        let _ = rx.wait_for(pred).await;
    }

    /// Up to `limit` pending txs, oldest first, and the pending count and byte total.
    pub fn unconfirmed(&self, limit: usize) -> (Vec<Arc<[u8]>>, usize, usize) {
        let state = self.lock();
        (state.mempool.peek(limit), state.mempool.len(), state.mempool.total_bytes())
    }

    /// CometBFT `CheckTx` for bytes from a client: the mempool's own checks (size, cache),
    /// then the app's CheckTx; a passing tx waits for the next block. Signatures are
    /// verified outside the lock.
    pub fn check_tx(&self, bytes: &[u8]) -> Result<CheckOutcome, MempoolError> {
        let hash = tx_codec::tx_hash(bytes);
        self.lock().mempool.admit(hash, bytes.len())?;
        let reject = |result: TxResult| {
            self.lock().mempool.forget(&hash);
            Ok(CheckOutcome { hash, result })
        };
        let tx = match tx_codec::decode_tx(bytes) {
            Ok(tx) => tx,
            Err(e) => return reject(TxResult::failed(&e, 0, 0, Vec::new())),
        };
        let signers = match ante::signers(&tx, &self.0.registry) {
            Ok(s) => s,
            Err(e) => return reject(TxResult::failed(&e, tx.gas_limit(), 0, Vec::new())),
        };
        let inputs = ante::signature_inputs(&tx, &signers, &self.lock().check);
        let verified = ante::verify_ahead(&tx, inputs, self.chain_id());
        let mut state = self.lock();
        // Other txs may have filled the mempool meanwhile (CometBFT checks again on add).
        if let Err(full) = state.mempool.ensure_room(bytes.len()) {
            state.mempool.forget(&hash);
            return Err(full);
        }
        let params = AnteParams { chain_id: self.chain_id(), mode: Mode::Check, height: state.height() + 1 };
        let result = execute::check_tx(&mut state.check, &tx, &self.0.registry, &verified, params);
        if !result.is_ok() {
            state.mempool.forget(&hash);
            return Ok(CheckOutcome { hash, result });
        }
        state.accept(PendingTx { bytes: Arc::from(bytes), tx: Arc::new(tx), verified });
        let pending = state.mempool.len();
        drop(state);
        self.0.mempool.send_modify(|s| {
            s.pending = pending;
            s.accepted_total += 1;
        });
        Ok(CheckOutcome { hash, result })
    }

    /// Simulates a tx on a copy of the committed state (infinite gas, no signature check).
    pub fn simulate(&self, tx: &DecodedTx) -> TxResult {
        let (ledger, height) = {
            let state = self.lock();
            (state.check.clone(), state.height() + 1)
        };
        execute::simulate(ledger, tx, &self.0.registry, self.chain_id(), height)
    }

    /// The committed tx with this hash, if any.
    pub fn find_tx(&self, hash: &[u8; 32]) -> Option<IndexedTx> {
        self.lock().find_tx(hash).map(|(block, index)| IndexedTx { block, index })
    }

    /// Waits until `hash` is committed, up to `timeout`.
    pub async fn wait_for_tx(&self, hash: &[u8; 32], timeout: Duration) -> Option<IndexedTx> {
        let mut heights = self.subscribe_heights();
        let found = tokio::time::timeout(timeout, async {
            loop {
                if let Some(tx) = self.find_tx(hash) {
                    return Some(tx);
                }
                if heights.changed().await.is_err() {
                    return None;
                }
            }
        });
        found.await.ok().flatten()
    }

    // ----- application state --------------------------------------------------------------

    /// The committed account at `address`.
    pub fn account(&self, address: &str) -> Option<Account> {
        self.lock().committed.account(address).cloned()
    }

    /// The committed balance of `address` in `denom`.
    pub fn balance(&self, address: &str, denom: &str) -> u128 {
        self.lock().committed.balance(address, denom)
    }

    /// A read of the committed state.
    pub fn read_state<T>(&self, read: impl FnOnce(&Ledger) -> T) -> T {
        read(&self.lock().committed)
    }

    /// Changes the state outside any tx (for in-process simulations such as `rly`): applied
    /// to the committed and the CheckTx state alike; visible at once.
    pub fn update_state(&self, update: impl Fn(&mut Ledger)) {
        let mut state = self.lock();
        update(&mut state.committed);
        update(&mut state.check);
    }

    /// A genesis key of this chain (`local-admin` or `relayer`), as mounted in the pods.
    pub fn genesis_key(&self, role: &str) -> TestKey {
        TestKey::for_role(self.chain_id(), role)
    }

    pub fn channels(&self) -> Vec<IbcChannel> {
        self.read_state(|l| l.channels().to_vec())
    }

    /// Adds or replaces (by port and channel id) a channel end.
    pub fn upsert_channel(&self, channel: IbcChannel) {
        self.update_state(|l| {
            let before = l
                .channels()
                .iter()
                .find(|c| c.port_id == channel.port_id && c.channel_id == channel.channel_id)
                .map(|c| c.state);
            let channels = l.channels_mut();
            channels.retain(|c| !(c.port_id == channel.port_id && c.channel_id == channel.channel_id));
            channels.push(channel.clone());
            // OnChanOpenAck (INIT → OPEN on the side that initiated; TRYOPEN → OPEN is
            // OnChanOpenConfirm, which registers nothing).
            if channel.port_id == super::sessions::GATEWAY_PORT
                && channel.state == super::ibc::ChannelState::Open
                && matches!(before, None | Some(super::ibc::ChannelState::Init))
            {
                super::sessions::register_channel(l, &channel.channel_id, &channel.counterparty_port_id);
            }
        });
    }

    /// The light client `id` of this chain's IBC store.
    pub fn client(&self, id: &str) -> Option<ClientInfo> {
        self.read_state(|l| l.packets().clients.get(id).cloned())
    }

    /// Changes the light client `id`, if there is one, as `update_state` changes the state;
    /// returns what `change` answered for the committed state.
    pub fn update_client<T>(&self, id: &str, change: impl Fn(&mut ClientInfo) -> T) -> Option<T> {
        let mut state = self.lock();
        let committed = state.committed.packets_mut().clients.get_mut(id).map(&change);
        if let Some(c) = state.check.packets_mut().clients.get_mut(id) {
            change(c);
        }
        committed
    }

    pub fn storage_endpoints(&self) -> Vec<StorageInfo> {
        self.read_state(|l| l.storage_endpoints().to_vec())
    }

    pub fn register_storage_endpoint(&self, info: StorageInfo) {
        self.update_state(|l| l.storage_endpoints_mut().push(info.clone()));
    }

    /// ibc-go's packet messages on every chain; the gateway's session messages on gwc.
    fn register_ibc_handlers(&self) {
        use super::packets;
        let r = &self.0.registry;
        r.register(Arc::new(packets::RecvPacketHandler));
        r.register(Arc::new(packets::AcknowledgementHandler));
        r.register(Arc::new(super::client_update::UpdateClientHandler));
        for h in super::authz::handlers().into_iter().chain(super::ibc_handshake::handlers()) {
            r.register(h);
        }
        if self.0.app_name == "gwc" {
            for h in super::gw_keeper::handlers() {
                r.register(h);
            }
        }
    }

    /// Teaches the chain a message type (e.g. IBC handshake messages for the `rly` simulation).
    pub fn register_msg_handler(&self, handler: Arc<dyn MsgHandler>) {
        self.0.registry.register(handler);
    }

    pub fn msg_registry(&self) -> &MsgRegistry {
        &self.0.registry
    }

    // ----- endpoints and counters ---------------------------------------------------------

    /// Requests served, by `rpc <method>` and `rest <route>`.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.0.counters.snapshot()
    }

    pub fn rpc_addr(&self) -> Option<std::net::SocketAddr> {
        self.0.rpc.get().map(|e| e.addr)
    }

    pub fn api_addr(&self) -> Option<std::net::SocketAddr> {
        self.0.api.get().map(|e| e.addr)
    }

    /// Closes the RPC port (connection refused) until `start_rpc`.
    pub async fn stop_rpc(&self) {
        if let Some(e) = self.0.rpc.get() {
            e.stop().await;
        }
    }

    pub fn start_rpc(&self) -> std::io::Result<()> {
        self.0.rpc.get().map_or(Ok(()), Endpoint::start)
    }

    /// Closes the REST port (connection refused) until `start_api`.
    pub async fn stop_api(&self) {
        if let Some(e) = self.0.api.get() {
            e.stop().await;
        }
    }

    pub fn start_api(&self) -> std::io::Result<()> {
        self.0.api.get().map_or(Ok(()), Endpoint::start)
    }

    /// Stops block production and both servers (chain removed or testbed dropped).
    pub fn shutdown(&self) {
        self.0.shutdown.cancel();
        for endpoint in [self.0.rpc.get(), self.0.api.get()].into_iter().flatten() {
            endpoint.shut();
        }
        self.0.grpc_port.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}
