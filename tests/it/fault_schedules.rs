//! Seeded random fault schedules during `system.start` (issue 12): exec streams cut
//! mid-command, exec latency, the relayer pod recreated, links failing or stalling, a chain's
//! RPC stopped, API-server 500s. Whatever the faulted run ends as, once the faults are cleared
//! one more start converges to the fault-free end state and a further start only observes.
//! `FAULT_SEEDS=a..b` picks the seeds; a failure prints its seed, and `FAULT_SEEDS=s..s+1`
//! replays it.

use crate::reconcile::{Harness, assert_succeeded, step};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Fault {
    AbortExecs(u32),
    ExecLatency(Duration),
    FailLinks(u32),
    StallLinks(u32),
    /// After the k-th exec of the run.
    RecreateRelayer(u64),
    StopRpc(&'static str, u64),
    ApiErrors(Duration, u64),
}

fn schedule(rng: &mut StdRng, fdsc: usize) -> Vec<Fault> {
    let chains: &[&'static str] = if fdsc == 0 { &["gwc", "mdsc"] } else { &["gwc", "mdsc", "fdsc-0"] };
    let mut faults = Vec::new();
    for _ in 0..rng.random_range(1..=3) {
        faults.push(match rng.random_range(0..7) {
            0 => Fault::AbortExecs(rng.random_range(1..=2)),
            1 => Fault::ExecLatency(Duration::from_millis(rng.random_range(1..30))),
            2 => Fault::FailLinks(rng.random_range(1..=6)),
            3 => Fault::StallLinks(rng.random_range(1..=2)),
            4 => Fault::RecreateRelayer(rng.random_range(0..8)),
            5 => Fault::StopRpc(chains[rng.random_range(0..chains.len())], rng.random_range(0..6)),
            _ => Fault::ApiErrors(Duration::from_millis(rng.random_range(20..300)), rng.random_range(0..8)),
        });
    }
    faults
}

async fn run_one(seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let fdsc = rng.random_range(0..=1);
    // Blocks every 100ms: many testbeds run at once on two cores, and idle block production
    // is most of their cost. Timeouts leave room for a loaded machine.
    let h = Harness::with_blocks(fdsc, Duration::from_millis(100), |s| {
        s.reconcile.link_retry_wait = Duration::from_millis(5);
        s.reconcile.ibc_ready_timeout = Duration::from_secs(5);
        s.reconcile.registration_timeout = Duration::from_secs(5);
        // A stopped RPC stays stopped for the faulted run: its wait must end within the run.
        s.reconcile.chains_live_timeout = Duration::from_secs(5);
        s.timeouts.exec_timeout = Duration::from_secs(5);
        // Eight testbeds share two cores: a status read may queue past the harness's 500 ms.
        s.timeouts.chain_status_timeout = Duration::from_secs(2);
    })
    .await;
    // Start from a cold, half-initialised or half-linked system.
    match rng.random_range(0..3) {
        1 => assert_succeeded(&h.run("/start", json!({"steps": ["initRelayer"]})).await),
        2 => assert_succeeded(&h.run("/start", json!({"steps": ["initRelayer", "connectAll"]})).await),
        _ => {}
    }
    let faults = schedule(&mut rng, fdsc);
    let control = h.env.testbed().control.clone();
    let base = h.execs();
    for f in &faults {
        match f {
            Fault::AbortExecs(n) => control.abort_next_execs(*n),
            Fault::ExecLatency(d) => control.set_exec_latency(*d),
            Fault::FailLinks(n) => control.fail_next_links(*n),
            Fault::StallLinks(n) => control.stall_next_links(*n),
            _ => {}
        }
    }
    let (status, accepted) = h.post("/start", json!({})).await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["jobId"].as_str().unwrap().to_string();
    // Faults timed by the run's progress: the k-th exec the API server sees.
    let timed: Vec<Fault> = faults
        .iter()
        .filter(|f| matches!(f, Fault::RecreateRelayer(_) | Fault::StopRpc(..) | Fault::ApiErrors(..)))
        .cloned()
        .collect();
    let trigger = {
        let control = control.clone();
        tokio::spawn(async move {
            for f in timed {
                let at = match f {
                    Fault::RecreateRelayer(k) | Fault::StopRpc(_, k) | Fault::ApiErrors(_, k) => k,
                    _ => 0,
                };
                let execs = || control.request_counts().get("create pods/exec").copied().unwrap_or(0);
                while execs() < base + at {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                match f {
                    Fault::RecreateRelayer(_) => {
                        if let Some(p) = control.relayer_pod() {
                            control.delete_pod(&p);
                        }
                    }
                    Fault::StopRpc(chain, _) => control.stop_chain_rpc(chain).await,
                    Fault::ApiErrors(d, _) => control.fail_api_for(d),
                    _ => {}
                }
            }
        })
    };
    let faulted = h.finish(&id).await;
    trigger.abort();
    let outcome = format!("{} {}", faulted["status"], faulted["error"]["code"]);
    if std::env::var("FAULT_TRACE").is_ok() {
        for l in h.log(&faulted).await {
            println!("seed {seed} faulted: {l}");
        }
    }

    // Clear every fault, then converge.
    control.abort_next_execs(0);
    control.set_exec_latency(Duration::ZERO);
    control.fail_next_links(0);
    control.stall_next_links(0);
    control.fail_api_for(Duration::ZERO);
    for chain in control.chain_ids() {
        control.start_chain_rpc(&chain).expect("RPC restarts");
    }
    h.wait_relayer_in_cache().await;
    let converged = h.run("/start", json!({})).await;
    assert_eq!(
        converged["status"], "succeeded",
        "seed {seed} faults {faults:?} (faulted run: {outcome}): {converged:#}"
    );
    h.assert_end_state();
    let again = h.run("/start", json!({})).await;
    assert_succeeded(&again);
    for name in ["initRelayer", "connectAll", "startRelayer"] {
        assert_eq!(step(&again, name)["status"], "skipped", "seed {seed}: {again:#}");
    }
    format!("faults {faults:?} → {outcome}")
}

/// Schedules run at once (they mostly wait on blocks and timers).
fn concurrency() -> usize {
    std::env::var("FAULT_CONCURRENCY").ok().and_then(|c| c.parse().ok()).unwrap_or(8)
}

fn seeds() -> std::ops::Range<u64> {
    let text = std::env::var("FAULT_SEEDS").unwrap_or_else(|_| "1..201".into());
    let (a, b) = text.split_once("..").expect("FAULT_SEEDS=a..b");
    a.parse().expect("seed")..b.parse().expect("seed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn start_converges_after_every_seeded_fault_schedule() {
    crate::testbed_only!("injects faults through the testbed's control handle");
    use futures::StreamExt as _;
    let started = std::time::Instant::now();
    let seeds = seeds();
    let count = seeds.end - seeds.start;
    let failures: Vec<(u64, String)> = futures::stream::iter(seeds)
        .map(|seed| async move {
            let t = std::time::Instant::now();
            let result = tokio::spawn(run_one(seed)).await;
            if let (Ok(summary), Ok(_)) = (&result, std::env::var("FAULT_TIMES")) {
                println!("seed {seed}: {:?} {summary}", t.elapsed());
            }
            result.err().map(|e| {
                let message = match e.try_into_panic() {
                    Ok(p) => p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default(),
                    Err(e) => e.to_string(),
                };
                (seed, message)
            })
        })
        .buffer_unordered(concurrency())
        .filter_map(|f| async move { f })
        .collect()
        .await;
    println!("fault schedules: {count} in {:?}, {} failed", started.elapsed(), failures.len());
    for (seed, message) in &failures {
        println!("FAILED seed {seed} (replay: FAULT_SEEDS={seed}..{}): {message}", seed + 1);
    }
    // The first failure's cause goes into the panic too: CI excerpts keep only the end.
    let first: String = failures.first().map(|f| f.1.chars().take(600).collect()).unwrap_or_default();
    assert!(
        failures.is_empty(),
        "failed seeds: {:?}; the first: {first}",
        failures.iter().map(|f| f.0).collect::<Vec<_>>()
    );
}
