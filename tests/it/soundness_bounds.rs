//! Input bounds and hardening (issue 30, points 3–8 and 12), each through a real socket: a
//! 1M-step start, snapshot/resource's body, heights beyond int64, slow clients (raw TCP,
//! one header line or body byte at a time), the connection bound, out-of-range numbers,
//! jobs on a stopped release, the original `mode` fields, and errors that name fields
//! instead of repeating values.

use crate::common::{Bff, TestEnv};
use crate::reconcile::{Harness, assert_succeeded};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cosmrs::proto::Any;
use cosmrs::proto::cosmos::bank::v1beta1::MsgSend;
use cosmrs::proto::cosmos::tx::v1beta1::{AuthInfo, TxBody, TxRaw};
use prost::Message as _;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The read timeouts of the BFFs these tests start (short, so a slow client meets them soon).
const READ_TIMEOUT: Duration = Duration::from_secs(1);
/// Pace of the slow clients: one header line or body byte per tick.
const DRIP: Duration = Duration::from_millis(250);
/// Ticks a slow client may send before the server must have closed its connection: three
/// timeouts' worth, slack for a loaded machine.
const DRIP_LIMIT: usize = 12;

async fn post_raw(bff: &Bff, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let resp = bff
        .http
        .post(format!("{}{path}", bff.url))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("BFF answers");
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

fn error_of(body: &Value) -> (Option<&str>, Option<&str>) {
    (body["error"]["code"].as_str(), body["error"]["details"]["field"].as_str())
}

/// A BFF whose slow clients meet the short read timeouts.
async fn impatient_bff(env: &TestEnv, adjust: impl FnOnce(&mut bff::config::Settings)) -> Bff {
    let (bff, _) = Bff::start_with(
        &env.kubeconfig,
        |s| {
            s.server.header_read_timeout = READ_TIMEOUT;
            s.server.body_read_timeout = READ_TIMEOUT;
            adjust(s);
        },
        |_| axum::Router::new(),
    )
    .await;
    bff
}

/// Connects, sends `head`, then one `drip` per tick until the server closes the connection;
/// the ticks sent and what the server answered. Panics when the connection outlives DRIP_LIMIT.
async fn drip_until_closed(url: &str, head: &str, drip: &[u8]) -> (usize, String) {
    let stream = TcpStream::connect(url.trim_start_matches("http://")).await.expect("connects");
    let (mut read, mut write) = stream.into_split();
    write.write_all(head.as_bytes()).await.expect("head sent");
    let reader = tokio::spawn(async move {
        let mut answer = Vec::new();
        let _ = read.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    });
    let mut sent = 0;
    while !reader.is_finished() {
        assert!(sent < DRIP_LIMIT, "a slow client's connection is still open after {sent} ticks");
        tokio::time::sleep(DRIP).await;
        if write.write_all(drip).await.is_err() {
            break;
        }
        sent += 1;
    }
    (sent, reader.await.expect("reader"))
}

#[tokio::test]
async fn a_start_naming_a_million_steps_or_one_twice_is_refused_and_stores_nothing() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    // 15.7 MB of JSON: refused while read, at the fifth item.
    let huge = json!({"steps": vec!["initRelayer"; 1 << 20], "dryRun": true});
    let (code, body) = bff.post("/api/v1/system/start", &huge).await;
    assert_eq!((code, error_of(&body)), (422, (Some("VALIDATION_ERROR"), Some("steps"))), "{body}");
    let (code, body) = bff
        .post("/api/v1/system/start", &json!({"steps": ["initRelayer", "initRelayer"], "dryRun": true}))
        .await;
    assert_eq!((code, error_of(&body)), (422, (Some("VALIDATION_ERROR"), Some("steps"))), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("once"), "{body}");
    let (_, jobs) = bff.get("/api/v1/system/jobs?type=system.start").await;
    assert_eq!(jobs["data"]["items"], json!([]), "no job was admitted");
    // Each step once is fine, and the stored request holds exactly those names.
    let (code, accepted) = bff
        .post("/api/v1/system/start", &json!({"steps": ["connectAll", "initRelayer"], "dryRun": true}))
        .await;
    assert_eq!(code, 202, "{accepted}");
    let (_, job) = bff.get(&format!("/api/v1/system/jobs/{}", accepted["jobId"].as_str().unwrap())).await;
    assert_eq!(job["data"]["request"]["steps"], json!(["initRelayer", "connectAll"]), "{job}");
}

#[tokio::test]
async fn snapshot_resource_reads_and_checks_its_body_as_every_body_route() {
    crate::testbed_only!("starts a BFF with a small body limit");
    let env = TestEnv::ready().await;
    let (bff, _) =
        Bff::start_with(&env.kubeconfig, |s| s.max_body_bytes = 4096, |_| axum::Router::new()).await;
    bff.wait_readyz(200).await;
    let path = "/api/v1/utils/snapshot/resource";
    let (code, body) = bff.post(path, &json!({"x": 1})).await;
    assert_eq!((code, error_of(&body)), (422, (Some("VALIDATION_ERROR"), Some("x"))), "{body}");
    let (code, body) = bff.post(path, &json!([1, 2])).await;
    assert_eq!((code, error_of(&body)), (422, (Some("VALIDATION_ERROR"), Some("body"))), "{body}");
    let (code, body) = post_raw(&bff, path, "application/json", "{bad").await;
    assert_eq!((code, error_of(&body).0), (400, Some("BAD_REQUEST")), "{body}");
    let (code, body) = post_raw(&bff, path, "text/plain", "{}").await;
    assert_eq!((code, error_of(&body).0), (415, Some("UNSUPPORTED_MEDIA_TYPE")), "{body}");
    let (code, body) = post_raw(&bff, path, "application/json", format!("{{{}}}", " ".repeat(4095))).await;
    assert_eq!((code, error_of(&body).0), (413, Some("PAYLOAD_TOO_LARGE")), "{body}");
    let (code, body) = bff.post(path, &json!({})).await;
    assert_eq!(code, 202, "an empty object asks for a snapshot: {body}");
}

#[tokio::test]
async fn a_height_beyond_int64_is_refused_naming_the_field_before_any_upstream_call() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    for path in
        ["/api/v1/chains/gwc/blocks/9223372036854775808", "/api/v1/chains/gwc/blocks/9223372036854775808/txs"]
    {
        let (code, body) = bff.get(path).await;
        assert_eq!(
            (code, error_of(&body)),
            (422, (Some("INVALID_HEIGHT"), Some("height"))),
            "{path}: {body}"
        );
        assert!(!body.to_string().contains("9223372036854775808"), "the value is not echoed: {body}");
    }
    let (code, body) = bff.get("/api/v1/chains/gwc/blocks/0").await;
    assert_eq!((code, error_of(&body).1), (422, Some("height")), "{body}");
}

#[tokio::test]
async fn slow_header_lines_are_cut_off_at_the_header_timeout() {
    crate::testbed_only!("starts a BFF with short read timeouts");
    let env = TestEnv::ready().await;
    let bff = impatient_bff(&env, |_| {}).await;
    let (sent, _) = drip_until_closed(&bff.url, "GET /healthz HTTP/1.1\r\n", b"X-Slow: 1\r\n").await;
    assert!(sent < DRIP_LIMIT, "closed after {sent} header lines");
    // A client that sends nothing at all is cut off the same way.
    let (sent, answer) = drip_until_closed(&bff.url, "", b"").await;
    assert!(sent < DRIP_LIMIT && !answer.contains("200 OK"), "{sent}: {answer}");
    // A prompt client is served.
    let (code, _) = bff.get("/healthz").await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn a_slow_body_is_408_and_its_connection_closed() {
    crate::testbed_only!("starts a BFF with short read timeouts");
    let env = TestEnv::ready().await;
    let bff = impatient_bff(&env, |_| {}).await;
    let head = "POST /api/v1/utils/snapshot/resource HTTP/1.1\r\nHost: bff\r\n\
                Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
    let (sent, answer) = drip_until_closed(&bff.url, head, b" ").await;
    assert!(sent < DRIP_LIMIT, "closed after {sent} body bytes");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT") && answer.contains("bodyReadTimeout"), "{answer}");
}

#[tokio::test]
async fn beyond_the_connection_bound_a_client_waits_until_a_connection_closes() {
    crate::testbed_only!("starts a BFF with one connection slot");
    let env = TestEnv::ready().await;
    let bff = impatient_bff(&env, |s| s.server.max_connections = 1).await;
    let addr = bff.url.trim_start_matches("http://").to_string();
    // The first connection takes the only slot and sends half a request head.
    let mut first = TcpStream::connect(&addr).await.unwrap();
    first.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let mut second = TcpStream::connect(&addr).await.unwrap();
    second.write_all(b"GET /healthz HTTP/1.1\r\nHost: bff\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    second.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The second was served only once the first was closed (by the header timeout).
    let mut buf = [0u8; 1024];
    let closed = loop {
        match first.try_read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
            Err(_) => break true,
        }
    };
    assert!(closed, "the second client was served while the first still held the only slot");
}

#[tokio::test]
async fn numbers_out_of_range_get_one_answer() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let mut answers = Vec::new();
    for number in ["1e400", "99999999999999999999999"] {
        let body = format!(r#"{{"chainId": "gwc", "lastBlocks": {number}}}"#);
        let (code, answer) =
            post_raw(&bff, "/api/v1/utils/metrics/throughput", "application/json", body).await;
        assert!(!answer.to_string().contains(number), "{answer}");
        answers.push((
            code,
            error_of(&answer).0.map(str::to_string),
            error_of(&answer).1.map(str::to_string),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], (422, Some("VALIDATION_ERROR".into()), Some("lastBlocks".into())));
}

#[tokio::test]
async fn jobs_that_need_pods_fail_at_once_on_a_stopped_system_naming_the_replicas() {
    crate::testbed_only!("stops and resumes the whole release");
    let h = Harness::new(1).await;
    assert_succeeded(&h.run("/stop", json!({})).await);
    for (path, body) in [
        ("/start", json!({})),
        ("/connect", json!({"target": "chain:fdsc-0"})),
        ("/relayer/restart", json!({})),
    ] {
        let (code, answer) = h.post(path, body).await;
        assert_eq!((code, error_of(&answer).0), (409, Some("SYSTEM_STOPPED")), "{path}: {answer}");
        let details = &answer["error"]["details"];
        assert_eq!(details["hint"], "POST /api/v1/system/resume", "{answer}");
        let workloads = details["workloads"].as_array().expect("workloads");
        assert!(!workloads.is_empty(), "{answer}");
        for w in workloads {
            assert_eq!(w["replicas"], 0, "{w}");
            assert!(w["replicasBeforeStop"].as_i64().is_some_and(|n| n > 0), "{w}");
        }
    }
    let (_, jobs) = h.bff.get("/api/v1/system/jobs?status=running").await;
    assert_eq!(jobs["data"]["items"], json!([]), "nothing holds the system-job slot");
    // Resume is what the hint says; it is admitted, and a start after it is too.
    assert_succeeded(&h.run("/resume", json!({})).await);
    let (code, answer) = h.post("/start", json!({"dryRun": true})).await;
    assert_eq!(code, 202, "{answer}");
}

/// A TxRaw with a MsgSend and a message of a type nobody has a proto for; base64.
fn tx_with_an_unknown_message() -> String {
    let send = MsgSend {
        from_address: "cosmos1from".into(),
        to_address: "cosmos1to".into(),
        amount: vec![cosmrs::proto::cosmos::base::v1beta1::Coin {
            denom: "uatom".into(),
            amount: "5".into(),
        }],
    };
    let body = TxBody {
        messages: vec![
            Any { type_url: "/cosmos.bank.v1beta1.MsgSend".into(), value: send.encode_to_vec() },
            Any { type_url: "/example.v1.MsgUnknown".into(), value: vec![1, 2, 3] },
        ],
        memo: "modes".into(),
        ..Default::default()
    };
    let raw = TxRaw {
        body_bytes: body.encode_to_vec(),
        auth_info_bytes: AuthInfo::default().encode_to_vec(),
        signatures: vec![vec![7; 64]],
    };
    BASE64.encode(raw.encode_to_vec())
}

#[tokio::test]
async fn the_original_mode_fields_are_accepted_and_decode_returns_raw() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let tx = tx_with_an_unknown_message();
    let (code, decoded) =
        bff.post("/api/v1/chains/gwc/tx/decode", &json!({"txBytes": tx, "mode": "bestEffort"})).await;
    assert_eq!(code, 200, "{decoded}");
    let raw = &decoded["data"]["raw"];
    assert_eq!(
        raw["body"]["messages"][0],
        json!({"@type": "/cosmos.bank.v1beta1.MsgSend", "from_address": "cosmos1from", "to_address": "cosmos1to",
               "amount": [{"denom": "uatom", "amount": "5"}]}),
        "{decoded}"
    );
    assert_eq!(raw["body"]["messages"][1], json!({"@type": "/example.v1.MsgUnknown", "value_size": 3}));
    assert_eq!(raw["body"]["memo"], "modes");
    assert_eq!(decoded["data"]["body"]["messages"][1]["decoded"], false);
    assert!(!decoded.to_string().contains(&tx), "the txBytes are never echoed");

    let (code, strict) =
        bff.post("/api/v1/chains/gwc/tx/decode", &json!({"txBytes": tx, "mode": "strict"})).await;
    assert_eq!(
        (code, error_of(&strict)),
        (422, (Some("INVALID_TX_BYTES"), Some("body.messages[1]"))),
        "{strict}"
    );

    let (code, sim) = bff.post("/api/v1/chains/gwc/simulate", &json!({"txBytes": tx, "mode": "grpc"})).await;
    assert_eq!((code, error_of(&sim)), (422, (Some("VALIDATION_ERROR"), Some("mode"))), "{sim}");
    assert_eq!(sim["error"]["details"]["available"], json!(["rest"]), "{sim}");
    assert!(sim["error"]["message"].as_str().unwrap().contains("no gRPC client"), "{sim}");
    for (route, mode) in [("simulate", "bogus"), ("tx/decode", "grpc")] {
        let (code, answer) =
            bff.post(&format!("/api/v1/chains/gwc/{route}"), &json!({"txBytes": tx, "mode": mode})).await;
        assert_eq!((code, error_of(&answer).1), (422, Some("mode")), "{route} {mode}: {answer}");
    }
}

#[tokio::test]
async fn the_contract_lists_body_errors_names_fields_and_never_echoes_values() {
    crate::testbed_only!("starts a BFF with one utils job slot");
    let env = TestEnv::ready().await;
    let (bff, _) =
        Bff::start_with(&env.kubeconfig, |s| s.jobs.max_running_jobs = 1, |_| axum::Router::new()).await;
    bff.wait_readyz(200).await;

    let (_, doc) = bff.get("/api/v1/openapi.json").await;
    for route in ["start", "connect", "relayer/restart", "stop", "resume"] {
        let responses = &doc["paths"][format!("/api/v1/system/{route}")]["post"]["responses"];
        for status in ["400", "408", "413", "415"] {
            assert!(responses[status].is_object(), "{route} lists {status}: {responses}");
        }
    }
    let codes = doc.pointer("/components/schemas/ErrorCode/enum").expect("ErrorCode enum").to_string();
    assert!(codes.contains("SYSTEM_STOPPED") && codes.contains("REQUEST_TIMEOUT"), "{codes}");

    // The one utils slot taken, the next job's 429 says what was asked for.
    let hash = "AB".repeat(32);
    let (code, _) = bff
        .post(
            "/api/v1/utils/observe/tx-confirmation",
            &json!({"chainId": "gwc", "txhash": hash, "timeoutSeconds": 30}),
        )
        .await;
    assert_eq!(code, 202);
    let (code, refused) = bff.post("/api/v1/utils/snapshot/resource", &json!({})).await;
    assert_eq!(code, 429, "{refused}");
    assert_eq!(refused["error"]["details"], json!({"limit": "maxRunningJobs", "value": 1, "requested": 2}));

    for query in ["type=bogus", "status=bogus"] {
        let (code, body) = bff.get(&format!("/api/v1/utils/jobs?{query}")).await;
        assert_eq!((code, error_of(&body).0), (422, Some("VALIDATION_ERROR")), "{query}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().contains("bogus"), "{body}");
    }

    let from = testbed::chain::keys::TestKey::for_role("gwc", "local-admin").address;
    let build = json!({"fromAddress": from, "messages": [
        {"typeUrl": "/cosmos.bank.v1beta1.MsgSend", "value": {"fromAddress": from}},
    ]});
    let (code, body) = bff.post("/api/v1/chains/gwc/tx/build", &build).await;
    assert_eq!((code, error_of(&body).1), (422, Some("messages[0].value")), "{body}");
    let bad_fee = json!({"fromAddress": from, "fee": {"amount": [{"denom": "uatom"}]}, "messages": [
        {"typeUrl": "/cosmos.bank.v1beta1.MsgSend",
         "value": {"fromAddress": from, "toAddress": from, "amount": [{"denom": "uatom", "amount": "1"}]}},
    ]});
    let (code, body) = bff.post("/api/v1/chains/gwc/tx/build", &bad_fee).await;
    assert_eq!((code, error_of(&body).1), (422, Some("fee.amount")), "{body}");
    let unknown = json!({"fromAddress": from, "messages": [{"typeUrl": "/echo.MsgEchoEcho", "value": {}}]});
    let (code, body) = bff.post("/api/v1/chains/gwc/tx/build", &unknown).await;
    assert_eq!((code, error_of(&body).1), (422, Some("messages[0].typeUrl")), "{body}");
    assert!(!body.to_string().contains("EchoEcho"), "{body}");

    // Values from the path and the query never come back.
    for (path, value) in [
        ("/api/v1/system/jobs/echo-job-id-4711", "echo-job-id-4711"),
        ("/api/v1/utils/jobs/echo-job-id-4711/logs", "echo-job-id-4711"),
        ("/api/v1/system/k8s/logs?pod=echo-pod-4711", "echo-pod-4711"),
        ("/api/v1/no-such-echo-route", "no-such-echo-route"),
        ("/api/v1/system/jobs?since=echo-since-4711", "echo-since-4711"),
        ("/api/v1/system/jobs?limit=4711x", "4711x"),
    ] {
        let (code, body) = bff.get(path).await;
        assert!(code >= 400, "{path}: {body}");
        assert!(!body.to_string().contains(value), "{path} echoes its value: {body}");
    }
}
