//! A release named otherwise than `cryptomeria`: the chart renders every derived name as
//! `<release>-cryptomeria-…` (its fullname helper), and the BFF told `--release lab` finds the
//! relayer, writes rly's chain files and registers storage under those names. The testbed's
//! DNS resolves only names that exist, so a chain file built for another release fails to dial.

use crate::reconcile::{Harness, assert_succeeded};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Service;
use kube::api::Api;
use serde_json::json;
use std::time::Duration;

const RELEASE: &str = "lab";

fn lab_testbed() -> testbed::TestbedBuilder {
    testbed::Testbed::builder().fdsc(1).block_interval(Some(Duration::from_millis(40))).release(RELEASE)
}

async fn lab_harness(bff_release: &str) -> Harness {
    let release = bff_release.to_string();
    let h = Harness::with_builder(lab_testbed(), move |s| s.release = release).await;
    h.wait_relayer_in_cache().await;
    h
}

#[tokio::test]
async fn a_release_named_lab_installs_under_the_charts_names_and_start_relays_through_them() {
    crate::testbed_only!("installs the testbed under release `lab` (kind installs `cryptomeria`)");
    let h = lab_harness(RELEASE).await;
    let ns = h.env.ns();

    // The objects carry the chart's names for release `lab`.
    let sts: Api<StatefulSet> = Api::namespaced(h.env.client.clone(), &ns);
    for id in ["gwc", "mdsc", "fdsc-0"] {
        let s = sts
            .get(&format!("lab-cryptomeria-{id}"))
            .await
            .expect("StatefulSet under the release's fullname");
        let spec = s.spec.expect("spec");
        assert_eq!(spec.service_name.as_deref(), Some("lab-cryptomeria-chain-headless"));
    }
    let svcs: Api<Service> = Api::namespaced(h.env.client.clone(), &ns);
    assert!(
        svcs.get_opt("cryptomeria-chain-headless").await.unwrap().is_none(),
        "no object keeps the default name"
    );
    assert!(h.env.relayer().starts_with("lab-cryptomeria-relayer-"), "{}", h.env.relayer());

    assert_succeeded(&h.run("/start", json!({})).await);

    let ibc = h
        .bff
        .until("/api/v1/system/ibc", "relaying", |code, b| code == 200 && b["data"]["verdict"] == "relaying")
        .await;
    assert_eq!(ibc["data"]["relayer"]["running"], true, "{ibc:#}");
    let (code, status) = h.bff.get("/api/v1/system/status").await;
    assert_eq!(code, 200);
    assert_eq!(status["data"]["relayer"]["podReady"], true, "{status:#}");
    assert!(
        status["data"]["relayer"]["pod"].as_str().is_some_and(|p| p.starts_with("lab-cryptomeria-relayer-"))
    );

    let (_, topo) = h.bff.get("/api/v1/system/topology").await;
    let gwc = topo["data"]["chains"].as_array().unwrap().iter().find(|c| c["chainId"] == "gwc").expect("gwc");
    assert_eq!(gwc["podDns"], "lab-cryptomeria-gwc-0.lab-cryptomeria-chain-headless", "{topo:#}");
    assert!(!topo["data"]["headless"].is_null(), "the headless Service's Endpoints are found: {topo:#}");

    // gwc holds the storage endpoints under the pods' DNS names of this release.
    let registered: Vec<String> = h
        .env
        .testbed()
        .control
        .chain("gwc")
        .expect("gwc")
        .storage_endpoints()
        .into_iter()
        .map(|s| s.api_endpoint)
        .collect();
    assert!(
        registered.contains(&"http://lab-cryptomeria-mdsc-0.lab-cryptomeria-chain-headless:1317".to_string()),
        "{registered:?}"
    );
}

#[tokio::test]
async fn a_bff_told_the_wrong_release_cannot_link_a_lab_install() {
    crate::testbed_only!("installs the testbed under release `lab` (kind installs `cryptomeria`)");
    let h = lab_harness("cryptomeria").await;
    let job = h.run_within("/start", json!({"timeoutSeconds": 20}), Duration::from_secs(60)).await;
    assert_ne!(job["status"], "succeeded", "chain files name hosts that do not exist: {job:#}");
    let log = h.log(&job).await;
    assert!(
        log.iter().any(|l| l["message"].as_str().is_some_and(|m| m.contains("no such host"))),
        "the failed lookup is in the log: {log:#?}"
    );
}
