//! The relayer's `config.yaml` (cosmos/relayer v2.6 `cmd/config.go` structs, their field order
//! and defaults) and the chain file that `rly chains add --file` reads (the shape of rly's
//! own `chain_ibc-0.json` example).

use super::yaml::{self, Node};
use serde_json::Value;

/// `global:` defaults written by `rly config init` (`cmd/config.go defaultConfigYAML`).
const DEBUG_LISTEN_ADDR: &str = "127.0.0.1:5183";
const METRICS_LISTEN_ADDR: &str = "127.0.0.1:5184";
const GLOBAL_TIMEOUT: &str = "10s";
const LIGHT_CACHE_SIZE: i64 = 20;
const LOG_LEVEL: &str = "info";
const ICS20_MEMO_LIMIT: i64 = 0;
const MAX_RECEIVER_SIZE: i64 = 150;
/// Broadcast mode every cosmos provider config gets (`cosmos/provider.go` default).
const BROADCAST_MODE: &str = "batch";

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RlyConfig {
    pub memo: String,
    /// By config name (the chain file's base name), sorted.
    pub chains: Vec<(String, ChainCfg)>,
    /// By path name, sorted.
    pub paths: Vec<(String, PathCfg)>,
}

/// One `chains.<name>.value` of type cosmos.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainCfg {
    pub key_directory: String,
    pub key: String,
    pub chain_id: String,
    pub rpc_addr: String,
    pub account_prefix: String,
    pub keyring_backend: String,
    pub gas_adjustment: f64,
    pub gas_prices: String,
    pub debug: bool,
    pub timeout: String,
    pub output_format: String,
    pub sign_mode: String,
    /// `feegrants:` (null until `rly chains configure feegrant`).
    pub feegrants: Option<FeeGrants>,
}

/// `FeeGrantConfiguration` (`cosmos/provider.go`), with its yaml keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeeGrants {
    pub num_grantees: i64,
    /// A key name of this chain's keyring, or an address when external.
    pub granter: String,
    pub external_granter: bool,
    /// Key names of the grantees that sign in turn.
    pub grantees: Vec<String>,
    /// Height the grants were last seen on chain; 0 = never, and then nothing is feegranted.
    pub block_last_verified: i64,
    /// `GranteeLastSignerIndex`: untagged in Go, so yaml.v3 writes it lowercased; the round
    /// robin of a process starts there.
    pub last_signer_index: i64,
}

impl FeeGrants {
    fn node(&self) -> Node {
        let grantees = self.grantees.iter().map(|g| Value::from(g.as_str())).collect();
        Node::map(vec![
            ("num_grantees", Node::s(self.num_grantees)),
            ("granter", Node::s(self.granter.clone())),
            ("external_granter", Node::s(self.external_granter)),
            ("grantees", Node::List(grantees)),
            ("block_last_verified", Node::s(self.block_last_verified)),
            ("granteelastsignerindex", Node::s(self.last_signer_index)),
        ])
    }

    fn from_value(v: &Value) -> Option<FeeGrants> {
        v.as_object()?;
        Some(FeeGrants {
            num_grantees: v["num_grantees"].as_i64().unwrap_or(0),
            granter: str_of(&v["granter"]),
            external_granter: v["external_granter"].as_bool().unwrap_or(false),
            grantees: v["grantees"].as_array().map(|a| a.iter().map(str_of).collect()).unwrap_or_default(),
            block_last_verified: v["block_last_verified"].as_i64().unwrap_or(0),
            last_signer_index: v["granteelastsignerindex"].as_i64().unwrap_or(0),
        })
    }

    /// Whether txs are feegranted (`GetTxFeeGrant`: a granter, verified on chain).
    pub fn active(&self) -> bool {
        !self.granter.is_empty() && self.block_last_verified > 0 && !self.grantees.is_empty()
    }
}

/// One end of a path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathEnd {
    pub chain_id: String,
    pub client_id: String,
    pub connection_id: String,
}

/// One `paths.<name>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathCfg {
    pub src: PathEnd,
    pub dst: PathEnd,
    pub rule: String,
    pub channel_list: Vec<String>,
}

impl RlyConfig {
    pub fn chain(&self, name: &str) -> Option<&ChainCfg> {
        self.chains.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    pub fn chain_by_id(&self, chain_id: &str) -> Option<(&str, &ChainCfg)> {
        self.chains.iter().find(|(_, c)| c.chain_id == chain_id).map(|(n, c)| (n.as_str(), c))
    }

    /// Inserts or replaces `name`, keeping the list sorted.
    pub fn put_chain(&mut self, name: &str, c: ChainCfg) {
        self.chains.retain(|(n, _)| n != name);
        self.chains.push((name.to_string(), c));
        self.chains.sort_by(|a, b| a.0.cmp(&b.0));
    }

    pub fn render(&self) -> String {
        let global = Node::map(vec![
            ("debug-listen-addr", Node::s(DEBUG_LISTEN_ADDR)),
            ("metrics-listen-addr", Node::s(METRICS_LISTEN_ADDR)),
            ("timeout", Node::s(GLOBAL_TIMEOUT)),
            ("memo", Node::s(self.memo.clone())),
            ("light-cache-size", Node::s(LIGHT_CACHE_SIZE)),
            ("log-level", Node::s(LOG_LEVEL)),
            ("ics20-memo-limit", Node::s(ICS20_MEMO_LIMIT)),
            ("max-receiver-size", Node::s(MAX_RECEIVER_SIZE)),
        ]);
        let chains = Node::Map(
            self.chains
                .iter()
                .map(|(n, c)| (n.clone(), Node::map(vec![("type", Node::s("cosmos")), ("value", c.node())])))
                .collect(),
        );
        let paths = Node::Map(self.paths.iter().map(|(n, p)| (n.clone(), p.node())).collect());
        yaml::render(&Node::map(vec![("global", global), ("chains", chains), ("paths", paths)]))
    }

    /// Reads a config written by [`render`](Self::render) (or by hand in the same shape).
    pub fn parse(text: &str) -> RlyConfig {
        let v = yaml::parse(text);
        let memo = str_of(&v["global"]["memo"]);
        let chains = v["chains"]
            .as_object()
            .map(|m| m.iter().map(|(n, c)| (n.clone(), ChainCfg::from_value(&c["value"]))).collect())
            .unwrap_or_default();
        let paths = v["paths"]
            .as_object()
            .map(|m| m.iter().map(|(n, p)| (n.clone(), PathCfg::from_value(p))).collect())
            .unwrap_or_default();
        RlyConfig { memo, chains, paths }
    }
}

fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl ChainCfg {
    pub(super) fn node(&self) -> Node {
        Node::map(vec![
            ("key-directory", Node::s(self.key_directory.clone())),
            ("key", Node::s(self.key.clone())),
            ("chain-id", Node::s(self.chain_id.clone())),
            ("rpc-addr", Node::s(self.rpc_addr.clone())),
            ("backup-rpc-addrs", Node::List(vec![])),
            ("account-prefix", Node::s(self.account_prefix.clone())),
            ("keyring-backend", Node::s(self.keyring_backend.clone())),
            ("dynamic-gas-price", Node::s(false)),
            ("gas-adjustment", Node::s(self.gas_adjustment)),
            ("gas-prices", Node::s(self.gas_prices.clone())),
            ("min-gas-amount", Node::s(0)),
            ("max-gas-amount", Node::s(0)),
            ("debug", Node::s(self.debug)),
            ("timeout", Node::s(self.timeout.clone())),
            ("block-timeout", Node::s("")),
            ("output-format", Node::s(self.output_format.clone())),
            ("sign-mode", Node::s(self.sign_mode.clone())),
            ("extra-codecs", Node::List(vec![])),
            ("coin-type", Node::s(Value::Null)),
            ("signing-algorithm", Node::s("")),
            ("broadcast-mode", Node::s(BROADCAST_MODE)),
            ("min-loop-duration", Node::s("0s")),
            ("extension-options", Node::List(vec![])),
            ("feegrants", self.feegrants.as_ref().map_or(Node::s(Value::Null), FeeGrants::node)),
        ])
    }

    fn from_value(v: &Value) -> ChainCfg {
        ChainCfg {
            key_directory: str_of(&v["key-directory"]),
            key: str_of(&v["key"]),
            chain_id: str_of(&v["chain-id"]),
            rpc_addr: str_of(&v["rpc-addr"]),
            account_prefix: str_of(&v["account-prefix"]),
            keyring_backend: str_of(&v["keyring-backend"]),
            gas_adjustment: v["gas-adjustment"].as_f64().unwrap_or(0.0),
            gas_prices: str_of(&v["gas-prices"]),
            debug: v["debug"].as_bool().unwrap_or(false),
            timeout: str_of(&v["timeout"]),
            output_format: str_of(&v["output-format"]),
            sign_mode: str_of(&v["sign-mode"]),
            feegrants: FeeGrants::from_value(&v["feegrants"]),
        }
    }

    /// `rly chains show <name>`: the `{type, value}` wrapper as YAML (then Go's `Fprintln`
    /// newline) or, with `--json`, as Go's `json.Marshal` writes it (field order kept, nil
    /// slices `null`, the duration in nanoseconds).
    pub fn show(&self, json: bool) -> String {
        let wrapper = Node::map(vec![("type", Node::s("cosmos")), ("value", self.node())]);
        if !json {
            return format!("{}\n", yaml::render(&wrapper));
        }
        fn go_json(key: &str, n: &Node) -> String {
            match n {
                Node::Map(m) => {
                    // The one untagged field keeps its Go name in JSON.
                    let name = |k: &str| match k {
                        "granteelastsignerindex" => "GranteeLastSignerIndex".to_string(),
                        k => k.to_string(),
                    };
                    let f: Vec<String> = m
                        .iter()
                        .map(|(k, v)| format!("{}:{}", Value::from(name(k)), go_json(k, v)))
                        .collect();
                    format!("{{{}}}", f.join(","))
                }
                Node::List(l) if l.is_empty() => "null".into(),
                Node::List(l) => Value::Array(l.clone()).to_string(),
                Node::Scalar(_) if key == "min-loop-duration" => "0".into(),
                Node::Scalar(v) => v.to_string(),
            }
        }
        format!("{}\n", go_json("", &wrapper))
    }

    /// Parses a chain file (`{"type":"cosmos","value":{…}}`); unknown keys are ignored, as
    /// Go's `json.Unmarshal` does. `home` gives the key directory (`<home>/keys/<chain-id>`).
    pub fn from_chain_file(bytes: &[u8], home: &str) -> Result<ChainCfg, String> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("failed to unmarshal chain file: {e}"))?;
        let ty = str_of(&v["type"]);
        if ty != "cosmos" {
            return Err(format!("unrecognized chain type \"{ty}\""));
        }
        let mut c = ChainCfg::from_value(&v["value"]);
        if c.chain_id.is_empty() {
            return Err("chain-id must be set".into());
        }
        validate_go_duration(&c.timeout)?;
        c.key_directory = format!("{home}/keys/{}", c.chain_id);
        Ok(c)
    }

    /// The fee denom: `gas-prices` without its leading amount (`0.001uatom` → `uatom`).
    pub fn fee_denom(&self) -> &str {
        self.gas_prices.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
    }
}

impl PathCfg {
    fn node(&self) -> Node {
        let end = |e: &PathEnd| {
            let mut f = vec![("chain-id", Node::s(e.chain_id.clone()))];
            if !e.client_id.is_empty() {
                f.push(("client-id", Node::s(e.client_id.clone())));
            }
            if !e.connection_id.is_empty() {
                f.push(("connection-id", Node::s(e.connection_id.clone())));
            }
            Node::map(f)
        };
        let list = self.channel_list.iter().map(|c| Value::from(c.as_str())).collect();
        Node::map(vec![
            ("src", end(&self.src)),
            ("dst", end(&self.dst)),
            (
                "src-channel-filter",
                Node::map(vec![("rule", Node::s(self.rule.clone())), ("channel-list", Node::List(list))]),
            ),
        ])
    }

    fn from_value(v: &Value) -> PathCfg {
        let end = |e: &Value| PathEnd {
            chain_id: str_of(&e["chain-id"]),
            client_id: str_of(&e["client-id"]),
            connection_id: str_of(&e["connection-id"]),
        };
        PathCfg {
            src: end(&v["src"]),
            dst: end(&v["dst"]),
            rule: str_of(&v["src-channel-filter"]["rule"]),
            channel_list: v["src-channel-filter"]["channel-list"]
                .as_array()
                .map(|a| a.iter().map(str_of).collect())
                .unwrap_or_default(),
        }
    }
}

/// Go's `time.ParseDuration` grammar: `[-+]?(<decimal><unit>)+` or `0`; units ns us µs ms s m h.
/// The error reads as Go's.
pub fn validate_go_duration(s: &str) -> Result<(), String> {
    let err = || Err(format!("time: invalid duration \"{s}\""));
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body == "0" {
        return Ok(());
    }
    if body.is_empty() {
        return err();
    }
    let mut rest = body;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return err();
        }
        rest = &rest[num_len..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"].iter().find(|u| rest.starts_with(*u));
        // "ms" before "m"/"s": the list is ordered longest-first within each prefix.
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return Err(format!("time: missing unit in duration \"{s}\"")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &[u8] = br#"{"type":"cosmos","value":{"key":"testkey","chain-id":"ibc-0","rpc-addr":"http://localhost:26657","grpc-addr":"","account-prefix":"cosmos","keyring-backend":"test","gas-adjustment":1.5,"gas-prices":"0.025stake","debug":true,"timeout":"10s","output-format":"json","sign-mode":"direct"}}"#;

    #[test]
    fn init_config_has_the_v2_6_global_block_and_empty_maps() {
        let text = RlyConfig { memo: "hi there".into(), ..Default::default() }.render();
        assert_eq!(
            text,
            "global:\n    debug-listen-addr: 127.0.0.1:5183\n    metrics-listen-addr: 127.0.0.1:5184\n    timeout: 10s\n    memo: hi there\n    light-cache-size: 20\n    log-level: info\n    ics20-memo-limit: 0\n    max-receiver-size: 150\nchains: {}\npaths: {}\n"
        );
        assert!(RlyConfig::default().render().contains("    memo: \"\"\n"));
    }

    #[test]
    fn chain_file_round_trips_through_config_yaml() {
        let c = ChainCfg::from_chain_file(FIXTURE, "/home/relayer/.relayer").unwrap();
        assert_eq!(c.chain_id, "ibc-0");
        assert_eq!(c.key_directory, "/home/relayer/.relayer/keys/ibc-0");
        assert_eq!(c.fee_denom(), "stake");
        let mut cfg = RlyConfig::default();
        cfg.put_chain("ibc-0", c.clone());
        cfg.paths.push((
            "p".into(),
            PathCfg { src: PathEnd { chain_id: "a".into(), ..Default::default() }, ..Default::default() },
        ));
        let text = cfg.render();
        assert!(
            text.contains("        value:\n            key-directory: /home/relayer/.relayer/keys/ibc-0\n"),
            "{text}"
        );
        assert!(text.contains("            gas-adjustment: 1.5\n"), "{text}");
        assert_eq!(RlyConfig::parse(&text), cfg);
    }

    #[test]
    fn feegrants_round_trip_and_show_as_go_marshals_them() {
        let mut c = ChainCfg::from_chain_file(FIXTURE, "/h").unwrap();
        assert_eq!(c.feegrants, None);
        c.feegrants = Some(FeeGrants {
            num_grantees: 2,
            granter: "relayer".into(),
            grantees: vec!["a".into(), "b".into()],
            block_last_verified: 42,
            ..Default::default()
        });
        let mut cfg = RlyConfig::default();
        cfg.put_chain("ibc-0", c.clone());
        let text = cfg.render();
        assert!(text.contains("            feegrants:\n                num_grantees: 2\n                granter: relayer\n                external_granter: false\n                grantees:\n                    - a\n                    - b\n                block_last_verified: 42\n                granteelastsignerindex: 0\n"), "{text}");
        assert_eq!(RlyConfig::parse(&text), cfg);
        let json = c.show(true);
        assert!(json.ends_with(",\"feegrants\":{\"num_grantees\":2,\"granter\":\"relayer\",\"external_granter\":false,\"grantees\":[\"a\",\"b\"],\"block_last_verified\":42,\"GranteeLastSignerIndex\":0}}}\n"), "{json}");
        assert!(
            json.starts_with(
                "{\"type\":\"cosmos\",\"value\":{\"key-directory\":\"/h/keys/ibc-0\",\"key\":\"testkey\","
            ),
            "{json}"
        );
    }

    #[test]
    fn chain_file_errors_are_reported_not_panicked() {
        assert!(ChainCfg::from_chain_file(b"not json", "/h").is_err());
        assert!(ChainCfg::from_chain_file(br#"{"type":"evm","value":{}}"#, "/h").is_err());
        let bad = String::from_utf8_lossy(FIXTURE).replace("\"10s\"", "\"ten\"");
        assert_eq!(
            ChainCfg::from_chain_file(bad.as_bytes(), "/h").unwrap_err(),
            "time: invalid duration \"ten\""
        );
    }

    #[test]
    fn go_durations() {
        for ok in ["10s", "1m30s", "0", "1.5h", "20s", "100ms", "-3us"] {
            assert!(validate_go_duration(ok).is_ok(), "{ok}");
        }
        for bad in ["", "10", "s", "1x", "1..2s", "-"] {
            assert!(validate_go_duration(bad).is_err(), "{bad}");
        }
    }
}
