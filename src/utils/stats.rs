//! Latency statistics of a batch, in seconds: count, mean, min, max, p50, p95, p99 — the
//! same type-7 percentiles as block-time statistics (`chain::blocktime::stats`).

use crate::chain::blocktime;
use serde::Serialize;
use utoipa::ToSchema;

/// Percentiles every latency report carries.
const PERCENTILES: [f64; 3] = [50.0, 95.0, 99.0];

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LatencyStats {
    pub count: usize,
    pub mean: f64,
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    /// Population standard deviation.
    pub stddev: f64,
    pub unit: &'static str,
}

/// Statistics of the samples (seconds); `None` when there are none.
pub fn latency_stats(samples: &[f64]) -> Option<LatencyStats> {
    let s = blocktime::stats(samples, &PERCENTILES)?;
    let p = |k: f64| s.percentiles.get(&blocktime::percentile_key(k)).copied().unwrap_or(f64::NAN);
    Some(LatencyStats {
        count: samples.len(),
        mean: s.mean,
        min: s.min,
        p50: p(50.0),
        p95: p(95.0),
        p99: p(99.0),
        max: s.max,
        stddev: s.stddev,
        unit: "seconds",
    })
}

/// `count / seconds`, or `None` over an empty or zero duration.
pub fn rate(count: u64, seconds: f64) -> Option<f64> {
    (seconds > 0.0).then(|| count as f64 / seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_stats_are_ordered_and_count_every_sample() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = latency_stats(&samples).unwrap();
        assert_eq!((s.count, s.min, s.max, s.mean), (100, 1.0, 100.0, 50.5));
        assert!(s.p50 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.max, "{s:?}");
        assert!((s.p95 - 95.05).abs() < 1e-9);
        assert!(latency_stats(&[]).is_none());
    }

    #[test]
    fn a_rate_over_no_time_is_absent() {
        assert_eq!(rate(10, 2.0), Some(5.0));
        assert_eq!(rate(10, 0.0), None);
    }
}
