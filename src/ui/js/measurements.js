// Measurements: the block-time distribution of a chain's latest window (histogram with
// p50/p95/p99 marked, from `blocktime?include=intervals`) and header-time throughput over a
// height range, split into segments measured by one utils job each.

import { get, post } from "./api.js";
import { $, h, fill, showError, seconds, num } from "./dom.js";
import { histogram, bars } from "./charts.js";

const MARKS = ["p50", "p95", "p99"];
let latest = new Map();
let rangeChosen = false;
// The defaults are measured once, the first time the view is open with chains known.
let visible = false;
let defaultsRun = false;
// Only the newest block-time answer is drawn (an earlier one may arrive later).
let btGeneration = 0;

export function init() {
  $("bt-form").addEventListener("submit", (e) => {
    e.preventDefault();
    blocktime();
  });
  for (const id of ["tp-from", "tp-to"]) $(id).addEventListener("input", () => { rangeChosen = true; });
  $("tp-form").addEventListener("submit", (e) => {
    e.preventDefault();
    throughput();
  });
}

export function shown() {
  visible = true;
  runDefaults();
}

export function hidden() {
  visible = false;
}

function runDefaults() {
  const height = latest.get($("bt-chain").value);
  if (defaultsRun || !visible || !height) return;
  defaultsRun = true;
  // A young chain has fewer blocks than the default window: measure what it has.
  const window = $("bt-window");
  if (height - 1 < Number(window.value)) window.value = Math.max(2, height - 1);
  blocktime();
  throughput();
}

export function setChains(chains) {
  latest = new Map(chains.map((c) => [c.chainId, Number(c.latestHeight)]));
  for (const id of ["bt-chain", "tp-chain"]) {
    const select = $(id);
    const ids = chains.map((c) => c.chainId);
    if ([...select.options].map((o) => o.value).join() === ids.join()) continue;
    const chosen = select.value;
    fill(select, ids.map((c) => h("option", { value: c, text: c, selected: c === chosen })));
  }
  // Offer the latest 100 blocks until the user picks a range.
  const to = latest.get($("tp-chain").value);
  if (to && !rangeChosen) {
    $("tp-to").value = to;
    $("tp-from").value = Math.max(1, to - 100);
  }
  runDefaults();
}

async function blocktime() {
  const chain = $("bt-chain").value;
  const window = $("bt-window").value;
  const generation = ++btGeneration;
  showError($("bt-error"), null);
  try {
    const bt = await get(`/chains/${encodeURIComponent(chain)}/blocktime?window=${encodeURIComponent(window)}&percentiles=50,90,95,99&include=intervals`);
    if (generation !== btGeneration) return;
    const s = bt.stats;
    const marks = MARKS.map((key) => ({ key, value: s[key] }));
    const summary = `${chain}: ${bt.sampleCount} block intervals over heights ${bt.range.fromHeight}–${bt.range.toHeight}; ` +
      `mean ${seconds(s.mean)}, p50 ${seconds(s.p50)}, p95 ${seconds(s.p95)}, p99 ${seconds(s.p99)}, min ${seconds(s.min)}, max ${seconds(s.max)}.`;
    const chart = histogram(bt.intervals, marks, { title: `Block time distribution of ${chain}, window ${bt.window}`, desc: summary });
    chart.setAttribute("data-window", bt.window);
    fill($("bt-chart"), chart);
    $("bt-summary").textContent = summary;
    fill($("bt-numbers"),
      fact("chain", `${bt.chainId} (network ${bt.network ?? "?"})`),
      fact("window", `${bt.window} blocks, ${bt.sampleCount} intervals`),
      fact("heights", `${bt.range.fromHeight}–${bt.range.toHeight}`),
      fact("mean", seconds(s.mean)), fact("stddev", seconds(s.stddev)),
      fact("min", seconds(s.min)), fact("p50", seconds(s.p50)), fact("p90", seconds(s.p90)),
      fact("p95", seconds(s.p95)), fact("p99", seconds(s.p99)), fact("max", seconds(s.max)),
      fact("cached", bt.cached ? "yes (same height)" : "no"));
  } catch (e) {
    if (generation === btGeneration) showError($("bt-error"), e);
  }
}

const fact = (k, v) => [h("dt", { text: k }), h("dd", { "data-fact": k, text: v })];

// Splits from..to into `n` contiguous segments sharing their ends (the throughput
// fencepost: each counts blocks after its start mark, so the sums cover from+1..to once).
export function segments(from, to, n) {
  const count = Math.max(1, Math.min(n, to - from));
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push([from + Math.round(((to - from) * i) / count), from + Math.round(((to - from) * (i + 1)) / count)]);
  }
  return out;
}

async function throughput() {
  const chain = $("tp-chain").value;
  const from = Number($("tp-from").value), to = Number($("tp-to").value), n = Number($("tp-segments").value);
  showError($("tp-error"), null);
  if (!(to > from)) return showError($("tp-error"), "to height must be above from height");
  rangeChosen = true; // keep the range that was measured on screen
  const parts = segments(from, to, n);
  const results = [];
  const button = $("tp-form").querySelector("button");
  button.disabled = true;
  try {
    for (const [i, [a, b]] of parts.entries()) {
      $("tp-progress").textContent = `measuring segment ${i + 1} of ${parts.length} (heights ${a}–${b})…`;
      results.push(await measure(chain, a, b));
    }
    $("tp-progress").textContent = "";
    showThroughput(chain, from, to, results);
  } catch (e) {
    $("tp-progress").textContent = "";
    showError($("tp-error"), e);
  } finally {
    button.disabled = false;
  }
}

// One throughput job, polled until it ends.
async function measure(chainId, fromHeight, toHeight) {
  const job = await post("/utils/metrics/throughput", { chainId, fromHeight, toHeight });
  for (;;) {
    const view = await get(`/utils/jobs/${encodeURIComponent(job.jobId)}`);
    if (view.status === "succeeded") return view.result;
    if (view.status === "failed" || view.status === "canceled") {
      throw new Error(`${fromHeight}–${toHeight}: ${view.error ? `${view.error.code}: ${view.error.message}` : view.status}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

function showThroughput(chain, from, to, results) {
  const txs = results.reduce((a, r) => a + r.txCount, 0);
  const duration = results.reduce((a, r) => a + r.durationSeconds, 0);
  const longest = results.map((r) => r.longestGap).filter(Boolean).sort((x, y) => y.seconds - x.seconds)[0];
  const halts = results.flatMap((r) => r.halts ?? []);
  const tps = duration > 0 ? txs / duration : 0;
  const items = results.map((r) => ({ label: `${r.toHeight}`, value: r.tps ?? 0 }));
  const summary = `${chain}, heights ${from}–${to}: ${txs} txs in ${num(duration, 1)} s of header time, ${num(tps, 3)} tx/s overall; ` +
    `per segment ${results.map((r) => `${r.fromHeight}–${r.toHeight} ${num(r.tps ?? 0, 3)} tx/s`).join(", ")}.`;
  const chart = bars(items, { title: `Throughput of ${chain} per segment (tx/s)`, desc: summary, unit: "tx/s" });
  chart.setAttribute("data-range", `${from}-${to}-${results.length}`);
  fill($("tp-chart"), chart);
  $("tp-summary").textContent = summary;
  fill($("tp-numbers"),
    fact("heights", `${from}–${to} (${results.length} segments)`),
    fact("txCount", `${txs} (blocks ${from + 1}–${to})`),
    fact("duration", `${num(duration, 3)} s`),
    fact("tps", num(tps, 3)),
    fact("longest gap", longest ? `${seconds(longest.seconds)} (${longest.fromHeight}→${longest.toHeight})` : "–"),
    fact("halts", String(halts.length)),
    fact("upstream calls", String(results.reduce((a, r) => a + (r.upstreamCalls ?? 0), 0))));
}
