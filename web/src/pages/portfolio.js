// Portfolio: the companies, and a KPI over time with budget against actual (uPlot).
import { all, api } from "../api.js";
import { lineChart, num } from "../charts.js";
import { onEvent } from "../live.js";
import { clear, el, empty, errorBox, fmtNumber, table } from "../util.js";

export default async function portfolio(root) {
  const companiesBox = el("div");
  const kpiBox = el("div");
  root.append(el("h2", {}, "KPIs over time"), kpiBox, el("h2", {}, "Companies"), companiesBox);

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
  await load();
  // A load finished: show what it brought.
  return onEvent((type, data) => {
    if (type === "DatasetLoaded" && data.status !== "failed") load();
  });
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
