//! README's "Send a first transaction" runs as written: `tests/cosmjs/first-tx.mjs` (the block
//! README shows, checked to be that file) is given a mnemonic read from the pod path the README
//! names (with the real `kubectl`), and run by node against a BFF on the testbed or a real cluster.

use crate::common::{Bff, TestEnv, WAIT};
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fenced block after the `<!-- first-tx.mjs -->` marker.
fn readme_snippet() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let after = &readme[readme.find("<!-- first-tx.mjs -->").expect("marker in README")..];
    let start = after.find("```js\n").expect("a js block after the marker") + "```js\n".len();
    let end = after[start..].find("\n```").expect("the block ends");
    after[start..start + end + 1].to_string()
}

#[test]
fn the_readme_shows_first_tx_mjs_as_it_is() {
    let file = std::fs::read_to_string(root().join("tests/cosmjs/first-tx.mjs")).unwrap();
    assert_eq!(readme_snippet(), file, "README's first-tx.mjs block and tests/cosmjs/first-tx.mjs differ");
}

#[tokio::test]
async fn the_readme_first_transaction_snippet_sends_a_tx_through_the_bff() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let mnemonic = env.mounted_mnemonic("gwc", "local-admin").await;
    // A fresh account: whatever else runs on the chain, its balance is only what this sends.
    let to = testbed::chain::keys::TestKey::random().address;
    assert_eq!(uatom(&bff, &to).await, 0, "a fresh account holds nothing");

    let dir = root().join("tests/cosmjs");
    assert!(dir.join("node_modules/@cosmjs/proto-signing").exists(), "run `npm ci --prefix tests/cosmjs`");
    let run = tokio::process::Command::new("node")
        .arg(dir.join("first-tx.mjs"))
        .env("BFF", &bff.url)
        .env("MNEMONIC", &mnemonic)
        .env("TO", &to)
        .kill_on_drop(true)
        .output();
    let out =
        tokio::time::timeout(WAIT * 2, run).await.expect("the snippet finished in time").expect("node runs");
    assert!(out.status.success(), "the snippet failed: {}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(printed["code"], 0, "{printed}");
    let height = printed["height"].as_u64().unwrap();
    assert!(height > 0, "{printed}");
    assert_eq!(uatom(&bff, &to).await, 1000, "the 1000uatom arrived");
}

/// `to`'s uatom on gwc, through the BFF (at the latest height: the snippet waited for its block).
async fn uatom(bff: &Bff, to: &str) -> u64 {
    let (code, body) = bff.get(&format!("/api/v1/chains/gwc/balances/{to}")).await;
    assert_eq!(code, 200, "{body}");
    let coins = body["data"]["balances"].as_array().cloned().unwrap_or_default();
    coins
        .iter()
        .find(|c| c["denom"] == "uatom")
        .map_or(0, |c| c["amount"].as_str().expect("amount").parse().expect("a number"))
}
