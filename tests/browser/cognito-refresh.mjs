// The web app signed in through Cognito (auth.mode "cognito", as in AWS), with Cognito's
// token endpoint played by the page's own network layer (Playwright routes on this origin,
// so the page's Content-Security-Policy applies as it would). The tokens it hands out are
// real ones of the local runner, so the API accepts them. Prints, one line each, for
// tests/web_app.rs to judge:
//   TOKEN <grant_type> <client_id> <refresh_token>   each request the token endpoint got
//   EXPIRED <tier>          the Account page after starting with an expired id token
//   REJECTED <tier>         the Account page after the API refused the id token (401)
//   REVOKED <text>          what the page says when the refresh token is refused too
//
//   PAGE_URL=http://127.0.0.1:PORT/ USER_ID=ana node cognito-refresh.mjs
import { withPage } from "./common.mjs";

const { PAGE_URL, USER_ID = "ana" } = process.env;
if (!PAGE_URL) {
  console.error("PAGE_URL is required");
  process.exit(2);
}
const origin = new URL(PAGE_URL).origin;
const domain = `${origin}/fake-cognito`;

// A real token of the local runner, for professional tier.
const issued = await fetch(`${origin}/local/token`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ user: USER_ID, tier: "professional", team: false }),
});
const { token } = await issued.json();
const b64url = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const unsigned = (exp) => `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url({ sub: USER_ID, exp })}.bm90LXNpZ25lZA`;
const now = Math.floor(Date.now() / 1000);

await withPage(async (page) => {
  let answer = "grant";
  await page.route(`${origin}/config.js`, (route) =>
    route.fulfill({
      contentType: "text/javascript",
      body: `window.SLUICE_CONFIG = ${JSON.stringify({ apiUrl: "", eventsUrl: "", auth: { mode: "cognito", domain, clientId: "web-client", redirectUri: PAGE_URL } })};`,
    }));
  await page.route(`${domain}/oauth2/token`, (route) => {
    const form = new URLSearchParams(route.request().postData() || "");
    console.log(`TOKEN ${form.get("grant_type")} ${form.get("client_id")} ${form.get("refresh_token")}`);
    if (answer !== "grant") return route.fulfill({ status: 400, contentType: "application/json", body: '{"error":"invalid_grant"}' });
    // Cognito's answer to a refresh: new id and access tokens, no new refresh token.
    return route.fulfill({ contentType: "application/json", body: JSON.stringify({ id_token: token, access_token: "access", expires_in: 3600, token_type: "Bearer" }) });
  });

  // 1. The tab comes back with an id token that expired a minute ago.
  await page.goto(PAGE_URL);
  await page.evaluate(([expired]) => {
    sessionStorage.setItem("sluice.token", expired);
    sessionStorage.setItem("sluice.refresh", "refresh-1");
  }, [unsigned(now - 60)]);
  await page.reload();
  await page.locator("#tier").waitFor();
  console.log(`EXPIRED ${await page.locator("#tier").innerText()}`);

  // 2. An id token the API refuses although it has not expired: refreshed, then retried.
  await page.evaluate(([bad]) => sessionStorage.setItem("sluice.token", bad), [unsigned(now + 3600)]);
  await page.reload();
  await page.locator("#tier").waitFor();
  console.log(`REJECTED ${await page.locator("#tier").innerText()}`);

  // 3. The refresh token revoked: the page asks to sign in again.
  answer = "refuse";
  await page.evaluate(([bad]) => sessionStorage.setItem("sluice.token", bad), [unsigned(now + 3600)]);
  await page.reload();
  const alert = page.locator("main [role=alert]");
  await alert.waitFor();
  console.log(`REVOKED ${(await alert.innerText()).replace(/\s+/g, " ")}`);
});
