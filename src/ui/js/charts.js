// SVG charts drawn here (no library): a sparkline, a histogram with percentile marks (of
// samples or of buckets already counted), and bars over height ranges. Each chart is an
// `img` with a title and a description, and its numbers are also shown as text beside it.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function root(width, height, title, desc) {
  const s = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  s.append(svg("title", {}, title), svg("desc", {}, desc));
  return s;
}

// A small line of `values` (e.g. seconds per block) scaled to their own min..max, so jitter
// is visible; the range is written beside it (the caller's text), since the scale is not
// zero-based. Values that do not vary draw a mid-height line, dotted, marked as steady.
export function sparkline(values, { width = 140, height = 28, label = "" } = {}) {
  const lo = Math.min(...values), hi = Math.max(...values);
  const span = hi - lo;
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const y = (v) => (span > 1e-9 ? height - 2 - ((v - lo) / span) * (height - 4) : height / 2);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const s = root(width, height, label, `${values.length} values from ${lo.toFixed(3)} (bottom) to ${hi.toFixed(3)} (top)`);
  s.dataset.min = lo;
  s.dataset.max = hi;
  s.append(svg("polyline", { points, class: span > 1e-9 ? "spark-line" : "spark-line steady" }));
  return s;
}

// Bins for `samples`: about √n of them (5..30), equal width over min..max.
export function bins(samples) {
  const lo = Math.min(...samples), hi = Math.max(...samples);
  const count = Math.max(5, Math.min(30, Math.round(Math.sqrt(samples.length))));
  const width = (hi - lo) / count || 1e-3;
  const out = Array.from({ length: count }, (_, i) => ({ from: lo + i * width, to: lo + (i + 1) * width, n: 0 }));
  for (const x of samples) out[Math.min(count - 1, Math.floor((x - lo) / width))].n += 1;
  return out;
}

// A histogram of `samples` (seconds) with vertical marks at `marks` ({key, value}).
export function histogram(samples, marks, opts) {
  return binned(bins(samples), marks, opts);
}

// A histogram of buckets already counted ({from, to, n}, seconds) with vertical marks at
// `marks` ({key, value}); `what` names a sample in the bars' titles, `axis` the x axis. A
// single bucket of equal samples is drawn as a narrow bar around its value.
export function binned(b, marks, { title, desc, what = "block(s)", axis = "seconds between blocks", width = 720, height = 260 }) {
  const W = width, H = height, L = 44, R = 16, T = 30, B = 38;
  const same = b[b.length - 1].to - b[0].from < 1e-9;
  const pad = same ? Math.max(0.05, Math.abs(b[0].from) * 0.1) : 0;
  const lo = b[0].from - pad, hi = b[b.length - 1].to + pad + (b[b.length - 1].to - b[0].from) * 0.02;
  const top = Math.max(1, ...b.map((x) => x.n));
  const x = (v) => L + ((v - lo) / (hi - lo || 1)) * (W - L - R);
  const y = (n) => H - B - (n / top) * (H - T - B);
  const s = root(W, H, title, desc);
  s.classList.add("histogram");
  for (const bin of b) {
    const [from, to] = same ? [bin.from - pad / 5, bin.to + pad / 5] : [bin.from, bin.to];
    const bar = svg("rect", {
      class: "bar", x: x(from) + 0.5, y: y(bin.n), width: Math.max(1, x(to) - x(from) - 1), height: H - B - y(bin.n),
    });
    bar.append(svg("title", {}, `${bin.from.toFixed(3)}–${bin.to.toFixed(3)} s: ${bin.n} ${what}`));
    s.append(bar);
  }
  s.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  s.append(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
    s.append(svg("text", { x: x(v), y: H - B + 16, "text-anchor": anchor }, v.toFixed(3)));
  }
  s.append(svg("text", { x: (W + L) / 2, y: H - 4, "text-anchor": "middle" }, axis));
  s.append(svg("text", { x: L - 6, y: T + 4, "text-anchor": "end" }, String(top)));
  s.append(svg("text", { x: L - 6, y: H - B, "text-anchor": "end" }, "0"));
  // Marks may sit a pixel apart: the lines carry their key's colour and dash, the legend
  // above the plot names them with their values.
  const step = Math.min(150, (W - L - R) / Math.max(1, marks.length));
  marks.forEach((m, i) => {
    const mx = x(m.value);
    s.append(svg("line", { class: `mark ${m.key}`, x1: mx, x2: mx, y1: T - 4, y2: H - B }));
    const lx = L + 10 + i * step;
    s.append(svg("line", { class: `mark legend ${m.key}`, x1: lx, x2: lx + 18, y1: 10, y2: 10 }));
    s.append(svg("text", { class: `mark-label ${m.key}`, x: lx + 22, y: 14 }, `${m.key} ${m.value.toFixed(3)} s`));
  });
  return s;
}

// Bars of `items` ({label, value}) over their ranges, with the value written above each.
export function bars(items, { title, desc, unit, axis = "segment end height" }) {
  const W = 720, H = 240, L = 44, R = 12, T = 22, B = 48;
  const top = Math.max(...items.map((i) => i.value), 1e-9);
  const slot = (W - L - R) / items.length;
  const y = (v) => H - B - (v / top) * (H - T - B);
  const s = root(W, H, title, desc);
  s.classList.add("bars");
  items.forEach((item, i) => {
    const x0 = L + i * slot;
    const bar = svg("rect", { class: "bar", x: x0 + 2, y: y(item.value), width: Math.max(1, slot - 4), height: H - B - y(item.value) });
    bar.append(svg("title", {}, `${item.label}: ${item.value.toFixed(3)} ${unit}`));
    s.append(bar);
    s.append(svg("text", { x: x0 + slot / 2, y: y(item.value) - 4, "text-anchor": "middle" }, item.value.toFixed(2)));
    s.append(svg("text", { x: x0 + slot / 2, y: H - B + 14, "text-anchor": "middle" }, item.label));
  });
  s.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  s.append(svg("text", { x: (W + L) / 2, y: H - 6, "text-anchor": "middle" }, `${axis}; bars in ${unit}`));
  return s;
}

// Groups of bars (e.g. one group per session, one bar per phase), each key its own colour,
// with a legend naming the keys; values are written in each bar's title.
export function grouped(groups, keys, { title, desc, unit }) {
  const W = 720, H = 260, L = 56, R = 12, T = 30, B = 40;
  const top = Math.max(1e-9, ...groups.flatMap((g) => keys.map((k) => g.values[k] ?? 0)));
  const slot = (W - L - R) / Math.max(1, groups.length);
  const bar = Math.max(2, (slot - 8) / keys.length);
  const y = (v) => H - B - (v / top) * (H - T - B);
  const s = root(W, H, title, desc);
  s.classList.add("grouped");
  groups.forEach((g, i) => {
    keys.forEach((k, j) => {
      const v = g.values[k] ?? 0;
      const rect = svg("rect", { class: `bar k${j}`, x: L + i * slot + 4 + j * bar, y: y(v), width: bar - 1, height: H - B - y(v), "data-key": k });
      rect.append(svg("title", {}, `${g.label} ${k}: ${Number(v).toFixed(0)} ${unit}`));
      s.append(rect);
    });
    s.append(svg("text", { x: L + i * slot + slot / 2, y: H - B + 14, "text-anchor": "middle" }, g.label));
  });
  s.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  s.append(svg("text", { x: L - 6, y: T + 4, "text-anchor": "end" }, Number(top).toFixed(0)));
  s.append(svg("text", { x: L - 6, y: H - B, "text-anchor": "end" }, "0"));
  keys.forEach((k, j) => {
    const lx = L + 10 + j * 140;
    s.append(svg("rect", { class: `bar k${j}`, x: lx, y: 6, width: 12, height: 10 }));
    s.append(svg("text", { x: lx + 16, y: 15 }, k));
  });
  s.append(svg("text", { x: (W + L) / 2, y: H - 4, "text-anchor": "middle" }, unit));
  return s;
}
