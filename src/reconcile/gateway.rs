//! Observe gwc: its `gateway` channel ends (with the chain each one's client tracks) and the
//! storage chains registered in its gateway module. Read over gwc's REST API when the BFF can
//! reach it (no exec); otherwise through `rly q channels gwc` and `gwcd q gateway endpoints`
//! in the pods, as the scripts do.

use super::journal::Journal;
use super::run::{CommandExited, Run};
use crate::chain::ibc_query;
use crate::chart::{GATEWAY_PORT, GWC};
use crate::error_code::Failure;
use crate::k8s::script::quote;
use serde_json::Value;
use std::collections::BTreeSet;

pub const OPEN: &str = "STATE_OPEN";

/// One channel end on gwc's gateway port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayChannel {
    pub channel_id: String,
    pub state: String,
    pub counterparty_chain: String,
    pub counterparty_port: String,
}

/// The OPEN gateway channel to `chain` on `port`, if any.
pub fn open_channel<'a>(
    channels: &'a [GatewayChannel],
    chain: &str,
    port: &str,
) -> Option<&'a GatewayChannel> {
    channels.iter().find(|c| c.state == OPEN && c.counterparty_chain == chain && c.counterparty_port == port)
}

/// Parses `rly q channels gwc` (one JSON object per line).
pub fn parse_rly_channels(output: &str) -> Vec<GatewayChannel> {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|c| c["port_id"] == GATEWAY_PORT)
        .map(|c| GatewayChannel {
            channel_id: str_at(&c["channel_id"]),
            state: str_at(&c["state"]),
            counterparty_chain: str_at(&c["counterparty"]["chain_id"]),
            counterparty_port: str_at(&c["counterparty"]["port_id"]),
        })
        .collect()
}

/// Chain ids in a `storage_infos` list (REST and `gwcd q gateway endpoints -o json` agree).
pub fn parse_storage(v: &Value) -> BTreeSet<String> {
    v["storage_infos"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["chain_id"].as_str())
        .map(String::from)
        .collect()
}

fn str_at(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// gwc's REST base URL, if resolved.
fn gwc_api(run: &Run) -> Option<String> {
    run.ctx.directory.snapshot().upstream_endpoints(GWC).api
}

pub async fn channels(run: &Run, journal: &dyn Journal) -> Result<Vec<GatewayChannel>, Failure> {
    if let Some(api) = gwc_api(run) {
        match channels_rest(run, &api).await {
            Ok(c) => return Ok(c),
            Err(e) => journal.warn(&format!("gwc REST unreachable ({e}); asking rly in the relayer pod")),
        }
    }
    let topo = run.topology()?;
    let cmd = format!("rly q channels {GWC} --home {}", quote(&run.settings().rly_home));
    let out = run.script(journal, &topo.relayer_pod, &cmd, &cmd).await.map_err(|e| run.exec_failure(e))?;
    if out.code != 0 {
        return Err(
            CommandExited { command: cmd, code: out.code, stderr: out.stderr.trim().to_string() }.into()
        );
    }
    Ok(parse_rly_channels(&out.stdout))
}

async fn channels_rest(run: &Run, api: &str) -> crate::chain::Result<Vec<GatewayChannel>> {
    let client = &run.ctx.chains;
    let mut out = Vec::new();
    for c in ibc_query::channels(client, api).await?.into_iter().filter(|c| c.port_id == GATEWAY_PORT) {
        let chain = match run.channel_chain(&c.channel_id) {
            Some(chain) => chain,
            None => {
                let chain = ibc_query::counterparty_chain(client, api, GATEWAY_PORT, &c.channel_id).await?;
                let chain = chain.unwrap_or_default();
                if !chain.is_empty() {
                    run.remember_channel_chain(&c.channel_id, &chain);
                }
                chain
            }
        };
        out.push(GatewayChannel {
            channel_id: c.channel_id,
            state: c.state,
            counterparty_chain: chain,
            counterparty_port: c.counterparty_port_id,
        });
    }
    Ok(out)
}

/// Storage chains registered on gwc.
pub async fn storage(run: &Run, journal: &dyn Journal) -> Result<BTreeSet<String>, Failure> {
    if let Some(api) = gwc_api(run) {
        match run.ctx.chains.rest_get(&api, "/gwc/gateway/v1/storage_endpoints", &[]).await {
            Ok(v) => return Ok(parse_storage(&v)),
            Err(e) => journal.warn(&format!("gwc REST unreachable ({e}); asking gwcd in the gwc pod")),
        }
    }
    let topo = run.topology()?;
    let argv = ["gwcd", "q", "gateway", "endpoints", "-o", "json"];
    let out = run
        .exec(journal, &topo.gwc_pod, &argv, &argv.join(" "), None)
        .await
        .map_err(|e| run.exec_failure(e))?;
    let parsed = serde_json::from_str::<Value>(out.stdout.trim());
    match (out.code, parsed) {
        (0, Ok(v)) => Ok(parse_storage(&v)),
        (code, _) => Err(CommandExited {
            command: "gwcd q gateway endpoints".into(),
            code,
            stderr: out.stderr.trim().to_string(),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rly_channel_lines_keep_gateway_ends_with_their_counterparty() {
        let out = concat!(
            r#"{"chain_id":"gwc","channel_id":"channel-0","counterparty":{"chain_id":"mdsc","channel_id":"channel-0","port_id":"metastore"},"port_id":"gateway","state":"STATE_OPEN"}"#,
            "\n",
            r#"{"chain_id":"gwc","channel_id":"channel-1","counterparty":{"chain_id":"fdsc-0","channel_id":"","port_id":"datastore"},"port_id":"gateway","state":"STATE_INIT"}"#,
            "\n",
            r#"{"chain_id":"gwc","channel_id":"channel-2","counterparty":{"chain_id":"x","port_id":"transfer"},"port_id":"transfer","state":"STATE_OPEN"}"#,
            "\nnot json\n"
        );
        let chans = parse_rly_channels(out);
        assert_eq!(chans.len(), 2);
        assert_eq!(
            open_channel(&chans, "mdsc", "metastore").map(|c| c.channel_id.as_str()),
            Some("channel-0")
        );
        assert_eq!(open_channel(&chans, "fdsc-0", "datastore"), None, "INIT is not open");
        assert_eq!(open_channel(&chans, "mdsc", "datastore"), None, "wrong port");
    }

    #[test]
    fn storage_lists_registered_chain_ids() {
        let v = json!({"storage_infos": [{"chain_id": "mdsc"}, {"chain_id": "fdsc-0"}]});
        assert_eq!(parse_storage(&v).into_iter().collect::<Vec<_>>(), ["fdsc-0", "mdsc"]);
        assert!(parse_storage(&json!({})).is_empty());
    }
}
