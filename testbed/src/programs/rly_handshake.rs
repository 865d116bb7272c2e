//! `rly transact link` as cosmos/relayer v2.6 runs it, block by block: a client on each chain
//! (one tx per chain), then the connection handshake (ConnOpenInit on the source, Try on the
//! destination, Ack on the source, Confirm on the destination) and the channel handshake in
//! the same four steps. Every step is a real, signed tx (from the chain's signer: the relayer
//! key, or its feegranted grantees, see `rly_signer`), included in a
//! block of its chain, that first updates the chain's client of the counterparty to the
//! header that proves the previous step — so a step waits for the counterparty's next block
//! and then for its own inclusion, and at 1 s blocks a link takes a real link's ~10-20 s.
//! An unfunded or unrestored key fails as on a real chain, and two links racing on one key
//! hit an account-sequence mismatch.
//!
//! ```text
//!   src: CreateClient ─ ConnOpenInit ───────── ConnOpenAck ───────── ChanOpenInit ───────── ChanOpenAck
//!   dst: CreateClient ─────────────── ConnOpenTry ───────── ConnOpenConfirm ───── ChanOpenTry ───── ChanOpenConfirm
//! ```

use super::rly_config::{ChainCfg, PathEnd};
use super::rly_relay::End;
use super::rly_signer::Signer;
use crate::chain::coins::Coin;
use crate::chain::ibc::{ChannelState, IbcChannel, next_channel_id};
use crate::chain::ibc_handshake::step_msg;
use crate::chain::ledger::Ledger;
use crate::chain::packets::{ClientInfo, ConnectionInfo, ConsensusState};
use crate::chain::tx_codec::UnsignedTx;
use crate::chain::{ChainNode, Chains};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

/// Gas limit of each handshake tx: the simulated message needs far less; the fee it pays
/// is `gas × gas-prices` as the relayer computes it (`cosmos/tx.go` CalculateGas path).
const LINK_GAS: u64 = 200_000;
/// How long a step waits for its tx to commit, or for the block that proves it (rly's
/// `--timeout` default, 10s).
const TX_TIMEOUT: Duration = Duration::from_secs(10);

/// Link faults a test arms through the control handle; shared by every relayer pod so they
/// outlive pod recreation.
#[derive(Debug, Default)]
pub struct LinkFaults {
    /// The next N links fail before creating anything.
    fail_next: AtomicU32,
    /// The next N links exit 0 with the channel handshake left unfinished.
    stall_next: AtomicU32,
    /// The next N links stop after ChanOpenAck (the source end OPEN, the destination's
    /// TRYOPEN) and hang there until their process is killed, as a link does whose relayer pod
    /// is deleted between ChanOpenAck and ChanOpenConfirm.
    cut_after_ack: AtomicU32,
    /// `transact link` processes running now, and the most that ever ran at once.
    running: AtomicU32,
    most_running: AtomicU32,
}

/// One running `transact link`, counted until its process ends (or is killed).
pub struct RunningLink<'a>(&'a LinkFaults);

impl Drop for RunningLink<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, SeqCst);
    }
}

impl LinkFaults {
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, SeqCst);
    }

    pub fn stall_next(&self, n: u32) {
        self.stall_next.store(n, SeqCst);
    }

    pub fn cut_after_ack(&self, n: u32) {
        self.cut_after_ack.store(n, SeqCst);
    }

    /// Counts a link as running until the returned guard drops.
    pub fn running(&self) -> RunningLink<'_> {
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.most_running.fetch_max(now, SeqCst);
        RunningLink(self)
    }

    /// The most `transact link` processes that ever ran at once (all relayer pods).
    pub fn most_running(&self) -> u32 {
        self.most_running.load(SeqCst)
    }

    fn take(counter: &AtomicU32) -> bool {
        counter.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}

/// The parts of `transact link` that need the chains.
pub struct LinkEnds<'a> {
    pub src: (&'a ChainCfg, Signer),
    pub dst: (&'a ChainCfg, Signer),
    pub src_port: &'a str,
    pub dst_port: &'a str,
    pub version: &'a str,
}

/// One end of the link while it is being built: its chain, signer and ids. The ids are empty
/// until the step that creates them is applied: ibc-go numbers clients, connections and
/// channels each from its own sequence when the creating message executes, so links running
/// at once never take the same id (and a handshake cut short leaves the sequences apart).
struct Side<'a> {
    node: ChainNode,
    cfg: &'a ChainCfg,
    signer: &'a Signer,
    end: Mutex<PathEnd>,
    port: &'a str,
    channel_id: Mutex<String>,
}

impl Side<'_> {
    fn new<'a>(node: ChainNode, cfg: &'a ChainCfg, signer: &'a Signer, port: &'a str) -> Side<'a> {
        let end = PathEnd { chain_id: cfg.chain_id.clone(), ..Default::default() };
        Side { node, cfg, signer, end: Mutex::new(end), port, channel_id: Mutex::default() }
    }

    fn end(&self) -> PathEnd {
        self.end.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn channel_id(&self) -> String {
        self.channel_id.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Submits the step's tx and waits for its inclusion; returns the height it landed in.
    /// `counterparty` names the other chain in the memo: two links' txs never share a hash.
    async fn submit(&self, step: &str, counterparty: &str) -> Result<u64, String> {
        let denom = self.cfg.fee_denom().to_string();
        let price: f64 = self.cfg.gas_prices.trim_end_matches(denom.as_str()).parse().unwrap_or(0.0);
        let fee = (LINK_GAS as f64 * price).ceil() as u128;
        let (node, chain_id) = (&self.node, &self.cfg.chain_id);
        let (key, granter) = self.signer.next();
        let account = node
            .account(&key.address)
            .ok_or_else(|| format!("account {} not found on chain {chain_id}", key.address))?;
        let msg = step_msg(step, &key.address).ok_or_else(|| format!("unknown handshake step {step}"))?;
        let mut tx = UnsignedTx::new(vec![msg], Coin::new(fee, &denom), LINK_GAS);
        if let Some(g) = &granter {
            tx = tx.with_granter(g);
        }
        tx.memo = format!("rly transact link {chain_id} <> {counterparty}: {step}");
        let bytes = tx.sign(&key, chain_id, account.number, account.sequence);
        let outcome = node.check_tx(&bytes).map_err(|e| e.to_string())?;
        if outcome.result.code != 0 {
            return Err(outcome.result.log);
        }
        match node.wait_for_tx(&outcome.hash, TX_TIMEOUT).await {
            Some(tx) if tx.result().code == 0 => Ok(tx.height()),
            Some(tx) => Err(tx.result().log.clone()),
            None => Err(format!("timed out waiting for tx on chain {chain_id}")),
        }
    }

    /// The next block after `height` on this chain: its header commits the state a step left
    /// at `height`, so it is what the counterparty's client must be updated to.
    async fn proof_header(&self, height: u64) -> Result<(u64, ConsensusState), String> {
        let next = height + 1;
        if tokio::time::timeout(TX_TIMEOUT, self.node.wait_for_height(next)).await.is_err() {
            return Err(format!("timed out waiting for block {next} on chain {}", self.cfg.chain_id));
        }
        let block =
            self.node.block(next).ok_or_else(|| format!("no block {next} on {}", self.cfg.chain_id))?;
        Ok((next, ConsensusState::of(&block.header)))
    }

    /// `MsgUpdateClient` (bundled with the step's message): this chain's client of the
    /// counterparty learns the header that proves the counterparty's last step.
    fn update_client(&self, proof: (u64, ConsensusState)) -> Result<(), String> {
        let now = self.node.latest_block().map_or_else(jiff::Timestamp::now, |b| b.header.time);
        let client_id = self.end().client_id;
        let updated = self.node.update_client(&client_id, |c| c.update(proof.0, proof.1, now));
        match updated {
            Some(true) => Ok(()),
            Some(false) => Err(format!("client {client_id} is not active")),
            None => Err(format!("client {client_id} not found")),
        }
    }

    /// One handshake step on this chain: update the client to `proof`, submit, and apply
    /// `change` once included. Returns the inclusion height.
    async fn step(
        &self,
        name: &str,
        other: &Side<'_>,
        proof: (u64, ConsensusState),
        change: impl FnOnce(&ChainNode),
    ) -> Result<u64, String> {
        let height = self.submit(name, &other.cfg.chain_id).await?;
        self.update_client(proof)?;
        change(&self.node);
        Ok(height)
    }

    fn channel(
        &self,
        other: &Side<'_>,
        state: ChannelState,
        counterparty_channel: &str,
        version: &str,
    ) -> IbcChannel {
        let end = self.end();
        IbcChannel {
            port_id: self.port.to_string(),
            channel_id: self.channel_id(),
            state,
            ordering: "ORDER_UNORDERED",
            counterparty_port_id: other.port.to_string(),
            counterparty_channel_id: counterparty_channel.to_string(),
            connection_id: end.connection_id,
            version: version.to_string(),
            client_id: end.client_id,
            counterparty_chain_id: other.cfg.chain_id.clone(),
        }
    }

    /// Writes this end's channel; ChanOpenInit/Try (no id yet) take the chain's next id.
    fn put_channel(&self, other: &Side<'_>, state: ChannelState, counterparty_channel: &str, version: &str) {
        let channel = self.channel(other, state, counterparty_channel, version);
        if !channel.channel_id.is_empty() {
            return self.node.upsert_channel(channel);
        }
        let id = take_id(&self.node, |l| {
            let id = next_channel_id(l.channels());
            l.channels_mut().push(IbcChannel { channel_id: id.clone(), ..channel.clone() });
            id
        });
        *self.channel_id.lock().unwrap_or_else(|e| e.into_inner()) = id;
    }

    /// Writes this end's connection; ConnOpenInit/Try (no id yet) take the chain's next id.
    fn set_connection(&self, other: &Side<'_>, counterparty_connection: &str) {
        let mine = self.end();
        let conn = ConnectionInfo {
            client_id: mine.client_id,
            counterparty_client_id: other.end().client_id,
            counterparty_connection_id: counterparty_connection.to_string(),
        };
        let id = take_id(&self.node, |l| {
            let id = match mine.connection_id.as_str() {
                "" => format!("connection-{}", l.packets().connections.len()),
                id => id.to_string(),
            };
            l.packets_mut().connections.insert(id.clone(), conn.clone());
            id
        });
        self.end.lock().unwrap_or_else(|e| e.into_inner()).connection_id = id;
    }
}

/// Runs `write` on the chain's state (as `update_state`, atomically) and answers the id it
/// took from a sequence in the committed state, so no other link can take the same one.
fn take_id(node: &ChainNode, write: impl Fn(&mut Ledger) -> String) -> String {
    let taken = Mutex::new(None);
    node.update_state(|l| {
        let id = write(l);
        taken.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(id);
    });
    taken.into_inner().unwrap_or_else(|e| e.into_inner()).unwrap_or_default()
}

fn log(msg: &str, extra: &str) -> String {
    format!("{{\"lvl\":\"info\",\"msg\":\"{msg}\"{extra}}}\n")
}

/// Runs the handshake. Returns the (src, dst) path ends with their new client and connection
/// ids, and the stderr log lines.
pub async fn link(
    chains: &Chains,
    faults: &LinkFaults,
    ends: LinkEnds<'_>,
) -> Result<(PathEnd, PathEnd, String), String> {
    let (src_cfg, src_signer) = (ends.src.0, &ends.src.1);
    let (dst_cfg, dst_signer) = (ends.dst.0, &ends.dst.1);
    let node = |c: &ChainCfg| {
        chains
            .serving(&c.chain_id)
            .ok_or_else(|| format!("error creating clients: chain {} is unreachable", c.chain_id))
    };
    let (src_node, dst_node) = (node(src_cfg)?, node(dst_cfg)?);
    let existing = src_node.channels().into_iter().find(|ch| {
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
    let src = Side::new(src_node, src_cfg, src_signer, ends.src_port);
    let dst = Side::new(dst_node, dst_cfg, dst_signer, ends.dst_port);

    let mut lines = String::new();
    create_clients(&src, &dst).await.map_err(|e| format!("error creating clients: {e}"))?;
    lines.push_str(&log("Clients created", &format!(",\"src_client_id\":\"{}\",\"src_chain_id\":\"{}\",\"dst_client_id\":\"{}\",\"dst_chain_id\":\"{}\"", src.end().client_id, src.cfg.chain_id, dst.end().client_id, dst.cfg.chain_id)));
    lines.push_str(&log("Starting event processor for connection handshake", ""));
    let last = connect(&src, &dst).await.map_err(|e| format!("error creating connections: {e}"))?;
    lines.push_str(&log("Found termination condition for connection handshake", ""));
    lines.push_str(&log("Starting event processor for channel handshake", ""));
    let stall = LinkFaults::take(&faults.stall_next);
    let cut = !stall && LinkFaults::take(&faults.cut_after_ack);
    open_channel(&src, &dst, last, ends.version, stall, cut)
        .await
        .map_err(|e| format!("error creating channels: {e}"))?;
    if stall {
        // As the real rly does when the handshake times out: the channel stays in INIT on
        // the source, nothing on the destination, and the command still exits 0.
        let warn =
            "{\"lvl\":\"warn\",\"msg\":\"Channel handshake termination condition not met; timed out\"}\n";
        lines.push_str(warn);
        return Ok((src.end(), dst.end(), lines));
    }
    lines.push_str(&log(
        "Successfully created new channel",
        &format!(
            ",\"chain_id\":\"{}\",\"channel_id\":\"{}\",\"port_id\":\"{}\"",
            src.cfg.chain_id,
            src.channel_id(),
            src.port
        ),
    ));
    lines.push_str(&log("Found termination condition for channel handshake", ""));
    Ok((src.end(), dst.end(), lines))
}

/// `MsgCreateClient` on both chains at once, each from the other's latest header.
async fn create_clients(src: &Side<'_>, dst: &Side<'_>) -> Result<(), String> {
    let header = |s: &Side<'_>| {
        s.node
            .latest_block()
            .map(|b| (b.header.height, ConsensusState::of(&b.header)))
            .ok_or("failed to query latest heights")
    };
    let (src_header, dst_header) = (header(src)?, header(dst)?);
    let (a, b) = tokio::join!(
        src.submit("MsgCreateClient", &dst.cfg.chain_id),
        dst.submit("MsgCreateClient", &src.cfg.chain_id)
    );
    a?;
    b?;
    for (me, other, (height, state)) in [(src, dst, dst_header), (dst, src, src_header)] {
        let client = ClientInfo::new(&other.cfg.chain_id, height, state);
        let id = take_id(&me.node, |l| {
            let id = format!("07-tendermint-{}", l.packets().clients.len());
            l.packets_mut().clients.insert(id.clone(), client.clone());
            id
        });
        me.end.lock().unwrap_or_else(|e| e.into_inner()).client_id = id;
    }
    Ok(())
}

/// The four connection steps; returns the dst height of the last (ConnOpenConfirm).
async fn connect(src: &Side<'_>, dst: &Side<'_>) -> Result<u64, String> {
    // ConnOpenInit proves nothing yet; it still refreshes the client, as rly's processor does.
    let init_proof = dst.proof_header(dst.node.latest_height().saturating_sub(1)).await?;
    let h = src.step("MsgConnectionOpenInit", dst, init_proof, |_| src.set_connection(dst, "")).await?;
    let h = dst
        .step("MsgConnectionOpenTry", src, src.proof_header(h).await?, |_| {
            dst.set_connection(src, &src.end().connection_id)
        })
        .await?;
    let h = src
        .step("MsgConnectionOpenAck", dst, dst.proof_header(h).await?, |_| {
            src.set_connection(dst, &dst.end().connection_id)
        })
        .await?;
    dst.step("MsgConnectionOpenConfirm", src, src.proof_header(h).await?, |_| {}).await
}

/// The four channel steps after the connection's last step at dst height `last`; with
/// `stall`, only ChanOpenInit; with `cut`, the first three, then hangs until killed.
async fn open_channel(
    src: &Side<'_>,
    dst: &Side<'_>,
    last: u64,
    version: &str,
    stall: bool,
    cut: bool,
) -> Result<(), String> {
    let h = src
        .step("MsgChannelOpenInit", dst, dst.proof_header(last).await?, |_| {
            src.put_channel(dst, ChannelState::Init, "", version)
        })
        .await?;
    if stall {
        return Ok(());
    }
    let h = dst
        .step("MsgChannelOpenTry", src, src.proof_header(h).await?, |_| {
            dst.put_channel(src, ChannelState::TryOpen, &src.channel_id(), version)
        })
        .await?;
    let h = src
        .step("MsgChannelOpenAck", dst, dst.proof_header(h).await?, |_| {
            src.put_channel(dst, ChannelState::Open, &dst.channel_id(), version)
        })
        .await?;
    if cut {
        futures::future::pending::<()>().await;
    }
    dst.step("MsgChannelOpenConfirm", src, src.proof_header(h).await?, |_| {
        dst.put_channel(src, ChannelState::Open, &src.channel_id(), version)
    })
    .await?;
    Ok(())
}

/// ChanOpenConfirm on `tryopen`'s chain for a channel whose other end (`open`) is OPEN, with
/// the client update proving the OPEN end, as `rly start`'s event processor sends it for a
/// handshake it finds unfinished. Returns the height the tx landed in.
pub async fn confirm_channel(open: (&End, &IbcChannel), tryopen: (&End, &IbcChannel)) -> Result<u64, String> {
    fn side<'a>((e, ch): (&'a End, &IbcChannel)) -> Side<'a> {
        Side {
            node: e.node.clone(),
            cfg: &e.cfg,
            signer: &e.signer,
            end: Mutex::new(e.ids.clone()),
            port: "",
            channel_id: Mutex::new(ch.channel_id.clone()),
        }
    }
    let (src, dst) = (side(open), side(tryopen));
    let proof = src.proof_header(src.node.latest_height().saturating_sub(1)).await?;
    let mut confirmed = tryopen.1.clone();
    confirmed.state = ChannelState::Open;
    dst.step("MsgChannelOpenConfirm", &src, proof, |n| n.upsert_channel(confirmed)).await
}
