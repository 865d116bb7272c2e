// Operations: start, connect (all / one chain), relayer restart, stop and resume, each behind a
// confirmation; the chosen job's steps and log follow it live (the log's SSE `follow`, and the
// job read again on each line); recent jobs; preflight with its hints.

import { get, post, followLog } from "./api.js";
import { $, h, fill, badge, showError, announce, localTime, hint } from "./dom.js";

const ACTIONS = {
  start: {
    title: "Start the system",
    text: "Runs discover → initRelayer → connectAll → startRelayer → waitIbcReady. Each step observes first and does only what is missing.",
    path: "/system/start",
    force: true,
    body: (force) => ({ force }),
  },
  connectAll: {
    title: "Connect gwc to every chain",
    text: "Creates the missing relayer paths, links and storage registrations for every chain.",
    path: "/system/connect",
    force: true,
    body: (force) => ({ target: "all", force }),
  },
  connectOne: {
    title: "Connect gwc to one chain",
    text: null, // names the chosen chain
    path: "/system/connect",
    force: true,
    body: (force) => ({ target: `chain:${$("connect-chain").value}`, force }),
  },
  restart: {
    title: "Restart the relayer",
    text: "Stops rly start in the relayer pod (killing it if it does not exit) and starts it again.",
    path: "/system/relayer/restart",
    force: false,
    body: () => ({}),
  },
  stop: {
    title: "Stop the system",
    text: "Scales every StatefulSet and Deployment of the release to 0 (their replicas recorded for resume). Chain data stays in the PVCs; the relayer's config is lost with its pod.",
    path: "/system/stop",
    force: false,
    body: () => ({}),
  },
  resume: {
    title: "Resume the system",
    text: "Restores the recorded replicas, waits for the pods to be Ready, then runs the start steps (the new relayer pod needs its config again).",
    path: "/system/resume",
    force: false,
    body: () => ({}),
  },
};

let following = null; // {id, log}
let refreshTimer = null;

export function init() {
  $("do-start").addEventListener("click", () => confirmAndRun(ACTIONS.start));
  $("do-connect-all").addEventListener("click", () => confirmAndRun(ACTIONS.connectAll));
  $("do-connect-one").addEventListener("click", () =>
    confirmAndRun({ ...ACTIONS.connectOne, text: `Creates what is missing between gwc and ${$("connect-chain").value}: path, link, storage registration.` }));
  $("do-restart").addEventListener("click", () => confirmAndRun(ACTIONS.restart));
  $("do-stop").addEventListener("click", () => confirmAndRun(ACTIONS.stop));
  $("do-resume").addEventListener("click", () => confirmAndRun(ACTIONS.resume));
  $("do-preflight").addEventListener("click", preflight);
}

// Called when the view is shown: fresh preflight and jobs; attach to a running system job,
// else open the latest one (the list is newest first).
export async function shown() {
  preflight();
  const jobs = await listJobs();
  const running = jobs.find((j) => j.status === "running" || j.status === "queued");
  const open = running ?? jobs[0];
  if (open && (!following || (running && following.id !== running.jobId))) follow(open.jobId);
}

export function setChains(chains) {
  const select = $("connect-chain");
  const ids = chains.map((c) => c.chainId).filter((id) => id !== "gwc");
  if ([...select.options].map((o) => o.value).join() === ids.join()) return;
  const chosen = select.value;
  fill(select, ids.map((id) => h("option", { value: id, text: id, selected: id === chosen })));
}

function confirmAndRun(action) {
  const dialog = $("confirm");
  $("confirm-h").textContent = `${action.title}?`;
  $("confirm-text").textContent = action.text;
  $("confirm-route").textContent = `POST /api/v1${action.path}`;
  $("confirm-force").checked = false;
  $("confirm-force").parentElement.hidden = !action.force;
  dialog.returnValue = "";
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "confirm") return;
    showError($("action-error"), null);
    try {
      const job = await post(action.path, action.body($("confirm-force").checked));
      announce(`${action.title}: job ${job.jobId} ${job.status}`);
      follow(job.jobId);
    } catch (e) {
      showError($("action-error"), e);
      if (e.code === "JOB_CONFLICT" && e.details?.jobId) follow(e.details.jobId);
    }
    listJobs();
  }, { once: true });
  dialog.showModal();
}

async function listJobs() {
  try {
    const { items } = await get("/system/jobs?limit=8");
    fill($("jobs"), items.map((j) =>
      h("li", {}, h("button", { type: "button", onclick: () => follow(j.jobId) },
        badge(j.status), h("span", { text: j.type }), h("span", { class: "mono muted" }, `${j.jobId} · `, localTime(j.createdAt))))));
    return items;
  } catch (e) {
    fill($("jobs"), h("li", { class: "error", text: e.message }));
    return [];
  }
}

// Shows job `id`: its steps now, then live from its log until it ends.
function follow(id) {
  following?.log.close();
  fill($("job-log"));
  const current = { id, log: null, done: false };
  following = current;
  showJob(id);
  current.log = followLog("system", id, (line) => {
    appendLog(line);
    scheduleRefresh(id);
  }, async () => {
    // The stream ended: the job finished (or the stream broke); read its final state.
    const job = await showJob(id);
    if (job && !isFinished(job.status) && following === current) setTimeout(() => follow(id), 1000);
    listJobs();
    // What a job changed shows in preflight (e.g. relayer balances once keys are restored).
    if (job && isFinished(job.status)) preflight();
  });
}

const isFinished = (s) => s === "succeeded" || s === "failed" || s === "canceled";

function appendLog(line) {
  const log = $("job-log");
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(`${line}\n`);
  // Keep the tail bounded: the page shows the latest 500 lines.
  while (log.childNodes.length > 500) log.firstChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// Log lines come in bursts: read the job at most every 250 ms while they do.
function scheduleRefresh(id) {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    if (following?.id === id) showJob(id);
  }, 250);
}

async function showJob(id) {
  try {
    const job = await get(`/system/jobs/${encodeURIComponent(id)}`);
    if (following?.id !== id) return job;
    fill($("job-status"), job.status);
    $("job-status").className = badge(job.status).className;
    fill($("job-title"), `${job.type} · ${job.jobId} · created `, localTime(job.createdAt));
    $("job-progress").max = job.progress.totalSteps || 1;
    $("job-progress").value = job.progress.completedSteps;
    fill($("job-steps"), job.steps.map((s) =>
      h("li", { "data-step": s.name, "data-status": s.status },
        h("span", { class: "name", text: `${s.name} ` }), badge(s.status),
        s.message ? h("span", { class: "msg", text: s.message }) : null)));
    showError($("job-error"), job.error ? `${job.error.code}: ${job.error.message}` : null);
    if (isFinished(job.status)) announce(`job ${job.type} ${job.status}`);
    return job;
  } catch (e) {
    showError($("job-error"), e);
    return null;
  }
}

async function preflight() {
  $("do-preflight").disabled = true;
  try {
    const p = await get("/system/preflight");
    fill($("preflight-verdict"), p.readyToStart ? "ready to start" : "not ready");
    $("preflight-verdict").className = `badge ${p.readyToStart ? "ok" : "bad"}`;
    fill($("preflight").tBodies[0], p.checks.map((c) =>
      h("tr", { "data-check": c.name },
        h("th", { scope: "row", text: c.name }),
        h("td", {}, badge(c.status)),
        h("td", { text: c.message }),
        h("td", { class: "muted" }, c.hint ? hint(c.hint) : ""))));
  } catch (e) {
    fill($("preflight").tBodies[0], h("tr", {}, h("td", { colspan: 4, class: "error", text: e.message })));
  } finally {
    $("do-preflight").disabled = false;
  }
}
