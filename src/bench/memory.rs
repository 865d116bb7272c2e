//! P8: resident memory (VmRSS of this process) once the BFF caches 1,000 pods and retains
//! 1,000 finished jobs, and the growth from just before the BFF started. The testbed lives
//! in the same process, so the total includes it; the delta is the BFF's share.

use super::Section;
use super::harness::{self, Bff};
use super::table::Row;
use crate::jobs::{JobSpec, Scope, Step, StepCtx, StepFailure, StepOutcome};
use anyhow::{Context as _, ensure};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use testbed::Testbed;

const PODS: usize = 1000;
const JOBS: usize = 1000;

/// VmRSS of this process in MiB (Linux `/proc/self/status`).
fn rss_mib() -> anyhow::Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line")?;
    Ok(kib / 1024.0)
}

/// A step shaped like a warm `system.start` step: a few log lines and a small result.
struct Observed(&'static str);

impl Step for Observed {
    fn name(&self) -> &str {
        self.0
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, StepFailure>> {
        async move {
            for chain in ["gwc", "mdsc", "fdsc-0", "fdsc-1"] {
                ctx.command_because(&format!("rly keys show {chain} relayer"), "skipped", "key restored");
            }
            ctx.set_result(
                json!({"relayerPod": "cryptomeria-relayer-x", "chains": ["gwc", "mdsc", "fdsc-0", "fdsc-1"],
                                  "execCalls": 1, "force": false}),
            );
            Ok(StepOutcome::Skipped("nothing to do: every check passed".into()))
        }
        .boxed()
    }
}

pub async fn run(section: &mut Section) -> anyhow::Result<()> {
    let testbed = harness::testbed(Testbed::builder().fdsc(2).block_interval(None)).await?;
    let existing = kube::Api::<k8s_openapi::api::core::v1::Pod>::namespaced(
        harness::client(&testbed.kubeconfig).await?,
        "cryptomeria",
    )
    .list(&Default::default())
    .await?
    .items
    .len();
    testbed.control.add_plain_pods(PODS.saturating_sub(existing));
    let before = rss_mib()?;
    let bff = Bff::start(&testbed.kubeconfig, |s| {
        s.jobs.retained_jobs = JOBS;
        s.jobs.max_running_jobs = JOBS;
    })
    .await?;
    bff.until("/api/v1/system/status", "1000 pods in the cache", |_, b| {
        b["data"]["pods"].as_array().is_some_and(|p| p.len() == PODS)
    })
    .await?;
    let steps: Vec<Arc<dyn Step>> = ["discover", "initRelayer", "connectAll", "startRelayer", "waitIbcReady"]
        .into_iter()
        .map(|n| Arc::new(Observed(n)) as Arc<dyn Step>)
        .collect();
    let mut ids = Vec::with_capacity(JOBS);
    for _ in 0..JOBS {
        let spec = JobSpec {
            scope: Scope::Utils,
            type_: "bench.retained".into(),
            request: json!({"steps": ["initRelayer", "connectAll"], "force": false}),
            steps: steps.clone(),
            timeout: Duration::from_secs(60),
        };
        let job = bff.state.jobs.start(spec).map_err(|e| anyhow::anyhow!("job refused: {e:?}"))?;
        ids.push(job.job_id);
    }
    for id in &ids {
        let cell = bff.state.jobs.get(Scope::Utils, id).context("a retained job")?;
        cell.finished().await;
    }
    let retained = bff.state.jobs.list(Scope::Utils).len();
    ensure!(retained == JOBS, "{retained} jobs retained, not {JOBS}");
    let after = rss_mib()?;
    section.row(
        Row::new("P8", format!("resident memory, {PODS} cached pods + {JOBS} retained jobs"))
            .figure(format!("{after:.0} MiB (+{:.0} MiB for the BFF)", after - before))
            .baseline(format!("{before:.0} MiB before the BFF started")),
    );
    section.json(
        "p8",
        json!({"rss_mib": after, "delta_mib": after - before, "before_mib": before,
                              "pods": PODS, "jobs": JOBS}),
    );
    eprintln!("bench: P8 done");
    Ok(())
}
