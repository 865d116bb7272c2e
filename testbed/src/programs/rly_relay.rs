//! What `rly start` relays: for exactly the paths of its config whose client and connection
//! ids match channel ends on both chains, every packet committed on one end and not yet
//! received on the other (a `MsgRecvPacket` tx signed as `rly_signer` says), and every
//! acknowledgement written on the destination whose commitment is still on the source (a
//! signed `MsgAcknowledgement`). A path with empty or wrong ids matches no channel, so it
//! relays nothing. Tests pause relaying or drop acknowledgements through [`RelayControls`].

use super::rly_config::{ChainCfg, PathEnd, RlyConfig};
use super::rly_signer::Signer;
use crate::chain::client_update;
use crate::chain::coins::Coin;
use crate::chain::ibc::{ChannelState, IbcChannel};
use crate::chain::packets::{self, Height, MsgAcknowledgement, MsgRecvPacket, any_of};
use crate::chain::tx_codec::{UnsignedTx, hash_hex};
use crate::chain::{ChainNode, Chains};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// The key a tx is signed with and the fee granter it names.
type Signed = (crate::chain::keys::TestKey, Option<String>);

/// Gas per relayed message (rly estimates by simulation; a fixed ceiling here).
const GAS_PER_MSG: u64 = 150_000;
/// How long a relay tx may take to commit before rly gives up on it (its `timeout`).
const TX_TIMEOUT: Duration = Duration::from_secs(10);

/// Test knobs shared by every relayer pod (they outlive pod recreation).
#[derive(Debug)]
pub struct RelayControls {
    paused: watch::Sender<bool>,
    drop_next_acks: AtomicU32,
    /// Acks dropped so far: (source chain, port, channel, sequence); never relayed.
    dropped: Mutex<BTreeSet<(String, String, String, u64)>>,
    /// Chains whose RPC the relayer cannot reach: no path touching them is relayed.
    cut: Mutex<BTreeSet<String>>,
}

impl Default for RelayControls {
    fn default() -> Self {
        Self {
            paused: watch::Sender::new(false),
            drop_next_acks: AtomicU32::new(0),
            dropped: Mutex::default(),
            cut: Mutex::default(),
        }
    }
}

impl RelayControls {
    pub fn pause(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    pub fn drop_next_acks(&self, n: u32) {
        self.drop_next_acks.store(n, Ordering::SeqCst);
    }

    /// Cuts (`true`) or restores the relayer's reach to one chain's RPC.
    pub fn cut_rpc(&self, chain_id: &str, cut: bool) {
        let mut set = self.cut.lock().unwrap_or_else(|e| e.into_inner());
        if cut {
            set.insert(chain_id.to_string());
        } else {
            set.remove(chain_id);
        }
    }

    fn unreachable(&self, a: &End, b: &End) -> Option<String> {
        let set = self.cut.lock().unwrap_or_else(|e| e.into_inner());
        [a, b].into_iter().find(|e| set.contains(&e.cfg.chain_id)).map(|e| e.cfg.chain_id.clone())
    }

    fn dropped(&self, key: &(String, String, String, u64)) -> bool {
        let mut set = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        if set.contains(key) {
            return true;
        }
        let take = self
            .drop_next_acks
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if take {
            set.insert(key.clone());
        }
        take
    }
}

/// One end of a path resolved against the chain: its node, config and signer.
pub struct End {
    pub node: ChainNode,
    pub cfg: ChainCfg,
    pub signer: Signer,
    pub ids: PathEnd,
}

/// The channel pairs `(a, b)` of a path: an OPEN end on `a` on the path's client and
/// connection whose counterparty end on `b` is on the path's client and connection too.
fn channel_pairs(a: &End, b: &End) -> Vec<(IbcChannel, IbcChannel)> {
    pairs_where(a, b, |_, _| true)
}

/// The channels of a path whose handshake stopped after ChanOpenAck: an OPEN end on `a` on
/// the path's client and connection whose counterparty end on `b`, on the path's ids and facing
/// it, is still TRYOPEN.
fn half_open(a: &End, b: &End) -> Vec<(IbcChannel, IbcChannel)> {
    pairs_where(a, b, |ca, cb| {
        cb.state == ChannelState::TryOpen && cb.counterparty_channel_id == ca.channel_id
    })
}

/// OPEN ends on `a` on the path's ids, each with its counterparty end on `b` (on the path's
/// ids too) that `also` accepts.
fn pairs_where(
    a: &End,
    b: &End,
    also: impl Fn(&IbcChannel, &IbcChannel) -> bool,
) -> Vec<(IbcChannel, IbcChannel)> {
    let on = |c: &IbcChannel, ids: &PathEnd| {
        !ids.client_id.is_empty() && c.client_id == ids.client_id && c.connection_id == ids.connection_id
    };
    let b_channels = b.node.channels();
    a.node
        .channels()
        .into_iter()
        .filter(|c| {
            c.state == ChannelState::Open && on(c, &a.ids) && c.counterparty_chain_id == b.cfg.chain_id
        })
        .filter_map(|ca| {
            let cb = b_channels.iter().find(|cb| {
                cb.port_id == ca.counterparty_port_id
                    && cb.channel_id == ca.counterparty_channel_id
                    && on(cb, &b.ids)
                    && also(&ca, cb)
            })?;
            Some((ca, cb.clone()))
        })
        .collect()
}

/// rly's event processor completes a channel handshake it sees in progress on a path it
/// relays: a ChanOpenAck on `a` (its end OPEN, `b`'s TRYOPEN) makes it send ChanOpenConfirm
/// to `b`. The real rly only sees handshakes within its initial block history (20 blocks by
/// default) or while it runs; the testbed reads the channel ends and has no such bound.
async fn finish_handshakes(a: &End, b: &End, json: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for (ca, cb) in half_open(a, b) {
        match super::rly_handshake::confirm_channel((a, &ca), (b, &cb)).await {
            Ok(height) => {
                lines.push(log_line(
                    json,
                    "info",
                    "Successful transaction",
                    &[
                        ("provider_type", "cosmos"),
                        ("chain_id", &b.cfg.chain_id),
                        ("height", &height.to_string()),
                        (
                            "msg_types",
                            "[\"/ibc.core.client.v1.MsgUpdateClient\", \"/ibc.core.channel.v1.MsgChannelOpenConfirm\"]",
                        ),
                    ],
                ));
                lines.push(log_line(
                    json,
                    "info",
                    "Successfully created new channel",
                    &[
                        ("chain_id", &b.cfg.chain_id),
                        ("channel_id", &cb.channel_id),
                        ("port_id", &cb.port_id),
                        ("counterparty_chain_id", &a.cfg.chain_id),
                        ("counterparty_channel_id", &ca.channel_id),
                        ("counterparty_port_id", &ca.port_id),
                    ],
                ));
            }
            Err(e) => lines.push(log_line(
                json,
                "error",
                "Failed to send messages",
                &[("chain_id", &b.cfg.chain_id), ("error", &e)],
            )),
        }
    }
    lines
}

/// Signs `msgs` (their signer fields already `key`'s) with `key`, naming `granter` as fee
/// granter, submits them on `end`'s chain and waits for the block; returns a log line.
async fn submit(end: &End, (key, granter): Signed, msgs: Vec<cosmrs::Any>, json: bool) -> String {
    let mut types: Vec<&str> = Vec::new();
    for m in &msgs {
        if !types.contains(&m.type_url.as_str()) {
            types.push(&m.type_url);
        }
    }
    let msg_types = format!("[{}]", types.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", "));
    let n = msgs.len() as u64;
    // Hook for large packets (gateway fragments of hundreds of KiB): the real rly simulates
    // for gas, so the tx-size gas the ante handler charges beyond the per-message budget's
    // share (50,000 a message) is added.
    let bytes_len: u64 = msgs.iter().map(|m| (m.value.len() + m.type_url.len() + 8) as u64).sum();
    let size_gas = crate::chain::gas::TX_SIZE_COST_PER_BYTE * (bytes_len + 512);
    let gas = GAS_PER_MSG * n + size_gas.saturating_sub(50_000 * n);
    let denom = end.cfg.fee_denom().to_string();
    let price: f64 = end.cfg.gas_prices.trim_end_matches(denom.as_str()).parse().unwrap_or(0.0);
    let fee = Coin::new((gas as f64 * price).ceil() as u128, &denom);
    let Some(account) = end.node.account(&key.address) else {
        return log_line(
            json,
            "error",
            "Failed to send messages",
            &[("chain_id", &end.cfg.chain_id), ("error", "account not found")],
        );
    };
    let mut tx = UnsignedTx::new(msgs, fee.clone(), gas);
    if let Some(g) = &granter {
        tx = tx.with_granter(g);
    }
    let bytes = tx.sign(&key, &end.cfg.chain_id, account.number, account.sequence);
    let outcome = match end.node.check_tx(&bytes) {
        Ok(o) if o.result.code == 0 => o,
        Ok(o) => {
            return log_line(
                json,
                "error",
                "Failed to send messages",
                &[("chain_id", &end.cfg.chain_id), ("error", &o.result.log)],
            );
        }
        Err(e) => {
            return log_line(
                json,
                "error",
                "Failed to send messages",
                &[("chain_id", &end.cfg.chain_id), ("error", &e.to_string())],
            );
        }
    };
    match end.node.wait_for_tx(&outcome.hash, TX_TIMEOUT).await {
        Some(tx) if tx.result().code == 0 => log_line(
            json,
            "info",
            "Successful transaction",
            &[
                ("provider_type", "cosmos"),
                ("chain_id", &end.cfg.chain_id),
                ("gas_used", &tx.result().gas_used.to_string()),
                ("fees", &fee.to_string()),
                ("fee_payer", granter.as_deref().unwrap_or(&key.address)),
                ("height", &tx.height().to_string()),
                ("msg_types", &msg_types),
                ("tx_hash", &hash_hex(&outcome.hash)),
            ],
        ),
        Some(tx) => log_line(
            json,
            "error",
            "Error broadcasting transaction",
            &[("chain_id", &end.cfg.chain_id), ("error", &tx.result().log)],
        ),
        None => log_line(
            json,
            "error",
            "Error broadcasting transaction",
            &[("chain_id", &end.cfg.chain_id), ("error", "timed out")],
        ),
    }
}

/// A zap line with typed fields (`zap.Int` a number, `zap.String` a string).
pub fn log_values(json: bool, lvl: &str, msg: &str, fields: &[(&str, serde_json::Value)]) -> String {
    let ts = humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string();
    if json {
        let mut m = serde_json::Map::new();
        m.insert("lvl".into(), lvl.into());
        m.insert("ts".into(), ts.into());
        m.insert("msg".into(), msg.into());
        for (k, v) in fields {
            m.insert((*k).into(), v.clone());
        }
        return format!("{}\n", serde_json::Value::Object(m));
    }
    let f: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
    format!("{ts}\t{lvl}\t{msg}\t{{{}}}\n", f.join(", "))
}

/// A zap line: JSON (`--log-format json`) or the console encoder's tab-separated form; a
/// field that reads as a JSON array is one (`zap.Strings`), any other a string.
pub fn log_line(json: bool, lvl: &str, msg: &str, fields: &[(&str, &str)]) -> String {
    let typed: Vec<(&str, serde_json::Value)> = fields
        .iter()
        .map(|(k, v)| {
            let value = serde_json::from_str::<serde_json::Value>(v)
                .ok()
                .filter(serde_json::Value::is_array)
                .unwrap_or_else(|| serde_json::Value::String(v.to_string()));
            (*k, value)
        })
        .collect();
    log_values(json, lvl, msg, &typed)
}

/// rly puts a `MsgUpdateClient` before the packets of every relay tx, signed by `signer` on
/// `to`'s chain: `to`'s client `client_id` advances to `from`'s latest header. An expired or
/// frozen client refuses it, and the whole tx (its packets too) fails.
fn update_msg(client_id: &str, from: &End, signer: &str) -> Option<cosmrs::Any> {
    let block = from.node.latest_block()?;
    Some(client_update::update_msg(client_id, &block.header, signer))
}

/// The client update rly's message processor makes on its own (see [`refresh_client`]).
/// Returns whether the client took it.
pub(super) fn update_client(to: &End, client_id: &str, from: &End) -> bool {
    let Some(block) = from.node.latest_block() else { return false };
    let now = jiff::Timestamp::now();
    let state = packets::ConsensusState::of(&block.header);
    to.node.update_client(client_id, |c| c.update(block.header.height, state, now)).unwrap_or(false)
}

/// rly's message processor updates a path's client on its own once two thirds of the trusting
/// period have passed since its latest consensus state, packets or not.
fn refresh_client(host: &End, tracked: &End, json: bool) -> Option<String> {
    let client_id = &host.ids.client_id;
    let client = host.node.client(client_id)?;
    let (_, latest) = client.latest()?;
    let age = jiff::Timestamp::now().duration_since(latest.time).as_secs();
    let due = i64::try_from(client.trusting_period_secs * 2 / 3).unwrap_or(i64::MAX);
    if age <= due {
        return None;
    }
    let fields = [("chain_id", host.cfg.chain_id.as_str()), ("client_id", client_id.as_str())];
    Some(if update_client(host, client_id, tracked) {
        log_line(json, "info", "Client update threshold condition met", &fields)
    } else {
        let refused = [fields[0], fields[1], ("error", "client state is not active")];
        log_line(json, "error", "Error updating client", &refused)
    })
}

/// One pass over one direction of a path: recv packets a→b, then acks b→a.
async fn relay_direction(a: &End, b: &End, controls: &RelayControls, json: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for (ca, cb) in channel_pairs(a, b) {
        let key_a = (ca.port_id.clone(), ca.channel_id.clone());
        let key_b = (cb.port_id.clone(), cb.channel_id.clone());
        let unreceived: Vec<packets::Packet> = {
            let sent = a.node.read_state(|l| l.packets().commitments.clone());
            let received = b.node.read_state(|l| l.packets().receipts.clone());
            sent.into_iter()
                .filter(|((k, seq), _)| *k == key_a && !received.contains(&(key_b.clone(), *seq)))
                .map(|(_, (_, p))| p)
                .collect()
        };
        if !unreceived.is_empty() {
            let proof_height = Some(Height { revision_number: 0, revision_height: a.node.latest_height() });
            let signed = b.signer.next();
            let msgs = update_msg(&cb.client_id, a, &signed.0.address)
                .into_iter()
                .chain(unreceived.into_iter().map(|p| {
                    let m = MsgRecvPacket {
                        packet: Some(p),
                        proof_commitment: vec![1],
                        proof_height: proof_height.clone(),
                        signer: signed.0.address.clone(),
                    };
                    any_of(packets::MSG_RECV_PACKET, &m)
                }))
                .collect();
            lines.push(submit(b, signed, msgs, json).await);
        }
        let unacked: Vec<(Vec<u8>, packets::Packet)> = {
            let acks = b.node.read_state(|l| l.packets().acks.clone());
            let sent = a.node.read_state(|l| l.packets().commitments.clone());
            acks.into_iter()
                .filter(|((k, seq), _)| *k == key_b && sent.contains_key(&(key_a.clone(), *seq)))
                .filter(|((_, seq), _)| {
                    !controls.dropped(&(a.cfg.chain_id.clone(), key_a.0.clone(), key_a.1.clone(), *seq))
                })
                .map(|(_, v)| v)
                .collect()
        };
        if !unacked.is_empty() {
            let proof_height = Some(Height { revision_number: 0, revision_height: b.node.latest_height() });
            let signed = a.signer.next();
            let msgs = update_msg(&ca.client_id, b, &signed.0.address)
                .into_iter()
                .chain(unacked.into_iter().map(|(ack, p)| {
                    let m = MsgAcknowledgement {
                        packet: Some(p),
                        acknowledgement: ack,
                        proof_acked: vec![1],
                        proof_height: proof_height.clone(),
                        signer: signed.0.address.clone(),
                    };
                    any_of(packets::MSG_ACKNOWLEDGEMENT, &m)
                }))
                .collect();
            lines.push(submit(a, signed, msgs, json).await);
        }
    }
    lines
}

/// The paths of `cfg` (all, or those named) resolved to their two ends. The ends on one chain
/// share its signer, so grantees take turns across paths as they do in one rly provider.
pub fn resolve_paths(
    chains: &Chains,
    cfg: &RlyConfig,
    names: &[String],
    signer_of: impl Fn(&ChainCfg) -> Option<Signer>,
) -> Vec<(String, End, End)> {
    let mut out = Vec::new();
    let signers: std::collections::HashMap<&str, Signer> =
        cfg.chains.iter().filter_map(|(_, c)| Some((c.chain_id.as_str(), signer_of(c)?))).collect();
    for (name, p) in &cfg.paths {
        if !names.is_empty() && !names.contains(name) {
            continue;
        }
        let end = |ids: &PathEnd| {
            let (_, cfg) = cfg.chain_by_id(&ids.chain_id)?;
            Some(End {
                node: chains.serving(&ids.chain_id)?,
                signer: signers.get(ids.chain_id.as_str())?.clone(),
                cfg: cfg.clone(),
                ids: ids.clone(),
            })
        };
        if let (Some(a), Some(b)) = (end(&p.src), end(&p.dst)) {
            out.push((name.clone(), a, b));
        }
    }
    out
}

/// Relays until cancelled, one pass per new block on any chain of the paths; each pass's
/// log lines go to `log`.
pub async fn run(
    paths: Vec<(String, End, End)>,
    controls: &RelayControls,
    json: bool,
    log: tokio::sync::mpsc::UnboundedSender<String>,
) {
    let mut heights: Vec<watch::Receiver<u64>> =
        paths.iter().flat_map(|(_, a, b)| [a.node.subscribe_heights(), b.node.subscribe_heights()]).collect();
    let mut paused = controls.paused.subscribe();
    loop {
        let _ = paused.wait_for(|p| !*p).await;
        for (_, a, b) in &paths {
            if let Some(chain) = controls.unreachable(a, b) {
                let rpc =
                    [a, b].into_iter().find(|e| e.cfg.chain_id == chain).map(|e| e.cfg.rpc_addr.clone());
                let error = format!("dial tcp {}: connect: connection refused", rpc.unwrap_or_default());
                let fields = [("chain_id", chain.as_str()), ("error", error.as_str())];
                let _ = log.send(log_line(json, "error", "Failed to query latest height", &fields));
                continue;
            }
            for (x, y) in [(a, b), (b, a)] {
                for line in finish_handshakes(x, y, json).await {
                    let _ = log.send(line);
                }
                for line in relay_direction(x, y, controls, json).await {
                    let _ = log.send(line);
                }
                if let Some(line) = refresh_client(y, x, json) {
                    let _ = log.send(line);
                }
            }
        }
        if heights.is_empty() {
            futures::future::pending::<()>().await;
        }
        let changed = heights.iter_mut().map(|h| Box::pin(h.changed()));
        let _ = futures::future::select_all(changed).await;
    }
}
