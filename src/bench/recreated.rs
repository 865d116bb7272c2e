//! P9: `/system/start` after the relayer pod is recreated (gwc + mdsc + 4 fdsc, linked and
//! registered). The chart keeps `config.yaml` on an emptyDir, so the new pod has its keys but
//! no chains and no paths; the channels stay OPEN. Measured: wall time, execs, link actions
//! (must be 0: the paths are rebuilt from chain ids, never linked again) and the paths `rly`
//! then holds with client and connection ids. Baseline: the scripts re-run the same way — they
//! skip a chain with an OPEN channel entirely, so `rly` restarts with no path and relays nothing.

use super::harness::{self, Bff, Samples};
use super::reconcile::{FDSC, Kubectl, RLY_HOME, bff_for, builder, check_end_state, scripts_run};
use super::table::Row;
use super::{Reps, Section};
use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use testbed::Testbed;

/// Deletes the relayer pod (its Deployment recreates it) and waits until every pod is Ready.
async fn recreate_relayer(testbed: &Testbed) -> anyhow::Result<String> {
    let old = testbed.control.relayer_pod().context("relayer pod")?;
    let new = testbed.control.delete_pod(&old).context("the relayer pod is recreated")?;
    harness::all_ready(testbed).await?;
    Ok(new)
}

/// Storage chains whose path `rly paths show --json` reports with clients and connection.
async fn paths_with_ids(testbed: &Testbed, kubectl: &Kubectl) -> anyhow::Result<usize> {
    let relayer = testbed.control.relayer_pod().context("relayer pod")?;
    let mut with_ids = 0;
    for id in testbed.control.chain_ids().iter().filter(|c| *c != "gwc") {
        let path = format!("path-gwc-{id}-gw");
        let out = kubectl
            .exec(&relayer, &["rly", "paths", "show", &path, "--json", "--home", RLY_HOME], None)
            .await?;
        let shown: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
        if out.code == 0 && shown["status"]["clients"] == true && shown["status"]["connection"] == true {
            with_ids += 1;
        }
    }
    Ok(with_ids)
}

/// One BFF start after a recreation: (execs, wall time, link actions planned).
async fn bff_round(testbed: &Testbed, bff: &Bff) -> anyhow::Result<(u64, Duration, usize)> {
    let pod = recreate_relayer(testbed).await?;
    bff.until("/api/v1/system/status", "the new relayer pod Ready in the cache", |_, b| {
        b["data"]["relayer"]["pod"] == pod.as_str() && b["data"]["relayer"]["podReady"] == true
    })
    .await?;
    let before = harness::execs(testbed);
    let t = Instant::now();
    let job = bff.run_job("system", "start", &json!({})).await?;
    let took = t.elapsed();
    ensure!(
        job["status"] == "succeeded",
        "system.start after the relayer's recreation did not succeed: {job}"
    );
    let execs = harness::execs(testbed) - before;
    let id = job["jobId"].as_str().context("jobId")?;
    let resp = bff
        .http
        .get(format!("{}/api/v1/system/jobs/{id}/logs?format=jsonl&tail=100000", bff.url))
        .send()
        .await?;
    let links = resp
        .text()
        .await?
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| {
            l["outcome"] == "planned" && l["cmd"].as_str().is_some_and(|c| c.starts_with("rly transact link"))
        })
        .count();
    Ok((execs, took, links))
}

pub async fn run(reps: &Reps, section: &mut Section) -> anyhow::Result<()> {
    let paths = FDSC + 1;
    // The BFF: a cold start, then an untimed recreation round and `reps.timed` timed ones.
    let testbed = harness::testbed(builder()).await?;
    let bff = bff_for(&testbed).await?;
    let cold = bff.run_job("system", "start", &json!({})).await?;
    ensure!(cold["status"] == "succeeded", "cold system.start did not succeed: {cold}");
    let kubectl = Kubectl::new(&testbed)?;
    let (mut times, mut execs, mut links, mut with_ids) = (Samples::default(), 0, 0, paths);
    for round in 0..=reps.timed {
        let (e, took, l) = bff_round(&testbed, &bff).await?;
        check_end_state(&testbed, "system.start after the relayer's recreation")?;
        with_ids = with_ids.min(paths_with_ids(&testbed, &kubectl).await?);
        links = links.max(l);
        if round > 0 {
            times.push(took);
            execs = execs.max(e);
        }
    }
    drop((bff, kubectl, testbed));

    // The scripts, the same way on their own testbed.
    let testbed = harness::testbed(builder()).await?;
    let kubectl = Kubectl::new(&testbed)?;
    scripts_run(&testbed, &kubectl).await?;
    let (mut base_times, mut base_execs, mut base_with_ids) = (Samples::default(), 0, paths);
    for round in 0..=reps.timed {
        recreate_relayer(&testbed).await?;
        let (e, took) = scripts_run(&testbed, &kubectl).await?;
        check_end_state(&testbed, "the scripts after the relayer's recreation")?;
        base_with_ids = base_with_ids.min(paths_with_ids(&testbed, &kubectl).await?);
        if round > 0 {
            base_times.push(took);
            base_execs = base_execs.max(e);
        }
    }
    eprintln!("bench: P9 done");
    let (bff_s, base_s) = (times.median(), base_times.median());
    section.row(
        Row::new(
            "P9",
            format!("start after the relayer pod is recreated, {paths} paths (wall s, execs, links)"),
        )
        .figure(format!("{bff_s:.2} s, {execs} execs, {links} links, {with_ids}/{paths} paths with ids"))
        .baseline(format!(
            "{base_s:.2} s, {base_execs} execs, {base_with_ids}/{paths} paths with ids (relays nothing)"
        ))
        .spread(format!("{} / {}", times.spread(1.0, 2), base_times.spread(1.0, 2))),
    );
    section.json(
        "p9",
        json!({"bff_s": bff_s, "baseline_s": base_s, "execs": execs, "baseline_execs": base_execs,
        "links": links, "paths": paths, "paths_with_ids": with_ids, "baseline_paths_with_ids": base_with_ids}),
    );
    Ok(())
}
