//! `utils.observe.packets`: every packet gwc's gateway channels sent in a height range, followed
//! on both chains from the chains' own events — the send on gwc, the receive on the
//! counterparty (and who relayed it, and any redundant relay), the ack or timeout back on gwc —
//! timed by the same commit clock as tx latency (commit time of H = header time of H+1).
//!
//! Cost grows with blocks, not packets: gwc is read from `fromHeight` until every packet sent
//! in the range is acked or timed out (or its latest block), each counterparty from the block
//! before the first send until the time of gwc's last block read (or its latest block); see
//! `scan`.

mod account;
mod events;
mod follow;
mod scan;

pub use follow::HopWatch;

use crate::chain::{ChainClient, ibc_query};
use crate::chart::GATEWAY_PORT;
use crate::error_code::{ErrorCode, Failure};
use crate::jobs::{Step, StepCtx, StepOutcome};
use crate::utils::ChainTarget;
use crate::utils::observe::upstream_failure;
use account::{Now, Record, Timing};
use events::Kind;
use futures::FutureExt as _;
use futures::future::BoxFuture;
use scan::Scanner;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Blocks read per step of a follow, between progress lines.
const CHUNK: u64 = 100;

pub const DEFINITION: &str = "sendTime/recvTime/ackTime are commit times: the header time of the block after the \
     including one; a hop in blocks counts the ending chain's blocks after its last one whose header time is not \
     after the header time of the block the hop began in";

/// The job's one step.
pub struct PacketsStep {
    pub client: ChainClient,
    pub gwc: ChainTarget,
    /// Where each counterparty chain is reached.
    pub targets: BTreeMap<String, ChainTarget>,
    pub from: u64,
    pub to: u64,
    pub chain_id: Option<String>,
    pub session_id: Option<String>,
}

/// A gateway channel on gwc and the end it faces.
#[derive(Debug, Clone)]
struct Route {
    chain_id: String,
    dst_port: String,
    dst_channel: String,
}

type Key = (String, u64);

impl PacketsStep {
    async fn routes(&self) -> Result<BTreeMap<String, Route>, Failure> {
        let ends = ibc_query::channels(&self.client, &self.gwc.api)
            .await
            .map_err(|e| upstream_failure("failed to list gwc's channels", &e))?;
        let mut routes = BTreeMap::new();
        for end in ends.into_iter().filter(|e| e.port_id == GATEWAY_PORT) {
            let chain =
                ibc_query::counterparty_chain(&self.client, &self.gwc.api, &end.port_id, &end.channel_id)
                    .await
                    .map_err(|e| upstream_failure("failed to read a gateway channel's client", &e))?;
            let Some(chain_id) = chain else { continue };
            if self.chain_id.as_ref().is_some_and(|c| *c != chain_id) {
                continue;
            }
            let route = Route {
                chain_id,
                dst_port: end.counterparty_port_id,
                dst_channel: end.counterparty_channel_id,
            };
            routes.insert(end.channel_id, route);
        }
        Ok(routes)
    }

    /// gwc from `from`: the sends of `from ..= to`, then their acks and timeouts until every
    /// one is settled or the latest block.
    async fn follow_gwc(
        &self,
        gwc: &mut Scanner,
        routes: &BTreeMap<String, Route>,
        latest: u64,
        ctx: &StepCtx,
    ) -> Result<BTreeMap<Key, Record>, Failure> {
        let mut records: BTreeMap<Key, Record> = BTreeMap::new();
        let mut next = self.from;
        while next <= latest {
            let end = (next + CHUNK - 1).min(latest);
            let end = if next <= self.to { end.min(self.to) } else { end };
            let blocks =
                gwc.read(next, end).await.map_err(|e| upstream_failure("reading gwc's blocks failed", &e))?;
            for (height, b) in blocks {
                for e in b.events.into_iter().filter(|e| e.src_port == GATEWAY_PORT) {
                    let key = (e.src_channel.clone(), e.sequence);
                    match e.kind {
                        Kind::Send if height <= self.to => self.add_send(&mut records, routes, height, e),
                        Kind::Ack => {
                            if let Some(r) = records.get_mut(&key) {
                                r.ack_height = Some(height);
                                r.ack_relayer = e.signer;
                            }
                        }
                        Kind::Timeout => {
                            if let Some(r) = records.get_mut(&key) {
                                r.timeout_height = Some(height);
                            }
                        }
                        _ => {}
                    }
                }
            }
            let open =
                records.values().filter(|r| r.ack_height.is_none() && r.timeout_height.is_none()).count();
            ctx.progress(&format!(
                "gwc read to height {end}: {} packet(s) sent, {open} unsettled",
                records.len()
            ));
            next = end + 1;
            if next > self.to && open == 0 {
                break;
            }
        }
        // The header after the last block read: the commit time of that block.
        if next <= latest {
            gwc.read(next, next).await.map_err(|e| upstream_failure("reading gwc's blocks failed", &e))?;
        }
        Ok(records)
    }

    fn add_send(
        &self,
        records: &mut BTreeMap<Key, Record>,
        routes: &BTreeMap<String, Route>,
        height: u64,
        e: events::PacketEvent,
    ) {
        let Some(route) = routes.get(&e.src_channel) else { return };
        let data = e.data.unwrap_or_default();
        let payload = events::gateway_payload(&data);
        if self.session_id.is_some() && payload.as_ref().map(|p| &p.1) != self.session_id.as_ref() {
            return;
        }
        let record = Record {
            chain_id: route.chain_id.clone(),
            src_channel: e.src_channel.clone(),
            dst_port: route.dst_port.clone(),
            dst_channel: route.dst_channel.clone(),
            sequence: e.sequence,
            size: data.len(),
            payload: payload.as_ref().map(|p| p.0),
            session_id: payload.map(|p| p.1),
            send_height: height,
            ..Record::default()
        };
        records.insert((e.src_channel, e.sequence), record);
    }

    /// One counterparty, from its last block before the first send to the time of gwc's last
    /// block read (or its latest block while some are unacked): receipts, relayers, redundant
    /// relays.
    async fn follow_counterparty(
        &self,
        dest: &mut Scanner,
        records: &mut [&mut Record],
        gwc: &Scanner,
        ctx: &StepCtx,
    ) -> Result<(), Failure> {
        let name = dest.target.chain_id.clone();
        let fail = |e: crate::chain::Error| upstream_failure(&format!("reading {name}'s blocks failed"), &e);
        let latest = dest.latest().await.map_err(fail)?;
        let first_send = records.iter().filter_map(|r| gwc.times.get(&r.send_height)).min().copied();
        let Some(first_send) = first_send else { return Ok(()) };
        let start = dest.height_at(first_send, latest).await.map_err(fail)?;
        // Through the time of the last gwc block read (so redundant relays of the window show),
        // or to the latest block while some packet is unacknowledged.
        let all_acked = records.iter().all(|r| r.ack_height.is_some());
        let end = match gwc.times.last_key_value().filter(|_| all_acked) {
            Some((_, t)) => dest.height_at(*t, latest).await.map_err(fail)?,
            None => latest,
        };
        let mut next = start;
        while next <= end {
            let chunk_end = (next + CHUNK - 1).min(end);
            let blocks = dest.read(next, chunk_end).await.map_err(fail)?;
            for (height, b) in blocks {
                for e in b.events.into_iter().filter(|e| e.kind == Kind::Recv) {
                    if let Some(r) = records.iter_mut().find(|r| {
                        r.dst_channel == e.dst_channel
                            && r.src_channel == e.src_channel
                            && r.sequence == e.sequence
                    }) {
                        r.recv_height = Some(height);
                        r.relayer = e.signer;
                    }
                }
                if !b.no_op_recvs.is_empty() {
                    for x in dest.redundant(height, &b.no_op_recvs).await.map_err(fail)? {
                        if let Some(r) = records
                            .iter_mut()
                            .find(|r| r.dst_channel == x.dst_channel && r.sequence == x.sequence)
                        {
                            r.redundant.push(x);
                        }
                    }
                }
            }
            let received = records.iter().filter(|r| r.recv_height.is_some()).count();
            ctx.progress(&format!(
                "{} read to height {chunk_end}: {received} of {} packet(s) received",
                dest.target.chain_id,
                records.len()
            ));
            next = chunk_end + 1;
        }
        if next <= latest {
            dest.read(next, next).await.map_err(fail)?;
        }
        Ok(())
    }
}

fn timing(r: &Record, gwc: &Scanner, dest: Option<&Scanner>) -> Timing {
    let send = gwc.commit_time(r.send_height);
    let recv = r.recv_height.and_then(|h| dest.and_then(|d| d.commit_time(h)));
    Timing {
        send,
        recv,
        ack: r.ack_height.and_then(|h| gwc.commit_time(h)),
        timeout: r.timeout_height.and_then(|h| gwc.commit_time(h)),
        send_to_recv_blocks: match (r.recv_height, gwc.times.get(&r.send_height), dest) {
            (Some(h), Some(t), Some(d)) => d.read_height_at(*t).map(|before| h.saturating_sub(before)),
            _ => None,
        },
        recv_to_ack_blocks: match (r.ack_height, r.recv_height.and_then(|h| dest?.times.get(&h))) {
            (Some(h), Some(t)) => gwc.read_height_at(*t).map(|before| h.saturating_sub(before)),
            _ => None,
        },
    }
}

fn calls_json(s: &Scanner) -> Value {
    let mut v = serde_json::to_value(s.calls).unwrap_or_default();
    v["total"] = s.calls.total().into();
    v
}

impl Step for PacketsStep {
    fn name(&self) -> &str {
        "packets"
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        async move {
            let (result, summary) = self.account(ctx).await?;
            ctx.set_result(result);
            Ok(StepOutcome::Done(summary))
        }
        .boxed()
    }
}

impl PacketsStep {
    /// The range's packets as the job reports them, and a one-line summary; `ctx` shows the
    /// reads' progress.
    pub async fn account(&self, ctx: &StepCtx) -> Result<(Value, String), Failure> {
        let mut gwc = Scanner::new(self.client.clone(), self.gwc.clone());
        let latest = gwc.latest().await.map_err(|e| upstream_failure("failed to read gwc's status", &e))?;
        if self.to > latest {
            return Err(Failure::new(
                ErrorCode::InvalidHeight,
                format!("toHeight {} is above gwc's latest height {latest}", self.to),
            ));
        }
        let routes = self.routes().await?;
        ctx.info(&format!(
            "reading gwc {}..={} for packets on {} gateway channel(s)",
            self.from,
            self.to,
            routes.len()
        ));
        let mut records = self.follow_gwc(&mut gwc, &routes, latest, ctx).await?;
        let mut scanners: BTreeMap<String, Scanner> = BTreeMap::new();
        let chains: Vec<String> = {
            let mut c: Vec<String> = records.values().map(|r| r.chain_id.clone()).collect();
            c.dedup();
            c.sort();
            c.dedup();
            c
        };
        for chain in chains {
            let Some(target) = self.targets.get(&chain) else {
                ctx.warn(&format!("{chain} has no known endpoint: its receipts are not read"));
                continue;
            };
            let mut dest = Scanner::new(self.client.clone(), target.clone());
            let mut mine: Vec<&mut Record> = records.values_mut().filter(|r| r.chain_id == chain).collect();
            self.follow_counterparty(&mut dest, &mut mine, &gwc, ctx).await?;
            scanners.insert(chain, dest);
        }
        let joined: Vec<(Record, Timing)> = records
            .into_values()
            .map(|r| {
                let t = timing(&r, &gwc, scanners.get(&r.chain_id));
                (r, t)
            })
            .collect();
        let now = Now { height: latest, time: gwc.times.get(&latest).copied() };
        let mut result = account::report(&joined, now);
        let count = |k: &str| result["accounting"][k].as_u64().unwrap_or_default();
        let summary = format!(
            "{} sent: {} acked, {} timed out, {} pending",
            count("sent"),
            count("acked"),
            count("timedOut"),
            count("pending")
        );
        let mut calls = serde_json::Map::new();
        calls.insert(self.gwc.chain_id.clone(), calls_json(&gwc));
        let mut total = gwc.calls.total();
        let mut scanned = json!({"gwc": {"fromHeight": self.from, "toHeight": gwc.times.keys().max()}});
        for (chain, s) in &scanners {
            calls.insert(chain.clone(), calls_json(s));
            total += s.calls.total();
            scanned[chain] = json!({"fromHeight": s.times.keys().min(), "toHeight": s.times.keys().max()});
        }
        let blocks_read: usize = std::iter::once(&gwc).chain(scanners.values()).map(|s| s.times.len()).sum();
        let extra = json!({
            "fromHeight": self.from,
            "toHeight": self.to,
            "chainId": self.chain_id,
            "sessionId": self.session_id,
            "latestHeight": latest,
            "definition": DEFINITION,
            "scanned": scanned,
            "blocksRead": blocks_read,
            "upstreamCalls": calls,
            "upstreamRequests": total,
        });
        if let (Some(r), Some(e)) = (result.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        Ok((result, format!("{summary} ({total} upstream requests)")))
    }
}
