// Deal flow: the table sortable by score (or company, stage, status), each deal's other
// columns on demand.
import { all } from "../api.js";
import { clear, el, empty, errorBox, fmtNumber } from "../util.js";

const COLUMNS = [
  { key: "company", label: "Company" },
  { key: "stage", label: "Stage" },
  { key: "status", label: "Status" },
  { key: "score", label: "Score", num: true },
  { key: "algorithm_score", label: "Sheet score", num: true },
];

export default async function dealflow(root) {
  const res = await all("/v1/dealflow?sort=score", 2000);
  if (!res.ok) return root.append(errorBox(res));
  const deals = res.data.items;
  if (!deals.length) return root.append(empty("No deal flow loaded yet: upload a dealflow spreadsheet on the Uploads page."));
  let sort = { key: "score", dir: -1 };
  const wrap = el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Deal flow" });
  root.append(wrap);
  const value = (d, c) => (c.num ? (d[c.key] === null || d[c.key] === undefined ? null : Number(d[c.key])) : (d[c.key] || "").toLowerCase());
  function draw() {
    const col = COLUMNS.find((c) => c.key === sort.key);
    const rows = [...deals].sort((a, b) => {
      const x = value(a, col);
      const y = value(b, col);
      if (x === y) return a.id - b.id;
      if (x === null || x === "") return 1; // unscored last, either way
      if (y === null || y === "") return -1;
      return (x < y ? -1 : 1) * sort.dir;
    });
    const head = el("tr", {}, COLUMNS.map((c) => el("th", { scope: "col", "aria-sort": c.key === sort.key ? (sort.dir > 0 ? "ascending" : "descending") : "none" },
      el("button", { type: "button", class: "sort", onclick: () => {
        sort = { key: c.key, dir: sort.key === c.key ? -sort.dir : c.num ? -1 : 1 };
        draw();
      } }, c.label))), el("th", { scope: "col" }, "Details"));
    const body = rows.map((d) => {
      const extra = Object.entries(d).filter(([k]) => !["id", ...COLUMNS.map((c) => c.key)].includes(k));
      return el("tr", {}, COLUMNS.map((c) => el("td", { class: c.num ? "num" : undefined }, c.num ? fmtNumber(d[c.key]) : d[c.key] || "—")),
        el("td", {}, el("details", {}, el("summary", {}, "factors"),
          el("dl", {}, extra.map(([k, v]) => [el("dt", {}, k), el("dd", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v ?? "—"))])))));
    });
    clear(wrap).append(el("table", { id: "dealflow" }, el("caption", {}, `Deal flow, ${deals.length} deals`), el("thead", {}, head), el("tbody", {}, body)));
  }
  draw();
}
