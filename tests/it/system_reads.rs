//! Layer 1 reads: served from the live cache (no LIST per request), `/readyz` telling the
//! truth through sync and outages, ports, topology, preflight, k8s/*, and the error envelope.

use crate::common::{Bff, TestEnv};
use serde_json::Value;
use std::time::Duration;

fn lists(env: &TestEnv) -> u64 {
    env.testbed()
        .control
        .request_counts()
        .iter()
        .filter(|(k, _)| k.starts_with("list "))
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test]
async fn status_is_served_from_the_cache_without_listing_the_api_server() {
    crate::testbed_only!(
        "drives the testbed: control.request_counts (the API server's request log), control.node_ports"
    );
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let before = lists(&env);
    for _ in 0..100 {
        let (code, body) = bff.get("/api/v1/system/status").await;
        assert_eq!(code, 200);
        assert_eq!(body["ok"], true);
    }
    assert_eq!(lists(&env), before, "100 status reads caused LIST requests");

    let (_, body) = bff.get("/api/v1/system/status").await;
    let data = &body["data"];
    assert_eq!(data["namespace"], "cryptomeria");
    assert_eq!(data["pods"].as_array().unwrap().len(), 7, "5 chart pods + faucet + genesis-server");
    assert_eq!(data["relayer"]["pod"], env.relayer().as_str());
    assert_eq!(data["relayer"]["podReady"], true);
    assert_eq!(
        data["relayer"]["running"],
        Value::Null,
        "rly never observed yet: unknown, not the pod's readiness"
    );
    let chains: Vec<&str> =
        data["chains"].as_array().unwrap().iter().map(|c| c["chainId"].as_str().unwrap()).collect();
    assert_eq!(chains, ["gwc", "mdsc", "fdsc-0", "fdsc-1"]);
    for chain in data["chains"].as_array().unwrap() {
        assert_eq!(chain["error"], Value::Null, "{chain}");
        assert_eq!(chain["network"], chain["chainId"], "each node reports its own chain id");
        assert!(chain["latestHeight"].is_u64(), "{chain}");
        assert_eq!(chain["catchingUp"], false);
    }
    let gwc_svc =
        data["services"].as_array().unwrap().iter().find(|s| s["name"] == "cryptomeria-gwc").unwrap();
    let (rpc, _, _) = env.testbed().control.node_ports("gwc").unwrap();
    assert_eq!(gwc_svc["ports"]["rpc"], serde_json::json!({"port": 26657, "nodePort": rpc}));
}

#[tokio::test]
async fn status_follows_a_pod_deletion_and_its_recreation() {
    crate::testbed_only!("drives the testbed: control.delete_pod");
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let old = env.relayer();
    let new = env.testbed().control.delete_pod(&old).unwrap();
    let body = bff
        .until("/api/v1/system/status", "the new relayer pod running", |_, b| {
            b["data"]["relayer"]["pod"] == new.as_str() && b["data"]["relayer"]["podReady"] == true
        })
        .await;
    let names: Vec<&str> =
        body["data"]["pods"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(!names.contains(&old.as_str()));
}

#[tokio::test]
async fn readyz_is_503_until_the_caches_sync() {
    crate::testbed_only!("drives the testbed: control.fail_api_for");
    let env = TestEnv::ready().await;
    env.testbed().control.fail_api_for(Duration::from_secs(600));
    let bff = Bff::start(&env.kubeconfig).await;
    let (code, body) = bff.get("/readyz").await;
    assert_eq!(code, 503);
    assert_eq!(body["error"]["code"], "NOT_READY");
    let reasons = body["error"]["details"]["reasons"].to_string();
    assert!(reasons.contains("pods/cryptomeria has not synced"), "{reasons}");
    env.testbed().control.fail_api_for(Duration::ZERO);
    bff.wait_readyz(200).await;
}

#[tokio::test]
async fn readyz_turns_503_while_the_api_server_is_unreachable_past_the_grace_and_recovers() {
    crate::testbed_only!("drives the testbed: control.refuse_connections_for");
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    env.testbed().control.refuse_connections_for(Duration::from_secs(3)).await;
    let body = bff.wait_readyz(503).await;
    assert!(body["error"]["message"].as_str().unwrap().contains("unreachable"), "{body}");
    bff.wait_readyz(200).await;
    let (code, _) = bff.get("/healthz").await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn ports_give_node_port_urls_outside_and_service_dns_inside() {
    crate::testbed_only!("drives the testbed: control.node_ports");
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (code, body) = bff.get("/api/v1/system/ports").await;
    assert_eq!(code, 200);
    let data = &body["data"];
    assert_eq!(data["nodeHost"], "127.0.0.1");
    assert_eq!(data["nodeHostSource"], "nodeInternalIP");
    let chains = data["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 4);
    for chain in chains {
        let id = chain["chainId"].as_str().unwrap();
        let (rpc, api, grpc) = env.testbed().control.node_ports(id).unwrap();
        assert_eq!(chain["external"]["rpc"], format!("http://127.0.0.1:{rpc}"));
        assert_eq!(chain["external"]["api"], format!("http://127.0.0.1:{api}"));
        assert_eq!(chain["external"]["grpc"], format!("127.0.0.1:{grpc}"));
        assert_eq!(chain["internal"]["rpc"], format!("http://cryptomeria-{id}:26657"));
        assert_eq!(chain["internal"]["grpc"], format!("cryptomeria-{id}:9090"));
        // The external URL really reaches that chain's node.
        let url = format!("{}/status", chain["external"]["rpc"].as_str().unwrap());
        let status: Value = bff.http.get(url).send().await.unwrap().json().await.unwrap();
        assert_eq!(status["result"]["node_info"]["network"], id, "{id}'s NodePort answers as {id}");
    }
}

#[tokio::test]
async fn topology_maps_each_chain_pod_to_its_service_ports_and_endpoints() {
    crate::testbed_only!("drives the testbed: control.hold_not_ready");
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    env.testbed().control.hold_not_ready("cryptomeria-fdsc-1-0");
    let body = bff
        .until("/api/v1/system/topology", "fdsc-1 out of its ready endpoints", |_, b| {
            b["data"]["chains"][3]["endpoints"]["notReady"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    let gwc = &body["data"]["chains"][0];
    assert_eq!(gwc["chainId"], "gwc");
    assert_eq!(gwc["pod"]["name"], "cryptomeria-gwc-0");
    assert_eq!(gwc["podDns"], "cryptomeria-gwc-0.cryptomeria-chain-headless");
    assert_eq!(gwc["service"], "cryptomeria-gwc");
    assert_eq!(gwc["ports"]["api"]["port"], 1317);
    assert_eq!(gwc["endpoints"]["ready"][0]["pod"], "cryptomeria-gwc-0");
    assert_eq!(body["data"]["chains"][3]["endpoints"]["notReady"][0]["pod"], "cryptomeria-fdsc-1-0");
    assert_eq!(body["data"]["relayer"]["name"], env.relayer().as_str());
}

fn verdicts(body: &Value) -> Vec<(String, String, String)> {
    body["data"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
                c["message"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[tokio::test]
async fn preflight_passes_every_check_on_a_healthy_testbed() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (code, body) = bff.get("/api/v1/system/preflight").await;
    assert_eq!(code, 200);
    let checks = verdicts(&body);
    let names: Vec<&str> = checks.iter().map(|c| c.0.as_str()).collect();
    for want in [
        "apiReachable",
        "namespaceExists",
        "relayerReady",
        "chainPodsRunning",
        "gwcPresent",
        "nodePortsResolvable",
        "execPermitted",
        "mnemonicsPresent",
        "rbacRights",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let failing: Vec<_> = checks.iter().filter(|c| c.1 != "pass" && c.0 != "relayerFunds").collect();
    assert!(failing.is_empty(), "{failing:?}");
    // Before initRelayer no relayer key is restored: the funds check checked nothing and says so.
    let funds = checks.iter().find(|c| c.0 == "relayerFunds").expect("relayerFunds check");
    assert_eq!(funds.1, "skip", "{funds:?}");
    assert!(funds.2.contains("not checked"), "{funds:?}");
    assert_eq!(body["data"]["readyToStart"], true);
}

#[tokio::test]
async fn preflight_fails_the_matching_checks_with_explanations() {
    crate::testbed_only!("drives the testbed: control.hold_not_ready");
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let relayer = env.relayer();
    env.testbed()
        .control
        .pod(&relayer)
        .unwrap()
        .runtime
        .fs()
        .remove("/etc/mnemonics/fdsc-1.relayer.mnemonic")
        .unwrap();
    let (_, body) = bff.get("/api/v1/system/preflight").await;
    let mnemonics = verdicts(&body).into_iter().find(|c| c.0 == "mnemonicsPresent").unwrap();
    assert_eq!(mnemonics.1, "fail");
    assert!(mnemonics.2.contains("fdsc-1") && !mnemonics.2.contains("mdsc"), "{}", mnemonics.2);
    assert_eq!(body["data"]["readyToStart"], false);

    env.testbed().control.hold_not_ready(&relayer);
    let body = bff
        .until("/api/v1/system/preflight", "relayerReady failing", |_, b| {
            verdicts(b).iter().any(|c| c.0 == "relayerReady" && c.1 == "fail")
        })
        .await;
    let relayer_check = verdicts(&body).into_iter().find(|c| c.0 == "relayerReady").unwrap();
    assert!(relayer_check.2.contains("not Ready"), "{}", relayer_check.2);
    let exec = verdicts(&body).into_iter().find(|c| c.0 == "execPermitted").unwrap();
    assert_eq!(exec.1, "fail");
}

#[tokio::test]
async fn k8s_reads_list_objects_and_never_configmap_values() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (code, body) = bff.get("/api/v1/system/k8s/configmaps").await;
    assert_eq!(code, 200);
    assert_eq!(
        body["data"]["items"],
        serde_json::json!([
            {"name": "cryptomeria-genesis-script", "keys": ["generate.sh"]},
            {"name": "cryptomeria-scripts", "keys": ["entrypoint-chain.sh"]},
            {"name": "faucet-config", "keys": ["config.js"]},
        ])
    );
    assert!(!body.to_string().contains("CHAIN_BINARY"), "configmap data leaked");

    let (_, body) = bff.get("/api/v1/system/k8s/pods?component=fdsc").await;
    let names: Vec<&str> =
        body["data"]["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["cryptomeria-fdsc-0-0", "cryptomeria-fdsc-1-0"]);
    let (_, body) = bff.get("/api/v1/system/k8s/pods?instance=mdsc&phase=Running").await;
    assert_eq!(body["data"]["items"][0]["labels"]["app.kubernetes.io/component"], "mdsc");
    let (code, body) = bff.get("/api/v1/system/k8s/pods?phase=Sleeping").await;
    assert_eq!(
        (code, body["error"]["code"].as_str(), body["error"]["details"]["field"].as_str()),
        (422, Some("VALIDATION_ERROR"), Some("phase"))
    );

    let (_, body) = bff.get("/api/v1/system/k8s/services").await;
    let gwc =
        body["data"]["items"].as_array().unwrap().iter().find(|s| s["name"] == "cryptomeria-gwc").unwrap();
    assert_eq!(gwc["type"], "NodePort");
    assert_eq!(gwc["selector"]["app.kubernetes.io/instance"], "gwc");
    let (_, body) = bff.get("/api/v1/system/k8s/endpoints").await;
    assert_eq!(body["data"]["items"].as_array().unwrap().len(), 7, "one Endpoints per Service");
}

#[tokio::test]
async fn logs_tail_a_pod_by_name_or_by_instance_and_validate_their_input() {
    crate::testbed_only!("drives the testbed: control.pod");
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let pod = env.testbed().control.pod("cryptomeria-mdsc-0").unwrap();
    let out = pod
        .runtime
        .exec_collect(&["sh", "-c", "for i in 1 2 3 4; do echo entry$i > /proc/1/fd/1; done"], b"")
        .await;
    assert_eq!(out.code, 0);
    let (code, text) = bff.get_text("/api/v1/system/k8s/logs?pod=cryptomeria-mdsc-0&tail=2").await;
    assert_eq!((code, text.as_str()), (200, "entry3\nentry4\n"));
    let (code, text) = bff.get_text("/api/v1/system/k8s/logs?component=mdsc&instance=mdsc&tail=1").await;
    assert_eq!((code, text.as_str()), (200, "entry4\n"));

    // Several pods match a component: all of them, each line with its pod, like kubectl -l --prefix.
    for id in ["fdsc-0", "fdsc-1"] {
        let pod = env.testbed().control.pod(&format!("cryptomeria-{id}-0")).unwrap();
        let out =
            pod.runtime.exec_collect(&["sh", "-c", &format!("echo hello-{id} > /proc/1/fd/1")], b"").await;
        assert_eq!(out.code, 0);
    }
    let (code, text) = bff.get_text("/api/v1/system/k8s/logs?component=fdsc&tail=1").await;
    assert_eq!(
        (code, text.as_str()),
        (200, "[pod/cryptomeria-fdsc-0-0] hello-fdsc-0\n[pod/cryptomeria-fdsc-1-0] hello-fdsc-1\n")
    );

    // follow=true streams what is written after the request, as kubectl logs -f does.
    let mut stream = bff
        .http
        .get(format!("{}/api/v1/system/k8s/logs?pod=cryptomeria-mdsc-0&tail=0&follow=true", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let out = pod.runtime.exec_collect(&["sh", "-c", "echo later > /proc/1/fd/1"], b"").await;
    assert_eq!(out.code, 0);
    let chunk =
        tokio::time::timeout(crate::common::WAIT, stream.chunk()).await.expect("a line in time").unwrap();
    assert_eq!(chunk.as_deref(), Some(&b"later\n"[..]));

    let (code, body) = bff.get("/api/v1/system/k8s/logs?pod=nope").await;
    assert_eq!((code, body["error"]["code"].as_str()), (404, Some("POD_NOT_FOUND")));
    for bad in ["tail=abc", "tail=-1", "tail=1000001"] {
        let (code, body) = bff.get(&format!("/api/v1/system/k8s/logs?pod=cryptomeria-mdsc-0&{bad}")).await;
        assert_eq!((code, body["error"]["code"].as_str()), (422, Some("VALIDATION_ERROR")), "{bad}: {body}");
        assert_eq!(body["error"]["details"]["field"], "tail", "{bad}");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_envelope() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (code, body) = bff.get("/api/v1/nope").await;
    assert_eq!(
        (code, body["ok"].as_bool(), body["error"]["code"].as_str()),
        (404, Some(false), Some("NOT_FOUND"))
    );
    let resp = bff.http.delete(format!("{}/api/v1/system/status", bff.url)).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn openapi_document_validates_and_every_documented_route_is_served() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (code, doc) = bff.get("/api/v1/openapi.json").await;
    assert_eq!(code, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = tokio::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output()
        .await
        .expect("python3 runs");
    let said: String =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
            .chars()
            .take(600)
            .collect();
    assert!(out.status.success(), "validator: {said}");
    let mut operation_ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|p| p.as_object().unwrap().values().filter_map(|op| op["operationId"].as_str()))
        .collect();
    let count = operation_ids.len();
    operation_ids.sort();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), count, "operationIds must be unique");

    let paths: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    for want in [
        "/healthz",
        "/readyz",
        "/api/v1/system/status",
        "/api/v1/system/ports",
        "/api/v1/system/topology",
        "/api/v1/system/preflight",
        "/api/v1/system/k8s/pods",
        "/api/v1/system/k8s/services",
        "/api/v1/system/k8s/endpoints",
        "/api/v1/system/k8s/configmaps",
        "/api/v1/system/k8s/logs",
    ] {
        assert!(paths.iter().any(|p| p == want), "{want} not documented: {paths:?}");
    }
    for path in &paths {
        let (code, body) = bff.get(path).await;
        assert!(
            !(code == 404 && body["error"]["code"] == "NOT_FOUND"),
            "{path} is documented but not served"
        );
    }
    let (code, html) = bff.get_text("/api/v1/docs/").await;
    assert_eq!(code, 200);
    assert!(html.contains("swagger-ui"), "docs page served");
    assert!(!html.contains("https://"), "the docs page must not load anything from a CDN");
}

#[tokio::test]
async fn openapi_lists_job_and_http_error_codes_in_one_enum() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (_, doc) = bff.get("/api/v1/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    let codes: Vec<&str> = schemas["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for want in [
        "CHAIN_NOT_FOUND",
        "VALIDATION_ERROR",
        "RELAYER_LINK_FAILED",
        "CHAIN_STALLED",
        "EXEC_FAILED",
        "IBC_NOT_READY",
    ] {
        assert!(codes.contains(&want), "{want} missing from ErrorCode: {codes:?}");
    }
    // A job's error and an HTTP error are one value, documented once.
    assert!(schemas.get("JobError").is_none(), "a second error schema beside ErrorBody");
    assert_eq!(schemas["ErrorBody"]["properties"]["code"]["$ref"], "#/components/schemas/ErrorCode");
}

/// Every height the API answers with is one JSON type: a number (requests may still send a
/// decimal string). The walk covers every schema of the document, request and answer alike.
#[tokio::test]
async fn every_height_in_the_openapi_document_is_an_integer() {
    fn walk(at: &str, schema: &Value, found: &mut Vec<String>) {
        if let Some(props) = schema["properties"].as_object() {
            for (name, prop) in props {
                let named_height = name == "height" || name.ends_with("Height");
                let types: Vec<&str> = match &prop["type"] {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                if named_height && prop.get("$ref").is_none() && !types.contains(&"integer") {
                    found.push(format!("{at}.{name}: {prop}"));
                }
                walk(&format!("{at}.{name}"), prop, found);
            }
        }
        for key in ["items", "allOf", "oneOf", "anyOf"] {
            match &schema[key] {
                Value::Array(parts) => parts.iter().for_each(|p| walk(at, p, found)),
                part @ Value::Object(_) => walk(at, part, found),
                _ => {}
            }
        }
    }
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (_, doc) = bff.get("/api/v1/openapi.json").await;
    let mut not_integers = Vec::new();
    let mut heights_seen = 0;
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        heights_seen += schema.to_string().matches("eight\":").count();
        walk(name, schema, &mut not_integers);
    }
    assert!(heights_seen > 5, "the walk saw the document's heights");
    assert!(not_integers.is_empty(), "heights that are not integers: {not_integers:#?}");
}
