//! A session's packets from the chains' own events: the packets job's accounting over the
//! session's gwc heights (its sends fall between the init and the close), with each hop timed
//! by the commit clock. It also gives the exact close: the gateway sets a session
//! CLOSED_SUCCESS when the manifest's ack comes back, so the close is the gwc block holding
//! that `acknowledge_packet`, not a bound from polling.

use super::session::Outcome;
use crate::chain::ChainClient;
use crate::error_code::Failure;
use crate::jobs::StepCtx;
use crate::utils::ChainTarget;
use crate::utils::packets::PacketsStep;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Where the session's packets are read: gwc and every counterparty.
pub struct Chains<'a> {
    pub client: &'a ChainClient,
    pub gwc: &'a ChainTarget,
    pub targets: &'a BTreeMap<String, ChainTarget>,
    pub poll: std::time::Duration,
}

/// Reads of a session whose last hops are in the chains' newest blocks, whose commit times
/// (the next header) do not exist yet.
const READS: usize = 3;
/// How long a read waits for gwc's next block before it reports what it has.
const NEXT_BLOCK: std::time::Duration = std::time::Duration::from_secs(30);

/// Replaces the outcome's counter-based packets with the chains' account, and records the
/// manifest ack as the close. Without the heights to bound it (a session that never
/// started or closed) or when the read fails, the counters stay, saying why.
pub async fn account(chains: &Chains<'_>, o: &mut Outcome, ctx: &StepCtx) {
    let (Some(sid), Some(from), Some((_, to))) = (o.session_id.clone(), o.init_height, o.close_heights)
    else {
        return;
    };
    let step = PacketsStep {
        client: chains.client.clone(),
        gwc: chains.gwc.clone(),
        targets: chains.targets.clone(),
        from,
        to,
        chain_id: None,
        session_id: Some(sid.clone()),
    };
    match timed_account(chains, &step, ctx).await {
        Ok(report) => {
            let (packets, close) = session_packets(&report, std::mem::take(&mut o.packets));
            o.packets = packets;
            o.close = close;
        }
        Err(f) => {
            ctx.warn(&format!(
                "session {sid}: packets not read from the chains ({}); gwc's counters kept",
                f.message
            ));
            o.packets["chainEventsUnavailable"] = f.message.into();
        }
    }
}

/// The packets report once every hop that happened has its commit time: an ack or receipt in
/// a chain's newest block is timed by the header after it, so the read waits for gwc's next
/// block and reads again (at most `READS` times; what is still untimed is reported as such).
async fn timed_account(chains: &Chains<'_>, step: &PacketsStep, ctx: &StepCtx) -> Result<Value, Failure> {
    let mut read = 1;
    loop {
        let (report, _) = step.account(ctx).await?;
        let untimed = report["packets"].as_array().into_iter().flatten().any(|p| {
            (p["recvHeight"].is_u64() && p["recvTime"].is_null())
                || (p["ackHeight"].is_u64() && p["ackTime"].is_null())
        });
        if !untimed || read == READS {
            return Ok(report);
        }
        let latest = report["latestHeight"].as_u64().unwrap_or_default();
        let until = tokio::time::Instant::now() + NEXT_BLOCK;
        while gwc_height(chains).await? <= latest {
            if tokio::time::Instant::now() >= until {
                return Ok(report);
            }
            tokio::time::sleep(chains.poll).await;
        }
        read += 1;
    }
}

async fn gwc_height(chains: &Chains<'_>) -> Result<u64, Failure> {
    crate::chain::rpc::node_status(chains.client, &chains.gwc.rpc)
        .await
        .map(|(s, _)| s.latest_height.unwrap_or_default())
        .map_err(|e| crate::utils::observe::upstream_failure("reading gwc's height", &e))
}

/// The session's packet figures from a packets report (`counters`: gwc's own session
/// counters, kept beside for comparison), and the manifest's ack height and commit time.
fn session_packets(report: &Value, counters: Value) -> (Value, Option<(u64, String)>) {
    let items = report["packets"].as_array().cloned().unwrap_or_default();
    let of = |kind: &str| items.iter().filter(|p| p["payload"] == kind).collect::<Vec<_>>();
    let (fragments, manifests) = (of("fragment"), of("manifest"));
    let acked = |ps: &[&Value]| ps.iter().filter(|p| p["state"] == "acked").count();
    let manifest = manifests.first();
    let close = manifest.and_then(|m| Some((m["ackHeight"].as_u64()?, m["ackTime"].as_str()?.to_string())));
    let a = &report["accounting"];
    let compact: Vec<Value> = items
        .iter()
        .map(|p| {
            json!({
                "chainId": p["chainId"], "sequence": p["sequence"], "payload": p["payload"], "size": p["size"],
                "sendHeight": p["sendHeight"], "recvHeight": p["recvHeight"], "ackHeight": p["ackHeight"],
                "sendTime": p["sendTime"], "recvTime": p["recvTime"], "ackTime": p["ackTime"], "state": p["state"],
            })
        })
        .collect();
    let packets = json!({
        "sent": a["sent"], "acked": a["acked"], "timedOut": a["timedOut"], "pending": a["pending"],
        "fragments": {"sent": fragments.len(), "acked": acked(&fragments)},
        "manifest": manifest.map(|m| json!({"chainId": m["chainId"], "sequence": m["sequence"],
            "sendHeight": m["sendHeight"], "ackHeight": m["ackHeight"], "ackTime": m["ackTime"]})),
        "hops": report["hops"],
        "items": compact,
        "counters": counters,
        "source": "the chains' send_packet, recv_packet and acknowledge_packet events",
        "upstreamRequests": report["upstreamRequests"],
    });
    (packets, close)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_ack_is_the_close_and_fragments_are_counted_apart() {
        let report = json!({
            "accounting": {"sent": 3, "acked": 2, "timedOut": 0, "pending": 1},
            "hops": {"sendToAck": {"seconds": {"count": 2}}},
            "upstreamRequests": 9,
            "packets": [
                {"payload": "fragment", "state": "acked", "chainId": "fdsc-0", "sequence": 1, "ackHeight": 20},
                {"payload": "fragment", "state": "awaitingAck", "chainId": "fdsc-1", "sequence": 1},
                {"payload": "manifest", "state": "acked", "chainId": "mdsc", "sequence": 4,
                 "ackHeight": 23, "ackTime": "2026-12-07T00:00:01Z"},
            ],
        });
        let (p, close) = session_packets(&report, json!({"sent": 3}));
        assert_eq!(close, Some((23, "2026-12-07T00:00:01Z".to_string())));
        assert_eq!(
            (p["sent"].as_u64(), p["acked"].as_u64(), p["pending"].as_u64()),
            (Some(3), Some(2), Some(1))
        );
        assert_eq!(p["fragments"], json!({"sent": 2, "acked": 1}));
        assert_eq!(p["manifest"]["ackHeight"], 23);
        assert_eq!(p["items"].as_array().map(Vec::len), Some(3));
        assert_eq!(p["counters"]["sent"], 3);
        // No manifest acked: no exact close.
        let none = json!({"accounting": {}, "packets": [{"payload": "manifest", "state": "awaitingRecv"}]});
        assert_eq!(session_packets(&none, Value::Null).1, None);
    }
}
