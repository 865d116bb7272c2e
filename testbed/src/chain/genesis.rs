//! A chain's genesis as the chart's init script writes it: `local-admin` and `relayer`
//! accounts from the mounted test mnemonics with their balances, the fee collector module
//! account, one validator, and CometBFT 0.38's default consensus parameters.

use super::block::{VOTING_POWER, Validator};
use super::coins::{Coin, DENOM};
use super::keys::{TestKey, module_address};
use super::ledger::{FEE_COLLECTOR, Ledger};
use base64::Engine as _;
use serde_json::{Value, json};

/// Genesis balance of `local-admin` on every chain (TESTBED.md §4, the chart's genesis).
pub const LOCAL_ADMIN_BALANCE: u128 = 1_000_000_000_000;
/// Genesis balance of `relayer` on every chain (the chart's genesis server,
/// `generate-genesis.sh`: `add-genesis-account $RELAYER_ADDR 1000000000uatom`).
pub const RELAYER_BALANCE: u128 = 1_000_000_000;
/// Roles with a genesis account, in account-number order.
pub const GENESIS_ROLES: [(&str, u128); 2] =
    [("local-admin", LOCAL_ADMIN_BALANCE), ("relayer", RELAYER_BALANCE)];

/// Block `max_bytes` as the chart's genesis server sets it (`generate-genesis.sh` writes
/// 104857600 = 100 MiB over CometBFT's default 21 MiB).
pub const MAX_BLOCK_BYTES: usize = 104_857_600;

/// The state at height 0: genesis accounts (numbers 0 and 1), then module accounts.
pub fn genesis_ledger(chain_id: &str) -> Ledger {
    let mut ledger = Ledger::default();
    for (role, balance) in GENESIS_ROLES {
        ledger.mint(&TestKey::for_role(chain_id, role).address, &Coin::new(balance, DENOM));
    }
    ledger.add_module_account(&module_address(FEE_COLLECTOR), FEE_COLLECTOR, &[]);
    ledger
}

/// CometBFT 0.38 default consensus params in RPC JSON (as in the recorded `genesis.json`).
pub fn consensus_params_json() -> Value {
    json!({
        "block": {"max_bytes": MAX_BLOCK_BYTES.to_string(), "max_gas": "-1"},
        "evidence": {"max_age_num_blocks": "100000", "max_age_duration": "172800000000000", "max_bytes": "1048576"},
        "validator": {"pub_key_types": ["ed25519"]},
        "version": {"app": "0"},
        "abci": {"vote_extensions_enable_height": "0"},
    })
}

/// The `genesis` RPC document, with the SDK `app_state` the accounts above come from.
pub fn genesis_json(chain_id: &str, genesis_time: &str, validator: &Validator, ledger: &Ledger) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let accounts: Vec<Value> = ledger
        .accounts()
        .filter(|a| a.module.is_none())
        .map(|a| {
            json!({"@type": "/cosmos.auth.v1beta1.BaseAccount", "address": a.address, "pub_key": null,
                        "account_number": a.number.to_string(), "sequence": "0"})
        })
        .collect();
    let balances: Vec<Value> = ledger
        .accounts()
        .filter(|a| a.module.is_none())
        .map(|a| {
            let coins: Vec<Value> = ledger
                .balances(&a.address)
                .iter()
                .map(|c| json!({"denom": c.denom, "amount": c.amount.to_string()}))
                .collect();
            json!({"address": a.address, "coins": coins})
        })
        .collect();
    json!({
        "genesis_time": genesis_time,
        "chain_id": chain_id,
        "initial_height": "1",
        "consensus_params": consensus_params_json(),
        "validators": [{
            "address": hex::encode_upper(validator.address),
            "pub_key": {"type": "tendermint/PubKeyEd25519", "value": b64.encode(validator.public_key)},
            "power": VOTING_POWER.to_string(),
            "name": "",
        }],
        "app_hash": "",
        "app_state": {
            "auth": {"params": {"max_memo_characters": "256", "tx_sig_limit": "7", "tx_size_cost_per_byte": "10",
                                 "sig_verify_cost_ed25519": "590", "sig_verify_cost_secp256k1": "1000"},
                     "accounts": accounts},
            "bank": {"balances": balances, "denom_metadata": [], "send_enabled": [], "supply": []},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_funds_local_admin_and_relayer_from_the_mounted_mnemonics() {
        let ledger = genesis_ledger("gwc");
        let admin = TestKey::for_role("gwc", "local-admin");
        let relayer = TestKey::for_role("gwc", "relayer");
        assert_eq!(ledger.balance(&admin.address, "uatom"), 1_000_000_000_000);
        assert_eq!(ledger.balance(&relayer.address, "uatom"), 1_000_000_000);
        assert_eq!(ledger.account(&admin.address).unwrap().number, 0);
        assert_eq!(ledger.account(&relayer.address).unwrap().number, 1);
    }
}
