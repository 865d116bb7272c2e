// IBC: the packets gwc's gateway channels sent in its latest blocks (the packets job,
// `POST /utils/observe/packets`, followed over its log to its end), per pair the three hops'
// latency histograms with p50/p95/p99 marked and written, the accounting
// sent = acked + timed out + pending, and the pending packets with their ages.

import { get, post, followLog } from "./api.js";
import { $, h, fill, badge, showError, seconds, num, announce } from "./dom.js";
import { binned } from "./charts.js";

const MARKS = ["p50", "p95", "p99"];
const HOPS = [
  ["sendToRecv", "send → recv", "gwc's send to the receipt on the chain"],
  ["recvToAck", "recv → ack", "the receipt to the acknowledgement back on gwc"],
  ["sendToAck", "send → ack", "gwc's send to the acknowledgement on gwc"],
];

let gwcHeight = 0;
let chainIds = [];
let visible = false;
let defaultRun = false;
// Only the newest run is drawn (an earlier one may end later); its log follow is closed.
let generation = 0;
let following = null;

export function init() {
  $("pk-form").addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
}

export function shown() {
  visible = true;
  runDefault();
}

export function hidden() {
  visible = false;
}

export function setChains(chains) {
  gwcHeight = Number(chains.find((c) => c.chainId === "gwc")?.latestHeight ?? 0);
  chainIds = chains.map((c) => c.chainId).filter((c) => c !== "gwc");
  runDefault();
}

// The default window is measured once, the first time the view is open with gwc's height known.
function runDefault() {
  if (defaultRun || !visible || !gwcHeight) return;
  defaultRun = true;
  run();
}

async function run() {
  const mine = ++generation;
  following?.close();
  following = null;
  showError($("pk-error"), null);
  const window = Math.max(1, Number($("pk-window").value));
  const toHeight = gwcHeight;
  if (!toHeight) return showError($("pk-error"), "gwc's height is not known yet: see the Overview");
  const fromHeight = Math.max(1, toHeight - window + 1);
  $("pk-result").dataset.job = "";
  setStatus("queued", `blocks ${fromHeight}–${toHeight}`);
  $("pk-progress").textContent = `accounting the packets gwc sent in blocks ${fromHeight}–${toHeight}…`;
  try {
    const job = await post("/utils/observe/packets", { fromHeight, toHeight });
    if (mine !== generation) return;
    setStatus(job.status, `blocks ${fromHeight}–${toHeight} · ${job.jobId}`);
    const view = await finished(job.jobId, () => mine !== generation);
    if (!view || mine !== generation) return;
    $("pk-progress").textContent = "";
    if (view.status === "succeeded") show(view.result, job.jobId);
    else showError($("pk-error"), view.error ? `${view.error.code}: ${view.error.message}` : `the packets job ${view.status}`);
    setStatus(view.status, `blocks ${fromHeight}–${toHeight} · ${job.jobId}`);
    if (view.status !== "succeeded") return;
    announce(`IBC packets of blocks ${fromHeight}–${toHeight}: ${view.result.accounting.sent} sent`);
  } catch (e) {
    if (mine !== generation) return;
    $("pk-progress").textContent = "";
    setStatus("failed", "");
    showError($("pk-error"), e);
  }
}

function setStatus(status, text) {
  fill($("pk-status"), status);
  $("pk-status").className = badge(status).className;
  $("pk-job").textContent = text;
}

// Follows the job's log (its progress lines shown) until it ends, then reads the job; if the
// stream broke early the job is read again until it is over.
async function finished(id, stale) {
  await new Promise((resolve) => {
    following = followLog("utils", id, (line) => {
      if (!stale()) $("pk-progress").textContent = line;
    }, resolve);
  });
  for (;;) {
    if (stale()) return null;
    const view = await get(`/utils/jobs/${encodeURIComponent(id)}`);
    if (!["queued", "running"].includes(view.status)) return view;
    await new Promise((r) => setTimeout(r, 300));
  }
}

const fact = (k, v) => [h("dt", { text: k }), h("dd", { "data-fact": k, text: v })];
const accounting = (a) => `sent ${a.sent} = acked ${a.acked} + timed out ${a.timedOut} + pending ${a.pending}`;

function show(result, jobId) {
  const from = result.fromHeight, to = result.toHeight;
  const a = result.accounting;
  $("pk-result").dataset.job = jobId;
  $("pk-result").dataset.range = `${from}-${to}`;
  fill($("pk-accounting"),
    fact("blocks", `${from}–${to} of gwc (latest ${result.latestHeight})`),
    fact("accounting", accounting(a)),
    fact("relayers", Object.entries(result.relayers ?? {}).map(([who, n]) => `${who}: ${n}`).join(", ") || "–"),
    fact("redundant relays", String(result.redundantRelays ?? 0)),
    fact("blocks read", `${result.blocksRead} (${result.upstreamRequests} upstream requests)`));
  const seen = new Set(result.pairs.map((p) => p.chainId));
  const quiet = chainIds.filter((c) => !seen.has(c));
  const pairs = result.pairs.map(pairCard);
  if (result.pairs.length === 0) {
    pairs.push(h("p", { class: "empty", "data-empty": "packets" },
      `No packets sent on gwc's gateway channels in blocks ${from}–${to}: `,
      h("a", { href: "#experiments", text: "run an upload" }),
      " (Experiments), then run this again or widen the window."));
  } else if (quiet.length) {
    pairs.push(h("p", { class: "muted", "data-empty": "pairs" },
      `No packets from gwc to ${quiet.join(", ")} in blocks ${from}–${to}.`));
  }
  fill($("pk-pairs"), pairs);
  showPending(result, from, to);
}

function pairCard(p) {
  const id = `pk-pair-${p.chainId}`;
  return h("article", { class: "card pair", "data-pair": p.chainId, "data-channel": p.srcChannel, "aria-labelledby": id },
    h("h3", { id, text: `gwc → ${p.chainId} (${p.srcChannel})` }),
    h("p", { class: "pair-accounting", text: `${accounting(p.accounting)}; redundant relays ${p.redundantRelays}` }),
    h("div", { class: "hops" }, HOPS.map(([key, label, what]) => hopFigure(p, key, label, what))));
}

function hopFigure(p, key, label, what) {
  const hop = p.hops[key];
  const s = hop.seconds, b = hop.blocks;
  const captionId = `pk-${p.chainId}-${key}-summary`;
  if (!s || !hop.histogram?.length) {
    const waiting = p.accounting.pending ? `; ${p.accounting.pending} pending` : "";
    return h("figure", { class: "chart hop", "data-hop": key },
      h("figcaption", { class: "muted", text: `${label}: no packet made this hop in the window${waiting}.` }));
  }
  const summary = `gwc → ${p.chainId}, ${label} (${what}): ${s.count} packet(s); ` +
    `p50 ${seconds(s.p50)}, p95 ${seconds(s.p95)}, p99 ${seconds(s.p99)}, max ${seconds(s.max)}` +
    (b ? `; in blocks p50 ${num(b.p50, 1)}, p95 ${num(b.p95, 1)}, p99 ${num(b.p99, 1)}.` : ".");
  const chart = binned(
    hop.histogram.map((x) => ({ from: x.fromSeconds, to: x.toSeconds, n: x.count })),
    MARKS.map((k) => ({ key: k, value: s[k] })),
    { title: `${label} latency, gwc → ${p.chainId}`, desc: summary, what: "packet(s)", axis: "seconds", width: 420, height: 200 });
  return h("figure", { class: "chart hop", "data-hop": key, "aria-describedby": captionId },
    chart,
    h("figcaption", { id: captionId, class: "visually-hidden", text: summary }),
    h("dl", { class: "facts numbers" },
      fact("hop", label), fact("count", String(s.count)),
      ...MARKS.map((k) => fact(k, `${seconds(s[k])}${b ? ` (${num(b[k], 1)} blocks)` : ""}`)),
      fact("max", seconds(s.max))));
}

function showPending(result, from, to) {
  const pending = result.packets.filter((p) => p.ageBlocks !== null && p.ageBlocks !== undefined);
  const rows = pending.map((p) =>
    h("tr", { "data-pending": `${p.srcChannel}/${p.sequence}` },
      h("th", { scope: "row", text: `gwc → ${p.chainId}` }),
      h("td", { class: "mono", text: p.srcChannel }),
      h("td", { class: "num sequence", text: p.sequence }),
      h("td", {}, badge(p.state, "warn")),
      h("td", { class: "num", text: p.sendHeight }),
      h("td", { class: "num age-blocks", text: p.ageBlocks }),
      h("td", { class: "num age-seconds", text: seconds(p.ageSeconds) })));
  if (rows.length === 0) {
    rows.push(h("tr", {}, h("td", { colspan: 7, class: "muted", "data-empty": "pending",
      text: result.accounting.sent
        ? `No pending packets: every packet sent in blocks ${from}–${to} is acknowledged or timed out.`
        : `No pending packets: none was sent in blocks ${from}–${to}.` })));
  }
  fill($("pk-pending").tBodies[0], rows);
}
