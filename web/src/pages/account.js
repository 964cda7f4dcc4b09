// Account: tier, limits, credits, usage this month, a credit top-up (Stripe Checkout) and
// which e-mails the user gets.
import { api } from "../api.js";
import { el, empty, errorBox, fmtDate, fmtMoney, fmtNumber, problemText, table } from "../util.js";

export default async function account(root, ctx) {
  const me = await api("/v1/me");
  if (!me.ok) return root.append(errorBox(me));
  const m = (ctx.me = me.data);
  const l = m.limits;
  const u = m.usage;
  root.append(
    el("div", { class: "grid" },
      el("div", { class: "card" },
        el("h2", {}, "Plan"),
        el("dl", { id: "account-summary" },
          el("dt", {}, "User"), el("dd", {}, m.user_id),
          el("dt", {}, "Tier"), el("dd", { id: "tier" }, m.tier),
          el("dt", {}, "Team"), el("dd", {}, m.team_member ? "member" : "not a member"),
          el("dt", {}, "Credits"), el("dd", { id: "credits" }, fmtMoney(m.credit_balance)),
          el("dt", {}, "Next monthly credits"), el("dd", {}, m.credit_reset_date || "—"),
          el("dt", {}, "Member since"), el("dd", {}, fmtDate(m.member_since)))),
      el("div", { class: "card" },
        el("h2", {}, "Limits"),
        el("dl", {},
          el("dt", {}, "Requests per hour"), el("dd", {}, `${fmtNumber(u.requests_this_hour)} of ${fmtNumber(l.requests_per_hour)}`),
          el("dt", {}, "Requests per day"), el("dd", {}, `${fmtNumber(u.requests_today)} of ${fmtNumber(l.requests_per_day)}`),
          el("dt", {}, "Analyses at once"), el("dd", {}, `${fmtNumber(u.active_analyses)} of ${fmtNumber(l.concurrent_analyses)}`),
          el("dt", {}, "History"), el("dd", {}, `${l.history_years} years${l.sp500_only ? ", S&P 500 only" : ""}`),
          el("dt", {}, "Filing access fee"), el("dd", {}, fmtMoney(l.filing_access_fee)),
          el("dt", {}, "Analysis fee"), el("dd", {}, fmtMoney(l.analysis_fee)),
          el("dt", {}, "Monthly credits"), el("dd", {}, fmtMoney(l.monthly_credits)),
          el("dt", {}, "Held by running tasks"), el("dd", {}, fmtMoney(u.held)),
          el("dt", {}, "Spent, last 30 days"), el("dd", {}, fmtMoney(u.spent_last_30_days)))),
      topUp()),
  );
  root.append(el("h2", {}, "E-mail notifications"), await notifications());
  const usage = await api("/v1/me/usage");
  root.append(el("h2", {}, "This month's credit movements"));
  if (!usage.ok) return root.append(errorBox(usage));
  if (!usage.data.items.length) root.append(empty("No credit movements this month."));
  else
    root.append(
      table(`Credit movements, ${usage.data.month}`, [
        { label: "When", value: (r) => fmtDate(r.time) },
        { label: "What", value: (r) => r.description || r.kind },
        { label: "Amount", value: (r) => fmtMoney(r.amount), num: true },
        { label: "Balance after", value: (r) => fmtMoney(r.balance_after), num: true },
      ], usage.data.items),
    );
}

function topUp() {
  const status = el("p", { role: "status" });
  const form = el("form", { class: "card" },
    el("h2", {}, "Top up"),
    el("label", { for: "top-up-amount" }, "Amount in dollars ($5.00 to $500.00)"),
    el("input", { id: "top-up-amount", name: "amount", inputmode: "decimal", value: "10.00", required: true }),
    el("button", { type: "submit" }, "Top up credits"),
    status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    status.textContent = "Opening the payment page…";
    const res = await api("/v1/billing/checkout", { method: "POST", body: { amount: form.amount.value.trim() } });
    if (res.ok && res.data.url) location.assign(res.data.url);
    else status.textContent = `Top-up not available: ${problemText(res)}`;
  });
  return form;
}

const KINDS = {
  upload_failed: "An upload refused or a load failed",
  load_partial: "A load that left rows out",
  analysis_completed: "An analysis completed",
  analysis_failed: "An analysis failed",
  low_balance: "Credits running low",
  feedback_p0: "A P0 feedback ticket (team)",
  kpi_alert: "A new KPI alert (team)",
};

/** One box per kind of e-mail; a change is stored at once (PUT /v1/me/notifications). */
async function notifications() {
  const prefs = await api("/v1/me/notifications");
  if (!prefs.ok) return errorBox(prefs);
  const status = el("p", { role: "status", id: "notifications-status", class: "hint" });
  const address = prefs.data.email_address;
  const boxes = Object.entries(prefs.data.email).map(([kind, on]) => {
    const box = el("input", { type: "checkbox", id: `notify-${kind}`, name: kind, checked: on });
    box.addEventListener("change", async () => {
      status.textContent = "Saving…";
      const res = await api("/v1/me/notifications", { method: "PUT", body: { email: { [kind]: box.checked } } });
      if (res.ok) status.textContent = `Saved: ${KINDS[kind] || kind} ${box.checked ? "on" : "off"}.`;
      else {
        box.checked = !box.checked;
        status.textContent = `Not saved: ${problemText(res)}`;
      }
    });
    return el("label", { class: "check", for: `notify-${kind}` }, box, KINDS[kind] || kind.replace(/_/g, " "));
  });
  return el("fieldset", { id: "notifications" },
    el("legend", {}, address ? `E-mails to ${address}` : "E-mails (your sign-in has no e-mail address yet: none are sent)"),
    boxes, status);
}
