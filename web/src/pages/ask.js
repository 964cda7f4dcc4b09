// Ask: the chat (a conversation whose answers stream in as Server-Sent Events: text, the
// tools the model ran, the passages it cites), and the search over filings, analyses and
// the team's documents (GET /v1/search) it draws on. Opening a citation shows the cited
// passage in full.
import { api, chatUrl, postStream } from "../api.js";
import { clear, el, empty, errorBox, fmtMoney } from "../util.js";

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

/** The chat: one conversation per visit of the page, each answer streamed into place. */
function chat() {
  let conversation = null;
  const log = el("div", { id: "chat-log", "aria-live": "polite" });
  const form = el("form", { id: "chat-form" },
    el("label", { for: "chat-q" }, "Ask a question (a company's KPIs, a ticker, a filing, the team's documents)"),
    el("textarea", { id: "chat-q", name: "q", required: true, maxlength: 2000, rows: 2 }),
    el("button", { type: "submit" }, "Ask"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const question = form.q.value.trim();
    if (!question) return;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await turn(question);
      form.q.value = "";
    } finally {
      button.disabled = false;
    }
  });

  async function turn(question) {
    const text = el("div", { class: "answer-text" });
    const tools = el("ul", { class: "tools" });
    const citations = el("ol", { class: "citations" });
    const footer = el("p", { class: "hint" }, "Answering…");
    const answer = el("div", { class: "answer card", dataset: { state: "streaming" } }, text, tools, citations, footer);
    log.append(el("p", { class: "question" }, el("strong", {}, "You: "), question), answer);
    if (!conversation) {
      const made = await api("/v1/conversations", { method: "POST", base: chatUrl });
      if (!made.ok) return fail(answer, footer, errorBox(made));
      conversation = made.data.id;
    }
    const res = await postStream(`/v1/conversations/${encodeURIComponent(conversation)}/messages`, { question }, (type, d) => {
      if (type === "message_chunk") text.append(d.text);
      else if (type === "tool_call") tools.append(el("li", { dataset: { id: d.id } }, `Looked up ${d.name.replace(/_/g, " ")}…`));
      else if (type === "tool_result") {
        const li = tools.querySelector(`li[data-id="${CSS.escape(String(d.id))}"]`) || tools.appendChild(el("li"));
        li.textContent = `${d.name.replace(/_/g, " ")}: ${d.status === 200 ? `${d.rows ?? 0} rows` : `refused (${d.status})`}`;
      } else if (type === "citation")
        citations.append(el("li", {}, el("details", { class: "citation" },
          el("summary", {}, `[${d.n}] ${citationText(d)}`),
          el("blockquote", {}, d.text))));
      else if (type === "done") {
        answer.dataset.state = "done";
        footer.textContent = `${d.model ? `Answered by ${d.model}` : "No model: passages and figures as stored"}; charged ${fmtMoney(d.charged)}`;
      } else if (type === "error") {
        answer.dataset.state = "error";
        footer.textContent = `The answer failed: ${d.detail || d.type}`;
      }
    }, { base: chatUrl });
    if (!res.ok) return fail(answer, footer, errorBox(res));
    if (answer.dataset.state === "streaming") {
      answer.dataset.state = "error";
      footer.textContent = "The answer broke off; ask again.";
    }
  }
  return el("section", { "aria-label": "Chat" }, log, form);
}

function fail(answer, footer, box) {
  answer.dataset.state = "error";
  footer.replaceWith(box);
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
    el("h2", {}, "Ask Sluice"),
    chat(),
    el("h2", {}, "Search the passages"),
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
