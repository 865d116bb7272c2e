//! Reading the chains' side of each gwc↔chain pair over ibc-go REST: the gateway channel and
//! its counterparty end, both connections and clients, and the packets and acks still waiting
//! in each direction, aged in blocks of the chain that wrote them: from the height of the
//! oldest one's own event (`send_packet` / `write_acknowledgement`, one `tx_search` when it
//! first shows), else from when the BFF first saw it.

use super::{Backlog, Direction, End};
use crate::cache::directory::ChainDirectory;
use crate::chain::{ChainClient, ibc_query};
use crate::chart::{GATEWAY_PORT, GWC, OPEN, dst_port};
use crate::sync::Locked;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// When each pending packet or ack was written (or, not known, first seen), in blocks of the
/// chain holding it; kept across observations (the BFF's lifetime) and pruned when relayed.
#[derive(Clone, Default)]
pub struct PendingSince(Arc<Mutex<HashMap<PendingKey, u64>>>);

/// Pending sequences a backlog names (the oldest first).
const NAMED_SEQUENCES: usize = 20;

/// (chain, port, channel, `packet`|`ack`, sequence).
type PendingKey = (String, String, String, &'static str, u64);

impl PendingSince {
    /// Whether `sequence` on (`chain`, `port`, `channel`) already has its height.
    pub(super) fn knows(&self, key: (&str, &str, &str, &'static str), sequence: u64) -> bool {
        let (chain, port, channel, kind) = key;
        self.0.locked().contains_key(&(chain.into(), port.into(), channel.into(), kind, sequence))
    }

    /// The backlog of `pending` sequences on (`chain`, `port`, `channel`) at `height`;
    /// `written` is the height a sequence's own event shows, when it was looked up.
    pub(super) fn backlog(
        &self,
        key: (&str, &str, &str, &'static str),
        pending: &[u64],
        height: Option<u64>,
        written: Option<(u64, u64)>,
    ) -> Backlog {
        let mut seen = self.0.locked();
        let (chain, port, channel, kind) = key;
        let same = |k: &PendingKey| k.0 == chain && k.1 == port && k.2 == channel && k.3 == kind;
        seen.retain(|k, _| !same(k) || pending.contains(&k.4));
        let mut oldest_pending_blocks = None;
        for seq in pending {
            let origin = written.filter(|(s, _)| s == seq).map(|(_, h)| h);
            let first = *seen
                .entry((chain.into(), port.into(), channel.into(), kind, *seq))
                .or_insert(origin.unwrap_or(height.unwrap_or_default()));
            let blocks = height.unwrap_or_default().saturating_sub(first);
            oldest_pending_blocks = oldest_pending_blocks.max(Some(blocks));
        }
        Backlog {
            count: pending.len(),
            oldest_sequence: pending.iter().min().copied(),
            oldest_pending_blocks,
            sequences: pending.iter().copied().take(NAMED_SEQUENCES).collect(),
        }
    }
}

/// What the chains say about one pair, before the relayer is taken into account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairObservation {
    pub chain_id: String,
    pub gwc: Option<End>,
    pub counterparty: Option<End>,
    pub gwc_to_chain: Direction,
    pub chain_to_gwc: Direction,
    /// Reads that failed (the pair cannot be proven).
    pub errors: Vec<String>,
}

/// Reads the chains' side of every pair (gwc ↔ each of `targets`) over REST.
pub async fn observe_pairs(
    client: &ChainClient,
    directory: &ChainDirectory,
    targets: &[String],
    pending: &PendingSince,
) -> Vec<PairObservation> {
    let snapshot = directory.snapshot();
    let gwc_api = snapshot.upstream(GWC, "api");
    let apis: BTreeMap<String, crate::chain::Result<String>> =
        targets.iter().map(|t| (t.clone(), snapshot.upstream(t, "api"))).collect();
    let rpcs: BTreeMap<String, Option<String>> = std::iter::once(GWC.to_string())
        .chain(targets.iter().cloned())
        .map(|t| {
            let rpc = snapshot.upstream(&t, "rpc").ok();
            (t, rpc)
        })
        .collect();
    drop(snapshot);
    let gwc_channels = match &gwc_api {
        Ok(api) => ibc_query::channels(client, api).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let observations = targets.iter().map(|chain| {
        let gwc_channels = &gwc_channels;
        let gwc_api = &gwc_api;
        let api = &apis[chain];
        let rpcs = (rpcs[GWC].as_deref(), rpcs[chain].as_deref());
        async move {
            let mut obs = PairObservation {
                chain_id: chain.clone(),
                gwc: None,
                counterparty: None,
                gwc_to_chain: Direction::default(),
                chain_to_gwc: Direction::default(),
                errors: Vec::new(),
            };
            let (gwc_api, api, channels) = match (gwc_api, api, gwc_channels) {
                (Ok(g), Ok(a), Ok(c)) => (g, a, c),
                (g, a, c) => {
                    let errs = [
                        g.as_ref().err().map(ToString::to_string),
                        a.as_ref().err().map(ToString::to_string),
                        c.as_ref().err().cloned(),
                    ];
                    obs.errors.extend(errs.into_iter().flatten());
                    return obs;
                }
            };
            if let Err(e) = observe_pair(client, (gwc_api, api), rpcs, channels, pending, &mut obs).await {
                obs.errors.push(e.to_string());
            }
            obs
        }
    });
    futures::future::join_all(observations).await
}

/// The gateway channel to `chain` on gwc: the OPEN one if any, else the newest.
fn gateway_channel<'a>(
    channels: &'a [ibc_query::ChannelEnd],
    client_chains: &BTreeMap<String, Option<String>>,
    chain: &str,
) -> Option<&'a ibc_query::ChannelEnd> {
    let mine: Vec<&ibc_query::ChannelEnd> = channels
        .iter()
        .filter(|c| c.port_id == GATEWAY_PORT && c.counterparty_port_id == dst_port(chain))
        .filter(|c| client_chains.get(&c.channel_id).and_then(|c| c.as_deref()) == Some(chain))
        .collect();
    mine.iter().find(|c| c.state == OPEN).or(mine.last()).copied()
}

async fn observe_pair(
    client: &ChainClient,
    (gwc_api, api): (&str, &str),
    (gwc_rpc, rpc): (Option<&str>, Option<&str>),
    channels: &[ibc_query::ChannelEnd],
    pending: &PendingSince,
    obs: &mut PairObservation,
) -> crate::chain::Result<()> {
    let chain = obs.chain_id.clone();
    let candidates: Vec<&ibc_query::ChannelEnd> = channels
        .iter()
        .filter(|c| c.port_id == GATEWAY_PORT && c.counterparty_port_id == dst_port(&chain))
        .collect();
    let mut client_chains = BTreeMap::new();
    for c in &candidates {
        let tracked = ibc_query::counterparty_chain(client, gwc_api, GATEWAY_PORT, &c.channel_id).await?;
        client_chains.insert(c.channel_id.clone(), tracked);
    }
    let Some(ch) = gateway_channel(channels, &client_chains, &chain).cloned() else {
        return Ok(());
    };
    let mut gwc = End {
        chain_id: GWC.into(),
        port_id: GATEWAY_PORT.into(),
        channel_id: ch.channel_id.clone(),
        channel_state: Some(ch.state.clone()),
        ..End::default()
    };
    let mut other = End {
        chain_id: chain.clone(),
        port_id: ch.counterparty_port_id.clone(),
        channel_id: ch.counterparty_channel_id.clone(),
        ..End::default()
    };
    if let Some(conn_id) = ch.connection_hops.first() {
        let conn = ibc_query::connection(client, gwc_api, conn_id).await?;
        gwc.connection_id = Some(conn.connection_id.clone());
        gwc.connection_state = Some(conn.state.clone());
        gwc.client_id = Some(conn.client_id.clone());
        other.connection_id = Some(conn.counterparty_connection_id.clone()).filter(|c| !c.is_empty());
        other.client_id = Some(conn.counterparty_client_id.clone()).filter(|c| !c.is_empty());
        observe_client(client, gwc_api, &conn.client_id, &mut gwc).await?;
    }
    if !other.channel_id.is_empty() {
        let theirs = ibc_query::channel(client, api, &other.port_id, &other.channel_id).await?;
        other.channel_state = Some(theirs.state);
        if let Some(conn_id) = other.connection_id.clone() {
            let conn = ibc_query::connection(client, api, &conn_id).await?;
            other.connection_state = Some(conn.state);
        }
        if let Some(client_id) = other.client_id.clone() {
            observe_client(client, api, &client_id, &mut other).await?;
        }
        obs.gwc_to_chain = direction(client, (gwc_api, gwc_rpc, &gwc), (api, rpc, &other), pending).await?;
        obs.chain_to_gwc = direction(client, (api, rpc, &other), (gwc_api, gwc_rpc, &gwc), pending).await?;
    }
    obs.gwc = Some(gwc);
    obs.counterparty = Some(other);
    Ok(())
}

/// The light client `id` under `end`'s channel, as the chain at `api` stores it: status,
/// trusting period, latest height and what is left of the period.
async fn observe_client(
    client: &ChainClient,
    api: &str,
    id: &str,
    end: &mut End,
) -> crate::chain::Result<()> {
    end.client_status = Some(ibc_query::client_status(client, api, id).await?);
    let state = ibc_query::client_state(client, api, &end.port_id, &end.channel_id).await?;
    end.trusting_period_seconds = state.trusting_period_secs;
    end.client_latest_height = state.latest_height;
    let time = ibc_query::latest_consensus_time(client, api, id).await?;
    end.set_consensus(time, jiff::Timestamp::now());
    Ok(())
}

/// The height of the oldest of `pending` by its own event on the chain at `rpc` (`event`,
/// `side` as in [`ibc_query::packet_event_height`]), unless already known; a failed lookup
/// leaves it to first sight.
async fn written(
    client: &ChainClient,
    rpc: Option<&str>,
    (event, side): (&str, &str),
    end: &End,
    pending: &[u64],
    memo: (&PendingSince, &'static str),
) -> Option<(u64, u64)> {
    let oldest = pending.iter().min().copied()?;
    if memo.0.knows((&end.chain_id, &end.port_id, &end.channel_id, memo.1), oldest) {
        return None;
    }
    let found =
        ibc_query::packet_event_height(client, rpc?, (event, side), &end.port_id, &end.channel_id, oldest)
            .await;
    found.ok().flatten().map(|h| (oldest, h))
}

/// Packets sent by `src` not received by `dst`, and acks written on `dst` not relayed to `src`.
async fn direction(
    client: &ChainClient,
    (src_api, src_rpc, src): (&str, Option<&str>, &End),
    (dst_api, dst_rpc, dst): (&str, Option<&str>, &End),
    pending: &PendingSince,
) -> crate::chain::Result<Direction> {
    let (committed, src_height) =
        ibc_query::packet_commitments_at(client, src_api, &src.port_id, &src.channel_id).await?;
    let unreceived =
        ibc_query::unreceived_packets(client, dst_api, &dst.port_id, &dst.channel_id, &committed).await?;
    let (acked, dst_height) =
        ibc_query::packet_acknowledgements_at(client, dst_api, &dst.port_id, &dst.channel_id).await?;
    // Only acks of packets this direction sent: their commitment is still on the source.
    let acks_waiting =
        ibc_query::unreceived_acks(client, src_api, &src.port_id, &src.channel_id, &acked).await?;
    let sent = written(client, src_rpc, ("send_packet", "src"), src, &unreceived, (pending, "packet")).await;
    let acks =
        written(client, dst_rpc, ("write_acknowledgement", "dst"), dst, &acks_waiting, (pending, "ack"))
            .await;
    Ok(Direction {
        packets: pending.backlog(
            (&src.chain_id, &src.port_id, &src.channel_id, "packet"),
            &unreceived,
            src_height,
            sent,
        ),
        acks: pending.backlog(
            (&dst.chain_id, &dst.port_id, &dst.channel_id, "ack"),
            &acks_waiting,
            dst_height,
            acks,
        ),
    })
}
