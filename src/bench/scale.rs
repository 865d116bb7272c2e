//! P9: the sizes researchers scale to — gwc + mdsc + 32 fdsc (33 links) and 2,000 extra pods in
//! the namespace. The BFF runs as its own `serve` process (so its RSS is its own) with P1's
//! policy. Measured: cold `POST /system/start` (wall, execs) against the scripts' sequence on an
//! identical fresh testbed — run once, it takes minutes at this size —, the warm re-run,
//! `GET /system/status` with 8 clients against a LIST per request, `GET /system/ibc` warm
//! (inside `IBC_HEALTH_TTL`) against a fresh observation per request, and the BFF's RSS.

use super::harness::{self, Samples, percentile};
use super::process::{BusyCore, Sched, Served};
use super::reconcile::{
    Kubectl, SERVE_FLAGS, bff_start, builder_of, chart_ready, check_end_state, scripts_run,
};
use super::status::{self, CLIENTS};
use super::table::Row;
use super::{Reps, Section};
use anyhow::ensure;
use serde_json::json;
use std::time::{Duration, Instant};
use testbed::Testbed;

/// Data chains and pods added beside the chart's: seed 002's "scale-time change" (32 data
/// chains) and 2,000 pods; `--quick` (the suite's structural test, on a debug build) uses a
/// quarter of both and says so in the JSON (`p9.fdsc`, `p9.extra_pods`).
#[derive(Debug, Clone, Copy)]
struct Size {
    fdsc: usize,
    extra_pods: usize,
}

impl Size {
    fn status_requests(self) -> usize {
        if self.fdsc < 32 { QUICK_STATUS_REQUESTS } else { STATUS_REQUESTS }
    }

    fn of(reps: &Reps) -> Self {
        if reps.quick { Self { fdsc: 8, extra_pods: 500 } } else { Self { fdsc: 32, extra_pods: 2000 } }
    }
}
/// Requests of a status round: enough that a round spans several of the chains' 1 s blocks
/// (about 5 s at ~1 ms a request), so its p99 meets their block bursts rather than missing them.
const STATUS_REQUESTS: usize = 40_000;
/// `--quick`: a structural run on a debug build.
const QUICK_STATUS_REQUESTS: usize = 400;
/// The block time of the chains while the second status round runs (CometBFT's `timeout_commit`
/// default).
const QUIET_BLOCK_INTERVAL: Duration = Duration::from_secs(1);
const BASELINE_STATUS_REQUESTS: usize = 40;
/// The other process of the loaded status round (`process::BusyCore`).
const LOAD: &str = "sh -c 'while :; do :; done'";
const IBC_REQUESTS: usize = 200;
/// Fresh IBC observations of the baseline (each after the TTL has run out).
const IBC_COLD_SAMPLES: usize = 3;
/// `IBC_HEALTH_TTL`: the default, as a user runs it.
const IBC_TTL: Duration = Duration::from_secs(2);

async fn testbed_at(size: Size) -> anyhow::Result<Testbed> {
    let t = Instant::now();
    let testbed = harness::testbed(builder_of(size.fdsc)).await?;
    testbed.control.add_plain_pods(size.extra_pods);
    harness::all_ready(&testbed).await?;
    eprintln!("bench: P9 testbed with {size:?} up in {:.1?}", t.elapsed());
    Ok(testbed)
}

async fn served(testbed: &Testbed, size: Size) -> anyhow::Result<Served> {
    let bff = Served::start(&testbed.kubeconfig, SERVE_FLAGS).await?;
    chart_ready(&bff, size.fdsc).await?;
    Ok(bff)
}

fn ms(v: &[f64], p: f64) -> f64 {
    percentile(v, p) * 1000.0
}

pub async fn run(reps: &Reps, section: &mut Section) -> anyhow::Result<()> {
    let size = Size::of(reps);
    let Size { fdsc, extra_pods } = size;
    // The BFF: `cold_reps` fresh testbeds; the last one also measures the warm start, the
    // reads and the RSS.
    let cold_reps = if reps.cold > 2 { 3 } else { 1 };
    let (mut cold, mut cold_execs) = (Samples::default(), 0);
    let (mut warm, mut warm_execs) = (Samples::default(), 0);
    let mut reads = None;
    for rep in 1..=cold_reps {
        let testbed = testbed_at(size).await?;
        let bff = served(&testbed, size).await?;
        let (execs, took) = bff_start(&testbed, &bff).await?;
        check_end_state(&testbed, "system.start at scale")?;
        cold.push(took);
        cold_execs = execs;
        eprintln!("bench: P9 BFF cold start {rep}/{cold_reps}: {took:.1?}, {execs} execs");
        if rep == cold_reps {
            for _ in 0..reps.timed {
                let (execs, took) = bff_start(&testbed, &bff).await?;
                warm.push(took);
                warm_execs = warm_execs.max(execs);
            }
            reads = Some(measure_reads(&testbed, &bff, size).await?);
        }
    }
    let reads = reads.expect("the last repetition measures the reads");

    // The scripts, once, on an identical fresh testbed: cold, then the warm re-run.
    let testbed = testbed_at(size).await?;
    let kubectl = Kubectl::new(&testbed)?;
    let (base_execs, base_took) = scripts_run(&testbed, &kubectl).await?;
    let (base_warm_execs, base_warm_took) = scripts_run(&testbed, &kubectl).await?;
    drop((kubectl, testbed));
    eprintln!("bench: P9 done");

    let pods = reads.pods;
    let (bff_s, base_s) = (cold.median(), base_took.as_secs_f64());
    let (wbff, wbase) = (warm.median(), base_warm_took.as_secs_f64());
    let at = format!("gwc+mdsc+{fdsc} fdsc, {pods} pods");
    section.row(
        Row::new("P9", format!("cold /system/start at scale, {at} (wall s, execs)"))
            .figure(format!("{bff_s:.2} s, {cold_execs} execs"))
            .baseline(format!("{base_s:.2} s, {base_execs} execs (run once)"))
            .ratio(base_s / bff_s)
            .spread(format!("{} / n=1", cold.spread(1.0, 2))),
    );
    section.row(
        Row::new("P9", "warm re-run at scale (wall s, execs)")
            .figure(format!("{wbff:.2} s, {warm_execs} execs"))
            .baseline(format!("{wbase:.2} s, {base_warm_execs} execs (run once)"))
            .ratio(wbase / wbff)
            .spread(format!("{} / n=1", warm.spread(1.0, 2))),
    );
    let r = &reads;
    section.row(
        Row::new(
            "P9",
            format!(
                "GET /system/status at scale, {CLIENTS} clients, {}s blocks (p50/p99 ms)",
                QUIET_BLOCK_INTERVAL.as_secs()
            ),
        )
        .figure(format!(
            "{:.1}/{:.1} ({:.1} ms CPU, {} KiB a page); {:.1}/{:.1} at {} ms blocks",
            r.status_p50,
            r.status_p99,
            r.status_cpu_ms,
            r.page_bytes / 1024,
            r.busy_status_p50,
            r.busy_status_p99,
            super::reconcile::BLOCK_INTERVAL.as_millis()
        ))
        .baseline(format!("{:.1}/{:.1} (a LIST per request)", r.base_status_p50, r.base_status_p99))
        .ratio(r.base_status_p99 / r.status_p99)
        .spread(format!("n={} / n={BASELINE_STATUS_REQUESTS}", r.status_requests)),
    );
    let [_, queue, _, client_queue] = r.loaded.per_request();
    let [_, quiet_queue, _, quiet_client_queue] = r.quiet.per_request();
    section.row(
        Row::new(
            "P9",
            format!("GET /system/status at scale, 1s blocks, one core busy ({LOAD}) (p50/p99 ms)"),
        )
        .figure(format!(
            "{:.1}/{:.1}; run-queue wait a request: serve {queue:.2} ms, clients {client_queue:.2} ms",
            r.loaded.p(50.0),
            r.loaded.p(99.0)
        ))
        .baseline(format!(
            "{:.1}/{:.1} unloaded; serve {quiet_queue:.2} ms, clients {quiet_client_queue:.2} ms",
            r.quiet.p(50.0),
            r.quiet.p(99.0)
        ))
        .spread(format!(
            "n={} / n={}; the loop had {:.0}% of a core",
            r.loaded.lat.len(),
            r.quiet.lat.len(),
            r.load_share * 100.0
        )),
    );
    section.row(
        Row::new("P9", format!("GET /system/ibc at scale, {CLIENTS} clients (warm p50/p99 ms; all p99)"))
            .figure(format!(
                "{:.1}/{:.1}; all {:.0} ({} refreshed)",
                r.ibc_p50, r.ibc_p99, r.ibc_all_p99, r.ibc_refreshed
            ))
            .baseline(format!("{:.0} (a fresh observation, median)", r.ibc_cold_ms.median() * 1000.0))
            .ratio(r.ibc_cold_ms.median() * 1000.0 / r.ibc_p99)
            .spread(format!("n={IBC_REQUESTS} / {}", r.ibc_cold_ms.spread(1000.0, 0))),
    );
    section.row(
        Row::new("P9", format!("`serve` RSS at scale, {pods} cached pods"))
            .figure(format!("{:.0} MiB", r.rss_mib))
            .baseline(format!("{:.0} MiB at P8's budget size", super::memory::BUDGET_MIB)),
    );
    let mut p9 = json!({"fdsc": fdsc, "extra_pods": extra_pods, "quick_size": reps.quick, "pods": pods,
               "bff_s": bff_s, "baseline_s": base_s, "ratio": base_s / bff_s,
               "execs": cold_execs, "baseline_execs": base_execs, "baseline_runs": 1,
               "cold_runs": cold.0.len(),
               "warm_execs": warm_execs, "warm_s": wbff, "baseline_warm_execs": base_warm_execs,
               "baseline_warm_s": wbase, "warm_ratio": wbase / wbff,
               "clients": CLIENTS,
               "status_p50_ms": r.status_p50, "status_p99_ms": r.status_p99,
               "status_block_interval_ms": QUIET_BLOCK_INTERVAL.as_millis() as u64,
               "busy_status_p50_ms": r.busy_status_p50, "busy_status_p99_ms": r.busy_status_p99,
               "busy_block_interval_ms": super::reconcile::BLOCK_INTERVAL.as_millis() as u64,
               "status_page_bytes": r.page_bytes, "status_cpu_ms_per_request": r.status_cpu_ms,
               "baseline_status_p50_ms": r.base_status_p50, "baseline_status_p99_ms": r.base_status_p99,
               "ibc_p50_ms": r.ibc_p50, "ibc_p99_ms": r.ibc_p99, "ibc_all_p99_ms": r.ibc_all_p99,
               "ibc_requests": IBC_REQUESTS, "ibc_refreshed": r.ibc_refreshed, "ibc_ttl_s": IBC_TTL.as_secs_f64(),
               "baseline_ibc_ms": r.ibc_cold_ms.median() * 1000.0,
               "rss_mib": r.rss_mib, "anon_mib": r.anon_mib});
    if let Some(p9) = p9.as_object_mut() {
        let loaded = json!({"status_round": r.quiet.json(), "loaded_status_round": r.loaded.json(),
            "loaded_no_refresh_round": r.no_refresh.json(),
            "loaded_status_p50_ms": r.loaded.p(50.0), "loaded_status_p99_ms": r.loaded.p(99.0),
            "load": LOAD, "load_core_share": r.load_share});
        p9.extend(loaded.as_object().cloned().unwrap_or_default());
    }
    section.json("p9", p9);
    Ok(())
}

/// One timed status round: the latencies, and what the scheduler counted for `serve`'s threads
/// and for the clients' thread meanwhile (where a tail under load comes from).
struct Round {
    lat: Vec<f64>,
    serve: Sched,
    clients: Sched,
    /// Chain `status` RPCs the testbed answered during the round (the page's heights), and
    /// the round's length.
    status_rpcs: u64,
    secs: f64,
}

impl Round {
    fn p(&self, p: f64) -> f64 {
        ms(&self.lat, p)
    }

    /// (on-CPU, run-queue) milliseconds per request, of `serve` and of the clients.
    fn per_request(&self) -> [f64; 4] {
        let n = self.lat.len().max(1) as f64;
        let (s, c) = (&self.serve, &self.clients);
        [s.on_cpu_s, s.run_queue_s, c.on_cpu_s, c.run_queue_s].map(|v| v * 1000.0 / n)
    }

    fn json(&self) -> serde_json::Value {
        let [cpu, queue, client_cpu, client_queue] = self.per_request();
        json!({"p50_ms": self.p(50.0), "p90_ms": self.p(90.0), "p99_ms": self.p(99.0),
               "max_ms": self.p(100.0), "serve_cpu_ms": cpu, "serve_run_queue_ms": queue,
               "clients_cpu_ms": client_cpu, "clients_run_queue_ms": client_queue,
               "chain_status_rpcs": self.status_rpcs, "seconds": self.secs})
    }
}

async fn status_round(testbed: &Testbed, bff: &Served, requests: usize) -> anyhow::Result<Round> {
    let url = format!("{}/api/v1/system/status", bff.url);
    let rpcs = || {
        let chains = testbed.control.chain_ids();
        chains
            .iter()
            .map(|c| testbed.control.chain_request_counts(c).get("rpc status").copied().unwrap_or(0))
            .sum::<u64>()
    };
    let (before, rpcs_before) = (bff.sched()?, rpcs());
    let (secs, lat, clients) = status::drive_sched(&url, requests, None).await?;
    let (serve, status_rpcs) = (bff.sched()?.since(before), rpcs() - rpcs_before);
    Ok(Round { lat, serve, clients, status_rpcs, secs: secs.as_secs_f64() })
}

/// What P9 reads from the BFF at scale once the system is up.
struct Reads {
    pods: usize,
    status_requests: usize,
    /// Size of one status page.
    page_bytes: usize,
    /// The `serve` process's CPU time per status page.
    status_cpu_ms: f64,
    status_p50: f64,
    status_p99: f64,
    /// The 1 s-blocks round (`status_p50`, `status_p99`) and the same with one core busy.
    quiet: Round,
    loaded: Round,
    /// `loaded` from a `serve` whose chain-heights memo did not expire.
    no_refresh: Round,
    /// The share of a core the busy loop had during the loaded round.
    load_share: f64,
    /// The same round with the chains at `BLOCK_INTERVAL`.
    busy_status_p50: f64,
    busy_status_p99: f64,
    base_status_p50: f64,
    base_status_p99: f64,
    ibc_p50: f64,
    ibc_p99: f64,
    /// p99 of every request, those that waited for a new observation included.
    ibc_all_p99: f64,
    /// Requests answered by a new observation (the memo had expired).
    ibc_refreshed: usize,
    ibc_cold_ms: Samples,
    rss_mib: f64,
    anon_mib: f64,
}

async fn measure_reads(testbed: &Testbed, bff: &Served, size: Size) -> anyhow::Result<Reads> {
    let (_, page) = bff.get("/api/v1/system/status").await?;
    let pods = page["data"]["pods"].as_array().map_or(0, Vec::len);
    ensure!(pods >= size.extra_pods + size.fdsc + 3, "the status page shows {pods} pods");

    // Status: untimed warm-up, then the timed round; the baseline is P3's LIST-per-request
    // handler, hosted by an in-process BFF on the same testbed.
    let url = format!("{}/api/v1/system/status", bff.url);
    status::drive(&url, 40, Some(pods)).await?;
    let page_bytes = bff.http.get(&url).send().await?.bytes().await?.len();
    let cpu = bff.cpu_seconds()?;
    let (_, busy_lat) = status::drive(&url, size.status_requests(), None).await?;
    // The BFF's own CPU per page: with 8 clients on 2 shared cores, p50 ≈ 4 × this.
    let status_cpu_ms = (bff.cpu_seconds()? - cpu) * 1000.0 / size.status_requests() as f64;
    // Again with the chains at a chain's usual block time: at BLOCK_INTERVAL the embedded
    // cluster makes ~850 blocks/s on the 2 cores the BFF and its clients share.
    let chains = testbed.control.chain_ids();
    for id in &chains {
        testbed.control.set_block_interval(id, Some(QUIET_BLOCK_INTERVAL));
    }
    let quiet = status_round(testbed, bff, size.status_requests()).await?;
    let (status_p50, status_p99) = (ms(&quiet.lat, 50.0), ms(&quiet.lat, 99.0));
    // And once more with another process keeping one of the 2 cores busy.
    let busy = BusyCore::start()?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (spun, t) = (busy.cpu_seconds()?, Instant::now());
    let loaded = status_round(testbed, bff, size.status_requests()).await?;
    let load_share = (busy.cpu_seconds()? - spun) / t.elapsed().as_secs_f64();
    // The same loaded round from a second `serve` whose chain-heights memo never expires
    // within it: what the heights' refresh adds to the tail.
    let memoized =
        Served::start(&testbed.kubeconfig, &[SERVE_FLAGS, &["--chain-status-ttl", "1h"]].concat()).await?;
    chart_ready(&memoized, size.fdsc).await?;
    status::drive(&format!("{}/api/v1/system/status", memoized.url), 40, Some(pods)).await?;
    let no_refresh = status_round(testbed, &memoized, size.status_requests()).await?;
    drop((busy, memoized));
    let listing = harness::Bff::start(&testbed.kubeconfig, |_| {}).await?;
    let (base_url, stop) = status::serve_baseline(listing.state.clone()).await?;
    status::drive(&base_url, 4, Some(pods)).await?;
    let (_, base_lat) = status::drive(&base_url, BASELINE_STATUS_REQUESTS, None).await?;
    drop((stop, listing));
    for id in &chains {
        testbed.control.set_block_interval(id, Some(super::reconcile::BLOCK_INTERVAL));
    }

    // IBC: a fresh observation per request (each after the TTL ran out), then `CLIENTS`
    // clients polling it, as dashboards do.
    let mut ibc_cold = Samples::default();
    for _ in 0..IBC_COLD_SAMPLES {
        tokio::time::sleep(IBC_TTL + Duration::from_millis(100)).await;
        let t = Instant::now();
        let (status, body) = bff.get("/api/v1/system/ibc").await?;
        ensure!(status == 200, "/system/ibc answered {status}: {body}");
        ibc_cold.push(t.elapsed());
    }
    let ibc = ibc_reads(bff).await?;
    let rss = bff.settled_rss().await?;
    Ok(Reads {
        pods,
        status_requests: size.status_requests(),
        page_bytes,
        status_cpu_ms,
        status_p50,
        status_p99,
        quiet,
        loaded,
        no_refresh,
        load_share,
        busy_status_p50: ms(&busy_lat, 50.0),
        busy_status_p99: ms(&busy_lat, 99.0),
        base_status_p50: ms(&base_lat, 50.0),
        base_status_p99: ms(&base_lat, 99.0),
        ibc_p50: ms(&ibc.warm, 50.0),
        ibc_p99: ms(&ibc.warm, 99.0),
        ibc_all_p99: ms(&ibc.all, 99.0),
        ibc_refreshed: ibc.all.len() - ibc.warm.len(),
        ibc_cold_ms: ibc_cold,
        rss_mib: rss.total_mib,
        anon_mib: rss.anon_mib,
    })
}

/// Latencies (s) of `IBC_REQUESTS` reads of `/system/ibc` from `CLIENTS` clients: all of them,
/// and the warm ones — answered from the memo, i.e. observed before the request was sent.
struct IbcReads {
    all: Vec<f64>,
    warm: Vec<f64>,
}

async fn ibc_reads(bff: &Served) -> anyhow::Result<IbcReads> {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let url = format!("{}/api/v1/system/ibc", bff.url);
    let clients = (0..CLIENTS).map(|_| {
        let (http, url, next) = (bff.http.clone(), url.clone(), next.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < IBC_REQUESTS {
                let (sent_at, sent) = (jiff::Timestamp::now(), Instant::now());
                let body = http.get(&url).send().await?.error_for_status()?.bytes().await?;
                let took = sent.elapsed().as_secs_f64();
                let body: serde_json::Value = serde_json::from_slice(&body)?;
                let observed: jiff::Timestamp =
                    body["data"]["observedAt"].as_str().unwrap_or_default().parse()?;
                seen.push((took, observed < sent_at));
            }
            anyhow::Ok(seen)
        })
    });
    let (mut all, mut warm) = (Vec::new(), Vec::new());
    for c in futures::future::join_all(clients).await {
        for (took, hit) in c?? {
            all.push(took);
            if hit {
                warm.push(took);
            }
        }
    }
    Ok(IbcReads { all, warm })
}
