//! `POST /utils/load/transfers`: load without hand-signing. The job makes throwaway
//! accounts, funds them (the testbed's faucet Service serves no HTTP, so `auto` falls back
//! to a bank send from local-admin in the gwc pod, as the chart's faucet.sh does), signs the
//! transfers in the BFF and sends them. The chain's committed accounts are the judge: every
//! account's sequence is the number of transfers it signed.

use crate::common::{Bff, TestEnv};
use serde_json::{Value, json};

async fn finished(bff: &Bff, id: &str) -> Value {
    let body = bff
        .until(&format!("/api/v1/utils/jobs/{id}"), "a finished job", |s, b| {
            s == 200
                && ["succeeded", "failed", "canceled"].contains(&b["data"]["status"].as_str().unwrap_or(""))
        })
        .await;
    body["data"].clone()
}

#[tokio::test]
async fn load_transfers_funds_throwaway_accounts_signs_in_the_bff_and_every_tx_commits() {
    crate::testbed_only!("judges the sends from the testbed chain's committed accounts");
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let (code, answer) =
        bff.post("/api/v1/utils/load/transfers", &json!({"chainId": "gwc", "txs": 30, "accounts": 4})).await;
    assert_eq!(code, 202, "{answer}");
    let id = answer["jobId"].as_str().unwrap();
    let job = finished(&bff, id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let steps: Vec<_> =
        job["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(steps, ["fund", "sign", "broadcast"]);
    let result = &job["result"];
    assert_eq!(
        (result["accepted"].as_u64(), result["confirmation"]["confirmed"].as_u64()),
        (Some(30), Some(30)),
        "{result}"
    );

    // Funding says where the funds came from and names addresses only.
    let funding = &result["funding"];
    assert_eq!(funding["source"], "bankSend", "the testbed's faucet answers no HTTP: {funding}");
    let accounts = funding["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 4);
    let node = env.testbed().control.chain("gwc").unwrap();
    let mut sent = 0;
    for a in accounts {
        assert_eq!(a.as_object().unwrap().keys().collect::<Vec<_>>(), ["address", "transfers"]);
        let address = a["address"].as_str().unwrap();
        let committed = node.account(address).unwrap_or_else(|| panic!("{address} exists on gwc"));
        assert_eq!(committed.sequence, a["transfers"].as_u64().unwrap(), "{address} signed its transfers");
        sent += committed.sequence;
    }
    assert_eq!(sent, 30);

    // The log says why the faucet was passed over, and what ran instead.
    let (_, log) = bff.get(&format!("/api/v1/utils/jobs/{id}/logs")).await;
    let text = log.to_string();
    assert!(text.contains("the faucet did not fund"), "{text}");
    assert!(text.contains("gwcd tx bank send local-admin"), "{text}");
}

#[tokio::test]
async fn load_transfers_validates_its_request() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    for (body, field) in [
        (json!({"chainId": "gwc"}), "txs"),
        (json!({"chainId": "gwc", "txs": 0}), "txs"),
        (json!({"chainId": "gwc", "txs": 3, "accounts": 4}), "accounts"),
        (json!({"chainId": "gwc", "txs": 3, "gasPrice": -1}), "gasPrice"),
        (json!({"chainId": "gwc", "txs": 3, "funding": "printMoney"}), "funding"),
    ] {
        let (code, answer) = bff.post("/api/v1/utils/load/transfers", &body).await;
        assert_eq!(code, 422, "{body}: {answer}");
        assert!(answer["error"].to_string().contains(field), "{body}: {answer}");
    }
    let (code, answer) =
        bff.post("/api/v1/utils/load/transfers", &json!({"chainId": "gwc", "txs": 100000})).await;
    assert_eq!((code, answer["error"]["details"]["limit"].as_str()), (429, Some("maxBatchSize")), "{answer}");
}

#[tokio::test]
async fn ctl_load_sends_signed_transfers_and_prints_the_figures() {
    let env = TestEnv::ready().await;
    let bff = Bff::ready(&env.kubeconfig).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cryptomeria-bff"))
        .args(["ctl", "--api", &bff.url, "load", "--chain", "gwc", "--txs", "12", "--accounts", "3"])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(crate::common::WAIT, out).await.expect("ctl ends").expect("ctl runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for wanted in [
        "fund",
        "sign",
        "broadcast",
        "12 of 12 txs committed (accepted 12, rejected 0)",
        "send ",
        "funding: ",
    ] {
        assert!(stdout.contains(wanted), "{wanted:?} missing:\n{stdout}");
    }
}
