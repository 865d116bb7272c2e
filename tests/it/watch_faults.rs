//! The cache under watch faults (issue 12): dropped watches, expired resourceVersions (410)
//! and an API server that goes away and comes back, each while the cluster changes. The
//! cache converges to what the API server says, `/readyz` tells the truth meanwhile, and the
//! service keeps answering.

use crate::common::{Bff, TestEnv, is_ready};
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use std::collections::BTreeSet;
use std::time::Duration;

/// (name, phase, ready) of every pod, as the API server lists them.
async fn truth(env: &TestEnv) -> BTreeSet<(String, String, bool)> {
    let pods: Vec<Pod> = env.pods().list(&ListParams::default()).await.expect("list pods").items;
    pods.iter()
        .map(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
            (p.metadata.name.clone().unwrap_or_default(), phase, is_ready(p))
        })
        .collect()
}

fn cached(body: &serde_json::Value) -> BTreeSet<(String, String, bool)> {
    body["data"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_string(),
                p["phase"].as_str().unwrap_or_default().to_string(),
                p["ready"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// Waits until the BFF's pod list equals the API server's (both read afresh each time).
async fn converged(env: &TestEnv, bff: &Bff, after: &str) {
    env.wait_all_pods_ready().await;
    let deadline = tokio::time::Instant::now() + crate::common::WAIT;
    loop {
        let want = truth(env).await;
        let (status, body) = bff.get("/api/v1/system/k8s/pods").await;
        if status == 200 && cached(&body) == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "after {after} the cache never matched the API server:\ncache {:?}\ntruth {want:?}",
            cached(&body)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_cache_converges_after_dropped_watches_expired_versions_and_an_api_server_outage() {
    crate::testbed_only!("injects watch faults through the testbed's control handle");
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let control = env.testbed().control.clone();

    // Dropped watches while a pod is recreated.
    control.drop_watches();
    control.delete_pod(&env.relayer()).expect("relayer deleted");
    converged(&env, &bff, "dropped watches").await;
    assert_eq!(bff.get("/readyz").await.0, 200);

    // 410 Gone for every watcher while a chain is added: the reflectors relist.
    control.expire_resource_versions();
    control.scale_fdsc(2).expect("scale up");
    converged(&env, &bff, "expired resourceVersions").await;

    // The API server goes away past the grace: readyz says so, the last known state is
    // still served, and once it is back the cache catches up with what changed meanwhile.
    control.refuse_connections_for(Duration::from_secs(2)).await;
    let body = bff.wait_readyz(503).await;
    assert!(body["error"]["message"].as_str().unwrap().contains("unreachable"), "{body}");
    let (code, during) = bff.get("/api/v1/system/k8s/pods").await;
    assert_eq!(code, 200, "reads keep answering from the cache: {during}");
    control.scale_fdsc(1).expect("scale down while unreachable");
    bff.wait_readyz(200).await;
    converged(&env, &bff, "an API server outage").await;

    // 500s for a while, then a second relist: still converges, never panics.
    control.fail_api_for(Duration::from_secs(60));
    control.drop_watches();
    control.delete_pod(&env.relayer()).expect("relayer deleted again");
    // Re-watches meet 500s: reads still answer from the last known state.
    let (code, _) = bff.get("/api/v1/system/status").await;
    assert_eq!(code, 200);
    control.fail_api_for(Duration::ZERO);
    converged(&env, &bff, "500s and dropped watches").await;
    assert_eq!(bff.get("/healthz").await.0, 200);
    assert_eq!(bff.wait_readyz(200).await["ok"], true);
}
