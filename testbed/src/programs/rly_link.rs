//! `rly paths new/show/list` and `rly q channels` (cosmos/relayer v2.6), with the real
//! command's output formats; `transact link` itself is in `rly_handshake`.

use super::rly_config::{PathCfg, PathEnd, RlyConfig};
use crate::chain::Chains;
use crate::chain::ibc::IbcChannel;
use serde_json::json;

/// `rly paths new <src-chain-id> <dst-chain-id> <path>`: ports and version are not stored.
pub fn paths_new(cfg: &mut RlyConfig, src: &str, dst: &str, name: &str) -> Result<(), String> {
    for id in [src, dst] {
        if cfg.chain_by_id(id).is_none() {
            return Err(format!(
                "chains need to be configured before paths to them can be added: chain with ID {id} is not configured"
            ));
        }
    }
    // `Paths.Add` refuses a name it has, whatever its chains (relayer/path.go).
    if cfg.paths.iter().any(|(n, _)| n == name) {
        return Err(format!("path with name {name} already exists"));
    }
    let end = |id: &str| PathEnd { chain_id: id.to_string(), ..Default::default() };
    cfg.paths.push((name.to_string(), PathCfg { src: end(src), dst: end(dst), ..Default::default() }));
    cfg.paths.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(())
}

fn mark(b: bool) -> &'static str {
    if b { "✔" } else { "✘" }
}

/// (chains, clients, connection) status of a path.
fn status(cfg: &RlyConfig, p: &PathCfg) -> (bool, bool, bool) {
    let chains = cfg.chain_by_id(&p.src.chain_id).is_some() && cfg.chain_by_id(&p.dst.chain_id).is_some();
    let clients = !p.src.client_id.is_empty() && !p.dst.client_id.is_empty();
    let conn = !p.src.connection_id.is_empty() && !p.dst.connection_id.is_empty();
    (chains, clients, conn)
}

/// `rly paths show <path> [--json]` (`relayer/path.go PrintString`).
pub fn paths_show(cfg: &RlyConfig, name: &str, as_json: bool) -> Result<String, String> {
    let p = cfg
        .paths
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p)
        .ok_or_else(|| format!("path with name {name} does not exist"))?;
    let (chains, clients, conn) = status(cfg, p);
    if as_json {
        let end = |e: &PathEnd| {
            let mut m = serde_json::Map::new();
            m.insert("chain-id".into(), json!(e.chain_id));
            if !e.client_id.is_empty() {
                m.insert("client-id".into(), json!(e.client_id));
            }
            if !e.connection_id.is_empty() {
                m.insert("connection-id".into(), json!(e.connection_id));
            }
            serde_json::Value::Object(m)
        };
        let v = json!({"chains": {"src": end(&p.src), "dst": end(&p.dst),
            "src-channel-filter": {"rule": p.rule, "channel-list": p.channel_list}},
            "status": {"chains": chains, "clients": clients, "connection": conn}});
        return Ok(format!("{v}\n"));
    }
    Ok(format!(
        "Path \"{name}\":\n  SRC({})\n    ClientID:     {}\n    ConnectionID: {}\n  DST({})\n    ClientID:     {}\n    ConnectionID: {}\n  STATUS:\n    Chains:       {}\n    Clients:      {}\n    Connection:   {}\n",
        p.src.chain_id,
        p.src.client_id,
        p.src.connection_id,
        p.dst.chain_id,
        p.dst.client_id,
        p.dst.connection_id,
        mark(chains),
        mark(clients),
        mark(conn)
    ))
}

/// `rly paths list`.
pub fn paths_list(cfg: &RlyConfig) -> String {
    let mut out = String::new();
    for (i, (name, p)) in cfg.paths.iter().enumerate() {
        let (chains, clients, conn) = status(cfg, p);
        out.push_str(&format!(
            "{:2}: {:<20} -> chns({}) clnts({}) conn({}) ({}<>{})\n",
            i + 1,
            name,
            mark(chains),
            mark(clients),
            mark(conn),
            p.src.chain_id,
            p.dst.chain_id
        ));
    }
    out
}

/// One `rly q channels` line: the extended-info map re-marshalled by Go, so keys are sorted
/// (`cmd/query.go printChannelWithExtendedInfo`; serde_json's map is sorted too).
/// `counterparty` is the other end's (client id, connection id), empty if unknown.
pub fn channel_line(chain_id: &str, c: &IbcChannel, counterparty: (&str, &str)) -> String {
    let v = json!({
        "chain_id": chain_id,
        "channel_id": c.channel_id,
        "client_id": c.client_id,
        "connection_hops": [c.connection_id],
        "counterparty": {
            "chain_id": c.counterparty_chain_id,
            "channel_id": c.counterparty_channel_id,
            "client_id": counterparty.0,
            "connection_id": counterparty.1,
            "port_id": c.counterparty_port_id,
        },
        "ordering": c.ordering,
        "port_id": c.port_id,
        "state": c.state.as_proto_name(),
        "upgrade_sequence": "0",
        "version": c.version,
    });
    format!("{v}\n")
}

/// `rly q channels <chain>`: every channel end of the chain, one line each, with the
/// counterparty's client and connection looked up on its chain.
pub fn q_channels(chains: &Chains, chain_id: &str) -> Option<String> {
    let node = chains.serving(chain_id)?;
    let mut out = String::new();
    for c in node.channels() {
        let other = chains.serving(&c.counterparty_chain_id).and_then(|n| {
            n.channels()
                .into_iter()
                .find(|o| o.channel_id == c.counterparty_channel_id && o.port_id == c.counterparty_port_id)
        });
        let (client, conn) = other.map(|o| (o.client_id, o.connection_id)).unwrap_or_default();
        out.push_str(&channel_line(chain_id, &c, (&client, &conn)));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ibc::ChannelState;

    #[test]
    fn q_channels_line_has_sorted_keys_and_counterparty_chain() {
        let c = IbcChannel {
            port_id: "gateway".into(),
            channel_id: "channel-0".into(),
            state: ChannelState::Open,
            ordering: "ORDER_UNORDERED",
            counterparty_port_id: "metastore".into(),
            counterparty_channel_id: "channel-0".into(),
            connection_id: "connection-0".into(),
            version: "cryptomeria-1".into(),
            client_id: "07-tendermint-0".into(),
            counterparty_chain_id: "mdsc".into(),
        };
        assert_eq!(
            channel_line("gwc", &c, ("07-tendermint-0", "connection-0")),
            "{\"chain_id\":\"gwc\",\"channel_id\":\"channel-0\",\"client_id\":\"07-tendermint-0\",\"connection_hops\":[\"connection-0\"],\"counterparty\":{\"chain_id\":\"mdsc\",\"channel_id\":\"channel-0\",\"client_id\":\"07-tendermint-0\",\"connection_id\":\"connection-0\",\"port_id\":\"metastore\"},\"ordering\":\"ORDER_UNORDERED\",\"port_id\":\"gateway\",\"state\":\"STATE_OPEN\",\"upgrade_sequence\":\"0\",\"version\":\"cryptomeria-1\"}\n"
        );
    }

    #[test]
    fn paths_new_show_list() {
        let mut cfg = RlyConfig::default();
        assert!(
            paths_new(&mut cfg, "gwc", "mdsc", "p")
                .unwrap_err()
                .contains("chain with ID gwc is not configured")
        );
        assert_eq!(paths_show(&cfg, "p", false).unwrap_err(), "path with name p does not exist");
        assert_eq!(paths_list(&cfg), "");
    }
}
