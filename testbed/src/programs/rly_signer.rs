//! Who signs the txs `rly` submits on a chain (`cosmos/tx.go buildSignerConfig` and
//! `cosmos/feegrant.go GetTxFeeGrant`): the chain entry's `key`, or — once a feegrant
//! configuration has been verified on chain (`block_last_verified > 0`) — the managed grantees
//! in turn, each tx naming the granter as fee granter so the granter's allowance pays. Several
//! `rly` processes can then relay on one chain without racing on one account's sequence.

use super::rly_config::ChainCfg;
use super::rly_home::Home;
use crate::chain::keys::TestKey;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// The signing keys of one chain in one `rly` process (cheap to clone; clones share the turn).
#[derive(Clone, Debug)]
pub struct Signer {
    keys: Arc<[TestKey]>,
    /// The fee granter's address when feegranted.
    granter: Option<String>,
    /// Index of the key that signs next (`GranteeLastSignerIndex`).
    turn: Arc<AtomicUsize>,
}

impl Signer {
    pub fn single(key: TestKey) -> Self {
        Signer { keys: Arc::from([key]), granter: None, turn: Arc::default() }
    }

    /// The key that signs the next tx, and the fee granter it names; advances the turn.
    pub fn next(&self) -> (TestKey, Option<String>) {
        let i = self.turn.fetch_add(1, SeqCst) % self.keys.len();
        (self.keys[i].clone(), self.granter.clone())
    }
}

/// The keyring's error for a key name it lacks (cosmos-sdk `ErrKeyNotFound` wrapped by name).
fn not_found(name: &str) -> String {
    format!("{name}.info: key not found")
}

impl Home {
    /// The signer of `chain`'s txs: its default key unless feegrants are active, then its
    /// grantees (every one must be in the keyring) with the granter's address.
    pub(super) fn signer(&self, chain: &ChainCfg) -> Result<Signer, String> {
        let default = || self.signing_key(chain, &chain.key).ok_or_else(|| not_found(&chain.key));
        let Some(fg) = chain.feegrants.as_ref().filter(|f| f.active()) else {
            return default().map(Signer::single);
        };
        let granter = if fg.external_granter {
            fg.granter.clone()
        } else {
            self.key_address(chain, &fg.granter).ok_or_else(|| not_found(&fg.granter))?
        };
        let keys: Vec<TestKey> = fg
            .grantees
            .iter()
            .map(|g| self.signing_key(chain, g).ok_or_else(|| not_found(g)))
            .collect::<Result<_, _>>()?;
        let start = usize::try_from(fg.last_signer_index).unwrap_or(0) % keys.len();
        Ok(Signer { keys: Arc::from(keys), granter: Some(granter), turn: Arc::new(AtomicUsize::new(start)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grantees_sign_in_turn_naming_the_granter() {
        let (a, b) = (TestKey::random(), TestKey::random());
        let s = Signer {
            keys: Arc::from([a.clone(), b.clone()]),
            granter: Some("g".into()),
            turn: Arc::default(),
        };
        let order: Vec<String> = (0..3).map(|_| s.clone().next().0.address).collect();
        assert_eq!(order, [a.address.clone(), b.address, a.address]);
        assert_eq!(s.next().1.as_deref(), Some("g"));
        let single = Signer::single(TestKey::random());
        assert_eq!(single.next().1, None);
    }
}
