//! `cryptomeria-bff bench --quick --json PATH`, run as a user would: every figure P1–P14 is in
//! the JSON with plausible values, and the structural facts hold (a warm start makes at most
//! three execs, the scripts make more execs than the BFF, caches save upstream requests,
//! healing links nothing). Timings, ratios and memory are printed by the bench, never
//! asserted: machines are noisy.

use serde_json::Value;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_cryptomeria-bff");

fn num(json: &Value, fig: &str, key: &str) -> f64 {
    json[fig][key].as_f64().unwrap_or_else(|| panic!("{fig}.{key} missing or not a number: {}", json[fig]))
}

#[tokio::test]
async fn bench_quick_writes_every_figure_beside_its_baseline() {
    crate::testbed_only!(
        "the bench runs its own embedded testbeds and drives them through the control handle"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.json");
    let run = tokio::process::Command::new(BIN)
        .args(["bench", "--quick", "--json"])
        .arg(&path)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(1800), run)
        .await
        .expect("bench ends in time")
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "bench failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    println!("{stdout}");
    for fig in ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "P11", "P12", "P14"] {
        assert!(stdout.lines().any(|l| l.starts_with(&format!("| {fig} "))), "no {fig} row:\n{stdout}");
    }
    let json: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("JSON written")).expect("JSON parses");

    for key in ["bff_s", "baseline_s", "ratio"] {
        assert!(num(&json, "p1", key) > 0.0, "p1.{key}");
    }
    for key in ["bff_s", "baseline_s"] {
        assert!(num(&json, "p2", key) > 0.0, "p2.{key}");
    }
    let (warm, warm_base) = (num(&json, "p2", "execs"), num(&json, "p2", "baseline_execs"));
    assert!(warm <= 3.0, "a warm start made {warm} execs");
    assert!(warm_base > warm, "the scripts' warm re-run made {warm_base} execs, the BFF {warm}");
    assert!(num(&json, "p1", "baseline_execs") > num(&json, "p1", "execs"), "cold execs: {}", json["p1"]);

    assert!(num(&json, "p3", "ratio") > 0.0);
    assert!(num(&json, "p3", "p50_ms") > 0.0 && num(&json, "p3", "p99_ms") >= num(&json, "p3", "p50_ms"));

    let (cold, same, incremental) = (
        num(&json, "p4", "cold_requests"),
        num(&json, "p4", "same_height_requests"),
        num(&json, "p4", "incremental_requests"),
    );
    assert!(cold > 0.0 && same < cold && incremental < cold, "blocktime requests: {}", json["p4"]);
    // ⌈2001 headers / 20 per `blockchain` page⌉ + one `status`.
    assert!(cold <= 102.0, "cold blocktime made {cold} upstream requests");
    let p5 = num(&json, "p5", "requests");
    assert!(p5 > 0.0 && p5 < num(&json, "p5", "baseline_requests"), "{}", json["p5"]);
    let (p6, p6_base) = (num(&json, "p6", "requests"), num(&json, "p6", "baseline_requests"));
    assert!(p6 > 0.0 && p6 < p6_base && p6_base >= 10_000.0, "{}", json["p6"]);

    for key in ["ratio", "bff_tps", "direct_tps"] {
        assert!(num(&json, "p7", key) > 0.0, "p7.{key}");
    }
    // P8: the separate `serve` process, at three points.
    for key in ["rss_mib", "idle_rss_mib", "anon_mib"] {
        assert!(num(&json, "p8", key) > 0.0, "p8.{key}: {}", json["p8"]);
    }
    for key in ["per_1000_pods_mib", "per_1000_jobs_mib"] {
        assert!(num(&json, "p8", key).is_finite(), "p8.{key}: {}", json["p8"]);
    }
    assert_eq!(json["p8"]["separate_process"], true);
    assert_eq!(num(&json, "p8", "jobs"), 1000.0, "{}", json["p8"]);

    // P9 at scale (`--quick`: the size it says).
    let (fdsc, pods) = (num(&json, "p9", "fdsc"), num(&json, "p9", "pods"));
    assert!(fdsc >= 8.0 && pods >= num(&json, "p9", "extra_pods") + fdsc + 3.0, "{}", json["p9"]);
    for key in ["ratio", "bff_s", "baseline_s", "status_p50_ms", "status_p99_ms", "ibc_p99_ms", "rss_mib"]
        .into_iter()
        .chain(["loaded_status_p50_ms", "loaded_status_p99_ms", "load_core_share"])
    {
        assert!(num(&json, "p9", key) > 0.0, "p9.{key}: {}", json["p9"]);
    }
    assert!(num(&json, "p9", "status_p99_ms") >= num(&json, "p9", "status_p50_ms"), "{}", json["p9"]);
    let warm = num(&json, "p9", "warm_execs");
    assert!(warm <= 3.0, "a warm start at scale made {warm} execs");
    assert!(num(&json, "p9", "baseline_warm_execs") > warm, "{}", json["p9"]);
    // The scripts pay at least one exec per chain; the BFF batches its observations.
    assert!(num(&json, "p9", "baseline_execs") > num(&json, "p9", "execs"), "{}", json["p9"]);
    assert!(num(&json, "p9", "baseline_execs") > fdsc + 2.0, "{}", json["p9"]);
    assert_eq!(num(&json, "p9", "baseline_runs"), 1.0);

    // P10: healing with no POST relinks nothing; after a manual start the paths are rebuilt
    // from chain ids, never linked again; the scripts leave rly without a path.
    assert_eq!(num(&json, "p10", "link_actions"), 0.0, "{}", json["p10"]);
    assert!(
        num(&json, "p10", "heal_seconds") > 0.0 && num(&json, "p10", "heal_execs") > 0.0,
        "{}",
        json["p10"]
    );
    assert_eq!(json["p10"]["baseline_session_closed"], false, "{}", json["p10"]);
    assert_eq!(num(&json, "p10", "links"), 0.0, "{}", json["p10"]);
    assert_eq!(num(&json, "p10", "paths_with_ids"), num(&json, "p10", "paths"), "{}", json["p10"]);
    assert_eq!(num(&json, "p10", "baseline_paths_with_ids"), 0.0, "{}", json["p10"]);
    assert!(num(&json, "p10", "execs") > 0.0 && num(&json, "p10", "bff_s") > 0.0, "{}", json["p10"]);

    // P14: the upload experiment beside the scripts' way of driving the same flow.
    for key in ["bff_total_s", "baseline_total_s", "bff_deploy_s", "baseline_deploy_s"] {
        assert!(num(&json, "p14", key) > 0.0, "p14.{key}: {}", json["p14"]);
    }
    p11_measures_every_fault_and_loses_no_packet(&json, &stdout);
    p12_times_a_start_at_real_block_time_and_counts_blocks_per_link(&json);
}

#[tokio::test]
async fn bench_p13_reads_packets_in_requests_per_block_not_per_packet() {
    crate::testbed_only!("the bench runs its own embedded testbed and drives it through the control handle");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.json");
    let run = tokio::process::Command::new(BIN)
        .args(["bench", "--quick", "--only", "p13", "--json"])
        .arg(&path)
        .kill_on_drop(true)
        .output();
    let out =
        tokio::time::timeout(Duration::from_secs(600), run).await.expect("bench ends in time").expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "bench failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().any(|l| l.starts_with("| P13 ")), "no P13 row:\n{stdout}");
    let json: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("JSON written")).expect("JSON parses");
    let (requests, blocks, packets) =
        (num(&json, "p13", "requests"), num(&json, "p13", "blocks"), num(&json, "p13", "packets"));
    assert_eq!(blocks, 1000.0, "{}", json["p13"]);
    assert!(packets >= 100.0, "the sessions sent their packets: {}", json["p13"]);
    assert_eq!(num(&json, "p13", "baseline_requests"), 3.0 * packets, "a tx_search per send, recv and ack");
    assert!(requests > 0.0 && requests < num(&json, "p13", "baseline_requests"), "{}", json["p13"]);
}

/// P11 (from the quick run): every fault detected and named, healed, no packet lost.
fn p11_measures_every_fault_and_loses_no_packet(json: &Value, stdout: &str) {
    let faults = [
        "rly_killed",
        "rly_paused",
        "pod_deleted",
        "fdsc_halted",
        "rpc_cut",
        "client_near_expiry",
        "wallet_drained",
        "restart_loop",
    ];
    for fault in faults {
        let f = &json["p11"][fault];
        assert!(f["detect_blocks"].is_u64(), "p11.{fault}.detect_blocks: {f}");
        assert!(f["heal_seconds"].as_f64().is_some_and(|s| s > 0.0), "p11.{fault}.heal_seconds: {f}");
        assert_eq!(f["packets_lost"], 0, "p11.{fault}.packets_lost: {f}");
        assert!(f["packets_sent"].as_u64() > Some(0), "a session was in flight: {f}");
        assert!(f["reason"].as_str().is_some_and(|r| !r.is_empty()), "named in /system/ibc: {f}");
    }
    assert_eq!(stdout.lines().filter(|l| l.starts_with("| P11 ")).count(), faults.len(), "{stdout}");
    // What the product heals itself it does with a pass, never a link; the wallet it only names.
    for fault in ["rly_killed", "pod_deleted", "client_near_expiry", "restart_loop"] {
        assert!(num(&json["p11"], fault, "reconcile_passes") >= 1.0, "{}", json["p11"][fault]);
        assert_eq!(num(&json["p11"], fault, "link_actions"), 0.0, "{}", json["p11"][fault]);
    }
    assert_eq!(num(&json["p11"], "wallet_drained", "reconcile_passes"), 0.0, "{}", json["p11"]);
    assert!(
        json["p11"]["restart_loop"]["reason"]
            .as_str()
            .unwrap()
            .contains("restarting in a loop (restartCount"),
        "{}",
        json["p11"]
    );
    assert!(
        json["p11"]["wallet_drained"]["reason"].as_str().unwrap().contains("fund cosmos1"),
        "{}",
        json["p11"]
    );
}

/// P12 (from the quick run): a start at 1 s blocks on both sides, blocks per link counted
/// from the chains.
fn p12_times_a_start_at_real_block_time_and_counts_blocks_per_link(json: &Value) {
    let p12 = &json["p12"];
    assert_eq!(num(json, "p12", "block_interval_ms"), 1000.0, "{p12}");
    // `--quick` runs the sizes it names; the full run names 4 and 32 (`ratio_4`, `ratio_32`).
    let sizes = p12["sizes"].as_array().expect("p12.sizes");
    assert!(!sizes.is_empty(), "{p12}");
    for size in sizes {
        let n = size.as_u64().expect("a size");
        assert!(num(json, "p12", &format!("ratio_{n}")) > 0.0, "{p12}");
        let at = &p12[format!("fdsc_{n}")];
        // Every storage chain (mdsc and the data chains) was linked, on both sides.
        assert_eq!(at["links"].as_u64(), Some(n + 1), "{p12}");
        assert_eq!(at["handshake_blocks"].as_array().map(Vec::len), Some(n as usize + 1), "{p12}");
        assert_eq!(at["baseline_handshake_blocks"].as_array().map(Vec::len), Some(n as usize + 1), "{p12}");
        assert!(at["baseline_execs"].as_u64() > at["execs"].as_u64(), "{p12}");
        // A gwc signer per path: the same links (its end state is checked in the run), timed.
        assert!(num(json, "p12", &format!("per_path_ratio_{n}")) > 0.0, "{p12}");
        assert_eq!(at["per_path_handshake_blocks"].as_array().map(Vec::len), Some(n as usize + 1), "{p12}");
    }
    // Counted from the chains, beside the handshake's fewest (how close each side comes is
    // printed, not asserted: the chains' clocks drift apart on a busy machine).
    assert_eq!(num(json, "p12", "min_blocks_per_link"), 10.0, "{p12}");
    for key in [
        "blocks_per_link",
        "baseline_blocks_per_link",
        "handshake_blocks_per_link",
        "per_path_blocks_per_link",
    ] {
        assert!(num(json, "p12", key) > 0.0, "p12.{key}: {p12}");
    }
}
