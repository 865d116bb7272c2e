//! The testbed's wire details that kubectl and kube-rs rely on, checked on the raw protocol:
//! watch framing, 410 as an ERROR event, bookmarks, discovery, exec over v4, log options,
//! and metav1.Status errors.

use crate::common::{TestEnv, WAIT};
use futures::{SinkExt as _, StreamExt as _};
use kube::api::{AttachParams, LogParams};
use serde_json::Value;
use std::time::Duration;
use testbed::Testbed;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};

const PODS: &str = "/api/v1/namespaces/cryptomeria/pods";

/// Reads a watch response line by line.
struct Lines {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Lines {
    async fn open(env: &TestEnv, query: &str) -> Self {
        let resp =
            reqwest::get(format!("{}{PODS}?{query}", env.testbed().api_url)).await.expect("watch opens");
        assert_eq!(resp.status(), 200, "a watch always answers 200");
        assert_eq!(resp.headers()["content-type"], "application/json");
        Self { resp, buf: Vec::new() }
    }

    /// The next event, or None when the server ended the stream.
    async fn next(&mut self) -> Option<Value> {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = self.buf.drain(..=i).collect();
                    return Some(serde_json::from_slice(&line).expect("each line is one JSON event"));
                }
                match self.resp.chunk().await.expect("stream reads") {
                    Some(chunk) => self.buf.extend_from_slice(&chunk),
                    None => {
                        assert!(self.buf.is_empty(), "stream ended mid-line");
                        return None;
                    }
                }
            }
        })
        .await
        .expect("next watch event in time")
    }
}

async fn list_rv(env: &TestEnv) -> String {
    let list: Value =
        reqwest::get(format!("{}{PODS}", env.testbed().api_url)).await.unwrap().json().await.unwrap();
    list["metadata"]["resourceVersion"].as_str().expect("list carries a resourceVersion").to_string()
}

#[tokio::test]
async fn watch_from_an_expired_version_answers_200_with_one_410_error_event() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let rv = list_rv(&env).await;
    env.testbed().control.expire_resource_versions();
    let mut lines = Lines::open(&env, &format!("watch=true&resourceVersion={rv}")).await;
    let event = lines.next().await.expect("one event");
    assert_eq!(event["type"], "ERROR");
    assert_eq!(event["object"]["kind"], "Status");
    assert_eq!(event["object"]["code"], 410);
    assert_eq!(event["object"]["reason"], "Expired");
    assert!(lines.next().await.is_none(), "the stream ends after the error");
}

#[tokio::test]
async fn watch_replays_only_matching_changes_after_the_requested_version() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let rv = list_rv(&env).await;
    env.testbed().control.hold_not_ready("cryptomeria-gwc-0");
    env.testbed().control.hold_not_ready("cryptomeria-mdsc-0");
    let mut lines = Lines::open(
        &env,
        &format!("&watch=true&resourceVersion={rv}&labelSelector=app.kubernetes.io%2Finstance%3Dmdsc"),
    )
    .await;
    let event = lines.next().await.expect("an event");
    assert_eq!(event["type"], "MODIFIED");
    assert_eq!(event["object"]["kind"], "Pod");
    assert_eq!(event["object"]["apiVersion"], "v1");
    assert_eq!(event["object"]["metadata"]["name"], "cryptomeria-mdsc-0");
    let event_rv: u64 = event["object"]["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
    assert!(event_rv > rv.parse().unwrap());
}

#[tokio::test]
async fn watch_without_a_version_starts_with_the_current_state_and_honours_its_timeout() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let mut lines = Lines::open(&env, "watch=1&timeoutSeconds=1").await;
    let mut added = Vec::new();
    while let Some(event) = lines.next().await {
        assert_eq!(event["type"], "ADDED");
        added.push(event["object"]["metadata"]["name"].as_str().unwrap().to_string());
    }
    assert_eq!(added.len(), 7, "one synthetic ADDED per pod, then the stream ends: {added:?}");
}

#[tokio::test]
async fn watch_sends_bookmarks_when_the_client_allows_them() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready_with(Testbed::builder().bookmark_interval(Duration::from_millis(50))).await;
    let rv = list_rv(&env).await;
    let mut lines =
        Lines::open(&env, &format!("watch=true&allowWatchBookmarks=true&resourceVersion={rv}")).await;
    let event = lines.next().await.expect("an event");
    assert_eq!(event["type"], "BOOKMARK");
    assert_eq!(event["object"]["kind"], "Pod");
    assert_eq!(event["object"]["apiVersion"], "v1");
    assert_eq!(event["object"]["metadata"]["resourceVersion"], rv.as_str());
}

#[tokio::test]
async fn discovery_selects_kubectl_1_32_and_lists_the_served_resources() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let get = |path: &str| {
        let url = format!("{}{path}", env.testbed().api_url);
        async move { reqwest::get(url).await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(get("/version").await["minor"], "32");
    assert_eq!(get("/api").await["versions"], serde_json::json!(["v1"]));
    assert_eq!(get("/apis").await["groups"][0]["name"], "apps");
    let core = get("/api/v1").await;
    let names: Vec<&str> =
        core["resources"].as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
    for want in [
        "pods",
        "pods/exec",
        "pods/log",
        "services",
        "endpoints",
        "configmaps",
        "secrets",
        "nodes",
        "namespaces",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let pods = core["resources"].as_array().unwrap().iter().find(|r| r["name"] == "pods").unwrap();
    assert_eq!(pods["shortNames"], serde_json::json!(["po"]));
    let apps = get("/apis/apps/v1").await;
    assert_eq!(apps["groupVersion"], "apps/v1");
}

#[tokio::test]
async fn errors_are_metav1_status_objects() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let client = reqwest::Client::new();
    let resp = client.get(format!("{}/api/v1/bogus", env.testbed().api_url)).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!((body["kind"].as_str(), body["code"].as_i64()), (Some("Status"), Some(404)));
    let url = format!("{}{PODS}/{}/exec?command=true&stdout=true", env.testbed().api_url, env.relayer());
    let resp = client.post(url).send().await.unwrap();
    assert_eq!(resp.status(), 400, "no SPDY: the POST fallback gets a Status, not a hang");
    let resp = client.delete(format!("{}{PODS}/nope", env.testbed().api_url)).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["message"], r#"pods "nope" not found"#);
}

#[tokio::test]
async fn exec_speaks_the_v4_channel_protocol_too() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let url = format!(
        "{}{PODS}/{}/exec?command=sh&command=-c&command=echo+hi%3B+exit+7&stdout=true&stderr=true",
        env.testbed().api_url.replace("http", "ws"),
        env.relayer()
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "v4.channel.k8s.io".parse().unwrap());
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.expect("upgrade");
    assert_eq!(resp.headers()["sec-websocket-protocol"], "v4.channel.k8s.io");
    let (mut stdout, mut status, mut close) = (Vec::new(), None, None);
    while let Some(msg) = tokio::time::timeout(WAIT, ws.next()).await.expect("frames in time") {
        match msg.expect("frame") {
            Message::Binary(data) if data.first() == Some(&1) => stdout.extend_from_slice(&data[1..]),
            Message::Binary(data) if data.first() == Some(&3) => {
                status = Some(serde_json::from_slice::<Value>(&data[1..]).unwrap())
            }
            Message::Close(frame) => {
                close = frame.map(|f| u16::from(f.code));
                let _ = ws.send(Message::Close(None)).await;
                break;
            }
            Message::Text(_) => panic!("exec frames are binary"),
            _ => {}
        }
    }
    assert_eq!(stdout, b"hi\n");
    let status = status.expect("a status frame");
    assert_eq!(status["reason"], "NonZeroExitCode");
    assert_eq!(status["details"]["causes"][0], serde_json::json!({"reason": "ExitCode", "message": "7"}));
    assert_eq!(close, Some(1000), "a clean close, which client-go requires");
}

#[tokio::test]
async fn exec_latency_delays_every_exec() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let latency = Duration::from_millis(300);
    env.testbed().control.set_exec_latency(latency);
    let started = std::time::Instant::now();
    let mut proc = env.pods().exec(&env.relayer(), ["true"], &AttachParams::default()).await.unwrap();
    let status = proc.take_status().unwrap().await.unwrap();
    assert_eq!(status.status.as_deref(), Some("Success"));
    assert!(started.elapsed() >= latency, "exec answered before the injected latency");
}

#[tokio::test]
async fn pod_log_follows_new_lines_with_timestamps() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let pods = env.pods();
    let params = LogParams { follow: true, timestamps: true, tail_lines: Some(0), ..Default::default() };
    let stream = pods.log_stream("cryptomeria-gwc-0", &params).await.unwrap();
    let mut lines = futures::AsyncBufReadExt::lines(stream);
    let mut proc = pods
        .exec("cryptomeria-gwc-0", ["sh", "-c", "echo followed > /proc/1/fd/1"], &AttachParams::default())
        .await
        .unwrap();
    proc.take_status().unwrap().await;
    let line =
        tokio::time::timeout(WAIT, lines.next()).await.expect("line in time").expect("a line").unwrap();
    let (stamp, text) = line.split_once(' ').expect("timestamp prefix");
    assert!(stamp.parse::<jiff::Timestamp>().is_ok(), "{stamp} is RFC 3339");
    assert_eq!(text, "followed");

    let future = LogParams {
        since_time: Some(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)),
        ..Default::default()
    };
    assert_eq!(pods.logs("cryptomeria-gwc-0", &future).await.unwrap(), "");
    let limited = LogParams { limit_bytes: Some(10), ..Default::default() };
    assert_eq!(pods.logs("cryptomeria-gwc-0", &limited).await.unwrap().len(), 10);
    let wrong = LogParams { container: Some("nope".into()), ..Default::default() };
    let err = pods.logs("cryptomeria-gwc-0", &wrong).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 400 && s.message.contains("not valid")),
        "{err:?}"
    );
}
