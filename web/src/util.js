// Small DOM helpers: every value from the API goes in as text, never as HTML.

export const $ = (sel, root = document) => root.querySelector(sel);

/** el("p", {class: "x", onclick: fn}, "text", child, [child, [child]], ...): arrays at any depth are flattened */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export const fmtNumber = (x) => {
  if (x === null || x === undefined || x === "") return "—";
  const n = Number(x);
  return Number.isFinite(n) ? n.toLocaleString(undefined, { maximumFractionDigits: 2 }) : String(x);
};
export const fmtMoney = (m) => (m && m.display) || "—";
export const fmtDate = (s) => (s ? new Date(s).toLocaleString() : "—");
export const pct = (x) => (x === null || x === undefined ? "—" : `${(Number(x) * 100).toFixed(1)}%`);

/** A table in a scrollable region a keyboard can reach. */
export function table(caption, columns, rows) {
  const head = el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c.label)));
  const body = rows.map((r) => el("tr", {}, columns.map((c) => el("td", { class: c.num ? "num" : undefined }, c.value(r)))));
  return el(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    el("table", {}, el("caption", {}, caption), el("thead", {}, head), el("tbody", {}, body)),
  );
}

/** What a page shows when its data is not there (yet). */
export const empty = (text) => el("p", { class: "empty" }, text);

/** A problem+json answer in a sentence. */
export const problemText = (res) => {
  const p = res.problem || {};
  return `${p.title || `HTTP ${res.status}`}${p.detail ? `: ${p.detail}` : ""}`;
};

export const errorBox = (res) => el("p", { class: "error", role: "alert" }, problemText(res));
