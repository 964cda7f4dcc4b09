// Market: a ticker's price chart with a 20-day moving average, its quote, fundamentals
// and ratios; the caller's watchlists and portfolios valued at the latest quotes.
import { api } from "../api.js";
import { lineChart } from "../charts.js";
import { clear, el, empty, errorBox, fmtNumber, pct, problemText, table } from "../util.js";

const FIGURES = ["revenue", "grossProfit", "operatingIncome", "netIncome", "eps", "totalAssets", "totalLiabilities", "freeCashFlow"];

export default async function market(root) {
  const form = el("form", { class: "row", id: "ticker-form" },
    el("span", {}, el("label", { for: "market-ticker" }, "Ticker"), el("input", { id: "market-ticker", name: "ticker", value: sessionStorage.getItem("sluice.ticker") || "AAPL", required: true, size: 8 })),
    el("button", { type: "submit" }, "Show"));
  const out = el("div");
  const holdings = el("div", { id: "holdings" });
  root.append(form, out, el("h2", {}, "Watchlists and portfolios"), holdings);
  showHoldings(holdings, (t) => {
    form.ticker.value = t;
    show(t);
  });
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

/** The caller's watchlists (each ticker opens its chart; created, edited and deleted here)
 *  and portfolios with their value. */
async function showHoldings(root, open) {
  const [lists, portfolios] = await Promise.all([api("/v1/watchlists"), api("/v1/portfolios")]);
  if (!lists.ok) return root.append(errorBox(lists));
  if (!portfolios.ok) return root.append(errorBox(portfolios));
  const again = () => showHoldings(clear(root), open);
  const status = el("p", { role: "status", class: "hint", id: "watchlist-status" });
  const newForm = el("form", { class: "row", id: "new-watchlist" },
    el("span", {}, el("label", { for: "watchlist-name" }, "New watchlist"), el("input", { id: "watchlist-name", name: "name", required: true, size: 14 })),
    el("span", {}, el("label", { for: "watchlist-tickers" }, "Tickers (space or comma between)"), el("input", { id: "watchlist-tickers", name: "tickers", size: 24 })),
    el("button", { type: "submit" }, "Create"));
  newForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const res = await api("/v1/watchlists", { method: "POST", body: { name: newForm.name.value.trim(), tickers: tickerList(newForm.tickers.value) } });
    if (res.ok) again();
    else status.textContent = `Not created: ${problemText(res)}`;
  });
  root.append(newForm, status);
  if (!lists.data.items.length && !portfolios.data.items.length)
    root.append(empty("No watchlists or portfolios yet: create a watchlist above; portfolios come from POST /v1/portfolios."));
  for (const w of lists.data.items) {
    const edit = el("form", { class: "row edit-watchlist", hidden: true },
      el("span", {}, el("label", { for: `tickers-${w.id}` }, `Tickers of ${w.name}`), el("input", { id: `tickers-${w.id}`, name: "tickers", value: w.tickers.join(" "), size: 30 })),
      el("button", { type: "submit" }, "Save"));
    edit.addEventListener("submit", async (e) => {
      e.preventDefault();
      const res = await api(`/v1/watchlists/${w.id}`, { method: "PUT", body: { tickers: tickerList(edit.tickers.value) } });
      if (res.ok) again();
      else status.textContent = `Not saved: ${problemText(res)}`;
    });
    const remove = async () => {
      if (!confirm(`Delete the watchlist ${w.name}?`)) return;
      const res = await api(`/v1/watchlists/${w.id}`, { method: "DELETE" });
      if (res.ok) again();
      else status.textContent = `Not deleted: ${problemText(res)}`;
    };
    root.append(el("div", { class: "watchlist", dataset: { name: w.name, tickers: w.tickers.join(" ") } },
      el("p", {}, el("strong", {}, `${w.name}: `),
        w.tickers.length ? w.tickers.map((t) => el("button", { type: "button", class: "link", onclick: () => open(t) }, t)) : "no tickers",
        " ", el("button", { type: "button", class: "secondary", onclick: () => { edit.hidden = !edit.hidden; } }, "Edit"),
        " ", el("button", { type: "button", class: "secondary", onclick: remove }, "Delete")),
      edit));
  }
  const valued = await Promise.all(portfolios.data.items.map((p) => api(`/v1/portfolios/${p.id}`)));
  for (const res of valued) {
    if (!res.ok) {
      root.append(errorBox(res));
      continue;
    }
    const p = res.data;
    root.append(table(`${p.name}: market value ${fmtNumber(p.totals.market_value)}, unrealised P/L ${fmtNumber(p.totals.unrealised_pl)}`, [
      { label: "Ticker", value: (x) => x.ticker },
      { label: "Quantity", value: (x) => fmtNumber(x.quantity), num: true },
      { label: "Price", value: (x) => fmtNumber(x.price), num: true },
      { label: "Market value", value: (x) => fmtNumber(x.market_value), num: true },
      { label: "P/L", value: (x) => fmtNumber(x.unrealised_pl), num: true },
      { label: "P/L %", value: (x) => (x.unrealised_pl_pct === null || x.unrealised_pl_pct === undefined ? "—" : `${x.unrealised_pl_pct}%`), num: true },
      { label: "Allocation", value: (x) => (x.allocation_pct === null || x.allocation_pct === undefined ? "—" : `${x.allocation_pct}%`), num: true },
    ], p.positions));
  }
}

/** "aapl, msft  nvda" -> ["AAPL", "MSFT", "NVDA"]: the API checks each one. */
const tickerList = (text) => text.split(/[\s,;]+/).map((t) => t.trim().toUpperCase()).filter(Boolean);
