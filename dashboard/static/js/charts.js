// Small inline-SVG charts drawn by hand: no chart library, nothing fetched from elsewhere.
import { h, s } from "./dom.js";
import { formatDuration } from "./model.js";

const W = 520;
const H = 130;
const PAD = { l: 34, r: 8, t: 8, b: 18 };

function hourLabel(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:00`;
}

function axis(g, maxValue, fmt, buckets, startMs, bucketMs) {
  const ih = H - PAD.t - PAD.b;
  for (const frac of [0, 0.5, 1]) {
    const y = PAD.t + ih - ih * frac;
    g.append(s("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: "grid" }));
    g.append(s("text", { x: PAD.l - 4, y: y + 3, class: "tick", "text-anchor": "end" }, fmt(maxValue * frac)));
  }
  const iw = W - PAD.l - PAD.r;
  for (let i = 0; i < buckets; i += 6) {
    const x = PAD.l + (iw * (i + 0.5)) / buckets;
    g.append(s("text", { x, y: H - 4, class: "tick", "text-anchor": "middle" }, hourLabel(startMs + i * bucketMs)));
  }
}

export function stackedBars(container, legend, chart, colorOf) {
  const series = Object.entries(chart.byErrorType || {});
  const buckets = series.length ? series[0][1].length : 24;
  const totals = Array.from({ length: buckets }, (_, i) => series.reduce((acc, [, v]) => acc + v[i], 0));
  const max = Math.max(1, ...totals);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "svgchart", role: "img", "aria-label": "Incidents per hour by error type" });
  axis(svg, max, (v) => (Number.isInteger(v) ? String(v) : ""), buckets, chart.start, chart.bucketSeconds * 1000);
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const bw = iw / buckets;
  for (let i = 0; i < buckets; i++) {
    let y = PAD.t + ih;
    for (const [name, values] of series) {
      const v = values[i];
      if (!v) continue;
      const bh = (ih * v) / max;
      y -= bh;
      const rect = s("rect", { x: PAD.l + i * bw + 1, y, width: Math.max(1, bw - 2), height: bh, fill: colorOf(name) });
      rect.append(s("title", {}, `${hourLabel(chart.start + i * chart.bucketSeconds * 1000)} · ${name}: ${v}`));
      svg.append(rect);
    }
  }
  if (!series.length) svg.append(s("text", { x: W / 2, y: H / 2, class: "empty", "text-anchor": "middle" }, "No incidents in the last 24 hours"));
  container.replaceChildren(svg);
  legend.replaceChildren(
    ...series.map(([name, values]) =>
      h("span", { class: "legend-item" }, h("i", { class: "swatch", dataset: { color: colorOf(name) } }), `${name} ${values.reduce((a, b) => a + b, 0)}`),
    ),
  );
  for (const sw of legend.querySelectorAll(".swatch")) sw.style.background = sw.dataset.color;
}

export function trendLine(container, chart) {
  const values = chart.mttrTrend || [];
  const buckets = values.length || 24;
  const present = values.filter((v) => v !== null && v !== undefined);
  const max = Math.max(60, ...present);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "svgchart", role: "img", "aria-label": "MTTR trend" });
  axis(svg, max, (v) => formatDuration(v).split(" ")[0], buckets, chart.start, chart.bucketSeconds * 1000);
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const pts = [];
  values.forEach((v, i) => {
    if (v === null || v === undefined) return;
    pts.push([PAD.l + (iw * (i + 0.5)) / buckets, PAD.t + ih - (ih * v) / max, v, i]);
  });
  if (pts.length > 1) svg.append(s("polyline", { points: pts.map(([x, y]) => `${x},${y}`).join(" "), class: "trend" }));
  for (const [x, y, v, i] of pts) {
    const dot = s("circle", { cx: x, cy: y, r: 3, class: "dot" });
    dot.append(s("title", {}, `${hourLabel(chart.start + i * chart.bucketSeconds * 1000)} · median MTTR ${formatDuration(v)}`));
    svg.append(dot);
  }
  if (!pts.length) svg.append(s("text", { x: W / 2, y: H / 2, class: "empty", "text-anchor": "middle" }, "No resolutions in the last 24 hours"));
  container.replaceChildren(svg);
}
