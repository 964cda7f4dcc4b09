// The HTTP API, with the signed-in user's bearer token (only ever in a header).
import { refresh, session } from "./auth.js";

const config = window.SLUICE_CONFIG || {};
export const apiUrl = (config.apiUrl || "").replace(/\/$/, "");
export const eventsUrl = (config.eventsUrl || "").replace(/\/$/, "");
/** The chat's streaming function URL in AWS; locally the API itself streams. */
export const chatUrl = (config.chatUrl || config.apiUrl || "").replace(/\/$/, "");

let onUnauthenticated = () => {};
export const whenUnauthenticated = (fn) => (onUnauthenticated = fn);

/** {ok, status, data, problem, headers}: never throws for an HTTP answer. A token about
 *  to expire is refreshed first; a 401 is retried once with a refreshed token. */
export async function api(path, options = {}) {
  if (session.expired(60)) await refresh();
  const first = await call(path, options);
  if (first.status !== 401 || !(await refresh())) {
    if (first.status === 401) onUnauthenticated();
    return first;
  }
  const again = await call(path, options);
  if (again.status === 401) onUnauthenticated();
  return again;
}

async function call(path, { method = "GET", body, base = apiUrl } = {}) {
  const headers = { Authorization: `Bearer ${session.token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    return { ok: false, status: 0, problem: { title: "Sluice cannot be reached", detail: "check the connection and try again" } };
  }
  let data = null;
  const type = res.headers.get("content-type") || "";
  if (type.includes("json")) data = await res.json().catch(() => null);
  return res.ok
    ? { ok: true, status: res.status, data, headers: res.headers }
    : { ok: false, status: res.status, problem: data || {}, headers: res.headers };
}

/** Every page of a listing route, up to `max` items. */
export async function all(path, max = 1000) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const res = await api(`${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (!res.ok) return res;
    items.push(...res.data.items);
    cursor = res.data.next_cursor;
  } while (cursor && items.length < max);
  return { ok: true, status: 200, data: { items } };
}

/** POST `body` and hand each Server-Sent Event of the answer to `onEvent(type, data)` as
 *  it arrives (EventSource cannot POST or send a token). A refusal before the stream is
 *  returned like api()'s answers: {ok: false, status, problem}. */
export async function postStream(path, body, onEvent, { base = apiUrl } = {}) {
  if (session.expired(60)) await refresh();
  let res;
  try {
    res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${session.token()}`, "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    return { ok: false, status: 0, problem: { title: "Sluice cannot be reached", detail: "check the connection and try again" } };
  }
  if (!res.ok) {
    if (res.status === 401) onUnauthenticated();
    return { ok: false, status: res.status, problem: (await res.json().catch(() => null)) || {} };
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffer += decoder.decode(value, { stream: true });
    // Events end with a blank line; each has an `event:` and one `data:` line of JSON.
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      let type = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) type = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (!data.length) continue;
      let parsed;
      try {
        parsed = JSON.parse(data.join("\n"));
      } catch (e) {
        continue;
      }
      onEvent(type, parsed);
    }
    if (done) break;
  }
  return { ok: true, status: res.status };
}
