// Portfolio: open KPI alerts, the latest report (or one made now), the companies, and a
// KPI over time with budget against actual (uPlot).
import { all, api } from "../api.js";
import { lineChart, num } from "../charts.js";
import { onEvent } from "../live.js";
import { clear, el, empty, errorBox, fmtDate, fmtNumber, table } from "../util.js";

export default async function portfolio(root) {
  const alertsBox = el("div", { id: "alerts" });
  const reportBox = el("div", { id: "report" });
  const companiesBox = el("div");
  const kpiBox = el("div");
  const makeReport = el("button", { type: "button", id: "make-report", class: "secondary" }, "Make a report now");
  makeReport.addEventListener("click", async () => {
    makeReport.disabled = true;
    clear(reportBox).append(el("p", {}, "Making the report…"));
    const made = await api("/v1/reports", { method: "POST", body: {} });
    makeReport.disabled = false;
    if (!made.ok) return clear(reportBox).append(errorBox(made));
    showReport(reportBox, made.data);
  });
  root.append(
    el("h2", {}, "Open alerts"), alertsBox,
    el("div", { class: "row" }, el("h2", {}, "Latest report"), makeReport), reportBox,
    el("h2", {}, "KPIs over time"), kpiBox,
    el("h2", {}, "Companies"), companiesBox,
  );

  async function loadAlerts() {
    const alerts = await api("/v1/alerts?limit=20");
    clear(alertsBox);
    if (!alerts.ok) return alertsBox.append(alerts.status === 403 ? empty("Alerts are for team members.") : errorBox(alerts));
    if (!alerts.data.items.length) return alertsBox.append(empty("No KPI alerts: every loaded figure is within the team's rules."));
    alertsBox.append(table("KPI alerts, newest first", [
      { label: "Period", value: (a) => a.period },
      { label: "Company", value: (a) => a.company },
      { label: "Indicator", value: (a) => a.indicator },
      { label: "Severity", value: (a) => el("span", { class: `severity ${a.severity}` }, a.severity) },
      { label: "What", value: (a) => a.message },
    ], alerts.data.items));
  }

  async function loadReport() {
    // The newest report of the team (monthly or made on demand), read in full.
    const list = await api("/v1/reports?limit=1");
    if (!list.ok && ![404, 405].includes(list.status)) return clear(reportBox).append(errorBox(list));
    const latest = list.ok && list.data.items && list.data.items[0];
    if (!latest) return clear(reportBox).append(empty("No report yet: the monthly one is made on the 1st, or make one now."));
    const report = await api(`/v1/reports/${encodeURIComponent(latest.id)}`);
    if (!report.ok) return clear(reportBox).append(errorBox(report));
    showReport(reportBox, report.data);
  }

  async function load() {
    const [companies, kpis] = await Promise.all([all("/v1/companies", 400), all("/v1/kpis", 5000)]);
    clear(companiesBox);
    if (!companies.ok) companiesBox.append(errorBox(companies));
    else if (!companies.data.items.length) companiesBox.append(empty("No companies loaded yet: upload a companies spreadsheet on the Uploads page."));
    else
      companiesBox.append(table("Companies", [
        { label: "Key", value: (c) => c.key },
        { label: "Name", value: (c) => c.name },
        { label: "Funding", value: (c) => fmtNumber(c.funding_total), num: true },
        { label: "Version", value: (c) => c.version, num: true },
      ], companies.data.items));
    clear(kpiBox);
    if (!kpis.ok) return kpiBox.append(errorBox(kpis));
    if (!kpis.data.items.length) return kpiBox.append(empty("No KPIs loaded yet: upload a KPI spreadsheet on the Uploads page."));
    kpiChart(kpiBox, kpis.data.items);
  }
  await Promise.all([load(), loadAlerts(), loadReport()]);
  // A load finished: show what it brought; the tracker's alerts follow it.
  return onEvent((type, data) => {
    if (type === "DatasetLoaded" && data.status !== "failed") load();
    if (type === "KpiAlert") loadAlerts();
  });
}

/** A portfolio report: who narrated it, and per company its sentences and runway. */
function showReport(box, r) {
  const narration = r.narration || {};
  const by = narration.kind === "model" ? `narrated by ${narration.model}` : "extractive (built from the figures, no model)";
  const companies = r.companies || [];
  clear(box).append(
    el("div", { class: "card", dataset: { id: r.id, companies: companies.length } },
      el("p", { class: "hint" }, `${r.period ? `Month ${String(r.period).slice(0, 7)}` : "On demand"}, made ${fmtDate(r.generated_at)}; ${by}`),
      narration.kind === "model" && narration.text ? el("p", {}, narration.text) : null,
      companies.length
        ? companies.map((c) => el("div", { class: "report-company" },
          el("h3", {}, c.company),
          el("ul", {}, ((c.narrative || {}).sentences || []).map((t) => el("li", {}, t))),
          c.cash_runway && c.cash_runway.months !== null && c.cash_runway.months !== undefined
            ? el("p", {}, `Cash runway: ${fmtNumber(c.cash_runway.months)} months`) : null))
        : el("p", {}, "No company has KPIs to report on yet.")),
  );
  box.dataset.state = "shown";
}

function kpiChart(box, items) {
  const series = new Map(); // "company · indicator" -> items
  for (const k of items) {
    const key = `${k.company} · ${k.indicator}`;
    if (!series.has(key)) series.set(key, []);
    series.get(key).push(k);
  }
  const names = [...series.keys()].sort();
  const select = el("select", { id: "kpi-series" }, names.map((n) => el("option", { value: n }, n)));
  const chartBox = el("div");
  const tableBox = el("div");
  box.append(el("label", { for: "kpi-series" }, "Company and indicator"), select, chartBox, tableBox);
  async function draw() {
    const rows = series.get(select.value) || [];
    const dates = [...new Set(rows.map((r) => r.date))].sort();
    const pick = (scenario) => dates.map((d) => {
      const r = rows.find((x) => x.date === d && (x.scenario || "actual") === scenario);
      return r ? num(r.value) : null;
    });
    const lines = [{ label: "Actual", values: pick("actual") }, { label: "Budget", values: pick("budget") }];
    const forecast = pick("forecast");
    if (forecast.some((v) => v !== null)) lines.push({ label: "Forecast", values: forecast });
    const unit = (rows.find((r) => r.unit) || {}).unit;
    clear(chartBox).append(lineChart(`${select.value}${unit ? ` (${unit})` : ""}`, dates, lines));
    const [company, indicator] = select.value.split(" · ");
    const bva = await api(`/v1/kpis/budget-vs-actual?company=${encodeURIComponent(company)}&indicator=${encodeURIComponent(indicator)}&limit=200`);
    clear(tableBox);
    if (!bva.ok) return tableBox.append(errorBox(bva));
    if (!bva.data.items.some((r) => r.budget !== null)) return tableBox.append(empty("No budget for this indicator yet: only actual values are loaded."));
    tableBox.append(table("Budget against actual", [
      { label: "Date", value: (r) => r.date },
      { label: "Actual", value: (r) => fmtNumber(r.actual), num: true },
      { label: "Budget", value: (r) => fmtNumber(r.budget), num: true },
      { label: "Variance", value: (r) => fmtNumber(r.variance), num: true },
      { label: "Attainment", value: (r) => (r.attainment_pct === null ? "—" : `${fmtNumber(r.attainment_pct)}%`), num: true },
    ], bva.data.items));
  }
  select.addEventListener("change", draw);
  draw();
}
