//! The application state of one chain: auth accounts (number, sequence, public key), bank
//! balances, and the IBC channels and gateway storage endpoints that the in-pod `rly` and
//! `gwcd` simulations mutate. Pure data; the node keeps one committed copy and one CheckTx
//! copy, as baseapp keeps its deliver and check states. A checkpoint journals every change so
//! a failed ante handler or message leaves nothing behind (baseapp's cache-wrapped stores).

use super::coins::Coin;
use super::gateway::StorageInfo;
use super::ibc::IbcChannel;
use super::sdk_error::SdkError;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;

/// Where transaction fees go (`x/auth/types/keys.go : FeeCollectorName`).
pub const FEE_COLLECTOR: &str = "fee_collector";

/// An auth account (`cosmos.auth.v1beta1.BaseAccount`, or a `ModuleAccount` when `module`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub address: String,
    pub number: u64,
    pub sequence: u64,
    /// Compressed secp256k1 key (33 bytes), set by the account's first signed tx.
    pub pub_key: Option<Vec<u8>>,
    pub module: Option<ModuleInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    pub name: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Ledger {
    accounts: BTreeMap<String, Account>,
    balances: BTreeMap<String, BTreeMap<String, u128>>,
    next_account_number: u64,
    channels: Vec<IbcChannel>,
    storage_endpoints: Vec<StorageInfo>,
    packets: super::packets::PacketStore,
    gateway: super::sessions::GatewayStore,
    authz: super::authz::AuthzStore,
    /// Header time (ns since the epoch) of the block being delivered; packet timeouts and
    /// session ids read it (ctx.BlockTime()).
    block_time_ns: u64,
    /// While a checkpoint is open: how to undo each change since, newest last.
    journal: Option<Vec<Undo>>,
}

/// One step back to the state at the checkpoint.
#[derive(Debug, Clone)]
enum Undo {
    RemoveAccount(String, u64),
    RestoreAccount(Account),
    RestoreBalance(String, String, u128),
    RestoreChannels(Vec<IbcChannel>),
    RestoreStorage(Vec<StorageInfo>),
    RestorePackets(Box<super::packets::PacketStore>),
    RestoreGateway(Box<super::sessions::GatewayStore>),
    RestoreAuthz(Box<super::authz::AuthzStore>),
}

impl Ledger {
    /// Opens a checkpoint (one at a time); `rollback` returns to it, `commit` keeps the changes.
    pub fn checkpoint(&mut self) {
        self.journal = Some(Vec::new());
    }

    pub fn commit(&mut self) {
        self.journal = None;
    }

    pub fn rollback(&mut self) {
        for undo in self.journal.take().unwrap_or_default().into_iter().rev() {
            match undo {
                Undo::RemoveAccount(address, next_number) => {
                    self.accounts.remove(&address);
                    self.next_account_number = next_number;
                }
                Undo::RestoreAccount(account) => {
                    self.accounts.insert(account.address.clone(), account);
                }
                Undo::RestoreBalance(address, denom, amount) => self.put_balance(&address, &denom, amount),
                Undo::RestoreChannels(channels) => self.channels = channels,
                Undo::RestoreStorage(infos) => self.storage_endpoints = infos,
                Undo::RestorePackets(p) => self.packets = *p,
                Undo::RestoreGateway(g) => self.gateway = *g,
                Undo::RestoreAuthz(a) => self.authz = *a,
            }
        }
    }

    fn record(&mut self, undo: impl FnOnce(&Self) -> Undo) {
        if self.journal.is_none() {
            return;
        }
        let step = undo(self);
        if let Some(journal) = &mut self.journal {
            journal.push(step);
        }
    }

    pub fn account(&self, address: &str) -> Option<&Account> {
        self.accounts.get(address)
    }

    pub fn account_mut(&mut self, address: &str) -> Option<&mut Account> {
        let existing = self.accounts.get(address)?.clone();
        self.record(|_| Undo::RestoreAccount(existing));
        self.accounts.get_mut(address)
    }

    pub fn channels(&self) -> &[IbcChannel] {
        &self.channels
    }

    pub fn channels_mut(&mut self) -> &mut Vec<IbcChannel> {
        self.record(|l| Undo::RestoreChannels(l.channels.clone()));
        &mut self.channels
    }

    pub fn packets(&self) -> &super::packets::PacketStore {
        &self.packets
    }

    /// The packet store, journaled as a whole (a testbed-sized store; cheap enough).
    pub fn packets_mut(&mut self) -> &mut super::packets::PacketStore {
        self.record(|l| Undo::RestorePackets(Box::new(l.packets.clone())));
        &mut self.packets
    }

    pub fn gateway(&self) -> &super::sessions::GatewayStore {
        &self.gateway
    }

    pub fn gateway_mut(&mut self) -> &mut super::sessions::GatewayStore {
        self.record(|l| Undo::RestoreGateway(Box::new(l.gateway.clone())));
        &mut self.gateway
    }

    pub fn authz(&self) -> &super::authz::AuthzStore {
        &self.authz
    }

    pub fn authz_mut(&mut self) -> &mut super::authz::AuthzStore {
        self.record(|l| Undo::RestoreAuthz(Box::new(l.authz.clone())));
        &mut self.authz
    }

    pub fn block_time_ns(&self) -> u64 {
        self.block_time_ns
    }

    /// Set by the node before it delivers a block (and for CheckTx/simulate).
    pub fn set_block_time(&mut self, time: jiff::Timestamp) {
        self.block_time_ns = u64::try_from(time.as_nanosecond()).unwrap_or(0);
    }

    pub fn storage_endpoints(&self) -> &[StorageInfo] {
        &self.storage_endpoints
    }

    pub fn storage_endpoints_mut(&mut self) -> &mut Vec<StorageInfo> {
        self.record(|l| Undo::RestoreStorage(l.storage_endpoints.clone()));
        &mut self.storage_endpoints
    }

    /// Every account, sorted by address.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// Creates the account with the next account number unless it exists, as the bank
    /// keeper does when coins first arrive at an address.
    pub fn ensure_account(&mut self, address: &str) {
        if self.accounts.contains_key(address) {
            return;
        }
        let number = self.next_account_number;
        self.record(|_| Undo::RemoveAccount(address.to_string(), number));
        self.next_account_number += 1;
        let account =
            Account { address: address.to_string(), number, sequence: 0, pub_key: None, module: None };
        self.accounts.insert(address.to_string(), account);
    }

    pub fn add_module_account(&mut self, address: &str, name: &str, permissions: &[&str]) {
        self.ensure_account(address);
        if let Some(account) = self.account_mut(address) {
            let permissions = permissions.iter().map(|p| p.to_string()).collect();
            account.module = Some(ModuleInfo { name: name.to_string(), permissions });
        }
    }

    /// Sets a balance outright (genesis, or a test draining or refilling a wallet).
    pub fn set_balance(&mut self, address: &str, denom: &str, amount: u128) {
        let old = self.balance(address, denom);
        self.record(|_| Undo::RestoreBalance(address.to_string(), denom.to_string(), old));
        self.put_balance(address, denom, amount);
    }

    /// Stores a balance; zero balances are not stored (as the bank keeper deletes them).
    fn put_balance(&mut self, address: &str, denom: &str, amount: u128) {
        if amount > 0 {
            self.balances.entry(address.to_string()).or_default().insert(denom.to_string(), amount);
        } else if let Some(denoms) = self.balances.get_mut(address) {
            denoms.remove(denom);
            if denoms.is_empty() {
                self.balances.remove(address);
            }
        }
    }

    pub fn balance(&self, address: &str, denom: &str) -> u128 {
        self.balances.get(address).and_then(|b| b.get(denom)).copied().unwrap_or(0)
    }

    /// Non-zero balances of an address, sorted by denom.
    pub fn balances(&self, address: &str) -> Vec<Coin> {
        self.balances
            .get(address)
            .map(|b| b.iter().filter(|(_, a)| **a > 0).map(|(d, a)| Coin::new(*a, d)).collect())
            .unwrap_or_default()
    }

    /// Genesis minting: no checks.
    pub fn mint(&mut self, address: &str, coin: &Coin) {
        self.ensure_account(address);
        self.set_balance(
            address,
            &coin.denom,
            self.balance(address, &coin.denom).saturating_add(coin.amount),
        );
    }

    /// Moves coins, failing without a change when any denom is short (`x/bank/keeper/send.go
    /// subUnlockedCoins`). The recipient account is created if new.
    pub fn send(&mut self, from: &str, to: &str, coins: &[Coin]) -> Result<(), SdkError> {
        for coin in coins {
            let spendable = self.balance(from, &coin.denom);
            if spendable < coin.amount {
                let have = Coin::new(spendable, &coin.denom);
                return Err(SdkError::spendable_too_small(&have.to_string(), &coin.to_string()));
            }
        }
        for coin in coins {
            self.set_balance(from, &coin.denom, self.balance(from, &coin.denom) - coin.amount);
        }
        self.ensure_account(to);
        for coin in coins {
            self.set_balance(to, &coin.denom, self.balance(to, &coin.denom).saturating_add(coin.amount));
        }
        Ok(())
    }

    /// A digest of the whole state, standing in for the IAVL multistore root: it changes
    /// exactly when some account, balance, channel or endpoint changes.
    pub fn app_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for a in self.accounts.values() {
            h.update(format!(
                "acc/{}/{}/{}/{}\n",
                a.address,
                a.number,
                a.sequence,
                hex::encode(a.pub_key.as_deref().unwrap_or(&[]))
            ));
        }
        for (addr, denoms) in &self.balances {
            for (denom, amount) in denoms {
                h.update(format!("bal/{addr}/{denom}/{amount}\n"));
            }
        }
        for c in &self.channels {
            h.update(format!("chan/{c:?}\n"));
        }
        for s in &self.storage_endpoints {
            h.update(format!("storage/{s:?}\n"));
        }
        h.update(format!("packets/{:?}\ngateway/{:?}\nauthz/{:?}\n", self.packets, self.gateway, self.authz));
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_short_of_funds_changes_nothing() {
        let mut l = Ledger::default();
        l.mint("a", &Coin::uatom(10));
        let before = l.app_hash();
        let err = l.send("a", "b", &[Coin::uatom(100)]).unwrap_err();
        assert_eq!(err.log, "spendable balance 10uatom is smaller than 100uatom: insufficient funds");
        assert_eq!(l.app_hash(), before);
        assert!(l.account("b").is_none());
    }

    #[test]
    fn a_rollback_undoes_every_change_since_the_checkpoint() {
        let mut l = Ledger::default();
        l.mint("a", &Coin::uatom(10));
        let before = l.app_hash();
        l.checkpoint();
        l.send("a", "b", &[Coin::uatom(4)]).unwrap();
        l.account_mut("a").unwrap().sequence = 9;
        l.channels_mut().clear();
        l.rollback();
        assert_eq!(l.app_hash(), before);
        l.ensure_account("c");
        assert_eq!(l.account("c").unwrap().number, 1, "the rolled-back account number is reused");
    }

    #[test]
    fn a_send_moves_coins_and_creates_the_recipient_with_the_next_number() {
        let mut l = Ledger::default();
        l.mint("a", &Coin::uatom(10));
        l.send("a", "b", &[Coin::uatom(4)]).unwrap();
        assert_eq!((l.balance("a", "uatom"), l.balance("b", "uatom")), (6, 4));
        assert_eq!((l.account("a").unwrap().number, l.account("b").unwrap().number), (0, 1));
    }
}
