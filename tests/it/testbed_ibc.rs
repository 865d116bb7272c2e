//! IBC packets on the testbed (issue 18), driven as a user would: the chart's bring-up through
//! kubectl, an upload session through the real client flow (alice, grants, TUS to gwc), `rly start` relaying
//! FragmentPackets to fdsc and the ManifestPacket to mdsc, and the chains' ibc-go REST.

use crate::common::{TestEnv, WAIT};
use crate::testbed_programs::{chain_cli, exec, link_and_register, rly, sh};
use std::time::Duration;
use testbed::Testbed;

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// An upload through the real client flow (alice, her grants, the root, TUS): one file in
/// `n` fragments over 2 fdsc. Returns the session id.
pub(crate) async fn upload(env: &TestEnv, project: &str, n: u64) -> String {
    crate::gateway_upload::upload_n(env, project, n).await
}

pub(crate) async fn session(env: &TestEnv, id: &str) -> serde_json::Value {
    let (code, out, err) = chain_cli(env, "gwc", &["q", "gateway", "session", id, "-o", "json"]).await;
    assert_eq!(code, 0, "{err}");
    json(&out)["session"].clone()
}

/// Waits (on gwc's blocks, not on time) until the session reaches `state`.
pub(crate) async fn await_state(env: &TestEnv, id: &str, state: &str) -> serde_json::Value {
    let gwc = env.testbed().control.chain("gwc").unwrap();
    let mut heights = gwc.subscribe_heights();
    tokio::time::timeout(WAIT, async {
        loop {
            let s = session(env, id).await;
            if s["state"] == state {
                return s;
            }
            heights.changed().await.expect("gwc produces blocks");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("session {id} never reached {state}"))
}

pub(crate) async fn start_rly(env: &TestEnv) {
    let (code, _, err) =
        sh(env, "nohup rly start --log-format json > /proc/1/fd/1 2>&1 < /dev/null &", None).await;
    assert_eq!(code, 0, "{err}");
}

pub(crate) async fn rest(env: &TestEnv, chain: &str, path: &str) -> serde_json::Value {
    let (_, api, _) = env.testbed().control.node_ports(chain).unwrap();
    let url = format!("http://127.0.0.1:{api}{path}");
    reqwest::get(&url).await.unwrap().json().await.unwrap()
}

pub(crate) fn fast_blocks() -> testbed::TestbedBuilder {
    Testbed::builder().block_interval(Some(Duration::from_millis(100)))
}

#[tokio::test]
async fn an_upload_session_closes_only_once_mdsc_acks_and_not_while_rly_is_down() {
    crate::testbed_only!("drives the testbed's chains and relayer");
    let env = TestEnv::ready_with(fast_blocks()).await;
    link_and_register(&env).await;
    start_rly(&env).await;

    let id = upload(&env, "site-a", 3).await;
    let s = await_state(&env, &id, "SESSION_STATE_CLOSED_SUCCESS").await;
    assert_eq!(s["distributed_count"], "3", "{s}");
    // gwc's executor confirms its txs, not the fragments' acks: those may trail the close.
    let gwc = env.testbed().control.chain("gwc").unwrap();
    let mut heights = gwc.subscribe_heights();
    tokio::time::timeout(WAIT, async {
        while session(&env, &id).await["ack_success_count"] != "3" {
            heights.changed().await.expect("gwc produces blocks");
        }
    })
    .await
    .expect("every fragment is acknowledged");
    let (code, out, _) = chain_cli(&env, "fdsc-0", &["q", "datastore", "list-fragment", "-o", "json"]).await;
    assert_eq!(code, 0);
    assert!(!json(&out)["fragment"].as_array().unwrap().is_empty(), "fragments arrived on fdsc-0: {out}");
    let (code, out, _) =
        chain_cli(&env, "mdsc", &["q", "metastore", "get-manifest", "site-a", "-o", "json"]).await;
    assert_eq!(code, 0);
    assert_eq!(json(&out)["manifest"]["session_id"], id.as_str());
    let (_, log, _) = env.kubectl(&["logs", "-n", "cryptomeria", &env.relayer()], None).await;
    for msg in ["/ibc.core.channel.v1.MsgRecvPacket", "/ibc.core.channel.v1.MsgAcknowledgement"] {
        assert!(log.contains(msg), "rly logs its {msg} txs: {log}");
    }

    // rly killed: the second session's packets stay committed on gwc, unreceived on mdsc.
    let (code, _, _) = exec(&env, &["pkill", "-x", "rly"]).await;
    assert_eq!(code, 0);
    let id2 = upload(&env, "site-b", 1).await;
    // gwc's executor distributes, then sends the manifest, a block or more apart (more on a
    // loaded machine): blocks until the session is FINALIZING, where it must then stay.
    let finalizing = tokio::time::timeout(WAIT, async {
        loop {
            env.testbed().control.produce_blocks("gwc", 1);
            if session(&env, &id2).await["state"] == "SESSION_STATE_FINALIZING" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    assert!(finalizing.await.is_ok(), "site-b reached FINALIZING: {}", session(&env, &id2).await);
    env.testbed().control.produce_blocks("gwc", 2);
    assert_eq!(session(&env, &id2).await["state"], "SESSION_STATE_FINALIZING", "no close while rly is down");
    let channels = rest(&env, "gwc", "/ibc/core/channel/v1/channels").await;
    let to_mdsc = channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["counterparty"]["port_id"] == "metastore")
        .expect("gateway channel to mdsc");
    let ch = to_mdsc["channel_id"].as_str().unwrap();
    let commitments =
        rest(&env, "gwc", &format!("/ibc/core/channel/v1/channels/{ch}/ports/gateway/packet_commitments"))
            .await;
    let seqs: Vec<String> = commitments["commitments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sequence"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seqs.len(), 1, "the manifest's commitment is waiting: {commitments}");
    let mdsc_ch = to_mdsc["counterparty"]["channel_id"].as_str().unwrap();
    let unreceived = rest(
        &env,
        "mdsc",
        &format!("/ibc/core/channel/v1/channels/{mdsc_ch}/ports/metastore/packet_commitments/{}/unreceived_packets", seqs.join(",")),
    )
    .await;
    assert_eq!(unreceived["sequences"], serde_json::json!(seqs), "{unreceived}");

    start_rly(&env).await;
    await_state(&env, &id2, "SESSION_STATE_CLOSED_SUCCESS").await;
    let commitments =
        rest(&env, "gwc", &format!("/ibc/core/channel/v1/channels/{ch}/ports/gateway/packet_commitments"))
            .await;
    assert_eq!(commitments["commitments"], serde_json::json!([]), "the ack deleted the commitment");
}

#[tokio::test]
async fn a_recreated_relayer_pod_keeps_its_keys_and_a_path_without_ids_relays_nothing() {
    crate::testbed_only!("drives the testbed's chains and relayer");
    let env = TestEnv::ready_with(fast_blocks()).await;
    link_and_register(&env).await;
    let old = env.relayer();
    env.testbed().control.delete_pod(&old);
    env.wait_all_pods_ready().await;
    let (code, _, _) = sh(&env, "test -f /home/relayer/.relayer/config/config.yaml", None).await;
    assert_ne!(code, 0, "config.yaml is gone");
    let (code, _, _) =
        sh(&env, "test -f /home/relayer/.relayer/keys/mdsc/keyring-test/relayer.info", None).await;
    assert_eq!(code, 0, "the keys are kept");
    // Re-create the config and the path without ids (what a product that forgot them does).
    let (code, _, err) = rly(&env, &["config", "init"]).await;
    assert_eq!(code, 0, "{err}");
    for id in ["gwc", "mdsc"] {
        let file = format!(
            r#"{{"type":"cosmos","value":{{"key":"relayer","chain-id":"{id}","rpc-addr":"http://cryptomeria-{id}-0.cryptomeria-chain-headless:26657","account-prefix":"cosmos","keyring-backend":"test","gas-adjustment":1.5,"gas-prices":"0.001uatom","debug":false,"timeout":"20s","output-format":"json","sign-mode":"direct"}}}}"#
        );
        let (code, _, err) = sh(
            &env,
            &format!("echo '{file}' > /tmp/{id}.json && rly chains add --file /tmp/{id}.json"),
            None,
        )
        .await;
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = rly(&env, &["paths", "new", "gwc", "mdsc", "gwc-mdsc"]).await;
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = rly(&env, &["paths", "show", "gwc-mdsc", "--json"]).await;
    assert_eq!(json(&out)["status"]["clients"], false, "{out}");
    start_rly(&env).await;
    let id = upload(&env, "site-c", 1).await;
    env.testbed().control.produce_blocks("gwc", 3);
    env.testbed().control.produce_blocks("mdsc", 3);
    assert_eq!(session(&env, &id).await["state"], "SESSION_STATE_FINALIZING", "nothing relayed");
    let (_, log, _) = env.kubectl(&["logs", "-n", "cryptomeria", &env.relayer()], None).await;
    assert!(log.contains("Path has no client or connection ids"), "{log}");
    assert!(!log.contains("MsgRecvPacket"), "{log}");

    // `rly paths update` with the on-chain ids: the restarted relayer relays the backlog.
    let gwc_end = rest(&env, "gwc", "/ibc/core/channel/v1/channels").await["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["counterparty"]["port_id"] == "metastore")
        .cloned()
        .unwrap();
    let conn = gwc_end["connection_hops"][0].as_str().unwrap().to_string();
    let conn_end = rest(&env, "gwc", &format!("/ibc/core/connection/v1/connections/{conn}")).await;
    let c = &conn_end["connection"];
    let (code, _, err) = rly(
        &env,
        &[
            "paths",
            "update",
            "gwc-mdsc",
            "--src-client-id",
            c["client_id"].as_str().unwrap(),
            "--src-connection-id",
            &conn,
            "--dst-client-id",
            c["counterparty"]["client_id"].as_str().unwrap(),
            "--dst-connection-id",
            c["counterparty"]["connection_id"].as_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = exec(&env, &["pkill", "-x", "rly"]).await;
    assert_eq!(code, 0);
    start_rly(&env).await;
    await_state(&env, &id, "SESSION_STATE_CLOSED_SUCCESS").await;
}
