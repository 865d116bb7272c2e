//! `cryptomeria-bff ctl` run as a user runs it, against a BFF on a real socket: its stdout is
//! a pipe, so progress comes as plain lines. `start`/`connect` are posted to a stand-in route
//! (mounted under `/fake` with the real job routes, so it never collides with the real ones)
//! that submits test steps named like the reconcile pipeline's.

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
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::sync::Semaphore;

const BIN: &str = env!("CARGO_BIN_EXE_cryptomeria-bff");

enum Act {
    Done(&'static str),
    Skip(&'static str),
    Fail(ErrorCode),
    /// Logs each line after one permit of the gate.
    Lines(Vec<&'static str>, Arc<Semaphore>),
}

struct TestStep(&'static str, Act);

impl Step for TestStep {
    fn name(&self) -> &str {
        self.0
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        async move {
            match &self.1 {
                Act::Done(m) => Ok(StepOutcome::Done(m.to_string())),
                Act::Skip(m) => Ok(StepOutcome::Skipped(m.to_string())),
                Act::Fail(code) => Err(Failure::new(*code, "link gwc <-> fdsc-0 failed 5 times")),
                Act::Lines(lines, gate) => {
                    for line in lines {
                        gate.acquire().await.expect("gate open").forget();
                        ctx.command(line, "ok");
                    }
                    Ok(StepOutcome::Done("printed".into()))
                }
            }
        }
        .boxed()
    }
}

fn steps(list: Vec<TestStep>) -> Vec<Arc<dyn Step>> {
    list.into_iter().map(|s| Arc::new(s) as Arc<dyn Step>).collect()
}

/// Stand-ins for `POST /system/start` (the pipeline's five steps, all fine) and
/// `POST /system/connect` (fails in connectAll), next to the real system job routes.
fn fake_system(state: AppState) -> axum::Router {
    async fn start(State(s): State<AppState>, body: axum::Json<Value>) -> axum::response::Response {
        let list = vec![
            TestStep("discover", Act::Done("relayer pod and 4 chain pods found")),
            TestStep("initRelayer", Act::Skip("config, chains and keys already present")),
            TestStep("connectAll", Act::Done("3 links opened")),
            TestStep("startRelayer", Act::Done("rly start running")),
            TestStep("waitIbcReady", Act::Done("every gateway channel OPEN")),
        ];
        submit(&s, "system.start", body.0, steps(list))
    }
    async fn connect(State(s): State<AppState>, body: axum::Json<Value>) -> axum::response::Response {
        let list = vec![
            TestStep("discover", Act::Done("found")),
            TestStep("connectAll", Act::Fail(ErrorCode::RelayerLinkFailed)),
        ];
        submit(&s, "system.connect", body.0, steps(list))
    }
    fn submit(
        s: &AppState,
        type_: &str,
        request: Value,
        steps: Vec<Arc<dyn Step>>,
    ) -> axum::response::Response {
        let spec = JobSpec { scope: Scope::System, type_: type_.into(), request, steps, timeout: WAIT };
        match s.jobs.start(spec) {
            Ok(job) => bff::api::jobs::accepted(&job),
            Err(refused) => {
                axum::response::IntoResponse::into_response(bff::api::error::ApiError::from(refused))
            }
        }
    }
    let (jobs, _) = bff::api::jobs::system::router().split_for_parts();
    let system = axum::Router::new()
        .route("/start", axum::routing::post(start))
        .route("/connect", axum::routing::post(connect))
        .merge(jobs);
    axum::Router::new().nest("/fake/api/v1/system", system).with_state(state)
}

async fn ctl(api: &str, args: &[&str]) -> (i32, String, String) {
    let out = tokio::time::timeout(
        WAIT,
        tokio::process::Command::new(BIN).args(["ctl", "--api", api]).args(args).kill_on_drop(true).output(),
    )
    .await
    .expect("ctl finishes in time")
    .expect("ctl runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[tokio::test]
async fn start_follow_shows_each_step_as_a_plain_line_and_exits_by_the_jobs_outcome() {
    let env = TestEnv::ready().await;
    let (bff, _state) = Bff::start_with(&env.kubeconfig, |_| {}, fake_system).await;
    let api = format!("{}/fake", bff.url);

    let (code, out, err) = ctl(&api, &["start", "--follow", "--steps", "initRelayer,connectAll"]).await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(!out.contains('\x1b'), "a pipe gets no escape codes: {out:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("job job_") && lines[0].ends_with("(system.start) queued"), "{out}");
    for want in [
        "[1/5] discover succeeded: relayer pod and 4 chain pods found",
        "[2/5] initRelayer skipped: config, chains and keys already present",
        "[5/5] waitIbcReady succeeded: every gateway channel OPEN",
    ] {
        assert!(lines.contains(&want), "missing {want:?} in:\n{out}");
    }
    assert!(lines.last().unwrap().ends_with(" succeeded"), "{out}");

    let (code, out, _) = ctl(&api, &["connect", "chain:fdsc-0", "--follow"]).await;
    assert_eq!(code, 1, "a failed job exits non-zero: {out}");
    assert!(out.contains("[2/2] connectAll failed: link gwc <-> fdsc-0 failed 5 times"), "{out}");
    assert!(out.contains("error RELAYER_LINK_FAILED: link gwc <-> fdsc-0 failed 5 times"), "{out}");

    let (code, out, _) = ctl(&api, &["jobs", "--scope", "system"]).await;
    assert_eq!(code, 0);
    let listed: Vec<&str> = out.lines().collect();
    assert_eq!(listed.len(), 3, "a header and two jobs: {out}");
    assert_eq!(listed[0].split_whitespace().collect::<Vec<_>>(), ["JOB", "STATUS", "TYPE", "CREATED"]);
    assert!(listed[1].contains("failed") && listed[1].contains("system.connect"), "newest first: {out}");
    assert!(listed[2].contains("succeeded") && listed[2].contains("system.start"), "{out}");

    // Without --follow: the job's id and how to follow it, as a command that works.
    let (code, out, _) = ctl(&api, &["start"]).await;
    assert_eq!(code, 0, "{out}");
    let id = out.lines().next().unwrap().split_whitespace().nth(1).unwrap().to_string();
    let hint = out.lines().find(|l| l.starts_with("follow it: ")).unwrap_or_else(|| panic!("no hint: {out}"));
    let command: Vec<&str> = hint["follow it: ".len()..].split_whitespace().collect();
    // The hint names this executable by its path: it runs as printed without a PATH install.
    assert_eq!(command[..4], [BIN, "ctl", "--api", api.as_str()], "{hint}");
    assert_eq!(command[4..], ["job", id.as_str(), "--follow"], "{hint}");
    let (code, out, _) = ctl(&api, &command[4..]).await;
    assert_eq!(code, 0, "the hinted command follows the job to its end: {out}");
    assert!(out.lines().last().unwrap().ends_with(" succeeded"), "{out}");
}

#[tokio::test]
async fn logs_follow_streams_lines_as_they_come_and_ends_with_the_job() {
    let env = TestEnv::ready().await;
    let (bff, state) = Bff::start_with(&env.kubeconfig, |_| {}, |_| axum::Router::new()).await;
    let gate = Arc::new(Semaphore::new(0));
    let job = state
        .jobs
        .start(JobSpec {
            scope: Scope::Utils,
            type_: "utils.ctl-test".into(),
            request: json!({}),
            steps: steps(vec![TestStep("print", Act::Lines(vec!["echo one", "echo two"], gate.clone()))]),
            timeout: WAIT,
        })
        .unwrap();

    // No --scope: ctl finds the job in utils after system says 404.
    let mut child = tokio::process::Command::new(BIN)
        .args(["ctl", "--api", &bff.url, "logs", &job.job_id, "--follow"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ctl starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next =
        async || tokio::time::timeout(WAIT, lines.next_line()).await.expect("a line in time").unwrap();
    gate.add_permits(1);
    let first = next().await.expect("first line");
    assert!(first.contains(r#"step=print cmd="echo one" ok"#), "{first}");
    // The second line exists only after this permit: ctl is streaming, not reading a dump.
    gate.add_permits(1);
    let second = next().await.expect("second line");
    assert!(second.contains(r#"cmd="echo two" ok"#), "{second}");
    let mut rest = Vec::new();
    while let Some(line) = next().await {
        rest.push(line);
    }
    let status = tokio::time::timeout(WAIT, child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "ctl logs --follow ends with the job");
    assert!(rest.iter().any(|l| l.contains("step=print") && l.contains("ok")), "the step's end: {rest:?}");
}

#[tokio::test]
async fn api_errors_and_an_unreachable_bff_print_clearly_and_exit_non_zero() {
    let env = TestEnv::ready().await;
    let bff = Bff::start(&env.kubeconfig).await;
    let (code, out, err) = ctl(&bff.url, &["logs", "job_20990101_nothere000", "--scope", "system"]).await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("error: JOB_NOT_FOUND: no job with that id"), "{err}");
    assert!(!err.contains("nothere000"), "the id is not echoed: {err}");
    assert!(err.contains("HTTP 404"), "{err}");

    let (code, _, err) = ctl(&bff.url, &["jobs", "--scope", "utils", "--status", "sideways"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("(HTTP 4"), "a validation error names its status: {err}");

    // API messages read as sentences, not Rust values (`Some("relayer")`, `[]`).
    let (code, body) = bff.get("/api/v1/system/k8s/logs?component=nothere&instance=x").await;
    assert_eq!(code, 404, "{body}");
    // (Nor do they repeat the request's values.)
    assert_eq!(body["error"]["message"], "no pod matches that component and instance");

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let (code, _, err) = ctl(&format!("http://{closed}"), &["jobs"]).await;
    assert_eq!(code, 1);
    assert!(
        err.starts_with(&format!("error: failed to reach the BFF at http://{closed}/api/v1/system/jobs")),
        "{err}"
    );
    assert!(err.contains("is it running?") && err.contains("--api URL"), "the error names the fix: {err}");
}

#[tokio::test]
async fn ctl_start_and_connect_drive_the_real_reconcile_jobs() {
    crate::testbed_only!("needs a fresh install: every step of the first start succeeds rather than skips");
    let env = TestEnv::ready_with(
        testbed::Testbed::builder().fdsc(1).block_interval(Some(std::time::Duration::from_millis(40))),
    )
    .await;
    let (bff, _) = Bff::start_with(
        &env.kubeconfig,
        |s| {
            s.reconcile.relayer_verify_delay = std::time::Duration::from_millis(50);
            s.reconcile.reconcile_poll_interval = std::time::Duration::from_millis(20);
        },
        |_| axum::Router::new(),
    )
    .await;
    bff.wait_readyz(200).await;
    let (code, out, err) = ctl(&bff.url, &["start", "--follow"]).await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    for step in ["discover", "initRelayer", "connectAll", "startRelayer", "waitIbcReady"] {
        assert!(out.lines().any(|l| l.contains(&format!("] {step} succeeded"))), "{step} in:\n{out}");
    }
    let (code, out, _) = ctl(&bff.url, &["start", "--follow"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.lines().any(|l| l.contains("] connectAll skipped: nothing to do")), "{out}");
    let (code, out, _) = ctl(&bff.url, &["connect", "chain:fdsc-0", "--follow"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.lines().last().is_some_and(|l| l.ends_with(" succeeded")), "{out}");
}
