//! schemathesis (PyPI) fuzzes every route of the served OpenAPI document (issue 12): at least
//! 1,000 generated requests, no 5xx, every error answer in the envelope (the check lives in
//! `tests/tools/fuzz_hooks.py`). The BFF runs against the testbed, so job routes really
//! start jobs.

use crate::common::{Bff, TestEnv};
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_every_error_is_in_the_envelope() {
    crate::testbed_only!("fuzzed job routes stop and rescale the release: only on a disposable testbed");
    let env = TestEnv::ready().await;
    let (bff, _) = Bff::start_with(
        &env.kubeconfig,
        |s| {
            s.reconcile.link_retry_wait = Duration::from_millis(10);
            s.reconcile.relayer_verify_delay = Duration::from_millis(50);
            s.reconcile.ibc_ready_timeout = Duration::from_secs(2);
            s.reconcile.reconcile_poll_interval = Duration::from_millis(20);
        },
        |_| axum::Router::new(),
    )
    .await;
    bff.wait_readyz(200).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let count_file = dir.path().join("calls.txt");
    let tools = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools");
    let examples = std::env::var("FUZZ_MAX_EXAMPLES").unwrap_or_else(|_| "25".into());
    let out = tokio::process::Command::new("schemathesis")
        .args(["run", &format!("{}/api/v1/openapi.json", bff.url)])
        .args(["--checks", "not_a_server_error,error_envelope", "--max-examples", &examples])
        .args(["--seed", "1", "--request-timeout", "20", "--workers", "2", "--suppress-health-check", "all"])
        .args(["--phases", "examples,coverage,fuzzing", "--no-shrink"])
        .env("SCHEMATHESIS_HOOKS", "fuzz_hooks")
        .env("PYTHONPATH", tools)
        .env("FUZZ_COUNT_FILE", &count_file)
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
        .kill_on_drop(true)
        .output()
        .await
        .expect("schemathesis runs (installed by tests/run.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let calls = std::fs::read_to_string(&count_file).unwrap_or_default();
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for line in calls.lines() {
        *by_status.entry(line.split(' ').next().unwrap_or("?")).or_default() += 1;
    }
    let operations: std::collections::BTreeSet<&str> =
        calls.lines().filter_map(|l| l.split_once(' ').map(|(_, op)| op)).collect();
    println!(
        "fuzz: {} requests over {} operations, by status {by_status:?}",
        calls.lines().count(),
        operations.len()
    );
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(calls.lines().count() >= 1000, "only {} requests generated", calls.lines().count());
    assert!(!by_status.keys().any(|s| s.starts_with('5')), "{by_status:?}");
}
