//! Block-time statistics over the latest `window` headers, computed one fixed way: samples
//! are the differences of consecutive header times in seconds; mean, population standard
//! deviation, min, max, and percentiles by linear interpolation between closest ranks
//! (Hyndman–Fan type 7, numpy's default). `HeaderCache` keeps header times per chain so
//! that after k new blocks only the new headers are fetched (⌈k/20⌉ `blockchain` calls), and
//! the reports computed at the chain's latest height keyed by (window, percentiles), so any
//! repeat at that height is `cached` (seed 000 M4).

use crate::sync::Locked;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;

/// Window bounds and defaults of `GET /chains/{id}/blocktime` (documented in the OpenAPI document).
pub const MIN_WINDOW: u64 = 2;
pub const MAX_WINDOW: u64 = 2000;
pub const DEFAULT_WINDOW: u64 = 100;
pub const DEFAULT_PERCENTILES: [f64; 2] = [50.0, 95.0];

/// `percentiles=50,90,99.9` → `[50, 90, 99.9]`: each in (0, 100], duplicates dropped.
pub fn parse_percentiles(list: &str) -> Result<Vec<f64>, String> {
    let mut out: Vec<f64> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let p: f64 = part.parse().map_err(|_| format!("{part} is not a number"))?;
        if !(p > 0.0 && p <= 100.0) {
            return Err(format!("{part} is outside (0, 100]"));
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.is_empty() {
        return Err("no percentile given".into());
    }
    Ok(out)
}

/// The stats key of a percentile: `p50`, `p99.9`.
pub fn percentile_key(p: f64) -> String {
    format!("p{p}")
}

/// Mean/min/max/stddev and the asked percentiles, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Stats {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Population standard deviation.
    pub stddev: f64,
    /// `pNN` keys, one per asked percentile.
    #[serde(flatten)]
    pub percentiles: BTreeMap<String, f64>,
}

/// Seconds between consecutive header times (input sorted by height).
pub fn intervals(times: &[(u64, Timestamp)]) -> Vec<f64> {
    times.windows(2).map(|w| w[1].1.duration_since(w[0].1).as_secs_f64()).collect()
}

/// Type-7 percentile of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// Statistics of the samples; `None` when there are none.
pub fn stats(samples: &[f64], percentiles: &[f64]) -> Option<Stats> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let mean = sorted.iter().sum::<f64>() / n;
    let variance = sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    Some(Stats {
        mean,
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        stddev: variance.sqrt(),
        percentiles: percentiles.iter().map(|&p| (percentile_key(p), percentile(&sorted, p))).collect(),
    })
}

/// `blockchain` calls that fetch the missing heights: contiguous runs split into ranges of
/// at most `page` heights, `(min, max)` each.
pub fn fetch_plan(missing: &[u64], page: u64) -> Vec<(u64, u64)> {
    let mut plan: Vec<(u64, u64)> = Vec::new();
    for &h in missing {
        match plan.last_mut() {
            Some((min, max)) if h == *max + 1 && h - *min < page => *max = h,
            _ => plan.push((h, h)),
        }
    }
    plan
}

/// The result of one window, as served.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub window: u64,
    pub sample_count: usize,
    pub unit: &'static str,
    pub stats: Stats,
    pub range: Range,
    /// Each header-time interval in seconds, oldest first (the i-th ends at `fromHeight`+1+i);
    /// served only when asked (`include=intervals`), kept with the memo so a repeat has them.
    #[serde(skip)]
    pub intervals: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Range {
    pub from_height: u64,
    pub to_height: u64,
    pub from_time: String,
    pub to_time: String,
}

/// The report of headers `times` (sorted, consecutive) for a requested window.
pub fn report(window: u64, times: &[(u64, Timestamp)], percentiles: &[f64]) -> Option<Report> {
    let samples = intervals(times);
    let (first, last) = (times.first()?, times.last()?);
    Some(Report {
        window,
        sample_count: samples.len(),
        unit: "seconds",
        stats: stats(&samples, percentiles)?,
        range: Range {
            from_height: first.0,
            to_height: last.0,
            from_time: first.1.to_string(),
            to_time: last.1.to_string(),
        },
        intervals: samples,
    })
}

/// What a report was computed for: the same key at the same latest height is `cached`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoKey {
    pub latest_height: u64,
    pub window: u64,
    pub percentiles: Vec<f64>,
}

impl MemoKey {
    /// The key among one height's reports: the window and the percentiles as a set (the
    /// report's `pNN` keys do not depend on the order asked).
    fn slot(&self) -> (u64, Vec<u64>) {
        let mut bits: Vec<u64> = self.percentiles.iter().map(|p| p.to_bits()).collect();
        bits.sort_unstable();
        bits.dedup();
        (self.window, bits)
    }
}

/// Reports kept per chain at its latest height; beyond it the set starts over (a bound on
/// what distinct queries can hold, far above what a dashboard or an experiment asks).
const MEMOS_PER_CHAIN: usize = 64;

#[derive(Default)]
struct ChainHeaders {
    times: BTreeMap<u64, Timestamp>,
    /// The latest height `memos` were computed at; a new height makes them all stale.
    memo_height: u64,
    memos: HashMap<(u64, Vec<u64>), Report>,
}

/// Header times per chain (keyed by RPC URL), at most `capacity` heights each, the oldest
/// dropped first; at most `max_chains` chains, an arbitrary one dropped beyond that.
#[derive(Clone)]
pub struct HeaderCache {
    chains: Arc<Mutex<HashMap<String, ChainHeaders>>>,
    capacity: usize,
    max_chains: usize,
}

impl HeaderCache {
    /// `capacity` is raised to `MAX_WINDOW` so a full window always fits.
    pub fn new(capacity: usize, max_chains: usize) -> Self {
        Self {
            chains: Arc::default(),
            capacity: capacity.max(MAX_WINDOW as usize),
            max_chains: max_chains.max(1),
        }
    }

    fn with<T>(&self, key: &str, f: impl FnOnce(&mut ChainHeaders) -> T) -> T {
        let mut chains = self.chains.locked();
        if !chains.contains_key(key)
            && chains.len() >= self.max_chains
            && let Some(victim) = chains.keys().next().cloned()
        {
            chains.remove(&victim);
        }
        f(chains.entry(key.to_string()).or_default())
    }

    /// Forgets a chain's headers when they cannot be its history any more: heights above
    /// the node's tip, or a different time at the tip (the chain was reset or the endpoint
    /// now points at another node).
    pub fn check_tip(&self, key: &str, latest: u64, latest_time: Option<Timestamp>) {
        self.with(key, |c| {
            let went_back = c.times.last_key_value().is_some_and(|(h, _)| *h > latest);
            let rewritten =
                matches!((c.times.get(&latest), latest_time), (Some(cached), Some(t)) if *cached != t);
            if went_back || rewritten {
                *c = ChainHeaders::default();
            }
        });
    }

    /// The report memoized for this window and percentiles at this latest height, if any.
    pub fn memo(&self, key: &str, memo: &MemoKey) -> Option<Report> {
        self.with(key, |c| {
            (c.memo_height == memo.latest_height).then(|| c.memos.get(&memo.slot()).cloned()).flatten()
        })
    }

    pub fn set_memo(&self, key: &str, memo: MemoKey, report: Report) {
        self.with(key, |c| {
            if c.memo_height != memo.latest_height || c.memos.len() >= MEMOS_PER_CHAIN {
                c.memos.clear();
                c.memo_height = memo.latest_height;
            }
            c.memos.insert(memo.slot(), report);
        });
    }

    /// Heights in `from..=to` not cached yet, ascending.
    pub fn missing(&self, key: &str, from: u64, to: u64) -> Vec<u64> {
        self.with(key, |c| (from..=to).filter(|h| !c.times.contains_key(h)).collect())
    }

    /// Stores header times, then drops the oldest beyond the capacity.
    pub fn insert(&self, key: &str, times: impl IntoIterator<Item = (u64, Timestamp)>) {
        let capacity = self.capacity;
        self.with(key, |c| {
            c.times.extend(times);
            while c.times.len() > capacity {
                c.times.pop_first();
            }
        });
    }

    /// The cached times of `from..=to` in height order, when every one is there.
    pub fn window(&self, key: &str, from: u64, to: u64) -> Option<Vec<(u64, Timestamp)>> {
        self.with(key, |c| (from..=to).map(|h| c.times.get(&h).map(|t| (h, *t))).collect())
    }
}

/// One measurement as served: the report, whether it was memoized, and the node's view.
pub struct Measured {
    pub report: Report,
    pub cached: bool,
    pub latest_height: u64,
    pub network: Option<String>,
}

/// `blockchain` calls in flight at once while filling a cold window.
const CONCURRENT_FETCHES: usize = 4;

/// Block-time statistics of the latest `window` blocks of the node at `rpc`: one `status`
/// call, then only the `blockchain` pages for heights not cached yet; the same window at
/// the same latest height is answered from the memo.
pub async fn measure(
    client: &super::ChainClient,
    cache: &HeaderCache,
    rpc: &str,
    window: u64,
    percentiles: &[f64],
) -> super::Result<Measured> {
    use futures::{StreamExt as _, TryStreamExt as _};
    let (status, _) = super::rpc::node_status(client, rpc).await?;
    let latest = status.latest_height.unwrap_or_default();
    cache.check_tip(rpc, latest, status.latest_time.as_deref().and_then(|t| t.parse().ok()));
    let memo_key = MemoKey { latest_height: latest, window, percentiles: percentiles.to_vec() };
    if let Some(report) = cache.memo(rpc, &memo_key) {
        return Ok(Measured { report, cached: true, latest_height: latest, network: status.network });
    }
    let from = latest.saturating_sub(window.saturating_sub(1)).max(1);
    if latest <= from {
        return Err(super::Error::Validation {
            field: "window",
            message: format!("the chain has {latest} block(s); at least 2 are needed"),
        });
    }
    let plan = fetch_plan(&cache.missing(rpc, from, latest), super::rpc::BLOCKCHAIN_PAGE);
    futures::stream::iter(plan)
        .map(|(min, max)| async move {
            let metas = super::rpc::header_times(client, rpc, min, max).await?;
            let parsed = metas
                .into_iter()
                .map(|(h, t)| t.parse::<Timestamp>().map(|t| (h, t)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| super::rpc::malformed(rpc, &format!("header time: {e}")))?;
            cache.insert(rpc, parsed);
            Ok::<_, super::Error>(())
        })
        .buffer_unordered(CONCURRENT_FETCHES)
        .try_collect::<Vec<()>>()
        .await?;
    let times = cache
        .window(rpc, from, latest)
        .ok_or_else(|| super::rpc::malformed(rpc, &format!("headers {from}..{latest} not all returned")))?;
    let report = report(window, &times, percentiles)
        .ok_or_else(|| super::rpc::malformed(rpc, "no block-time samples"))?;
    cache.set_memo(rpc, memo_key, report.clone());
    Ok(Measured { report, cached: false, latest_height: latest, network: status.network })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64) -> Timestamp {
        Timestamp::from_nanosecond((secs * 1e9) as i128).unwrap()
    }

    #[test]
    fn a_steady_chain_has_its_interval_as_every_statistic() {
        let times: Vec<_> = (1..=11).map(|h| (h, at(h as f64 * 2.0))).collect();
        let r = report(11, &times, &[50.0, 95.0]).unwrap();
        assert_eq!(r.sample_count, 10);
        assert_eq!((r.stats.mean, r.stats.min, r.stats.max, r.stats.stddev), (2.0, 2.0, 2.0, 0.0));
        assert_eq!(r.stats.percentiles["p50"], 2.0);
        assert_eq!((r.range.from_height, r.range.to_height), (1, 11));
    }

    #[test]
    fn percentiles_interpolate_between_closest_ranks() {
        let s = stats(&[1.0, 2.0, 3.0, 4.0], &[50.0, 100.0, 25.0]).unwrap();
        assert_eq!(s.percentiles["p50"], 2.5);
        assert_eq!(s.percentiles["p100"], 4.0);
        assert_eq!(s.percentiles["p25"], 1.75);
        assert_eq!(s.mean, 2.5);
        assert!((s.stddev - 1.25f64.sqrt()).abs() < 1e-12);
        assert!(stats(&[], &[50.0]).is_none());
    }

    #[test]
    fn percentile_lists_are_validated() {
        assert_eq!(parse_percentiles("50, 99.9,50").unwrap(), vec![50.0, 99.9]);
        assert!(parse_percentiles("0").is_err());
        assert!(parse_percentiles("101").is_err());
        assert!(parse_percentiles("abc").is_err());
        assert!(parse_percentiles("").is_err());
        assert_eq!(percentile_key(99.9), "p99.9");
    }

    #[test]
    fn the_fetch_plan_uses_one_call_per_twenty_contiguous_heights() {
        let missing: Vec<u64> = (1..=2000).collect();
        assert_eq!(fetch_plan(&missing, 20).len(), 100);
        assert_eq!(fetch_plan(&[5, 6, 7, 30], 20), vec![(5, 7), (30, 30)]);
        assert_eq!(fetch_plan(&(101..=125).collect::<Vec<_>>(), 20), vec![(101, 120), (121, 125)]);
    }

    #[test]
    fn the_cache_keeps_at_most_its_capacity_and_reports_what_is_missing() {
        let cache = HeaderCache::new(0, 4);
        cache.insert("gwc", (1..=2100).map(|h| (h, at(h as f64))));
        assert_eq!(cache.missing("gwc", 1, 3), vec![1, 2, 3]);
        assert!(cache.missing("gwc", 101, 2100).is_empty());
        assert_eq!(cache.window("gwc", 2099, 2100).unwrap().len(), 2);
        assert!(cache.window("gwc", 100, 101).is_none());
    }

    #[test]
    fn reports_are_memoized_per_window_and_percentile_set_at_one_height() {
        let cache = HeaderCache::new(0, 4);
        let times: Vec<_> = (1..=61).map(|h| (h, at(h as f64))).collect();
        let key = |latest_height, window, percentiles: &[f64]| MemoKey {
            latest_height,
            window,
            percentiles: percentiles.to_vec(),
        };
        for window in [50, 60] {
            let r = report(window, &times[61 - window as usize..], &[50.0, 95.0]).unwrap();
            cache.set_memo("gwc", key(61, window, &[50.0, 95.0]), r);
        }
        assert_eq!(cache.memo("gwc", &key(61, 50, &[95.0, 50.0])).unwrap().window, 50, "order-free");
        assert_eq!(cache.memo("gwc", &key(61, 60, &[50.0, 95.0])).unwrap().window, 60, "both kept");
        assert!(cache.memo("gwc", &key(61, 60, &[50.0])).is_none(), "other percentiles: not the same");
        assert!(cache.memo("gwc", &key(62, 60, &[50.0, 95.0])).is_none(), "a new height: stale");
        let r = report(2, &times[..2], &[50.0]).unwrap();
        cache.set_memo("gwc", key(62, 2, &[50.0]), r);
        assert!(cache.memo("gwc", &key(61, 50, &[50.0, 95.0])).is_none(), "the old height's are gone");
    }

    #[test]
    fn a_chain_that_went_back_or_rewrote_its_tip_is_forgotten() {
        let cache = HeaderCache::new(0, 4);
        cache.insert("gwc", (1..=10).map(|h| (h, at(h as f64))));
        cache.check_tip("gwc", 10, Some(at(10.0)));
        assert!(cache.missing("gwc", 1, 10).is_empty(), "same tip, same time: kept");
        cache.check_tip("gwc", 10, Some(at(99.0)));
        assert_eq!(cache.missing("gwc", 1, 10).len(), 10, "another time at the tip: forgotten");
        cache.insert("gwc", (1..=10).map(|h| (h, at(h as f64))));
        cache.check_tip("gwc", 5, None);
        assert_eq!(cache.missing("gwc", 1, 5).len(), 5, "tip below the cache: forgotten");
    }
}
