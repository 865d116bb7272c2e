//! Everything a node holds behind its lock: the committed and CheckTx ledgers, the mempool,
//! the block store with its tx index, and block production (reap the mempool, deliver,
//! hash, sign the precommit, recheck what is left). Synchronous and clock-injected, so the
//! rules are testable without a server.

use super::ante::{AnteParams, Mode};
use super::block::{self, Block, BlockId, Commit, Header, Validator};
use super::execute::{self, TxResult};
use super::genesis::MAX_BLOCK_BYTES;
use super::ledger::Ledger;
use super::mempool::{Mempool, PendingTx};
use super::msgs::MsgRegistry;
use std::collections::HashMap;
use std::sync::Arc;

/// What never changes about a chain.
pub struct ChainIdentity {
    pub chain_id: String,
    pub validator: Validator,
    pub validators_hash: [u8; 32],
    pub consensus_hash: [u8; 32],
    /// Also the time of block 1 (CometBFT gives the first block the genesis time).
    pub genesis_time: jiff::Timestamp,
}

impl ChainIdentity {
    pub fn new(chain_id: &str, genesis_time: jiff::Timestamp) -> Self {
        let validator = Validator::for_chain(chain_id);
        let mut consensus_hash = [0u8; 32];
        hex::decode_to_slice(block::DEFAULT_CONSENSUS_HASH, &mut consensus_hash)
            .expect("a 32-byte hex constant");
        Self {
            chain_id: chain_id.to_string(),
            validators_hash: validator.set_hash(),
            validator,
            consensus_hash,
            genesis_time,
        }
    }
}

pub struct NodeState {
    /// The deliver state after the latest block.
    pub committed: Ledger,
    /// The committed state plus the ante effects of every mempool tx (baseapp's checkState).
    pub check: Ledger,
    pub mempool: Mempool,
    blocks: Vec<Arc<Block>>,
    tx_index: HashMap<[u8; 32], (u64, u32)>,
    genesis_app_hash: [u8; 32],
}

impl NodeState {
    pub fn new(genesis: Ledger) -> Self {
        Self {
            genesis_app_hash: genesis.app_hash(),
            check: genesis.clone(),
            committed: genesis,
            mempool: Mempool::default(),
            blocks: Vec::new(),
            tx_index: HashMap::new(),
        }
    }

    pub fn height(&self) -> u64 {
        self.blocks.len() as u64
    }

    pub fn latest(&self) -> Option<Arc<Block>> {
        self.blocks.last().cloned()
    }

    pub fn block(&self, height: u64) -> Option<Arc<Block>> {
        let index = usize::try_from(height).ok()?.checked_sub(1)?;
        self.blocks.get(index).cloned()
    }

    /// The block holding a tx and the tx's index in it.
    pub fn find_tx(&self, hash: &[u8; 32]) -> Option<(Arc<Block>, u32)> {
        let (height, index) = self.tx_index.get(hash)?;
        Some((self.block(*height)?, *index))
    }

    /// Commits the next block at wall-clock `now`: its header time is the previous block's
    /// precommit time (BFT time with one validator), its precommit is signed at
    /// `max(now, header time + 1ns)`, so header times strictly increase.
    pub fn produce(
        &mut self,
        id: &ChainIdentity,
        registry: &MsgRegistry,
        now: jiff::Timestamp,
    ) -> Arc<Block> {
        let height = self.height() + 1;
        let previous = self.latest();
        let (time, last_commit, last_block_id, app_hash, last_results_hash) = match &previous {
            None => (id.genesis_time, Commit::empty(), None, self.genesis_app_hash, block::results_hash(&[])),
            Some(p) => {
                let time = p.commit.signatures.first().map_or(p.header.time, |s| s.timestamp);
                (time, p.commit.clone(), Some(p.id), p.app_hash_after, block::results_hash(&p.results))
            }
        };
        self.committed.set_block_time(time);
        let pending = self.mempool.reap(MAX_BLOCK_BYTES);
        let results: Vec<TxResult> = pending
            .iter()
            .map(|p| execute::deliver_tx(&mut self.committed, &p.tx, registry, &id.chain_id, height))
            .collect();
        let txs: Vec<Arc<[u8]>> = pending.iter().map(|p| p.bytes.clone()).collect();
        let tx_hashes: Vec<[u8; 32]> = pending.iter().map(|p| p.tx.hash).collect();
        let header = Header {
            chain_id: id.chain_id.clone(),
            height,
            time,
            last_block_id,
            last_commit_hash: block::commit_hash(&last_commit),
            data_hash: block::data_hash(&tx_hashes),
            validators_hash: id.validators_hash,
            next_validators_hash: id.validators_hash,
            consensus_hash: id.consensus_hash,
            app_hash,
            last_results_hash,
            evidence_hash: block::data_hash(&[]),
            proposer_address: id.validator.address,
        };
        let hash = block::header_hash(&header);
        let (parts_total, parts_hash) = block::part_set(&hash, &header.data_hash);
        let block_id = BlockId { hash, parts_total, parts_hash };
        let after_header = time.checked_add(jiff::SignedDuration::from_nanos(1)).unwrap_or(time);
        let commit_time = now.max(after_header);
        let precommit = id.validator.precommit(&id.chain_id, height, block_id, commit_time);
        for (i, h) in tx_hashes.iter().enumerate() {
            self.tx_index.insert(*h, (height, i as u32));
        }
        let block = Arc::new(Block {
            id: block_id,
            size: block::block_size(&txs),
            header,
            txs,
            tx_hashes,
            last_commit,
            commit: Commit { height, block_id: Some(block_id), signatures: vec![precommit] },
            results,
            app_hash_after: self.committed.app_hash(),
        });
        self.blocks.push(block.clone());
        self.recheck(id, registry, height + 1);
        block
    }

    /// After a commit the check state restarts from the committed one and every tx still in
    /// the mempool is checked again; failures leave the mempool and its cache
    /// (`mempool/clist_mempool.go recheckTxs`).
    fn recheck(&mut self, id: &ChainIdentity, registry: &MsgRegistry, next_height: u64) {
        self.check = self.committed.clone();
        let params = AnteParams { chain_id: &id.chain_id, mode: Mode::Check, height: next_height };
        for pending in self.mempool.drain() {
            let result = execute::check_tx(&mut self.check, &pending.tx, registry, &pending.verified, params);
            if result.is_ok() {
                self.mempool.push(pending);
            } else {
                self.mempool.forget(&pending.tx.hash);
            }
        }
    }

    /// Adds a tx that passed CheckTx.
    pub fn accept(&mut self, pending: PendingTx) {
        self.mempool.push(pending);
    }
}
