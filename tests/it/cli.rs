//! The binary's `testbed` and `demo` subcommands, run as a user would: their ready lines,
//! kubectl against the written kubeconfig, `/healthz`, and a clean exit on SIGTERM.

use crate::common::{WAIT, init_crypto, kubectl};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_cryptomeria-bff");

/// Spawns the binary and returns it with the first stdout line that starts with `prefix`.
async fn spawn_until_line(args: &[&str], prefix: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if line.starts_with(prefix) {
                return line;
            }
        }
        panic!("stdout closed before a line starting with {prefix:?}");
    })
    .await
    .expect("ready line in time");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, line)
}

async fn terminate(mut child: Child) -> std::process::ExitStatus {
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
    assert_eq!(out.lines().count(), 4, "gwc, mdsc, fdsc-0 and the relayer: {out}");
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
