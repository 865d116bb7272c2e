//! P12: cold `/system/start` with every chain at a real chain's block time (1 s, CometBFT's
//! `timeout_commit` default) instead of the 40 ms start rounds of P1/P9, at 4 and 32 data
//! chains, beside the scripts' sequence on an identical fresh testbed. At this block time a
//! start is the links' handshakes end to end (one at a time on both sides: they all sign with
//! gwc's relayer key), so the row also counts, from the chains' blocks, how many gwc blocks
//! each side spends per link against the fewest the handshake allows
//! ([`MIN_BLOCKS_PER_LINK`], derived in docs/benchmarks.md).

use super::harness::{self, Samples};
use super::reconcile::{Kubectl, bff_for_fdsc_with, check_end_state, scripts_run};
use super::table::Row;
use super::{Reps, Section};
use crate::reconcile::LinkSigners;
use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use testbed::Testbed;
use testbed::chain::ChainNode;

/// The chains' block time during the whole start.
const BLOCK: Duration = Duration::from_secs(1);
/// The fewest gwc blocks one link can span, from gwc's MsgCreateClient to the counterparty's
/// MsgChannelOpenConfirm: nine inclusion rounds, six of which prove the previous step and so
/// first wait for the header after it (docs/benchmarks.md, P12).
pub(super) const MIN_BLOCKS_PER_LINK: u64 = 10;
/// The longest a cold start at 1 s blocks may take (33 links of ~12 blocks each, and retries).
const START_WAIT: Duration = Duration::from_secs(1800);

fn sizes(reps: &Reps) -> &'static [usize] {
    if reps.quick { &[2] } else { &[4, 32] }
}

fn builder(fdsc: usize) -> testbed::TestbedBuilder {
    Testbed::builder().fdsc(fdsc).block_interval(Some(BLOCK))
}

/// One handshake tx of `rly transact link`, as its chain committed it: the chain it names as
/// the other end, the step, and the block it landed in.
struct HandshakeTx {
    other: String,
    step: String,
    height: u64,
    time: jiff::Timestamp,
}

/// Every `transact link` tx `node` committed from `from` on, read from its blocks (the
/// testbed's `rly` names the link and the step in each tx's memo:
/// `rly transact link <chain> <> <other>: <Msg…>`).
fn handshake_txs(node: &ChainNode, from: u64) -> Vec<HandshakeTx> {
    let mut found = Vec::new();
    for height in from.max(1)..=node.latest_height() {
        let Some(block) = node.block(height) else { continue };
        for bytes in &block.txs {
            let Ok(tx) = testbed::chain::tx_codec::decode_tx(bytes) else { continue };
            let Some(rest) = tx.body.memo.strip_prefix("rly transact link ") else { continue };
            let Some((ends, step)) = rest.split_once(": ") else { continue };
            let Some((_, other)) = ends.split_once(" <> ") else { continue };
            found.push(HandshakeTx {
                other: other.to_string(),
                step: step.to_string(),
                height,
                time: block.header.time,
            });
        }
    }
    found
}

/// How many gwc blocks the links of one start spent, counted from the chains.
#[derive(Debug, Clone)]
struct Linking {
    links: usize,
    /// Per link: gwc's height when its last step (the counterparty's ChanOpenConfirm)
    /// committed, minus the height of its first (gwc's MsgCreateClient).
    per_link: Vec<u64>,
    /// gwc blocks from the first link's first step to the last link's last, per link: the
    /// handshakes and whatever each side does between them.
    overall: f64,
}

impl Linking {
    fn median(&self) -> f64 {
        Samples(self.per_link.iter().map(|b| *b as f64).collect()).median()
    }
}

/// Reads the links of the start that began at gwc height `from` off the chains' blocks.
fn linking(testbed: &Testbed, from: u64) -> anyhow::Result<Linking> {
    let control = &testbed.control;
    let gwc = control.chain("gwc").context("gwc")?;
    // gwc's heights and block times, to place another chain's block on gwc's height scale.
    let times: Vec<(u64, jiff::Timestamp)> = (from.max(1)..=gwc.latest_height())
        .filter_map(|h| gwc.block(h).map(|b| (h, b.header.time)))
        .collect();
    let gwc_height_at =
        |t: jiff::Timestamp| times.iter().take_while(|(_, bt)| *bt <= t).last().map(|(h, _)| *h);
    let mut first: BTreeMap<String, u64> = BTreeMap::new();
    for tx in handshake_txs(&gwc, from).into_iter().filter(|t| t.step == "MsgCreateClient") {
        first.entry(tx.other).or_insert(tx.height);
    }
    let mut spans = Vec::new();
    for (chain, start) in &first {
        let node = control.chain(chain).with_context(|| format!("chain {chain}"))?;
        let confirm = handshake_txs(&node, 1)
            .into_iter()
            .rfind(|t| t.other == "gwc" && t.step == "MsgChannelOpenConfirm")
            .with_context(|| format!("no MsgChannelOpenConfirm on {chain}"))?;
        let end =
            gwc_height_at(confirm.time).with_context(|| format!("{chain}'s confirm before gwc's blocks"))?;
        spans.push((*start, end));
    }
    ensure!(!spans.is_empty(), "no link started on gwc after height {from}");
    let (lo, hi) =
        (spans.iter().map(|s| s.0).min().unwrap_or(0), spans.iter().map(|s| s.1).max().unwrap_or(0));
    Ok(Linking {
        links: spans.len(),
        per_link: spans.iter().map(|(s, e)| e.saturating_sub(*s)).collect(),
        overall: hi.saturating_sub(lo) as f64 / spans.len() as f64,
    })
}

/// One cold start of one side at `fdsc` data chains: (wall time, execs, links).
struct Side {
    took: Duration,
    execs: u64,
    linking: Linking,
}

/// The BFF's cold start with `signers` signing the links on gwc. With a signer per path it
/// must reach the same end state as with the shared key: checked by [`same_end_state`].
async fn bff_side(fdsc: usize, signers: LinkSigners) -> anyhow::Result<Side> {
    let testbed = harness::testbed(builder(fdsc)).await?;
    let bff = bff_for_fdsc_with(&testbed, fdsc, |s| s.reconcile.link_signers = signers).await?;
    let from = testbed.control.chain("gwc").context("gwc")?.latest_height();
    let before = harness::execs(&testbed);
    let (job, took) = bff.run_job_within("system", "start", &json!({}), START_WAIT).await?;
    ensure!(job["status"] == "succeeded", "system.start did not succeed: {job}");
    check_end_state(&testbed, "system.start at 1 s blocks")?;
    let execs = harness::execs(&testbed) - before;
    let linking = linking(&testbed, from)?;
    if signers == LinkSigners::PerPath {
        same_end_state(&testbed).await?;
    }
    Ok(Side { took, execs, linking })
}

/// The end state a start with the shared signer leaves, checked after one with a signer per
/// path: one gateway channel per storage chain, each relayer path in the main home carrying
/// the connection and client of that chain's channel on both ends, and an upload session
/// relayed to CLOSED_SUCCESS by the `rly start` the start left running.
async fn same_end_state(testbed: &Testbed) -> anyhow::Result<()> {
    let control = &testbed.control;
    let gwc = control.chain("gwc").context("gwc")?;
    let relayer = control.pod(&control.relayer_pod().context("relayer pod")?).context("relayer")?;
    let shown = relayer.runtime.exec_collect(&["rly", "config", "show", "--json"], b"").await;
    ensure!(shown.code == 0, "rly config show: {}", String::from_utf8_lossy(&shown.stderr));
    let config: Value = serde_json::from_slice(&shown.stdout)?;
    let gateway: Vec<_> = gwc.channels().into_iter().filter(|c| c.port_id == "gateway").collect();
    for chain in control.chain_ids().into_iter().filter(|c| c != "gwc") {
        let ours: Vec<_> = gateway.iter().filter(|c| c.counterparty_chain_id == chain).collect();
        ensure!(ours.len() == 1, "{} gateway channels to {chain}", ours.len());
        let (ch, node) = (ours[0], control.chain(&chain).context("chain")?);
        let theirs = node
            .channels()
            .into_iter()
            .find(|c| c.channel_id == ch.counterparty_channel_id)
            .with_context(|| format!("{chain} has no {}", ch.counterparty_channel_id))?;
        let path = &config["paths"][crate::chart::path_name(&chain)];
        let want = [
            ("src", "client-id", &ch.client_id),
            ("src", "connection-id", &ch.connection_id),
            ("dst", "client-id", &theirs.client_id),
            ("dst", "connection-id", &theirs.connection_id),
        ];
        for (end, key, id) in want {
            ensure!(
                path[end][key] == json!(id),
                "{chain}'s path {end}.{key} is {} (chain: {id})",
                path[end][key]
            );
        }
    }
    let session = super::session::upload(testbed, "p12-per-path").await?;
    super::session::await_closed(testbed, &session, super::harness::WAIT).await
}

async fn scripts_side(fdsc: usize) -> anyhow::Result<Side> {
    let testbed = harness::testbed(builder(fdsc)).await?;
    let kubectl = Kubectl::new(&testbed)?;
    let from = testbed.control.chain("gwc").context("gwc")?.latest_height();
    let (execs, took) = scripts_run(&testbed, &kubectl).await?;
    Ok(Side { took, execs, linking: linking(&testbed, from)? })
}

pub async fn run(reps: &Reps, section: &mut Section) -> anyhow::Result<()> {
    let mut out = serde_json::Map::new();
    let block_ms = BLOCK.as_millis();
    for &fdsc in sizes(reps) {
        let bff = bff_side(fdsc, LinkSigners::Shared).await?;
        eprintln!("bench: P12 BFF at {fdsc} fdsc: {:.1?}, {:?}", bff.took, bff.linking);
        let per_path = bff_side(fdsc, LinkSigners::PerPath).await?;
        eprintln!(
            "bench: P12 BFF, a gwc signer per path, at {fdsc} fdsc: {:.1?}, {:?}",
            per_path.took, per_path.linking
        );
        let base = scripts_side(fdsc).await?;
        eprintln!("bench: P12 scripts at {fdsc} fdsc: {:.1?}, {:?}", base.took, base.linking);
        let (bff_s, base_s) = (bff.took.as_secs_f64(), base.took.as_secs_f64());
        let (b, s) = (&bff.linking, &base.linking);
        section.row(
            Row::new(
                "P12",
                format!("cold /system/start at {block_ms} ms blocks, gwc+mdsc+{fdsc} fdsc (wall s; gwc blocks per link)"),
            )
            .figure(format!("{bff_s:.1} s; {:.1} a link ({:.0} in its handshake)", b.overall, b.median()))
            .baseline(format!("{base_s:.1} s; {:.1} a link ({:.0} in its handshake)", s.overall, s.median()))
            .ratio(base_s / bff_s)
            .spread(format!("n=1 / n=1; fewest {MIN_BLOCKS_PER_LINK} a link")),
        );
        let (pp_s, p) = (per_path.took.as_secs_f64(), &per_path.linking);
        section.row(
            Row::new(
                "P12",
                format!("the same with a gwc signer per path (--link-signers per-path: links side by side), {fdsc} fdsc (wall s; gwc blocks per link)"),
            )
            .figure(format!("{pp_s:.1} s; {:.1} a link ({:.0} in its handshake)", p.overall, p.median()))
            .baseline(format!("{bff_s:.1} s with the shared signer; scripts {base_s:.1} s"))
            .ratio(bff_s / pp_s)
            .spread("n=1 / n=1; same end state checked".to_string()),
        );
        let figures = json!({
            "bff_s": bff_s, "baseline_s": base_s, "ratio": base_s / bff_s, "links": b.links,
            "execs": bff.execs, "baseline_execs": base.execs,
            "blocks_per_link": b.overall, "baseline_blocks_per_link": s.overall,
            "handshake_blocks": b.per_link, "baseline_handshake_blocks": s.per_link,
            "handshake_blocks_median": b.median(), "baseline_handshake_blocks_median": s.median(),
            "per_path_s": pp_s, "per_path_execs": per_path.execs, "per_path_blocks_per_link": p.overall,
            "per_path_handshake_blocks": p.per_link});
        // Per path vs the shared signer; and vs the scripts.
        out.insert(format!("per_path_ratio_{fdsc}"), json!(bff_s / pp_s));
        out.insert(format!("per_path_vs_scripts_{fdsc}"), json!(base_s / pp_s));
        out.insert("per_path_blocks_per_link".into(), json!(p.overall));
        out.insert(format!("ratio_{fdsc}"), json!(base_s / bff_s));
        // The largest size's figures are the row's headline keys.
        out.insert("blocks_per_link".into(), json!(b.overall));
        out.insert("baseline_blocks_per_link".into(), json!(s.overall));
        out.insert("handshake_blocks_per_link".into(), json!(b.median()));
        out.insert("baseline_handshake_blocks_per_link".into(), json!(s.median()));
        out.insert(format!("fdsc_{fdsc}"), figures);
    }
    out.insert("min_blocks_per_link".into(), json!(MIN_BLOCKS_PER_LINK));
    out.insert("block_interval_ms".into(), json!(block_ms as u64));
    out.insert("sizes".into(), json!(sizes(reps)));
    out.insert("runs".into(), json!(1));
    section.json("p12", Value::Object(out));
    eprintln!("bench: P12 done");
    Ok(())
}
