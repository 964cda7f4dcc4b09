// The caller's events, live: trades the token for a single-use ticket, opens the event
// stream (EventSource cannot send headers; a token never goes in a URL), reconnects with a
// new ticket and the last event id (nothing lost, nothing shown twice), tells each page's
// listeners and shows a toast for each event.
import { api, eventsUrl } from "./api.js";
import { session } from "./auth.js";
import { $, el } from "./util.js";

const TYPES = [
  "UploadChecked", "DatasetLoaded", "AnalysisCompleted", "AnalysisFailed", "FeedbackTriaged",
  "PriceRefreshSummary", "PriceRefreshProgress", "FeedbackReceived", "DatasetUploaded", "FilingRequested", "AnalysisRequested",
  "KpiAlert",
];
const listeners = new Set();
let source = null;
let timer = null;
let generation = 0;
let retryMs = 1000;
let lastId = Number(sessionStorage.getItem("sluice.lastEventId") || 0) || 0;

/** fn(type, data) for every event; returns the unsubscribe function. */
export function onEvent(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setState(state, text) {
  const live = $("#live");
  live.dataset.state = state;
  live.textContent = text;
}

const n = (x) => (typeof x === "number" ? x.toLocaleString() : String(x ?? "?"));

/** A line a person reads, and how it went (ok, warn, bad). */
export function describe(type, d) {
  switch (type) {
    case "UploadChecked":
      if (d.verdict === "refused") return [`Upload refused: ${d.reason || d.key}`, "bad"];
      if (d.verdict === "duplicate") return [`Same file as load #${d.duplicate_of}: not loaded again`, "warn"];
      return [`Upload to ${d.dataset} checked; loading`, "ok"];
    case "DatasetLoaded": {
      const c = d.counts || {};
      const how = { success: "ok", partial: "warn" }[d.status] || "bad";
      if (d.status === "failed") return [`Load of ${d.dataset} failed: ${d.failure_reason || ""}`, how];
      return [`${d.dataset} loaded (${d.status}): ${n(c.inserted)} inserted, ${n(c.updated)} updated, ${n(c.rejected || 0)} rejected`, how];
    }
    case "AnalysisCompleted":
      return [`Analysis completed: ${d.kind} of ${d.accession}`, "ok"];
    case "AnalysisFailed":
      return [`Analysis failed: ${d.reason}`, "bad"];
    case "FeedbackTriaged":
      return [`Feedback triaged: ${d.category} (${d.priority})`, "ok"];
    case "PriceRefreshSummary":
      return [`Market data refreshed: ${n(d.updated)} updated of ${n(d.total)}`, "ok"];
    case "KpiAlert":
      return [`KPI alert (${d.severity}): ${d.message}`, d.severity === "info" ? "warn" : "bad"];
    case "PriceRefreshProgress":
      return null; // progress is for the Market page, not a toast each time
    default:
      return [type, "ok"];
  }
}

export function toast(text, outcome = "ok") {
  const box = $("#toasts");
  const item = el("div", { class: "toast", dataset: { outcome } }, text);
  box.append(item);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => item.remove(), 8000);
}

function deliver(message) {
  let event;
  try {
    event = JSON.parse(message.data);
  } catch (e) {
    return;
  }
  const id = Number(event.id);
  if (!(id > lastId)) return;
  lastId = id;
  sessionStorage.setItem("sluice.lastEventId", String(id));
  const what = describe(event.type, event.data || {});
  if (what) toast(what[0], what[1]);
  for (const fn of listeners) fn(event.type, event.data || {});
}

export function disconnect() {
  generation += 1;
  if (timer) clearTimeout(timer);
  timer = null;
  if (source) source.close();
  source = null;
}

function later(why) {
  disconnect();
  const wait = retryMs;
  retryMs = Math.min(retryMs * 2, 30000);
  setState("connecting", `${why}; retrying`);
  timer = setTimeout(connect, wait);
}

export async function connect() {
  disconnect();
  const mine = generation;
  if (!session.token()) return setState("signed-out", "Not connected");
  setState("connecting", "Connecting");
  // Through api(): a token about to expire is refreshed before the ticket is asked for.
  const res = await api("/v1/events/ticket", { method: "POST", base: eventsUrl });
  if (mine !== generation) return;
  if (res.status === 401) return setState("error", "Signed out: sign in again");
  if (!res.ok || !res.data || !res.data.ticket) return later("Cannot reach Sluice");
  const ticket = res.data.ticket;
  if (mine !== generation) return;
  const url = `${eventsUrl}/v1/events/stream?ticket=${encodeURIComponent(ticket)}` + (lastId > 0 ? `&last_event_id=${lastId}` : "");
  const es = new EventSource(url);
  source = es;
  es.onopen = () => {
    retryMs = 1000;
    setState("connected", "Live");
  };
  for (const type of TYPES) es.addEventListener(type, deliver);
  es.onmessage = deliver;
  // The ticket is spent: EventSource's own retry would be refused, so start over.
  es.onerror = () => {
    if (source !== es) return;
    const clean = es.readyState !== EventSource.CLOSED;
    if (clean) retryMs = 1000;
    later(clean ? "Stream ended" : "Connection lost");
  };
}
