//! The gateway's client-side upload as the experiment runner (`lib/initialize.ts`,
//! `lib/upload.ts`, `lib/merkle.ts`) drives it, on the testbed: only `kubectl exec` into the
//! gwc pod and HTTP to gwc's REST NodePort. The owner `alice` signs init-session, the
//! feegrant, the authz grants and the root; gwc's own executor distributes and finalizes
//! after the TUS upload completes.

use crate::common::{TestEnv, WAIT};
use crate::testbed_ibc::{await_state, fast_blocks, session};
use crate::testbed_programs::{chain_cli, link_and_register};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::io::Write as _;

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// `executeTx`'s flags (plus the testbed's minimum gas price: `--gas auto` sets no fee).
const TX_FLAGS: &[&str] = &[
    "--node",
    "tcp://localhost:26657",
    "--chain-id",
    "gwc",
    "--keyring-backend",
    "test",
    "--gas",
    "auto",
    "--gas-adjustment",
    "1.5",
    "--gas-prices",
    "0.001uatom",
    "-y",
    "-o",
    "json",
];

/// `gwcd tx … --from FROM`, then `gwcd q tx HASH` once gwc has committed it.
pub(crate) async fn gwc_tx(env: &TestEnv, args: &[&str], from: &str) -> Value {
    let mut argv = vec!["tx"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--from", from]);
    argv.extend_from_slice(TX_FLAGS);
    let (code, out, err) = chain_cli(env, "gwc", &argv).await;
    assert_eq!(code, 0, "{args:?}: {err}");
    let resp = json(&out);
    assert_eq!(resp["code"], 0, "{args:?}: {out}");
    let hash = resp["txhash"].as_str().unwrap().to_string();
    let mut raw = [0u8; 32];
    hex::decode_to_slice(&hash, &mut raw).unwrap();
    let gwc = env.testbed().control.chain("gwc").unwrap();
    gwc.wait_for_tx(&raw, WAIT).await.expect("the tx commits");
    let (code, out, err) =
        chain_cli(env, "gwc", &["q", "tx", &hash, "--node", "tcp://localhost:26657", "-o", "json"]).await;
    assert_eq!(code, 0, "{err}");
    json(&out)
}

fn attr(tx: &Value, kind: &str, key: &str) -> String {
    let event = tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == kind)
        .unwrap_or_else(|| panic!("{kind}: {tx}"));
    event["attributes"].as_array().unwrap().iter().find(|a| a["key"] == key).unwrap()["value"]
        .as_str()
        .unwrap()
        .trim_matches('"')
        .to_string()
}

/// `setupAlice`: the key (added once), funded by local-admin.
pub(crate) async fn setup_alice(env: &TestEnv) -> String {
    let (code, out, _) =
        chain_cli(env, "gwc", &["keys", "show", "alice", "-a", "--keyring-backend", "test"]).await;
    let alice = if code == 0 {
        out.trim().to_string()
    } else {
        let (code, out, err) =
            chain_cli(env, "gwc", &["keys", "add", "alice", "--keyring-backend", "test", "--output", "json"])
                .await;
        assert_eq!(code, 0, "{err}");
        json(&out)["address"].as_str().unwrap().to_string()
    };
    let amount = "10000000uatom";
    gwc_tx(env, &["bank", "send", "local-admin", &alice, amount], "local-admin").await;
    let (code, out, err) = chain_cli(
        env,
        "gwc",
        &["q", "auth", "account", &alice, "--node", "tcp://localhost:26657", "--output", "json"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["account"]["address"], alice.as_str());
    alice
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `calculateMerkleRoot` of `lib/merkle.ts`.
fn merkle_root(leaves: Vec<String>) -> String {
    let mut level = leaves;
    if level.is_empty() {
        return String::new();
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| sha_hex(format!("{}{}", p[0], p.get(1).unwrap_or(&p[0])).as_bytes()))
            .collect();
    }
    level.remove(0)
}

/// `buildProjectMerkleRoot` of `lib/merkle.ts`: files sorted by path, empty ones skipped.
pub(crate) fn project_root(files: &[(&str, Vec<u8>)], frag_size: usize) -> String {
    let mut files: Vec<&(&str, Vec<u8>)> = files.iter().filter(|(_, d)| !d.is_empty()).collect();
    files.sort_by(|a, b| a.0.cmp(b.0));
    let leaves = files
        .iter()
        .map(|(path, data)| {
            let frags = data
                .chunks(frag_size)
                .enumerate()
                .map(|(i, c)| sha_hex(format!("FRAG:{path}:{i}:{}", sha_hex(c)).as_bytes()))
                .collect();
            sha_hex(format!("FILE:{path}:{}:{}", data.len(), merkle_root(frags)).as_bytes())
        })
        .collect();
    merkle_root(leaves)
}

pub(crate) fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, data) in files {
        w.start_file(*path, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Steps 2–4 of `uploadToGwcCsu`: init-session by alice, the feegrant and the three generic
/// grants (unless `grants` is false), the root. Returns (session id, owner, executor).
pub(crate) async fn prepare(
    env: &TestEnv,
    frag: usize,
    fdsc: u32,
    root: &str,
    grants: bool,
) -> (String, String, String) {
    let init =
        gwc_tx(env, &["gateway", "init-session", &frag.to_string(), "0", &fdsc.to_string()], "alice").await;
    assert_eq!(init["code"], 0, "{init}");
    let (sid, owner, exec) = (
        attr(&init, "csu_init_session", "session_id"),
        attr(&init, "csu_init_session", "owner"),
        attr(&init, "csu_init_session", "executor"),
    );
    if grants {
        let expiration = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
        let iso = format!("{}Z", expiration.strftime("%Y-%m-%dT%H:%M:%S"));
        let unix = expiration.as_second().to_string();
        gwc_tx(env, &["feegrant", "grant", &owner, &exec, "--expiration", &iso], "alice").await;
        for m in ["MsgDistributeBatch", "MsgFinalizeAndCloseSession", "MsgAbortAndCloseSession"] {
            let url = format!("/gwc.gateway.v1.{m}");
            gwc_tx(
                env,
                &["authz", "grant", &exec, "generic", "--msg-type", &url, "--expiration", &unix],
                "alice",
            )
            .await;
        }
    }
    let tx = gwc_tx(env, &["gateway", "commit-root-proof", &sid, root], "alice").await;
    assert_eq!(tx["code"], 0, "{tx}");
    assert_eq!(attr(&tx, "csu_commit_root_proof", "root_proof"), root);
    (sid, owner, exec)
}

pub(crate) fn gwc_api(env: &TestEnv) -> String {
    let (_, api, _) = env.testbed().control.node_ports("gwc").unwrap();
    format!("http://127.0.0.1:{api}")
}

pub(crate) fn bearer(sid: &str) -> String {
    sha_hex(format!("upload_token:{sid}").as_bytes())
}

/// Step 5: TUS creation, then the body in PATCHes of `piece` bytes. Returns the upload URL.
pub(crate) async fn tus_upload(
    env: &TestEnv,
    sid: &str,
    project: &str,
    version: &str,
    zip: &[u8],
    piece: usize,
) -> String {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let api = gwc_api(env);
    let http = reqwest::Client::new();
    let meta = format!("session_id {},project_name {},version {}", b64(sid), b64(project), b64(version));
    let post = http
        .post(format!("{api}/upload/tus-stream"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", zip.len().to_string())
        .header("Upload-Metadata", &meta)
        .header("Authorization", format!("Bearer {}", bearer(sid)))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 201, "{:?}", post.text().await);
    let location = post.headers()["location"].to_str().unwrap().to_string();
    let url = if location.starts_with("http") { location } else { format!("{api}{location}") };
    let mut offset = 0;
    for chunk in zip.chunks(piece) {
        let r = http
            .patch(&url)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 204);
        offset += chunk.len();
        assert_eq!(r.headers()["upload-offset"].to_str().unwrap(), offset.to_string());
    }
    url
}

/// The whole flow for a project of one file in `n` fragments of 1024 bytes over 2 fdsc:
/// what the other IBC tests upload. Returns the session id.
pub(crate) async fn upload_n(env: &TestEnv, project: &str, n: u64) -> String {
    setup_alice(env).await;
    let data: Vec<u8> = (0..n * 1024).map(|i| (i % 251) as u8).collect();
    let files = [("index.html", data)];
    let root = project_root(&files, 1024);
    let (sid, _, _) = prepare(env, 1024, 2, &root, true).await;
    tus_upload(env, &sid, project, "v1", &zip_of(&files), 64 * 1024).await;
    sid
}

#[tokio::test]
async fn the_real_client_flow_closes_a_session_and_renders_the_same_bytes() {
    crate::testbed_only!("drives the testbed's gwc node, relayer and storage chains");
    let env = TestEnv::ready_with(fast_blocks()).await;
    link_and_register(&env).await;
    crate::testbed_ibc::start_rly(&env).await;
    let alice = setup_alice(&env).await;

    const FRAG: usize = 254 * 1024;
    let big: Vec<u8> = (0..600 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let page = b"<html><body>cryptomeria</body></html>".to_vec();
    let files = [("index.html", page.clone()), ("assets/data.bin", big.clone())];
    let root = project_root(&files, FRAG);
    let zip = zip_of(&files);

    let before = [data_dirs(&env, "fdsc-0").await, data_dirs(&env, "fdsc-1").await];
    let (sid, owner, exec) = prepare(&env, FRAG, 2, &root, true).await;
    assert_eq!(owner, alice, "the owner is alice");
    let (_, admin, _) =
        chain_cli(&env, "gwc", &["keys", "show", "local-admin", "-a", "--keyring-backend", "test"]).await;
    assert_eq!(exec, admin.trim(), "the executor is gwc's local-admin");
    let (code, out, _) =
        chain_cli(&env, "gwc", &["q", "feegrant", "grant", &owner, &exec, "-o", "json"]).await;
    assert_eq!(code, 0);
    assert!(json(&out)["allowance"].is_object(), "{out}");
    let (_, out, _) = chain_cli(&env, "gwc", &["q", "authz", "grants", &owner, &exec, "-o", "json"]).await;
    assert_eq!(json(&out)["grants"].as_array().unwrap().len(), 3, "{out}");

    // A wrong bearer token is refused before any byte is accepted.
    let http = reqwest::Client::new();
    let refused = http
        .post(format!("{}/upload/tus-stream", gwc_api(&env)))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", zip.len().to_string())
        .header("Upload-Metadata", format!("session_id {}", base64_of(&sid)))
        .header("Authorization", format!("Bearer {}", bearer("someone-else")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let too_big = http
        .post(format!("{}/upload/tus-stream", gwc_api(&env)))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", (200u64 << 20).to_string())
        .header("Upload-Metadata", format!("session_id {}", base64_of(&sid)))
        .header("Authorization", format!("Bearer {}", bearer(&sid)))
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status().as_u16(), 413, "over the size limit");

    let url = tus_upload(&env, &sid, "site", "v1", &zip, 100 * 1024).await;
    let head = http.head(&url).header("Tus-Resumable", "1.0.0").send().await.unwrap();
    assert_eq!(head.headers()["upload-offset"].to_str().unwrap(), zip.len().to_string());

    let s = await_state(&env, &sid, "SESSION_STATE_CLOSED_SUCCESS").await;
    // 1 fragment for the page, 3 for the 600 KiB file. The executor does not wait for the
    // fragments' acks (executor.go confirms inclusion only), so they may trail the close.
    assert_eq!(s["distributed_count"], "4", "{s}");
    let gwc = env.testbed().control.chain("gwc").unwrap();
    let mut heights = gwc.subscribe_heights();
    tokio::time::timeout(WAIT, async {
        while session(&env, &sid).await["ack_success_count"] != "4" {
            heights.changed().await.expect("gwc produces blocks");
        }
    })
    .await
    .expect("every fragment is acknowledged");
    let (_, out, _) = chain_cli(&env, "gwc", &["q", "authz", "grants", &owner, &exec, "-o", "json"]).await;
    assert_eq!(json(&out)["grants"], serde_json::json!([]), "finalize revoked the grants");
    let (code, _, _) = chain_cli(&env, "gwc", &["q", "feegrant", "grant", &owner, &exec, "-o", "json"]).await;
    assert_ne!(code, 0, "and the feegrant");
    for fdsc in ["fdsc-0", "fdsc-1"] {
        let (code, out, _) = chain_cli(&env, fdsc, &["q", "datastore", "list-fragment", "-o", "json"]).await;
        assert_eq!(code, 0);
        assert!(!json(&out)["fragment"].as_array().unwrap().is_empty(), "{fdsc} stores fragments: {out}");
    }
    // `lib/stats.ts`: each storage chain's data directory grew by at least a fragment.
    for (i, fdsc) in ["fdsc-0", "fdsc-1"].into_iter().enumerate() {
        let after = data_dirs(&env, fdsc).await;
        let grown = after["application.db"] - before[i]["application.db"];
        assert!(grown >= FRAG as i64, "{fdsc}: application.db grew {grown} bytes: {after:?}");
        assert!(after["blockstore.db"] > before[i]["blockstore.db"] + FRAG as i64, "{fdsc}: {after:?}");
    }
    let (code, out, err) =
        chain_cli(&env, "mdsc", &["q", "metastore", "get-manifest", "site", "-o", "json"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["manifest"]["root_proof"], root.as_str());

    for (path, bytes) in [("index.html", page), ("assets/data.bin", big)] {
        let r = reqwest::get(format!("{}/render/site/v1/{path}", gwc_api(&env))).await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert_eq!(r.bytes().await.unwrap().to_vec(), bytes, "{path} renders the uploaded bytes");
    }
}

/// `du -sb <home>/data/*/` in the chain's pod, as `lib/stats.ts` runs it: bytes by directory.
async fn data_dirs(env: &TestEnv, chain: &str) -> std::collections::BTreeMap<String, i64> {
    let app = chain.split('-').next().unwrap();
    let pod = format!("cryptomeria-{chain}-0");
    let script = format!("du -sb /home/{app}/.{app}/data/*/ 2>/dev/null || true");
    let (code, out, err) =
        env.kubectl(&["exec", "-n", "cryptomeria", &pod, "--", "sh", "-c", &script], None).await;
    assert_eq!(code, 0, "{err}");
    let dirs: std::collections::BTreeMap<String, i64> = out
        .lines()
        .filter_map(|l| {
            let (n, path) = l.split_once('\t')?;
            let name = path.trim_end_matches('/').rsplit('/').next()?.to_string();
            Some((name, n.parse().ok()?))
        })
        .collect();
    assert!(dirs.contains_key("application.db") && dirs.contains_key("blockstore.db"), "{out}");
    dirs
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn a_wrong_root_never_closes_the_session() {
    crate::testbed_only!("drives the testbed's gwc node");
    let env = TestEnv::ready_with(fast_blocks()).await;
    link_and_register(&env).await;
    crate::testbed_ibc::start_rly(&env).await;
    setup_alice(&env).await;
    let files = [("index.html", b"hello".to_vec())];
    let wrong = project_root(&[("index.html", b"hellO".to_vec())], 1024);
    let (sid, _, _) = prepare(&env, 1024, 2, &wrong, true).await;
    tus_upload(&env, &sid, "bad", "v1", &zip_of(&files), 1 << 20).await;
    let s = await_state(&env, &sid, "SESSION_STATE_CLOSED_FAILED").await;
    assert_eq!(s["close_reason"], "ROOT_PROOF_MISMATCH", "{s}");
    assert_eq!(s["distributed_count"], "0", "no fragment left gwc: {s}");
    env.testbed().control.produce_blocks("gwc", 3);
    assert_eq!(session(&env, &sid).await["state"], "SESSION_STATE_CLOSED_FAILED");
    let (code, _, _) =
        chain_cli(&env, "mdsc", &["q", "metastore", "get-manifest", "bad", "-o", "json"]).await;
    assert_ne!(code, 0, "no manifest reached mdsc");
}

#[tokio::test]
async fn distribution_without_the_grants_fails_with_1116() {
    crate::testbed_only!("drives the testbed's gwc node");
    let env = TestEnv::ready_with(fast_blocks()).await;
    link_and_register(&env).await;
    setup_alice(&env).await;
    let files = [("index.html", b"hello world".to_vec())];
    let root = project_root(&files, 4);
    let (sid, _, _) = prepare(&env, 4, 2, &root, false).await;
    // local-admin sends a correctly proved batch by hand, as the executor would.
    let proof = serde_json::json!({"steps": []});
    let items = serde_json::json!({"items": [{"path": "index.html", "index": 0,
        "fragment_bytes_base64": base64_of("hell"), "fragment_proof": proof, "file_size": 11, "file_proof": proof}]});
    let (code, _, err) = env
        .kubectl(
            &[
                "exec",
                "-n",
                "cryptomeria",
                "cryptomeria-gwc-0",
                "--",
                "sh",
                "-c",
                &format!("echo '{items}' > /tmp/items.json"),
            ],
            None,
        )
        .await;
    assert_eq!(code, 0, "{err}");
    let mut argv =
        vec!["tx", "gateway", "distribute-batch", &sid, "/tmp/items.json", "--from", "local-admin"];
    argv.extend_from_slice(TX_FLAGS);
    let (code, out, err) = chain_cli(&env, "gwc", &argv).await;
    assert_eq!(code, 1, "gas estimation fails: {out}");
    assert!(err.contains("authz missing or invalid") && err.contains("authorization not found"), "{err}");
    let mut argv = vec![
        "tx",
        "gateway",
        "distribute-batch",
        &sid,
        "/tmp/items.json",
        "--from",
        "local-admin",
        "--gas",
        "400000",
        "--gas-prices",
        "0.001uatom",
        "-y",
        "-o",
        "json",
    ];
    argv.extend_from_slice(&["--chain-id", "gwc"]);
    let (code, out, err) = chain_cli(&env, "gwc", &argv).await;
    assert_eq!(code, 0, "{err}");
    let hash = json(&out)["txhash"].as_str().unwrap().to_string();
    let mut raw = [0u8; 32];
    hex::decode_to_slice(&hash, &mut raw).unwrap();
    let tx = env.testbed().control.chain("gwc").unwrap().wait_for_tx(&raw, WAIT).await.expect("committed");
    assert_eq!((tx.result().code, tx.result().codespace.as_str()), (1116, "gateway"), "{}", tx.result().log);
    assert_eq!(session(&env, &sid).await["distributed_count"], "0");
}
