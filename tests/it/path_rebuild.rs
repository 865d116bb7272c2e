//! Relayer paths rebuilt from chain state (issue 19): the chart's relayer keeps `config.yaml`
//! on an emptyDir, so a recreated relayer pod loses every path with its ids while the channels
//! stay OPEN. `system.start` must rebuild each path with the ids the chains record (never a
//! second client, connection or channel), correct a path whose ids are wrong, and leave a
//! relayer that relays: upload sessions close again.

use crate::reconcile::{Harness, assert_succeeded, step};
use crate::testbed_ibc::{await_state, rest, upload};
use serde_json::{Value, json};

const CLOSED: &str = "SESSION_STATE_CLOSED_SUCCESS";

/// gwc's gateway channel ends as its REST lists them: (channel, state, counterparty channel,
/// connection hop), sorted.
async fn gateway_channels(h: &Harness) -> Vec<(String, String, String, String)> {
    let list = rest(&h.env, "gwc", "/ibc/core/channel/v1/channels").await;
    let mut out: Vec<_> = list["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .filter(|c| c["port_id"] == "gateway")
        .map(|c| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                s(&c["channel_id"]),
                s(&c["state"]),
                s(&c["counterparty"]["channel_id"]),
                s(&c["connection_hops"][0]),
            )
        })
        .collect();
    out.sort();
    out
}

/// The ids the chains record for gwc↔`chain`, read over REST as a user would:
/// (gwc channel, gwc connection, gwc client, chain's connection, chain's client).
async fn chain_ids(h: &Harness, chain: &str) -> [String; 5] {
    let port = if chain == "mdsc" { "metastore" } else { "datastore" };
    let list = rest(&h.env, "gwc", "/ibc/core/channel/v1/channels").await;
    let ch = list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["port_id"] == "gateway" && c["counterparty"]["port_id"] == port && c["state"] == "STATE_OPEN"
        })
        .cloned()
        .unwrap_or_else(|| panic!("an OPEN gateway channel to {chain}: {list}"));
    let conn = ch["connection_hops"][0].as_str().unwrap().to_string();
    let end = rest(&h.env, "gwc", &format!("/ibc/core/connection/v1/connections/{conn}")).await;
    let c = &end["connection"];
    let s = |v: &Value| v.as_str().unwrap().to_string();
    [
        s(&ch["channel_id"]),
        conn,
        s(&c["client_id"]),
        s(&c["counterparty"]["connection_id"]),
        s(&c["counterparty"]["client_id"]),
    ]
}

/// The four ids of a path as `rly paths show PATH --json` prints them in the relayer pod.
async fn path_ids(h: &Harness, chain: &str) -> [String; 4] {
    let ns = h.env.ns();
    let relayer = h.env.relayer();
    let path = format!("path-gwc-{chain}-gw");
    let argv = ["exec", "-n", &ns, &relayer, "--", "rly", "paths", "show", &path, "--json"];
    // kubectl 1.32 under load sometimes exits 0 having discarded the output ("Unknown stream
    // id 1, discarding message"); this read has no side effect, so ask again.
    let mut out = String::new();
    for _ in 0..3 {
        let (code, stdout, err) = h.env.kubectl(&argv, None).await;
        assert_eq!(code, 0, "{err}");
        out = stdout;
        if !out.trim().is_empty() {
            break;
        }
    }
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let id = |end: &str, k: &str| v["chains"][end][k].as_str().unwrap_or_default().to_string();
    [id("src", "client-id"), id("src", "connection-id"), id("dst", "client-id"), id("dst", "connection-id")]
}

/// The log lines of `job` that planned `prefix` commands, each as "cmd: reason".
async fn planned_with_reasons(h: &Harness, job: &Value, prefix: &str) -> Vec<String> {
    h.log(job)
        .await
        .iter()
        .filter(|l| l["outcome"] == "planned" && l["cmd"].as_str().is_some_and(|c| c.starts_with(prefix)))
        .map(|l| format!("{}: {}", l["cmd"].as_str().unwrap(), l["message"].as_str().unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn after_the_relayer_pod_is_recreated_start_rebuilds_paths_from_chain_ids_and_sessions_close_again() {
    crate::testbed_only!("drives upload sessions and reads the relayer pod's paths through the testbed");
    let h = Harness::new(1).await;
    assert_succeeded(&h.run("/start", json!({})).await);
    let id = upload(&h.env, "before", 2).await;
    await_state(&h.env, &id, CLOSED).await;
    let channels = gateway_channels(&h).await;
    assert_eq!(channels.len(), 2, "{channels:?}");
    let storage = ["mdsc", "fdsc-0"];
    let mut ids = Vec::new();
    for chain in storage {
        ids.push(chain_ids(&h, chain).await);
    }

    // `kubectl delete pod`: the Deployment recreates it without config.yaml (an emptyDir).
    let old = h.env.relayer();
    let (code, _, err) = h.env.kubectl(&["delete", "pod", "-n", &h.env.ns(), &old], None).await;
    assert_eq!(code, 0, "{err}");
    h.wait_relayer_in_cache().await;
    assert_ne!(h.env.relayer(), old, "a new relayer pod");

    let job = h.run("/start", json!({})).await;
    assert_succeeded(&job);
    let planned = h.planned(&job).await;
    assert!(!planned.iter().any(|c| c.starts_with("rly transact link")), "never linked again: {planned:#?}");
    let rebuilt = planned_with_reasons(&h, &job, "rly paths").await;
    for (chain, [ch, conn, client, dst_conn, dst_client]) in storage.iter().zip(&ids) {
        let path = format!("path-gwc-{chain}-gw");
        let reason =
            format!("rebuild path {path} from chain state: {ch} on {conn} (client {client}) ↔ {chain}");
        assert!(
            rebuilt
                .iter()
                .any(|l| l.starts_with(&format!("rly paths new gwc {chain} {path}")) && l.contains(&reason)),
            "the log says which path was rebuilt from which ids ({reason}): {rebuilt:#?}"
        );
        let update = format!(
            "rly paths update {path} --src-client-id {client} --dst-client-id {dst_client} --src-connection-id {conn} --dst-connection-id {dst_conn}"
        );
        assert!(rebuilt.iter().any(|l| l.starts_with(&update)), "{update}: {rebuilt:#?}");
        assert_eq!(path_ids(&h, chain).await, [client, conn, dst_client, dst_conn].map(String::clone));
    }
    let connect = step(&job, "connectAll")["message"].as_str().unwrap().to_string();
    assert!(connect.contains("paths set from chain state"), "{connect}");
    assert_eq!(gateway_channels(&h).await, channels, "the same gateway channels: ids unchanged, none added");
    for chain in storage {
        let theirs = rest(&h.env, chain, "/ibc/core/channel/v1/channels").await;
        assert_eq!(theirs["channels"].as_array().map(Vec::len), Some(1), "{chain}: {theirs}");
    }

    let id = upload(&h.env, "after", 2).await;
    await_state(&h.env, &id, CLOSED).await;
    let fragments = rest(
        &h.env,
        "gwc",
        &format!("/ibc/core/channel/v1/channels/{}/ports/gateway/packet_commitments", ids[1][0]),
    )
    .await;
    assert_eq!(fragments["commitments"], json!([]), "fdsc-0's fragments were relayed and acked: {fragments}");

    // A second start finds the paths matching and does nothing.
    let warm = h.run("/start", json!({})).await;
    assert_succeeded(&warm);
    assert!(h.planned(&warm).await.is_empty(), "{:#?}", h.planned(&warm).await);
}

#[tokio::test]
async fn start_corrects_a_path_with_wrong_ids_restarts_rly_and_force_never_links() {
    crate::testbed_only!("drives upload sessions and reads the relayer pod's paths through the testbed");
    // Sessions need a data chain for their fragments.
    let h = Harness::new(1).await;
    assert_succeeded(&h.run("/start", json!({})).await);
    let channels = gateway_channels(&h).await;
    let [_, conn, client, dst_conn, dst_client] = chain_ids(&h, "mdsc").await;
    h.relayer_sh(
        "rly paths update path-gwc-mdsc-gw --src-client-id 07-tendermint-9 --dst-connection-id connection-9",
    )
    .await;
    assert_eq!(path_ids(&h, "mdsc").await[0], "07-tendermint-9");

    let job = h.run("/start", json!({})).await;
    assert_succeeded(&job);
    let fixed = planned_with_reasons(&h, &job, "rly paths update path-gwc-mdsc-gw").await;
    assert_eq!(fixed.len(), 1, "{fixed:#?}");
    for wrong in [
        format!("src client 07-tendermint-9 → {client}"),
        format!("dst connection connection-9 → {dst_conn}"),
    ] {
        assert!(fixed[0].contains(&wrong), "the reason names {wrong}: {fixed:#?}");
    }
    assert_eq!(
        path_ids(&h, "mdsc").await,
        [client.clone(), conn.clone(), dst_client.clone(), dst_conn.clone()]
    );
    // rly read its config before the correction: startRelayer restarts it to relay the fix.
    let planned = h.planned(&job).await;
    assert!(planned.iter().any(|c| c == "pkill -x rly"), "{planned:#?}");
    assert!(
        !planned.iter().any(|c| c.starts_with("rly transact link") || c.starts_with("rly paths new")),
        "{planned:#?}"
    );
    let id = upload(&h.env, "fixed", 1).await;
    await_state(&h.env, &id, CLOSED).await;

    // force re-sets the ids, never links or creates a path, and leaves the channels as they were.
    let forced = h.run("/start", json!({"force": true})).await;
    assert_succeeded(&forced);
    let planned = h.planned(&forced).await;
    assert!(planned.iter().any(|c| c.starts_with("rly paths update path-gwc-mdsc-gw")), "{planned:#?}");
    assert!(
        !planned.iter().any(|c| c.starts_with("rly transact link") || c.starts_with("rly paths new")),
        "{planned:#?}"
    );
    assert_eq!(gateway_channels(&h).await, channels);
    let id = upload(&h.env, "forced", 1).await;
    await_state(&h.env, &id, CLOSED).await;
}

/// The state names of the gateway channel ends between gwc and mdsc: (gwc's, mdsc's).
fn channel_states(h: &Harness) -> (Vec<String>, Vec<String>) {
    let control = &h.env.testbed().control;
    let states = |chain: &str, port: &str| -> Vec<String> {
        control
            .chain(chain)
            .expect("chain")
            .channels()
            .into_iter()
            .filter(|c| c.port_id == port)
            .map(|c| format!("{:?}", c.state))
            .collect()
    };
    (states("gwc", "gateway"), states("mdsc", "metastore"))
}

#[tokio::test]
async fn a_relayer_pod_recreated_between_chan_open_ack_and_confirm_is_rebuilt_and_rly_start_finishes_the_handshake()
 {
    crate::testbed_only!("cuts a link after ChanOpenAck and deletes the relayer pod through the testbed");
    let h = Harness::new(0).await;
    assert_succeeded(&h.run("/start", json!({"steps": ["initRelayer"]})).await);
    let control = &h.env.testbed().control;
    control.cut_next_links_after_ack(1);
    let (status, accepted) = h.post("/start", json!({})).await;
    assert_eq!(status, 202, "{accepted}");
    let half_open = (vec!["Open".to_string()], vec!["TryOpen".to_string()]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while channel_states(&h) != half_open {
        assert!(std::time::Instant::now() < deadline, "no half-open channel: {:?}", channel_states(&h));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The pod goes mid-link: its config.yaml (an emptyDir) and the path's ids with it.
    let old = h.env.relayer();
    control.delete_pod(&old).expect("relayer deleted");
    let cut = h.finish(accepted["jobId"].as_str().unwrap()).await;
    assert_eq!(cut["status"], "failed", "{cut:#}");
    h.wait_relayer_in_cache().await;
    assert_ne!(h.env.relayer(), old, "a new relayer pod");
    assert_eq!(channel_states(&h), half_open, "nothing finished the handshake yet");

    let job = h.run("/start", json!({})).await;
    assert_succeeded(&job);
    let planned = h.planned(&job).await;
    assert!(!planned.iter().any(|c| c.starts_with("rly transact link")), "never linked again: {planned:#?}");
    let rebuilt = planned_with_reasons(&h, &job, "rly paths new gwc mdsc path-gwc-mdsc-gw").await;
    assert!(
        rebuilt.len() == 1
            && rebuilt[0].contains("channel handshake unfinished: mdsc's channel-0 is STATE_TRYOPEN")
            && rebuilt[0].contains("`rly start` completes it"),
        "the reason says the handshake is unfinished and who finishes it: {rebuilt:#?}"
    );
    let [_, conn, client, dst_conn, dst_client] = chain_ids(&h, "mdsc").await;
    assert_eq!(path_ids(&h, "mdsc").await, [client, conn, dst_client, dst_conn]);
    let one_open = (vec!["Open".to_string()], vec!["Open".to_string()]);
    assert_eq!(channel_states(&h), one_open, "rly start confirmed mdsc's end; no second channel");
    h.assert_end_state();

    let warm = h.run("/start", json!({})).await;
    assert_succeeded(&warm);
    assert!(h.planned(&warm).await.is_empty(), "{:#?}", h.planned(&warm).await);
    assert_eq!(channel_states(&h), one_open);
}
