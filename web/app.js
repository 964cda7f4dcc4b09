// The live page: signs in with a bearer token, opens the event stream with a single-use
// ticket, shows each event as it arrives and reconnects by itself (with a new ticket and
// the last event id, so nothing is lost and nothing is shown twice).
// Plain JavaScript, no build step. The token stays in this tab (sessionStorage) and is
// only ever sent in an Authorization header, never in a URL.
"use strict";

(function () {
  const config = window.SLUICE_CONFIG || {};
  const eventsUrl = (config.eventsUrl || "").replace(/\/$/, "");
  const apiUrl = (config.apiUrl || "").replace(/\/$/, "");
  const TYPES = [
    "UploadChecked", "DatasetLoaded", "AnalysisCompleted", "AnalysisFailed", "FeedbackTriaged",
    "PriceRefreshSummary", "PriceRefreshProgress", "FeedbackReceived", "DatasetUploaded", "FilingRequested", "AnalysisRequested",
  ];
  const MAX_SHOWN = 200;

  const $ = (id) => document.getElementById(id);
  const list = $("events");
  const status = $("status");
  let source = null;
  let lastId = Number(sessionStorage.getItem("sluice.lastEventId") || 0) || 0;
  let retryMs = 1000;
  let timer = null;
  let generation = 0;

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function token() {
    return sessionStorage.getItem("sluice.token") || "";
  }

  function text(tag, value, cls) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }

  function n(x) {
    return typeof x === "number" ? x.toLocaleString() : String(x ?? "?");
  }

  // What an event says, in a line a person reads (always as text, never as HTML), and
  // whether it went well (`outcome`: ok, warn or bad; the colour of its card).
  function describe(type, data) {
    switch (type) {
      case "UploadChecked": {
        const where = data.dataset ? `Upload to ${data.dataset}` : "Upload";
        if (data.verdict === "refused") return { title: `${where} refused`, detail: `${data.key}: ${data.reason || ""}`, outcome: "bad" };
        if (data.verdict === "duplicate") return { title: `${where}: same file as load #${data.duplicate_of}, not loaded again`, detail: data.key, outcome: "warn" };
        return { title: `${where} queued`, detail: `${data.key}: loads of one dataset run one at a time`, outcome: "warn" };
      }
      case "DatasetLoaded": {
        const c = data.counts || {};
        const parts = [`${n(c.inserted)} inserted`, `${n(c.updated)} updated`, `${n(c.unchanged)} unchanged`];
        if (c.rejected) parts.push(`${n(c.rejected)} rejected`);
        if (c.stale) parts.push(`${n(c.stale)} stale`);
        const why = data.failure_reason ? ` — ${data.failure_reason}` : "";
        const outcome = { success: "ok", partial: "warn" }[data.status] || "bad";
        const title = data.status === "failed" ? `Dataset ${data.dataset}: load failed` : `Dataset ${data.dataset} loaded (${data.status})`;
        return { title, detail: `${data.key}: ${parts.join(", ")}${why}`, outcome };
      }
      case "AnalysisCompleted":
        return {
          title: `Analysis completed: ${data.kind}`,
          detail: `Filing ${data.accession}, model ${data.model}`,
          link: { href: `${apiUrl}/v1/analyses/${encodeURIComponent(data.analysis_id)}`, label: "Open the result" },
          outcome: "ok",
        };
      case "AnalysisFailed":
        return { title: `Analysis failed: ${data.kind}`, detail: data.reason, outcome: "bad" };
      case "FeedbackTriaged":
        return {
          title: `Feedback triaged: ${data.category} (${data.priority})`,
          detail: `${data.summary} — ${String(data.source).replace("_", " ")} #${data.external_id}`,
        };
      case "PriceRefreshSummary":
        return {
          title: `Market data refreshed (${String(data.kind).replace("_", " ")})`,
          detail: `${n(data.updated)} updated, ${n(data.unchanged)} unchanged, ${(data.rejected || []).length} with rows refused, ${(data.failed || []).length} failed, of ${n(data.total)}`,
        };
      case "PriceRefreshProgress":
        return { title: `Market data refresh under way (${String(data.kind).replace("_", " ")})`, detail: `${n(data.done)} of ${n(data.total)} tickers` };
      default:
        return { title: type, detail: JSON.stringify(data) };
    }
  }

  function show(event) {
    const id = Number(event.id);
    if (!(id > lastId)) return; // already shown
    lastId = id;
    sessionStorage.setItem("sluice.lastEventId", String(id));
    const what = describe(event.type, event.data || {});
    const li = document.createElement("li");
    li.dataset.eventId = String(id);
    li.dataset.type = event.type;
    if (what.outcome) li.dataset.outcome = what.outcome;
    li.appendChild(text("span", what.title, "kind"));
    const when = text("time", new Date(event.occurred_at).toLocaleString());
    when.dateTime = event.occurred_at;
    li.appendChild(when);
    if (what.detail) li.appendChild(text("div", what.detail, "detail"));
    if (what.link) {
      const a = text("a", what.link.label);
      a.href = what.link.href;
      a.rel = "noopener";
      // A plain link cannot carry the bearer token: fetch the result and show it here.
      a.addEventListener("click", (e) => {
        e.preventDefault();
        openResult(a.href, li);
      });
      const p = document.createElement("div");
      p.className = "detail";
      p.appendChild(a);
      li.appendChild(p);
    }
    list.prepend(li);
    while (list.children.length > MAX_SHOWN) list.lastElementChild.remove();
    $("empty").hidden = true;
  }

  async function openResult(href, li) {
    let box = li.querySelector(".result");
    if (!box) {
      box = text("pre", "Loading…", "result");
      box.tabIndex = 0;
      li.appendChild(box);
    }
    try {
      const res = await fetch(href, { headers: { Authorization: `Bearer ${token()}` }, cache: "no-store" });
      const body = await res.json();
      if (!res.ok) {
        box.textContent = `${body.title || "Refused"}: ${body.detail || res.status}`;
        return;
      }
      const summary = (body.body && (body.body.summary || body.body.overview)) || "";
      const filing = body.filing || {};
      box.textContent = [
        `${body.kind} of ${filing.company || ""} ${filing.form || ""} (${filing.accession || ""}), model ${body.model}`,
        summary ? `\n${typeof summary === "string" ? summary : JSON.stringify(summary, null, 2)}` : "",
        `\n${JSON.stringify(body.body, null, 2)}`,
      ].join("");
    } catch (e) {
      box.textContent = "The result could not be read; try again.";
    }
  }

  function stop() {
    generation += 1;
    if (timer) clearTimeout(timer);
    timer = null;
    if (source) source.close();
    source = null;
  }

  function reconnectLater(why) {
    stop();
    const wait = retryMs;
    retryMs = Math.min(retryMs * 2, 30000);
    setStatus("connecting", `${why}; reconnecting in ${Math.round(wait / 1000)} s…`);
    timer = setTimeout(connect, wait);
  }

  async function connect() {
    stop();
    const mine = generation;
    if (!token()) {
      setStatus("signed-out", "Not connected: paste a token.");
      return;
    }
    setStatus("connecting", "Connecting…");
    let ticket;
    try {
      const res = await fetch(`${eventsUrl}/v1/events/ticket`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token()}` },
        cache: "no-store",
      });
      if (res.status === 401) {
        setStatus("error", "The token was refused (expired or not valid here): paste a new one.");
        return;
      }
      if (!res.ok) throw new Error(`ticket: HTTP ${res.status}`);
      ticket = (await res.json()).ticket;
    } catch (e) {
      if (mine === generation) reconnectLater("Cannot reach Sluice");
      return;
    }
    if (mine !== generation) return;
    // EventSource sends Last-Event-ID only on its own reconnects; a new one says it in the URL.
    const url = `${eventsUrl}/v1/events/stream?ticket=${encodeURIComponent(ticket)}` + (lastId > 0 ? `&last_event_id=${lastId}` : "");
    const es = new EventSource(url);
    source = es;
    es.onopen = () => {
      retryMs = 1000;
      setStatus("connected", "Connected: live.");
    };
    const onEvent = (message) => {
      try {
        show(JSON.parse(message.data));
      } catch (e) {
        console.warn("unreadable event", e);
      }
    };
    for (const type of TYPES) es.addEventListener(type, onEvent);
    es.onmessage = onEvent;
    // The stream ends before the function's time limit, or the network dropped: the ticket
    // is spent, so EventSource's own retry would be refused. Start over with a new ticket.
    es.onerror = () => {
      if (source !== es) return;
      const clean = es.readyState !== EventSource.CLOSED;
      retryMs = clean ? 1000 : retryMs;
      reconnectLater(clean ? "Stream ended" : "Connection lost");
    };
  }

  $("sign-in").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = $("token").value.trim();
    if (value) sessionStorage.setItem("sluice.token", value);
    $("token").value = "";
    retryMs = 1000;
    connect();
  });
  $("sign-out").addEventListener("click", () => {
    stop();
    sessionStorage.removeItem("sluice.token");
    setStatus("signed-out", "Signed out.");
  });

  connect();
})();
