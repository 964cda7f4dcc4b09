// Ask: search over filings, analyses and the team's documents (GET /v1/search), each
// passage with its citation; opening a citation shows the cited passage in full. The chat
// (answers written from these passages) is not in the API yet, and the page says so.
import { api } from "../api.js";
import { clear, el, empty, errorBox } from "../util.js";

const SOURCES = [
  ["", "Everything I may read"],
  ["filing", "Filings"],
  ["analysis", "Analyses"],
  ["team", "Team documents"],
];

/** "Q3 memo.pdf, page 2" or "AAPL 10-K 2024, Item 7", from a hit's citation. */
export function citationText(hit) {
  const c = hit.citation || {};
  const where = c.page ? `page ${c.page}` : c.section || null;
  return [c.title || "untitled", where].filter(Boolean).join(", ");
}

export default async function ask(root, ctx) {
  const sources = SOURCES.filter(([v]) => v !== "team" || (ctx.me && ctx.me.team_member));
  const form = el("form", { class: "row", id: "ask-form", role: "search" },
    el("span", {}, el("label", { for: "ask-q" }, "Question"),
      el("input", { id: "ask-q", name: "q", type: "search", required: true, maxlength: 2000, size: 40, placeholder: "e.g. cash runway of Acme" })),
    el("span", {}, el("label", { for: "ask-ticker" }, "Ticker"), el("input", { id: "ask-ticker", name: "ticker", size: 8 })),
    el("span", {}, el("label", { for: "ask-source" }, "In"),
      el("select", { id: "ask-source", name: "source" }, sources.map(([v, label]) => el("option", { value: v }, label)))),
    el("button", { type: "submit" }, "Search"));
  const out = el("div", { id: "ask-results", "aria-live": "polite" });
  root.append(
    el("p", { class: "empty" }, "Answers written by a model from these passages (the chat) are not available yet: the search below finds the passages, each with where it comes from."),
    form,
    out,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const params = new URLSearchParams({ q: form.q.value.trim(), limit: "10" });
    if (form.ticker.value.trim()) params.set("ticker", form.ticker.value.trim().toUpperCase());
    if (form.source.value) params.set("source", form.source.value);
    clear(out).append(el("p", {}, "Searching…"));
    const res = await api(`/v1/search?${params}`);
    clear(out);
    if (!res.ok) return out.append(errorBox(res));
    const hits = res.data.results || [];
    out.dataset.count = String(hits.length);
    if (!hits.length) return out.append(empty("Nothing found. Filings appear once fetched; team documents once dropped under knowledge/ in the uploads bucket."));
    out.append(el("ol", { class: "hits" }, hits.map((hit) => el("li", { class: "hit" },
      el("p", { class: "hit-header" }, hit.header),
      el("p", {}, hit.text.length > 320 ? `${hit.text.slice(0, 320)}…` : hit.text),
      el("details", { class: "citation" },
        el("summary", {}, citationText(hit)),
        el("blockquote", {}, hit.text),
        el("p", { class: "muted" }, `characters ${hit.citation.char_start}–${hit.citation.char_end}${hit.citation.s3_key ? ` of ${hit.citation.s3_key}` : ""}`))))),
      el("p", { class: "muted" }, `Ranked by ${res.data.model} and full text together.`));
  });
}
