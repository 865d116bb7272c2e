// Experiments: the upload experiment (`POST /utils/experiments/upload`) from a form, its steps
// followed live over the log's SSE, then its sessions as a table, phase times per session and
// disk growth per chain as charts, and the CSV and JSON to download. Opening the view shows
// the latest experiment.

import { get, post, followLog } from "./api.js";
import { $, h, fill, badge, showError, announce } from "./dom.js";
import { grouped, bars, histogram } from "./charts.js";

const PHASES = ["prepMs", "clientUploadMs", "deployMs", "fetchMs"];
let following = null;

export function init() {
  $("ex-form").addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
}

export async function shown() {
  if (following) return;
  try {
    const { items } = await get("/utils/jobs?limit=1&type=utils.experiments.upload");
    if (items[0]) follow(items[0].jobId);
  } catch (e) {
    showError($("ex-error"), e);
  }
}

const num = (id) => Number($(id).value);

async function run() {
  showError($("ex-error"), null);
  const body = {
    files: { count: num("ex-count"), sizeBytes: num("ex-size"), seed: num("ex-seed") },
    fragmentBytes: num("ex-fragment"), fdscCount: num("ex-fdsc"), repetitions: num("ex-reps"),
  };
  try {
    const job = await post("/utils/experiments/upload", body);
    announce(`upload experiment ${job.jobId} ${job.status}`);
    follow(job.jobId);
  } catch (e) {
    showError($("ex-error"), e);
  }
}

function follow(id) {
  following?.close();
  fill($("ex-downloads"));
  let timer = null;
  const refresh = () => {
    if (timer) return;
    timer = setTimeout(() => { timer = null; show(id); }, 250);
  };
  show(id);
  following = followLog("utils", id, refresh, async () => {
    following = null;
    await show(id);
  });
}

async function show(id) {
  try {
    const job = await get(`/utils/jobs/${encodeURIComponent(id)}`);
    fill($("ex-status"), job.status);
    $("ex-status").className = badge(job.status).className;
    $("ex-progress").max = job.progress.totalSteps || 1;
    $("ex-progress").value = job.progress.completedSteps;
    fill($("ex-steps"), job.steps.map((s) =>
      h("li", { "data-step": s.name, "data-status": s.status },
        h("span", { class: "name", text: `${s.name} ` }), badge(s.status),
        s.message ? h("span", { class: "msg", text: s.message }) : null)));
    showError($("ex-error"), job.error ? `${job.error.code}: ${job.error.message}` : null);
    if (job.result?.sessions) showResult(id, job.result);
    return job;
  } catch (e) {
    showError($("ex-error"), e);
    return null;
  }
}

const ms = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(0));

function showResult(id, result) {
  const sessions = result.sessions;
  fill($("ex-sessions").tBodies[0], sessions.map((s) => {
    const grew = Object.entries(s.diskGrowthBytes ?? {}).filter(([c]) => c.startsWith("fdsc")).reduce((a, [, v]) => a + v, 0);
    return h("tr", { "data-session": s.version },
      h("th", { scope: "row", class: "mono", text: s.version }),
      h("td", {}, badge(s.state === "SESSION_STATE_CLOSED_SUCCESS" ? "closed" : s.state, s.state === "SESSION_STATE_CLOSED_SUCCESS" ? "ok" : "bad")),
      ...PHASES.map((p) => h("td", { class: "num", "data-phase": p, text: ms(s.phases?.[p]) })),
      h("td", { class: "render-equal", text: String(s.renderEqual) }),
      h("td", { class: "num", text: s.initToCloseBlocks ?? "–" }),
      h("td", { class: "num", text: s.packets ? `${s.packets.acked} / ${s.packets.sent}` : "–" }),
      h("td", { class: "num", text: `${grew} B` }));
  }));
  const groups = sessions.map((s) => ({ label: s.version, values: Object.fromEntries(PHASES.map((p) => [p, s.phases?.[p] ?? 0])) }));
  const summary = `Phase times of ${sessions.length} session(s): ` +
    PHASES.map((p) => `${p} p50 ${ms(result.summary?.[p]?.p50)} ms, max ${ms(result.summary?.[p]?.max)} ms`).join("; ") + ".";
  fill($("ex-phases"), grouped(groups, PHASES, { title: "Phase times per session", desc: summary, unit: "ms" }));
  $("ex-phases-summary").textContent = summary;
  const chains = {};
  for (const s of sessions) for (const [c, v] of Object.entries(s.diskGrowthBytes ?? {})) chains[c] = (chains[c] ?? 0) + v;
  const items = Object.entries(chains).map(([c, v]) => ({ label: c, value: v }));
  const disk = `Disk growth summed over the sessions: ${items.map((i) => `${i.label} ${i.value} B`).join(", ")}.`;
  if (items.length) fill($("ex-disk"), bars(items, { title: "Disk growth per chain", desc: disk, unit: "bytes", axis: "chain" }));
  $("ex-disk-summary").textContent = disk;
  showHops(sessions);
  fill($("ex-downloads"),
    h("a", { href: `/api/v1/utils/jobs/${encodeURIComponent(id)}/result.csv`, download: `${id}.csv`, id: "ex-csv", text: "Download CSV" }),
    h("a", { href: `/api/v1/utils/jobs/${encodeURIComponent(id)}`, download: `${id}.json`, id: "ex-json", text: "Download JSON" }));
}

// The p-th percentile of sorted `xs`, linear between ranks (as the BFF's statistics).
function percentile(xs, p) {
  const at = (p / 100) * (xs.length - 1), i = Math.floor(at);
  return i + 1 < xs.length ? xs[i] + (xs[i + 1] - xs[i]) * (at - i) : xs[i];
}

// Every packet's send → ack time over all sessions (commit clock, from the chains' events),
// as a histogram with p50/p95/p99 marked.
function showHops(sessions) {
  const hops = sessions.flatMap((s) => (s.packets?.items ?? [])
    .filter((p) => p.sendTime && p.ackTime)
    .map((p) => (Date.parse(p.ackTime) - Date.parse(p.sendTime)) / 1000));
  if (!hops.length) {
    fill($("ex-hops"));
    $("ex-hops-summary").textContent = "No packet of these sessions was read from the chains' events.";
    return;
  }
  const sorted = [...hops].sort((a, b) => a - b);
  const marks = ["p50", "p95", "p99"].map((k) => ({ key: k, value: percentile(sorted, Number(k.slice(1))) }));
  const summary = `Send → ack of ${hops.length} packet(s) over ${sessions.length} session(s): ` +
    marks.map((m) => `${m.key} ${m.value.toFixed(3)} s`).join(", ") + `, max ${sorted[sorted.length - 1].toFixed(3)} s.`;
  fill($("ex-hops"), histogram(hops, marks, { title: "Packet hops, send → ack", desc: summary, what: "packet(s)", axis: "seconds", width: 420, height: 220 }));
  $("ex-hops-summary").textContent = summary;
}
