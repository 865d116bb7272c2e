//! Prometheus metrics, served at `GET /metrics` in the text exposition format (OpenMetrics
//! 1.0, which Prometheus scrapes natively). One `Metrics` per `AppState`; the job runner,
//! the cache reflectors and the chain client record into it through small hooks, and the
//! gauges that mirror in-memory state (jobs held, cached objects) are refreshed per scrape.
//! Every family is in the first scrape: its HELP/TYPE even without a series (the crate
//! leaves empty families out; `Shown` keeps them), and the label sets known in advance (job
//! types and statuses, exec outcomes, each watch's restart reasons) at 0, so a dashboard or
//! a `rate()` has a series to start from.

use crate::sync::Locked;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

/// The content type of the exposition `encode` writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub scope: String,
    pub r#type: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    pub r#type: String,
    pub step: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// `pods/<namespace>`, `nodes`… (the reflector's name).
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RestartLabels {
    pub kind: String,
    /// `error` (the watch failed and backs off) or `relist` (a new initial list, e.g. after
    /// `410 Expired`).
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    pub chain: String,
    /// The RPC method (`status`, `block`…) or the REST route with its variable parts as
    /// placeholders (`/cosmos/auth/v1beta1/accounts/{}`), so the label set stays bounded.
    pub method: String,
    /// `ok`, `upstream_error`, `unreachable` or `timeout`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExecLabels {
    /// `ok`, `exit_nonzero`, `start_failed`, `no_status`, `timeout` or `io_error`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IbcLabels {
    /// The storage chain of the gwc↔chain pair.
    pub pair: String,
    /// `gwc_to_chain` or `chain_to_gwc`.
    pub direction: String,
    /// `packets` or `acks`.
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HopLabels {
    /// The storage chain of the gwc↔chain pair.
    pub pair: String,
    /// `send_to_recv`, `recv_to_ack` or `send_to_ack`.
    pub hop: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClientLabels {
    pub chain: String,
    pub client: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChainLabels {
    pub chain: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// A family encoded even when it has no series yet (descriptor only).
#[derive(Debug)]
struct Shown<M>(M);

impl<M: EncodeMetric> EncodeMetric for Shown<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> prometheus_client::metrics::MetricType {
        self.0.metric_type()
    }

    fn is_empty(&self) -> bool {
        false
    }
}

/// The job types the API creates, by scope.
pub const JOB_TYPES: [(&str, &str); 10] = [
    ("system", "system.start"),
    ("system", "system.reconcile"),
    ("system", "system.connect"),
    ("system", "system.relayer.restart"),
    ("utils", "utils.observe.tx-confirmation"),
    ("utils", "utils.observe.confirm-batch"),
    ("utils", "utils.observe.packets"),
    ("utils", "utils.load.broadcast-batch"),
    ("utils", "utils.metrics.throughput"),
    ("utils", "utils.snapshot.resource"),
];
/// Every job status, and the final ones `jobs_finished_total` counts.
const JOB_STATUSES: [&str; 5] = ["queued", "running", "succeeded", "failed", "canceled"];
const FINAL_STATUSES: [&str; 3] = ["succeeded", "failed", "canceled"];
/// The outcomes `k8s::exec` records.
pub const EXEC_OUTCOMES: [&str; 6] =
    ["ok", "exit_nonzero", "start_failed", "no_status", "timeout", "io_error"];
/// Why a reflector's watch restarted.
const RESTART_REASONS: [&str; 2] = ["error", "relist"];

/// Cheap to clone; every clone records into the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    jobs: Family<JobLabels, Gauge>,
    jobs_finished: Family<JobLabels, Counter>,
    step_seconds: Histograms<StepLabels>,
    cache_objects: Family<KindLabels, Gauge>,
    watch_restarts: Family<RestartLabels, Counter>,
    upstream_seconds: Histograms<UpstreamLabels>,
    ibc_unrelayed: Family<IbcLabels, Gauge>,
    ibc_packet_hop_seconds: Histograms<HopLabels>,
    ibc_trusting_period: Family<ClientLabels, Gauge>,
    ibc_trusting_left: Family<ClientLabels, Gauge>,
    relayer_balance: Family<ChainLabels, Gauge>,
    /// Serializes scrapes: the per-scrape gauges are cleared and refilled.
    scrape: Mutex<()>,
}

/// Exec calls are counted process-wide: `k8s::exec` is a free function with many callers,
/// and one process serves one cluster, so every registry shares this family.
static EXEC_CALLS: LazyLock<Family<ExecLabels, Counter>> = LazyLock::new(Family::default);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PassLabels {
    /// `in_sync` (no job), `succeeded` or `failed`.
    pub outcome: String,
}

/// Continuous-reconcile passes, process-wide like exec calls (one loop per process).
static RECONCILE_PASSES: LazyLock<Family<PassLabels, Counter>> = LazyLock::new(Family::default);
const PASS_OUTCOMES: [&str; 4] = ["in_sync", "waiting", "succeeded", "failed"];

fn step_histogram() -> Histogram {
    // 10 ms .. ~10 min: an exec is tens of ms, a link with retries minutes.
    Histogram::new(exponential_buckets(0.01, 3.0, 11))
}

fn upstream_histogram() -> Histogram {
    // 1 ms .. ~16 s: a node answers in ms; the default upstream timeout is 10 s.
    Histogram::new(exponential_buckets(0.001, 2.5, 12))
}

fn hop_histogram() -> Histogram {
    // 50 ms .. ~7 min: a testbed hop is a few 40 ms blocks, mainnet's average relay ~55 s.
    Histogram::new(exponential_buckets(0.05, 2.0, 14))
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("cryptomeria_bff");
        let jobs = Family::<JobLabels, Gauge>::default();
        registry.register("jobs", "Jobs held in memory, by scope, type and status", Shown(jobs.clone()));
        let jobs_finished = Family::<JobLabels, Counter>::default();
        registry.register(
            "jobs_finished",
            "Jobs that reached a final status, by scope, type and status",
            Shown(jobs_finished.clone()),
        );
        let step_seconds: Histograms<StepLabels> = Family::new_with_constructor(step_histogram);
        registry.register(
            "job_step_duration_seconds",
            "Duration of job steps, by job type, step and step status",
            Shown(step_seconds.clone()),
        );
        let cache_objects = Family::<KindLabels, Gauge>::default();
        registry.register(
            "cache_objects",
            "Objects in the watch cache, by kind",
            Shown(cache_objects.clone()),
        );
        let watch_restarts = Family::<RestartLabels, Counter>::default();
        registry.register(
            "cache_watch_restarts",
            "Watch restarts of the cache's reflectors, by kind and reason",
            Shown(watch_restarts.clone()),
        );
        let upstream_seconds: Histograms<UpstreamLabels> = Family::new_with_constructor(upstream_histogram);
        registry.register(
            "upstream_request_duration_seconds",
            "Latency of chain RPC/REST calls, by chain, method and outcome",
            Shown(upstream_seconds.clone()),
        );
        registry.register(
            "exec_calls",
            "Commands run in pods (pods/exec), by outcome",
            Shown(EXEC_CALLS.clone()),
        );
        for outcome in EXEC_OUTCOMES {
            let _ = EXEC_CALLS.get_or_create(&ExecLabels { outcome: outcome.into() });
        }
        registry.register(
            "reconcile_passes",
            "Passes of the continuous reconciler, by outcome (in_sync passes run no job)",
            Shown(RECONCILE_PASSES.clone()),
        );
        for outcome in PASS_OUTCOMES {
            let _ = RECONCILE_PASSES.get_or_create(&PassLabels { outcome: outcome.into() });
        }
        for ((scope, type_), status) in JOB_TYPES.iter().flat_map(|t| FINAL_STATUSES.map(|s| (t, s))) {
            let labels = JobLabels { scope: (*scope).into(), r#type: (*type_).into(), status: status.into() };
            let _ = jobs_finished.get_or_create(&labels);
        }
        let ibc_unrelayed = Family::<IbcLabels, Gauge>::default();
        registry.register(
            "ibc_unrelayed",
            "Packets or acks not yet relayed at the last IBC observation, by pair, direction and kind",
            Shown(ibc_unrelayed.clone()),
        );
        let ibc_packet_hop_seconds: Histograms<HopLabels> = Family::new_with_constructor(hop_histogram);
        registry.register(
            "ibc_packet_hop_seconds",
            "Commit-time latency of each relayed packet's hops, by pair and hop, from the chains' events",
            Shown(ibc_packet_hop_seconds.clone()),
        );
        let ibc_trusting_period = Family::<ClientLabels, Gauge>::default();
        registry.register(
            "ibc_client_trusting_period_seconds",
            "Trusting period of each gateway channel's light client at the last IBC observation",
            Shown(ibc_trusting_period.clone()),
        );
        let ibc_trusting_left = Family::<ClientLabels, Gauge>::default();
        registry.register(
            "ibc_client_trusting_period_left_seconds",
            "Time left before each gateway channel's light client expires unless updated, at the last IBC observation",
            Shown(ibc_trusting_left.clone()),
        );
        let relayer_balance = Family::<ChainLabels, Gauge>::default();
        registry.register(
            "relayer_balance_uatom",
            "The relayer wallet's uatom on each chain at the last IBC observation",
            Shown(relayer_balance.clone()),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                jobs,
                jobs_finished,
                step_seconds,
                cache_objects,
                watch_restarts,
                upstream_seconds,
                ibc_unrelayed,
                ibc_packet_hop_seconds,
                ibc_trusting_period,
                ibc_trusting_left,
                relayer_balance,
                scrape: Mutex::new(()),
            }),
        }
    }

    pub fn job_finished(&self, scope: &str, type_: &str, status: &str) {
        let labels = JobLabels { scope: scope.into(), r#type: type_.into(), status: status.into() };
        self.inner.jobs_finished.get_or_create(&labels).inc();
    }

    pub fn step_finished(&self, type_: &str, step: &str, status: &str, took: Duration) {
        let labels = StepLabels { r#type: type_.into(), step: step.into(), status: status.into() };
        self.inner.step_seconds.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// A reflector of `kind` started: its restart counters exist from now on, at 0.
    pub fn watch_started(&self, kind: &str) {
        for reason in RESTART_REASONS {
            let _ = self
                .inner
                .watch_restarts
                .get_or_create(&RestartLabels { kind: kind.into(), reason: reason.into() });
        }
    }

    pub fn watch_restarted(&self, kind: &str, reason: &str) {
        let labels = RestartLabels { kind: kind.into(), reason: reason.into() };
        let _ = self.inner.watch_restarts.get_or_create(&labels).inc();
    }

    pub fn upstream_request(&self, chain: &str, method: &str, outcome: &str, took: Duration) {
        let labels = UpstreamLabels { chain: chain.into(), method: method.into(), outcome: outcome.into() };
        self.inner.upstream_seconds.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// The backlog of one pair, direction and kind (`packets`/`acks`) at the last observation.
    pub fn ibc_unrelayed(&self, pair: &str, direction: &str, kind: &str, count: usize) {
        let labels = IbcLabels { pair: pair.into(), direction: direction.into(), kind: kind.into() };
        self.inner.ibc_unrelayed.get_or_create(&labels).set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub fn ibc_packet_hop(&self, pair: &str, hop: &str, seconds: f64) {
        let labels = HopLabels { pair: pair.into(), hop: hop.into() };
        self.inner.ibc_packet_hop_seconds.get_or_create(&labels).observe(seconds);
    }

    pub fn ibc_trusting_period(&self, chain: &str, client: &str, seconds: u64) {
        let labels = ClientLabels { chain: chain.into(), client: client.into() };
        self.inner.ibc_trusting_period.get_or_create(&labels).set(i64::try_from(seconds).unwrap_or(i64::MAX));
    }

    pub fn ibc_trusting_left(&self, chain: &str, client: &str, seconds: u64) {
        let labels = ClientLabels { chain: chain.into(), client: client.into() };
        self.inner.ibc_trusting_left.get_or_create(&labels).set(i64::try_from(seconds).unwrap_or(i64::MAX));
    }

    pub fn relayer_balance(&self, chain: &str, uatom: u128) {
        let labels = ChainLabels { chain: chain.into() };
        self.inner.relayer_balance.get_or_create(&labels).set(i64::try_from(uatom).unwrap_or(i64::MAX));
    }

    pub fn reconcile_pass(outcome: &str) {
        RECONCILE_PASSES.get_or_create(&PassLabels { outcome: outcome.into() }).inc();
    }

    pub fn exec_call(outcome: &str) {
        EXEC_CALLS.get_or_create(&ExecLabels { outcome: outcome.into() }).inc();
    }

    /// Encodes the registry after `refresh` has set the per-scrape gauges (jobs held,
    /// cached objects), which are cleared first so vanished label sets disappear.
    pub fn encode(&self, refresh: impl FnOnce(&mut Snapshot<'_>)) -> String {
        let _one_scrape = self.inner.scrape.locked();
        self.inner.jobs.clear();
        for ((scope, type_), status) in JOB_TYPES.iter().flat_map(|t| JOB_STATUSES.map(|s| (t, s))) {
            let labels = JobLabels { scope: (*scope).into(), r#type: (*type_).into(), status: status.into() };
            let _ = self.inner.jobs.get_or_create(&labels);
        }
        self.inner.cache_objects.clear();
        refresh(&mut Snapshot { inner: &self.inner });
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry);
        text
    }
}

/// Setters of the per-scrape gauges.
pub struct Snapshot<'a> {
    inner: &'a Inner,
}

impl Snapshot<'_> {
    pub fn job(&mut self, scope: &str, type_: &str, status: &str) {
        let labels = JobLabels { scope: scope.into(), r#type: type_.into(), status: status.into() };
        self.inner.jobs.get_or_create(&labels).inc();
    }

    pub fn cache_objects(&mut self, kind: &str, count: usize) {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        self.inner.cache_objects.get_or_create(&KindLabels { kind: kind.into() }).set(count);
    }
}

/// A REST path with its variable segments (addresses, hashes, heights) replaced by `{}`,
/// for a bounded `method` label: a segment is variable when it is all digits, or holds a
/// digit and is longer than API version words such as `v1beta1`.
pub fn route_template(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    path.split('/')
        .map(|seg| {
            let digits = seg.bytes().filter(u8::is_ascii_digit).count();
            let variable = !seg.is_empty() && (digits == seg.len() || (digits > 0 && seg.len() > 8));
            if variable { "{}" } else { seg }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_templates_keep_words_and_hide_ids() {
        assert_eq!(
            route_template("/cosmos/auth/v1beta1/accounts/cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4"),
            "/cosmos/auth/v1beta1/accounts/{}"
        );
        assert_eq!(
            route_template(
                "/cosmos/tx/v1beta1/txs/5F1A0C3B7E9D4A2B8C6E0F1D3A5B7C9E1F2A4B6C8D0E2F4A6B8C0D2E4F6A8B0C"
            ),
            "/cosmos/tx/v1beta1/txs/{}"
        );
        assert_eq!(
            route_template("/cosmos/base/tendermint/v1beta1/blocks/42"),
            "/cosmos/base/tendermint/v1beta1/blocks/{}"
        );
        assert_eq!(route_template("/cosmos/tx/v1beta1/simulate"), "/cosmos/tx/v1beta1/simulate");
    }

    #[test]
    fn a_scrape_shows_recorded_series_and_only_the_current_gauges() {
        let metrics = Metrics::new();
        metrics.job_finished("utils", "utils.test", "succeeded");
        metrics.step_finished("utils.test", "only", "succeeded", Duration::from_millis(30));
        let text = metrics.encode(|s| s.job("utils", "utils.test", "running"));
        assert!(
            text.contains(
                r#"cryptomeria_bff_jobs_finished_total{scope="utils",type="utils.test",status="succeeded"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"cryptomeria_bff_jobs{scope="utils",type="utils.test",status="running"} 1"#));
        let text = metrics.encode(|_| {});
        assert!(
            !text.contains(r#"cryptomeria_bff_jobs{scope="utils",type="utils.test",status="running"}"#),
            "a gauge of a past scrape lingers: {text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn a_fresh_registry_shows_every_family_and_the_known_series_at_zero() {
        let metrics = Metrics::new();
        metrics.watch_started("pods/cryptomeria");
        let text = metrics.encode(|_| {});
        for (family, kind) in [
            ("jobs", "gauge"),
            ("jobs_finished", "counter"),
            ("job_step_duration_seconds", "histogram"),
            ("cache_objects", "gauge"),
            ("cache_watch_restarts", "counter"),
            ("upstream_request_duration_seconds", "histogram"),
            ("exec_calls", "counter"),
        ] {
            assert!(text.contains(&format!("# TYPE cryptomeria_bff_{family} {kind}\n")), "{family}: {text}");
            assert!(text.contains(&format!("# HELP cryptomeria_bff_{family} ")), "{family}: {text}");
        }
        for series in [
            r#"cryptomeria_bff_jobs{scope="system",type="system.start",status="running"} 0"#,
            r#"cryptomeria_bff_jobs_finished_total{scope="utils",type="utils.load.broadcast-batch",status="failed"} 0"#,
            r#"cryptomeria_bff_exec_calls_total{outcome="timeout"} 0"#,
            r#"cryptomeria_bff_cache_watch_restarts_total{kind="pods/cryptomeria",reason="relist"} 0"#,
        ] {
            assert!(text.contains(series), "{series} missing: {text}");
        }
    }
}
