//! The chain binaries' client side shared by their commands: the pod's `test` keyring
//! (`keys add`, `keys show`; the chart's roles come from the mounted mnemonics, keys added
//! later live under `<home>/keyring-test/`), and signing and broadcasting a tx the way the
//! SDK's CLI does it (`--from`, `--gas auto --gas-adjustment`, `--gas-prices`, `--fees`,
//! `--fee-granter`, `-o json`, sync broadcast).

use crate::chain::ChainNode;
use crate::chain::coins::{Coin, DENOM};
use crate::chain::keys::TestKey;
use crate::chain::tx_codec::{UnsignedTx, decode_tx, hash_hex, tx_hash};
use crate::mnemonics::ROLES;
use crate::pod::Fs;
use serde_json::{Value, json};

/// (exit code, stdout, stderr).
pub type Reply = (i32, String, String);

pub fn error(msg: impl std::fmt::Display) -> Reply {
    (1, String::new(), format!("Error: {msg}\n"))
}

pub fn ok_json(v: Value) -> Reply {
    (0, format!("{v}\n"), String::new())
}

/// `--name value` or `--name=value`.
pub fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let prefix = format!("{name}=");
    args.iter().enumerate().find_map(|(i, a)| {
        if a == name { args.get(i + 1).map(String::as_str) } else { a.strip_prefix(&prefix) }
    })
}

/// The pod's keyring: the chart's roles plus the keys `keys add` created.
pub struct Keyring<'a> {
    pub fs: &'a Fs,
    pub chain_id: &'a str,
    /// `/home/<app>/.<app>` (the CLI's `--home`).
    pub home: String,
}

impl Keyring<'_> {
    fn path(&self, name: &str) -> String {
        format!("{}/keyring-test/{name}.info", self.home)
    }

    /// A key by name, or by the address of one of the keyring's keys.
    pub fn get(&self, name_or_address: &str) -> Option<(String, TestKey)> {
        if ROLES.contains(&name_or_address) {
            return Some((name_or_address.to_string(), TestKey::for_role(self.chain_id, name_or_address)));
        }
        if let Some(bytes) = self.fs.read_file(&self.path(name_or_address)) {
            let key = TestKey::from_mnemonic(String::from_utf8_lossy(&bytes).trim()).ok()?;
            return Some((name_or_address.to_string(), key));
        }
        let mut names: Vec<String> = ROLES.iter().map(|r| r.to_string()).collect();
        let dir = format!("{}/keyring-test", self.home);
        for f in self.fs.list_dir(&dir).unwrap_or_default() {
            if let Some(n) = f.strip_suffix(".info") {
                names.push(n.to_string());
            }
        }
        names.into_iter().find_map(|n| {
            let k = self.get_named(&n)?;
            (k.address == name_or_address).then_some((n, k))
        })
    }

    fn get_named(&self, name: &str) -> Option<TestKey> {
        if ROLES.contains(&name) {
            return Some(TestKey::for_role(self.chain_id, name));
        }
        let bytes = self.fs.read_file(&self.path(name))?;
        TestKey::from_mnemonic(String::from_utf8_lossy(&bytes).trim()).ok()
    }

    /// `keys add NAME [--output json]`: a fresh 24-word key.
    pub fn add(&self, name: &str, json_out: bool) -> Reply {
        if self.get_named(name).is_some() {
            return error(format!("duplicated key name: {name}"));
        }
        let entropy: [u8; 32] = rand::random();
        let mnemonic = match bip39::Mnemonic::from_entropy(&entropy) {
            Ok(m) => m.to_string(),
            Err(e) => return error(e),
        };
        let Ok(key) = TestKey::from_mnemonic(&mnemonic) else { return error("key derivation failed") };
        let _ = self.fs.mkdir_p(&format!("{}/keyring-test", self.home));
        self.fs.write_file(&self.path(name), mnemonic.as_bytes());
        use base64::Engine as _;
        let pubkey = json!({"@type": "/cosmos.crypto.secp256k1.PubKey",
            "key": base64::engine::general_purpose::STANDARD.encode(&key.public_key)})
        .to_string();
        if json_out {
            ok_json(
                json!({"name": name, "type": "local", "address": key.address, "pubkey": pubkey, "mnemonic": mnemonic}),
            )
        } else {
            let text = format!(
                "- address: {}\n  name: {name}\n  pubkey: '{pubkey}'\n  type: local\n\n\n**Important** write this mnemonic phrase in a safe place.\nIt is the only way to recover your account if you ever forget your password.\n\n{mnemonic}\n",
                key.address
            );
            (0, text, String::new())
        }
    }

    /// `keys show NAME [-a]`.
    pub fn show(&self, name: &str, address_only: bool) -> Reply {
        let Some((name, key)) = self.get(name) else {
            return error(format!("{name} is not a valid name or address: key not found"));
        };
        if address_only {
            return (0, format!("{}\n", key.address), String::new());
        }
        ok_json(json!({"name": name, "type": "local", "address": key.address}))
    }
}

/// Gas limit when `--gas` is absent (the SDK's default).
const DEFAULT_GAS: u64 = 200_000;

/// Signs `msgs` with `signer`, sets gas and fee as the flags ask, broadcasts sync and prints
/// the TxResponse (`code`, `txhash`, `raw_log`).
pub fn broadcast(
    node: &ChainNode,
    chain_id: &str,
    args: &[String],
    signer: &TestKey,
    msgs: Vec<cosmrs::Any>,
) -> Reply {
    let Some(account) = node.account(&signer.address) else {
        return error(format!(
            "rpc error: code = NotFound desc = account {} not found: key not found",
            signer.address
        ));
    };
    let granter = flag(args, "--fee-granter").unwrap_or_default();
    let build = |gas: u64, fee: u128| {
        UnsignedTx::new(msgs.clone(), Coin::new(fee, DENOM), gas).with_granter(granter).sign(
            signer,
            chain_id,
            account.number,
            account.sequence,
        )
    };
    let mut stderr = String::new();
    let gas = match flag(args, "--gas") {
        Some("auto") => {
            let adjustment: f64 = flag(args, "--gas-adjustment").and_then(|a| a.parse().ok()).unwrap_or(1.0);
            let Ok(tx) = decode_tx(&build(0, 0)) else { return error("tx encoding failed") };
            let sim = node.simulate(&tx);
            if sim.code != 0 {
                return error(format!(
                    "rpc error: code = Unknown desc = {} with gas used: '{}'",
                    sim.log, sim.gas_used
                ));
            }
            let gas = (sim.gas_used as f64 * adjustment).ceil() as u64;
            stderr.push_str(&format!("gas estimate: {gas}\n"));
            gas
        }
        Some(g) => match g.parse() {
            Ok(g) => g,
            Err(e) => return error(format!("invalid gas value: {e}")),
        },
        None => DEFAULT_GAS,
    };
    let fee = if let Some(fees) = flag(args, "--fees") {
        fees.trim_end_matches(DENOM).parse().unwrap_or(0)
    } else {
        let price: f64 =
            flag(args, "--gas-prices").and_then(|p| p.trim_end_matches(DENOM).parse().ok()).unwrap_or(0.0);
        (gas as f64 * price).ceil() as u128
    };
    let bytes = build(gas, fee);
    let hash = hash_hex(&tx_hash(&bytes));
    match node.check_tx(&bytes) {
        Ok(o) => {
            let v = json!({"height": "0", "txhash": hash, "codespace": o.result.codespace,
                "code": o.result.code, "data": "", "raw_log": o.result.log, "logs": [], "info": "",
                "gas_wanted": "0", "gas_used": "0", "tx": null, "timestamp": "", "events": []});
            (0, format!("{v}\n"), stderr)
        }
        Err(e) => error(e),
    }
}
