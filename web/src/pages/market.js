// Market: a ticker's price chart with a 20-day moving average, its quote, fundamentals
// and ratios.
import { api } from "../api.js";
import { lineChart } from "../charts.js";
import { clear, el, empty, errorBox, fmtNumber, pct, table } from "../util.js";

const FIGURES = ["revenue", "grossProfit", "operatingIncome", "netIncome", "eps", "totalAssets", "totalLiabilities", "freeCashFlow"];

export default async function market(root) {
  const form = el("form", { class: "row", id: "ticker-form" },
    el("span", {}, el("label", { for: "market-ticker" }, "Ticker"), el("input", { id: "market-ticker", name: "ticker", value: sessionStorage.getItem("sluice.ticker") || "AAPL", required: true, size: 8 })),
    el("button", { type: "submit" }, "Show"));
  const out = el("div");
  root.append(form, out, el("h2", {}, "Watchlists and portfolios"), empty("Watchlists and portfolios are not in the API yet."));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    show(form.ticker.value.trim().toUpperCase());
  });

  async function show(ticker) {
    sessionStorage.setItem("sluice.ticker", ticker);
    clear(out).append(el("p", {}, "Loading…"));
    const from = new Date(Date.now() - 365 * 86400000).toISOString().slice(0, 10);
    const t = encodeURIComponent(ticker);
    const [quote, prices, income, ratios] = await Promise.all([
      api(`/v1/quotes/${t}`),
      api(`/v1/prices/${t}?from=${from}`),
      api(`/v1/fundamentals/${t}?period=annual&limit=10`),
      api(`/v1/ratios/${t}`),
    ]);
    clear(out);
    if (quote.ok) {
      const q = quote.data;
      out.append(el("p", { class: "quote" }, el("strong", {}, `${q.ticker} ${fmtNumber(q.price)}`), ` ${q.change === null ? "" : `${q.change >= 0 ? "+" : ""}${fmtNumber(q.change)} (${fmtNumber(q.change_percent)}%)`} on ${q.trading_date || "—"}`));
    } else out.append(errorBox(quote));
    out.append(el("h2", {}, "Price, last year"));
    if (!prices.ok) out.append(errorBox(prices));
    else if (!prices.data.items.length) out.append(empty(`No prices stored for ${ticker} yet (they arrive with the daily refresh).`));
    else {
      const bars = prices.data.items;
      const close = bars.map((b) => b.close);
      const sma = close.map((_, i) => (i < 19 ? null : close.slice(i - 19, i + 1).reduce((a, b) => a + b, 0) / 20));
      out.append(lineChart(`${ticker} close`, bars.map((b) => b.date), [{ label: "Close", values: close }, { label: "20-day average", values: sma }]));
    }
    out.append(el("h2", {}, "Ratios"));
    if (!ratios.ok) out.append(errorBox(ratios));
    else {
      const r = ratios.data.ratios;
      const rows = Object.entries(r).map(([k, v]) => ({ k, v }));
      const money = new Set(["market_cap", "enterprise_value"]);
      const plain = new Set(["current_ratio", "debt_to_equity", "pe", "ev_to_ebitda"]);
      out.append(table(`Ratios of ${ticker} (${ratios.data.basis}, ${ratios.data.fiscal_date || "—"})`, [
        { label: "Ratio", value: (x) => x.k.replace(/_/g, " ") },
        { label: "Value", value: (x) => (x.v === null ? "—" : money.has(x.k) || plain.has(x.k) ? fmtNumber(x.v) : pct(x.v)), num: true },
      ], rows));
    }
    out.append(el("h2", {}, "Fundamentals"));
    if (!income.ok) out.append(errorBox(income));
    else if (!income.data.items.length) out.append(empty(`No fundamentals stored for ${ticker} yet.`));
    else
      out.append(table(`Annual statements of ${ticker}`, [
        { label: "Statement", value: (f) => f.statement.replace("_", " ") },
        { label: "Fiscal date", value: (f) => f.fiscal_date },
        ...FIGURES.map((k) => ({ label: k, value: (f) => fmtNumber(f.figures[k]), num: true })),
      ], income.data.items));
  }
  show(form.ticker.value);
}
