// What the browser scripts share: Debian's chromium, headless, in a throwaway profile;
// the local sign-in screen; axe-core run inside the page.
import { chromium } from "playwright-core";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TIMEOUT_MS = Number(process.env.TIMEOUT_MS || 120000);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/** Runs `body(page)` in a fresh browser; exits 0 when it returns, 1 when it throws. */
export async function withPage(body, { width = 1280, height = 900 } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "sluice-chromium-"));
  let context;
  let code = 1;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width, height },
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    });
    context.setDefaultTimeout(TIMEOUT_MS);
    const page = context.pages()[0] || (await context.newPage());
    page.on("console", (m) => console.error(`[page] ${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => console.error(`[page] error: ${e.message}`));
    await body(page);
    code = 0;
  } catch (e) {
    console.error(`FAILED ${e && e.message ? e.message.split("\n")[0] : e}`);
    try {
      const page = context && context.pages()[0];
      if (page) console.error(`page text: ${(await page.locator("body").innerText()).slice(0, 2000)}`);
    } catch (_) {}
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  process.exit(code);
}

/** The local sign-in screen: user, tier, team flag. */
export async function signIn(page, { user, tier = "basic", team = true }) {
  await page.fill("#user", user);
  await page.selectOption("#tier", tier);
  await page.setChecked("#team", team);
  await page.click("#local-sign-in button[type=submit]");
  await page.locator("#nav").waitFor();
}

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's serious and critical violations on the page as it is now. */
export async function accessibilityProblems(page) {
  // Evaluated through the DevTools protocol: the page's CSP (scripts of its own origin
  // only) does not apply to it, so the check runs against the page as it is served.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations);
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join("; ")}`);
}
