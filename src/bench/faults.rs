//! P11: the fault matrix. One continuous-mode BFF (`RECONCILE_MODE=continuous`, no one posts)
//! on gwc + mdsc + 4 fdsc at 1 s blocks (`--quick`: 200 ms), linked and relaying; then one
//! fault at a time, each while an upload session (the experiment runner's flow, its
//! fragments to a data chain and its manifest to mdsc) is in flight:
//!
//! - `rly_killed`: `pkill -x rly` in the relayer pod (the pod stays);
//! - `rly_paused`: `rly start` running but relaying nothing, then resumed;
//! - `pod_deleted`: the relayer pod deleted (its Deployment recreates it);
//! - `fdsc_halted`: the data chain the session's fragments go to stops producing blocks,
//!   then resumes;
//! - `rpc_cut`: the relayer cut off from that data chain's RPC (the chain serves everyone
//!   else), then restored;
//! - `client_near_expiry`: gwc's client of that data chain aged into the last third of its
//!   trusting period while `rly start` is stuck (paused: a running rly updates it itself), so
//!   only the BFF's `rly transact update-clients` can save it; heal = from the fault until the
//!   warning is gone, then rly is resumed;
//! - `wallet_drained`: the relayer's gwc wallet left with less than a relay tx's fee, then
//!   refilled (the human's part: the product can only say which account to fund);
//! - `restart_loop`: the relayer pod's container in a restart loop (CrashLoopBackOff between
//!   restarts, rly killed at each exit) for a minute (`--quick`: 5 s), then running; the
//!   product must not exec into it meanwhile and restarts rly once it has settled; heal = from
//!   the loop's end until relaying.
//!
//! Per fault: gwc blocks and seconds from the fault until `GET /system/ibc` is not `relaying`
//! with a reason naming it (read once per gwc block); seconds from the fault's lifting (for
//! the faults the product heals itself, from the fault) until `/system/ibc` says `relaying`
//! again and until the session is CLOSED_SUCCESS; the reconciler's passes meanwhile with the
//! commands they ran and the link actions they planned; and the packets lost, from the
//! packets job over the window's gwc heights once nothing is pending: sent − acked − timed
//! out − pending, which must be 0.
//!
//! Baseline: the scripts have no loop and no health read. A scripts user sees nothing until
//! sessions stop closing, and heals only by re-running them (which, with the channels OPEN,
//! skips every chain; see P10).

use super::harness::{self, Bff};
use super::reconcile::bff_with;
use super::session;
use super::table::Row;
use super::{Reps, Section};
use crate::reconcile::controller::Mode;
use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use testbed::Testbed;

mod kinds;
use kinds::{Fault, Lift};

/// How long the relayer pod's container keeps restarting (`restart_loop`).
fn restart_loop_for(quick: bool) -> Duration {
    Duration::from_secs(if quick { 5 } else { 60 })
}

/// What the drained wallet keeps: less than one relay tx's fee (150,000 gas at 0.001uatom).
const DRAINED_UATOM: u128 = 100;

struct Bed {
    testbed: Testbed,
    bff: Bff,
    interval: Duration,
    quick: bool,
}

#[derive(Debug, Default)]
struct Measured {
    detect_blocks: u64,
    detect_seconds: f64,
    reason: String,
    heal_seconds: f64,
    session_seconds: f64,
    passes: usize,
    commands: usize,
    links: usize,
    sent: u64,
    lost: u64,
}

impl Bed {
    fn gwc(&self) -> anyhow::Result<testbed::chain::ChainNode> {
        self.testbed.control.chain("gwc").context("gwc")
    }

    async fn ibc(&self) -> anyhow::Result<Value> {
        let (_, body) = self.bff.get("/api/v1/system/ibc").await?;
        Ok(body["data"].clone())
    }

    /// The data chain the next session's fragments go to: gwc's executor takes the datastore
    /// endpoints in channel order.
    fn first_datastore(&self) -> anyhow::Result<String> {
        let mut stores: Vec<(String, String)> = self
            .gwc()?
            .storage_endpoints()
            .into_iter()
            .filter(|i| i.connection_type == "datastore" && !i.channel_id.is_empty())
            .map(|i| (i.channel_id, i.chain_id))
            .collect();
        stores.sort();
        stores.into_iter().next().map(|(_, c)| c).context("no datastore registered on gwc")
    }

    /// The relayer wallet's address on gwc, as `/system/ibc` reads it.
    async fn relayer_gwc_address(&self) -> anyhow::Result<String> {
        let ibc = self.ibc().await?;
        ibc["relayer"]["balances"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["chainId"] == "gwc"))
            .and_then(|b| b["address"].as_str())
            .map(str::to_string)
            .with_context(|| format!("no relayer balance on gwc in {ibc}"))
    }

    async fn inject(&self, fault: Fault) -> anyhow::Result<(Lift, Box<dyn Fn(&str) -> bool + Send + Sync>)> {
        let control = &self.testbed.control;
        Ok(match fault {
            Fault::RlyKilled => {
                let pod = control.relayer_pod().and_then(|p| control.pod(&p)).context("relayer pod")?;
                let out = pod.runtime.exec_collect(&["pkill", "-x", "rly"], b"").await;
                ensure!(out.code == 0, "pkill -x rly: exit {}", out.code);
                (Lift::Nothing, Box::new(|r: &str| r.contains("rly start is not running")))
            }
            Fault::RlyPaused => {
                control.pause_relaying(true);
                (Lift::Resume, Box::new(|r: &str| r.contains("unrelayed")))
            }
            Fault::PodDeleted => {
                let old = control.relayer_pod().context("relayer pod")?;
                control.delete_pod(&old).context("the relayer pod is recreated")?;
                let named = |r: &str| {
                    ["rly start is not running", "no relayer pod", "has no path", "could not be observed"]
                        .iter()
                        .any(|s| r.contains(s))
                };
                (Lift::Nothing, Box::new(named))
            }
            Fault::FdscHalted => {
                let chain = self.first_datastore()?;
                control.set_block_interval(&chain, None);
                let unrelayed = format!("gwc->{chain} unrelayed");
                (Lift::Blocks(chain), Box::new(move |r: &str| r.contains(&unrelayed)))
            }
            Fault::RpcCut => {
                let chain = self.first_datastore()?;
                control.cut_relayer_rpc(&chain, true);
                let unrelayed = format!("gwc->{chain} unrelayed");
                (Lift::Reach(chain), Box::new(move |r: &str| r.contains(&unrelayed)))
            }
            Fault::ClientNearExpiry => {
                control.pause_relaying(true);
                let chain = self.first_datastore()?;
                let ibc = self.ibc().await?;
                let gwc_end = ibc["pairs"]
                    .as_array()
                    .and_then(|p| p.iter().find(|p| p["chainId"] == chain.as_str()))
                    .map(|p| p["gwc"].clone())
                    .with_context(|| format!("no pair gwc<->{chain} in {ibc}"))?;
                let client = gwc_end["clientId"].as_str().context("gwc's client")?.to_string();
                let period = gwc_end["trustingPeriodSeconds"].as_u64().context("trusting period")?;
                // 70 % of the period gone: under a third left, not yet expired.
                control.age_client("gwc", &client, Duration::from_secs(period * 7 / 10));
                let expiring = format!("client {client} on gwc expires in");
                (Lift::Resume, Box::new(move |r: &str| r.contains(&expiring)))
            }
            Fault::WalletDrained => {
                let address = self.relayer_gwc_address().await?;
                let old = control.set_balance("gwc", &address, "uatom", DRAINED_UATOM).context("gwc")?;
                let fund = format!("fund {address} on gwc");
                (Lift::Refill(address, old), Box::new(move |r: &str| r.contains(&fund)))
            }
            Fault::RestartLoop => {
                let pod = control.relayer_pod().context("relayer pod")?;
                let duration = restart_loop_for(self.quick);
                let ends = Instant::now() + duration;
                ensure!(control.crash_loop_pod(&pod, duration), "no pod {pod}");
                (Lift::Ends(ends), Box::new(|r: &str| r.contains("restarting in a loop")))
            }
        })
    }

    fn lift(&self, lift: Lift) {
        let control = &self.testbed.control;
        match lift {
            Lift::Nothing | Lift::Ends(_) => {}
            Lift::Resume => control.pause_relaying(false),
            Lift::Blocks(chain) => control.set_block_interval(&chain, Some(self.interval)),
            Lift::Reach(chain) => control.cut_relayer_rpc(&chain, false),
            Lift::Refill(address, amount) => {
                control.set_balance("gwc", &address, "uatom", amount);
            }
        }
    }

    /// Reads `/system/ibc` once per gwc block until `done` holds for it; the answer, with the
    /// gwc blocks since height `from` and the seconds since `since` when it was read.
    async fn per_block(
        &self,
        what: &str,
        (from, since): (u64, Instant),
        done: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<(u64, f64, Value)> {
        let gwc = self.gwc()?;
        let mut heights = gwc.subscribe_heights();
        let deadline = tokio::time::Instant::now() + harness::WAIT;
        loop {
            let ibc = self.ibc().await?;
            if done(&ibc) {
                return Ok((gwc.latest_height().saturating_sub(from), since.elapsed().as_secs_f64(), ibc));
            }
            if tokio::time::timeout_at(deadline, heights.changed()).await.is_err() {
                bail!("/system/ibc never showed {what}: {ibc}");
            }
        }
    }

    async fn system_jobs(&self) -> anyhow::Result<BTreeSet<String>> {
        let (_, jobs) = self.bff.get("/api/v1/system/jobs?limit=1000").await?;
        Ok(jobs["data"]["items"]
            .as_array()
            .context("system jobs")?
            .iter()
            .filter_map(|j| j["jobId"].as_str().map(str::to_string))
            .collect())
    }

    /// Commands a pass ran (its log's command lines that were not only planned or skipped)
    /// and the link actions it planned.
    async fn pass_actions(&self, job: &str) -> anyhow::Result<(usize, usize)> {
        let url = format!("{}/api/v1/system/jobs/{job}/logs?format=jsonl&tail=100000", self.bff.url);
        let log = self.bff.http.get(url).send().await?.text().await?;
        let ran = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["cmd"].is_string() && !matches!(l["outcome"].as_str(), Some("planned" | "skipped")))
            .count();
        Ok((ran, self.bff.link_actions("system", job).await?))
    }

    /// The packets job over gwc's `from..=to`, re-run once per block until nothing is pending.
    async fn accounting(&self, from: u64) -> anyhow::Result<(u64, u64)> {
        let gwc = self.gwc()?;
        let to = gwc.latest_height();
        let mut heights = gwc.subscribe_heights();
        let deadline = tokio::time::Instant::now() + harness::WAIT;
        loop {
            let body = json!({"fromHeight": from, "toHeight": to});
            let job = self.bff.run_job("utils", "observe/packets", &body).await?;
            ensure!(job["status"] == "succeeded", "packets job: {job}");
            let a = &job["result"]["accounting"];
            let n = |k: &str| a[k].as_u64().unwrap_or_default();
            if n("pending") == 0 {
                let lost = n("sent").saturating_sub(n("acked") + n("timedOut"));
                return Ok((n("sent"), lost));
            }
            if tokio::time::timeout_at(deadline, heights.changed()).await.is_err() {
                bail!("packets still pending over gwc {from}..{to}: {a}");
            }
        }
    }

    async fn measure(&self, fault: Fault) -> anyhow::Result<Measured> {
        let before_jobs = self.system_jobs().await?;
        let at = self.gwc()?.latest_height();
        let t0 = Instant::now();
        let (lift, named) = self.inject(fault).await?;
        let named_in = |ibc: &Value| {
            ibc["reasons"].as_array().is_some_and(|r| r.iter().any(|r| r.as_str().is_some_and(&named)))
        };
        // Beside the session: the fault named, then — for what the product heals itself —
        // relaying again (the client: the product has done what it can once the warning is
        // gone, updated; the stuck rly is resumed after).
        let watch = async {
            let detected = self
                .per_block("the fault named", (at, t0), |ibc| ibc["verdict"] != "relaying" && named_in(ibc))
                .await?;
            let healed = if fault == Fault::ClientNearExpiry {
                Some(self.per_block("the client updated", (at, t0), |ibc| !named_in(ibc)).await?.1)
            } else if fault.heals_itself() && fault != Fault::RestartLoop {
                Some(self.per_block("relaying again", (at, t0), |ibc| ibc["verdict"] == "relaying").await?.1)
            } else {
                None
            };
            anyhow::Ok((detected, healed))
        };
        let project = format!("p11-{}", fault.key());
        let (((detect_blocks, detect_seconds, ibc), healed), id) =
            tokio::try_join!(watch, session::upload(&self.testbed, &project))?;
        let reason = ibc["reasons"]
            .as_array()
            .and_then(|r| r.iter().filter_map(Value::as_str).find(|r| named(r)))
            .unwrap_or_default()
            .to_string();
        let lifted = match lift {
            Lift::Ends(at) => at,
            _ if fault.heals_itself() => t0,
            _ => Instant::now(),
        };
        self.lift(lift);
        let lifted_at = self.gwc()?.latest_height();
        let (_, relaying_seconds, _) =
            self.per_block("relaying again", (lifted_at, lifted), |ibc| ibc["verdict"] == "relaying").await?;
        let heal_seconds = healed.unwrap_or(relaying_seconds);
        session::await_closed(&self.testbed, &id, harness::WAIT).await?;
        let session_seconds = lifted.elapsed().as_secs_f64();
        // Every pass since the fault has ended before its actions are counted.
        self.bff
            .until("/api/v1/system/jobs?limit=1000", "no reconcile pass running", |_, b| {
                let items = b["data"]["items"].as_array().map_or(&[][..], Vec::as_slice);
                items
                    .iter()
                    .all(|j| matches!(j["status"].as_str(), Some("succeeded" | "failed" | "canceled")))
            })
            .await?;
        let mut m = Measured {
            detect_blocks,
            detect_seconds,
            reason,
            heal_seconds,
            session_seconds,
            ..Measured::default()
        };
        for job in self.system_jobs().await?.difference(&before_jobs) {
            let (ran, links) = self.pass_actions(job).await?;
            m.passes += 1;
            m.commands += ran;
            m.links += links;
        }
        (m.sent, m.lost) = self.accounting(at + 1).await?;
        Ok(m)
    }
}

pub async fn run(reps: &Reps, section: &mut Section) -> anyhow::Result<()> {
    let interval = if reps.quick { Duration::from_millis(200) } else { Duration::from_secs(1) };
    let testbed = harness::testbed(super::reconcile::builder()).await?;
    let bff = bff_with(&testbed, |s| {
        s.reconcile.reconcile_mode = Mode::Continuous;
        s.jobs.max_throughput_window = 100_000;
        // Read once per gwc block: an answer is never older than half a block.
        s.ibc.ibc_health_ttl = interval / 2;
    })
    .await?;
    for chain in testbed.control.chain_ids() {
        testbed.control.set_block_interval(&chain, Some(interval));
    }
    let bed = Bed { testbed, bff, interval, quick: reps.quick };
    let start = (bed.gwc()?.latest_height(), Instant::now());
    bed.per_block("the system brought up with no POST", start, |ibc| ibc["verdict"] == "relaying").await?;
    let id = session::upload(&bed.testbed, "p11-before").await?;
    session::await_closed(&bed.testbed, &id, harness::WAIT).await?;
    let mut json = serde_json::Map::new();
    for fault in Fault::ALL {
        let m = bed.measure(fault).await.with_context(|| format!("P11 {}", fault.key()))?;
        eprintln!("bench: P11 {} done: {m:?}", fault.key());
        ensure!(m.lost == 0, "P11 {}: {} packets lost of {}", fault.key(), m.lost, m.sent);
        section.row(
            Row::new(
                "P11",
                format!("{} (detect blocks/s; heal s; passes, commands, links; lost)", fault.what()),
            )
            .figure(format!(
                "{} blk/{:.1} s; {:.1} s; {}, {}, {}; {}/{} lost",
                m.detect_blocks,
                m.detect_seconds,
                m.heal_seconds,
                m.passes,
                m.commands,
                m.links,
                m.lost,
                m.sent
            ))
            .baseline(fault.baseline()),
        );
        json.insert(
            fault.key().to_string(),
            json!({"detect_blocks": m.detect_blocks, "detect_seconds": m.detect_seconds, "reason": m.reason,
                   "heal_seconds": m.heal_seconds, "session_closed_seconds": m.session_seconds,
                   "healed_by_product": fault.heals_itself() || fault == Fault::ClientNearExpiry, "reconcile_passes": m.passes,
                   "exec_actions": m.commands, "link_actions": m.links,
                   "packets_sent": m.sent, "packets_lost": m.lost}),
        );
    }
    json.insert("block_interval_ms".into(), json!(interval.as_millis() as u64));
    section.json("p11", Value::Object(json));
    eprintln!("bench: P11 done");
    Ok(())
}
