//! The simulated in-pod programs (issue 5), driven through the real `kubectl exec` the way
//! the BFF's jobs and the original scripts run them (SPEC §6).

use crate::common::TestEnv;
use testbed::chain::keys::TestKey;

const NS: &str = "cryptomeria";
const CONFIG: &str = "/home/relayer/.relayer/config/config.yaml";

/// The chain JSON SPEC §6 `initRelayer` writes for `<id>`.
fn chain_json(id: &str) -> String {
    format!(
        r#"{{"type":"cosmos","value":{{"key":"relayer","chain-id":"{id}","rpc-addr":"http://cryptomeria-{id}-0.cryptomeria-chain-headless:26657","grpc-addr":"cryptomeria-{id}-0.cryptomeria-chain-headless:9090","account-prefix":"cosmos","keyring-backend":"test","gas-adjustment":1.5,"gas-prices":"0.001uatom","debug":false,"timeout":"20s","output-format":"json","sign-mode":"direct"}}}}"#
    )
}

/// The program's own stderr line (kubectl appends `command terminated with exit code N`).
fn first(err: &str) -> &str {
    err.lines().next().unwrap_or_default()
}

pub(crate) async fn rly(env: &TestEnv, args: &[&str]) -> (i32, String, String) {
    let relayer = env.relayer();
    let mut argv = vec!["exec", "-n", NS, relayer.as_str(), "--", "rly"];
    argv.extend_from_slice(args);
    env.kubectl(&argv, None).await
}

/// A plain exec (no shell: `sh -c "pgrep -f 'rly start'"` would find its own shell).
pub(crate) async fn exec(env: &TestEnv, cmd: &[&str]) -> (i32, String, String) {
    let relayer = env.relayer();
    let mut argv = vec!["exec", "-n", NS, relayer.as_str(), "--"];
    argv.extend_from_slice(cmd);
    env.kubectl(&argv, None).await
}

pub(crate) async fn sh(env: &TestEnv, script: &str, stdin: Option<&[u8]>) -> (i32, String, String) {
    let relayer = env.relayer();
    let mut argv = vec!["exec"];
    if stdin.is_some() {
        argv.push("-i");
    }
    argv.extend_from_slice(&["-n", NS, relayer.as_str(), "--", "sh", "-c", script]);
    env.kubectl(&argv, stdin).await
}

/// SPEC §6 initRelayer: config init, every chain added from a piped file, every relayer key
/// restored inside the pod. Returns the chain ids.
pub(crate) async fn init_relayer(env: &TestEnv) -> Vec<String> {
    let (code, out, err) = rly(env, &["config", "init", "--memo", "Cryptomeria Relayer"]).await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let ids = env.testbed().control.chain_ids();
    for id in &ids {
        let (code, _, err) = sh(env, &format!("cat > /tmp/{id}.json"), Some(chain_json(id).as_bytes())).await;
        assert_eq!(code, 0, "{err}");
        let (code, out, err) = rly(env, &["chains", "add", "--file", &format!("/tmp/{id}.json")]).await;
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""), "chains add {id}");
    }
    let script = format!(
        "for id in {}; do rly keys restore $id relayer \"$(cat /etc/mnemonics/$id.relayer.mnemonic)\" || exit 1; done",
        ids.join(" ")
    );
    let (code, out, err) = sh(env, &script, None).await;
    assert_eq!(code, 0, "stderr: {err}");
    let want: Vec<String> = ids.iter().map(|id| TestKey::for_role(id, "relayer").address).collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
    assert_eq!(err, "");
    ids
}

#[tokio::test]
async fn rly_config_chains_and_keys_follow_the_real_cli() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    // Before init: keys show has no config to read (Go nil dereference, exit 2).
    let (code, _, _) = rly(&env, &["keys", "show", "gwc", "relayer"]).await;
    assert_eq!(code, 2);
    let (code, _, err) = rly(&env, &["chains", "list"]).await;
    assert_eq!(code, 2, "{err}");

    let ids = init_relayer(&env).await;
    let (code, out, _) = sh(&env, &format!("cat {CONFIG}"), None).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("global:\n    debug-listen-addr: 127.0.0.1:5183\n"), "{out}");
    assert!(out.contains("    memo: Cryptomeria Relayer\n"), "{out}");
    assert!(out.contains("    gwc:\n        type: cosmos\n        value:\n            key-directory: /home/relayer/.relayer/keys/gwc\n"), "{out}");
    assert!(
        out.contains("            rpc-addr: http://cryptomeria-mdsc-0.cryptomeria-chain-headless:26657\n"),
        "{out}"
    );
    assert!(out.ends_with("paths: {}\n"), "{out}");

    // Second init and duplicate chain: rly's errors, exit 1.
    let (code, out, err) = rly(&env, &["config", "init"]).await;
    assert_eq!(
        (code, out.as_str(), first(&err)),
        (1, "", format!("Error: config already exists: {CONFIG}").as_str())
    );
    let (code, _, err) = rly(&env, &["chains", "add", "--file", "/tmp/gwc.json", "gwc2"]).await;
    assert_eq!((code, first(&err)), (1, "Error: chain with ID gwc already exists in config"));

    // chains list: one line per chain; the genesis-funded relayer keys show bal(✔).
    let (code, out, err) = rly(&env, &["chains", "list"]).await;
    assert_eq!(code, 0, "{err}");
    let mut listed: Vec<String> = out.lines().map(str::to_string).collect();
    assert_eq!(listed.len(), ids.len(), "{out}");
    listed.sort_by_key(|l| l.get(4..).map(str::to_string));
    let mut sorted = ids.clone();
    sorted.sort();
    for (line, id) in listed.iter().zip(&sorted) {
        assert_eq!(
            line.get(4..),
            Some(format!("{id:<20} -> type(cosmos) key(✔) bal(✔) path(✘)").as_str()),
            "{out}"
        );
    }

    // keys show: the address of the mounted mnemonic; unknown key / chain: rly's errors.
    let (code, out, _) = rly(&env, &["keys", "show", "gwc", "relayer"]).await;
    assert_eq!((code, out), (0, format!("{}\n", TestKey::for_role("gwc", "relayer").address)));
    let (code, out, err) = rly(&env, &["keys", "show", "gwc", "nobody"]).await;
    assert_eq!((code, out.as_str(), first(&err)), (1, "", "Error: a key with name nobody doesn't exist"));
    let (code, _, err) = rly(&env, &["keys", "show", "nochain", "relayer"]).await;
    assert_eq!(code, 1);
    assert_eq!(
        first(&err),
        "Error: chain with name \"nochain\" not found in config. consider running `rly chains add nochain`"
    );
    let mnemonic = testbed::mnemonics::test_mnemonic("gwc", "relayer");
    let (code, out, err) = rly(&env, &["keys", "restore", "gwc", "relayer", &mnemonic]).await;
    assert_eq!((code, out.as_str(), first(&err)), (1, "", "Error: a key with name relayer already exists"));
    let (code, out, err) = rly(&env, &["keys", "restore", "gwc", "other", "not a mnemonic"]).await;
    assert_eq!(code, 1);
    assert!(out.is_empty() && first(&err) == "Error: invalid mnemonic", "{err}");
    assert!(!err.contains(&mnemonic) && !err.contains("not a mnemonic"), "no mnemonic is ever echoed");
}

#[tokio::test]
async fn rly_keys_survive_relayer_pod_recreation_but_config_yaml_does_not() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    init_relayer(&env).await;
    let (code, _, err) =
        sh(&env, "nohup rly start --log-format json > /proc/1/fd/1 2>&1 < /dev/null &", None).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = exec(&env, &["pgrep", "-f", "rly start"]).await;
    assert_eq!(code, 0);
    let old = env.relayer();
    let new = env.testbed().control.delete_pod(&old).expect("the Deployment recreates the relayer pod");
    assert_ne!(new, old);
    env.wait_all_pods_ready().await;
    assert_eq!(env.relayer(), new);
    // The chart mounts an emptyDir over <home>/config (7c207ac): the config is gone…
    let (code, _, _) = sh(&env, "test -f /home/relayer/.relayer/config/config.yaml", None).await;
    assert_ne!(code, 0, "config.yaml is on an emptyDir and dies with the pod");
    let (code, _, err) = rly(&env, &["paths", "list"]).await;
    assert_eq!(code, 2, "rly without a config dereferences nil: {err}");
    // …while the keys beside it stay on the data PVC.
    let (code, _, _) =
        sh(&env, "test -f /home/relayer/.relayer/keys/mdsc/keyring-test/relayer.info", None).await;
    assert_eq!(code, 0, "keys survive on the PVC");
    let (code, _, _) = sh(&env, "test -f /tmp/gwc.json", None).await;
    assert_ne!(code, 0, "/tmp is wiped on recreation");
    let (code, _, _) = exec(&env, &["pgrep", "-f", "rly start"]).await;
    assert_ne!(code, 0, "rly start died with the old pod");
    let (code, out, _) = exec(&env, &["ps"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("trap 'exit 0' TERM"), "pid 1 is the chart's idle loop: {out}");
}

/// The storage chains' gateway counterparty port (SPEC §6: datastore/metastore).
fn dst_port(id: &str) -> &'static str {
    if id.starts_with("mdsc") { "metastore" } else { "datastore" }
}

/// `rly paths new` (unless `rly paths show` finds the path: rly refuses a name it has) then
/// `rly transact link` from gwc to `id`, as SPEC §6 connectChain runs them.
async fn link(env: &TestEnv, id: &str) -> (i32, String, String) {
    let path = format!("gwc-{id}");
    let flags = ["--src-port", "gateway", "--dst-port", dst_port(id), "--version", "cryptomeria-1"];
    if rly(env, &["paths", "show", path.as_str()]).await.0 != 0 {
        let mut new = vec!["paths", "new", "gwc", id, path.as_str()];
        new.extend_from_slice(&flags);
        let (code, out, err) = rly(env, &new).await;
        assert_eq!((code, out.as_str()), (0, ""), "paths new {id}: {err}");
    } else {
        let mut again = vec!["paths", "new", "gwc", id, path.as_str()];
        again.extend_from_slice(&flags);
        let (code, _, err) = rly(env, &again).await;
        assert_eq!(code, 1, "rly paths new refuses an existing name");
        assert!(err.contains(&format!("path with name {path} already exists")), "{err}");
    }
    let mut args = vec!["transact", "link", path.as_str()];
    args.extend_from_slice(&flags);
    rly(env, &args).await
}

#[tokio::test]
async fn rly_transact_link_opens_gateway_channels_seen_by_q_channels() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let ids = init_relayer(&env).await;
    let storage: Vec<&String> = ids.iter().filter(|id| id.as_str() != "gwc").collect();
    for id in &storage {
        let (code, out, err) = link(&env, id).await;
        assert_eq!((code, out.as_str()), (0, ""), "link {id}: {err}");
        assert!(err.contains("Successfully created new channel"), "{err}");
    }
    // One compact JSON object per line; one OPEN gateway channel per storage chain.
    let (code, out, err) = rly(&env, &["q", "channels", "gwc"]).await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> =
        out.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), storage.len(), "{out}");
    for id in &storage {
        let ch = lines
            .iter()
            .find(|c| c["counterparty"]["chain_id"] == id.as_str())
            .unwrap_or_else(|| panic!("no channel to {id}: {out}"));
        assert_eq!(ch["port_id"], "gateway");
        assert_eq!(ch["state"], "STATE_OPEN");
        assert_eq!(ch["version"], "cryptomeria-1");
        assert_eq!(ch["counterparty"]["port_id"], dst_port(id));
        // The other end is OPEN on the storage chain, pointing back at gwc.
        let (code, theirs, _) = rly(&env, &["q", "channels", id]).await;
        assert_eq!(code, 0);
        let theirs: serde_json::Value =
            serde_json::from_str(theirs.lines().next().unwrap_or_default()).expect("JSON");
        assert_eq!(theirs["counterparty"]["chain_id"], "gwc");
        assert_eq!(theirs["counterparty"]["channel_id"], ch["channel_id"]);
        assert_eq!(theirs["channel_id"], ch["counterparty"]["channel_id"]);
        assert_eq!(theirs["state"], "STATE_OPEN");
    }
    let ids_on_gwc: std::collections::BTreeSet<&str> =
        lines.iter().filter_map(|c| c["channel_id"].as_str()).collect();
    assert_eq!(ids_on_gwc.len(), storage.len(), "channel ids are numbered per chain");
    // Client and connection ids are written back into the path.
    let (code, out, _) = rly(&env, &["paths", "show", "gwc-mdsc", "--json"]).await;
    assert_eq!(code, 0);
    let p: serde_json::Value = serde_json::from_str(&out).expect("paths show --json");
    assert_eq!(p["status"], serde_json::json!({"chains": true, "clients": true, "connection": true}));
    let (code, out, _) = rly(&env, &["paths", "list"]).await;
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), storage.len());
    assert!(out.contains(" -> chns(✔) clnts(✔) conn(✔) (gwc<>mdsc)"), "{out}");
    // Linking again on the same ports: rly's "already exists" error.
    let (code, _, err) = link(&env, "mdsc").await;
    assert_eq!(code, 1);
    assert!(
        first(&err).starts_with("Error: channel {channel-")
            && first(&err).ends_with("with port {gateway} already exists on chain {gwc}"),
        "{err}"
    );
}

#[tokio::test]
async fn rly_transact_link_needs_restored_and_funded_keys() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let (code, _, _) = rly(&env, &["config", "init"]).await;
    assert_eq!(code, 0);
    for id in ["gwc", "mdsc"] {
        let (code, _, err) =
            sh(&env, &format!("cat > /tmp/{id}.json"), Some(chain_json(id).as_bytes())).await;
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = rly(&env, &["chains", "add", "--file", &format!("/tmp/{id}.json")]).await;
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, err) = link(&env, "mdsc").await;
    assert_eq!((code, out.as_str(), first(&err)), (1, "", "Error: key relayer not found on src chain gwc"));
    // Keys restored from mnemonics nobody funded: the fee tx fails, nothing is opened.
    for id in ["gwc", "mdsc"] {
        let words = testbed::mnemonics::test_mnemonic(id, "unfunded");
        let (code, _, err) = rly(&env, &["keys", "restore", id, "relayer", &words]).await;
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = link(&env, "mdsc").await;
    assert_eq!(code, 1);
    assert!(first(&err).starts_with("Error: error creating clients: "), "{err}");
    let (code, out, _) = rly(&env, &["q", "channels", "gwc"]).await;
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out, _) = rly(&env, &["paths", "show", "gwc-mdsc"]).await;
    assert_eq!(code, 0);
    assert!(
        out.starts_with("Path \"gwc-mdsc\":\n  SRC(gwc)\n") && out.contains("    Clients:      ✘\n"),
        "{out}"
    );
}

#[tokio::test]
async fn rly_start_runs_in_the_background_logs_json_and_stops_on_pkill() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let ids = init_relayer(&env).await;
    let (code, _, _) = exec(&env, &["pgrep", "-f", "rly start"]).await;
    assert_ne!(code, 0, "not running yet");
    let (code, _, err) =
        sh(&env, "nohup rly start --log-format json > /proc/1/fd/1 2>&1 < /dev/null &", None).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = exec(&env, &["pgrep", "-f", "rly start"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    // The pod log (kubectl logs) carries rly's zap JSON lines.
    let relayer = env.relayer();
    let (code, logs, err) = env.kubectl(&["logs", "-n", NS, &relayer], None).await;
    assert_eq!(code, 0, "{err}");
    let json: Vec<serde_json::Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    for id in &ids {
        assert!(
            json.iter().any(|l| l["lvl"] == "info"
                && l["msg"] == "Chain is in sync"
                && l["chain_id"] == id.as_str()),
            "{logs}"
        );
    }
    assert!(json.iter().all(|l| l["ts"].as_str().is_some_and(|t| t.ends_with('Z'))), "{logs}");
    let (code, _, err) = exec(&env, &["pkill", "-x", "rly"]).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = exec(&env, &["pgrep", "-f", "rly start"]).await;
    assert_ne!(code, 0, "stopped: {out}");
}

pub(crate) async fn chain_cli(env: &TestEnv, id: &str, args: &[&str]) -> (i32, String, String) {
    let pod = format!("cryptomeria-{id}-0");
    let bin = format!("{}d", id.split('-').next().unwrap_or(id));
    let mut argv = vec!["exec", "-n", NS, pod.as_str(), "--", bin.as_str()];
    argv.extend_from_slice(args);
    env.kubectl(&argv, None).await
}

#[tokio::test]
async fn chain_clis_answer_status_keys_balances_and_gateway_endpoints() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    for id in env.testbed().control.chain_ids() {
        let (code, out, err) = chain_cli(&env, &id, &["status"]).await;
        assert_eq!(code, 0, "{id}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("status JSON");
        assert_eq!(v["node_info"]["network"], id.as_str(), "{out}");
        let (code, out, err) =
            chain_cli(&env, &id, &["keys", "show", "relayer", "-a", "--keyring-backend", "test"]).await;
        let addr = TestKey::for_role(&id, "relayer").address;
        assert_eq!((code, out.trim()), (0, addr.as_str()), "{err}");
        let (code, out, err) = chain_cli(&env, &id, &["q", "bank", "balances", &addr, "-o", "json"]).await;
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("balances JSON");
        assert_eq!(v["balances"][0]["denom"], "uatom", "{out}");
        assert_eq!(v["balances"][0]["amount"], "1000000000", "{out}");
    }
    let (code, _, err) =
        chain_cli(&env, "gwc", &["keys", "show", "nobody", "-a", "--keyring-backend", "test"]).await;
    assert_eq!(code, 1);
    assert!(first(&err).starts_with("Error: nobody is not a valid name or address"), "{err}");
    let (code, out, err) = chain_cli(&env, "gwc", &["q", "gateway", "endpoints", "-o", "json"]).await;
    assert_eq!((code, out.as_str()), (0, "{\"storage_infos\":[]}\n"), "{err}");
    // status fails while the node's RPC is stopped, and recovers with it.
    env.testbed().control.stop_chain_rpc("mdsc").await;
    let (code, out, err) = chain_cli(&env, "mdsc", &["status"]).await;
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(first(&err).contains("connection refused"), "{err}");
    env.testbed().control.start_chain_rpc("mdsc").expect("RPC restarts");
    let (code, _, err) = chain_cli(&env, "mdsc", &["status"]).await;
    assert_eq!(code, 0, "{err}");
}

#[tokio::test]
async fn two_links_racing_on_one_key_one_fails_with_a_sequence_mismatch() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    init_relayer(&env).await;
    // gwc commits only on demand: both client-creation txs reach its mempool against the same
    // committed sequence; the second CheckTx is rejected, the first waits for a block.
    env.testbed().control.set_block_interval("gwc", None);
    let a = Box::pin(link(&env, "mdsc"));
    let b = Box::pin(link(&env, "fdsc-0"));
    let (loser, winner) = match futures::future::select(a, b).await {
        futures::future::Either::Left((done, other)) => (done, other),
        futures::future::Either::Right((done, other)) => (done, other),
    };
    assert_eq!(loser.0, 1, "{}", loser.2);
    assert!(first(&loser.2).contains("account sequence mismatch"), "{}", loser.2);
    // The winner's handshake needs gwc's blocks from here on (each step one more tx).
    env.testbed().control.set_block_interval("gwc", Some(std::time::Duration::from_millis(200)));
    let winner = winner.await;
    assert_eq!(winner.0, 0, "{}", winner.2);
    let (code, out, _) = rly(&env, &["q", "channels", "gwc"]).await;
    assert_eq!((code, out.lines().count()), (0, 1), "{out}");
}

/// SPEC §6 up to `rly start`: initRelayer, a gateway link per storage chain, and its
/// `register-storage` tx committed on gwc. Returns the storage chain ids.
pub(crate) async fn link_and_register(env: &TestEnv) -> Vec<String> {
    let ids = init_relayer(env).await;
    let storage: Vec<String> = ids.iter().filter(|id| id.as_str() != "gwc").cloned().collect();
    for id in &storage {
        let (code, _, err) = link(env, id).await;
        assert_eq!(code, 0, "link {id}: {err}");
        // The channel id as the scripts find it (`rly q channels gwc | jq`, jq on the host).
        let (code, out, _) = rly(env, &["q", "channels", "gwc"]).await;
        assert_eq!(code, 0);
        let channel = out
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|c| c["port_id"] == "gateway" && c["counterparty"]["chain_id"] == id.as_str())
            .and_then(|c| c["channel_id"].as_str().map(str::to_string))
            .expect("a gateway channel");
        let api = format!("http://cryptomeria-{id}-0.cryptomeria-chain-headless:1317");
        let (code, out, err) = chain_cli(
            env,
            "gwc",
            &[
                "tx",
                "gateway",
                "register-storage",
                &channel,
                id,
                &api,
                dst_port(id),
                "--from",
                "local-admin",
                "--chain-id",
                "gwc",
                "--gas",
                "auto",
                "--gas-adjustment",
                "1.5",
                "--gas-prices",
                "0.1uatom",
                "--broadcast-mode",
                "sync",
                "-o",
                "json",
                "-y",
                "--keyring-backend",
                "test",
                "--home",
                "/home/gwc/.gwc",
            ],
        )
        .await;
        assert_eq!(code, 0, "{err}");
        let resp: serde_json::Value = serde_json::from_str(&out).expect("TxResponse JSON");
        assert_eq!(resp["code"], 0, "{out}");
        assert_eq!(resp["txhash"].as_str().map(str::len), Some(64), "{out}");
        // Committed before the next chain's tx from the same key (the CLI reads the
        // committed sequence, as the real one does).
        let gwc = env.testbed().control.chain("gwc").expect("gwc");
        let hash: Vec<u8> = (0..32)
            .filter_map(|i| {
                resp["txhash"].as_str().and_then(|h| u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok())
            })
            .collect();
        let hash: [u8; 32] = hash.try_into().expect("32-byte hash");
        let tx = gwc.wait_for_tx(&hash, crate::common::WAIT).await.expect("the tx commits");
        assert_eq!(tx.result().code, 0, "{:?}", tx.result().log);
    }
    storage
}

/// The whole manual bring-up of SPEC §6, in order, through the real kubectl.
#[tokio::test]
async fn the_scripts_whole_bring_up_runs_through_kubectl() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let storage = link_and_register(&env).await;
    let storage: Vec<&String> = storage.iter().collect();
    let (code, _, err) =
        sh(&env, "nohup rly start --log-format json > /proc/1/fd/1 2>&1 < /dev/null &", None).await;
    assert_eq!(code, 0, "{err}");

    // One OPEN gateway channel per storage chain with the right counterparty and port.
    let (_, out, _) = rly(&env, &["q", "channels", "gwc"]).await;
    let chans: Vec<serde_json::Value> = out.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    for id in &storage {
        let open: Vec<_> = chans
            .iter()
            .filter(|c| {
                c["port_id"] == "gateway"
                    && c["state"] == "STATE_OPEN"
                    && c["counterparty"]["chain_id"] == id.as_str()
                    && c["counterparty"]["port_id"] == dst_port(id)
            })
            .collect();
        assert_eq!(open.len(), 1, "{id}: {out}");
    }
    // gwcd lists every storage chain.
    let (code, out, _) = chain_cli(&env, "gwc", &["q", "gateway", "endpoints", "-o", "json"]).await;
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("endpoints JSON");
    let mut listed: Vec<&str> =
        v["storage_infos"].as_array().into_iter().flatten().filter_map(|i| i["chain_id"].as_str()).collect();
    listed.sort();
    let mut want: Vec<&str> = storage.iter().map(|s| s.as_str()).collect();
    want.sort();
    assert_eq!(listed, want, "{out}");
    // gwc's REST storage endpoints list them too.
    let (_, api, _) = env.testbed().control.node_ports("gwc").expect("gwc NodePorts");
    let rest: serde_json::Value = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{api}/gwc/gateway/v1/storage_endpoints"))
        .send()
        .await
        .expect("REST answers")
        .json()
        .await
        .expect("REST JSON");
    assert_eq!(rest["storage_infos"].as_array().map(Vec::len), Some(storage.len()), "{rest}");
    // rly start runs and logs JSON into the pod log.
    let (code, _, _) = exec(&env, &["pgrep", "-f", "rly start"]).await;
    assert_eq!(code, 0);
    let (code, logs, _) = env.kubectl(&["logs", "-n", NS, &env.relayer()], None).await;
    assert_eq!(code, 0);
    assert!(
        logs.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|l| l["msg"] == "Chain is in sync"),
        "{logs}"
    );
}

/// `rly transact link` on the existing `gwc-<id>` path.
async fn transact(env: &TestEnv, id: &str) -> (i32, String, String) {
    let path = format!("gwc-{id}");
    let args = [
        "transact",
        "link",
        &path,
        "--src-port",
        "gateway",
        "--dst-port",
        dst_port(id),
        "--version",
        "cryptomeria-1",
    ];
    rly(env, &args).await
}

#[tokio::test]
async fn link_knobs_fail_the_next_links_or_leave_the_handshake_unfinished_with_exit_0() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    init_relayer(&env).await;
    env.testbed().control.fail_next_links(2);
    let (code, _, err) = link(&env, "mdsc").await;
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with("Error: error creating clients"), "{err}");
    let (code, _, err) = transact(&env, "mdsc").await;
    assert_eq!(code, 1, "the second armed failure: {err}");
    let (code, out, err) = rly(&env, &["q", "channels", "gwc"]).await;
    assert_eq!((code, out.as_str()), (0, ""), "a failed link creates nothing: {err}");

    env.testbed().control.stall_next_links(1);
    let (code, _, err) = transact(&env, "mdsc").await;
    assert_eq!(code, 0, "a handshake timeout still exits 0: {err}");
    assert!(err.contains("timed out"), "{err}");
    let (code, out, q_err) = rly(&env, &["q", "channels", "gwc"]).await;
    assert_eq!(code, 0, "q channels: {q_err}");
    let ch: serde_json::Value = serde_json::from_str(
        out.lines().next().unwrap_or_else(|| panic!("no channel end: out={out:?} err={err:?}")),
    )
    .unwrap();
    assert_eq!(ch["state"], "STATE_INIT", "not OPEN: {out}");
    let (code, theirs, q_err) = rly(&env, &["q", "channels", "mdsc"]).await;
    assert_eq!((code, theirs.as_str()), (0, ""), "nothing on the destination: {q_err}");

    let (code, _, err) = transact(&env, "mdsc").await;
    assert_eq!(code, 0, "knobs spent, the next link works: {err}");
    let (code, out, q_err) = rly(&env, &["q", "channels", "gwc"]).await;
    assert_eq!(code, 0, "q channels: {q_err}");
    assert!(out.lines().any(|l| l.contains("\"state\":\"STATE_OPEN\"")), "{out}");
}

/// A link takes the blocks its handshake takes: a client on each chain, then ConnOpenInit /
/// Ack and ChanOpenInit / Ack on the source and Try / Confirm of each on the destination —
/// five txs from the relayer key per chain, each in its own block after the counterparty's
/// proving block.
#[tokio::test]
async fn a_link_takes_one_included_tx_per_handshake_step_on_each_chain() {
    crate::testbed_only!("reads the relayer accounts and heights of the embedded chains");
    let env = TestEnv::ready_with(crate::testbed_ibc::fast_blocks().fdsc(1)).await;
    init_relayer(&env).await;
    let control = &env.testbed().control;
    let state = |id: &str| {
        let node = control.chain(id).expect("chain");
        let relayer = node.genesis_key("relayer").address;
        (node.account(&relayer).expect("relayer account").sequence, node.latest_height())
    };
    let (gwc_before, mdsc_before) = (state("gwc"), state("mdsc"));
    let (code, _, err) = link(&env, "mdsc").await;
    assert_eq!(code, 0, "{err}");
    let (gwc_after, mdsc_after) = (state("gwc"), state("mdsc"));
    assert_eq!(gwc_after.0 - gwc_before.0, 5, "txs on gwc (client, 2 connection, 2 channel steps)");
    assert_eq!(mdsc_after.0 - mdsc_before.0, 5, "txs on mdsc");
    for (id, before, after) in [("gwc", gwc_before.1, gwc_after.1), ("mdsc", mdsc_before.1, mdsc_after.1)] {
        assert!(after - before >= 9, "{id}: the link spanned only {} blocks", after - before);
    }
    let (code, out, _) = rly(&env, &["q", "channels", "mdsc"]).await;
    assert_eq!(code, 0);
    let ch: serde_json::Value = serde_json::from_str(out.lines().next().expect("mdsc's end")).unwrap();
    assert_eq!(
        (&ch["state"], &ch["channel_id"], &ch["client_id"], &ch["connection_hops"][0]),
        (&"STATE_OPEN".into(), &"channel-0".into(), &"07-tendermint-0".into(), &"connection-0".into())
    );
}
