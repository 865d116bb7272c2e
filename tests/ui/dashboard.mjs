// The dashboard in a real browser (Debian's chromium driven by playwright-core), against a
// running `cryptomeria-bff demo` at $BFF. Run by tests/it/ui.rs; exits non-zero on the first
// failed expectation and prints one JSON line of what it saw. Screenshots go to $ARTIFACTS.
//
// Checks: the four chains listed with rising heights, sparklines scaled to their written range,
// hints as links; Start (confirmed in its dialog) shows the job's steps progressing to
// succeeded without a reload, with local millisecond times, and a fresh page on Operations
// opens that latest job; Measurements measures its defaults on first open, then the
// block-time histogram for window=50 and throughput bars; an upload experiment run from the
// Experiments form to its two closed sessions, charts and CSV; the IBC view's hop histograms per
// pair with p50/p95/p99 as the packets job's result has them, and, with rly killed (kubectl
// exec on $KUBECONFIG), the next upload's packets pending with their ages; keyboard tabs; and
// no request leaves the BFF's origin.

import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";

const BFF = process.env.BFF ?? "http://127.0.0.1:8080";
const ARTIFACTS = process.env.ARTIFACTS ?? "target/ui-artifacts";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/lib/chromium/chromium";
// The flags the suite runs Chromium with, exactly; the pipe and the profile directory are
// how playwright talks to it (added by hand because every default argument is switched off).
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];
const STEP_TIMEOUT = 60_000;

mkdirSync(ARTIFACTS, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "bff-ui-profile-"));
const started = Date.now();
const timings = {};
const mark = (name) => { timings[name] = Date.now() - started; };
// A finished job's view read over HTTP by the test itself, not through the page.
const jobView = async (id) => (await (await fetch(`${BFF}/api/v1/utils/jobs/${encodeURIComponent(id)}`)).json()).data;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  ignoreDefaultArgs: true,
  args: [...FLAGS, "--remote-debugging-pipe", `--user-data-dir=${profile}`, "--no-startup-window"],
  timeout: STEP_TIMEOUT,
});
mark("launched");
const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
const page = await context.newPage();
page.setDefaultTimeout(STEP_TIMEOUT);

// Every request the page makes, and every script error or CSP refusal it logs.
const origin = new URL(BFF).origin;
const requests = [];
const problems = [];
page.on("request", (r) => requests.push(r.url()));
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });

// gwc's height as the Overview shows it.
const gwcHeight = async () => Number(await page.textContent("#chains tr[data-chain='gwc'] .height"));

// Waits for the IBC view's run under way to draw its result, and returns that job's view
// read over HTTP.
async function ibcRun() {
  await page.waitForFunction(() => ["succeeded", "failed", "canceled"].includes(document.getElementById("pk-status").textContent),
    null, { timeout: 120_000 });
  assert.equal(await page.textContent("#pk-status"), "succeeded", await page.textContent("#pk-error"));
  const id = await page.getAttribute("#pk-result", "data-job");
  const view = await jobView(id);
  assert.equal(view.status, "succeeded", JSON.stringify(view));
  return view;
}

try {
  // ----- Overview: four chains, heights rising --------------------------------------------
  await page.goto(`${BFF}/`);
  await page.waitForFunction(() => document.querySelectorAll("#chains tr[data-chain] .height").length === 4
    && [...document.querySelectorAll("#chains .height")].every((c) => /^\d+$/.test(c.textContent)));
  const heights = () => page.$$eval("#chains tr[data-chain]", (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.chain, Number(r.querySelector(".height").textContent)])));
  const first = await heights();
  assert.deepEqual(Object.keys(first), ["gwc", "mdsc", "fdsc-0", "fdsc-1"], "the four chains, in order");
  await page.waitForFunction((before) => [...document.querySelectorAll("#chains tr[data-chain]")]
    .every((r) => Number(r.querySelector(".height").textContent) > before[r.dataset.chain]), first);
  const later = await heights();
  // Sparklines, the relayer, IBC health and pods are drawn from their routes.
  await page.waitForSelector("#chains tr[data-chain='gwc'] .blocktime svg polyline");
  // Sparklines are scaled to their own range, and the range is written beside them.
  const spark = await page.$eval("#chains tr[data-chain='gwc'] .blocktime", (c) => ({
    min: Number(c.querySelector("svg").dataset.min), max: Number(c.querySelector("svg").dataset.max),
    range: c.querySelector(".spark-range").textContent,
  }));
  assert.ok(spark.min > 0 && spark.max >= spark.min, `sparkline range: ${JSON.stringify(spark)}`);
  assert.equal(spark.range, `${spark.min.toFixed(3)} s–${spark.max.toFixed(3)} s`);
  // The relayer's hint names a route as a link to it.
  assert.equal(await page.getAttribute("#relayer a[href='/api/v1/system/ibc']", "target"), "_blank");
  await page.waitForSelector("#ibc tr[data-pair='mdsc']");
  await page.waitForSelector("#pods tbody tr");
  mark("overview");
  await page.screenshot({ path: join(ARTIFACTS, "overview.png"), fullPage: true });

  // ----- Keyboard: arrow keys move between the views ------------------------------------------
  await page.focus("#tab-overview");
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.evaluate(() => document.activeElement.id), "tab-operations");
  assert.equal(await page.isVisible("#view-operations"), true);
  assert.equal(await page.isVisible("#view-overview"), false);

  // ----- Operations: Start, confirmed, followed live to succeeded without a reload ------------
  await page.waitForSelector("#preflight tr[data-check='relayerReady']");
  await page.evaluate(() => { window.__sameDocument = true; });
  // Record every distinct state of the steps list as the page redraws it.
  await page.evaluate(() => {
    window.__stepStates = [];
    const record = () => {
      const state = [...document.querySelectorAll("#job-steps li")].map((li) => `${li.dataset.step}:${li.dataset.status}`).join(" ");
      if (state && state !== window.__stepStates.at(-1)) window.__stepStates.push(state);
    };
    new MutationObserver(record).observe(document.getElementById("job-steps"), { childList: true, subtree: true });
  });
  await page.click("#do-start");
  await page.waitForSelector("#confirm[open]");
  assert.match(await page.textContent("#confirm-route"), /POST \/api\/v1\/system\/start/);
  await page.click("#confirm-ok");
  await page.waitForFunction(() => document.getElementById("job-status").textContent === "succeeded", null, { timeout: 120_000 });
  const stepStates = await page.evaluate(() => window.__stepStates);
  const finalSteps = await page.$$eval("#job-steps li", (lis) => lis.map((li) => [li.dataset.step, li.dataset.status]));
  assert.equal(await page.evaluate(() => window.__sameDocument), true, "no reload");
  assert.deepEqual(finalSteps.map(([s]) => s), ["discover", "initRelayer", "connectAll", "startRelayer", "waitIbcReady"]);
  assert.ok(finalSteps.every(([, st]) => st === "succeeded" || st === "skipped"), `final steps: ${finalSteps}`);
  assert.ok(stepStates.some((s) => s.includes(":running")), `a step was seen running: ${stepStates.join(" | ")}`);
  assert.ok(stepStates.length >= 3, `the steps progressed through several states: ${stepStates.join(" | ")}`);
  assert.match(await page.textContent("#job-log"), /step=waitIbcReady/);
  // Job times are the reader's local clock to the millisecond.
  assert.match(await page.textContent("#job-title time"), /\d{2}:\d{2}:\d{2}[.,]\d{3}/);
  const startJob = (await page.textContent("#job-title")).split(" · ")[1];
  mark("start job");
  await page.screenshot({ path: join(ARTIFACTS, "operations.png"), fullPage: true });

  // A fresh page on Operations opens the latest job, with its steps.
  const again = await context.newPage();
  again.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  await again.goto(`${BFF}/#operations`);
  await again.waitForFunction((id) => document.getElementById("job-title").textContent.includes(id)
    && document.getElementById("job-status").textContent === "succeeded", startJob);
  assert.equal(await again.locator("#job-steps li").count(), 5);
  await again.close();

  // ----- Overview again: the started system shows rly running and every pair relaying ---------
  await page.click("#tab-overview");
  await page.waitForFunction(() => document.querySelector("[data-testid='rly-running']").textContent === "running"
    && document.getElementById("ibc-verdict").textContent === "relaying");
  assert.equal(await page.locator("#ibc tr[data-pair] .badge", { hasText: "relaying" }).count(), 3);
  // Fresh clients (rly's default trusting period, 17 d 20 h): the sooner of each pair's two
  // expires in 17 d 19 h or 17 d 20 h.
  const expiry = await page.$$eval("#ibc tr[data-pair] .client-expiry", (cells) => cells.map((c) => c.textContent));
  assert.equal(expiry.length, 3, `one expiry per pair: ${expiry}`);
  assert.ok(expiry.every((t) => /^17 d (19|20) h$/.test(t)), `client expiry shown: ${expiry}`);
  mark("relaying shown");
  await page.screenshot({ path: join(ARTIFACTS, "overview-started.png"), fullPage: true });

  // ----- Measurements: histogram for window=50 with the percentiles marked; throughput --------
  await page.click("#tab-measurements");
  // The first open measures the defaults without a click.
  await page.waitForSelector("#bt-chart svg rect.bar", { state: "attached" });
  await page.waitForSelector("#tp-chart svg rect.bar", { state: "attached" });
  assert.match(await page.textContent("#tp-summary"), /^gwc, heights \d+–\d+:/);
  // A full window of 50 blocks needs 50 headers after genesis.
  await page.waitForFunction(() => Number(document.querySelector("#chains tr[data-chain='gwc'] .height").textContent) > 50);
  await page.selectOption("#bt-chain", "gwc");
  await page.fill("#bt-window", "50");
  await page.click("#bt-form button[type=submit]");
  await page.waitForSelector("#bt-chart svg[data-window='50'] rect.bar", { state: "attached" });
  assert.equal(await page.textContent("#bt-numbers [data-fact='window']"), "50 blocks, 49 intervals");
  for (const p of ["p50", "p95", "p99"]) {
    assert.equal(await page.locator(`#bt-chart line.mark.${p}:not(.legend)`).count(), 1, `${p} marked`);
  }
  const bars = await page.$$eval("#bt-chart rect.bar title", (ts) => ts.map((t) => Number(t.textContent.match(/: (\d+) block/)[1])));
  assert.equal(bars.reduce((a, b) => a + b, 0), 49, "every interval in a bin");
  assert.match(await page.textContent("#bt-summary"), /49 block intervals/);

  // From genesis: the range holds the start job's transactions on gwc (links, registrations).
  const tip = await page.$eval("#chains tr[data-chain='gwc'] .height", (c) => c.textContent);
  await page.fill("#tp-from", "1");
  await page.fill("#tp-to", tip);
  await page.fill("#tp-segments", "4");
  await page.click("#tp-form button[type=submit]");
  await page.waitForSelector(`#tp-chart svg[data-range='1-${tip}-4'] rect.bar`, { state: "attached" });
  assert.equal(await page.locator("#tp-chart rect.bar").count(), 4);
  assert.match(await page.textContent("#tp-numbers [data-fact='tps']"), /^\d+\.\d{3}$/);
  const txCount = Number((await page.textContent("#tp-numbers [data-fact='txCount']")).split(" ")[0]);
  assert.ok(txCount > 0, `the start job's transactions are counted: ${txCount}`);
  assert.equal(await page.textContent("#tp-numbers [data-fact='heights']"), `1–${tip} (4 segments)`);
  mark("measurements");
  await page.screenshot({ path: join(ARTIFACTS, "measurements.png"), fullPage: true });

  // ----- Experiments: an upload experiment from the form, followed to its sessions ------------
  await page.click("#tab-experiments");
  const gwcBefore = await gwcHeight();
  await page.fill("#ex-count", "2");
  await page.fill("#ex-size", "150000");
  // Fragments of 40 kB: several packets per data chain, for the IBC view's histograms.
  await page.fill("#ex-fragment", "40000");
  // Two sessions: packets sent at different heights, so the IBC view's hops vary.
  await page.fill("#ex-reps", "2");
  await page.click("#ex-run");
  await page.waitForFunction(() => document.getElementById("ex-status").textContent === "succeeded", null, { timeout: 180_000 });
  const rows = await page.$$eval("#ex-sessions tbody tr[data-session]", (trs) => trs.map((tr) => ({
    state: tr.querySelector(".badge").textContent, equal: tr.querySelector(".render-equal").textContent,
    deploy: Number(tr.querySelector("[data-phase='deployMs']").textContent),
  })));
  assert.equal(rows.length, 2, `two sessions: ${JSON.stringify(rows)}`);
  for (const row of rows) {
    assert.deepEqual([row.state, row.equal], ["closed", "true"]);
    assert.ok(row.deploy > 0, `deploy time shown: ${JSON.stringify(rows)}`);
  }
  assert.equal(await page.locator("#ex-phases rect.bar[data-key]").count(), 8, "four phases of each session");
  assert.ok(await page.locator("#ex-disk rect.bar").count() >= 4, "disk growth of every chain");
  // The packet-hop histogram counts every packet the job's result read from the chains.
  const exJob = await page.evaluate(async () => {
    const list = await (await fetch("/api/v1/utils/jobs?limit=1&type=utils.experiments.upload")).json();
    return (await (await fetch(`/api/v1/utils/jobs/${list.data.items[0].jobId}`)).json()).data;
  });
  const acked = exJob.result.sessions.flatMap((s) => s.packets.items).filter((p) => p.ackTime).length;
  const sent = exJob.result.sessions.reduce((a, s) => a + s.packets.sent, 0);
  assert.ok(acked > 0 && acked === sent, `every fragment and manifest of both sessions acked: ${acked} of ${sent}`);
  const hopBars = await page.$$eval("#ex-hops rect.bar title", (ts) => ts.map((t) => Number(/: (\d+) packet/.exec(t.textContent)[1])));
  assert.equal(hopBars.reduce((a, n) => a + n, 0), acked, "the histogram holds every acked packet");
  assert.equal(await page.locator("#ex-hops line.mark.p99:not(.legend)").count(), 1, "p99 marked");
  const csvHref = await page.getAttribute("#ex-csv", "href");
  const csv = await page.evaluate(async (href) => (await fetch(href)).text(), csvHref);
  assert.equal(csv.trim().split("\n").length, 3, `a header and two sessions: ${csv}`);
  mark("experiment");
  await page.screenshot({ path: join(ARTIFACTS, "experiments.png"), fullPage: true });

  // ----- IBC: the experiment's packets per pair, drawn as the packets job's result has them ----
  await page.click("#tab-ibc");
  // The first open accounts the default window (gwc's latest 300 blocks) without a click.
  const firstJob = await ibcRun();
  assert.ok(firstJob.status === "succeeded", `default packets job: ${JSON.stringify(firstJob)}`);
  // Then a window from before the experiment, chosen in the form.
  await page.fill("#pk-window", String((await gwcHeight()) - gwcBefore + 50));
  await page.click("#pk-run");
  const shown = await ibcRun();
  const result = shown.result;
  assert.ok(result.fromHeight <= gwcBefore + 1, `the window holds the experiment: ${result.fromHeight} > ${gwcBefore}`);
  const pairs = result.pairs.map((p) => p.chainId);
  assert.ok(pairs.includes("mdsc") && pairs.some((c) => c.startsWith("fdsc-")), `pairs with packets: ${pairs}`);
  assert.deepEqual(await page.$$eval("#pk-pairs [data-pair]", (cards) => cards.map((c) => c.dataset.pair)), pairs);
  let histograms = 0;
  for (const p of result.pairs) {
    const card = `#pk-pairs [data-pair='${p.chainId}']`;
    const a = p.accounting;
    assert.equal(a.sent, a.acked + a.timedOut + a.pending, `${p.chainId}: ${JSON.stringify(a)}`);
    assert.match(await page.textContent(`${card} .pair-accounting`),
      new RegExp(`^sent ${a.sent} = acked ${a.acked} \\+ timed out ${a.timedOut} \\+ pending ${a.pending};`));
    for (const hop of ["sendToRecv", "recvToAck", "sendToAck"]) {
      const s = p.hops[hop].seconds;
      const fig = `${card} [data-hop='${hop}']`;
      if (!s) {
        assert.equal(await page.locator(`${fig} svg`).count(), 0, `${p.chainId} ${hop}: no samples, no chart`);
        continue;
      }
      histograms += 1;
      assert.equal(await page.textContent(`${fig} [data-fact='count']`), String(s.count));
      for (const k of ["p50", "p95", "p99"]) {
        assert.equal(await page.locator(`${fig} svg line.mark.${k}:not(.legend)`).count(), 1, `${p.chainId} ${hop} ${k} marked`);
        assert.equal(await page.textContent(`${fig} svg .mark-label.${k}`), `${k} ${s[k].toFixed(3)} s`);
        assert.ok((await page.textContent(`${fig} [data-fact='${k}']`)).startsWith(`${s[k].toFixed(3)} s`), `${p.chainId} ${hop} ${k} written`);
      }
      const counts = await page.$$eval(`${fig} svg rect.bar title`, (ts) => ts.map((t) => Number(t.textContent.match(/: (\d+) packet/)[1])));
      assert.equal(counts.reduce((x, y) => x + y, 0), s.count, `${p.chainId} ${hop}: every packet in a bar`);
    }
  }
  assert.ok(histograms >= 3, `hops drawn: ${histograms}`);
  // A hop whose packets took different times is drawn over several buckets; one whose
  // packets all took the same time (the same blocks, as a loaded machine can make them) is
  // one bar. Two sessions usually give the first; either way the bars follow the data.
  const drawn = result.pairs.flatMap((p) => Object.entries(p.hops).filter(([, x]) => x.seconds).map(([k, x]) => [p.chainId, k, x]));
  for (const [sc, sh, x] of drawn) {
    const bars = await page.locator(`#pk-pairs [data-pair='${sc}'] [data-hop='${sh}'] svg rect.bar`).count();
    if (x.histogram.length > 1) assert.ok(bars >= 5, `${sc} ${sh}: a varying hop in buckets (${bars})`);
    else assert.equal(bars, 1, `${sc} ${sh}: one time, one bar`);
  }
  assert.equal(await page.textContent("#pk-accounting [data-fact='accounting']"),
    `sent ${result.accounting.sent} = acked ${result.accounting.acked} + timed out ${result.accounting.timedOut} + pending ${result.accounting.pending}`);
  mark("ibc histograms");
  await page.screenshot({ path: join(ARTIFACTS, "ibc.png"), fullPage: true });

  // ----- IBC: rly killed, the next upload's packets pending with their ages --------------------
  await page.click("#tab-overview");
  const rlyPod = await page.textContent("#relayer dd.mono");
  execFileSync("kubectl", ["exec", "-n", "cryptomeria", rlyPod, "--", "sh", "-c", "pkill -x rly"], { stdio: "pipe" });
  await page.waitForFunction(() => document.querySelector("[data-testid='rly-running']").textContent === "not running");
  const stuckFrom = await gwcHeight();
  await page.click("#tab-experiments");
  await page.fill("#ex-count", "1");
  await page.fill("#ex-reps", "1");
  await page.click("#ex-run");
  await page.waitForFunction(() => document.getElementById("ex-status").textContent === "running");
  // The Overview's IBC health counts what gwc sent and nobody relayed.
  await page.waitForFunction(() => [...document.querySelectorAll("#ibc tr[data-pair] td:nth-child(3)")]
    .some((c) => /^[1-9]\d* packets/.test(c.textContent)), null, { timeout: 120_000 });
  await page.click("#tab-ibc");
  await page.fill("#pk-window", String((await gwcHeight()) - stuckFrom + 20));
  await page.click("#pk-run");
  const stuck = (await ibcRun()).result;
  const pending = stuck.packets.filter((p) => p.ageBlocks != null);
  assert.ok(pending.length > 0 && stuck.accounting.pending === pending.length, `pending packets: ${JSON.stringify(stuck.accounting)}`);
  const listed = await page.$$eval("#pk-pending tr[data-pending]", (trs) => trs.map((tr) => ({
    id: tr.dataset.pending, pair: tr.querySelector("th").textContent,
    blocks: Number(tr.querySelector(".age-blocks").textContent), seconds: parseFloat(tr.querySelector(".age-seconds").textContent),
  })));
  assert.deepEqual(listed.map((r) => r.id), pending.map((p) => `${p.srcChannel}/${p.sequence}`));
  assert.deepEqual(listed.map((r) => r.pair), pending.map((p) => `gwc → ${p.chainId}`));
  listed.forEach((r, i) => {
    assert.equal(r.blocks, pending[i].ageBlocks);
    assert.ok(r.blocks > 0 && r.seconds > 0, `pending ages above zero: ${JSON.stringify(r)}`);
  });
  mark("ibc pending");
  await page.screenshot({ path: join(ARTIFACTS, "ibc-pending.png"), fullPage: true });

  // ----- Same origin only ----------------------------------------------------------------------
  const foreign = requests.filter((u) => new URL(u).origin !== origin);
  assert.deepEqual(foreign, [], "requests outside the BFF's origin");
  assert.deepEqual(problems, [], "script errors or refused loads");

  console.log(JSON.stringify({
    ok: true, heights: { first, later }, stepStates, requests: requests.length, timingsMs: timings,
  }));
} catch (e) {
  await page.screenshot({ path: join(ARTIFACTS, "failure.png"), fullPage: true }).catch(() => {});
  console.error(e.stack ?? String(e));
  console.error(`problems: ${JSON.stringify(problems)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
