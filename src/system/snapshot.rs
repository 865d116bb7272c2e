//! The resource snapshot's sections, gathered concurrently where they cost upstream calls:
//! the status page (its relayer pod moved under `relayer`), ports, each chain's Layer 2
//! status, every chain's IBC channel ends, the relayer probe and recent jobs. A section that
//! cannot be read holds `{"error": …}` and never fails the others.

use super::Reads;
use crate::chain::{ibc_query, rpc};
use crate::jobs::JobStore;
use crate::jobs::model::Scope;
use serde_json::{Map, Value, json};

/// Recent jobs per scope in a snapshot.
const RECENT_JOBS: usize = 20;

fn error_section(code: crate::error_code::ErrorCode, message: String) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// Every section of the snapshot, each under its name.
pub async fn gather(reads: &Reads, jobs: &JobStore) -> Map<String, Value> {
    let ids = reads.directory.snapshot().chain_ids();
    // The IBC observation first: the status page then reports the rly state it just saw.
    let health = super::ibc::health(reads).await;
    let (system, chains, ibc) = tokio::join!(
        super::status::system_status(reads),
        chains_section(reads, &ids),
        ibc_section(reads, &ids),
    );
    let relayer = relayer_section(&health.relayer);
    let mut system = serde_json::to_value(system).unwrap_or_else(|e| json!({"error": e.to_string()}));
    let mut pod = system.get("relayer").cloned().unwrap_or(Value::Null);
    if let Some(p) = pod.as_object_mut() {
        // Clocks live in `takenAt`; what stays is what a diff should show.
        p.remove("observedAt");
        p.remove("observationAgeSeconds");
    }
    let relayer = json!({"pod": pod, "process": relayer});
    if let Some(map) = system.as_object_mut() {
        map.remove("relayer");
    }
    let jobs: Vec<Value> = [Scope::System, Scope::Utils]
        .into_iter()
        .flat_map(|scope| jobs.list(scope).into_iter().take(RECENT_JOBS).map(move |j| (scope, j)))
        .map(|(scope, j)| json!({"scope": scope, "job": j}))
        .collect();
    let ports = serde_json::to_value(super::ports::ports_view(reads))
        .unwrap_or_else(|e| json!({"error": e.to_string()}));
    let mut out = Map::new();
    out.insert("system".into(), system);
    out.insert("ports".into(), ports);
    out.insert("chains".into(), Value::Array(chains));
    out.insert("ibc".into(), Value::Array(ibc));
    out.insert("relayer".into(), relayer);
    out.insert("ibcHealth".into(), stable_health(&health));
    out.insert("jobs".into(), Value::Array(jobs));
    out
}

/// Each chain's Layer 2 status (chains in discovery order).
async fn chains_section(reads: &Reads, ids: &[String]) -> Vec<Value> {
    futures::future::join_all(ids.iter().map(|id| async move {
        let read = async {
            let rpc_url = reads.directory.snapshot().upstream(id, "rpc")?;
            let (view, _) = rpc::node_status(&reads.chains, &rpc_url).await?;
            Ok::<_, crate::chain::Error>(json!({
                "network": view.network,
                "latestHeight": view.latest_height,
                "latestTime": view.latest_time,
                "catchingUp": view.catching_up,
            }))
        };
        let mut row = match read.await {
            Ok(v) => v,
            Err(e) => error_section(e.code(), e.to_string()),
        };
        row["chainId"] = id.clone().into();
        row
    }))
    .await
}

/// IBC channels of every chain with the chain their client tracks, sorted by
/// (chainId, portId, channelId).
async fn ibc_section(reads: &Reads, ids: &[String]) -> Vec<Value> {
    let per_chain = futures::future::join_all(ids.iter().map(|id| async move {
        let listed = async {
            let api = reads.directory.snapshot().upstream(id, "api")?;
            let channels = ibc_query::channels(&reads.chains, &api).await?;
            Ok::<_, crate::chain::Error>((api, channels))
        };
        let (api, channels) = match listed.await {
            Ok(listed) => listed,
            Err(e) => {
                let mut row = error_section(e.code(), e.to_string());
                row["chainId"] = id.clone().into();
                return vec![row];
            }
        };
        let rows = channels.into_iter().map(|c| {
            let api = api.clone();
            async move {
                let counterparty_chain =
                    ibc_query::counterparty_chain(&reads.chains, &api, &c.port_id, &c.channel_id)
                        .await
                        .ok()
                        .flatten();
                json!({
                    "chainId": id,
                    "portId": c.port_id,
                    "channelId": c.channel_id,
                    "state": c.state,
                    "counterparty": {
                        "chainId": counterparty_chain,
                        "portId": c.counterparty_port_id,
                        "channelId": c.counterparty_channel_id,
                    },
                })
            }
        });
        futures::future::join_all(rows).await
    }))
    .await;
    let mut rows: Vec<Value> = per_chain.into_iter().flatten().collect();
    let key = |v: &Value| {
        ["chainId", "portId", "channelId"]
            .map(|k| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string())
    };
    rows.sort_by_key(key);
    rows
}

/// The relayer as the IBC observation's probe saw it.
fn relayer_section(relayer: &super::ibc::Relayer) -> Value {
    match (&relayer.running, &relayer.error) {
        (Some(running), _) => json!({"rlyStartRunning": running, "pids": relayer.pids}),
        (None, Some(e)) => json!({"error": e}),
        (None, None) => json!({"error": "no relayer pod"}),
    }
}

/// The IBC health without its clocks (the record has `takenAt`), so unchanged systems diff clean.
fn stable_health(health: &super::ibc::IbcHealth) -> Value {
    let mut v = serde_json::to_value(health).unwrap_or_else(|e| json!({"error": e.to_string()}));
    if let Some(o) = v.as_object_mut() {
        o.remove("observedAt");
    }
    if let Some(r) = v.get_mut("relayer").and_then(Value::as_object_mut) {
        r.remove("observedAt");
        r.remove("observationAgeSeconds");
    }
    v
}
