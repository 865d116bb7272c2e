//! The reconcile jobs (`system.start`, `system.connect`, `system.relayer.restart`) against the
//! testbed: cold start reaches the end state of the chart scripts' manual bring-up, a warm start only
//! observes, every intermediate state gets exactly its missing actions, link retries and
//! relayer recreation behave as documented, and no mnemonic leaks.

use crate::common::{Bff, TestEnv, WAIT};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use testbed::Testbed;

/// A testbed with fast blocks and a BFF whose reconcile waits are short (tests never sleep
/// on the scripts' 10 s).
pub struct Harness {
    pub env: TestEnv,
    pub bff: Bff,
}

const STORAGE_PORTS: [(&str, &str); 2] = [("mdsc", "metastore"), ("fdsc", "datastore")];

fn dst_port(id: &str) -> &'static str {
    STORAGE_PORTS.iter().find(|(p, _)| id.starts_with(p)).map(|(_, port)| *port).unwrap_or("datastore")
}

impl Harness {
    pub async fn new(fdsc: usize) -> Self {
        Self::with(fdsc, |_| {}).await
    }

    /// A harness whose BFF settings `adjust` changes after the fast defaults.
    pub async fn with(fdsc: usize, adjust: impl FnOnce(&mut bff::config::Settings)) -> Self {
        Self::with_blocks(fdsc, Duration::from_millis(40), adjust).await
    }

    /// As `with`, with the chains' block interval.
    pub async fn with_blocks(
        fdsc: usize,
        block_interval: Duration,
        adjust: impl FnOnce(&mut bff::config::Settings),
    ) -> Self {
        Self::with_builder(Testbed::builder().fdsc(fdsc).block_interval(Some(block_interval)), adjust).await
    }

    /// As `with`, on a testbed `builder` makes (its block interval and boot delay).
    pub async fn with_builder(
        builder: testbed::TestbedBuilder,
        adjust: impl FnOnce(&mut bff::config::Settings),
    ) -> Self {
        let env = TestEnv::ready_with(builder).await;
        let (bff, _) = Bff::start_with(
            &env.kubeconfig,
            |s| {
                let r = &mut s.reconcile;
                r.link_retry_wait = Duration::from_millis(10);
                r.relayer_stop_wait = Duration::from_secs(2);
                r.relayer_verify_delay = Duration::from_millis(50);
                r.reconcile_poll_interval = Duration::from_millis(20);
                r.registration_timeout = Duration::from_secs(10);
                r.ibc_ready_timeout = Duration::from_secs(10);
                adjust(s);
            },
            |_| axum::Router::new(),
        )
        .await;
        bff.wait_readyz(200).await;
        Self { env, bff }
    }

    /// Waits until the BFF's cache shows a Running and Ready relayer pod named as the testbed's.
    pub async fn wait_relayer_in_cache(&self) {
        self.env.wait_all_pods_ready().await;
        let name = self.env.relayer();
        self.bff
            .until("/api/v1/system/status", "the relayer Ready in the cache", |_, b| {
                b["data"]["relayer"]["pod"] == name.as_str() && b["data"]["relayer"]["podReady"] == true
            })
            .await;
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.bff.post(&format!("/api/v1/system{path}"), &body).await
    }

    /// Posts a job and waits for it to end by following its log stream; the finished job.
    pub async fn run(&self, path: &str, body: Value) -> Value {
        self.run_within(path, body, WAIT).await
    }

    /// As `run`, for a job that may take up to `limit` (real block times).
    pub async fn run_within(&self, path: &str, body: Value, limit: Duration) -> Value {
        let (status, accepted) = self.post(path, body).await;
        assert_eq!(status, 202, "{accepted}");
        let id = accepted["jobId"].as_str().expect("jobId").to_string();
        self.finish_within(&id, limit).await
    }

    pub async fn finish(&self, id: &str) -> Value {
        self.finish_within(id, WAIT).await
    }

    async fn finish_within(&self, id: &str, limit: Duration) -> Value {
        let url = format!("{}/api/v1/system/jobs/{id}/logs?follow=true", self.bff.url);
        let body =
            tokio::time::timeout(limit, async { self.bff.http.get(url).send().await.unwrap().text().await })
                .await
                .expect("the job ends in time");
        assert!(body.is_ok());
        self.bff.get(&format!("/api/v1/system/jobs/{id}")).await.1["data"].clone()
    }

    /// Waits (up to WAIT) until the job's log has a line `pred` accepts.
    pub async fn until_logged(&self, id: &str, pred: impl Fn(&Value) -> bool) {
        let job = json!({"jobId": id});
        let found = tokio::time::timeout(WAIT, async {
            while !self.log(&job).await.iter().any(&pred) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(found.is_ok(), "job {id} never logged the line waited for");
    }

    pub async fn log(&self, job: &Value) -> Vec<Value> {
        let id = job["jobId"].as_str().unwrap();
        let (_, text) =
            self.bff.get_text(&format!("/api/v1/system/jobs/{id}/logs?format=jsonl&tail=100000")).await;
        text.lines().map(|l| serde_json::from_str(l).expect("jsonl")).collect()
    }

    /// Commands the job planned (each then ran), in order.
    pub async fn planned(&self, job: &Value) -> Vec<String> {
        self.log(job)
            .await
            .iter()
            .filter(|l| l["outcome"] == "planned")
            .map(|l| l["cmd"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub fn execs(&self) -> u64 {
        self.env.testbed().control.request_counts().get("create pods/exec").copied().unwrap_or(0)
    }

    pub fn storage_ids(&self) -> Vec<String> {
        self.env.testbed().control.chain_ids().into_iter().filter(|c| c != "gwc").collect()
    }

    /// Everything a run could mutate: channels and registrations on every chain, every
    /// signing account's sequence, the relayer config and its processes.
    pub fn fingerprint(&self) -> Value {
        let control = &self.env.testbed().control;
        let chains: Vec<Value> = control
            .chain_ids()
            .iter()
            .map(|id| {
                let node = control.chain(id).expect("chain");
                let seq = |role: &str| node.account(&node.genesis_key(role).address).map(|a| a.sequence);
                json!({"id": id, "channels": format!("{:?}", node.channels()), "storage": format!("{:?}", node.storage_endpoints()),
                       "relayerSeq": seq("relayer"), "adminSeq": seq("local-admin")})
            })
            .collect();
        let relayer = control.pod(&self.env.relayer()).expect("relayer pod");
        let config = relayer.runtime.fs().read_file("/home/relayer/.relayer/config/config.yaml");
        let procs: Vec<String> = relayer.runtime.procs().list().iter().map(|p| format!("{p:?}")).collect();
        json!({"chains": chains, "config": config.map(|c| String::from_utf8_lossy(&c).into_owned()), "procs": procs})
    }

    /// SPEC §6's end state: an OPEN gateway channel per storage chain to its port, storage
    /// registered on gwc for each, `rly start` running.
    pub fn assert_end_state(&self) {
        let control = &self.env.testbed().control;
        let gwc = control.chain("gwc").expect("gwc");
        for id in self.storage_ids() {
            let open: Vec<_> = gwc
                .channels()
                .into_iter()
                .filter(|c| {
                    c.port_id == "gateway"
                        && c.counterparty_chain_id == id
                        && c.counterparty_port_id == dst_port(&id)
                        && format!("{:?}", c.state) == "Open"
                })
                .collect();
            assert_eq!(open.len(), 1, "{id}: {:?}", gwc.channels());
        }
        let registered: BTreeSet<String> = gwc.storage_endpoints().into_iter().map(|s| s.chain_id).collect();
        assert_eq!(registered, self.storage_ids().into_iter().collect(), "storage registered on gwc");
        assert!(self.rly_running(), "rly start runs");
    }

    pub fn rly_running(&self) -> bool {
        let relayer = self.env.testbed().control.pod(&self.env.relayer()).expect("relayer pod");
        relayer.runtime.procs().list().iter().any(|p| p.cmdline.starts_with("rly start"))
    }

    /// Runs a shell script in the relayer pod through the real kubectl.
    pub async fn relayer_sh(&self, script: &str) {
        let ns = self.env.ns();
        let relayer = self.env.relayer();
        let (code, _, err) =
            self.env.kubectl(&["exec", "-n", &ns, &relayer, "--", "sh", "-c", script], None).await;
        assert_eq!(code, 0, "{script}: {err}");
    }
}

pub fn assert_succeeded(job: &Value) {
    assert_eq!(job["status"], "succeeded", "{job:#}");
}

pub fn step<'a>(job: &'a Value, name: &str) -> &'a Value {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("step {name}: {job}"))
}

/// Cold start, then a warm one; returns (cold execs, cold time, warm execs, warm time).
async fn cold_then_warm(fdsc: usize) -> (u64, Duration, u64, Duration) {
    let h = Harness::new(fdsc).await;
    let before = h.execs();
    let t = Instant::now();
    let cold = h.run("/start", json!({})).await;
    let cold_time = t.elapsed();
    assert_succeeded(&cold);
    let cold_execs = h.execs() - before;
    assert_eq!(cold["result"]["execCalls"], cold_execs, "the job counts the execs the API server saw");
    h.assert_end_state();
    // A healthy bring-up raises no alarm on its way.
    let alarms: Vec<_> =
        h.log(&cold).await.into_iter().filter(|l| l.to_string().contains("not live")).collect();
    assert!(alarms.is_empty(), "a healthy start logged {alarms:?}");

    let fingerprint = h.fingerprint();
    let before = h.execs();
    let t = Instant::now();
    let warm = h.run("/start", json!({})).await;
    let warm_time = t.elapsed();
    assert_succeeded(&warm);
    let warm_execs = h.execs() - before;
    for name in ["initRelayer", "connectAll", "startRelayer"] {
        let s = step(&warm, name);
        assert_eq!(s["status"], "skipped", "{s}");
        assert!(s["message"].as_str().unwrap().starts_with("nothing to do"), "{s}");
    }
    assert!(h.planned(&warm).await.is_empty(), "a warm start plans nothing");
    let skipped =
        h.log(&warm).await.iter().filter(|l| l["outcome"] == "skipped" && l["cmd"].is_string()).count();
    assert!(skipped >= 2 * (fdsc + 2), "every check logs its skip and why ({skipped})");
    assert!(warm_execs <= 3, "warm start made {warm_execs} execs");
    assert_eq!(h.fingerprint(), fingerprint, "a warm start mutates nothing");
    (cold_execs, cold_time, warm_execs, warm_time)
}

#[tokio::test]
async fn cold_start_reaches_the_bring_up_end_state_and_a_warm_start_only_observes_n2() {
    crate::testbed_only!(
        "a cold start needs a fresh install; counts execs in the testbed API server's request log"
    );
    let (ce, ct, we, wt) = cold_then_warm(2).await;
    println!("reconcile N=2: cold execs={ce} time={ct:?}; warm execs={we} time={wt:?}");
}

#[tokio::test]
async fn cold_start_reaches_the_bring_up_end_state_and_a_warm_start_only_observes_n8() {
    crate::testbed_only!(
        "a cold start needs a fresh install of 8 data chains; counts execs in the testbed API server's request log"
    );
    let (ce, ct, we, wt) = cold_then_warm(8).await;
    println!("reconcile N=8: cold execs={ce} time={ct:?}; warm execs={we} time={wt:?}");
}

fn restore(id: &str) -> String {
    format!("rly keys restore {id} relayer \"$(cat /etc/mnemonics/{id}.relayer.mnemonic)\"")
}

fn link(id: &str) -> String {
    format!(
        "rly transact link path-gwc-{id}-gw --src-port gateway --dst-port {} --version cryptomeria-1",
        dst_port(id)
    )
}

fn new_path(id: &str) -> String {
    format!(
        "rly paths new gwc {id} path-gwc-{id}-gw --src-port gateway --dst-port {} --version cryptomeria-1",
        dst_port(id)
    )
}

fn register(id: &str) -> String {
    format!("gwcd tx gateway register-storage <channel> {id} … {}", dst_port(id))
}

const START_RLY: &str = "nohup rly start --log-format json > /proc/1/fd/1 2>&1 < /dev/null &";

fn chain_file_script(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| {
            let host = format!("cryptomeria-{id}-0.cryptomeria-chain-headless");
            let json = json!({"type": "cosmos", "value": {"key": "relayer", "chain-id": id, "rpc-addr": format!("http://{host}:26657"),
                "account-prefix": "cosmos", "keyring-backend": "test", "gas-adjustment": 1.5, "gas-prices": "0.001uatom",
                "debug": false, "timeout": "20s", "output-format": "json", "sign-mode": "direct"}});
            format!("printf '%s\\n' '{json}' > /tmp/{id}.json && rly chains add --file /tmp/{id}.json")
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

#[tokio::test]
async fn from_each_intermediate_state_start_does_exactly_the_missing_actions() {
    crate::testbed_only!(
        "builds each intermediate state on fresh installs and judges it from the testbed's chains"
    );
    let all = ["gwc", "mdsc", "fdsc-0"];
    let storage = ["mdsc", "fdsc-0"];
    let full = |h: &Harness| h.assert_end_state();

    // Config only: every chain, key, path, link, registration and the start.
    let h = Harness::new(1).await;
    h.relayer_sh("rly config init --memo 'Cryptomeria Relayer'").await;
    let job = h.run("/start", json!({})).await;
    assert_succeeded(&job);
    let mut want: Vec<String> =
        all.iter().map(|id| format!("rly chains add --file /tmp/{id}.json")).collect();
    want.extend(all.iter().map(|id| restore(id)));
    for id in storage {
        want.extend([new_path(id), link(id), register(id)]);
    }
    want.push(START_RLY.to_string());
    assert_eq!(h.planned(&job).await, want);
    full(&h);

    // Chains added, no keys: only the keys, then everything after.
    let h = Harness::new(1).await;
    h.relayer_sh(&format!("rly config init && {}", chain_file_script(&all))).await;
    let job = h.run("/start", json!({})).await;
    assert_succeeded(&job);
    let planned = h.planned(&job).await;
    assert_eq!(planned[..3], all.map(restore));
    assert!(!planned.iter().any(|c| c.starts_with("rly chains add") || c.starts_with("rly config init")));
    full(&h);

    // Some links (mdsc linked and registered through the BFF): only fdsc-0's actions.
    let h = Harness::new(1).await;
    assert_succeeded(&h.run("/start", json!({"steps": ["initRelayer"]})).await);
    assert_succeeded(&h.run("/connect", json!({"target": "chain:mdsc"})).await);
    let job = h.run("/start", json!({})).await;
    assert_succeeded(&job);
    assert_eq!(
        h.planned(&job).await,
        [new_path("fdsc-0"), link("fdsc-0"), register("fdsc-0"), START_RLY.to_string()]
    );
    full(&h);

    // Links made by hand (as the scripts do), no registration: only the registrations.
    let h = Harness::new(1).await;
    assert_succeeded(&h.run("/start", json!({"steps": ["initRelayer"]})).await);
    for id in storage {
        let port = dst_port(id);
        h.relayer_sh(&format!(
            "rly paths new gwc {id} path-gwc-{id}-gw && rly transact link path-gwc-{id}-gw --src-port gateway --dst-port {port} --version cryptomeria-1"
        ))
        .await;
    }
    let job = h.run("/start", json!({})).await;
    assert_succeeded(&job);
    assert_eq!(h.planned(&job).await, [register("mdsc"), register("fdsc-0"), START_RLY.to_string()]);
    full(&h);

    // Everything but rly running: only the start.
    let h = Harness::new(1).await;
    assert_succeeded(&h.run("/start", json!({"steps": ["initRelayer", "connectAll"]})).await);
    assert!(!h.rly_running());
    let job = h.run("/start", json!({})).await;
    assert_succeeded(&job);
    assert_eq!(h.planned(&job).await, [START_RLY]);
    full(&h);
}

#[tokio::test]
async fn connect_one_chain_touches_only_it_and_connect_all_after_scaling_links_only_the_new_chain() {
    crate::testbed_only!("scales the testbed's data chains and reads their channels");
    let h = Harness::new(2).await;
    assert_succeeded(&h.run("/start", json!({"steps": ["initRelayer"]})).await);
    let gwc = h.env.testbed().control.chain("gwc").unwrap();
    let job = h.run("/connect", json!({"target": "chain:fdsc-1"})).await;
    assert_succeeded(&job);
    assert_eq!(h.planned(&job).await, [new_path("fdsc-1"), link("fdsc-1"), register("fdsc-1")]);
    let linked: BTreeSet<String> = gwc.channels().into_iter().map(|c| c.counterparty_chain_id).collect();
    assert_eq!(linked, ["fdsc-1".to_string()].into());
    for other in ["mdsc", "fdsc-0"] {
        assert!(h.env.testbed().control.chain(other).unwrap().channels().is_empty(), "{other} untouched");
    }

    assert_succeeded(&h.run("/connect", json!({"target": "all"})).await);
    h.env.testbed().control.scale_fdsc(3).unwrap();
    h.env.wait_all_pods_ready().await;
    h.bff
        .until("/api/v1/system/status", "fdsc-2 in the cache", |_, b| {
            b["data"]["pods"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["instance"] == "fdsc-2" && p["phase"] == "Running"))
        })
        .await;
    // The new chain needs its chain entry and key first (initRelayer), then connect links only it.
    let init = h.run("/start", json!({"steps": ["initRelayer"]})).await;
    assert_eq!(
        h.planned(&init).await,
        ["rly chains add --file /tmp/fdsc-2.json".to_string(), restore("fdsc-2")]
    );
    let job = h.run("/connect", json!({})).await;
    assert_succeeded(&job);
    assert_eq!(h.planned(&job).await, [new_path("fdsc-2"), link("fdsc-2"), register("fdsc-2")]);
}

#[tokio::test]
async fn a_link_failing_twice_then_succeeding_takes_three_attempts_and_five_failures_fail_with_details() {
    crate::testbed_only!("arms link faults in the testbed's rly");
    let h = Harness::new(0).await;
    assert_succeeded(&h.run("/start", json!({"steps": ["initRelayer"]})).await);
    // One plain failure, then one handshake that exits 0 without an OPEN channel.
    h.env.testbed().control.fail_next_links(1);
    h.env.testbed().control.stall_next_links(1);
    let job = h.run("/connect", json!({})).await;
    assert_succeeded(&job);
    let log = h.log(&job).await;
    let text: Vec<String> = log.iter().map(|l| l.to_string()).collect();
    assert!(text.iter().any(|l| l.contains("attempts=3")), "{text:#?}");
    assert!(
        text.iter().any(|l| l.contains("attempt 2/5 failed: rly exited 0 but gwc shows no OPEN")),
        "{text:#?}"
    );

    let h = Harness::new(0).await;
    assert_succeeded(&h.run("/start", json!({"steps": ["initRelayer"]})).await);
    h.env.testbed().control.fail_next_links(5);
    let job = h.run("/connect", json!({})).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "RELAYER_LINK_FAILED", "{job:#}");
    let details = &job["error"]["details"];
    assert_eq!(details["chainPair"], "gwc<->mdsc");
    assert_eq!(details["attempts"], 5);
    assert!(details["hint"].as_str().is_some_and(|h| !h.is_empty()), "{details}");
    // Nothing was linked, so a re-run converges.
    assert_succeeded(&h.run("/connect", json!({})).await);
}

#[tokio::test]
async fn a_relayer_pod_recreated_mid_link_fails_the_job_with_relayer_not_found_and_a_rerun_converges() {
    crate::testbed_only!(
        "freezes gwc's blocks mid-link and deletes the relayer pod through the control handle"
    );
    let h = Harness::new(0).await;
    assert_succeeded(&h.run("/start", json!({"steps": ["initRelayer"]})).await);
    let control = &h.env.testbed().control;
    let gwc = control.chain("gwc").unwrap();
    let (status, accepted) = h.post("/start", json!({})).await;
    assert_eq!(status, 202);
    // Once connect has seen the chains serve and planned the link, gwc commits only on demand:
    // the handshake's next gwc tx waits in the mempool, holding the link.
    h.until_logged(accepted["jobId"].as_str().unwrap(), |l| {
        l["outcome"] == "planned" && l["cmd"].as_str().is_some_and(|c| c.starts_with("rly transact link"))
    })
    .await;
    control.set_block_interval("gwc", None);
    gwc.wait_for_mempool(|m| m.pending > 0).await;
    let old = h.env.relayer();
    control.delete_pod(&old).expect("relayer deleted");
    let job = h.finish(accepted["jobId"].as_str().unwrap()).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "RELAYER_NOT_FOUND", "{job:#}");
    assert!(job["error"]["message"].as_str().unwrap().contains("run the job again"), "{job:#}");

    control.set_block_interval("gwc", Some(Duration::from_millis(40)));
    h.wait_relayer_in_cache().await;
    assert_ne!(h.env.relayer(), old);
    assert_succeeded(&h.run("/start", json!({})).await);
    h.assert_end_state();
    assert_succeeded(&h.run("/start", json!({})).await);
}

#[tokio::test]
async fn restart_and_force_restart_rly_and_the_routes_validate_their_input() {
    crate::testbed_only!("reads rly's pid from the testbed pod's process table");
    let h = Harness::new(0).await;
    assert_succeeded(&h.run("/start", json!({})).await);
    let pid = |h: &Harness| {
        let relayer = h.env.testbed().control.pod(&h.env.relayer()).unwrap();
        relayer.runtime.procs().list().iter().find(|p| p.cmdline.starts_with("rly start")).map(|p| p.pid)
    };
    let first = pid(&h).expect("rly start runs");
    let job = h.run("/relayer/restart", json!({})).await;
    assert_succeeded(&job);
    let second = pid(&h).expect("rly start runs again");
    assert_ne!(first, second);
    let job = h.run("/start", json!({"steps": ["startRelayer"], "force": true})).await;
    assert_succeeded(&job);
    assert_eq!(h.planned(&job).await, ["pkill -x rly", START_RLY]);
    assert_ne!(pid(&h).unwrap(), second);

    for (path, body, status, code) in [
        ("/start", json!({"steps": ["initRelayer", "bogus"]}), 422, "VALIDATION_ERROR"),
        ("/start", json!({"timeoutSeconds": 0}), 422, "VALIDATION_ERROR"),
        // Over the one-day limit: the same answer as a utils job over maxTimeoutSeconds.
        ("/start", json!({"timeoutSeconds": 86_401}), 429, "LIMIT_EXCEEDED"),
        ("/stop", json!({"timeoutSeconds": 86_401}), 429, "LIMIT_EXCEEDED"),
        ("/start", json!({"namespace": "other"}), 422, "VALIDATION_ERROR"),
        ("/start", json!({"stepz": []}), 422, "VALIDATION_ERROR"),
        ("/connect", json!({"target": "fdsc-0"}), 422, "VALIDATION_ERROR"),
        ("/connect", json!({"target": "chain:gwc"}), 422, "VALIDATION_ERROR"),
        ("/connect", json!({"target": "chain:fdsc-9"}), 404, "CHAIN_NOT_FOUND"),
    ] {
        let (s, body_out) = h.post(path, body.clone()).await;
        assert_eq!(
            (s, body_out["error"]["code"].as_str()),
            (status, Some(code)),
            "{path} {body}: {body_out}"
        );
    }
    let start = format!("{}/api/v1/system/start", h.bff.url);
    let resp =
        h.bff.http.post(&start).header("content-type", "application/json").body("{").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let resp = h.bff.http.post(&start).body("{}").send().await.unwrap();
    assert_eq!(resp.status(), 415, "a body must say it is JSON, as on every route");
    // An empty body is a default start; a second one while it runs is a 409 naming it.
    let first = h.bff.http.post(format!("{}/api/v1/system/start", h.bff.url)).send().await.unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let (s, conflict) = h.post("/connect", json!({})).await;
    assert_eq!(s, 409, "{conflict}");
    assert_eq!(conflict["error"]["details"]["jobId"], first["jobId"]);
    h.finish(first["jobId"].as_str().unwrap()).await;
}

#[tokio::test]
async fn no_mnemonic_word_sequence_reaches_job_logs_responses_or_the_service_log() {
    let (captured, _guard) = crate::common::secrets::ThreadLogs::capture("debug");
    let h = Harness::new(1).await;
    // On a real cluster the story ran first: this start may only observe, at real block times.
    let job = h.run_within("/start", json!({}), Duration::from_secs(600)).await;
    assert_succeeded(&job);
    let mut seen = String::new();
    for path in ["/api/v1/system/jobs", &format!("/api/v1/system/jobs/{}", job["jobId"].as_str().unwrap())] {
        seen.push_str(&h.bff.get_text(path).await.1);
    }
    for format in ["text", "jsonl"] {
        let path = format!(
            "/api/v1/system/jobs/{}/logs?format={format}&tail=100000",
            job["jobId"].as_str().unwrap()
        );
        seen.push_str(&h.bff.get_text(&path).await.1);
    }
    let service_log = captured.text();
    assert!(
        service_log.contains("pods/exec") || service_log.contains("exec"),
        "the service log was captured"
    );
    println!(
        "service log: {} bytes, {} lines mention exec",
        service_log.len(),
        service_log.lines().filter(|l| l.contains("exec")).count()
    );
    seen.push_str(&service_log);
    let (_, chains) = h.bff.get("/api/v1/chains").await;
    let ids: Vec<String> = chains["data"]["items"]
        .as_array()
        .expect("chains")
        .iter()
        .filter_map(|c| c["chainId"].as_str().map(String::from))
        .collect();
    assert!(ids.len() >= 3, "{chains}");
    for id in ids {
        for role in ["relayer", "local-admin"] {
            let words: Vec<String> =
                h.env.mounted_mnemonic(&id, role).await.split(' ').map(str::to_string).collect();
            for w in words.windows(3) {
                assert!(!seen.contains(&w.join(" ")), "mnemonic words of {id}/{role} leaked");
            }
        }
    }
    assert!(seen.contains("rly keys restore"), "the restore commands are logged, without their secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_under_load_succeed_while_a_start_runs_and_64_concurrent_starts_admit_one() {
    crate::testbed_only!(
        "a start with work to do needs a fresh install; judges the end state from the testbed's chains"
    );
    let h = Harness::new(2).await;
    let posts = (0..64).map(|_| {
        let (http, url) = (h.bff.http.clone(), format!("{}/api/v1/system/start", h.bff.url));
        async move {
            let resp = http.post(url).json(&json!({})).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    });
    let answers = futures::future::join_all(posts).await;
    let admitted: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 202).map(|(_, b)| b).collect();
    assert_eq!(admitted.len(), 1, "exactly one start is admitted");
    let id = admitted[0]["jobId"].as_str().unwrap().to_string();
    for (status, body) in answers.iter().filter(|(s, _)| *s != 202) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(body["error"]["details"]["jobId"], id.as_str());
    }
    // 32 clients read status and chains until the job ends; every read succeeds.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..32)
        .map(|i| {
            let (http, base, done) = (h.bff.http.clone(), h.bff.url.clone(), done.clone());
            tokio::spawn(async move {
                let path = if i % 2 == 0 { "/api/v1/system/status" } else { "/api/v1/chains" };
                let mut reads = 0u32;
                while !done.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                    let resp = http.get(format!("{base}{path}")).send().await.expect("BFF answers");
                    assert_eq!(resp.status(), 200, "{path}");
                    let body: Value = resp.json().await.expect("JSON");
                    assert_eq!(body["ok"], true);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let job = h.finish(&id).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for r in readers {
        total += r.await.expect("reader ends without a failed read");
    }
    assert_succeeded(&job);
    h.assert_end_state();
    println!("reads during start: {total} by 32 clients, all 200");
}
