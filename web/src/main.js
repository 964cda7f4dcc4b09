// The Sluice web app: sign-in, then one page per task (hash routes: #/account, ...),
// a live indicator and toasts for the caller's events on every page.
import "./app.css";
import { api, whenUnauthenticated } from "./api.js";
import { completeSignIn, mode, refresh, session, signInScreen, signOut } from "./auth.js";
import { connect, disconnect } from "./live.js";
import { $, clear, el } from "./util.js";
import account from "./pages/account.js";
import portfolio from "./pages/portfolio.js";
import uploads from "./pages/uploads.js";
import dealflow from "./pages/dealflow.js";
import filings from "./pages/filings.js";
import feedback from "./pages/feedback.js";
import market from "./pages/market.js";
import ask from "./pages/ask.js";

const PAGES = [
  { path: "account", label: "Account", page: account },
  { path: "portfolio", label: "Portfolio", page: portfolio, team: true },
  { path: "uploads", label: "Uploads", page: uploads, team: true },
  { path: "dealflow", label: "Deal flow", page: dealflow, team: true },
  { path: "filings", label: "Filings", page: filings },
  { path: "feedback", label: "Feedback", page: feedback, team: true },
  { path: "market", label: "Market", page: market },
  { path: "ask", label: "Ask", page: ask },
];

const ctx = { me: null };
let leave = null;

function route() {
  const path = location.hash.replace(/^#\/?/, "").split("?")[0] || "account";
  return PAGES.find((p) => p.path === path) || PAGES[0];
}

async function show() {
  if (leave) leave();
  leave = null;
  const main = clear($("#main"));
  const current = route();
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.path === current.path) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${current.label} · Sluice`;
  const section = el("section", { class: "page", dataset: { page: current.path } });
  main.append(el("h1", {}, current.label), section);
  if (current.team && ctx.me && !ctx.me.team_member) {
    section.append(el("p", { class: "empty" }, "This page shows the research team's data: your account is not in the team."));
    return;
  }
  leave = (await current.page(section, ctx)) || null;
}

async function start(message) {
  const main = clear($("#main"));
  if (!session.token() || (session.expired() && !(await refresh()))) {
    session.clear();
    $("#nav").hidden = true;
    $("#sign-out").hidden = true;
    signInScreen(main, () => start(), message);
    return;
  }
  const me = await api("/v1/me");
  if (!me.ok) {
    if (me.status === 401) return; // whenUnauthenticated shows the sign-in screen
    main.append(el("p", { class: "error", role: "alert" }, `Your account could not be read: ${me.problem.title || me.status}`));
    return;
  }
  ctx.me = me.data;
  $("#whoami").textContent = `${me.data.user_id} · ${me.data.tier}${me.data.team_member ? " · team" : ""}`;
  const nav = clear($("#nav"));
  for (const p of PAGES) {
    if (p.team && !me.data.team_member) continue;
    nav.append(el("a", { href: `#/${p.path}`, dataset: { path: p.path } }, p.label));
  }
  nav.hidden = false;
  $("#sign-out").hidden = false;
  connect();
  await show();
}

whenUnauthenticated(() => {
  disconnect();
  session.clear();
  start("Your session ended: sign in again.");
});
window.addEventListener("hashchange", () => ctx.me && show());
$("#sign-out").addEventListener("click", () => {
  disconnect();
  signOut();
});

(async () => {
  const problem = await completeSignIn();
  if (mode === "none") console.warn("config.js does not say how to sign in");
  start(problem);
})();
