//! The testbed judged by a Kubernetes client that is not ours: the official Python client
//! (`pip install kubernetes`) lists and watches every kind the product reads. It refuses
//! objects a real API server would never write (an ownerReference without `uid`, …).

use crate::common::TestEnv;

#[tokio::test]
async fn the_official_python_client_lists_and_watches_every_kind_without_an_error() {
    let env = TestEnv::ready().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/k8s_python_client.py");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg(&env.kubeconfig)
        .arg(env.ns())
        .output()
        .await
        .expect("python3 runs");
    assert!(out.status.success(), "the Python client failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    for kind in ["pods", "services", "endpoints", "statefulsets", "deployments"] {
        let k = &v[kind];
        assert!(!k["listed"].as_array().unwrap().is_empty(), "{kind}: {k}");
        assert_eq!(k["listed"], k["watched"], "{kind}: the watch's ADDED events name what the list did");
        assert_eq!((k["uids"].as_bool(), k["created"].as_bool()), (Some(true), Some(true)), "{kind}: {k}");
    }
    let owner_uids = v["pods"]["owner_uids"].as_array().unwrap();
    assert!(owner_uids.iter().all(|u| u.as_str().is_some_and(|s| s.len() == 36)), "{owner_uids:?}");
    assert!(v["statefulsets"]["generations"].as_array().unwrap().iter().all(|g| g.as_u64() >= Some(1)));
    let deployments = v["deployments"]["listed"].as_array().unwrap();
    for name in ["cryptomeria-relayer", "faucet", "cryptomeria-genesis-server"] {
        assert!(deployments.iter().any(|d| d == name), "{name} in {deployments:?}");
    }
}
