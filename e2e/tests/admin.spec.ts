// The admin page (/_mfshell/admin/) in Chromium, on an mfshell of this
// worker's own started with a tokens file (--tokens) of three tokens:
//
//   - ops: an admin token (every app, rollback);
//   - team-catalog: a team token that may change catalog only;
//   - release-bot: the CLI's token, catalog only, given by its SHA-256.
//
// The demo apps are seeded (catalog 1.0.0 live, 1.1.0 published); more
// versions of catalog and cart are published as copies of a fixture bundle:
// the admin page never loads them. Every test starts from the baseline
// revision (the server fixture rolls back to it) and reads the revision it
// starts from, never assuming a number. The issues fixture fails any test
// with a CSP violation or an uncaught error on its page.
//
// The @tour test writes the admin page's screenshots for the docs (with
// `npm run screenshots`) on a fresh server of its own.

import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Locator, Page } from "@playwright/test";
import { bin, Server, uniqueVersion } from "../server";
import { screenshot } from "../screenshot";
import { expect, test as base } from "../test";

const run = promisify(execFile);

/** The tokens of the admin server, by name. */
interface Tokens {
  ops: string;
  team: string;
  bot: string;
}

const KEY = "mfshell-admin-token"; // the page's sessionStorage key
const REASON = "Reason (recorded in the history)";

const test = base.extend<{ tokens: Tokens }, { admin: { server: Server; tokens: Tokens }; docsServer: Server }>({
  admin: [
    async ({}, use) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mfshell-e2e-tokens-"));
      const secret = () => crypto.randomBytes(24).toString("base64url");
      const tokens: Tokens = { ops: secret(), team: secret(), bot: secret() };
      const file = path.join(dir, "tokens.json");
      fs.writeFileSync(
        file,
        JSON.stringify([
          { name: "ops", token: tokens.ops, apps: ["*"] },
          { name: "team-catalog", token: tokens.team, apps: ["catalog"] },
          { name: "release-bot", sha256: crypto.createHash("sha256").update(tokens.bot).digest("hex"), apps: ["catalog"] },
        ]),
      );
      let s: Server | undefined;
      try {
        s = await Server.start({ fixtures: false, args: ["--tokens", file], token: tokens.ops });
        // Versions to release: copies of the demo's own bundles, so that a
        // release changes the version alone (a bundle of another entry
        // would change the entry and styles too).
        await publishDemoCopy(s, "catalog", "1.1.0", "1.2.0");
        await publishDemoCopy(s, "catalog", "1.1.0", "1.3.0");
        await publishDemoCopy(s, "cart", "1.0.0", "1.1.0");
        await use({ server: s, tokens });
      } finally {
        await s?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    { scope: "worker", timeout: 60_000 },
  ],
  // The screenshots' server: the demo as first run, with its admin.token.
  docsServer: [
    async ({}, use) => {
      const s = await Server.start({ fixtures: false });
      await use(s);
      await s.stop();
    },
    { scope: "worker", timeout: 60_000 },
  ],
  server: async ({ admin }, use) => {
    await admin.server.reset();
    await use(admin.server);
  },
  tokens: async ({ admin }, use) => use(admin.tokens),
});

// --- helpers ---------------------------------------------------------------

/** publishDemoCopy publishes a copy of the demo bundle app@from as app@version, with bytes of its own. */
async function publishDemoCopy(server: Server, app: string, from: string, version: string) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mfshell-e2e-bundle-"));
  try {
    fs.cpSync(path.join(__dirname, "..", "..", "demo", "apps", app, from), tmp, { recursive: true });
    fs.appendFileSync(path.join(tmp, app + ".js"), `\n// ${app}@${version}\n`);
    await server.publish(app, version, tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** revision is the server's manifest revision now. */
async function revision(server: Server): Promise<number> {
  return (await server.api("GET", "/api/v1/manifest")).body.revision;
}

/** latest is the newest revision of the server's history, as the API gives it. */
async function latest(server: Server): Promise<{ revision: number; actor: string; reason: string }> {
  return (await server.api("GET", "/api/v1/history?limit=1")).body.revisions[0];
}

/** write calls the ops API with token and reason, as another client would; it throws on an error status. */
async function write(server: Server, token: string, method: string, p: string, body: unknown, reason: string) {
  const r = await fetch(server.url + "/api/v1" + p, {
    method,
    headers: { Authorization: "Bearer " + token, "Mfshell-Reason": reason, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
  return (await r.json()) as { revision: number };
}

/**
 * writes records the ops API writes (any method but GET) the page sends,
 * as "METHOD /path", and its dry runs (?dry-run, which write nothing) as
 * "METHOD /path (dry run)".
 */
function writes(page: Page): string[] {
  const sent: string[] = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (r.method() != "GET" && u.pathname.startsWith("/api/v1/")) sent.push(`${r.method()} ${u.pathname}${u.search == "?dry-run" ? " (dry run)" : ""}`);
  });
  return sent;
}

/** signIn opens the admin page and signs in with token; it resolves once the main view is live. */
async function signIn(page: Page, server: Server, token: string, name: string) {
  await page.goto(server.url + "/_mfshell/admin/");
  await page.getByLabel("Ops API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(new RegExp(`^Signed in as ${name} · may change `))).toBeVisible();
  await expect(page.getByText("Live updates: on")).toBeVisible();
}

/** card is the article of an app. */
const card = (page: Page, app: string) => page.getByRole("article", { name: app, exact: true });

/** term is the value (dd) of a card's term (dt), such as "Live" or "Canary". */
const term = (c: Locator, dt: string) => c.locator("dt", { hasText: new RegExp(`^${dt}$`) }).locator("xpath=following-sibling::dd[1]");

/** Step is one action through a dialog, as a person takes it. */
interface Step {
  /** the id of the button that opens the dialog */
  open: string;
  /** fills the action's fields */
  fill?: (dialog: Locator) => Promise<unknown>;
  reason: string;
  /** the request, "METHOD /api/v1/PATH" */
  request: string;
  /** the review's change lines, exactly */
  change: string[];
  /** the history's diff lines, exactly (default: change) */
  history?: string[];
}

/**
 * act takes step through its dialog as actor and returns the new revision:
 * at the review step, the exact change (the server's dry run) and request
 * are shown and nothing is written (the manifest is still at the revision
 * it was on); after
 * Confirm, the status, the history (actor, reason, diff) and the API all
 * show the new revision.
 */
async function act(page: Page, server: Server, actor: string, st: Step): Promise<number> {
  const sent = writes(page);
  const before = await revision(server);
  await expect(page.getByText(`Revision ${before}`, { exact: true })).toBeVisible(); // the page shows the revision it acts on
  await page.locator("#" + st.open).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  await st.fill?.(dialog);
  await dialog.getByLabel(REASON).fill(st.reason);
  await dialog.getByRole("button", { name: "Review change" }).click();

  // The review: the change and the request, nothing sent yet.
  await expect(dialog.getByRole("button", { name: "Confirm" })).toBeFocused();
  await expect(dialog.getByRole("list")).toHaveCount(1); // the edit step's lists are hidden
  await expect(dialog.getByRole("listitem")).toHaveText(st.change);
  const req = dialog.locator("pre");
  await expect(req).toContainText(`${st.request}\nIf-Match: "${before}"\nMfshell-Reason: ${st.reason}\n`);
  // The change shown is the server's answer to a dry run of the request.
  expect(await revision(server), "nothing is written before Confirm").toBe(before);
  expect(sent).toEqual([`${st.request} (dry run)`]);

  await dialog.getByRole("button", { name: "Confirm" }).click();
  const rev = before + 1;
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("status")).toContainText(`Done: revision ${rev}.`);
  await expect(page.getByText(`Revision ${rev}`, { exact: true })).toBeVisible();
  const item = page.locator(`#rev-${rev}`);
  await expect(item.getByRole("heading")).toHaveText(`Revision ${rev}current`);
  await expect(item.locator(".meta strong")).toHaveText(actor);
  await expect(item.locator(".reason")).toHaveText(`Reason: ${st.reason}`);
  await expect(item.getByRole("listitem")).toHaveText(st.history ?? st.change);
  expect(sent).toEqual([`${st.request} (dry run)`, st.request]);
  expect(await latest(server)).toMatchObject({ revision: rev, actor, reason: st.reason });
  return rev;
}

/** canaryFields fills a canary dialog. */
const canaryFields =
  (app: string, version: string, percent: string, maxErrors = "", minMounts = "") =>
  async (d: Locator) => {
    await d.getByLabel("Version").selectOption(version);
    await d.getByLabel("Share of browsers, %").fill(percent);
    await d.getByLabel("Max error rate, % (optional)").fill(maxErrors);
    await d.getByLabel("Min mounts (optional)").fill(minMounts);
    await expect(d.getByLabel("Version")).toHaveId(`canary-${app}-v`);
  };

// --- tests -----------------------------------------------------------------

test("sign in: a refused token stays nowhere; a good one lives in sessionStorage only, survives a reload, and Sign out forgets it", async ({
  page,
  server,
  tokens,
}) => {
  const urls: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  const bad = "not-a-token-" + crypto.randomBytes(8).toString("hex");

  await page.goto(server.url + "/_mfshell/admin/");
  const input = page.getByLabel("Ops API token");
  await expect(input).toBeFocused();
  await expect(input).toHaveAttribute("type", "password");
  await input.fill(bad);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Token refused: check it and try again.");
  await expect(input).toBeFocused();
  expect(await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie])).toEqual([0, 0, ""]);
  expect(await page.context().cookies()).toEqual([]);

  // The good token: the main view.
  await input.fill(tokens.ops);
  await page.keyboard.press("Enter");
  await expect(page.getByText("Signed in as ops · may change every app")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Apps" })).toBeVisible();
  for (const app of ["cart", "catalog", "home", "legacy"]) await expect(card(page, app)).toBeVisible();
  await expect(page.getByText(`Revision ${await revision(server)}`, { exact: true })).toBeVisible();
  expect(await page.evaluate((k) => [sessionStorage.getItem(k), sessionStorage.length, localStorage.length, document.cookie], KEY)).toEqual([
    tokens.ops,
    1,
    0,
    "",
  ]);

  // A reload keeps the session (and asks for no token).
  await page.reload();
  await expect(page.getByText("Signed in as ops · may change every app")).toBeVisible();
  await expect(page.getByLabel("Ops API token")).toHaveCount(0);

  // Sign out forgets it, for good.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByLabel("Ops API token")).toBeFocused();
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  await page.reload();
  await expect(page.getByLabel("Ops API token")).toBeVisible();
  await expect(page.getByText(/^Signed in as/)).toHaveCount(0);

  // Never in a URL, never in a cookie.
  expect(await page.context().cookies()).toEqual([]);
  for (const u of urls) {
    expect(u).not.toContain(tokens.ops);
    expect(u).not.toContain(bad);
  }
  expect(urls.some((u) => u.includes("/api/v1/token"))).toBe(true);
});

test("release, canary, change, promote, abort and rollback, each reviewed before it is sent and recorded with its actor, reason and diff", async ({
  page,
  server,
  tokens,
}) => {
  await signIn(page, server, tokens.ops, "ops");
  const catalog = card(page, "catalog");
  await expect(term(catalog, "Live")).toHaveText("1.0.0");
  await expect(term(catalog, "Canary")).toHaveText("none");

  // Release 1.1.0 (a reason in UTF-8, sent as its bytes).
  const released = await act(page, server, "ops", {
    open: "release-catalog",
    fill: (d) => d.getByLabel("Version").selectOption("1.1.0"),
    reason: "new product page — déjà vu ✓",
    request: "PATCH /api/v1/apps/catalog",
    change: ["catalog version: 1.0.0 → 1.1.0"],
  });
  await expect(term(catalog, "Live")).toHaveText("1.1.0");

  // Start a canary of 1.2.0 on 10%.
  await expect(page.locator("#canary-catalog")).toHaveText("Start canary…");
  await act(page, server, "ops", {
    open: "canary-catalog",
    fill: canaryFields("catalog", "1.2.0", "10"),
    reason: "try 1.2.0 on a few browsers",
    request: "PATCH /api/v1/apps/catalog",
    change: ["catalog canary: none → 1.2.0 at 10%"],
  });
  await expect(term(catalog, "Canary")).toHaveText("1.2.0 at 10%");
  await expect(catalog.getByRole("rowheader", { name: /^1\.2\.0/ })).toContainText("canary 10%");

  // Change it: more browsers, with a guard.
  await expect(page.locator("#canary-catalog")).toHaveText("Change canary…");
  const guarded = "1.2.0 at 25%; auto-abort above 5% errors once it has 100 mounts";
  await act(page, server, "ops", {
    open: "canary-catalog",
    fill: canaryFields("catalog", "1.2.0", "25", "5", "100"),
    reason: "no errors: a quarter of the browsers",
    request: "PATCH /api/v1/apps/catalog",
    change: [`catalog canary: 1.2.0 at 10% → ${guarded}`],
  });
  await expect(term(catalog, "Canary")).toHaveText(guarded);
  expect((await server.api("GET", "/api/v1/manifest")).body.apps.catalog.canary).toMatchObject({
    version: "1.2.0",
    percent: 25,
    maxErrorRate: 0.05,
    minMounts: 100,
  });

  // Promote it.
  await act(page, server, "ops", {
    open: "promote-catalog",
    reason: "1.2.0 is good",
    request: "PATCH /api/v1/apps/catalog",
    change: ["catalog version: 1.1.0 → 1.2.0", `catalog canary: ${guarded} → none`],
  });
  await expect(term(catalog, "Live")).toHaveText("1.2.0");
  await expect(term(catalog, "Canary")).toHaveText("none");
  await expect(page.locator("#promote-catalog, #abort-catalog")).toHaveCount(0);

  // Start another and abort it.
  await act(page, server, "ops", {
    open: "canary-catalog",
    fill: canaryFields("catalog", "1.3.0", "5"),
    reason: "try 1.3.0",
    request: "PATCH /api/v1/apps/catalog",
    change: ["catalog canary: none → 1.3.0 at 5%"],
  });
  await act(page, server, "ops", {
    open: "abort-catalog",
    reason: "1.3.0 breaks checkout",
    request: "PATCH /api/v1/apps/catalog",
    change: ["catalog canary: 1.3.0 at 5% → none"],
  });
  await expect(term(catalog, "Canary")).toHaveText("none");
  await expect(term(catalog, "Live")).toHaveText("1.2.0");

  // Roll back to the revision of the release of 1.1.0: the review lists what it would change.
  await act(page, server, "ops", {
    open: `rollback-${released}`,
    reason: "back to 1.1.0 while we look",
    request: "POST /api/v1/rollback",
    change: ["catalog version: 1.2.0 → 1.1.0"],
  });
  await expect(term(catalog, "Live")).toHaveText("1.1.0");
  const m = (await server.api("GET", "/api/v1/manifest")).body;
  expect(m.apps.catalog.version).toBe("1.1.0");
  expect(m.apps.catalog.canary ?? null).toBeNull();
  // Each revision in the history, newest first, with its reason.
  await expect(page.locator(".history > li .reason").first()).toHaveText("Reason: back to 1.1.0 while we look");
  await expect(page.locator(`#rev-${released} .reason`)).toHaveText("Reason: new product page — déjà vu ✓");
});

test("a release made with the CLI shows up on an open admin page without a reload", async ({ page, server, tokens }) => {
  await signIn(page, server, tokens.ops, "ops");
  let navigations = 0;
  page.on("framenavigated", (f) => f == page.mainFrame() && navigations++);
  await page.evaluate(() => ((window as any).__sameDocument = true));
  const catalog = card(page, "catalog");
  await expect(term(catalog, "Live")).toHaveText("1.0.0");
  const before = await revision(server);

  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MFSHELL_")));
  const { stdout } = await run(bin, ["release", "catalog", "1.1.0", "--server", server.url, "--reason", "released from CI"], {
    env: { ...env, MFSHELL_TOKEN: tokens.bot },
  });
  const rev = before + 1;
  expect(stdout).toContain(`(revision ${rev})`);

  // The change feed brings it (well before the page's 30 s poll).
  await expect(term(catalog, "Live")).toHaveText("1.1.0");
  await expect(page.getByText(`Revision ${rev}`, { exact: true })).toBeVisible();
  await expect(page.getByRole("status")).toHaveText(`Revision ${rev} by release-bot: catalog version: 1.0.0 → 1.1.0`);
  const item = page.locator(`#rev-${rev}`);
  await expect(item.locator(".meta strong")).toHaveText("release-bot");
  await expect(item.locator(".reason")).toHaveText("Reason: released from CI");
  await expect(item.getByRole("listitem")).toHaveText(["catalog version: 1.0.0 → 1.1.0"]);
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  expect(navigations).toBe(0);
  expect(await latest(server)).toMatchObject({ revision: rev, actor: "release-bot", reason: "released from CI" });
});

test("a team token sees every app and changes only its own: other apps' actions and rollback are disabled with a visible reason", async ({
  page,
  server,
  tokens,
}) => {
  // A canary on cart, so that its Promote and Abort are there too.
  await server.api("PATCH", "/api/v1/apps/cart", { canary: { version: "1.1.0", percent: 10 } });
  await signIn(page, server, tokens.team, "team-catalog");
  await expect(page.getByText("Signed in as team-catalog · may change catalog")).toBeVisible();

  const note = "Token team-catalog may change only catalog: these actions are disabled.";
  for (const app of ["cart", "home", "legacy"]) {
    const c = card(page, app);
    await expect(c).toBeVisible();
    await expect(c.locator(`#why-${app}`)).toBeVisible();
    await expect(c.locator(`#why-${app}`)).toHaveText(note);
    const buttons = c.locator(".actions button");
    await expect(buttons).toHaveCount(app == "cart" ? 4 : 2);
    for (const b of await buttons.all()) {
      await expect(b).toBeDisabled();
      await expect(b).toHaveAttribute("aria-describedby", `why-${app}`);
      await expect(b).toHaveAccessibleDescription(note);
    }
  }
  // Its own app: enabled, no note.
  const catalog = card(page, "catalog");
  await expect(catalog.locator(".note")).toHaveCount(0);
  for (const b of await catalog.locator(".actions button").all()) {
    await expect(b).toBeEnabled();
    await expect(b).not.toHaveAttribute("aria-describedby");
  }
  // The server agrees.
  const refused = await fetch(server.url + "/api/v1/apps/cart", {
    method: "PATCH",
    headers: { Authorization: "Bearer " + tokens.team, "Content-Type": "application/json" },
    body: JSON.stringify({ canary: null }),
  });
  expect(refused.status).toBe(403);

  // Its own app's actions work, recorded under its name.
  await act(page, server, "team-catalog", {
    open: "release-catalog",
    fill: (d) => d.getByLabel("Version").selectOption("1.1.0"),
    reason: "team release",
    request: "PATCH /api/v1/apps/catalog",
    change: ["catalog version: 1.0.0 → 1.1.0"],
  });
  await act(page, server, "team-catalog", {
    open: "canary-catalog",
    fill: canaryFields("catalog", "1.2.0", "20"),
    reason: "team canary",
    request: "PATCH /api/v1/apps/catalog",
    change: ["catalog canary: none → 1.2.0 at 20%"],
  });

  // Rollback: disabled on every older revision, with the reason.
  const why = "Token team-catalog may not roll back: a rollback changes every app and needs an admin token.";
  await expect(page.locator("#why-rollback")).toHaveText(why);
  await expect(page.locator("#why-rollback")).toBeVisible();
  const rollbacks = page.locator(".history button[id^='rollback-']");
  expect(await rollbacks.count()).toBeGreaterThanOrEqual(2);
  for (const b of await rollbacks.all()) {
    await expect(b).toBeDisabled();
    await expect(b).toHaveAccessibleDescription(why);
  }
});

test("HTML in a reason or a field is shown as text, never as markup", async ({ page, server, tokens }) => {
  await signIn(page, server, tokens.ops, "ops");
  const reason = `<img src=x onerror="window.__pwned=1"><b>bold</b>`;
  const root = page.locator("#mfshell-admin");

  // Typed into the dialog: the review shows it literally, the history too.
  const mine = (await revision(server)) + 1;
  await page.locator("#release-catalog").click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Version").selectOption("1.1.0");
  await dialog.getByLabel(REASON).fill(reason);
  await dialog.getByRole("button", { name: "Review change" }).click();
  await expect(dialog.locator("pre")).toContainText(`Mfshell-Reason: ${reason}`);
  await dialog.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByRole("status")).toContainText(`Done: revision ${mine}.`);
  await expect(page.locator(`#rev-${mine} .reason`)).toHaveText(`Reason: ${reason}`);
  expect((await latest(server)).reason).toBe(reason);

  // Written by someone else: a template and a reason with HTML, shown in the status and the history.
  const template = `<img src=y onerror="window.__pwned=2"><b>tpl</b>`;
  const other = `<b>bold</b> & <script>window.__pwned=3</script>`;
  const { revision: theirs } = await write(server, tokens.ops, "PATCH", "/apps/home", { template }, other);
  await expect(page.getByRole("status")).toHaveText(`Revision ${theirs} by ops: home template: none → ${template}`);
  await expect(page.locator(`#rev-${theirs} .reason`)).toHaveText(`Reason: ${other}`);
  await expect(page.locator(`#rev-${theirs}`).getByRole("listitem")).toHaveText([`home template: none → ${template}`]);
  await expect(page.getByText(`Reason: ${reason}`, { exact: true })).toBeVisible();

  await expect(root.locator("img, b, script")).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
});

/** reviewStaleRelease opens a release of catalog 1.1.0, decided on revision before, at its review step, and returns the dialog. */
async function reviewStaleRelease(page: Page, before: number) {
  await page.locator("#release-catalog").click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Version").selectOption("1.1.0");
  await dialog.getByLabel(REASON).fill("release on a stale view");
  await dialog.getByRole("button", { name: "Review change" }).click();
  await expect(dialog.locator("pre")).toContainText(`If-Match: "${before}"`);
  return dialog;
}

test("a change made meanwhile: Confirm sends on the revision reviewed, gets 412 and says so; nothing of it lands", async ({
  page,
  server,
  tokens,
}) => {
  await signIn(page, server, tokens.ops, "ops");
  const sent = writes(page);
  const before = await revision(server);
  const dialog = await reviewStaleRelease(page, before);

  // Someone starts a canary meanwhile; the open page learns of it.
  const { revision: theirs } = await write(server, tokens.ops, "PATCH", "/apps/catalog", { canary: { version: "1.2.0", percent: 5 } }, "meanwhile");
  await expect(page.getByText(`Revision ${theirs}`, { exact: true })).toBeVisible();
  await expect(dialog).toBeVisible(); // the review is still open, on the revision it was decided on

  const answer = page.waitForResponse((r) => r.request().method() == "PATCH");
  await dialog.getByRole("button", { name: "Confirm" }).click();
  expect((await answer).status()).toBe(412);
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("alert")).toHaveText(
    `Changed meanwhile, reloaded: someone changed the manifest after revision ${before}. Nothing was changed; look again and retry.`,
  );
  await expect(page.locator("#release-catalog")).toBeFocused();
  await expect(term(card(page, "catalog"), "Canary")).toHaveText("1.2.0 at 5%");
  await expect(term(card(page, "catalog"), "Live")).toHaveText("1.0.0");
  expect(sent).toEqual(["PATCH /api/v1/apps/catalog (dry run)", "PATCH /api/v1/apps/catalog"]);
  expect(await revision(server)).toBe(theirs);
  expect(await latest(server)).toMatchObject({ revision: theirs, reason: "meanwhile" });
});

test("the keyboard: Enter opens a dialog on its first field, Escape closes it and returns the focus; a release from the keyboard alone", async ({
  page,
  server,
  tokens,
}) => {
  await signIn(page, server, tokens.ops, "ops");
  const dialog = page.getByRole("dialog");
  const opener = page.locator("#release-catalog");

  await opener.focus();
  await page.keyboard.press("Enter");
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel("Version")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(opener).toBeFocused();

  // A dialog with no field of its own: the reason is first.
  await server.api("PATCH", "/api/v1/apps/catalog", { canary: { version: "1.2.0", percent: 5 } });
  const abort = page.locator("#abort-catalog");
  await expect(abort).toBeVisible();
  await abort.focus();
  await page.keyboard.press("Enter");
  await expect(dialog.getByLabel(REASON)).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(abort).toBeFocused();

  // The whole way with keys: open, pick a version, type a reason, review, confirm.
  const before = await revision(server);
  await opener.focus();
  await page.keyboard.press("Enter");
  await expect(dialog.getByLabel("Version")).toBeFocused();
  const version = await dialog.getByLabel("Version").inputValue();
  await page.keyboard.press("Tab");
  await expect(dialog.getByLabel(REASON)).toBeFocused();
  await page.keyboard.type("from the keyboard");
  await page.keyboard.press("Enter");
  await expect(dialog.getByRole("button", { name: "Confirm" })).toBeFocused();
  await expect(dialog.getByRole("listitem").first()).toHaveText(`catalog version: 1.0.0 → ${version}`);
  await page.keyboard.press("Enter");
  await expect(dialog).toBeHidden();
  await expect(page.locator(`#rev-${before + 1} .reason`)).toHaveText("Reason: from the keyboard");
  await expect(opener).toBeFocused(); // kept across the re-render
  expect(await latest(server)).toMatchObject({ revision: before + 1, actor: "ops", reason: "from the keyboard" });
});

// --- screenshots for the docs ----------------------------------------------

/** screenshot writes name.png into E2E_SCREENSHOTS (npm run screenshots), else into the test's output folder. */
test("the admin page for the docs: apps with a canary, a release's review, a phone @tour", async ({ page, docsServer }) => {
  const server = docsServer;
  const token = fs.readFileSync(path.join(server.data, "admin.token"), "utf8").trim();
  await page.setViewportSize({ width: 1366, height: 768 });

  // A few visits, so that the cards have mounts to show.
  for (const [p, app] of [["/", "home"], ["/catalog", "catalog"], ["/cart", "cart"], ["/legacy", "legacy"]]) {
    await page.goto(server.url + p);
    await expect
      .poll(async () => (await server.api("GET", "/api/v1/stats")).body.apps[app]?.["1.0.0"]?.mounts ?? 0)
      .toBeGreaterThan(0);
  }

  await signIn(page, server, token, "admin");
  await act(page, server, "admin", {
    open: "canary-catalog",
    fill: canaryFields("catalog", "1.1.0", "10", "5", "100"),
    reason: "Try the new product page on one browser in ten",
    request: "PATCH /api/v1/apps/catalog",
    change: ["catalog canary: none → 1.1.0 at 10%; auto-abort above 5% errors once it has 100 mounts"],
  });
  // A fresh view: no status line from the write.
  await page.reload();
  await expect(term(card(page, "catalog"), "Canary")).toContainText("1.1.0 at 10%");
  await expect(page.getByText("Live updates: on")).toBeVisible();
  await expect(page.locator("p[role=status]")).toBeEmpty();
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await screenshot(page, "admin-apps");

  await page.locator("#release-catalog").click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Version").selectOption("1.1.0");
  await dialog.getByLabel(REASON).fill("No errors on 10% of browsers for a day");
  await dialog.getByRole("button", { name: "Review change" }).click();
  await expect(dialog.getByRole("listitem")).toHaveText([
    "catalog version: 1.0.0 → 1.1.0",
    "catalog canary: 1.1.0 at 10%; auto-abort above 5% errors once it has 100 mounts → none",
  ]);
  await screenshot(page, "admin-confirm");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();

  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    scrollTo(0, 0);
  });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390); // no sideways scrolling
  await screenshot(page, "admin-phone");
});

test("a change made just before Confirm, not yet seen by the page: the 412 message stays after the reload", async ({ page, server, tokens }) => {
  await signIn(page, server, tokens.ops, "ops");
  const before = await revision(server);
  const dialog = await reviewStaleRelease(page, before);
  const answer = page.waitForResponse((r) => r.request().method() == "PATCH" && !r.url().includes("dry-run"));
  const { revision: theirs } = await write(server, tokens.ops, "PATCH", "/apps/catalog", { canary: { version: "1.2.0", percent: 5 } }, "meanwhile");
  await dialog.getByRole("button", { name: "Confirm" }).click();
  expect((await answer).status()).toBe(412);
  // The page shows the other change and still says why nothing was done.
  await expect(page.getByText(`Revision ${theirs}`, { exact: true })).toBeVisible();
  await expect(term(card(page, "catalog"), "Canary")).toHaveText("1.2.0 at 5%");
  await expect(page.locator("#mfshell-admin > p[role=alert]")).toHaveText(/^Changed meanwhile, reloaded/);
  expect(await revision(server)).toBe(theirs);
});

test("the review shows every field a release changes, as the server will: a version with another entry and no styles", async ({ page, server, tokens }) => {
  const version = uniqueVersion("9.9.9-entry");
  await server.publishCopy("catalog", version, "broken-ok"); // main.js and no stylesheet, where the demo has catalog.js and catalog.css
  await signIn(page, server, tokens.ops, "ops");
  await page.locator("#release-catalog").click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Version").selectOption(version);
  await dialog.getByLabel(REASON).fill("another build layout");
  await dialog.getByRole("button", { name: "Review change" }).click();
  await expect(dialog.getByRole("listitem")).toHaveText([
    `catalog version: 1.0.0 → ${version}`,
    "catalog entry: catalog.js → main.js",
    "catalog styles: catalog.css → none",
  ]);
  await dialog.getByRole("button", { name: "Cancel" }).click();
});
