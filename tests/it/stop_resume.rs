//! `POST /system/stop` and `/system/resume` (issue 20.3, `just stop` / `just resume`): stop
//! records each workload's replicas and scales the release to 0 through the scale
//! subresource; a second stop skips with reasons; resume restores the replicas, waits for
//! Ready and runs the start pipeline in the same job, after which the relayer (whose config
//! emptyDir was lost) relays again and an upload session closes. Checked with the real
//! `kubectl`, not only through the BFF.

use crate::reconcile::{Harness, assert_succeeded, step};
use serde_json::{Value, json};

const RECORD: &str = "cryptomeria.io/replicas-before-stop";

/// `kubectl get <kind> -o json` as `(name, spec.replicas, the recorded annotation)`.
async fn workloads(h: &Harness, kind: &str) -> Vec<(String, i64, Option<String>)> {
    let (code, out, err) = h.env.kubectl(&["get", kind, "-n", &h.env.ns(), "-o", "json"], None).await;
    assert_eq!(code, 0, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["metadata"]["name"].as_str().unwrap().to_string(),
                w["spec"]["replicas"].as_i64().unwrap(),
                w["metadata"]["annotations"][RECORD].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Pod names `kubectl get pods` lists with `selector`.
async fn pods(h: &Harness, selector: &str) -> Vec<String> {
    let (code, out, err) = h
        .env
        .kubectl(
            &["get", "pods", "-n", &h.env.ns(), "-l", selector, "-o", "jsonpath={.items[*].metadata.name}"],
            None,
        )
        .await;
    assert_eq!(code, 0, "{err}");
    out.split_whitespace().map(str::to_string).collect()
}

fn skipped_reasons(log: &[Value], step_name: &str) -> Vec<String> {
    log.iter()
        .filter(|l| l["step"] == step_name && l["outcome"] == "skipped" && l["cmd"].is_string())
        .map(|l| l["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn stop_scales_the_release_to_zero_and_resume_brings_it_back_relaying() {
    crate::testbed_only!(
        "reads rly's processes and uploads through the testbed's control handle (kind/story.sh stops and resumes the real chart)"
    );
    let h = Harness::new(1).await;
    h.wait_relayer_in_cache().await;
    assert_succeeded(&h.run("/start", json!({})).await);
    let old_relayer = h.env.relayer();

    let stop = h.run("/stop", json!({})).await;
    assert_succeeded(&stop);
    assert_eq!(stop["type"], "system.stop");
    assert_eq!(step(&stop, "scaleDown")["status"], "succeeded", "{stop:#}");
    assert_eq!(step(&stop, "waitPodsGone")["status"], "succeeded", "{stop:#}");
    assert!(pods(&h, "app.kubernetes.io/category=chain").await.is_empty(), "no chain pods after stop");
    assert!(pods(&h, "app.kubernetes.io/component=relayer").await.is_empty(), "no relayer pod after stop");
    for kind in ["statefulsets", "deployments"] {
        for (name, replicas, record) in workloads(&h, kind).await {
            assert_eq!((replicas, record.as_deref()), (0, Some("1")), "{kind}/{name} stopped and recorded");
        }
    }
    let listed = stop["result"]["workloads"].as_array().expect("the workloads").len();
    assert!(listed >= 5, "gwc, mdsc, fdsc-0, relayer, faucet, genesis-server: {stop:#}");

    // Stopping a stopped system acts on nothing and says why, per workload.
    let again = h.run("/stop", json!({})).await;
    assert_succeeded(&again);
    assert_eq!(step(&again, "scaleDown")["status"], "skipped", "{again:#}");
    assert_eq!(step(&again, "waitPodsGone")["status"], "skipped", "{again:#}");
    let reasons = skipped_reasons(&h.log(&again).await, "scaleDown");
    assert_eq!(reasons.len(), listed, "{reasons:#?}");
    assert!(reasons.iter().all(|r| r.contains("is stopped (resume restores 1)")), "{reasons:#?}");

    let resume = h.run("/resume", json!({})).await;
    assert_succeeded(&resume);
    assert_eq!(resume["type"], "system.resume");
    let names: Vec<&str> =
        resume["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["scaleUp", "waitPodsReady", "discover", "initRelayer", "connectAll", "startRelayer", "waitIbcReady"]
    );
    for s in ["scaleUp", "waitPodsReady", "initRelayer", "startRelayer"] {
        assert_eq!(step(&resume, s)["status"], "succeeded", "{s} acted: {resume:#}");
    }
    for kind in ["statefulsets", "deployments"] {
        for (name, replicas, record) in workloads(&h, kind).await {
            assert_eq!((replicas, record), (1, None), "{kind}/{name} restored, record cleared");
        }
    }
    let new_relayer = h.env.relayer();
    assert_ne!(new_relayer, old_relayer, "the relayer pod is new");
    assert!(h.rly_running(), "rly runs in the new relayer pod");
    let id = crate::testbed_ibc::upload(&h.env, "after-resume", 1).await;
    crate::testbed_ibc::await_state(&h.env, &id, "SESSION_STATE_CLOSED_SUCCESS").await;

    // Resuming a running system scales nothing and the start steps find it in sync.
    let again = h.run("/resume", json!({})).await;
    assert_succeeded(&again);
    assert_eq!(step(&again, "scaleUp")["status"], "skipped", "{again:#}");
    assert_eq!(step(&again, "initRelayer")["status"], "skipped", "{again:#}");
}

#[tokio::test]
async fn a_stop_holds_the_system_lock_and_continuous_mode_leaves_a_stopped_system_stopped() {
    crate::testbed_only!("stop and resume within the 30 s test waits need the testbed's pod and block times");
    let h = crate::controller::continuous(1, |_| {}).await;
    h.bff.until("/api/v1/system/reconciler", "the system up", |_, b| b["data"]["inSync"] == true).await;
    let (code, accepted) = h.post("/stop", json!({})).await;
    assert_eq!(code, 202, "{accepted}");
    let (code, conflict) = h.post("/start", json!({})).await;
    assert_eq!((code, conflict["error"]["code"].as_str()), (409, Some("JOB_CONFLICT")), "{conflict}");
    assert_succeeded(&h.finish(accepted["jobId"].as_str().unwrap()).await);
    // Passes triggered by the pods' disappearance see the stop and act on nothing.
    let status = h
        .bff
        .until("/api/v1/system/reconciler", "a pass that saw the stop", |_, b| {
            b["data"]["lastPass"]["outcome"] == "stopped"
        })
        .await;
    assert!(status["data"]["lastPass"]["jobId"].is_null(), "{status:#}");
    assert!(pods(&h, "app.kubernetes.io/category=chain").await.is_empty());
    let (_, jobs) = h.bff.get("/api/v1/system/jobs").await;
    let after_stop: Vec<&Value> =
        jobs["data"]["items"].as_array().unwrap().iter().take_while(|j| j["type"] != "system.stop").collect();
    assert!(after_stop.is_empty(), "no job after the stop: {after_stop:#?}");
    // Resume is the operator's word: the system comes back and the reconciler is in sync.
    assert_succeeded(&h.run("/resume", json!({})).await);
    h.bff
        .until("/api/v1/system/reconciler", "in sync after the resume", |_, b| {
            b["data"]["inSync"] == true && b["data"]["health"] == "relaying"
        })
        .await;
}
