// Drives every page of the web app in Debian's headless chromium against a local stack
// and prints what it saw, one line each, for tests/web_app.rs to judge:
//   ME <tier> <credits>             the Account page, from GET /v1/me
//   UPLOAD <state> <text>           a KPI spreadsheet sent from the Uploads page, once its
//                                   load ended (live, from the event stream)
//   REJECTS <status> <first line>   its rejects file, downloaded from the page's link
//   CHART <points>                  the Portfolio page's KPI chart (uPlot), with its points
//   BUDGET <rows>                   the rows of its budget-against-actual table
//   ALERT <rows> <first row>        the Portfolio page's open KPI alerts, once the tracker
//                                   raised one for the load (live, from KpiAlert)
//   REPORT <companies> <text>       a report made from the Portfolio page
//   NOTIFY <status>                 an e-mail kind turned off on the Account page
//   WATCHLIST <tickers>             a watchlist made on the Market page, then edited
//   ANALYSIS <status> <text>        an analysis requested on the Filings page, once its task
//                                   ended (live, from the event stream)
//   TICKET <status>                 a ticket's status after changing it on the Feedback board
//   ASK <count> <citation>          the Ask page's passages for ASK_QUESTION, the first one's
//                                   citation, then its cited passage once opened
//   CHAT <state> <citations> <first citation> | <answer>   the chat's answer to ASK_QUESTION
//                                   once streamed (no model locally: the passages)
//   AXE <page> <problems>           axe-core's serious/critical violations (none: "ok")
//   NARROW <page> <width>           the page's scroll width in a 375 px wide window
// Screenshots go to SCREENSHOTS (a git-ignored folder) when set.
//
//   PAGE_URL=http://127.0.0.1:PORT/ USER_ID=ana KPI_CSV=... node web-app.mjs
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { accessibilityProblems, signIn, withPage } from "./common.mjs";

const { PAGE_URL, USER_ID = "ana", TIER = "basic", KPI_CSV, SCREENSHOTS, ASK_QUESTION = "", FILING } = process.env;
if (!PAGE_URL || !KPI_CSV) {
  console.error("PAGE_URL and KPI_CSV are required");
  process.exit(2);
}
if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
const PAGES = ["account", "portfolio", "uploads", "dealflow", "filings", "feedback", "market", "ask"];

async function settled(page, name) {
  await page.locator(`section.page[data-page=${name}]`).waitFor();
  // Every page has drawn its data (or said it is missing) once nothing says "Loading…".
  await page.waitForFunction(() => !document.querySelector("main").innerText.includes("Loading…"));
}

async function check(page, name) {
  const problems = await accessibilityProblems(page);
  console.log(`AXE ${name} ${problems.length ? problems.join(" | ") : "ok"}`);
  if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

await withPage(async (page) => {
  await page.goto(PAGE_URL);
  await page.locator("#local-sign-in").waitFor();
  await check(page, "sign-in");
  await signIn(page, { user: USER_ID, tier: TIER, team: true });
  await page.locator("#tier").waitFor();
  console.log(`ME ${await page.locator("#tier").innerText()} ${await page.locator("#credits").innerText()}`);
  await page.locator("#live[data-state=connected]").waitFor();
  await page.setChecked("#notify-kpi_alert", false);
  await page.locator("#notifications-status", { hasText: "Saved" }).waitFor();
  console.log(`NOTIFY ${await page.locator("#notifications-status").innerText()}`);
  await check(page, "account");

  // Uploads: the file goes to S3 by the presigned PUT; the page follows the load live.
  await page.click("#nav a[data-path=uploads]");
  await settled(page, "uploads");
  await page.selectOption("#dataset", "kpis");
  await page.setInputFiles("#file", { name: "web-kpis.csv", mimeType: "text/csv", buffer: Buffer.from(KPI_CSV) });
  const item = page.locator("#upload-progress li[data-state=loaded], #upload-progress li[data-state=failed], #upload-progress li[data-state=refused]");
  await item.first().waitFor();
  console.log(`UPLOAD ${await item.first().getAttribute("data-state")} ${(await item.first().innerText()).replace(/\s+/g, " ")}`);
  const rejects = page.locator("#upload-progress li a.rejects");
  await rejects.first().waitFor();
  const download = await fetch(await rejects.first().getAttribute("href"));
  console.log(`REJECTS ${download.status} ${(await download.text()).split("\n")[0]}`);
  await check(page, "uploads");

  // Portfolio: the KPI just loaded, charted.
  await page.click("#nav a[data-path=portfolio]");
  await settled(page, "portfolio");
  const chart = page.locator("figure.chart canvas");
  await chart.first().waitFor();
  console.log(`CHART ${await page.locator("figure.chart").first().getAttribute("data-points")}`);
  const budget = page.locator("table", { has: page.locator("caption", { hasText: "Budget against actual" }) });
  await budget.waitFor();
  console.log(`BUDGET ${await budget.locator("tbody tr").count()}`);
  const alert = page.locator("#alerts tbody tr").first();
  await alert.waitFor();
  console.log(`ALERT ${await page.locator("#alerts tbody tr").count()} ${(await alert.innerText()).replace(/\s+/g, " ")}`);
  await page.click("#make-report");
  const report = page.locator("#report [data-id]");
  await report.waitFor();
  console.log(`REPORT ${await report.getAttribute("data-companies")} ${(await report.innerText()).replace(/\s+/g, " ").slice(0, 400)}`);
  await check(page, "portfolio");

  // Market: a watchlist made on the page, then its tickers edited.
  await page.click("#nav a[data-path=market]");
  await settled(page, "market");
  await page.fill("#watchlist-name", "Tech");
  await page.fill("#watchlist-tickers", "aapl, msft");
  await page.click("#new-watchlist button[type=submit]");
  const list = page.locator(".watchlist[data-name=Tech]");
  await list.waitFor();
  await list.locator("button", { hasText: "Edit" }).click();
  await list.locator("input[name=tickers]").fill("AAPL");
  await list.locator("form button[type=submit]").click();
  await page.locator(".watchlist[data-name=Tech][data-tickers=AAPL]").waitFor();
  console.log(`WATCHLIST ${await page.locator(".watchlist[data-name=Tech]").getAttribute("data-tickers")}`);
  await check(page, "market");

  // Filings: an analysis requested on the page (FILING = "TICKER FORM YEAR KIND"), followed
  // live until its task ends.
  if (FILING) {
    const [ticker, form, year, kind] = FILING.split(" ");
    await page.click("#nav a[data-path=filings]");
    await settled(page, "filings");
    await page.fill("#ticker", ticker);
    await page.selectOption("#form", form);
    await page.fill("#year", year);
    await page.selectOption("#kind", kind);
    await page.click("#analysis-form button[type=submit]");
    const ended = page.locator("#task .task[data-status=completed], #task .task[data-status=failed], #task .task[data-status=pool], #task [role=alert]").first();
    await ended.waitFor();
    const status = (await ended.getAttribute("data-status")) || "refused";
    if (status === "completed") await page.locator("#analysis-result *").first().waitFor();
    console.log(`ANALYSIS ${status} ${(await ended.innerText()).replace(/\s+/g, " ")} | ${(await page.locator("#analysis-result").innerText()).replace(/\s+/g, " ").slice(0, 200)}`);
    await check(page, "filings");
  }

  // Feedback: a ticket's status changed on the board (PATCH), shown once stored.
  await page.click("#nav a[data-path=feedback]");
  await settled(page, "feedback");
  const ticket = page.locator("#board .ticket").first();
  await ticket.waitFor();
  await ticket.locator("select.status").selectOption("in_progress");
  const moved = page.locator("#board .ticket[data-status=in_progress]").first();
  await moved.waitFor();
  console.log(`TICKET ${await moved.getAttribute("data-status")}`);

  // Ask: a question about the team's document; the first passage's citation, opened.
  await page.click("#nav a[data-path=ask]");
  await settled(page, "ask");
  await page.fill("#chat-q", ASK_QUESTION);
  await page.click("#chat-form button[type=submit]");
  const answer = page.locator("#chat-log .answer[data-state=done], #chat-log .answer[data-state=error]").first();
  await answer.waitFor();
  const cites = answer.locator(".citations .citation");
  let firstCite = "";
  if (await cites.count()) {
    await cites.first().locator("summary").click();
    firstCite = `${await cites.first().locator("summary").innerText()} ${await cites.first().locator("blockquote").innerText()}`;
  }
  const answerText = await answer.locator(".answer-text").innerText();
  console.log(`CHAT ${await answer.getAttribute("data-state")} ${await cites.count()} ${firstCite.replace(/\s+/g, " ")} | ${answerText.replace(/\s+/g, " ").slice(0, 300)}`);
  await page.fill("#ask-q", ASK_QUESTION);
  await page.click("#ask-form button[type=submit]");
  const results = page.locator("#ask-results[data-count]");
  await results.waitFor();
  const count = await results.getAttribute("data-count");
  const first = page.locator("#ask-results .citation").first();
  let cited = "";
  if (Number(count) > 0) {
    await first.locator("summary").click();
    cited = `${await first.locator("summary").innerText()} | ${await first.locator("blockquote").innerText()}`;
  }
  console.log(`ASK ${count} ${cited.replace(/\s+/g, " ")}`);
  await check(page, "ask");

  for (const name of PAGES.filter((p) => !["account", "uploads", "portfolio", "ask", "market", ...(FILING ? ["filings"] : [])].includes(p))) {
    await page.click(`#nav a[data-path=${name}]`);
    await settled(page, name);
    await check(page, name);
  }

  // A phone's width: nothing wider than the window.
  await page.setViewportSize({ width: 375, height: 800 });
  for (const name of ["account", "uploads", "feedback"]) {
    await page.click(`#nav a[data-path=${name}]`);
    await settled(page, name);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    console.log(`NARROW ${name} ${width}`);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, `${name}-375.png`), fullPage: true });
  }
});
