// Drives the live page (web/) in Debian's headless chromium: signs in with a token, waits
// until the page says it is connected (prints CONNECTED), then waits for an event of
// EXPECT_TYPE whose text contains EXPECT_TEXT to appear (prints SEEN and exits 0).
// Exits 1 when it does not appear within TIMEOUT_MS. Run by tests/sse.rs.
//
//   PAGE_URL=http://127.0.0.1:PORT/ TOKEN=... EXPECT_TYPE=AnalysisCompleted EXPECT_TEXT=... node live-page.mjs
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const { PAGE_URL, TOKEN, EXPECT_TYPE, EXPECT_TEXT = "", SCREENSHOT } = process.env;
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS || 30000);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
if (!PAGE_URL || !TOKEN || !EXPECT_TYPE) {
  console.error("PAGE_URL, TOKEN and EXPECT_TYPE are required");
  process.exit(2);
}

const profile = mkdtempSync(join(tmpdir(), "sluice-chromium-"));
let context;
let code = 1;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => console.error(`[page] ${m.type()}: ${m.text()}`));
  await page.goto(PAGE_URL);
  await page.fill("#token", TOKEN);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("#status[data-state=connected]", { timeout: TIMEOUT_MS });
  console.log("CONNECTED");
  const item = page.locator(`#events li[data-type="${EXPECT_TYPE}"]`, { hasText: EXPECT_TEXT });
  await item.first().waitFor({ timeout: TIMEOUT_MS });
  console.log(`SEEN ${(await item.first().innerText()).replace(/\s+/g, " ")}`);
  const link = await item.first().locator("a").first().getAttribute("href", { timeout: 1000 }).catch(() => null);
  if (link) {
    console.log(`LINK ${link}`);
    // The result opens inside the page (the request carries the token): print its first line.
    await item.first().locator("a").first().click();
    const result = item.first().locator(".result");
    await result.waitFor({ timeout: TIMEOUT_MS });
    await page.waitForFunction((el) => el.textContent !== "Loading…", await result.elementHandle(), { timeout: TIMEOUT_MS });
    console.log(`RESULT ${(await result.innerText()).split("\n")[0]}`);
  }
  if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
  code = 0;
} catch (e) {
  console.error(`FAILED ${e && e.message ? e.message.split("\n")[0] : e}`);
  try {
    const page = context && context.pages()[0];
    if (page) console.error(`status: ${await page.locator("#status").innerText()}; events: ${await page.locator("#events").innerText()}`);
  } catch (_) {}
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
