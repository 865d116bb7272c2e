//! The continuous side of packet truth: every IBC observation (the continuous reconciler's
//! passes and `/system/ibc`) reads the blocks gwc and the counterparties committed since the
//! last one, follows the packets gwc's gateway channels send from then on, and once a packet's
//! ack and the commit times of its heights are known, records its hops in the per-pair
//! histograms of `/metrics`. Incremental and bounded: at most `MAX_BLOCKS` per chain a pass.
//! A packet whose receipt was not seen (its chain joined later) records `send_to_ack` only.

use super::events::Kind;
use super::scan::Scanner;
use crate::cache::directory::ChainDirectory;
use crate::chain::{ChainClient, ibc_query};
use crate::chart::{GATEWAY_PORT, GWC};
use crate::metrics::Metrics;
use crate::utils::{ChainTarget, seconds_between};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Blocks one pass reads of one chain; a backlog beyond it is caught up over later passes.
const MAX_BLOCKS: u64 = 500;
/// Header times kept below the lowest height a packet in flight still needs.
const KEEP_TIMES: u64 = 64;

/// A packet in flight: where it goes and the heights seen so far.
#[derive(Debug, Clone)]
struct Flight {
    chain_id: String,
    send: u64,
    recv: Option<u64>,
    ack: Option<u64>,
}

struct Cursor {
    scanner: Scanner,
    next: u64,
}

#[derive(Default)]
struct State {
    cursors: BTreeMap<String, Cursor>,
    /// gwc's gateway channels and the chain each faces.
    routes: BTreeMap<String, String>,
    flights: BTreeMap<(String, u64), Flight>,
}

/// Shared by every observation; one pass at a time (a pass finding another running skips).
#[derive(Clone, Default)]
pub struct HopWatch(Arc<tokio::sync::Mutex<State>>);

impl HopWatch {
    pub async fn pass(&self, client: &ChainClient, directory: &ChainDirectory, metrics: &Metrics) {
        let Ok(mut state) = self.0.try_lock() else { return };
        if let Err(e) = state.pass(client, directory, metrics).await {
            tracing::debug!(error = %e, "packet hops not followed this pass");
        }
    }
}

fn target(directory: &ChainDirectory, chain_id: &str) -> crate::chain::Result<ChainTarget> {
    let snapshot = directory.snapshot();
    Ok(ChainTarget {
        chain_id: chain_id.to_string(),
        rpc: snapshot.upstream(chain_id, "rpc")?,
        api: snapshot.upstream(chain_id, "api")?,
    })
}

impl State {
    async fn cursor(
        &mut self,
        client: &ChainClient,
        directory: &ChainDirectory,
        chain: &str,
    ) -> crate::chain::Result<&mut Cursor> {
        if !self.cursors.contains_key(chain) {
            let mut scanner = Scanner::new(client.clone(), target(directory, chain)?);
            // From now on: what was sent before the BFF looked is the packets job's to tell.
            let next = scanner.latest().await? + 1;
            self.cursors.insert(chain.to_string(), Cursor { scanner, next });
        }
        Ok(self.cursors.get_mut(chain).expect("inserted above"))
    }

    async fn refresh_routes(&mut self, client: &ChainClient, gwc: &ChainTarget) -> crate::chain::Result<()> {
        for end in ibc_query::channels(client, &gwc.api).await? {
            if end.port_id != GATEWAY_PORT || self.routes.contains_key(&end.channel_id) {
                continue;
            }
            if let Some(chain) =
                ibc_query::counterparty_chain(client, &gwc.api, GATEWAY_PORT, &end.channel_id).await?
            {
                self.routes.insert(end.channel_id, chain);
            }
        }
        Ok(())
    }

    /// Reads up to `MAX_BLOCKS` new blocks of `chain`.
    async fn read(
        &mut self,
        client: &ChainClient,
        directory: &ChainDirectory,
        chain: &str,
    ) -> crate::chain::Result<Vec<(u64, super::events::BlockPackets)>> {
        let cursor = self.cursor(client, directory, chain).await?;
        let latest = cursor.scanner.latest().await?;
        let to = latest.min(cursor.next + MAX_BLOCKS - 1);
        let blocks = cursor.scanner.read(cursor.next, to).await?;
        cursor.next = cursor.next.max(to + 1);
        Ok(blocks)
    }

    async fn pass(
        &mut self,
        client: &ChainClient,
        directory: &ChainDirectory,
        metrics: &Metrics,
    ) -> crate::chain::Result<()> {
        let gwc_target = target(directory, GWC)?;
        if !self.cursors.contains_key(GWC) {
            // Every chain's cursor starts at the same moment, so no receipt precedes its cursor.
            self.refresh_routes(client, &gwc_target).await?;
            let chains: Vec<String> =
                std::iter::once(GWC.to_string()).chain(self.routes.values().cloned()).collect();
            for chain in chains {
                self.cursor(client, directory, &chain).await?;
            }
        }
        for (height, b) in self.read(client, directory, GWC).await? {
            for e in b.events.into_iter().filter(|e| e.src_port == GATEWAY_PORT) {
                let key = (e.src_channel.clone(), e.sequence);
                match e.kind {
                    Kind::Send => {
                        if !self.routes.contains_key(&e.src_channel) {
                            self.refresh_routes(client, &gwc_target).await?;
                        }
                        let Some(chain_id) = self.routes.get(&e.src_channel).cloned() else { continue };
                        let flight = Flight { chain_id, send: height, recv: None, ack: None };
                        self.flights.insert(key, flight);
                    }
                    Kind::Ack => {
                        if let Some(f) = self.flights.get_mut(&key) {
                            f.ack = Some(height);
                        }
                    }
                    Kind::Timeout => {
                        self.flights.remove(&key);
                    }
                    Kind::Recv => {}
                }
            }
        }
        let mut chains: Vec<String> = self.flights.values().map(|f| f.chain_id.clone()).collect();
        chains.sort();
        chains.dedup();
        for chain in chains {
            for (height, b) in self.read(client, directory, &chain).await? {
                for e in b.events.into_iter().filter(|e| e.kind == Kind::Recv && e.src_port == GATEWAY_PORT) {
                    if let Some(f) = self.flights.get_mut(&(e.src_channel.clone(), e.sequence)) {
                        f.recv = f.recv.or(Some(height));
                    }
                }
            }
        }
        self.record(metrics);
        Ok(())
    }

    /// Records the hops of every acked packet whose commit times are known, and forgets it;
    /// trims the header times no packet in flight needs any more.
    fn record(&mut self, metrics: &Metrics) {
        let Some(gwc) = self.cursors.get(GWC) else { return };
        let mut done = Vec::new();
        for (key, f) in &self.flights {
            let Some(ack_height) = f.ack else { continue };
            let (send, ack) = (gwc.scanner.commit_time(f.send), gwc.scanner.commit_time(ack_height));
            let (Some(send), Some(ack)) = (send, ack) else { continue };
            let recv = f.recv.and_then(|h| self.cursors.get(&f.chain_id)?.scanner.commit_time(h));
            if let Some(recv) = recv {
                metrics.ibc_packet_hop(&f.chain_id, "send_to_recv", seconds_between(send, recv).max(0.0));
                metrics.ibc_packet_hop(&f.chain_id, "recv_to_ack", seconds_between(recv, ack).max(0.0));
            }
            metrics.ibc_packet_hop(&f.chain_id, "send_to_ack", seconds_between(send, ack).max(0.0));
            done.push(key.clone());
        }
        for key in done {
            self.flights.remove(&key);
        }
        let needed = |chain: &str, next: u64| {
            self.flights
                .values()
                .filter(|f| chain == GWC || f.chain_id == chain)
                .map(|f| if chain == GWC { f.send } else { f.recv.unwrap_or(next) })
                .min()
                .unwrap_or(next)
                .saturating_sub(KEEP_TIMES)
        };
        let floors: Vec<(String, u64)> =
            self.cursors.iter().map(|(c, cur)| (c.clone(), needed(c, cur.next))).collect();
        for (chain, floor) in floors {
            if let Some(cur) = self.cursors.get_mut(&chain) {
                cur.scanner.times = cur.scanner.times.split_off(&floor);
            }
        }
    }
}
