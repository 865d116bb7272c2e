// Building elements without innerHTML (every value from the API goes in as text), and the
// few number formats the views share.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (id) => document.getElementById(id);

// Replaces an element's children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// A status word in a badge; its class (ok, warn, bad) only repeats what the word says.
export function badge(word, tone) {
  return h("span", { class: `badge ${tone ?? toneOf(word)}`, text: word });
}

export function toneOf(word) {
  switch (String(word)) {
    case "succeeded": case "pass": case "relaying": case "running": case "true": case "ready": case "Running":
      return "ok";
    case "warn": case "degraded": case "queued": case "skipped": case "Pending": case "skip":
      return "warn";
    case "failed": case "fail": case "down": case "canceled": case "false": case "Failed":
      return "bad";
    default:
      return "";
  }
}

// An RFC 3339 time as the reader's local clock to the millisecond, the original in the title.
export function localTime(iso) {
  const t = new Date(iso);
  if (!iso || Number.isNaN(t.getTime())) return h("span", { text: iso ?? "–" });
  return h("time", { datetime: iso, title: iso, text: clock(t) });
}

// A Date as local date and time with milliseconds (the header's clock has the same form).
export const clock = (t) =>
  t.toLocaleString(undefined, { hour12: false, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3 });

// A hint whose API routes are links: `GET /api/v1/…` opens the route, `POST /api/v1/…` (or a
// bare `/system/…` action) leads to the Operations view, where the action runs confirmed.
export function hint(text) {
  const out = [];
  const route = /(?:(GET|POST) )?(\/api\/v1)?(\/system\/[a-z/]+)/g;
  let at = 0;
  for (const m of String(text).matchAll(route)) {
    out.push(text.slice(at, m.index));
    const path = `/api/v1${m[3]}`;
    out.push(m[1] === "GET"
      ? h("a", { href: path, target: "_blank", rel: "noopener", text: m[0] })
      : h("a", { href: "#operations", "data-action": m[3], text: m[0] }));
    at = m.index + m[0].length;
  }
  out.push(text.slice(at));
  return h("span", { class: "hint" }, out);
}

export const seconds = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : `${Number(x).toFixed(3)} s`);
export const num = (x, digits = 2) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));

// Sets an error paragraph (hidden when `error` is null).
export function showError(el, error) {
  el.hidden = !error;
  el.textContent = error ? String(error.message ?? error) : "";
}

export function announce(text) {
  $("announce").textContent = text;
}
