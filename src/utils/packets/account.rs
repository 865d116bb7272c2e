//! Each packet's life on both chains, joined from the events the scans read, and what the job
//! reports of them: per-packet heights and commit times, per-hop and per-pair statistics, and
//! the accounting `sent = acked + timedOut + pending`.

use super::scan::Redundant;
use crate::chain::blocktime;
use crate::utils::{seconds_between, stats};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One packet sent on a gateway channel and what became of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The chain at the other end.
    pub chain_id: String,
    pub src_channel: String,
    pub dst_port: String,
    pub dst_channel: String,
    pub sequence: u64,
    /// Bytes of packet data.
    pub size: usize,
    /// `fragment` or `manifest`, and the upload session it belongs to.
    pub payload: Option<&'static str>,
    pub session_id: Option<String>,
    pub send_height: u64,
    pub recv_height: Option<u64>,
    /// Signer of the `MsgRecvPacket` that delivered it.
    pub relayer: Option<String>,
    pub ack_height: Option<u64>,
    pub ack_relayer: Option<String>,
    pub timeout_height: Option<u64>,
    /// Later `MsgRecvPacket`s for it that ibc-go made no-ops.
    pub redundant: Vec<Redundant>,
}

/// Commit times (header time of H+1) of a record's heights; `None` where not happened or not
/// yet committed, and the block counts of its hops.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timing {
    pub send: Option<Timestamp>,
    pub recv: Option<Timestamp>,
    pub ack: Option<Timestamp>,
    pub timeout: Option<Timestamp>,
    /// Blocks of the destination after its last one stamped no later than the send block.
    pub send_to_recv_blocks: Option<u64>,
    /// Blocks of gwc after its last one stamped no later than the recv block.
    pub recv_to_ack_blocks: Option<u64>,
}

/// count, p50/p95/p99/max of one hop, in seconds and in blocks, and its seconds binned.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hop {
    pub seconds: Option<stats::LatencyStats>,
    pub blocks: Option<BlockStats>,
    /// The seconds in equal-width buckets from min to max (empty without samples).
    pub histogram: Vec<Bucket>,
}

/// Samples with `fromSeconds <= s < toSeconds` (the last bucket includes its `toSeconds`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    pub from_seconds: f64,
    pub to_seconds: f64,
    pub count: usize,
}

/// About √n equal-width buckets (5..=30) over min..=max; one bucket when every sample is
/// the same. Every sample is in exactly one bucket.
pub fn buckets(samples: &[f64]) -> Vec<Bucket> {
    let finite: Vec<f64> = samples.iter().copied().filter(|s| s.is_finite()).collect();
    let Some(lo) = finite.iter().copied().reduce(f64::min) else { return Vec::new() };
    let hi = finite.iter().copied().fold(lo, f64::max);
    let span = hi - lo;
    let n = if span > 0.0 { ((finite.len() as f64).sqrt().round() as usize).clamp(5, 30) } else { 1 };
    let width = span / n as f64;
    let mut out: Vec<Bucket> = (0..n)
        .map(|i| Bucket {
            from_seconds: lo + width * i as f64,
            to_seconds: if i + 1 == n { hi } else { lo + width * (i + 1) as f64 },
            count: 0,
        })
        .collect();
    for s in finite {
        let i = if width > 0.0 { ((s - lo) / width).floor() as usize } else { 0 };
        out[i.min(n - 1)].count += 1;
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockStats {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub unit: &'static str,
}

fn block_stats(samples: &[f64]) -> Option<BlockStats> {
    let s = blocktime::stats(samples, &[50.0, 95.0, 99.0])?;
    let p = |k: &str| s.percentiles.get(k).copied().unwrap_or(f64::NAN);
    Some(BlockStats {
        count: samples.len(),
        p50: p("p50"),
        p95: p("p95"),
        p99: p("p99"),
        max: s.max,
        unit: "blocks",
    })
}

/// The three hops' samples of a set of packets.
#[derive(Debug, Default)]
struct Samples {
    seconds: [Vec<f64>; 3],
    blocks: [Vec<f64>; 3],
}

pub const HOPS: [&str; 3] = ["sendToRecv", "recvToAck", "sendToAck"];

impl Samples {
    fn add(&mut self, r: &Record, t: &Timing) {
        let secs = [(t.send, t.recv), (t.recv, t.ack), (t.send, t.ack)];
        for (i, (a, b)) in secs.into_iter().enumerate() {
            if let (Some(a), Some(b)) = (a, b) {
                self.seconds[i].push(seconds_between(a, b));
            }
        }
        let blocks = [t.send_to_recv_blocks, t.recv_to_ack_blocks, r.ack_height.map(|a| a - r.send_height)];
        for (i, b) in blocks.into_iter().enumerate() {
            if let Some(b) = b {
                self.blocks[i].push(b as f64);
            }
        }
    }

    fn hops(&self) -> BTreeMap<&'static str, Hop> {
        HOPS.iter()
            .enumerate()
            .map(|(i, name)| {
                (
                    *name,
                    Hop {
                        seconds: stats::latency_stats(&self.seconds[i]),
                        blocks: block_stats(&self.blocks[i]),
                        histogram: buckets(&self.seconds[i]),
                    },
                )
            })
            .collect()
    }
}

/// `sent = acked + timedOut + pending`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accounting {
    pub sent: usize,
    pub acked: usize,
    pub timed_out: usize,
    pub pending: usize,
}

impl Accounting {
    fn add(&mut self, r: &Record) {
        self.sent += 1;
        match (r.ack_height, r.timeout_height) {
            (Some(_), _) => self.acked += 1,
            (None, Some(_)) => self.timed_out += 1,
            (None, None) => self.pending += 1,
        }
    }
}

fn rfc3339(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| t.to_string().into())
}

/// Where the chain stands now (gwc's latest height and header time), for pending ages.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub height: u64,
    pub time: Option<Timestamp>,
}

fn packet_json(r: &Record, t: &Timing, now: Now) -> Value {
    let settled = r.ack_height.is_some() || r.timeout_height.is_some();
    let state = match (r.ack_height, r.timeout_height, r.recv_height) {
        (Some(_), _, _) => "acked",
        (None, Some(_), _) => "timedOut",
        (None, None, Some(_)) => "awaitingAck",
        (None, None, None) => "awaitingRecv",
    };
    let age_seconds = match (settled, t.send, now.time) {
        (false, Some(s), Some(n)) => Some(seconds_between(s, n).max(0.0)),
        _ => None,
    };
    let redundant: Vec<Value> =
        r.redundant.iter().map(|x| json!({"height": x.height, "relayer": x.signer})).collect();
    json!({
        "chainId": r.chain_id,
        "srcChannel": r.src_channel,
        "dstPort": r.dst_port,
        "dstChannel": r.dst_channel,
        "sequence": r.sequence,
        "size": r.size,
        "payload": r.payload,
        "sessionId": r.session_id,
        "state": state,
        "sendHeight": r.send_height,
        "sendTime": rfc3339(t.send),
        "recvHeight": r.recv_height,
        "recvTime": rfc3339(t.recv),
        "ackHeight": r.ack_height,
        "ackTime": rfc3339(t.ack),
        "timeoutHeight": r.timeout_height,
        "timeoutTime": rfc3339(t.timeout),
        "relayer": r.relayer,
        "ackRelayer": r.ack_relayer,
        "redundantRelays": redundant,
        "ageBlocks": (!settled).then(|| now.height.saturating_sub(r.send_height)),
        "ageSeconds": age_seconds,
    })
}

/// The report's packet part: `accounting`, `hops`, `pairs`, `relayers`, `packets`.
pub fn report(records: &[(Record, Timing)], now: Now) -> Value {
    let mut total = Accounting::default();
    let mut all = Samples::default();
    let mut pairs: BTreeMap<(String, String), (Accounting, Samples, usize)> = BTreeMap::new();
    let mut relayers: BTreeMap<String, usize> = BTreeMap::new();
    let mut redundant = 0;
    for (r, t) in records {
        total.add(r);
        all.add(r, t);
        let pair = pairs.entry((r.chain_id.clone(), r.src_channel.clone())).or_default();
        pair.0.add(r);
        pair.1.add(r, t);
        pair.2 += r.redundant.len();
        redundant += r.redundant.len();
        if let Some(who) = &r.relayer {
            *relayers.entry(who.clone()).or_default() += 1;
        }
    }
    let pairs: Vec<Value> = pairs
        .into_iter()
        .map(|((chain, channel), (accounting, samples, redundant))| {
            json!({"chainId": chain, "srcChannel": channel, "accounting": accounting,
                   "hops": samples.hops(), "redundantRelays": redundant})
        })
        .collect();
    json!({
        "accounting": total,
        "hops": all.hops(),
        "pairs": pairs,
        "relayers": relayers,
        "redundantRelays": redundant,
        "packets": records.iter().map(|(r, t)| packet_json(r, t, now)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Option<Timestamp> {
        Some(Timestamp::from_second(1_700_000_000 + s).unwrap())
    }

    #[test]
    fn accounting_adds_up_and_hops_count_only_what_happened() {
        let acked = Record {
            chain_id: "fdsc-0".into(),
            src_channel: "channel-1".into(),
            sequence: 1,
            send_height: 10,
            recv_height: Some(3),
            ack_height: Some(13),
            relayer: Some("r".into()),
            ..Default::default()
        };
        let t_acked = Timing {
            send: at(0),
            recv: at(2),
            ack: at(5),
            send_to_recv_blocks: Some(1),
            recv_to_ack_blocks: Some(2),
            ..Default::default()
        };
        let pending = Record {
            chain_id: "fdsc-0".into(),
            src_channel: "channel-1".into(),
            sequence: 2,
            send_height: 11,
            ..Default::default()
        };
        let t_pending = Timing { send: at(1), ..Default::default() };
        let timed_out = Record {
            chain_id: "mdsc".into(),
            src_channel: "channel-0".into(),
            sequence: 1,
            send_height: 9,
            timeout_height: Some(30),
            ..Default::default()
        };
        let recs = vec![(acked, t_acked), (pending, t_pending), (timed_out, Timing::default())];
        let v = report(&recs, Now { height: 15, time: at(9) });
        assert_eq!(v["accounting"], json!({"sent": 3, "acked": 1, "timedOut": 1, "pending": 1}));
        assert_eq!(v["hops"]["sendToRecv"]["seconds"]["count"], 1);
        assert_eq!(v["hops"]["sendToAck"]["seconds"]["max"], 5.0);
        assert_eq!(v["hops"]["sendToAck"]["blocks"]["max"], 3.0);
        assert_eq!(v["packets"][1]["ageBlocks"], 4);
        assert_eq!(v["packets"][1]["ageSeconds"], 8.0);
        assert_eq!(v["packets"][1]["state"], "awaitingRecv");
        assert_eq!(v["packets"][1]["recvTime"], Value::Null);
        assert_eq!(v["packets"][0]["ageBlocks"], Value::Null);
        assert_eq!(v["pairs"].as_array().unwrap().len(), 2);
        assert_eq!(v["relayers"]["r"], 1);
        let histogram = &v["pairs"][0]["hops"]["sendToAck"]["histogram"];
        assert_eq!(histogram, &json!([{"fromSeconds": 5.0, "toSeconds": 5.0, "count": 1}]));
        assert_eq!(v["pairs"][1]["hops"]["sendToAck"]["histogram"], json!([]));
    }

    #[test]
    fn buckets_hold_every_sample_once_from_min_to_max() {
        let samples: Vec<f64> = (0..100).map(|i| 0.5 + f64::from(i) * 0.03).collect();
        let b = buckets(&samples);
        assert_eq!(b.len(), 10, "about the square root of 100");
        assert_eq!(b.iter().map(|x| x.count).sum::<usize>(), 100);
        assert_eq!((b[0].from_seconds, b[9].to_seconds), (0.5, 0.5 + 99.0 * 0.03));
        assert!(b.windows(2).all(|w| (w[0].to_seconds - w[1].from_seconds).abs() < 1e-12));
        assert!(b.iter().all(|x| x.count == 10), "{b:?}");
        // Few samples still get five buckets; the maximum lands in the last one.
        let few = buckets(&[1.0, 2.0, 3.0]);
        assert_eq!(few.iter().map(|x| x.count).collect::<Vec<_>>(), [1, 0, 1, 0, 1]);
        assert_eq!(buckets(&[2.0, 2.0]), [Bucket { from_seconds: 2.0, to_seconds: 2.0, count: 2 }]);
        assert!(buckets(&[]).is_empty());
    }
}
