//! `GET /metrics` judged by the Prometheus project's own parsers (Python `prometheus_client`,
//! strict OpenMetrics and classic text format): jobs by type and status, step durations,
//! cache objects and watch restarts, upstream latency per chain and method, exec calls.

use crate::common::{Bff, TestEnv, WAIT};
use bff::error_code::ErrorCode;
use bff::error_code::Failure;
use bff::jobs::{JobSpec, Scope, Step, StepCtx, StepOutcome};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// One parsed sample.
#[derive(Debug, serde::Deserialize)]
pub struct Sample {
    pub family: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
}

/// Parses an exposition with `tests/tools/parse_metrics.py`; panics with the parser's
/// complaint when either parser rejects it.
pub async fn parse(text: &str) -> Vec<Sample> {
    use tokio::io::AsyncWriteExt as _;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/parse_metrics.py");
    let mut child = tokio::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().expect("stdin piped");
    stdin.write_all(text.as_bytes()).await.expect("write exposition");
    drop(stdin);
    let out = child.wait_with_output().await.expect("parser ran");
    assert!(
        out.status.success(),
        "the exposition does not parse: {}\n---\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("parser prints JSON")
}

/// The value of the sample `name` whose labels include `labels`, if any.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

pub async fn scrape(bff: &Bff) -> Vec<Sample> {
    let resp = bff.http.get(format!("{}/metrics", bff.url)).send().await.expect("BFF answers");
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    parse(&resp.text().await.unwrap()).await
}

/// Succeeds, skips or fails at once.
struct Quick(&'static str, Result<StepOutcome, ErrorCode>);

impl Step for Quick {
    fn name(&self) -> &str {
        self.0
    }

    fn run<'a>(&'a self, _ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        let outcome = self.1.clone().map_err(|code| Failure::new(code, "failed on purpose"));
        async move { outcome }.boxed()
    }
}

fn spec(scope: Scope, type_: &str, steps: Vec<Quick>) -> JobSpec {
    JobSpec {
        scope,
        type_: type_.into(),
        request: json!({}),
        steps: steps.into_iter().map(|s| Arc::new(s) as Arc<dyn Step>).collect(),
        timeout: WAIT,
    }
}

async fn until_finished(bff: &Bff, scope: &str, id: &str) -> Value {
    let path = format!("/api/v1/{scope}/jobs/{id}");
    bff.until(&path, "a final status", |code, body| {
        code == 200
            && ["succeeded", "failed", "canceled"].contains(&body["data"]["status"].as_str().unwrap_or(""))
    })
    .await
}

#[tokio::test]
async fn metrics_parse_and_count_jobs_steps_cache_objects_upstream_calls_and_execs() {
    let env = TestEnv::ready().await;
    let (bff, state) = Bff::start_with(&env.kubeconfig, |_| {}, |_| axum::Router::new()).await;
    bff.wait_readyz(200).await;

    let ok = state
        .jobs
        .start(spec(
            Scope::Utils,
            "utils.metrics-test",
            vec![
                Quick("first", Ok(StepOutcome::Done("did it".into()))),
                Quick("second", Ok(StepOutcome::Skipped("nothing to do".into()))),
            ],
        ))
        .unwrap();
    let failed = state
        .jobs
        .start(spec(
            Scope::System,
            "system.metrics-test",
            vec![Quick("only", Err(ErrorCode::RelayerLinkFailed))],
        ))
        .unwrap();
    until_finished(&bff, "utils", &ok.job_id).await;
    until_finished(&bff, "system", &failed.job_id).await;

    // One upstream call through the chains API, one exec through preflight.
    let (code, _) = bff.get("/api/v1/chains/gwc/status").await;
    assert_eq!(code, 200);
    let (code, preflight) = bff.get("/api/v1/system/preflight").await;
    assert_eq!(code, 200, "{preflight}");

    let samples = scrape(&bff).await;
    let utils = [("scope", "utils"), ("type", "utils.metrics-test")];
    assert_eq!(
        value(
            &samples,
            "cryptomeria_bff_jobs_finished_total",
            &[utils[0], utils[1], ("status", "succeeded")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "cryptomeria_bff_jobs_finished_total",
            &[("scope", "system"), ("type", "system.metrics-test"), ("status", "failed")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "cryptomeria_bff_jobs", &[utils[0], utils[1], ("status", "succeeded")]),
        Some(1.0)
    );
    let step = |name: &str, status: &str| {
        value(
            &samples,
            "cryptomeria_bff_job_step_duration_seconds_count",
            &[("type", "utils.metrics-test"), ("step", name), ("status", status)],
        )
    };
    assert_eq!(step("first", "succeeded"), Some(1.0));
    assert_eq!(step("second", "skipped"), Some(1.0));
    let family = |name: &str| samples.iter().find(|s| s.family == name).map(|s| s.type_.as_str());
    assert_eq!(family("cryptomeria_bff_job_step_duration_seconds"), Some("histogram"));
    assert_eq!(family("cryptomeria_bff_jobs"), Some("gauge"));
    assert_eq!(family("cryptomeria_bff_jobs_finished"), Some("counter"));

    let pods = env.pods().list(&Default::default()).await.unwrap().items.len();
    let kind = format!("pods/{}", env.ns());
    assert_eq!(value(&samples, "cryptomeria_bff_cache_objects", &[("kind", &kind)]), Some(pods as f64));

    let upstream = value(
        &samples,
        "cryptomeria_bff_upstream_request_duration_seconds_count",
        &[("chain", "gwc"), ("method", "status"), ("outcome", "ok")],
    );
    assert_eq!(upstream, Some(1.0), "one RPC status call to gwc");
    let execs = value(&samples, "cryptomeria_bff_exec_calls_total", &[("outcome", "ok")]).unwrap_or(0.0);
    assert!(execs >= 1.0, "preflight's exec was not counted");
    eprintln!("metrics: {} samples in {} families", samples.len(), {
        let mut f: Vec<&str> = samples.iter().map(|s| s.family.as_str()).collect();
        f.dedup();
        f.len()
    });
}

#[tokio::test]
async fn expired_resource_versions_count_one_relist_per_watched_kind() {
    crate::testbed_only!("expires the API server's resourceVersions through the testbed's control handle");
    let env = TestEnv::ready().await;
    let (bff, _state) = Bff::start_with(&env.kubeconfig, |_| {}, |_| axum::Router::new()).await;
    bff.wait_readyz(200).await;
    let relists = |samples: &[Sample], kind: &str| {
        value(samples, "cryptomeria_bff_cache_watch_restarts_total", &[("kind", kind), ("reason", "relist")])
    };
    let kind = format!("endpoints/{}", env.ns());
    assert_eq!(
        relists(&scrape(&bff).await, &kind),
        Some(0.0),
        "no restart before the fault, and a series at 0"
    );

    env.testbed().control.expire_resource_versions();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let samples = scrape(&bff).await;
        let kinds = ["pods", "services", "endpoints", "configmaps"].map(|k| format!("{k}/{}", env.ns()));
        if kinds.iter().all(|k| relists(&samples, k) == Some(1.0)) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "relists never counted: {:?}", {
            samples.iter().filter(|s| s.family == "cryptomeria_bff_cache_watch_restarts").collect::<Vec<_>>()
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
