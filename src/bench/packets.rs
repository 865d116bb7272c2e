//! P13: the packets job over 1,000 gwc blocks holding upload sessions' packets (gwc + mdsc +
//! 4 fdsc as P1 measures them, linked by the BFF's start, `rly` relaying; each session spreads
//! its fragments over 2 fdsc): the upstream requests it makes on every
//! chain, read from the testbed chains' own request counters, beside a client that asks one
//! `tx_search` per packet event (its send on gwc, its receipt on the counterparty, its ack on
//! gwc), run against the same nodes.

use super::harness::{self, Bff};
use super::reconcile::{bff_with, builder};
use super::session;
use super::table::Row;
use super::{Reps, Section};
use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use testbed::Testbed;

const BLOCKS: u64 = 1000;

fn requests(testbed: &Testbed) -> u64 {
    testbed.control.chain_ids().iter().map(|c| harness::chain_requests(testbed, c)).sum()
}

/// One `tx_search` per packet event, as a client without block reads would find them.
async fn naive(testbed: &Testbed, http: &reqwest::Client, packets: &[Value]) -> anyhow::Result<()> {
    let rpc = |chain: &str| -> anyhow::Result<String> {
        let (port, _, _) = testbed.control.node_ports(chain).context("node ports")?;
        Ok(format!("http://127.0.0.1:{port}"))
    };
    let gwc = rpc("gwc")?;
    for p in packets {
        let (chain, channel) =
            (p["chainId"].as_str().unwrap_or_default(), p["srcChannel"].as_str().unwrap_or_default());
        let seq = p["sequence"].as_u64().unwrap_or_default();
        let dest = rpc(chain)?;
        for (url, event) in [(&gwc, "send_packet"), (&dest, "recv_packet"), (&gwc, "acknowledge_packet")] {
            let query =
                format!("\"{event}.packet_src_channel='{channel}' AND {event}.packet_sequence='{seq}'\"");
            let url =
                reqwest::Url::parse_with_params(&format!("{url}/tx_search"), [("query", query.as_str())])?;
            let found: Value = http.get(url).send().await?.json().await?;
            ensure!(found["result"]["total_count"] == "1", "{event} {channel}/{seq}: {found}");
        }
    }
    Ok(())
}

pub async fn run(reps: &Reps, section: &mut Section) -> anyhow::Result<()> {
    let testbed = harness::testbed(builder()).await?;
    let bff: Bff = bff_with(&testbed, |s| s.jobs.max_throughput_window = BLOCKS).await?;
    let job = bff.run_job("system", "start", &json!({})).await?;
    ensure!(job["status"] == "succeeded", "system.start: {job}");
    let gwc = testbed.control.chain("gwc").context("gwc")?;
    let from = gwc.latest_height() + 1;
    // Sessions of 40 fragments (a packet each, over both fdsc) and a manifest to mdsc.
    let sessions = if reps.quick { 3 } else { 6 };
    let page: Vec<u8> = (0..40 * 1024u32).map(|i| (i % 251) as u8).collect();
    for i in 0..sessions {
        let id = session::upload_bytes(&testbed, &format!("p13-{i}"), &page).await?;
        session::await_closed(&testbed, &id, harness::WAIT).await?;
    }
    // The rest of the 1,000 blocks, empty, made at once.
    let to = from + BLOCKS - 1;
    testbed.control.set_block_interval("gwc", None);
    let made = gwc.latest_height();
    ensure!(made < to, "the sessions took {} blocks, more than {BLOCKS}", made + 1 - from);
    gwc.produce_blocks(to - made + 1);

    let before = requests(&testbed);
    let job = bff.run_job("utils", "observe/packets", &json!({"fromHeight": from, "toHeight": to})).await?;
    let bff_requests = requests(&testbed) - before;
    ensure!(job["status"] == "succeeded", "packets job: {job}");
    let result = &job["result"];
    let packets = result["packets"].as_array().cloned().unwrap_or_default();
    ensure!(result["accounting"]["pending"] == 0, "packets left pending: {}", result["accounting"]);
    let before = requests(&testbed);
    naive(&testbed, &bff.http, &packets).await?;
    let baseline = requests(&testbed) - before;
    let n = packets.len();
    section.row(
        Row::new("P13", format!("packets job, {n} packets over {BLOCKS} gwc blocks (upstream requests)"))
            .figure(bff_requests.to_string())
            .baseline(format!("{baseline} (a `tx_search` per packet event: send, recv, ack)"))
            .ratio(baseline as f64 / bff_requests.max(1) as f64),
    );
    section.json(
        "p13",
        json!({"requests": bff_requests, "blocks": BLOCKS, "packets": n, "baseline_requests": baseline,
               "job_upstream_requests": result["upstreamRequests"], "blocks_read": result["blocksRead"]}),
    );
    eprintln!("bench: P13 done");
    Ok(())
}
