//! Throughput by one fixed header-time definition. The header time of `fromHeight` is
//! the start mark, so `txCount` sums the txs of blocks `fromHeight+1 ..= toHeight` and
//! `tps = txCount / (toHeaderTime − fromHeaderTime)`; counting block `fromHeight` too would
//! add txs committed before the clock starts (skip-mev/catalyst #25 made and fixed that
//! error). The inclusive sum is returned beside it, named so. Computed from block metas
//! (`num_txs`), 20 per `blockchain` call; halts inside the range are reported, not hidden.

use super::{ChainTarget, seconds_between};
use crate::chain::{self, ChainClient, blocktime, rpc};
use crate::error_code::ErrorCode;
use crate::error_code::Failure;
use crate::jobs::{Step, StepCtx, StepOutcome};
use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// What the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Explicit heights; `from` is the start mark.
    Range { from: u64, to: u64 },
    /// The last `n` blocks: `from = latest − n`, `to = latest`, so `n` blocks are counted.
    Last(u64),
}

impl Window {
    /// Blocks the measurement counts, when known without asking the chain.
    pub fn span(self) -> u64 {
        match self {
            Self::Range { from, to } => to.saturating_sub(from),
            Self::Last(n) => n,
        }
    }

    /// `(fromHeight, toHeight)` on a chain whose latest height is `latest`.
    pub fn resolve(self, latest: u64) -> Result<(u64, u64), chain::Error> {
        let (from, to) = match self {
            Self::Range { from, to } => (from, to),
            Self::Last(0) => {
                return Err(chain::Error::Validation {
                    field: "lastBlocks",
                    message: "must be at least 1".into(),
                });
            }
            Self::Last(n) if n >= latest => {
                return Err(chain::Error::InvalidHeight(format!(
                    "lastBlocks needs one block more than it asks for (the start mark); the chain has {latest}"
                )));
            }
            Self::Last(n) => (latest - n, latest),
        };
        if from == 0 || to <= from {
            return Err(chain::Error::InvalidHeight("need 1 <= fromHeight < toHeight".into()));
        }
        if to > latest {
            return Err(chain::Error::InvalidHeight(format!(
                "toHeight is above the chain's latest height {latest}"
            )));
        }
        Ok((from, to))
    }
}

/// One block as throughput sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Meta {
    pub height: u64,
    pub time: Timestamp,
    pub num_txs: u64,
}

/// Two consecutive headers and the time between them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    pub from_height: u64,
    pub to_height: u64,
    pub seconds: f64,
}

/// A gap this many times the median interval (and at least `HALT_MIN_SECONDS`) is a halt.
const HALT_FACTOR: f64 = 5.0;
const HALT_MIN_SECONDS: f64 = 1.0;

pub const FENCEPOST: &str = "fromHeight's header time is the start mark: txCount sums blocks fromHeight+1..=toHeight \
     (includedBlocks of them) and tps = txCount / durationSeconds; txCountInclusive also counts block fromHeight";

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Throughput {
    pub chain_id: String,
    pub from_height: u64,
    pub to_height: u64,
    /// Blocks counted: `toHeight − fromHeight` (fromHeight+1 ..= toHeight).
    pub included_blocks: u64,
    pub from_header_time: String,
    pub to_header_time: String,
    /// `toHeaderTime − fromHeaderTime`.
    pub duration_seconds: f64,
    /// Txs of blocks fromHeight+1 ..= toHeight.
    pub tx_count: u64,
    /// Txs of blocks fromHeight ..= toHeight (not the basis of tps).
    pub tx_count_inclusive: u64,
    /// `txCount / durationSeconds`; null when the duration is zero.
    pub tps: Option<f64>,
    pub fencepost: String,
    /// Counted blocks with at least one tx / with none.
    pub blocks_with_txs: u64,
    pub empty_blocks: u64,
    pub median_interval_seconds: f64,
    /// The longest header-time gap between consecutive blocks of the range.
    pub longest_gap: Gap,
    /// Gaps over 5× the median interval (and ≥ 1 s): the chain halted there.
    pub halts: Vec<Gap>,
}

/// The measurement over metas of `from ..= to`, sorted and consecutive (pure).
pub fn compute(chain_id: &str, metas: &[Meta]) -> Option<Throughput> {
    let (first, last) = (metas.first()?, metas.last()?);
    if metas.len() < 2 {
        return None;
    }
    let counted = &metas[1..];
    let tx_count: u64 = counted.iter().map(|m| m.num_txs).sum();
    let gaps: Vec<Gap> = metas
        .windows(2)
        .map(|w| Gap {
            from_height: w[0].height,
            to_height: w[1].height,
            seconds: seconds_between(w[0].time, w[1].time),
        })
        .collect();
    let intervals: Vec<f64> = gaps.iter().map(|g| g.seconds).collect();
    let median = blocktime::stats(&intervals, &[50.0]).map_or(0.0, |s| s.percentiles["p50"]);
    let longest = gaps.iter().max_by(|a, b| a.seconds.total_cmp(&b.seconds)).cloned()?;
    let threshold = (median * HALT_FACTOR).max(HALT_MIN_SECONDS);
    let duration = seconds_between(first.time, last.time);
    let with_txs = counted.iter().filter(|m| m.num_txs > 0).count() as u64;
    Some(Throughput {
        chain_id: chain_id.to_string(),
        from_height: first.height,
        to_height: last.height,
        included_blocks: counted.len() as u64,
        from_header_time: first.time.to_string(),
        to_header_time: last.time.to_string(),
        duration_seconds: duration,
        tx_count,
        tx_count_inclusive: tx_count + first.num_txs,
        tps: super::stats::rate(tx_count, duration),
        fencepost: FENCEPOST.into(),
        blocks_with_txs: with_txs,
        empty_blocks: counted.len() as u64 - with_txs,
        median_interval_seconds: median,
        halts: gaps.iter().filter(|g| g.seconds > threshold).cloned().collect(),
        longest_gap: longest,
    })
}

/// `blockchain` calls in flight at once.
const CONCURRENT_FETCHES: usize = 4;

/// Metas of `from ..= to`, ascending; `(metas, blockchain calls made)`.
pub async fn fetch(
    client: &ChainClient,
    rpc_url: &str,
    from: u64,
    to: u64,
) -> chain::Result<(Vec<Meta>, usize)> {
    let heights: Vec<u64> = (from..=to).collect();
    let plan = blocktime::fetch_plan(&heights, rpc::BLOCKCHAIN_PAGE);
    let calls = plan.len();
    let pages: Vec<Vec<Meta>> = futures::stream::iter(plan)
        .map(|(min, max)| async move {
            let (metas, _) = rpc::block_metas(client, rpc_url, min, max).await?;
            metas
                .into_iter()
                .filter(|m| (min..=max).contains(&m.height))
                .map(|m| {
                    let time = m
                        .time
                        .parse::<Timestamp>()
                        .map_err(|e| rpc::malformed(rpc_url, &format!("header time: {e}")))?;
                    Ok(Meta { height: m.height, time, num_txs: m.num_txs })
                })
                .collect::<chain::Result<Vec<_>>>()
        })
        .buffer_unordered(CONCURRENT_FETCHES)
        .try_collect()
        .await?;
    let mut metas: Vec<Meta> = pages.into_iter().flatten().collect();
    metas.sort_by_key(|m| m.height);
    metas.dedup_by_key(|m| m.height);
    let complete = metas.len() as u64 == to - from + 1;
    if !complete {
        return Err(rpc::malformed(rpc_url, &format!("blocks {from}..{to} not all returned")));
    }
    Ok((metas, calls))
}

/// The `utils.metrics.throughput` job's one step.
pub struct MeasureStep {
    pub client: ChainClient,
    pub target: ChainTarget,
    pub from: u64,
    pub to: u64,
    /// The request's window, echoed in the result.
    pub requested: Value,
}

impl Step for MeasureStep {
    fn name(&self) -> &str {
        "measure"
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        async move {
            let (from, to) = (self.from, self.to);
            ctx.progress(&format!("reading block metas {from}..={to}"));
            let (metas, calls) = fetch(&self.client, &self.target.rpc, from, to).await.map_err(|e| {
                Failure::new(ErrorCode::UpstreamError, format!("failed to read block metas: {e}"))
            })?;
            ctx.command(&format!("blockchain {from}..{to} ({calls} calls)"), "ok");
            let report = compute(&self.target.chain_id, &metas).ok_or_else(|| {
                Failure::new(ErrorCode::InternalError, "fewer than two blocks in the range")
            })?;
            if let Some(gap) = report.halts.first() {
                ctx.warn(&format!(
                    "chain halted inside the range: {}s between heights {} and {}",
                    gap.seconds, gap.from_height, gap.to_height
                ));
            }
            let summary = format!(
                "{} txs in {} blocks over {:.3}s",
                report.tx_count, report.included_blocks, report.duration_seconds
            );
            let mut result = serde_json::to_value(&report).unwrap_or_default();
            result["requested"] = self.requested.clone();
            result["upstreamCalls"] = calls.into();
            result["measuredAt"] = Timestamp::now().to_string().into();
            ctx.set_result(result);
            Ok(StepOutcome::Done(summary))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metas(spec: &[(f64, u64)]) -> Vec<Meta> {
        spec.iter()
            .enumerate()
            .map(|(i, &(t, n))| Meta {
                height: 10 + i as u64,
                time: Timestamp::from_nanosecond((t * 1e9) as i128).unwrap(),
                num_txs: n,
            })
            .collect()
    }

    #[test]
    fn the_start_block_is_the_mark_and_its_txs_are_not_counted() {
        let r = compute("gwc", &metas(&[(0.0, 7), (1.0, 10), (2.0, 0), (4.0, 30)])).unwrap();
        assert_eq!((r.from_height, r.to_height, r.included_blocks), (10, 13, 3));
        assert_eq!((r.tx_count, r.tx_count_inclusive), (40, 47));
        assert_eq!(r.duration_seconds, 4.0);
        assert_eq!(r.tps, Some(10.0));
        assert_eq!((r.blocks_with_txs, r.empty_blocks), (2, 1));
        assert_eq!(r.longest_gap, Gap { from_height: 12, to_height: 13, seconds: 2.0 });
        assert!(r.halts.is_empty(), "2 s against a 1 s median is no halt");
    }

    #[test]
    fn a_halt_inside_the_range_is_reported() {
        let r = compute("gwc", &metas(&[(0.0, 0), (1.0, 1), (2.0, 1), (30.0, 1), (31.0, 1)])).unwrap();
        assert_eq!(r.halts, vec![Gap { from_height: 12, to_height: 13, seconds: 28.0 }]);
        assert_eq!(r.longest_gap.seconds, 28.0);
    }

    #[test]
    fn equal_header_times_give_no_rate() {
        let r = compute("gwc", &metas(&[(5.0, 0), (5.0, 3)])).unwrap();
        assert_eq!(r.tps, None);
        assert!(compute("gwc", &metas(&[(5.0, 0)])).is_none());
    }

    #[test]
    fn windows_resolve_against_the_latest_height() {
        assert_eq!(Window::Last(10).resolve(100).unwrap(), (90, 100));
        assert_eq!(Window::Range { from: 5, to: 9 }.resolve(9).unwrap(), (5, 9));
        assert!(Window::Last(100).resolve(100).is_err(), "the start mark needs one block more");
        assert!(Window::Range { from: 5, to: 5 }.resolve(9).is_err());
        assert!(Window::Range { from: 0, to: 5 }.resolve(9).is_err());
        assert!(Window::Range { from: 5, to: 10 }.resolve(9).is_err());
        assert_eq!(Window::Range { from: 5, to: 9 }.span(), 4);
    }
}
