// Sign-in. Locally (config auth.mode "local", written by the local runner) a screen asks
// for a user, tier and team flag and the runner's POST /local/token issues a token. In AWS
// (auth.mode "cognito") the Cognito Hosted UI signs in with the authorization code flow
// and PKCE. The token is kept in this tab's sessionStorage and sent only in headers; the
// one-time code Cognito puts in the URL is exchanged and removed from the address bar.
// Cognito's id token lasts an hour: its refresh token (same storage, never in a URL) gets
// a new one shortly before it expires, or when the API says 401, so a session lasts as
// long as the refresh token does (30 days by default).
import { el } from "./util.js";

const config = window.SLUICE_CONFIG || {};
const auth = config.auth || {};
const KEY = "sluice.token";
const REFRESH_KEY = "sluice.refresh";

export const session = {
  token: () => sessionStorage.getItem(KEY) || "",
  set: (token) => sessionStorage.setItem(KEY, token),
  clear: () => {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(REFRESH_KEY);
    sessionStorage.removeItem("sluice.lastEventId");
  },
  /** The token's claims (not verified here: the API verifies every request). */
  claims() {
    const t = this.token().split(".")[1];
    if (!t) return null;
    try {
      return JSON.parse(atob(t.replace(/-/g, "+").replace(/_/g, "/")));
    } catch (e) {
      return null;
    }
  },
  /** Expired, or expiring within `marginS` seconds. */
  expired(marginS = 0) {
    const c = this.claims();
    return !c || (typeof c.exp === "number" && c.exp * 1000 <= Date.now() + marginS * 1000);
  },
};

export const mode = auth.mode === "cognito" ? "cognito" : auth.mode === "local" ? "local" : "none";

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

async function cognitoSignIn() {
  const verifier = random(48);
  const state = random(24);
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem("sluice.pkce", JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({
    response_type: "code",
    client_id: auth.clientId,
    redirect_uri: auth.redirectUri,
    scope: "openid email profile",
    state,
    code_challenge_method: "S256",
    code_challenge: challenge,
  });
  location.assign(`${auth.domain}/oauth2/authorize?${q}`);
}

/** Back from the Hosted UI with ?code=&state=: trades the code for tokens. */
export async function completeSignIn() {
  if (mode !== "cognito") return null;
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  if (!code && !params.get("error")) return null;
  history.replaceState(null, "", location.pathname + location.hash);
  const pending = JSON.parse(sessionStorage.getItem("sluice.pkce") || "null");
  sessionStorage.removeItem("sluice.pkce");
  if (!code) return `Sign-in was refused: ${params.get("error_description") || params.get("error")}`;
  if (!pending || pending.state !== params.get("state")) return "Sign-in did not start here; try again.";
  const res = await fetch(`${auth.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: auth.clientId,
      code,
      redirect_uri: auth.redirectUri,
      code_verifier: pending.verifier,
    }),
  }).catch(() => null);
  if (!res || !res.ok) return "Sign-in could not be completed; try again.";
  const tokens = await res.json();
  // The id token carries the tier and the groups the API reads.
  session.set(tokens.id_token);
  if (tokens.refresh_token) sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
  return null;
}

let refreshing = null;

/** A new id token from the refresh token (Cognito's refresh_token grant); true when the
 *  session goes on. One request at a time, however many callers ask. */
export function refresh() {
  if (mode !== "cognito" || !sessionStorage.getItem(REFRESH_KEY)) return Promise.resolve(false);
  refreshing ||= (async () => {
    const res = await fetch(`${auth.domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        client_id: auth.clientId,
        refresh_token: sessionStorage.getItem(REFRESH_KEY),
      }),
      cache: "no-store",
    }).catch(() => null);
    const tokens = res && res.ok ? await res.json().catch(() => null) : null;
    if (!tokens || !tokens.id_token) {
      // Revoked or expired: the user signs in again.
      sessionStorage.removeItem(REFRESH_KEY);
      return false;
    }
    session.set(tokens.id_token);
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export function signOut() {
  session.clear();
  if (mode === "cognito") {
    const q = new URLSearchParams({ client_id: auth.clientId, logout_uri: auth.redirectUri });
    location.assign(`${auth.domain}/logout?${q}`);
  } else {
    location.hash = "";
    location.reload();
  }
}

/** The sign-in screen: the local form, or the Hosted UI button. */
export function signInScreen(root, onSignedIn, message) {
  const note = message ? el("p", { class: "error", role: "alert" }, message) : null;
  if (mode === "cognito") {
    root.append(
      el("section", { class: "card narrow" },
        el("h1", {}, "Sign in"),
        note,
        el("p", {}, "Sign in with your Sluice account."),
        el("button", { type: "button", onclick: cognitoSignIn }, "Sign in")),
    );
    return;
  }
  if (mode !== "local") {
    root.append(el("p", { class: "error", role: "alert" }, "This page has no sign-in configured (config.js)."));
    return;
  }
  const status = el("p", { role: "status" });
  const form = el("form", { class: "card narrow", id: "local-sign-in" },
    el("h1", {}, "Sign in (local stack)"),
    note,
    el("p", { class: "hint" }, "The local runner issues a token for whoever you say; in AWS this is Cognito's sign-in."),
    el("label", { for: "user" }, "User"),
    el("input", { id: "user", name: "user", required: true, autocomplete: "username", value: "ana", pattern: "[A-Za-z0-9._@\\-]{1,64}" }),
    el("label", { for: "tier" }, "Tier"),
    el("select", { id: "tier", name: "tier" },
      ["demo", "basic", "professional", "enterprise"].map((t) => el("option", { value: t, selected: t === "basic" }, t))),
    el("label", { class: "check" }, el("input", { type: "checkbox", id: "team", name: "team", checked: true }), " Research team member"),
    el("button", { type: "submit" }, "Sign in"),
    status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    status.textContent = "Signing in…";
    const res = await fetch("/local/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: form.user.value.trim(), tier: form.tier.value, team: form.team.checked }),
      cache: "no-store",
    }).catch(() => null);
    const body = res ? await res.json().catch(() => ({})) : {};
    if (!res || !res.ok || !body.token) {
      status.textContent = `Sign-in refused: ${body.detail || body.title || "the local runner did not answer"}`;
      return;
    }
    session.set(body.token);
    onSignedIn();
  });
  root.append(form);
}
