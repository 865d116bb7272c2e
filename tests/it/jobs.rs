//! The job engine through its HTTP routes, driven by job types that exist only here: steps
//! that wait on gates the test opens, fail, skip, print, or hang. No sleeps: every wait is
//! on a job state or a streamed line.

use crate::common::{Bff, TestEnv, WAIT};
use axum::extract::State;
use bff::app::AppState;
use bff::error_code::ErrorCode;
use bff::error_code::Failure;
use bff::jobs::{JobSpec, Scope, Step, StepCtx, StepOutcome};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// What a test step does.
#[derive(Clone)]
enum Act {
    /// Waits for a permit on the gate, logging `waiting` first.
    Gate(Arc<Semaphore>),
    /// Logs each line after taking one gate permit for it.
    Lines(Vec<String>, Arc<Semaphore>),
    Skip(&'static str),
    Fail(ErrorCode),
    /// Logs a command with this output.
    Print(String),
    /// Never finishes by itself.
    Hang,
}

struct TestStep {
    name: String,
    act: Act,
}

impl Step for TestStep {
    fn name(&self) -> &str {
        &self.name
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        async move {
            match &self.act {
                Act::Gate(gate) => {
                    ctx.info("waiting");
                    let _permit = gate
                        .acquire()
                        .await
                        .map_err(|_| Failure::new(ErrorCode::InternalError, "gate closed"))?;
                    Ok(StepOutcome::Done(format!("{} passed its gate", self.name)))
                }
                Act::Lines(lines, gate) => {
                    for line in lines {
                        gate.acquire()
                            .await
                            .map_err(|_| Failure::new(ErrorCode::InternalError, "gate closed"))?
                            .forget();
                        ctx.info(line);
                    }
                    Ok(StepOutcome::Done("printed".into()))
                }
                Act::Skip(why) => Ok(StepOutcome::Skipped(why.to_string())),
                Act::Fail(code) => {
                    Err(Failure::new(*code, "it was meant to fail")
                        .with_details(json!({"hint": "by design"})))
                }
                Act::Print(output) => {
                    ctx.command("rly keys restore gwc relayer", &format!("ok: {output}"));
                    ctx.set_result(json!({"printed": true}));
                    Ok(StepOutcome::Done("printed".into()))
                }
                Act::Hang => {
                    std::future::pending::<()>().await;
                    unreachable!()
                }
            }
        }
        .boxed()
    }
}

type Plan = Arc<dyn Fn() -> Vec<(String, Act)> + Send + Sync>;

/// Mounts `POST /api/v1/{scope}/test-job` submitting a job of the given plan.
fn test_route(scope: Scope, timeout: Duration, plan: Plan) -> impl FnOnce(AppState) -> axum::Router {
    move |state| {
        let path = format!("/api/v1/{}/test-job", scope.as_str());
        axum::Router::new()
            .route(
                &path,
                axum::routing::post(move |State(s): State<AppState>, body: axum::Json<Value>| {
                    let plan = plan.clone();
                    async move {
                        let steps: Vec<Arc<dyn Step>> = plan()
                            .into_iter()
                            .map(|(name, act)| Arc::new(TestStep { name, act }) as Arc<dyn Step>)
                            .collect();
                        let spec = JobSpec {
                            scope,
                            type_: format!("{}.test", scope.as_str()),
                            request: body.0,
                            steps,
                            timeout,
                        };
                        match s.jobs.start(spec) {
                            Ok(job) => bff::api::jobs::accepted(&job),
                            Err(refused) => axum::response::IntoResponse::into_response(
                                bff::api::error::ApiError::from(refused),
                            ),
                        }
                    }
                }),
            )
            .with_state(state)
    }
}

struct Harness {
    _env: TestEnv,
    bff: Bff,
    scope: Scope,
}

impl Harness {
    async fn new(
        scope: Scope,
        timeout: Duration,
        plan: Plan,
        adjust: impl FnOnce(&mut bff::config::Settings),
    ) -> Self {
        let env = TestEnv::ready().await;
        let (bff, _) = Bff::start_with(&env.kubeconfig, adjust, test_route(scope, timeout, plan)).await;
        bff.wait_readyz(200).await;
        Self { _env: env, bff, scope }
    }

    async fn submit(&self, body: Value) -> (u16, Value) {
        let resp = self
            .bff
            .http
            .post(format!("{}/api/v1/{}/test-job", self.bff.url, self.scope.as_str()))
            .json(&body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    fn jobs(&self) -> String {
        format!("/api/v1/{}/jobs", self.scope.as_str())
    }

    async fn job(&self, id: &str) -> Value {
        self.bff.get(&format!("{}/{id}", self.jobs())).await.1["data"].clone()
    }

    /// Waits until the job's JSON satisfies `pred`.
    async fn until(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.bff.until(&format!("{}/{id}", self.jobs()), what, |_, b| pred(&b["data"])).await["data"].clone()
    }

    async fn cancel(&self, id: &str) -> Value {
        let resp =
            self.bff.http.post(format!("{}{}/{id}/cancel", self.bff.url, self.jobs())).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }
}

fn plan(f: impl Fn() -> Vec<(String, Act)> + Send + Sync + 'static) -> Plan {
    Arc::new(f)
}

fn step(name: &str, act: Act) -> (String, Act) {
    (name.to_string(), act)
}

#[tokio::test]
async fn a_job_moves_queued_running_succeeded_and_records_each_step() {
    let gate = Arc::new(Semaphore::new(0));
    let g = gate.clone();
    let h = Harness::new(
        Scope::System,
        WAIT,
        plan(move || {
            vec![
                step("first", Act::Gate(g.clone())),
                step("second", Act::Skip("already done: nothing to change")),
            ]
        }),
        |_| {},
    )
    .await;
    let (code, answer) = h.submit(json!({"force": false})).await;
    assert_eq!(code, 202);
    // The 202 is in the envelope, with `jobId` also at the top level for v1.1's clients.
    assert_eq!(answer["ok"], true, "{answer}");
    let accepted = &answer["data"];
    assert_eq!(answer["jobId"], accepted["jobId"]);
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["type"], "system.test");
    let id = accepted["jobId"].as_str().unwrap().to_string();
    assert!(id.starts_with("job_") && id.len() == "job_20260101_".len() + 10, "{id}");
    assert_eq!(accepted["links"]["self"], format!("/api/v1/system/jobs/{id}"));
    assert_eq!(accepted["links"]["logs"], format!("/api/v1/system/jobs/{id}/logs"));

    let running = h
        .until(&id, "running in step first", |j| {
            j["status"] == "running" && j["steps"][0]["status"] == "running"
        })
        .await;
    assert_eq!(running["progress"], json!({"currentStep": "first", "completedSteps": 0, "totalSteps": 2}));
    assert_eq!(running["steps"][1]["status"], "pending");
    assert_eq!(running["request"], json!({"force": false}));

    gate.add_permits(1);
    let done = h.until(&id, "succeeded", |j| j["status"] == "succeeded").await;
    assert_eq!(done["steps"][0]["status"], "succeeded");
    assert_eq!(done["steps"][1]["status"], "skipped");
    assert_eq!(done["steps"][1]["message"], "already done: nothing to change");
    assert_eq!(done["progress"]["completedSteps"], 2);
    assert!(done["finishedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(done["error"], Value::Null);

    let (_, text) = h.bff.get_text(&format!("{}/{id}/logs", h.jobs())).await;
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].ends_with("step=first waiting"), "{text}");
    assert!(
        lines.iter().any(|l| l.ends_with("step=second skipped already done: nothing to change")),
        "{text}"
    );
    assert!(
        lines.iter().all(|l| l.starts_with('[') && l[1..].split(']').next().unwrap().ends_with('Z')),
        "{text}"
    );
}

#[tokio::test]
async fn a_failing_step_fails_the_job_with_its_code_and_later_steps_never_start() {
    let h = Harness::new(
        Scope::System,
        WAIT,
        plan(|| {
            vec![
                step("one", Act::Skip("nothing to do")),
                step("two", Act::Fail(ErrorCode::RelayerLinkFailed)),
                step("three", Act::Hang),
            ]
        }),
        |_| {},
    )
    .await;
    let (_, accepted) = h.submit(json!({})).await;
    let id = accepted["jobId"].as_str().unwrap();
    let job = h.until(id, "failed", |j| j["status"] == "failed").await;
    assert_eq!(
        job["error"],
        json!({"code": "RELAYER_LINK_FAILED", "message": "it was meant to fail", "details": {"hint": "by design"}})
    );
    assert_eq!(job["steps"][1]["status"], "failed");
    assert_eq!(job["steps"][2]["status"], "skipped", "a step that never ran is not canceled");
    assert_eq!(job["steps"][2]["startedAt"], Value::Null);
    assert_eq!(job["steps"][2]["message"], "not run: step two failed");
}

#[tokio::test]
async fn the_whole_job_timeout_fails_with_timeout_naming_the_step() {
    let h = Harness::new(
        Scope::System,
        Duration::from_millis(200),
        plan(|| vec![step("slow", Act::Hang)]),
        |_| {},
    )
    .await;
    let (_, accepted) = h.submit(json!({})).await;
    let id = accepted["jobId"].as_str().unwrap();
    let job = h.until(id, "failed", |j| j["status"] == "failed").await;
    assert_eq!(job["error"]["code"], "TIMEOUT");
    assert_eq!(job["error"]["details"]["step"], "slow");
    assert!(job["error"]["message"].as_str().unwrap().contains("slow"));
}

#[tokio::test]
async fn cancel_mid_step_cancels_the_job_and_later_steps_never_start() {
    let h = Harness::new(
        Scope::System,
        WAIT,
        plan(|| vec![step("stuck", Act::Hang), step("after", Act::Skip("x"))]),
        |_| {},
    )
    .await;
    let (_, accepted) = h.submit(json!({})).await;
    let id = accepted["jobId"].as_str().unwrap();
    h.until(id, "running", |j| j["steps"][0]["status"] == "running").await;
    let answer = h.cancel(id).await;
    assert_eq!(answer, json!({"jobId": id, "status": "canceled", "message": "cancel requested"}));
    let job = h.until(id, "canceled", |j| j["status"] == "canceled").await;
    assert_eq!(job["steps"][0]["status"], "canceled");
    assert_eq!(job["steps"][1]["status"], "skipped", "a later step never ran: {}", job["steps"]);
    assert_eq!(job["steps"][1]["startedAt"], Value::Null, "a later step never started");

    let again = h.cancel(id).await;
    assert_eq!(again["status"], "canceled");
    assert!(again["message"].as_str().unwrap().contains("already finished"), "{again}");
}

#[tokio::test]
async fn of_64_concurrent_system_submissions_exactly_one_is_accepted() {
    let gate = Arc::new(Semaphore::new(0));
    let g = gate.clone();
    let h = Arc::new(
        Harness::new(Scope::System, WAIT, plan(move || vec![step("hold", Act::Gate(g.clone()))]), |_| {})
            .await,
    );
    let answers = futures::future::join_all((0..64).map(|_| {
        let h = h.clone();
        async move { h.submit(json!({})).await }
    }))
    .await;
    let accepted: Vec<&Value> = answers.iter().filter(|(c, _)| *c == 202).map(|(_, b)| b).collect();
    assert_eq!(accepted.len(), 1, "exactly one 202");
    let winner = accepted[0]["jobId"].as_str().unwrap();
    for (code, body) in answers.iter().filter(|(c, _)| *c != 202) {
        assert_eq!(*code, 409);
        assert_eq!(body["error"]["code"], "JOB_CONFLICT");
        assert_eq!(body["error"]["details"]["jobId"], winner, "the conflict names the running job");
    }
    gate.add_permits(1);
    h.until(winner, "succeeded", |j| j["status"] == "succeeded").await;
    assert_eq!(h.submit(json!({})).await.0, 202, "once it finished, the next is admitted");
    gate.add_permits(1);
}

#[tokio::test]
async fn utils_jobs_are_refused_with_429_exactly_at_the_running_limit() {
    let gate = Arc::new(Semaphore::new(0));
    let g = gate.clone();
    let h = Harness::new(Scope::Utils, WAIT, plan(move || vec![step("hold", Act::Gate(g.clone()))]), |s| {
        s.jobs.max_running_jobs = 3
    })
    .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (code, body) = h.submit(json!({})).await;
        assert_eq!(code, 202);
        ids.push(body["jobId"].as_str().unwrap().to_string());
    }
    let (code, body) = h.submit(json!({})).await;
    assert_eq!(code, 429);
    assert_eq!(body["error"]["code"], "LIMIT_EXCEEDED");
    assert_eq!(body["error"]["details"], json!({"limit": "maxRunningJobs", "value": 3, "requested": 4}));
    gate.add_permits(1);
    h.until_any_succeeded(&ids).await;
    assert_eq!(h.submit(json!({})).await.0, 202);
    gate.add_permits(3);
}

impl Harness {
    async fn until_any_succeeded(&self, ids: &[String]) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            for id in ids {
                if self.job(id).await["status"] == "succeeded" {
                    return;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "no job finished");
            tokio::task::yield_now().await;
        }
    }
}

#[tokio::test]
async fn logs_are_capped_and_finished_jobs_are_retained_up_to_the_cap() {
    let lines: Vec<String> = (0..200).map(|i| format!("line {i:03} of a chatty step")).collect();
    let gate = Arc::new(Semaphore::new(10_000));
    let (l, g) = (lines.clone(), gate.clone());
    let h = Harness::new(
        Scope::Utils,
        WAIT,
        plan(move || vec![step("chatty", Act::Lines(l.clone(), g.clone()))]),
        |s| {
            s.jobs.job_log_cap_bytes = 2_000;
            s.jobs.retained_jobs = 3;
        },
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (code, body) = h.submit(json!({})).await;
        assert_eq!(code, 202);
        let id = body["jobId"].as_str().unwrap().to_string();
        h.until(&id, "succeeded", |j| j["status"] == "succeeded").await;
        ids.push(id);
    }
    let (_, text) = h.bff.get_text(&format!("{}/{}/logs?tail=100000", h.jobs(), ids[4])).await;
    assert!(text.lines().next().unwrap().contains("log truncated:"), "{text}");
    assert!(text.contains("line 199"), "the newest lines are kept");
    assert!(!text.contains("line 000"), "the oldest lines are dropped");
    assert!(text.len() <= 2_000 + 200, "{} bytes", text.len());

    let (_, list) = h.bff.get(&h.jobs()).await;
    let listed: Vec<&str> =
        list["data"]["items"].as_array().unwrap().iter().map(|j| j["jobId"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[4].as_str(), ids[3].as_str(), ids[2].as_str()], "newest first, oldest dropped");
    let (code, body) = h.bff.get(&format!("{}/{}", h.jobs(), ids[0])).await;
    assert_eq!((code, body["error"]["code"].as_str()), (404, Some("JOB_NOT_FOUND")));
}

#[tokio::test]
async fn mnemonics_and_tx_bytes_never_reach_job_logs_or_views() {
    let mnemonic = testbed::mnemonics::test_mnemonic("gwc", "relayer");
    let output = format!("restored key with {mnemonic}");
    let h = Harness::new(
        Scope::Utils,
        WAIT,
        plan(move || vec![step("restore", Act::Print(output.clone()))]),
        |_| {},
    )
    .await;
    let tx_bytes = "Cp4BCpsBChwvY29zbW9zLmJhbmsudjFiZXRhMS5Nc2dTZW5k".repeat(8);
    let (_, accepted) = h.submit(json!({"txBytes": [tx_bytes]})).await;
    let id = accepted["jobId"].as_str().unwrap();
    let job = h.until(id, "succeeded", |j| j["status"] == "succeeded").await;
    let (_, text) = h.bff.get_text(&format!("{}/{id}/logs", h.jobs())).await;
    let (_, jsonl) = h.bff.get_text(&format!("{}/{id}/logs?format=jsonl", h.jobs())).await;
    let words: Vec<&str> = mnemonic.split(' ').collect();
    for body in [job.to_string(), text.clone(), jsonl] {
        for w in words.windows(3) {
            assert!(!body.contains(&w.join(" ")), "mnemonic words leaked: {body}");
        }
        assert!(!body.contains(&tx_bytes), "txBytes leaked");
    }
    assert!(text.contains("[REDACTED mnemonic]"), "{text}");
}

#[tokio::test]
async fn following_logs_streams_each_line_as_appended_and_ends_with_the_job() {
    let gate = Arc::new(Semaphore::new(0));
    let g = gate.clone();
    let lines: Vec<String> = ["alpha", "beta", "gamma"].map(String::from).to_vec();
    let h = Harness::new(
        Scope::System,
        WAIT,
        plan(move || vec![step("talk", Act::Lines(lines.clone(), g.clone()))]),
        |_| {},
    )
    .await;
    let (_, accepted) = h.submit(json!({})).await;
    let id = accepted["jobId"].as_str().unwrap();
    let mut resp =
        h.bff.http.get(format!("{}{}/{id}/logs?follow=true", h.bff.url, h.jobs())).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut buf = String::new();
    let mut next_data = async || -> Option<String> {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(i) = buf.find("\n\n") {
                    let event: String = buf.drain(..i + 2).collect();
                    if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                        let is_end = event.lines().any(|l| l == "event: end");
                        return Some(if is_end { "<end>".to_string() } else { data.to_string() });
                    }
                    continue;
                }
                match resp.chunk().await.unwrap() {
                    Some(c) => buf.push_str(&String::from_utf8_lossy(&c)),
                    None => return None,
                }
            }
        })
        .await
        .expect("event in time")
    };
    for word in ["alpha", "beta", "gamma"] {
        gate.add_permits(1);
        let mut data = next_data().await.expect("a line");
        if data.ends_with("step=talk waiting") || !data.contains(word) {
            data = next_data().await.expect("a line");
        }
        assert!(data.ends_with(&format!("step=talk {word}")), "{data}");
    }
    let mut rest = Vec::new();
    while let Some(d) = next_data().await {
        rest.push(d);
    }
    assert_eq!(rest.last().map(String::as_str), Some("<end>"), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("step=talk ok printed")), "{rest:?}");
}

#[tokio::test]
async fn job_routes_validate_their_input_and_keep_scopes_apart() {
    let h = Harness::new(Scope::System, WAIT, plan(|| vec![step("one", Act::Skip("nothing"))]), |_| {}).await;
    let (_, accepted) = h.submit(json!({})).await;
    let id = accepted["jobId"].as_str().unwrap();
    h.until(id, "succeeded", |j| j["status"] == "succeeded").await;
    let (code, body) = h.bff.get(&format!("/api/v1/utils/jobs/{id}")).await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (404, Some("JOB_NOT_FOUND")),
        "a system job is not a utils job"
    );
    let (_, list) = h.bff.get("/api/v1/system/jobs?status=succeeded&type=system.test&limit=1").await;
    assert_eq!(list["data"]["items"][0]["jobId"], id);
    let (_, list) = h.bff.get("/api/v1/system/jobs?status=failed").await;
    assert_eq!(list["data"]["items"], json!([]));
    for bad in ["limit=0", "status=sleeping", "since=yesterday", "limit=x"] {
        let (code, body) = h.bff.get(&format!("/api/v1/system/jobs?{bad}")).await;
        assert_eq!((code, body["error"]["code"].as_str()), (422, Some("VALIDATION_ERROR")), "{bad}: {body}");
    }
    let (code, _) = h.bff.get(&format!("/api/v1/system/jobs/{id}/logs?format=xml")).await;
    assert_eq!(code, 422);
    let (code, body) = h.bff.get("/api/v1/system/jobs/%FF%FE").await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (400, Some("BAD_REQUEST")),
        "a non-UTF-8 path segment: {body}"
    );
}
