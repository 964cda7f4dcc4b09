// Filings: ask for an analysis (ticker, form, year, kind) seeing what it costs first,
// follow the task live, read the result section by section; a pool answer says so.
import { api } from "../api.js";
import { onEvent } from "../live.js";
import { clear, el, empty, errorBox, fmtDate, fmtMoney, problemText, table } from "../util.js";

export default async function filings(root, ctx) {
  const me = ctx.me;
  const year = new Date().getFullYear() - 1;
  const cost = el("p", { id: "analysis-cost" },
    `An analysis costs at most ${fmtMoney(me.limits.analysis_fee)} plus ${fmtMoney(me.limits.filing_access_fee)} the first time you read a filing; `,
    `an analysis already in the shared pool costs only the filing access fee. Your credits: ${fmtMoney(me.credit_balance)}.`);
  const form = el("form", { class: "card", id: "analysis-form" },
    el("h2", {}, "Request an analysis"),
    cost,
    el("div", { class: "row" },
      el("span", {}, el("label", { for: "ticker" }, "Ticker"), el("input", { id: "ticker", name: "ticker", required: true, value: "AAPL", autocapitalize: "characters", size: 8 })),
      el("span", {}, el("label", { for: "form" }, "Form"), el("select", { id: "form", name: "form" }, ["10-K", "10-Q", "8-K", "20-F", "DEF 14A", "S-1"].map((f) => el("option", {}, f)))),
      el("span", {}, el("label", { for: "year" }, "Fiscal year"), el("input", { id: "year", name: "year", type: "number", value: year, min: 1994, max: year + 1 })),
      el("span", {}, el("label", { for: "kind" }, "Kind"), el("select", { id: "kind", name: "kind" }, [["summary", "Summary"], ["risk_factors", "Risk factors"], ["mdna", "MD&A"]].map(([v, l]) => el("option", { value: v }, l))))),
    el("button", { type: "submit" }, "Request"));
  const taskBox = el("div", { id: "task", "aria-live": "polite" });
  const result = el("div", { id: "analysis-result" });
  const recent = el("div");
  root.append(form, taskBox, result, el("h2", {}, "Your recent tasks"), recent);

  let following = null;
  async function showTask(task) {
    following = task.id;
    clear(taskBox).append(el("p", { class: "task", dataset: { status: task.status } },
      `Task ${task.status}: ${task.kind} of ${task.filing.ticker || task.filing.cik || ""} ${task.filing.form || ""} ${task.filing.fiscal_year || task.filing.accession || ""}; quoted ${fmtMoney(task.quoted)}`,
      task.charged ? `, charged ${fmtMoney(task.charged)}` : "",
      task.failure_reason ? ` — ${task.failure_reason}` : ""));
    if (task.status === "completed" && task.analysis_id) showAnalysis(task.analysis_id);
  }
  async function showAnalysis(id, note) {
    const res = await api(`/v1/analyses/${encodeURIComponent(id)}`);
    clear(result);
    if (!res.ok) return result.append(errorBox(res));
    renderAnalysis(result, res.data, note);
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(result);
    clear(taskBox).append(el("p", {}, "Requesting…"));
    const body = { ticker: form.ticker.value.trim().toUpperCase(), form: form.form.value, fiscal_year: Number(form.year.value), kind: form.kind.value };
    const res = await api("/v1/analyses", { method: "POST", body });
    if (!res.ok) return clear(taskBox).append(el("p", { class: "error", role: "alert" }, problemText(res)));
    if (res.status === 200) {
      clear(taskBox).append(el("p", { class: "task", dataset: { status: "pool" } }, `From the shared pool: charged ${fmtMoney(res.data.charged)}.`));
      renderAnalysis(clear(result), res.data.analysis, "pool");
    } else showTask(res.data.task);
    tasks();
  });

  async function tasks() {
    const res = await api("/v1/tasks?limit=10");
    clear(recent);
    if (!res.ok) return recent.append(errorBox(res));
    if (!res.data.items.length) return recent.append(empty("No analyses requested yet."));
    recent.append(table("Your recent tasks", [
      { label: "Requested", value: (t) => fmtDate(t.created_at) },
      { label: "Filing", value: (t) => `${t.filing.ticker || t.filing.cik || ""} ${t.filing.form || ""} ${t.filing.fiscal_year || ""}` },
      { label: "Kind", value: (t) => t.kind },
      { label: "Status", value: (t) => t.status },
      { label: "Cost", value: (t) => fmtMoney(t.charged || t.quoted), num: true },
      { label: "Result", value: (t) => (t.analysis_id ? el("button", { type: "button", class: "link", onclick: () => showAnalysis(t.analysis_id) }, "read") : t.failure_reason || "—") },
    ], res.data.items));
  }
  await tasks();
  return onEvent(async (type, data) => {
    if (type !== "AnalysisCompleted" && type !== "AnalysisFailed") return;
    if (following) {
      const res = await api(`/v1/tasks/${encodeURIComponent(following)}`);
      if (res.ok) showTask(res.data);
    }
    tasks();
  });
}

function renderAnalysis(box, a, note) {
  const f = a.filing || {};
  box.append(el("article", { class: "card analysis" },
    el("h2", {}, `${a.kind.replace("_", " ")} of ${f.company || ""} ${f.form || ""} (${f.filing_date || ""})`),
    el("p", { class: "hint" }, note === "pool" ? "This analysis came from the shared pool: it was made before, for anyone who asks." : `Made by ${a.model}${a.extractive ? " (extractive: no language model)" : ""}, ${fmtDate(a.completed_at)}.`),
    a.body ? Object.entries(a.body).map(([k, v]) => el("section", {}, el("h3", {}, k.replace(/_/g, " ")), render(v))) : empty("This analysis has no body yet.")));
}

function render(v) {
  if (v === null || v === undefined) return el("p", {}, "—");
  if (Array.isArray(v)) return el("ul", {}, v.map((x) => el("li", {}, render(x))));
  if (typeof v === "object") return el("dl", {}, Object.entries(v).map(([k, x]) => [el("dt", {}, k.replace(/_/g, " ")), el("dd", {}, render(x))]));
  return el("p", {}, String(v));
}
