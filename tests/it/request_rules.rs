//! One rule for every JSON body, on every route that takes one (SPEC §11): the routes and
//! their fields come from the served OpenAPI document, so a new route is covered by itself.

use crate::common::{Bff, TestEnv, secrets};
use serde_json::{Map, Value, json};

/// A value shaped like a signed tx (base64 TxRaw): it must never come back in an answer.
const TX_SHAPED: &str = "CpMBCpABChwvY29zbW9zLmJhbmsudjFiZXRhMS5Nc2dTZW5kEnAKLWNvc21vczFlY2hvZWNob2VjaG8=";

/// Every POST route with a JSON request body, and the property names of that body.
fn body_routes(doc: &Value) -> Vec<(String, Vec<String>)> {
    let schemas = &doc["components"]["schemas"];
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let Some(schema) = item.pointer("/post/requestBody/content/application~1json/schema") else {
            continue;
        };
        let resolved = match schema["$ref"].as_str() {
            Some(r) => &schemas[r.trim_start_matches("#/components/schemas/")],
            None => schema,
        };
        let fields =
            resolved["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
        out.push((path.replace("{chainId}", "gwc"), fields));
    }
    out.sort();
    out
}

async fn post_raw(bff: &Bff, path: &str, content_type: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = bff.http.post(format!("{}{path}", bff.url)).body(body.to_string());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.expect("BFF answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_body_route_refuses_unknown_fields_arrays_and_non_json_alike() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (_, doc) = bff.get("/api/v1/openapi.json").await;
    let routes = body_routes(&doc);
    assert!(routes.len() >= 10, "every body route is in the document: {routes:?}");
    for (path, _) in &routes {
        let (code, body) = bff.post(path, &json!({"noSuchField": 1})).await;
        assert_eq!((code, body["error"]["code"].as_str()), (422, Some("VALIDATION_ERROR")), "{path}: {body}");
        assert_eq!(body["error"]["details"]["field"], "noSuchField", "{path}: {body}");

        let (code, body) = bff.post(path, &json!(["gwc", 1])).await;
        assert_eq!((code, body["error"]["code"].as_str()), (422, Some("VALIDATION_ERROR")), "{path}: {body}");

        let (code, body) = post_raw(&bff, path, None, r#"{"chainId":"gwc"}"#).await;
        assert_eq!(
            (code, body["error"]["code"].as_str()),
            (415, Some("UNSUPPORTED_MEDIA_TYPE")),
            "{path}: {body}"
        );

        let (code, body) = post_raw(&bff, path, Some("application/json"), "{,").await;
        assert_eq!((code, body["error"]["code"].as_str()), (400, Some("BAD_REQUEST")), "{path}: {body}");
    }
}

#[tokio::test]
async fn a_tx_shaped_value_in_any_field_of_any_route_never_comes_back() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    secrets::register(TX_SHAPED);
    let (_, doc) = bff.get("/api/v1/openapi.json").await;
    let mut tried = 0;
    for (path, fields) in body_routes(&doc) {
        for field in &fields {
            for value in [json!(TX_SHAPED), json!([TX_SHAPED]), json!({"x": TX_SHAPED})] {
                let mut body = Map::new();
                body.insert(field.clone(), value);
                let (code, answer) = bff.post(&path, &Value::Object(body)).await;
                tried += 1;
                assert!(!answer.to_string().contains(TX_SHAPED), "{path} {field} -> {code}: {answer}");
            }
        }
    }
    assert!(tried > 60, "only {tried} requests");
}

#[tokio::test]
async fn numbers_may_be_decimal_strings_and_answers_say_utf8() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    bff.until("/api/v1/chains/gwc/status", "gwc at height 3", |_, b| {
        b["data"]["latestHeight"].as_u64().is_some_and(|h| h >= 3)
    })
    .await;
    let (code, body) = bff
        .post(
            "/api/v1/utils/metrics/throughput",
            &json!({"chainId": "gwc", "fromHeight": "1", "toHeight": "2"}),
        )
        .await;
    assert_eq!(code, 202, "heights as strings, as our responses write them: {body}");
    let (code, body) =
        bff.post("/api/v1/utils/metrics/throughput", &json!({"chainId": "gwc", "lastBlocks": "two"})).await;
    assert_eq!((code, body["error"]["details"]["field"].as_str()), (422, Some("lastBlocks")), "{body}");
    assert!(!body.to_string().contains("two"), "the value is not echoed: {body}");

    let resp = bff.http.get(format!("{}/api/v1/system/status", bff.url)).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json; charset=utf-8");
    let resp = bff.http.get(format!("{}/api/v1/nope", bff.url)).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json; charset=utf-8");
}

#[tokio::test]
async fn a_body_beyond_the_limit_is_413_naming_it() {
    let env = TestEnv::ready().await;
    let (bff, _) =
        Bff::start_with(&env.kubeconfig, |s| s.max_body_bytes = 4096, |_| axum::Router::new()).await;
    bff.wait_readyz(200).await;
    let txs: Vec<String> = (0..40).map(|i| format!("{i:0>200}")).collect();
    let (code, body) =
        bff.post("/api/v1/utils/load/broadcast-batch", &json!({"chainId": "gwc", "txBytes": txs})).await;
    assert_eq!((code, body["error"]["code"].as_str()), (413, Some("PAYLOAD_TOO_LARGE")), "{body}");
    assert_eq!(body["error"]["details"], json!({"limit": "maxBodyBytes", "value": 4096}));
}

#[tokio::test]
async fn a_watch_from_a_future_height_is_refused_at_admission_not_left_to_stall() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (_, status) = bff.get("/api/v1/chains/gwc/status").await;
    let latest = status["data"]["latestHeight"].as_u64().unwrap();
    let hash = "AB".repeat(32);
    let far = latest + 1000;
    for (path, body) in [
        (
            "/api/v1/utils/observe/tx-confirmation",
            json!({"chainId": "gwc", "txhash": hash, "fromHeight": far}),
        ),
        (
            "/api/v1/utils/observe/confirm-batch",
            json!({"chainId": "gwc", "txhashes": [hash], "fromHeight": far}),
        ),
    ] {
        let (code, answer) = bff.post(path, &body).await;
        assert_eq!(
            (code, answer["error"]["code"].as_str()),
            (422, Some("INVALID_HEIGHT")),
            "{path}: {answer}"
        );
    }
    // The next block is a fine place to start watching.
    let (code, answer) = bff
        .post(
            "/api/v1/utils/observe/tx-confirmation",
            &json!({"chainId": "gwc", "txhash": hash, "fromHeight": latest + 1, "timeoutSeconds": 1}),
        )
        .await;
    assert_eq!(code, 202, "{answer}");
}

#[tokio::test]
async fn an_uppercase_bech32_address_is_the_same_account() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (_, chains) = bff.get("/api/v1/chains/gwc/accounts/x").await;
    assert_eq!(chains["error"]["code"], "INVALID_ADDRESS");
    let address = local_admin_address(&env).await;
    let (code, lower) = bff.get(&format!("/api/v1/chains/gwc/balances/{address}")).await;
    assert_eq!(code, 200, "{lower}");
    let (code, upper) =
        bff.get(&format!("/api/v1/chains/gwc/balances/{}", address.to_ascii_uppercase())).await;
    assert_eq!(code, 200, "{upper}");
    assert_eq!(upper["data"]["address"], address.as_str(), "normalised to lowercase");
    assert_eq!(upper["data"]["balances"], lower["data"]["balances"]);
    assert_ne!(lower["data"]["balances"], json!([]), "the funded account has coins: {lower}");
}

/// gwc's local-admin address (a genesis account the chart funds), from the mnemonic mounted
/// in gwc's pod.
async fn local_admin_address(env: &TestEnv) -> String {
    let words = env.mounted_mnemonic("gwc", "local-admin").await;
    testbed::chain::keys::TestKey::from_mnemonic(&words).expect("a valid mnemonic").address
}
