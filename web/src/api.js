// The HTTP API, with the signed-in user's bearer token (only ever in a header).
import { refresh, session } from "./auth.js";

const config = window.SLUICE_CONFIG || {};
export const apiUrl = (config.apiUrl || "").replace(/\/$/, "");
export const eventsUrl = (config.eventsUrl || "").replace(/\/$/, "");

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
