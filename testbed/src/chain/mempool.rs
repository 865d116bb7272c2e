//! The CometBFT CList mempool as a client sees it: txs that passed CheckTx in arrival order,
//! a cache of seen tx hashes that turns a re-broadcast into `tx already exists in cache`,
//! and the size limits from CometBFT 0.38's default `config.toml` `[mempool]` section.

use super::ante::Verified;
use super::tx_codec::DecodedTx;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// `[mempool] size`.
pub const MAX_TXS: usize = 5000;
/// `[mempool] max_txs_bytes`: 10 GiB, as the Cryptomeria apps' `initCometBFTConfig` sets it.
pub const MAX_TXS_BYTES: usize = 10_737_418_240;
/// `[mempool] max_tx_bytes`: 10 GiB likewise (large uploads; CometBFT's default is 1 MiB).
pub const MAX_TX_BYTES: usize = 10_737_418_240;
/// `[mempool] cache_size`.
pub const CACHE_SIZE: usize = 10_000;

/// Why CometBFT itself refused a tx before the app saw it (an RPC error, not a CheckTx code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// `mempool.ErrTxInCache`.
    #[error("tx already exists in cache")]
    InCache,
    /// `mempool.ErrMempoolIsFull`.
    #[error(
        "mempool is full: number of txs {txs} (max: {max_txs}), total txs bytes {bytes} (max: {max_bytes})"
    )]
    Full { txs: usize, max_txs: usize, bytes: usize, max_bytes: usize },
    /// `mempool.ErrTxTooLarge`.
    #[error("tx too large. Max size is {max}, but got {got}")]
    TooLarge { max: usize, got: usize },
}

/// A tx waiting for the next block.
#[derive(Debug, Clone)]
pub struct PendingTx {
    pub bytes: Arc<[u8]>,
    pub tx: Arc<DecodedTx>,
    /// Signature checks from CheckTx, reused on recheck.
    pub verified: Verified,
}

#[derive(Debug, Default)]
pub struct Mempool {
    txs: VecDeque<PendingTx>,
    bytes: usize,
    cache: TxCache,
}

impl Mempool {
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    pub fn total_bytes(&self) -> usize {
        self.bytes
    }

    /// The checks CometBFT makes before CheckTx; on success the hash enters the cache.
    pub fn admit(&mut self, hash: [u8; 32], size: usize) -> Result<(), MempoolError> {
        if size > MAX_TX_BYTES {
            return Err(MempoolError::TooLarge { max: MAX_TX_BYTES, got: size });
        }
        self.ensure_room(size)?;
        if !self.cache.push(hash) {
            return Err(MempoolError::InCache);
        }
        Ok(())
    }

    /// `isFull`: room for one more tx of `size` bytes.
    pub fn ensure_room(&self, size: usize) -> Result<(), MempoolError> {
        if self.txs.len() >= MAX_TXS || self.bytes + size > MAX_TXS_BYTES {
            let (txs, bytes) = (self.txs.len(), self.bytes);
            return Err(MempoolError::Full { txs, max_txs: MAX_TXS, bytes, max_bytes: MAX_TXS_BYTES });
        }
        Ok(())
    }

    /// A tx that failed CheckTx leaves the cache so it can be sent again (`keep-invalid-txs-in-cache = false`).
    pub fn forget(&mut self, hash: &[u8; 32]) {
        self.cache.remove(hash);
    }

    pub fn push(&mut self, pending: PendingTx) {
        self.bytes += pending.bytes.len();
        self.txs.push_back(pending);
    }

    /// Takes txs in arrival order up to `max_bytes` (the block's byte limit).
    pub fn reap(&mut self, max_bytes: usize) -> Vec<PendingTx> {
        let mut taken = Vec::new();
        let mut size = 0;
        while let Some(front) = self.txs.front() {
            if !taken.is_empty() && size + front.bytes.len() > max_bytes {
                break;
            }
            size += front.bytes.len();
            let tx = self.txs.pop_front().expect("front exists");
            self.bytes -= tx.bytes.len();
            taken.push(tx);
        }
        taken
    }

    /// Removes and returns every pending tx (for recheck after a block).
    pub fn drain(&mut self) -> Vec<PendingTx> {
        self.bytes = 0;
        self.txs.drain(..).collect()
    }

    /// Up to `limit` pending txs, oldest first.
    pub fn peek(&self, limit: usize) -> Vec<Arc<[u8]>> {
        self.txs.iter().take(limit).map(|p| p.bytes.clone()).collect()
    }
}

/// An LRU set of tx hashes (`mempool/cache.go LRUTxCache`).
#[derive(Debug, Default)]
struct TxCache {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl TxCache {
    /// False when already present.
    fn push(&mut self, hash: [u8; 32]) -> bool {
        if !self.set.insert(hash) {
            return false;
        }
        self.order.push_back(hash);
        if self.order.len() > CACHE_SIZE
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        true
    }

    fn remove(&mut self, hash: &[u8; 32]) {
        if self.set.remove(hash) {
            self.order.retain(|h| h != hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_admission_of_one_hash_is_refused_until_forgotten() {
        let mut m = Mempool::default();
        m.admit([1; 32], 10).unwrap();
        assert_eq!(m.admit([1; 32], 10), Err(MempoolError::InCache));
        m.forget(&[1; 32]);
        m.admit([1; 32], 10).unwrap();
    }

    #[test]
    fn oversized_txs_are_refused_with_cometbfts_text() {
        let err = Mempool::default().admit([2; 32], MAX_TX_BYTES + 1).unwrap_err();
        assert_eq!(err.to_string(), "tx too large. Max size is 10737418240, but got 10737418241");
    }
}
