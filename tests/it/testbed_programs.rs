//! The simulated in-pod programs (issue 5), driven through the real `kubectl exec` the way
//! the BFF's jobs and the original scripts run them (SPEC §6).

use crate::common::TestEnv;
use bff::testbed::chain::keys::TestKey;

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

async fn rly(env: &TestEnv, args: &[&str]) -> (i32, String, String) {
    let relayer = env.relayer();
    let mut argv = vec!["exec", "-n", NS, relayer.as_str(), "--", "rly"];
    argv.extend_from_slice(args);
    env.kubectl(&argv, None).await
}

async fn sh(env: &TestEnv, script: &str, stdin: Option<&[u8]>) -> (i32, String, String) {
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
async fn init_relayer(env: &TestEnv) -> Vec<String> {
    let (code, out, err) = rly(env, &["config", "init", "--memo", "Cryptomeria Relayer"]).await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let ids = env.testbed.control.chain_ids();
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
    let mnemonic = bff::testbed::mnemonics::test_mnemonic("gwc", "relayer");
    let (code, out, err) = rly(&env, &["keys", "restore", "gwc", "relayer", &mnemonic]).await;
    assert_eq!((code, out.as_str(), first(&err)), (1, "", "Error: a key with name relayer already exists"));
    let (code, out, err) = rly(&env, &["keys", "restore", "gwc", "other", "not a mnemonic"]).await;
    assert_eq!(code, 1);
    assert!(out.is_empty() && first(&err) == "Error: invalid mnemonic", "{err}");
    assert!(!err.contains(&mnemonic) && !err.contains("not a mnemonic"), "no mnemonic is ever echoed");
}

#[tokio::test]
async fn rly_config_and_keys_survive_relayer_pod_recreation() {
    let env = TestEnv::ready().await;
    init_relayer(&env).await;
    let old = env.relayer();
    let new = env.testbed.control.delete_pod(&old).expect("the Deployment recreates the relayer pod");
    assert_ne!(new, old);
    env.wait_all_pods_ready().await;
    assert_eq!(env.relayer(), new);
    let (code, out, err) = rly(&env, &["keys", "show", "mdsc", "relayer"]).await;
    assert_eq!((code, out), (0, format!("{}\n", TestKey::for_role("mdsc", "relayer").address)), "{err}");
    let (code, _, _) = sh(&env, "test -f /tmp/gwc.json", None).await;
    assert_ne!(code, 0, "/tmp is wiped on recreation");
}
