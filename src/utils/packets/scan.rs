//! Reading one chain's blocks for packet events: header metas a `blockchain` page (20 blocks)
//! at a time, then `block_results` only of the blocks that hold txs, a few at once, so the
//! requests grow with the blocks read, never with the packets in them. A block whose results
//! show a redundant `MsgRecvPacket` is also read with `block`, to learn which packet it was.

use super::events::{self, BlockPackets, NoOpRecv};
use crate::chain::{self, ChainClient, ibc, rpc, tx};
use crate::utils::ChainTarget;
use crate::utils::confirm::Calls;
use futures::{StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;
use std::collections::BTreeMap;

/// Requests in flight at once against one chain.
const CONCURRENT_READS: usize = 4;

/// A redundant relay: which packet (`dst_channel`, `sequence`) and who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redundant {
    pub dst_channel: String,
    pub sequence: u64,
    pub height: u64,
    pub signer: Option<String>,
}

/// What has been read of one chain.
pub struct Scanner {
    client: ChainClient,
    pub target: ChainTarget,
    /// Header time of every height read.
    pub times: BTreeMap<u64, Timestamp>,
    pub calls: Calls,
}

impl Scanner {
    pub fn new(client: ChainClient, target: ChainTarget) -> Self {
        Self { client, target, times: BTreeMap::new(), calls: Calls::default() }
    }

    /// The chain's latest height and its header time.
    pub async fn latest(&mut self) -> chain::Result<u64> {
        let (status, _) = rpc::node_status(&self.client, &self.target.rpc).await?;
        self.calls.status += 1;
        Ok(status.latest_height.unwrap_or_default())
    }

    /// Metas of `from ..= to` (pages read a few at once); records their header times and
    /// returns the heights holding txs.
    async fn metas(&mut self, from: u64, to: u64) -> chain::Result<Vec<u64>> {
        let pages: Vec<(u64, u64)> = (from..=to)
            .step_by(rpc::BLOCKCHAIN_PAGE as usize)
            .map(|min| (min, (min + rpc::BLOCKCHAIN_PAGE - 1).min(to)))
            .collect();
        self.calls.blockchain += pages.len() as u64;
        let (client, url) = (&self.client, self.target.rpc.as_str());
        let read: Vec<Vec<rpc::BlockMeta>> = futures::stream::iter(pages)
            .map(|(min, max)| async move { rpc::block_metas(client, url, min, max).await.map(|(m, _)| m) })
            .buffered(CONCURRENT_READS)
            .try_collect()
            .await?;
        let mut busy = Vec::new();
        for m in read.into_iter().flatten() {
            if let Ok(t) = m.time.parse() {
                self.times.insert(m.height, t);
            }
            if m.num_txs > 0 {
                busy.push(m.height);
            }
        }
        busy.sort_unstable();
        Ok(busy)
    }

    /// The packet events of blocks `from ..= to`, by height.
    pub async fn read(&mut self, from: u64, to: u64) -> chain::Result<Vec<(u64, BlockPackets)>> {
        if to < from {
            return Ok(Vec::new());
        }
        let busy = self.metas(from, to).await?;
        self.calls.block_results += busy.len() as u64;
        let (client, url) = (&self.client, self.target.rpc.as_str());
        futures::stream::iter(busy)
            .map(|h| async move { Ok((h, events::parse(&rpc::block_results(client, url, h).await?))) })
            .buffered(CONCURRENT_READS)
            .try_collect()
            .await
    }

    /// Which packets the no-op `MsgRecvPacket`s of block `height` were for.
    pub async fn redundant(&mut self, height: u64, no_ops: &[NoOpRecv]) -> chain::Result<Vec<Redundant>> {
        use base64::Engine as _;
        let raw = rpc::block(&self.client, &self.target.rpc, Some(height)).await?;
        self.calls.block += 1;
        let txs = rpc::block_view(&raw).map(|b| b.txs).unwrap_or_default();
        let mut out = Vec::new();
        for n in no_ops {
            let Some(bytes) =
                txs.get(n.tx_index).and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
            else {
                continue;
            };
            let Ok(parts) = tx::decode_parts(&bytes) else { continue };
            let Some(any) = usize::try_from(n.msg_index).ok().and_then(|i| parts.body.messages.get(i)) else {
                continue;
            };
            let Some(packet) = <ibc::MsgRecvPacket as prost::Message>::decode(any.value.as_slice())
                .ok()
                .and_then(|m| m.packet)
            else {
                continue;
            };
            out.push(Redundant {
                dst_channel: packet.destination_channel,
                sequence: packet.sequence,
                height,
                signer: n.signer.clone(),
            });
        }
        Ok(out)
    }

    /// The last height at or before `time` (binary search over single-block pages); 1 when
    /// every block is later.
    pub async fn height_at(&mut self, time: Timestamp, latest: u64) -> chain::Result<u64> {
        let (mut lo, mut hi) = (1, latest.max(1));
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let t = self.time_of(mid).await?;
            if t.is_some_and(|t| t <= time) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(lo)
    }

    async fn time_of(&mut self, height: u64) -> chain::Result<Option<Timestamp>> {
        if let Some(t) = self.times.get(&height) {
            return Ok(Some(*t));
        }
        let (metas, _) = rpc::block_metas(&self.client, &self.target.rpc, height, height).await?;
        self.calls.blockchain += 1;
        let t = metas.first().and_then(|m| m.time.parse().ok());
        if let Some(t) = t {
            self.times.insert(height, t);
        }
        Ok(t)
    }

    /// Commit time of block `height`: the header time of `height + 1`, if read.
    pub fn commit_time(&self, height: u64) -> Option<Timestamp> {
        self.times.get(&(height + 1)).copied()
    }

    /// The last height read at or before `time`.
    pub fn read_height_at(&self, time: Timestamp) -> Option<u64> {
        self.times.iter().rev().find(|(_, t)| **t <= time).map(|(h, _)| *h)
    }
}
