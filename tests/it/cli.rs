//! The binary's `testbed` and `demo` subcommands, run as a user would: their ready lines,
//! kubectl against the written kubeconfig, `/healthz`, demo's settings, first scrape and
//! printed next steps (run as printed), and a clean, quiet exit on SIGTERM.

use crate::common::{WAIT, init_crypto, kubectl};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_cryptomeria-bff");

/// Spawns the binary and returns it with the first stdout line that starts with `prefix`.
/// A directory of its own for a spawned binary: `demo` and `testbed` write
/// `testbed.kubeconfig` where they run, and tests run side by side.
pub(crate) fn own_dir() -> std::path::PathBuf {
    tempfile::tempdir().expect("temp dir").keep()
}

pub(crate) async fn spawn_until_line(args: &[&str], prefix: &str) -> (Child, String) {
    let (child, mut lines) = spawn_until_lines(args, &[prefix]).await;
    (child, lines.remove(0))
}

/// Spawns the binary and returns it with the first stdout line starting with each prefix, in
/// the order the prefixes are given (each looked for after the one before).
pub(crate) async fn spawn_until_lines(args: &[&str], prefixes: &[&str]) -> (Child, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(own_dir())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let found = tokio::time::timeout(WAIT, async {
        let mut found = Vec::new();
        for prefix in prefixes {
            loop {
                let Some(line) = lines.next_line().await.expect("read stdout") else {
                    panic!("stdout closed before a line starting with {prefix:?}");
                };
                if line.starts_with(prefix) {
                    found.push(line);
                    break;
                }
            }
        }
        found
    })
    .await
    .expect("ready lines in time");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, found)
}

pub(crate) async fn terminate(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().expect("running").to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().await.expect("kill runs");
    assert!(sent.success());
    tokio::time::timeout(WAIT, child.wait()).await.expect("exits in time").expect("exit status")
}

#[tokio::test]
async fn testbed_subcommand_writes_a_kubeconfig_kubectl_can_use() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc.yaml");
    let kc = kubeconfig.to_str().unwrap();
    let (child, line) = spawn_until_line(
        &["testbed", "--fdsc", "1", "--kubeconfig", kc, "--ready-delay", "10ms"],
        "testbed ready",
    )
    .await;
    assert_eq!(line, format!("testbed ready kubeconfig={kc}"));
    let (code, out, err) = kubectl(
        &kubeconfig,
        dir.path(),
        &["wait", "--for=condition=ready", "pod", "--all", "-n", "cryptomeria", "--timeout=60s"],
        None,
    )
    .await;
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out.lines().count(), 6, "gwc, mdsc, fdsc-0, the relayer, faucet and genesis-server: {out}");
    let status = terminate(child).await;
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}

/// The chart's boot: the chain StatefulSets have no readinessProbe, so right after `testbed`
/// prints ready (default boot delay) a chain pod turns Ready while its entrypoint still
/// fetches genesis: the RPC NodePort refuses, and serves a few seconds later.
#[tokio::test]
async fn right_after_testbed_is_ready_a_chain_pod_is_ready_while_its_rpc_still_refuses() {
    init_crypto();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc.yaml");
    let kc = kubeconfig.to_str().unwrap();
    let (child, _) = spawn_until_line(
        &["testbed", "--fdsc", "1", "--kubeconfig", kc, "--ready-delay", "10ms"],
        "testbed ready",
    )
    .await;
    let run = |args: &'static [&'static str]| kubectl(&kubeconfig, dir.path(), args, None);
    let (code, _, err) =
        run(&["wait", "--for=condition=ready", "pod/cryptomeria-gwc-0", "-n", "cryptomeria"]).await;
    assert_eq!(code, 0, "gwc's pod turns Ready: {err}");
    let ready_at = std::time::Instant::now();
    const JSONPATH: &str = r#"-o=jsonpath={.spec.ports[?(@.name=="rpc")].nodePort}"#;
    let (code, port, err) = run(&["get", "svc", "cryptomeria-gwc", "-n", "cryptomeria", JSONPATH]).await;
    assert_eq!(code, 0, "{err}");
    let status = format!("http://127.0.0.1:{port}/status");

    let early = reqwest::get(&status).await;
    assert!(early.as_ref().is_err_and(reqwest::Error::is_connect), "RPC refuses while booting: {early:?}");
    let served = tokio::time::timeout(WAIT, async {
        loop {
            match reqwest::get(&status).await {
                Ok(r) if r.status().is_success() => return r.json::<serde_json::Value>().await.unwrap(),
                _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .expect("gwc serves RPC after its boot delay");
    assert_eq!(served["result"]["node_info"]["network"], "gwc", "{served}");
    let gap = ready_at.elapsed();
    assert!(gap >= std::time::Duration::from_secs(2), "serving {gap:?} after Ready: no boot gap");
    println!("gwc Ready → RPC serving: {gap:?}");
    let status = terminate(child).await;
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}

#[tokio::test]
async fn demo_subcommand_answers_healthz() {
    init_crypto();
    let (child, line) = spawn_until_line(&["demo", "--listen", "127.0.0.1:0"], "demo ready").await;
    let api = line.strip_prefix("demo ready api=").expect("api address on the ready line");
    let body: serde_json::Value = reqwest::get(format!("{api}/healthz")).await.unwrap().json().await.unwrap();
    assert_eq!(body, serde_json::json!({"ok": true, "data": {"status": "alive"}}));
    let status = terminate(child).await;
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}

#[tokio::test]
async fn log_format_json_writes_one_json_object_per_line() {
    let env = crate::common::TestEnv::ready().await;
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(&env.kubeconfig)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let line =
        tokio::time::timeout(WAIT, lines.next_line()).await.expect("a log line in time").unwrap().unwrap();
    let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(event["level"], "INFO", "{line}");
    assert_eq!(event["fields"]["message"], "serving", "{line}");
    assert!(event["fields"]["addr"].as_str().is_some_and(|a| a.starts_with("127.0.0.1:")), "{line}");
    drop(lines);
    child.kill().await.expect("kill");
}

#[tokio::test]
async fn sigterm_cancels_a_running_job_ends_its_followers_and_exits_within_5s() {
    crate::testbed_only!("holds gwc's blocks so a link stays in flight");
    let env = crate::common::TestEnv::ready().await;
    // gwc makes no block: connect waits for its height to rise, so the start job stays running.
    env.testbed().control.set_block_interval("gwc", None);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &addr, "--kubeconfig"])
        .arg(&env.kubeconfig)
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let mut log = BufReader::new(child.stderr.take().expect("stderr")).lines();
    tokio::time::timeout(WAIT, async {
        while let Some(line) = log.next_line().await.unwrap() {
            if line.contains("serving") {
                break;
            }
        }
    })
    .await
    .expect("serving in time");
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    let base = format!("http://{addr}");
    let bff = crate::common::Bff::at(&base);
    bff.wait_readyz(200).await;
    let http = bff.http.clone();
    let accepted: serde_json::Value =
        http.post(format!("{base}/api/v1/system/start")).send().await.unwrap().json().await.unwrap();
    let id = accepted["jobId"].as_str().expect("jobId").to_string();
    bff.until(&format!("/api/v1/system/jobs/{id}"), "the start inside connectAll", |_, b| {
        b["data"]["steps"]
            .as_array()
            .is_some_and(|steps| steps.iter().any(|s| s["name"] == "connectAll" && s["status"] == "running"))
    })
    .await;
    // An in-flight request: the job's log, followed.
    let follow = http.get(format!("{base}/api/v1/system/jobs/{id}/logs?follow=true")).send().await.unwrap();
    assert_eq!(follow.status(), 200);
    let started = std::time::Instant::now();
    let pid = child.id().expect("running").to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().await.unwrap().success());
    let body = tokio::time::timeout(WAIT, follow.text()).await.expect("the follow ends").expect("body");
    let status = tokio::time::timeout(WAIT, child.wait()).await.expect("exits").expect("exit status");
    let took = started.elapsed();
    assert!(status.success(), "clean exit: {status:?}");
    assert!(took < std::time::Duration::from_secs(5), "exited after {took:?}");
    assert!(body.contains("canceled while running"), "the follower saw the job canceled: {body}");
    assert!(body.contains("event: end"), "the follow stream ended cleanly: {body}");
    println!("SIGTERM → exit in {took:?}");
}

/// Runs one line the demo printed, as a user pastes it into a shell.
async fn run_printed(line: &str) -> String {
    let out = tokio::time::timeout(WAIT * 2, Command::new("sh").args(["-c", line]).output())
        .await
        .unwrap_or_else(|_| panic!("{line} did not finish in time"))
        .expect("sh runs");
    assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

#[tokio::test]
async fn demo_takes_serves_limits_prints_next_steps_that_work_and_stops_quietly() {
    init_crypto();
    // The chart's boot gap as the demo has it by default: the start below is posted right
    // after the banner, while the chains still boot, and must wait for them.
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--ready-delay", "10ms"])
        .args(["--block-interval", "200ms"])
        .current_dir(own_dir())
        .env("JOB_MAX_RUNNING", "1")
        .env("RUST_LOG", "info")
        .env_remove("LOG_FORMAT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let log = tokio::spawn(async move {
        let mut all = String::new();
        while let Ok(Some(line)) = stderr.next_line().await {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let printed = tokio::time::timeout(WAIT, async {
        let mut printed = Vec::new();
        while let Some(line) = stdout.next_line().await.expect("read stdout") {
            let last = line.contains("/etc/mnemonics/");
            printed.push(line);
            if last {
                return printed;
            }
        }
        panic!("stdout closed early: {printed:?}");
    })
    .await
    .expect("the demo's banner in time");
    tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
    let api = printed[0].strip_prefix("demo ready api=").expect("ready line").to_string();
    let http = reqwest::Client::new();

    // The docs URL it prints answers.
    assert_eq!(printed[1], format!("  docs={api}/api/v1/docs/"));
    assert_eq!(http.get(format!("{api}/api/v1/docs/")).send().await.unwrap().status(), 200);

    // The first scrape already has the job and exec families, with their known series at 0.
    let metrics = http.get(format!("{api}/metrics")).send().await.unwrap().text().await.unwrap();
    for wanted in [
        "# TYPE cryptomeria_bff_jobs gauge",
        "# TYPE cryptomeria_bff_jobs_finished counter",
        "# TYPE cryptomeria_bff_job_step_duration_seconds histogram",
        "# TYPE cryptomeria_bff_exec_calls counter",
        "# TYPE cryptomeria_bff_cache_watch_restarts counter",
        r#"cryptomeria_bff_exec_calls_total{outcome="ok"} 0"#,
        r#"cryptomeria_bff_jobs{scope="system",type="system.start",status="running"} 0"#,
        r#"cryptomeria_bff_cache_watch_restarts_total{kind="pods/cryptomeria",reason="error"} 0"#,
    ] {
        assert!(metrics.contains(wanted), "{wanted} missing from the first scrape:\n{metrics}");
    }

    // The next steps work as printed: preflight, start, follow the job to its end.
    let command = |prefix: &str| {
        printed
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?}: {printed:?}"))
    };
    let preflight: serde_json::Value =
        serde_json::from_str(&run_printed(command("curl -s http")).await).expect("JSON");
    assert_eq!(preflight["ok"], true, "{preflight}");
    let started: serde_json::Value =
        serde_json::from_str(&run_printed(command("curl -s -X POST")).await).expect("JSON");
    let job = started["jobId"].as_str().unwrap_or_else(|| panic!("a job: {started}"));
    let followed = run_printed(&command("curl -sN").replace("JOB_ID", job)).await;
    assert!(followed.contains("event: end"), "the follow streams to the job's end: {followed}");
    assert!(!followed.contains("not live"), "a healthy start raises no alarm: {followed}");
    let view: serde_json::Value =
        http.get(format!("{api}/api/v1/system/jobs/{job}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(view["data"]["status"], "succeeded", "{view}");

    // JOB_MAX_RUNNING=1 holds for demo as for serve (after the start: a watch posted while
    // the chains still boot fails at once, as it should, and would free its slot).
    let post = |path: &str, body: serde_json::Value| {
        let request = http.post(format!("{api}/api/v1/utils/{path}")).json(&body);
        async move {
            let resp = request.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap())
        }
    };
    let hash = "AB".repeat(32);
    let (code, watching) =
        post("observe/tx-confirmation", serde_json::json!({"chainId": "gwc", "txhash": hash})).await;
    assert_eq!(code, 202, "{watching}");
    let (code, refused) = post("snapshot/resource", serde_json::json!({})).await;
    assert_eq!(code, 429, "{refused}");
    assert_eq!(
        (&refused["error"]["details"]["limit"], &refused["error"]["details"]["value"]),
        (&serde_json::json!("maxRunningJobs"), &serde_json::json!(1))
    );
    let id = watching["jobId"].as_str().unwrap();
    let (code, _) = post(&format!("jobs/{id}/cancel"), serde_json::json!({})).await;
    assert_eq!(code, 200);

    // The mnemonic is where the banner says (a funded genesis key).
    // `ctl` is printed as this executable's path, so the line runs as printed after `cargo run`.
    let ctl_line = command(BIN);
    assert!(ctl_line.contains(" ctl --api ") && ctl_line.contains("start --follow"), "{ctl_line}");
    let mnemonic = run_printed(command("kubectl --kubeconfig")).await;
    assert_eq!(mnemonic.trim(), testbed::mnemonics::test_mnemonic("gwc", "local-admin"));

    // SIGTERM: our own watches close without a WARN or ERROR; no colour in a redirected log.
    let status = terminate(child).await;
    assert!(status.success(), "clean exit: {status:?}");
    let log = log.await.unwrap();
    assert!(log.contains("stopped"), "{log}");
    assert!(!log.contains('\u{1b}'), "ANSI escapes in a redirected log:\n{log}");
    let noisy: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")).collect();
    assert!(noisy.is_empty(), "a clean shutdown logged:\n{}", noisy.join("\n"));
}

#[tokio::test]
async fn a_busy_listen_port_names_the_address_and_the_setting_that_moves_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = tokio::process::Command::new(BIN)
        .args(["serve", "--kubeconfig", "/nonexistent/kubeconfig", "--listen", &addr])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(crate::common::WAIT, out).await.expect("serve exits").expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve must fail on a taken port");
    assert!(err.contains(&format!("cannot listen on {addr}: the port is in use")), "{err}");
    assert!(err.contains("--listen ADDR") && err.contains("BFF_LISTEN"), "{err}");
}
