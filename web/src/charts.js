// Charts: uPlot (a small, well-kept canvas chart library). Dates become seconds on the x
// axis; gaps stay gaps. Each chart says what it shows in its accessible name.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { el } from "./util.js";

const COLOURS = ["#23408e", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490"];

/** series: [{label, values: [number|null]}], xs: [Date|string] (same length). */
export function lineChart(title, xs, series, { height = 260 } = {}) {
  const points = series.reduce((sum, s) => sum + s.values.filter((v) => v !== null && Number.isFinite(v)).length, 0);
  const box = el("figure", { class: "chart", role: "img", "aria-label": `${title}: ${series.map((s) => s.label).join(", ")}; ${points} points` , dataset: { points: String(points) } });
  box.append(el("figcaption", {}, title));
  const data = [xs.map((x) => new Date(x).getTime() / 1000), ...series.map((s) => s.values)];
  const opts = {
    width: 600,
    height,
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: false, points: { show: xs.length < 60 } }))],
    axes: [{}, { size: 70 }],
    scales: { x: { time: true } },
  };
  // Sized to its container once it is on the page, and again when that changes.
  requestAnimationFrame(() => {
    const plot = new uPlot({ ...opts, width: Math.max(280, box.clientWidth - 8) }, data, box);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(280, box.clientWidth - 8), height }));
    observer.observe(box);
  });
  return box;
}

/** Numbers from the API's decimal strings. */
export const num = (x) => (x === null || x === undefined || x === "" ? null : Number(x));
