// Drives the web app (web/) in Debian's headless chromium: signs in on the local sign-in
// screen, waits until the live indicator says it is connected (prints CONNECTED), then
// waits for a toast containing EXPECT_TEXT (prints SEEN and exits 0). Run by tests/sse.rs.
//
//   PAGE_URL=http://127.0.0.1:PORT/ USER_ID=ana EXPECT_TEXT=... node live-page.mjs
import { signIn, withPage } from "./common.mjs";

const { PAGE_URL, USER_ID = "ana", EXPECT_TEXT } = process.env;
if (!PAGE_URL || !EXPECT_TEXT) {
  console.error("PAGE_URL and EXPECT_TEXT are required");
  process.exit(2);
}

await withPage(async (page) => {
  await page.goto(PAGE_URL);
  await signIn(page, { user: USER_ID });
  await page.locator("#live[data-state=connected]").waitFor();
  console.log("CONNECTED");
  const toast = page.locator("#toasts .toast", { hasText: EXPECT_TEXT });
  await toast.first().waitFor();
  console.log(`SEEN ${(await toast.first().innerText()).replace(/\s+/g, " ")}`);
});
