//! P8: the BFF's own resident memory. The BFF runs as a separate `serve` process (this
//! executable, `--retained-jobs 1000`) against a testbed in the bench process, and its VmRSS
//! is read from `/proc/<pid>/status` at three points: idle with the chart's pods, after 1,000
//! more pods reached its cache, and after 1,000 finished jobs are retained. The jobs are real
//! ones posted over HTTP: `utils/metrics/throughput` over the last 10 blocks, a researcher's
//! most common read (two chain RPC calls, five steps, a log and a result each).
//! Budget: 64 MiB with both. The baseline is the same process idle.

use super::Section;
use super::harness;
use super::process::{Rss, Served};
use super::table::Row;
use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use testbed::Testbed;

const PODS: usize = 1000;
const JOBS: usize = 1000;
/// Clients posting jobs at once (each waits for its job's end before the next).
const CLIENTS: usize = 8;
/// The budget of the issue: the BFF with 1,000 cached pods and 1,000 retained jobs.
pub(super) const BUDGET_MIB: f64 = 64.0;

/// Pods in the BFF's `/system/status` (its pod cache).
async fn cached_pods(bff: &Served) -> anyhow::Result<usize> {
    let (_, status) = bff.get("/api/v1/system/status").await?;
    Ok(status["data"]["pods"].as_array().map_or(0, Vec::len))
}

/// `JOBS` throughput jobs over HTTP from `CLIENTS` clients, each run to its end.
async fn retained_jobs(bff: &Served) -> anyhow::Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    let body = json!({"chainId": "gwc", "lastBlocks": 10});
    let clients = (0..CLIENTS).map(|_| {
        let (api, next, body) = (bff.api.clone(), next.clone(), body.clone());
        tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < JOBS {
                let job = api.run_job("utils", "metrics/throughput", &body).await?;
                ensure!(job["status"] == "succeeded", "throughput job: {job}");
            }
            anyhow::Ok(())
        })
    });
    for c in futures::future::join_all(clients).await {
        c??;
    }
    let (_, list) = bff.get(&format!("/api/v1/utils/jobs?limit={JOBS}")).await?;
    let retained = list["data"]["items"].as_array().map_or(0, Vec::len);
    ensure!(retained == JOBS, "{retained} jobs retained, not {JOBS}");
    Ok(())
}

fn mib(rss: &Rss) -> Value {
    json!({"rss_mib": rss.total_mib, "anon_mib": rss.anon_mib, "threads": rss.threads})
}

pub async fn run(section: &mut Section) -> anyhow::Result<()> {
    let testbed = harness::testbed(Testbed::builder().fdsc(2).block_interval(None)).await?;
    testbed.control.produce_blocks("gwc", 20);
    let bff = Served::start(
        &testbed.kubeconfig,
        &["--retained-jobs", &JOBS.to_string(), "--max-running-jobs", &CLIENTS.to_string()],
    )
    .await?;
    let chart = cached_pods(&bff).await?;
    ensure!(chart > 0, "the BFF's cache shows no pod");
    let idle = bff.settled_rss().await?;

    testbed.control.add_plain_pods(PODS);
    bff.until("/api/v1/system/status", "1000 more pods in the cache", |_, b| {
        b["data"]["pods"].as_array().is_some_and(|p| p.len() == chart + PODS)
    })
    .await?;
    let pods = bff.settled_rss().await?;

    retained_jobs(&bff).await.context("posting the retained jobs")?;
    let full = bff.settled_rss().await?;
    let (per_pods, per_jobs) = (pods.total_mib - idle.total_mib, full.total_mib - pods.total_mib);
    let within = if full.total_mib <= BUDGET_MIB { "within" } else { "over" };
    section.row(
        Row::new("P8", format!("`serve` RSS, {} cached pods + {JOBS} retained jobs", chart + PODS))
            .figure(format!(
                "{:.0} MiB ({within} {BUDGET_MIB:.0}); +{per_pods:.1} per 1000 pods, +{per_jobs:.1} per 1000 jobs",
                full.total_mib
            ))
            .baseline(format!("{:.0} MiB idle ({chart} pods, no job)", idle.total_mib)),
    );
    section.json(
        "p8",
        json!({"rss_mib": full.total_mib, "anon_mib": full.anon_mib, "threads": full.threads,
               "budget_mib": BUDGET_MIB, "idle_rss_mib": idle.total_mib,
               "per_1000_pods_mib": per_pods * 1000.0 / PODS as f64,
               "per_1000_jobs_mib": per_jobs * 1000.0 / JOBS as f64,
               "pods": chart + PODS, "jobs": JOBS, "separate_process": true,
               "points": {"idle": mib(&idle), "pods": mib(&pods), "pods_and_jobs": mib(&full)}}),
    );
    eprintln!("bench: P8 done");
    Ok(())
}
