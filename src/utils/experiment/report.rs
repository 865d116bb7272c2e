//! The experiment's figures: one JSON row per session (phases, commit-clock times, disk
//! growth, packets), summaries per phase, block-time statistics over the run, and the CSV
//! whose columns include the exam scripts' field names, so existing analysis keeps working.

use super::session::{Close, Gwc, Outcome, Plan};
use crate::chain::{ChainClient, blocktime, rpc};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PHASES: [&str; 4] = ["prepMs", "clientUploadMs", "deployMs", "fetchMs"];

/// Commit times (header time of H+1, the clock tx latency uses) of the init tx and of the
/// close (the manifest ack's, or else the polling bound's), once those headers exist.
pub async fn commit_times(gwc: &Gwc, o: &Outcome) -> (Option<String>, Option<String>) {
    let header = |h: u64| async move {
        loop {
            if let Ok(times) = rpc::header_times(&gwc.client, &gwc.rpc, h, h).await
                && let Some((_, t)) = times.into_iter().next()
            {
                return Some(t);
            }
            if tokio::time::Instant::now() >= gwc.deadline {
                return None;
            }
            tokio::time::sleep(gwc.poll).await;
        }
    };
    let init = match o.init_height {
        Some(h) => header(h + 1).await,
        None => None,
    };
    let close = match o.close() {
        Some(Close::Acked { time, .. }) => Some(time.to_string()),
        Some(Close::Polled { height }) => header(height + 1).await,
        None => None,
    };
    (init, close)
}

fn seconds_between(a: &str, b: &str) -> Option<f64> {
    let (a, b) = (a.parse::<jiff::Timestamp>().ok()?, b.parse::<jiff::Timestamp>().ok()?);
    Some(b.duration_since(a).as_secs_f64())
}

/// One session's row.
#[allow(clippy::too_many_arguments)] // one call site: the round's pieces of a row
pub fn session_json(
    round: usize,
    slot: usize,
    plan: &Plan,
    o: &Outcome,
    input: usize,
    growth: &BTreeMap<String, i64>,
    sessions_in_round: usize,
    (init_time, close_time): (Option<String>, Option<String>),
) -> Value {
    let phases: serde_json::Map<String, Value> =
        PHASES.iter().zip(o.phases).map(|(k, v)| (k.to_string(), json!(v))).collect();
    let upload_seconds = o.phases[1].map(|ms| ms / 1000.0);
    let close = o.close();
    let (close_height, close_from) = (close.as_ref().map(Close::height), close.as_ref().map(Close::source));
    let fdsc_growth: i64 = growth.iter().filter(|(c, _)| c.starts_with("fdsc")).map(|(_, g)| g).sum();
    json!({
        "round": round,
        "slot": slot,
        "sessionId": o.session_id,
        "projectName": plan.project,
        "version": plan.version,
        "state": o.state,
        "renderEqual": o.render_equal,
        "error": o.error,
        "phases": phases,
        "inputBytes": input,
        "uploadBytes": o.bytes,
        "uploadBytesPerSecond": upload_seconds.filter(|s| *s > 0.0).map(|s| o.bytes as f64 / s),
        "fragmentBytes": plan.fragment,
        "fileCount": plan.files.len(),
        "fragments": super::project::fragments(&plan.files, plan.fragment),
        "initHeight": o.init_height,
        "closeHeight": close_height,
        "closeHeightFrom": close_from,
        // Where polling saw the session still open, and first closed.
        "closePolledBetween": o.close_heights.map(|(lo, hi)| [lo, hi]),
        "initToCloseBlocks": o.init_height.zip(close_height).map(|(i, c)| c.saturating_sub(i)),
        "initCommitTime": init_time,
        "closeCommitTime": close_time,
        "initToCloseSeconds": init_time.as_deref().zip(close_time.as_deref()).and_then(|(a, b)| seconds_between(a, b)),
        // Measured around the whole round: shared by its sessions when they ran in parallel.
        "diskGrowthBytes": growth,
        "diskGrowthSharedBy": sessions_in_round,
        "overheadRatio": (input > 0).then(|| fdsc_growth as f64 / (input * sessions_in_round) as f64),
        "packets": o.packets,
    })
}

/// p50, p95 and max of each phase over the sessions that have it.
pub fn summary(sessions: &[Value]) -> Value {
    let mut out = serde_json::Map::new();
    for phase in PHASES {
        let values: Vec<f64> = sessions.iter().filter_map(|s| s["phases"][phase].as_f64()).collect();
        let stats = blocktime::stats(&values, &[50.0, 95.0]);
        out.insert(
            phase.to_string(),
            json!({"count": values.len(), "p50": stats.as_ref().map(|s| s.percentiles["p50"]),
                "p95": stats.as_ref().map(|s| s.percentiles["p95"]), "max": stats.as_ref().map(|s| s.max)}),
        );
    }
    Value::Object(out)
}

/// gwc's block times from the first init to the last close.
pub async fn block_time(client: &ChainClient, rpc_url: &str, sessions: &[Value]) -> Value {
    let from = sessions.iter().filter_map(|s| s["initHeight"].as_u64()).min();
    let to = sessions.iter().filter_map(|s| s["closeHeight"].as_u64()).max();
    let (Some(from), Some(to)) = (from, to) else { return Value::Null };
    // `blockchain` answers at most a page of metas per call.
    let heights: Vec<u64> = (from..=to + 1).collect();
    let mut times = Vec::new();
    for (min, max) in blocktime::fetch_plan(&heights, rpc::BLOCKCHAIN_PAGE) {
        let Ok(page) = rpc::header_times(client, rpc_url, min, max).await else { return Value::Null };
        times.extend(page);
    }
    let mut parsed: Vec<(u64, jiff::Timestamp)> =
        times.iter().filter_map(|(h, t)| Some((*h, t.parse().ok()?))).collect();
    // `blockchain` pages come newest first; intervals are between consecutive heights.
    parsed.sort_by_key(|(h, _)| *h);
    let intervals = blocktime::intervals(&parsed);
    json!({"fromHeight": from, "toHeight": to + 1, "intervals": intervals.len(),
        "stats": blocktime::stats(&intervals, &[50.0, 95.0, 99.0])})
}

/// The result's sessions as CSV: the exam scripts' fields (`sid`, `projectName`, `inputSize`,
/// `fragSize`, `fileCount`, `prepTimeMs`, `clientUploadTimeMs`, `deployTimeMs`, `fetchTimeMs`,
/// `overheadRatio`, `diskDeltaTotal.*`), then ours. `deployTimeMs` keeps the scripts' meaning
/// (until the render was fetched, fetch included); `deployMs` is until the close alone.
pub fn csv(result: &Value) -> String {
    let sessions = result["sessions"].as_array().cloned().unwrap_or_default();
    let mut chains: Vec<String> = sessions
        .iter()
        .flat_map(|s| {
            s["diskGrowthBytes"]
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect();
    chains.sort();
    chains.dedup();
    let mut header: Vec<String> = [
        "sid",
        "projectName",
        "version",
        "round",
        "slot",
        "state",
        "renderEqual",
        "inputSize",
        "fragSize",
        "fileCount",
        "prepTimeMs",
        "clientUploadTimeMs",
        "deployTimeMs",
        "fetchTimeMs",
        "deployMs",
        "uploadBytes",
        "uploadBytesPerSecond",
        "initHeight",
        "closeHeight",
        "initToCloseBlocks",
        "initToCloseSeconds",
        "packetsSent",
        "packetsAcked",
        "overheadRatio",
        "diskDeltaTotal.gwc",
        "diskDeltaTotal.mdsc",
        "diskDeltaTotal.fdsc",
        "diskDeltaTotal.sum",
    ]
    .map(String::from)
    .to_vec();
    header.extend(chains.iter().map(|c| format!("diskGrowthBytes.{c}")));
    header.push("error".into());
    let mut out = header.join(",");
    out.push('\n');
    for s in &sessions {
        let phase = |k: &str| s["phases"][k].as_f64();
        let deploy_with_fetch = phase("deployMs").zip(phase("fetchMs")).map(|(d, f)| d + f);
        let growth = |prefix: &str| -> i64 {
            s["diskGrowthBytes"]
                .as_object()
                .map(|o| {
                    o.iter().filter(|(c, _)| c.starts_with(prefix)).filter_map(|(_, v)| v.as_i64()).sum()
                })
                .unwrap_or(0)
        };
        let mut row: Vec<String> = vec![
            text(&s["sessionId"]),
            text(&s["projectName"]),
            text(&s["version"]),
            text(&s["round"]),
            text(&s["slot"]),
            text(&s["state"]),
            text(&s["renderEqual"]),
            text(&s["inputBytes"]),
            text(&s["fragmentBytes"]),
            text(&s["fileCount"]),
            ms(phase("prepMs")),
            ms(phase("clientUploadMs")),
            ms(deploy_with_fetch),
            ms(phase("fetchMs")),
            ms(phase("deployMs")),
            text(&s["uploadBytes"]),
            text(&s["uploadBytesPerSecond"]),
            text(&s["initHeight"]),
            text(&s["closeHeight"]),
            text(&s["initToCloseBlocks"]),
            text(&s["initToCloseSeconds"]),
            text(&s["packets"]["sent"]),
            text(&s["packets"]["acked"]),
            text(&s["overheadRatio"]),
            growth("gwc").to_string(),
            growth("mdsc").to_string(),
            growth("fdsc").to_string(),
            (growth("gwc") + growth("mdsc") + growth("fdsc")).to_string(),
        ];
        row.extend(chains.iter().map(|c| text(&s["diskGrowthBytes"][c])));
        row.push(text(&s["error"]["message"]));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

fn ms(v: Option<f64>) -> String {
    v.map(|x| format!("{}", x.round() as i64)).unwrap_or_default()
}

/// A CSV field: bare numbers and words, anything with a comma, quote or newline quoted.
fn text(v: &Value) -> String {
    let s = match v {
        Value::Null => return String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_has_the_exam_fields_one_row_per_session_and_quotes_what_needs_it() {
        let result = json!({"sessions": [
            {"sessionId": "s1", "phases": {"prepMs": 10.4, "clientUploadMs": 2.0, "deployMs": 100.0, "fetchMs": 5.0},
             "diskGrowthBytes": {"fdsc-0": 7, "gwc": 1}, "error": null, "packets": {"sent": 3, "acked": 3}},
            {"sessionId": "s2", "phases": {}, "diskGrowthBytes": {"fdsc-1": 2}, "error": {"message": "a, \"b\""}},
        ]});
        let csv = csv(&result);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        let header: Vec<&str> = lines[0].split(',').collect();
        for exam in [
            "sid",
            "prepTimeMs",
            "clientUploadTimeMs",
            "deployTimeMs",
            "fetchTimeMs",
            "overheadRatio",
            "diskDeltaTotal.fdsc",
        ] {
            assert!(header.contains(&exam), "{exam}");
        }
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let first: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(first[col("deployTimeMs")], "105", "the scripts' deploy includes the fetch");
        assert_eq!(first[col("deployMs")], "100");
        assert_eq!(first[col("diskDeltaTotal.sum")], "8");
        assert!(lines[2].ends_with("\"a, \"\"b\"\"\""), "{}", lines[2]);
    }
}
