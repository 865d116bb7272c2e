//! The relayer home on the pod's volume: `config/config.yaml` (an emptyDir in the chart, lost
//! with the pod) and the keys under `keys/<chain-id>/keyring-<backend>/` (on the claim, kept).
//! The config and key subcommands read and write it; no mnemonic is ever printed but the new
//! one `keys add` creates (on stdout, as the real command prints it).

use super::rly_cli::{Args, NIL_CONFIG_PANIC, Outcome};
use super::rly_config::{ChainCfg, RlyConfig};
use crate::chain::keys::TestKey;
use crate::pod::{Fs, ProcCtx};

/// The relayer home (`<home>/config/config.yaml`, `<home>/keys/<chain-id>/keyring-test/`).
pub(super) struct Home {
    pub(super) fs: Fs,
    pub(super) home: String,
}

impl Home {
    pub(super) fn config_path(&self) -> String {
        format!("{}/config/config.yaml", self.home)
    }

    pub(super) fn load(&self) -> Option<RlyConfig> {
        let bytes = self.fs.read_file(&self.config_path())?;
        Some(RlyConfig::parse(&String::from_utf8_lossy(&bytes)))
    }

    pub(super) fn save(&self, c: &RlyConfig) -> Result<(), String> {
        self.fs.try_write_file(&self.config_path(), c.render()).map_err(|e| e.to_string())
    }

    pub(super) fn with_config(&self, f: impl FnOnce(&RlyConfig) -> Outcome) -> Outcome {
        match self.load() {
            Some(c) => f(&c),
            None => Outcome { code: 2, stdout: String::new(), stderr: NIL_CONFIG_PANIC.into() },
        }
    }

    /// Loads, changes and saves the config; `f`'s error becomes rly's error.
    pub(super) fn update_config(&self, f: impl FnOnce(&mut RlyConfig) -> Result<(), String>) -> Outcome {
        let Some(mut cfg) = self.load() else {
            return Outcome { code: 2, stdout: String::new(), stderr: NIL_CONFIG_PANIC.into() };
        };
        match f(&mut cfg).and_then(|()| self.save(&cfg)) {
            Ok(()) => Outcome::ok(""),
            Err(e) => Outcome::error(e),
        }
    }

    pub(super) fn config_init(&self, memo: &str) -> Outcome {
        let path = self.config_path();
        if self.fs.exists(&path) {
            return Outcome::error(format!("config already exists: {path}"));
        }
        match self.save(&RlyConfig { memo: memo.to_string(), ..Default::default() }) {
            Ok(()) => Outcome::ok(""),
            Err(e) => Outcome::error(e),
        }
    }

    pub(super) fn chains_add(&self, ctx: &ProcCtx, args: &Args) -> Outcome {
        let Some(mut cfg) = self.load() else {
            return Outcome { code: 2, stdout: String::new(), stderr: NIL_CONFIG_PANIC.into() };
        };
        let Some(file) = args.flag(&["--file", "-f"]) else {
            // `rly chains add <name>` fetches from the chain registry: no network in the pod.
            return Outcome::error("chain registry is unreachable; use --file");
        };
        let path = ctx.path(file);
        let Some(bytes) = self.fs.read_file(&path) else {
            return Outcome::error(format!("open {file}: no such file or directory"));
        };
        let chain = match ChainCfg::from_chain_file(&bytes, &self.home) {
            Ok(c) => c,
            Err(e) => return Outcome::error(e),
        };
        let base = file.rsplit('/').next().unwrap_or(file);
        let name = args.pos(2).unwrap_or_else(|| base.split('.').next().unwrap_or(base)).to_string();
        if cfg.chain_by_id(&chain.chain_id).is_some() {
            return Outcome::error(format!("chain with ID {} already exists in config", chain.chain_id));
        }
        cfg.put_chain(&name, chain);
        match self.save(&cfg) {
            Ok(()) => Outcome::ok(""),
            Err(e) => Outcome::error(e),
        }
    }

    pub(super) fn key_path(&self, chain: &ChainCfg, key: &str) -> String {
        let dir = if chain.key_directory.is_empty() {
            format!("{}/keys/{}", self.home, chain.chain_id)
        } else {
            chain.key_directory.clone()
        };
        format!("{dir}/keyring-{}/{key}.info", chain.keyring_backend)
    }

    /// The stored key record (`{"name","address","mnemonic"}`), if present.
    pub(super) fn key_record(&self, chain: &ChainCfg, key: &str) -> Option<serde_json::Value> {
        let bytes = self.fs.read_file(&self.key_path(chain, key))?;
        serde_json::from_slice(&bytes).ok()
    }

    pub(super) fn key_address(&self, chain: &ChainCfg, key: &str) -> Option<String> {
        self.key_record(chain, key)?["address"].as_str().map(str::to_string)
    }

    /// The signing key of a restored key (for `transact`).
    pub(super) fn signing_key(&self, chain: &ChainCfg, key: &str) -> Option<TestKey> {
        TestKey::from_mnemonic(self.key_record(chain, key)?["mnemonic"].as_str()?).ok()
    }

    pub(super) fn chain_named<'a>(
        &self,
        cfg: &'a RlyConfig,
        name: Option<&str>,
    ) -> Result<&'a ChainCfg, Outcome> {
        let name = name.ok_or_else(|| Outcome::error("accepts between 1 and 2 arg(s), received 0"))?;
        cfg.chain(name).ok_or_else(|| {
            Outcome::error(format!(
                "chain with name \"{name}\" not found in config. consider running `rly chains add {name}`"
            ))
        })
    }

    pub(super) fn keys_show(&self, chain: Option<&str>, key: Option<&str>) -> Outcome {
        self.with_config(|cfg| {
            let ch = match self.chain_named(cfg, chain) {
                Ok(c) => c,
                Err(o) => return o,
            };
            let key = key.unwrap_or(&ch.key);
            match self.key_address(ch, key) {
                Some(addr) => Outcome::ok(format!("{addr}\n")),
                None => Outcome::error(format!("a key with name {key} doesn't exist")),
            }
        })
    }

    pub(super) fn keys_restore(
        &self,
        chain: Option<&str>,
        key: Option<&str>,
        mnemonic: Option<&str>,
    ) -> Outcome {
        self.with_config(|cfg| {
            let ch = match self.chain_named(cfg, chain) {
                Ok(c) => c,
                Err(o) => return o,
            };
            let (Some(key), Some(mnemonic)) = (key, mnemonic) else {
                return Outcome::error(format!(
                    "accepts 3 arg(s), received {}",
                    1 + usize::from(key.is_some()) + usize::from(mnemonic.is_some())
                ));
            };
            if self.key_record(ch, key).is_some() {
                return Outcome::error(format!("a key with name {key} already exists"));
            }
            // The error never echoes the words (bip39's message may quote one of them).
            let Ok(k) = TestKey::from_mnemonic(mnemonic.trim()) else {
                return Outcome::error("invalid mnemonic");
            };
            let record = serde_json::json!({"name": key, "address": k.address, "mnemonic": mnemonic.trim()});
            match self.fs.try_write_file(&self.key_path(ch, key), record.to_string()) {
                Ok(()) => Outcome::ok(format!("{}\n", k.address)),
                Err(e) => Outcome::error(e),
            }
        })
    }

    /// Creates key `key` from a fresh 24-word mnemonic (`cosmos/keys.go CreateMnemonic`: 256
    /// bits of entropy) and stores it; returns (mnemonic, address).
    pub(super) fn add_key(&self, chain: &ChainCfg, key: &str) -> Result<(String, String), String> {
        let mnemonic = bip39::Mnemonic::from_entropy(&rand::random::<[u8; 32]>())
            .map_err(|e| e.to_string())?
            .to_string();
        let k = TestKey::from_mnemonic(&mnemonic).map_err(|e| e.to_string())?;
        let record = serde_json::json!({"name": key, "address": k.address, "mnemonic": mnemonic});
        self.fs.try_write_file(&self.key_path(chain, key), record.to_string()).map_err(|e| e.to_string())?;
        Ok((mnemonic, k.address))
    }

    /// `rly keys add <chain> <key>`: prints the `KeyOutput` JSON, the only place a mnemonic is
    /// ever shown (as the real command does, so the operator can back it up).
    pub(super) fn keys_add(&self, args: &Args) -> Outcome {
        self.with_config(|cfg| {
            let (Some(chain), Some(key), None) = (args.pos(2), args.pos(3), args.pos(4)) else {
                return Outcome::error(format!(
                    "accepts 2 arg(s), received {}",
                    args.pos.len().saturating_sub(2)
                ));
            };
            let ch = match self.chain_named(cfg, Some(chain)) {
                Ok(c) => c,
                Err(o) => return o,
            };
            if self.key_record(ch, key).is_some() {
                return Outcome::error(format!("a key with name {key} already exists"));
            }
            match self.add_key(ch, key) {
                // Go marshals the struct's fields in declaration order: mnemonic, then address.
                Ok((mnemonic, address)) => Outcome::ok(format!(
                    "{{\"mnemonic\":{},\"address\":{}}}\n",
                    serde_json::Value::from(mnemonic),
                    serde_json::Value::from(address)
                )),
                Err(e) => Outcome::error(format!("failed to add key: {e}")),
            }
        })
    }

    /// The name of the key in `chain`'s keyring whose address is `address`.
    pub(super) fn key_named_by_address(&self, chain: &ChainCfg, address: &str) -> Option<String> {
        let dir = self.key_path(chain, "x");
        let dir = dir.rsplit_once('/').map_or(dir.as_str(), |(d, _)| d);
        self.fs.list_dir(dir).unwrap_or_default().into_iter().find_map(|name| {
            let key = name.strip_suffix(".info")?;
            (self.key_address(chain, key).as_deref() == Some(address)).then(|| key.to_string())
        })
    }

    /// `rly keys delete <chain> <key> -y`: removes the key record, prints the deleted key.
    pub(super) fn keys_delete(&self, chain: Option<&str>, key: Option<&str>) -> Outcome {
        self.with_config(|cfg| {
            let ch = match self.chain_named(cfg, chain) {
                Ok(c) => c,
                Err(o) => return o,
            };
            let key = key.unwrap_or(&ch.key);
            if self.key_record(ch, key).is_none() {
                return Outcome::error(format!("key {key} does not exist for chain {}", ch.chain_id));
            }
            match self.fs.remove(&self.key_path(ch, key)) {
                Ok(()) => Outcome::ok(format!("key {key} deleted\n")),
                Err(e) => Outcome::error(e),
            }
        })
    }

    pub(super) fn keys_list(&self, chain: Option<&str>) -> Outcome {
        self.with_config(|cfg| {
            let ch = match self.chain_named(cfg, chain) {
                Ok(c) => c,
                Err(o) => return o,
            };
            let dir = self.key_path(ch, "x");
            let dir = dir.rsplit_once('/').map_or(dir.as_str(), |(d, _)| d);
            let mut out = String::new();
            for name in self.fs.list_dir(dir).unwrap_or_default() {
                if let Some(key) = name.strip_suffix(".info")
                    && let Some(addr) = self.key_address(ch, key)
                {
                    out.push_str(&format!("key({key}) -> {addr}\n"));
                }
            }
            if out.is_empty() {
                let name = chain.unwrap_or_default();
                return Outcome {
                    code: 0,
                    stdout: String::new(),
                    stderr: format!("warning: no keys found for chain {name} (do you need to run 'rly keys add {name}'?)\n"),
                };
            }
            Outcome::ok(out)
        })
    }
}
