// Feedback: the triage board by priority (filtered by category), status and priority
// changed in place (PATCH /v1/tickets/{id}), and the daily counts as a chart.
import { all, api } from "../api.js";
import { lineChart } from "../charts.js";
import { onEvent } from "../live.js";
import { clear, el, empty, errorBox, fmtDate, problemText } from "../util.js";

const PRIORITIES = ["P0", "P1", "P2", "P3"];
const STATUSES = ["new", "open", "in_progress", "resolved", "closed"];
const CATEGORIES = ["bug", "feature_request", "billing", "performance", "ux", "praise", "other"];

export default async function feedback(root) {
  const category = el("select", { id: "category" }, el("option", { value: "" }, "every category"), CATEGORIES.map((c) => el("option", { value: c }, c.replace("_", " "))));
  const board = el("div", { class: "board", id: "board" });
  const metrics = el("div");
  root.append(el("label", { for: "category" }, "Category"), category, board, el("h2", {}, "Tickets per day"), metrics);
  let tickets = [];

  function card(t) {
    const note = el("span", { class: "hint", role: "status" });
    const change = async (field, value) => {
      note.textContent = "saving…";
      const res = await api(`/v1/tickets/${encodeURIComponent(t.id)}`, { method: "PATCH", body: { [field]: value } });
      if (!res.ok) return (note.textContent = problemText(res));
      Object.assign(t, res.data);
      draw();
    };
    const id = `t-${t.id}`;
    return el("li", { class: "ticket", dataset: { id: t.id, status: t.status } },
      el("p", {}, el("strong", {}, t.summary)),
      el("p", { class: "hint" }, `${t.category.replace("_", " ")} · ${t.source.replace("_", " ")} · ${t.sentiment_bucket} · ${fmtDate(t.received_at)}`),
      el("label", { for: `${id}-status` }, "Status"),
      el("select", { id: `${id}-status`, class: "status", onchange: (e) => change("status", e.target.value) }, STATUSES.map((s) => el("option", { value: s, selected: s === t.status }, s.replace("_", " ")))),
      el("label", { for: `${id}-priority` }, "Priority"),
      el("select", { id: `${id}-priority`, class: "priority", onchange: (e) => change("priority", e.target.value) }, PRIORITIES.map((p) => el("option", { value: p, selected: p === t.priority }, p))),
      note);
  }
  function draw() {
    clear(board);
    const shown = tickets.filter((t) => !category.value || t.category === category.value);
    if (!tickets.length) return board.append(empty("No feedback yet: tickets appear here when the webhooks deliver them."));
    for (const p of PRIORITIES) {
      const column = shown.filter((t) => t.priority === p);
      board.append(el("section", { class: "column", "aria-label": `Priority ${p}` },
        el("h2", {}, `${p} (${column.length})`),
        column.length ? el("ul", {}, column.map(card)) : empty("none")));
    }
  }
  category.addEventListener("change", draw);

  async function load() {
    const res = await all("/v1/tickets", 400);
    if (!res.ok) return clear(board).append(errorBox(res));
    tickets = res.data.items;
    draw();
    const m = await api("/v1/metrics/feedback");
    clear(metrics);
    if (!m.ok) return metrics.append(errorBox(m));
    const days = m.data.days;
    if (!m.data.totals.total) return metrics.append(empty("No tickets counted in the last 30 days."));
    metrics.append(lineChart("Tickets per day by priority", days.map((d) => d.day), [
      { label: "All", values: days.map((d) => d.total) },
      ...PRIORITIES.map((p) => ({ label: p, values: days.map((d) => d.by_priority[p] || 0) })),
    ]));
  }
  await load();
  return onEvent((type) => type === "FeedbackTriaged" && load());
}
