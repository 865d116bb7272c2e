//! `rly paths new/show/list`, `rly q channels` and `rly transact link` (cosmos/relayer v2.6;
//! formats from `shared/reference/chain-shapes.md` §3). A link pays its fees with a real,
//! signed tx from the relayer key on each chain (so an unfunded or unrestored key fails as on
//! a real chain, and two links racing on one key hit an account-sequence mismatch), then
//! opens client, connection and channel on both chains.

use super::rly_config::{ChainCfg, PathCfg, PathEnd, RlyConfig};
use crate::chain::coins::Coin;
use crate::chain::ibc::{ChannelState, IbcChannel, next_channel_id};
use crate::chain::keys::TestKey;
use crate::chain::msgs::msg_send;
use crate::chain::packets::{ClientInfo, ConnectionInfo, ConsensusState};
use crate::chain::tx_codec::UnsignedTx;
use crate::chain::{ChainNode, Chains};
use serde_json::json;
use std::time::Duration;

/// Gas limit of each handshake tx: the simulated `MsgSend` needs far less; the fee it pays
/// is `gas × gas-prices` as the relayer computes it (`cosmos/tx.go` CalculateGas path).
const LINK_GAS: u64 = 200_000;
/// How long a link waits for its fee tx to commit (rly's `--timeout` default, 10s).
const TX_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Pays one fee tx from `key` on `node` and waits for it to commit.
/// `counterparty` goes into the memo: a real link's txs differ by their MsgCreateClient
/// contents, so two links on one chain never share a tx hash.
async fn pay_fee(
    node: &ChainNode,
    chain: &ChainCfg,
    key: &TestKey,
    counterparty: &str,
) -> Result<(), String> {
    let denom = chain.fee_denom().to_string();
    let price: f64 = chain.gas_prices.trim_end_matches(denom.as_str()).parse().unwrap_or(0.0);
    let fee = (LINK_GAS as f64 * price).ceil() as u128;
    let account = node
        .account(&key.address)
        .ok_or_else(|| format!("account {} not found on chain {}", key.address, chain.chain_id))?;
    let mut tx = UnsignedTx::new(
        vec![msg_send(&key.address, &key.address, &[Coin::new(1, &denom)])],
        Coin::new(fee, &denom),
        LINK_GAS,
    );
    tx.memo = format!("rly transact link {} <> {counterparty}", chain.chain_id);
    let bytes = tx.sign(key, &chain.chain_id, account.number, account.sequence);
    let outcome = node.check_tx(&bytes).map_err(|e| e.to_string())?;
    if outcome.result.code != 0 {
        return Err(outcome.result.log);
    }
    match node.wait_for_tx(&outcome.hash, TX_TIMEOUT).await {
        Some(tx) if tx.result().code == 0 => Ok(()),
        Some(tx) => Err(tx.result().log.clone()),
        None => Err(format!("timed out waiting for tx on chain {}", chain.chain_id)),
    }
}

/// The parts of `transact link` that need the chains.
pub struct LinkEnds<'a> {
    pub src: (&'a ChainCfg, TestKey),
    pub dst: (&'a ChainCfg, TestKey),
    pub src_port: &'a str,
    pub dst_port: &'a str,
    pub version: &'a str,
}

/// Runs the handshake: fees on both chains, then client/connection/channel OPEN on both.
/// Returns the (src, dst) path ends with their new client and connection ids, and the
/// stderr log lines.
/// Link faults a test arms through the control handle; shared by every relayer pod so they
/// outlive pod recreation.
#[derive(Debug, Default)]
pub struct LinkFaults {
    /// The next N links fail before creating anything.
    fail_next: std::sync::atomic::AtomicU32,
    /// The next N links exit 0 with the channel handshake left unfinished.
    stall_next: std::sync::atomic::AtomicU32,
}

impl LinkFaults {
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn stall_next(&self, n: u32) {
        self.stall_next.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    fn take(counter: &std::sync::atomic::AtomicU32) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        counter.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}

pub async fn link(
    chains: &Chains,
    faults: &LinkFaults,
    ends: LinkEnds<'_>,
) -> Result<(PathEnd, PathEnd, String), String> {
    let (src_cfg, src_key) = &ends.src;
    let (dst_cfg, dst_key) = &ends.dst;
    let node = |c: &ChainCfg| {
        chains
            .serving(&c.chain_id)
            .ok_or_else(|| format!("error creating clients: chain {} is unreachable", c.chain_id))
    };
    let (src, dst) = (node(src_cfg)?, node(dst_cfg)?);
    let existing = src.channels().into_iter().find(|ch| {
        ch.port_id == ends.src_port
            && ch.counterparty_chain_id == dst_cfg.chain_id
            && ch.state == ChannelState::Open
    });
    if let Some(ch) = existing {
        return Err(format!(
            "channel {{{}}} with port {{{}}} already exists on chain {{{}}}",
            ch.channel_id, ends.src_port, src_cfg.chain_id
        ));
    }
    if LinkFaults::take(&faults.fail_next) {
        return Err(format!(
            "error creating clients: failed to query latest heights: post failed: Post \"{}\": context deadline exceeded",
            src_cfg.rpc_addr
        ));
    }
    let (a, b) = tokio::join!(
        pay_fee(&src, src_cfg, src_key, &dst_cfg.chain_id),
        pay_fee(&dst, dst_cfg, dst_key, &src_cfg.chain_id)
    );
    a.map_err(|e| format!("error creating clients: {e}"))?;
    b.map_err(|e| format!("error creating clients: {e}"))?;
    let (src_chans, dst_chans) = (src.channels(), dst.channels());
    let (src_ch, dst_ch) = (next_channel_id(&src_chans), next_channel_id(&dst_chans));
    let suffix = |ch: &str| ch.trim_start_matches("channel-").to_string();
    let (sn, dn) = (suffix(&src_ch), suffix(&dst_ch));
    let src_end = PathEnd {
        chain_id: src_cfg.chain_id.clone(),
        client_id: format!("07-tendermint-{sn}"),
        connection_id: format!("connection-{sn}"),
    };
    let dst_end = PathEnd {
        chain_id: dst_cfg.chain_id.clone(),
        client_id: format!("07-tendermint-{dn}"),
        connection_id: format!("connection-{dn}"),
    };
    let end = |me: &PathEnd, port: &str, ch: &str, other: &PathEnd, oport: &str, och: &str| IbcChannel {
        port_id: port.to_string(),
        channel_id: ch.to_string(),
        state: ChannelState::Open,
        ordering: "ORDER_UNORDERED",
        counterparty_port_id: oport.to_string(),
        counterparty_channel_id: och.to_string(),
        connection_id: me.connection_id.clone(),
        version: ends.version.to_string(),
        client_id: me.client_id.clone(),
        counterparty_chain_id: other.chain_id.clone(),
    };
    let log = |msg: &str, extra: &str| format!("{{\"lvl\":\"info\",\"msg\":\"{msg}\"{extra}}}\n");
    if LinkFaults::take(&faults.stall_next) {
        // As the real rly does when the handshake times out: the channel stays in INIT on
        // the source, nothing on the destination, and the command still exits 0.
        src.upsert_channel(IbcChannel {
            state: ChannelState::Init,
            ..end(&src_end, ends.src_port, &src_ch, &dst_end, ends.dst_port, "")
        });
        let warn =
            "{\"lvl\":\"warn\",\"msg\":\"Channel handshake termination condition not met; timed out\"}\n";
        return Ok((
            src_end,
            dst_end,
            format!("{}{warn}", log("Starting event processor for channel handshake", "")),
        ));
    }
    // Each client starts from the latest header of the chain it tracks.
    let header = |node: &ChainNode| node.latest_block().map(|b| b.header.clone());
    let (Some(src_header), Some(dst_header)) = (header(&src), header(&dst)) else {
        return Err("Error: error creating clients: failed to query latest heights".into());
    };
    src.upsert_channel(end(&src_end, ends.src_port, &src_ch, &dst_end, ends.dst_port, &dst_ch));
    dst.upsert_channel(end(&dst_end, ends.dst_port, &dst_ch, &src_end, ends.src_port, &src_ch));
    for (node, me, other, header) in
        [(&src, &src_end, &dst_end, &dst_header), (&dst, &dst_end, &src_end, &src_header)]
    {
        node.update_state(|l| {
            let store = l.packets_mut();
            let client = ClientInfo::new(&other.chain_id, header.height, ConsensusState::of(header));
            store.clients.insert(me.client_id.clone(), client);
            store.connections.insert(
                me.connection_id.clone(),
                ConnectionInfo {
                    client_id: me.client_id.clone(),
                    counterparty_client_id: other.client_id.clone(),
                    counterparty_connection_id: other.connection_id.clone(),
                },
            );
        });
    }
    let mut lines = String::new();
    lines.push_str(&log("Clients created", &format!(",\"src_client_id\":\"{}\",\"src_chain_id\":\"{}\",\"dst_client_id\":\"{}\",\"dst_chain_id\":\"{}\"", src_end.client_id, src_end.chain_id, dst_end.client_id, dst_end.chain_id)));
    lines.push_str(&log("Starting event processor for connection handshake", ""));
    lines.push_str(&log("Found termination condition for connection handshake", ""));
    lines.push_str(&log("Starting event processor for channel handshake", ""));
    lines.push_str(&log(
        "Successfully created new channel",
        &format!(
            ",\"chain_id\":\"{}\",\"channel_id\":\"{src_ch}\",\"port_id\":\"{}\"",
            src_end.chain_id, ends.src_port
        ),
    ));
    lines.push_str(&log("Found termination condition for channel handshake", ""));
    Ok((src_end, dst_end, lines))
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
