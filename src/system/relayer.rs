//! The relayer probe: one exec in the relayer pod reports whether `config.yaml` exists, the
//! configured chains and paths (`rly config show --json`, no network), each chain's relayer
//! key (`rly keys show`), which mnemonic files are mounted, and the pids of a running
//! `rly start` — all under `RLY_HOME`. The reconcile steps, preflight and the snapshot use this
//! one probe, so they cannot disagree about the relayer.

use crate::chart::RELAYER_KEY;
use crate::k8s::script::{self, quote};
use crate::k8s::{ExecError, PodExec};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One `paths.<name>` of the relayer config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathState {
    pub src: String,
    pub dst: String,
    pub src_client: String,
    pub dst_client: String,
    pub src_connection: String,
    pub dst_connection: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayerState {
    pub config: bool,
    /// Configured chains: chain id → config name.
    pub chains: BTreeMap<String, String>,
    /// Restored relayer keys: chain id → address.
    pub keys: BTreeMap<String, String>,
    /// Chains with `/etc/mnemonics/<id>.relayer.mnemonic` mounted.
    pub mnemonics: BTreeSet<String>,
    pub paths: BTreeMap<String, PathState>,
    /// Pids of `rly start`.
    pub running: Vec<u32>,
}

/// The observe script for `chains` (ids checked plain by discover).
pub fn observe_script(home: &str, chains: &[String]) -> String {
    let ids = chains.iter().map(|c| quote(c)).collect::<Vec<_>>().join(" ");
    format!(
        "H={home}\n\
         echo '@@ config'\n\
         if [ -f \"$H/config/config.yaml\" ]; then rly config show --json --home \"$H\" 2>/dev/null\n\
         for id in {ids}; do echo \"@@ key $id\"; rly keys show \"$id\" {RELAYER_KEY} --home \"$H\" 2>/dev/null; done; fi\n\
         for id in {ids}; do if [ -f \"/etc/mnemonics/$id.{RELAYER_KEY}.mnemonic\" ]; then echo \"@@ mnemonic $id\"; fi; done\n\
         echo '@@ running'\n\
         pgrep -f '[r]ly start'\n\
         exit 0",
        home = quote(home)
    )
}

/// Reads the observe script's output.
pub fn parse(output: &str) -> RelayerState {
    let mut st = RelayerState::default();
    for s in script::sections(output) {
        match s.name.as_str() {
            "config" => {
                let Ok(cfg) = serde_json::from_str::<Value>(s.body.trim()) else { continue };
                st.config = true;
                for (name, chain) in cfg["chains"].as_object().into_iter().flatten() {
                    if let Some(id) = chain["value"]["chain-id"].as_str() {
                        st.chains.insert(id.to_string(), name.clone());
                    }
                }
                for (name, p) in cfg["paths"].as_object().into_iter().flatten() {
                    let f = |end: &str, k: &str| p[end][k].as_str().unwrap_or_default().to_string();
                    st.paths.insert(
                        name.clone(),
                        PathState {
                            src: f("src", "chain-id"),
                            dst: f("dst", "chain-id"),
                            src_client: f("src", "client-id"),
                            dst_client: f("dst", "client-id"),
                            src_connection: f("src", "connection-id"),
                            dst_connection: f("dst", "connection-id"),
                        },
                    );
                }
            }
            "key" => {
                let address = s.body.trim();
                if !address.is_empty() && !address.contains(' ') {
                    st.keys.insert(s.arg, address.to_string());
                }
            }
            "mnemonic" => {
                st.mnemonics.insert(s.arg);
            }
            "running" => st.running = s.body.split_whitespace().filter_map(|p| p.parse().ok()).collect(),
            _ => {}
        }
    }
    st
}

/// Why the probe saw nothing.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}")]
    Exec(ExecError),
    #[error("observing the relayer exited {code}: {stderr}")]
    Exited { code: i32, stderr: String },
}

/// Runs the probe in `pod` for `chains` (ids already checked plain) under `home`.
pub async fn probe(
    exec: &PodExec,
    pod: &str,
    home: &str,
    chains: &[String],
) -> Result<RelayerState, ProbeError> {
    let out = exec.script(pod, &observe_script(home, chains)).await.map_err(ProbeError::Exec)?;
    if out.code != 0 {
        return Err(ProbeError::Exited { code: out.code, stderr: out.stderr.trim().to_string() });
    }
    Ok(parse(&out.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_config_keys_mnemonics_and_pids() {
        let out = r#"@@ config
{"chains":{"gwc":{"type":"cosmos","value":{"chain-id":"gwc"}},"m":{"type":"cosmos","value":{"chain-id":"mdsc"}}},"paths":{"path-gwc-mdsc-gw":{"src":{"chain-id":"gwc","client-id":"07-tendermint-0"},"dst":{"chain-id":"mdsc"}}}}
@@ key gwc
cosmos1abc
@@ key mdsc
@@ mnemonic gwc
@@ running
42
"#;
        let st = parse(out);
        assert!(st.config);
        assert_eq!(st.chains.get("mdsc").map(String::as_str), Some("m"));
        assert_eq!(st.keys.keys().collect::<Vec<_>>(), ["gwc"]);
        assert!(st.mnemonics.contains("gwc") && !st.mnemonics.contains("mdsc"));
        let p = &st.paths["path-gwc-mdsc-gw"];
        assert_eq!(
            (p.src.as_str(), p.src_client.as_str(), p.dst_client.as_str()),
            ("gwc", "07-tendermint-0", "")
        );
        assert_eq!(st.running, [42]);
    }

    #[test]
    fn no_config_section_body_means_no_config() {
        let st = parse("@@ config\n@@ running\n");
        assert!(!st.config && st.chains.is_empty() && st.running.is_empty());
    }
}
