// The web console end to end in Debian's headless Chromium, driven by playwright-core, with
// axe-core on every page. Run by crates/berth/tests/it/console.rs against a real berth with
// team/alpine:3.10 pushed. Prints "console e2e: ok" when every check passed; throws otherwise.
//
// Env: BERTH_URL, BERTH_USER, BERTH_PASSWORD, NODE_MODULES, SHOTS (screenshot folder), XSS (the
// label text that must show as text).
"use strict";
const path = require("path");
const fs = require("fs");
const { chromium } = require(path.join(process.env.NODE_MODULES, "playwright-core"));
const AXE = fs.readFileSync(path.join(process.env.NODE_MODULES, "axe-core", "axe.min.js"), "utf8");

const BASE = process.env.BERTH_URL.replace(/\/$/, "");
const SHOTS = process.env.SHOTS;
const XSS = process.env.XSS;
const MAX_PAGE_BYTES = 300 * 1024;

function check(cond, message) {
  if (!cond) throw new Error("check failed: " + message);
}

const problems = [];
const weights = {};

async function audit(page, name) {
  // Pages reached by a click are loaded again to weigh them.
  if (!(name in weights)) await visit(page, name, page.url());
  // axe-core runs inside the page through the DevTools protocol (not an inline script, which
  // the console's CSP would refuse).
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help,
      target: v.nodes[0] && v.nodes[0].target.join(" ") }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) problems.push(`${name}: axe ${JSON.stringify(bad)}`);
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  console.log(`page ${name}: axe ${result.length} minor violations, ${bad.length} serious; ${weights[name] || 0} bytes`);
}

// Loads `url` and measures what it transferred: the document and every asset it loaded.
async function visit(page, name, url) {
  let bytes = 0;
  const onResponse = async (r) => {
    try {
      const body = await r.body();
      bytes += body.length;
    } catch (_) {}
  };
  page.on("response", onResponse);
  await page.goto(url, { waitUntil: "load" });
  await page.waitForTimeout(100);
  page.off("response", onResponse);
  weights[name] = bytes;
  check(bytes < MAX_PAGE_BYTES, `${name} weighs ${bytes} bytes`);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const cspViolations = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("dialog", (d) => d.accept());

  // Unauthenticated: the login page.
  await page.goto(BASE + "/ui/instances");
  check(page.url().includes("/ui/login"), "redirected to login: " + page.url());
  await audit(page, "login");

  // A wrong password says so.
  await page.fill("#username", process.env.BERTH_USER);
  await page.fill("#password", "wrong-password");
  await page.click("button[type=submit]");
  check((await page.textContent("#login-error")).includes("Wrong username or password"), "wrong password message");

  // Log in with the keyboard only: type, Tab to the password, Tab to the submit button, Enter.
  await page.focus("#username");
  await page.keyboard.press("Control+A");
  await page.keyboard.type(process.env.BERTH_USER);
  await page.keyboard.press("Tab");
  await page.keyboard.type(process.env.BERTH_PASSWORD);
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement.outerHTML);
  check(/type="submit"/.test(focused), "Tab reaches the login form's submit button: " + focused);
  await Promise.all([page.waitForURL(/\/ui\/instances/), page.keyboard.press("Enter")]);

  // Keyboard: Tab from the top reaches the skip link, then the main navigation.
  await visit(page, "instances", BASE + "/ui/instances");
  let inNav = false;
  for (let n = 0; n < 8 && !inNav; n++) {
    await page.keyboard.press("Tab");
    inNav = await page.evaluate(() => !!document.activeElement.closest("nav[aria-label=Main]"));
  }
  check(inNav, "Tab reaches the main navigation");
  await audit(page, "instances");

  // Browse to the image by clicking.
  await Promise.all([page.waitForURL(/namespaces/), page.click("a:text-is('default')")]);
  await audit(page, "namespaces");
  await Promise.all([page.waitForURL(/access-tokens/), page.click("a:text-is('Access tokens')")]);
  await audit(page, "access-tokens");
  await page.goBack();
  await Promise.all([page.waitForURL(/repositories/), page.click("a:text-is('team')")]);
  const reposUrl = page.url();
  await audit(page, "repositories");
  await Promise.all([page.waitForURL(/tags/), page.click("a:text-is('team/alpine')")]);
  await page.fill("#q", "3.1");
  await Promise.all([page.waitForURL(/q=3.1/), page.press("#q", "Enter")]);
  check((await page.textContent("caption")).includes("1 tags matching"), "tag search");
  await audit(page, "tags");
  await Promise.all([page.waitForURL(/\/ui\/image/), page.click("a:text-is('3.10')")]);
  const imageUrl = page.url();
  await visit(page, "image-unscanned", imageUrl);
  const layers = await page.textContent("section[aria-labelledby=layers]");
  check(layers.includes("RUN apk add ansible") && layers.includes("ADD alpine-minirootfs.tar.gz /"), "layer commands");
  // The label's markup is text: shown verbatim, never run.
  const labels = await page.textContent("section[aria-labelledby=labels]");
  check(labels.includes(XSS), "the label shows as text");
  check((await page.evaluate(() => window.__xss)) === undefined, "the label's script never ran");
  check((await page.$$("section[aria-labelledby=labels] script, section[aria-labelledby=labels] img")).length === 0, "no element made from the label");

  // Scan now: the status polls, then the page shows the result.
  await Promise.all([page.waitForURL(/\/ui\/image/), page.click("#scan-now")]);
  await page.waitForSelector("#scan-status[data-status=Success]", { timeout: 90000 });
  await page.waitForSelector("table.vulns tbody tr");
  const vulnId = (await page.textContent("table.vulns tbody tr td:nth-child(2)")).trim();
  const vulnRows = (await page.$$("table.vulns tbody tr")).length;
  check(vulnId.length > 0 && vulnRows > 0, "vulnerabilities listed");
  console.log(`scan: ${vulnRows} vulnerabilities, first ${vulnId}`);
  await visit(page, "image", imageUrl);
  await audit(page, "image");
  for (const format of ["cyclonedx", "spdx", "sarif"]) {
    const href = await page.getAttribute(`a[href*="format=${format}"]`, "href");
    const r = await page.request.get(BASE + href);
    check(r.status() === 200, `${format} download: ${r.status()}`);
    const doc = await r.json();
    check(format !== "sarif" || Array.isArray(doc.runs), "SARIF has runs");
    check(format !== "cyclonedx" || doc.bomFormat === "CycloneDX", "CycloneDX");
    check(format !== "spdx" || typeof doc.spdxVersion === "string", "SPDX");
  }

  // An exception for that finding, with markup in its reason: the finding moves to the
  // suppressed list.
  // From the finding's "Except…" link: the form comes filled in with its scope.
  await Promise.all([page.waitForURL(/\/ui\/exceptions/), page.click(`a[aria-label='Create an exception for ${vulnId}']`)]);
  check((await page.inputValue("#vulnerability")) === vulnId, "the form is prefilled with the finding");
  check((await page.inputValue("#image")) === "team/alpine", "and the repository");
  await page.fill("#reason", "<b>not reachable</b> <script>window.__xss=3</script>");
  await page.fill("#days", "30");
  await Promise.all([page.waitForURL(/\/ui\/exceptions$/), page.click("text=Create exception")]);
  const exRow = await page.textContent("tbody tr:has-text('" + vulnId + "')");
  check(exRow.includes("<b>not reachable</b>"), "the reason shows as text");
  check((await page.evaluate(() => window.__xss)) === undefined, "the reason's script never ran");
  await visit(page, "exceptions", BASE + "/ui/exceptions");
  await audit(page, "exceptions");
  // A form with bad input says what is wrong.
  await page.fill("#reason", "");
  await page.fill("#image", "");
  await page.fill("#vulnerability", "");
  await page.evaluate(() => document.getElementById("reason").removeAttribute("required"));
  await page.click("text=Create exception");
  check((await page.textContent("[role=alert]")).includes("scope"), "a clear validation message");
  await page.goto(imageUrl);
  const suppressed = await page.textContent("table.suppressed");
  check(suppressed.includes(vulnId), "the finding is listed as suppressed");
  const stillShown = await page.$$eval("table.vulns tbody tr td:nth-child(2)", (tds) => tds.map((t) => t.textContent.trim()));
  check(!stillShown.includes(vulnId), "the suppressed finding left the list");

  // A policy.
  await visit(page, "policies", BASE + "/ui/policies");
  await page.fill("#name", "No critical fixable");
  await Promise.all([page.waitForURL(/\/ui\/policies/), page.click("text=Create policy")]);
  check((await page.textContent("section[aria-labelledby=list]")).includes("No critical fixable"), "the policy is listed");
  check((await page.textContent("section[aria-labelledby=templates]")).length > 0, "the templates are listed");
  await audit(page, "policies");
  // Edited: a markup name shows as text; then deleted.
  await Promise.all([page.waitForURL(/\/ui\/policies\/edit/), page.click("a[aria-label='Edit No critical fixable']")]);
  await audit(page, "policy-edit");
  await page.fill("#name", "<img src=x onerror=\"window.__xss=4\">");
  await page.selectOption("#action", "alarm");
  await Promise.all([page.waitForURL(/\/ui\/policies\?/), page.click("text=Save policy")]);
  const policyRow = await page.textContent("tr[data-policy^='<img']");
  check(policyRow.includes("<img src=x") && policyRow.includes("alarm"), "the edited policy shows its name as text: " + policyRow);
  check((await page.evaluate(() => window.__xss)) === undefined, "the policy name's markup never ran");
  await Promise.all([page.waitForURL(/\/ui\/policies\?/), page.click("button[aria-label^='Delete <img']")]);
  check((await page.$$("tr[data-policy^='<img']")).length === 0, "the policy is deleted");

  // Clusters and workloads: the inventory the test uploaded, the image linked, charts drawn.
  await visit(page, "clusters", BASE + "/ui/clusters");
  await audit(page, "clusters");
  await Promise.all([page.waitForURL(/\/ui\/cluster\?/), page.click("a:text-is('prod')")]);
  const workload = await page.textContent("tr[data-workload=web]");
  check(workload.includes("team/alpine"), "the workload lists its image: " + workload);
  check((await page.$$("svg.chart rect.bar")).length === 4, "the risk chart has its four bars");
  await audit(page, "cluster");
  await Promise.all([page.waitForURL(/\/ui\/image/), page.click("tr[data-workload=web] a[href*='/ui/image']")]);
  check((await page.textContent("section[aria-labelledby=runs]")).includes("web"), "the image says where it runs");
  await Promise.all([page.waitForURL(/\/ui\/cluster\?/), page.click("section[aria-labelledby=runs] a:text-is('shop')")]);

  // Webhook triggers: a refused URL says why; created with its secret once; deleted.
  await page.goto(reposUrl);
  await Promise.all([page.waitForURL(/\/ui\/webhooks\/new/), page.click("text=New webhook trigger")]);
  await page.fill("#name", "ci <hook>");
  await page.fill("#url", "http://127.0.0.1:9/hook");
  await page.click("text=Create trigger");
  check((await page.textContent("#webhook-error")).includes("URL:"), "a refused URL is explained");
  await audit(page, "webhook-new");
  await page.fill("#name", "ci <hook>");
  await page.fill("#url", "https://93.184.215.14/hook");
  await page.click("text=Create trigger");
  const whSecret = (await page.textContent("#new-webhook-secret")).trim();
  check(whSecret.length >= 32, "the signing secret is shown once");
  await page.goto(reposUrl);
  check(!(await page.content()).includes(whSecret), "the signing secret is not shown again");
  await Promise.all([page.waitForURL(/repositories/), page.click("button[aria-label='Delete trigger ci <hook>']")]);
  check((await page.$$("tr[data-trigger]")).length === 0, "the trigger is deleted");

  // An API token: the secret once, then revoked.
  await visit(page, "tokens", BASE + "/ui/tokens");
  await page.fill("#name", "ci-robot");
  await page.click("text=Create token");
  const secret = (await page.textContent("#new-token")).trim();
  check(secret.startsWith("bat_"), "the token is shown once");
  await audit(page, "tokens");
  const api = await page.request.get(BASE + "/api/v1/exceptions", { headers: { Authorization: "Bearer " + secret } });
  check(api.status() === 200, "the new read-only token reads exceptions: " + api.status());
  await Promise.all([page.waitForURL(/\/ui\/tokens$/), page.click("button[aria-label='Revoke ci-robot']")]);
  check((await page.textContent("tr[data-token=ci-robot]")).includes("revoked"), "the token is revoked");
  check(!(await page.content()).includes(secret), "the secret is not shown again");
  const after = await page.request.get(BASE + "/api/v1/exceptions", { headers: { Authorization: "Bearer " + secret } });
  check(after.status() === 401, "the revoked token is refused: " + after.status());

  // A management API key: the secret once, then revoked.
  await visit(page, "api-keys", BASE + "/ui/api-keys");
  await page.fill("#description", "<i>ci</i>");
  await page.click("text=Create key");
  const keyId = (await page.textContent("#new-key-id")).trim();
  const keySecret = (await page.textContent("#new-key-secret")).trim();
  check(keyId.startsWith("AKLT") && keySecret.length === 40, "the key is shown once");
  check((await page.textContent(`tr[data-key=${keyId}]`)).includes("<i>ci</i>"), "the description shows as text");
  await audit(page, "api-keys");
  await Promise.all([page.waitForURL(/\/ui\/api-keys$/), page.click(`button[aria-label='Revoke ${keyId}']`)]);
  check((await page.$$(`tr[data-key=${keyId}]`)).length === 0, "the key is revoked");
  check(!(await page.content()).includes(keySecret), "the key's secret is not shown again");

  await visit(page, "risk", BASE + "/ui/risk");
  await audit(page, "risk");
  await visit(page, "database", BASE + "/ui/database");
  check((await page.textContent("main")).includes("alpine-secdb"), "the database's sources");
  await audit(page, "database");

  // A forged POST (no CSRF token) is refused.
  const forged = await page.request.post(BASE + "/ui/tokens", { form: { name: "forged", role: "admin" } });
  check(forged.status() === 403, "a POST without the CSRF token: " + forged.status());

  // Logout, then the pages need a login again.
  await Promise.all([page.waitForURL(/\/ui\/login/), page.click("text=Log out")]);
  await page.goto(BASE + "/ui/tokens");
  check(page.url().includes("/ui/login"), "logged out");

  check(cspViolations.length === 0, "no CSP violations: " + cspViolations.join("; "));
  await browser.close();
  if (problems.length) throw new Error(problems.join("\n"));
  console.log("weights: " + JSON.stringify(weights));
  console.log("console e2e: ok");
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  if (problems.length) console.error(problems.join("\n"));
  process.exit(1);
});
