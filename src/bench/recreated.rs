//! P10: the relayer pod recreated (gwc + mdsc + 4 fdsc, linked and registered). The chart
//! keeps `config.yaml` on an emptyDir, so the new pod has its keys but no chains and no paths;
//! the channels stay OPEN.
//!
//! - **Healing** (`RECONCILE_MODE=continuous`, no one posts): from the pod's deletion until an
//!   upload session started at that moment is CLOSED_SUCCESS — which needs the paths rebuilt
//!   with their ids and `rly start` relaying fragments, manifest and ack — with the BFF's execs
//!   over that time and the link actions of its passes (must be 0: paths are rebuilt from chain
//!   ids, never linked again). Baseline: the scripts have no loop, so nothing happens until a
//!   human re-runs them, and that re-run skips every chain with an OPEN channel: a session
//!   started after the re-run is still open when the bench stops waiting.
//! - **Manual start** (on demand): `POST /system/start` after a recreation: wall time, execs,
//!   link actions and the paths `rly` then holds with client and connection ids. Baseline: the
//!   scripts re-run the same way — `rly` restarts with no path and relays nothing.

use super::harness::{self, Bff, Samples};
use super::reconcile::{FDSC, Kubectl, RLY_HOME, bff_for, builder, check_end_state, scripts_run};
use super::session;
use super::table::Row;
use super::{Reps, Section};
use crate::reconcile::controller::Mode;
use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use testbed::Testbed;

/// How long the baseline's session is given to close after the scripts' re-run (the BFF's
/// heal takes a few seconds; this is several times that).
const BASELINE_SESSION_WAIT: Duration = Duration::from_secs(10);

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
    let links = bff.link_actions("system", id).await?;
    Ok((execs, took, links))
}

/// The BFF in continuous mode heals a recreated relayer pod with no POST; per round
/// (wall time until the session closes, the BFF's execs meanwhile, link actions).
async fn heal_round(testbed: &Testbed, bff: &Bff, round: usize) -> anyhow::Result<(Duration, u64, usize)> {
    let system_jobs = || async {
        let (_, jobs) = bff.get("/api/v1/system/jobs?limit=1000").await?;
        let ids: BTreeSet<String> = jobs["data"]["items"]
            .as_array()
            .context("system jobs")?
            .iter()
            .filter_map(|j| j["jobId"].as_str().map(str::to_string))
            .collect();
        anyhow::Ok(ids)
    };
    let before_jobs = system_jobs().await?;
    let before = harness::execs(testbed);
    let t = Instant::now();
    let old = testbed.control.relayer_pod().context("relayer pod")?;
    testbed.control.delete_pod(&old).context("the relayer pod is recreated")?;
    let id = session::upload(testbed, &format!("heal-{round}")).await?;
    session::await_closed(testbed, &id, harness::WAIT).await?;
    let (took, execs) = (t.elapsed(), harness::execs(testbed) - before);
    // Let the healing pass end (a new system job, none running), then count the link
    // actions of every pass since the deletion.
    bff.until("/api/v1/system/jobs?limit=1000", "the healing pass ended", |_, b| {
        let items = b["data"]["items"].as_array().map_or(&[][..], Vec::as_slice);
        let finished = |j: &Value| matches!(j["status"].as_str(), Some("succeeded" | "failed" | "canceled"));
        items.len() > before_jobs.len() && items.iter().all(finished)
    })
    .await?;
    let mut links = 0;
    for job in system_jobs().await?.difference(&before_jobs) {
        links += bff.link_actions("system", job).await?;
    }
    Ok((took, execs, links))
}

/// P10's healing figure: rounds of recreation on one continuous-mode BFF, after an untimed
/// session that checks the flow before any recreation.
async fn heal(reps: &Reps) -> anyhow::Result<(Samples, u64, usize)> {
    let testbed = harness::testbed(builder()).await?;
    let bff = super::reconcile::bff_with(&testbed, |s| s.reconcile.reconcile_mode = Mode::Continuous).await?;
    bff.until("/api/v1/system/reconciler", "the system brought up with no POST", |_, b| {
        b["data"]["inSync"] == true && b["data"]["health"] == "relaying"
    })
    .await?;
    let id = session::upload(&testbed, "before-recreation").await?;
    session::await_closed(&testbed, &id, harness::WAIT).await?;
    let (mut times, mut execs, mut links) = (Samples::default(), 0, 0);
    for round in 0..=reps.timed {
        let (took, e, l) = heal_round(&testbed, &bff, round).await?;
        check_end_state(&testbed, "the continuous reconciler after the relayer's recreation")?;
        links = links.max(l);
        if round > 0 {
            times.push(took);
            execs = execs.max(e);
        }
    }
    Ok((times, execs, links))
}

pub async fn run(reps: &Reps, section: &mut Section) -> anyhow::Result<()> {
    let paths = FDSC + 1;
    let (heal_times, heal_execs, heal_links) = heal(reps).await?;
    eprintln!("bench: P10 healing done");
    // The BFF on demand: a cold start, then an untimed recreation round and `reps.timed` timed ones.
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

    // The scripts, the same way on their own testbed; after the last re-run, a session is
    // given BASELINE_SESSION_WAIT to close.
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
    let id = session::upload(&testbed, "after-scripts").await?;
    let base_state = session::closed_within(&testbed, &id, BASELINE_SESSION_WAIT).await?;
    let base_closed = base_state == session::CLOSED_SUCCESS;
    eprintln!("bench: P10 done");

    let heal_s = heal_times.median();
    let wait_s = BASELINE_SESSION_WAIT.as_secs_f64();
    section.row(
        Row::new("P10", "heal a recreated relayer pod, no POST (s until a session closes, execs, links)")
            .figure(format!("{heal_s:.2} s, {heal_execs} execs, {heal_links} links"))
            .baseline(if base_closed {
                "closed after the scripts' manual re-run".to_string()
            } else {
                format!("never: {} {wait_s:.0} s after the scripts' manual re-run", short_state(&base_state))
            })
            .spread(format!("{} / -", heal_times.spread(1.0, 2))),
    );
    let (bff_s, base_s) = (times.median(), base_times.median());
    section.row(
        Row::new(
            "P10",
            format!(
                "POST /system/start after the relayer pod is recreated, {paths} paths (wall s, execs, links)"
            ),
        )
        .figure(format!("{bff_s:.2} s, {execs} execs, {links} links, {with_ids}/{paths} paths with ids"))
        .baseline(format!(
            "{base_s:.2} s, {base_execs} execs, {base_with_ids}/{paths} paths with ids (relays nothing)"
        ))
        .spread(format!("{} / {}", times.spread(1.0, 2), base_times.spread(1.0, 2))),
    );
    section.json(
        "p10",
        json!({"heal_seconds": heal_s, "heal_execs": heal_execs, "link_actions": heal_links,
        "heal_rounds": heal_times.0.len(), "baseline_session_state": base_state,
        "baseline_session_closed": base_closed, "baseline_wait_seconds": wait_s,
        "bff_s": bff_s, "baseline_s": base_s, "execs": execs, "baseline_execs": base_execs,
        "links": links, "paths": paths, "paths_with_ids": with_ids, "baseline_paths_with_ids": base_with_ids}),
    );
    Ok(())
}

/// `SESSION_STATE_OPEN` → `still OPEN`.
fn short_state(state: &str) -> String {
    format!("still {}", state.strip_prefix("SESSION_STATE_").unwrap_or(state))
}
