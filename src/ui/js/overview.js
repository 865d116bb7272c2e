// Overview: chains (height, recent block times, catching up, mempool), the relayer, IBC
// health per gwc↔chain pair and the pods, refreshed by polling the read routes. Every read
// is served from the BFF's cache or memos (status, blocktime, /system/ibc), so a page left
// open adds no load on the Kubernetes API server.

import { get } from "./api.js";
import { $, h, fill, badge, seconds, localTime, clock, hint } from "./dom.js";
import { sparkline } from "./charts.js";

const TICK_MS = 2000;
const IBC_EVERY = 3; // ticks: /system/ibc is memoised for 2s and costs an exec when stale
const SPARK_WINDOW = 30;

let tick = 0;
let chainIds = [];
const listeners = [];

// Calls `fn(chains)` with `[{chainId, latestHeight}]` after every refresh.
export function onChains(fn) {
  listeners.push(fn);
}

export function start() {
  const loop = async () => {
    if (!document.hidden) await refresh();
    setTimeout(loop, TICK_MS);
  };
  loop();
}

async function refresh() {
  try {
    const [list, status] = await Promise.all([get("/chains?include=meta"), get("/system/status")]);
    const heights = new Map(status.chains.map((c) => [c.chainId, c]));
    const ids = list.items.map((c) => c.chainId);
    if (ids.join() !== chainIds.join()) buildChainRows(ids);
    chainIds = ids;
    const pods = new Map(status.pods.filter((p) => p.instance).map((p) => [p.instance, p]));
    for (const id of ids) updateChainRow(id, heights.get(id), pods.get(id));
    await Promise.all(ids.map((id) => Promise.all([updateBlocktime(id), updateMempool(id)])));
    showRelayer(status.relayer);
    showPods(status.pods);
    if (tick++ % IBC_EVERY === 0) await showIbc();
    const chains = ids.map((id) => ({ chainId: id, latestHeight: heights.get(id)?.latestHeight ?? null }));
    listeners.forEach((fn) => fn(chains));
    $("freshness").textContent = `updated ${clock(new Date())} · every ${TICK_MS / 1000}s`;
  } catch (e) {
    $("freshness").textContent = `not updated: ${e.message} (retrying)`;
  }
}

function buildChainRows(ids) {
  const rows = ids.map((id) =>
    h("tr", { "data-chain": id },
      h("th", { scope: "row", text: id }),
      h("td", { class: "num height", "data-testid": `height-${id}` }),
      h("td", { class: "blocktime" }),
      h("td", { class: "catching" }),
      h("td", { class: "num mempool" }),
      h("td", { class: "pod" })));
  fill($("chains").tBodies[0], rows);
}

const cell = (id, cls) => $("chains").querySelector(`tr[data-chain="${CSS.escape(id)}"] .${cls}`);

function updateChainRow(id, chain, pod) {
  cell(id, "height").textContent = chain?.latestHeight ?? "–";
  const catching = chain?.error ? badge("unreachable", "bad") : chain ? badge(chain.catchingUp ? "yes" : "no", chain.catchingUp ? "warn" : "ok") : "–";
  fill(cell(id, "catching"), catching);
  fill(cell(id, "pod"), pod ? badge(pod.ready ? "ready" : pod.phase, pod.ready ? "ok" : "warn") : "–");
}

async function updateBlocktime(id) {
  try {
    const bt = await get(`/chains/${encodeURIComponent(id)}/blocktime?window=${SPARK_WINDOW}&percentiles=50&include=intervals`);
    const label = `${id}: seconds per block over blocks ${bt.range.fromHeight}–${bt.range.toHeight}`;
    fill(cell(id, "blocktime"), h("span", { class: "spark" },
      sparkline(bt.intervals, { label }),
      h("span", { class: "spark-range", text: `${seconds(bt.stats.min)}–${seconds(bt.stats.max)}` }),
      h("span", { text: `mean ${seconds(bt.stats.mean)}` })));
  } catch (e) {
    // A young chain has fewer blocks than the window: say so instead of a chart.
    fill(cell(id, "blocktime"), h("span", { class: "muted", text: e.code === "VALIDATION_ERROR" ? "too few blocks yet" : e.code }));
  }
}

async function updateMempool(id) {
  try {
    const m = await get(`/chains/${encodeURIComponent(id)}/mempool`);
    cell(id, "mempool").textContent = `${m.pendingCount} tx`;
  } catch (e) {
    cell(id, "mempool").textContent = e.code;
  }
}

function showRelayer(r) {
  const running = r.running === null || r.running === undefined ? badge("not observed yet", "") : badge(r.running ? "running" : "not running", r.running ? "ok" : "bad");
  fill($("relayer"),
    h("dt", { text: "Pod" }), h("dd", { class: "mono", text: r.pod ?? "none" }),
    h("dt", { text: "Pod ready" }), h("dd", {}, badge(r.podReady ? "ready" : "not ready", r.podReady ? "ok" : "bad")),
    h("dt", { text: "rly start" }), h("dd", { "data-testid": "rly-running" }, running),
    h("dt", { text: "Observed" }), h("dd", {}, r.observedAt ? [localTime(r.observedAt), ` (${Math.round(r.observationAgeSeconds ?? 0)} s ago)`] : "–"),
    r.hint ? [h("dt", { text: "Hint" }), h("dd", { class: "muted" }, hint(r.hint))] : []);
}

function showPods(pods) {
  fill($("pods").tBodies[0], pods.map((p) =>
    h("tr", {},
      h("th", { scope: "row", class: "mono", text: p.name }),
      h("td", { text: p.component ?? "–" }),
      h("td", {}, badge(p.phase)),
      h("td", {}, badge(p.ready ? "ready" : "not ready", p.ready ? "ok" : "bad")),
      h("td", { class: "num", text: p.restarts }))));
}

const backlog = (dir) => `${dir.packets.count} packets / ${dir.acks.count} acks`;

/** Seconds as the two largest units: "13 d 23 h", "4 h 10 min", "42 s". */
function duration(secs) {
  const units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
  const parts = [];
  let left = secs;
  for (const [name, size] of units) {
    if (left >= size || (name === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(left / size)} ${name}`);
      left %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** The sooner-expiring of a pair's two clients, with both in the title. */
function clientExpiry(p) {
  const ends = [p.gwc, p.counterparty].filter((e) => e?.trustingPeriodLeftSeconds != null);
  if (ends.length === 0) return h("td", { class: "num", text: "–" });
  const soonest = Math.min(...ends.map((e) => e.trustingPeriodLeftSeconds));
  const title = ends.map((e) => `${e.clientId} on ${e.chainId}: ${duration(e.trustingPeriodLeftSeconds)}`).join("; ");
  return h("td", { class: "num client-expiry", title, text: duration(soonest) });
}

async function showIbc() {
  try {
    const ibc = await get("/system/ibc");
    fill($("ibc-verdict"), ibc.verdict);
    $("ibc-verdict").className = `badge ${{ relaying: "ok", degraded: "warn", down: "bad" }[ibc.verdict] ?? ""}`;
    fill($("ibc-reasons"), ibc.reasons.map((r) => h("li", { text: r })));
    fill($("ibc").tBodies[0], ibc.pairs.map((p) =>
      h("tr", { "data-pair": p.chainId },
        h("th", { scope: "row", text: `gwc ↔ ${p.chainId}` }),
        h("td", {}, badge(p.verdict, { relaying: "ok", degraded: "warn", down: "bad" }[p.verdict])),
        h("td", { class: "num", text: backlog(p.gwcToChain) }),
        h("td", { class: "num", text: backlog(p.chainToGwc) }),
        clientExpiry(p))));
  } catch (e) {
    fill($("ibc-verdict"), "unknown");
    fill($("ibc-reasons"), h("li", { text: e.message }));
  }
}
