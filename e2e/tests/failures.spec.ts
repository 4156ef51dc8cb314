// Failure of one app never breaks the shell. For each way a version can
// fail (its bundle 404s, fails its integrity check, throws on evaluation,
// throws in mount, never finishes mounting), the runtime mounts the app's
// fallback, the previous live version, and says so with mfshell:fallback
// and a beacon. When the fallback fails too, the app's own element shows an
// error view with a Retry button, mfshell:error says which app and version
// failed and why, the navigation and the other apps keep working, and Retry
// after a fix mounts the app. The shell catches these errors: none may
// surface as an uncaught page error (the issues fixture checks).

import fs from "node:fs";
import { bundleDir } from "../fixtures/build";
import type { Manifest } from "../../shell-js/src/mfshell";
import { uniqueVersion as unique, type Server } from "../server";
import type { Shell } from "../shell";
import { expect, test } from "../test";

// The default lifecycle timeout is 5 s (shell-js/src/index.ts); a page can
// only change it with data-mfshell-lifecycle-timeout on <html>, which the
// server's page does not set. Waits for a timed-out mount allow for it.
const lifecycleTimeout = 5_000;

// publicManifest is the manifest a browser without cookies gets.
async function publicManifest(server: Server): Promise<Manifest> {
  return (await fetch(server.url + "/_mfshell/manifest.json")).json();
}


// failOn releases version after another failing one, so that its
// fallback fails too, opens the home page, navigates to /broken and checks
// what a failure must look like; it returns the mfshell:error event.
async function failOn(shell: Shell, server: Server, version: string, message: RegExp, timeout = 5_000) {
  const before = version == "mount" ? "eval" : "mount";
  await server.release("broken", before);
  await server.release("broken", version);
  expect((await publicManifest(server)).apps.broken.fallback?.version).toBe(before);
  await shell.goto("/", "home");
  const failed = await shell.next("error", "broken", () => shell.nav.getByRole("link", { name: "broken", exact: true }).click(), timeout);
  expect(failed).toMatchObject({ type: "error", app: "broken", version });
  expect(failed.error).toMatch(message);
  // The error view is inside the app's own element, with a Retry button.
  const view = shell.app("broken").getByRole("alert");
  await expect(view).toContainText(`broken ${version} failed`);
  await expect(view.getByRole("button", { name: "Retry" })).toBeVisible();
  await expect(shell.stage.locator(":scope > broken-app")).toHaveCount(1);
  expect((await shell.events()).filter((e) => (e.type == "mounted" || e.type == "fallback") && e.app == "broken")).toEqual([]);
  // The rest of the page works: the nav, another app, and back.
  await shell.clickNav("catalog");
  await expect(shell.app("catalog").getByRole("heading", { name: "Catalog" })).toBeVisible();
  await shell.clickNav("react");
  await expect(shell.app("react").locator(".count")).toHaveText("Clicked 0 times");
  const again = await shell.next("error", "broken", () => shell.nav.getByRole("link", { name: "broken", exact: true }).click(), timeout);
  expect(again).toMatchObject({ app: "broken", version });
  await expect(shell.app("broken").getByRole("button", { name: "Retry" })).toBeVisible();
  return failed;
}

// fixAndRetry releases the healthy version, waits until the page knows it,
// presses Retry and checks the app mounts.
async function fixAndRetry(shell: Shell, server: Server) {
  await server.release("broken", "ok");
  await expect.poll(async () => (await shell.manifest()).apps.broken.version).toBe("ok");
  await retry(shell, "ok");
}

async function retry(shell: Shell, version: string) {
  const retried = await shell.next(["mounted", "error"], "broken", () => shell.app("broken").getByRole("button", { name: "Retry" }).click());
  expect(retried, `after Retry: ${retried.type} ${retried.error ?? ""}`).toMatchObject({ type: "mounted", version });
  await expect(shell.app("broken").locator(".works")).toContainText(`broken app works: ${version}`);
  await expect(shell.app("broken").getByRole("alert")).toHaveCount(0);
}

// publish404 publishes a new version of the healthy 404 fixture and deletes
// its entry from the CDN folder; it returns the version and a function that
// puts the file back.
async function publish404(server: Server) {
  const version = unique("404");
  await server.publishCopy("broken", version, "broken-404");
  const file = server.cdnFile("broken", version, "main.js");
  const bytes = fs.readFileSync(file);
  fs.rmSync(file);
  return { version, restore: () => fs.writeFileSync(file, bytes) };
}

test("a bundle that 404s shows the error view; Retry after a fix mounts", async ({ shell, server }) => {
  const { version } = await publish404(server);
  await failOn(shell, server, version, /./);
  await fixAndRetry(shell, server);
});

test("a bundle that 404s mounts on Retry once the file is back on the CDN", async ({ shell, server, page }) => {
  // A file missing for a while (a CDN still being filled) is the case
  // Retry exists for: the same version must mount once the file is there.
  const { version, restore } = await publish404(server);
  await failOn(shell, server, version, /./);
  restore();
  const url = `${server.url}/cdn/broken/${version}/main.js`;
  expect((await page.request.get(url)).status()).toBe(200);
  await retry(shell, version);
});

test("a bundle changed on the CDN after release is refused", async ({ shell, server, page }) => {
  const version = unique("integrity");
  await server.publishCopy("broken", version, "broken-integrity");
  const file = server.cdnFile("broken", version, "main.js");
  const clean = fs.readFileSync(file, "utf8"), dirty = clean.replace("integrity:clean-bytes", "integrity:dirty-bytes");
  expect(dirty).not.toBe(clean);
  fs.chmodSync(file, 0o644);
  fs.writeFileSync(file, dirty);
  await failOn(shell, server, version, /./);
  // The changed bundle never ran.
  expect(await page.evaluate(() => (globalThis as any).e2eIntegrityMarker)).toBeUndefined();
  await fixAndRetry(shell, server);
});

test("a bundle that throws on evaluation shows the error view; Retry after a fix mounts", async ({ shell, server }) => {
  const failed = await failOn(shell, server, "eval", /e2e: broken at evaluation/);
  expect(failed.errorIsError).toBe(true);
  await fixAndRetry(shell, server);
});

test("a mount that throws shows the error view; Retry after a fix mounts", async ({ shell, server }) => {
  const failed = await failOn(shell, server, "mount", /e2e: broken in mount/);
  expect(failed.errorIsError).toBe(true);
  await fixAndRetry(shell, server);
});

test("a mount that never finishes times out into the error view; Retry after a fix mounts", async ({ shell, server }) => {
  test.setTimeout(60_000);
  const failed = await failOn(shell, server, "timeout", /timed out/, 3 * lifecycleTimeout);
  expect(failed.errorIsError).toBe(true);
  await fixAndRetry(shell, server);
});

test("the failure fixtures are what they claim: the healthy version mounts", async ({ shell }) => {
  // Guards the tests above against passing on a bundle that is broken for
  // another reason than the one each is about.
  await shell.goto("/broken", "broken");
  await expect(shell.app("broken").locator(".works")).toHaveText("broken app works: ok");
  expect(fs.existsSync(bundleDir("broken-404"))).toBe(true);
});

// The fallback: a live version that fails in the browser is replaced by the
// previous live one, mounted in its place, reported to the page and to the
// server; the user sees a working app, not an error view.
for (const kind of ["404", "mount"] as const)
  test(`a live version whose ${kind == "404" ? "bundle 404s" : "mount throws"} falls back to the previous version`, async ({ shell, server }) => {
    const version = kind == "404" ? (await publish404(server)).version : "mount";
    const fallbacks = `mfshell_app_mounts_total{app="broken",outcome="fallback",version="${version}"}`;
    const before = await server.metric(fallbacks);
    await server.release("broken", version);
    expect((await publicManifest(server)).apps.broken.fallback?.version).toBe("ok");
    await shell.goto("/", "home");
    const fell = await shell.next(["mounted", "fallback", "error"], "broken", () => shell.nav.getByRole("link", { name: "broken", exact: true }).click());
    // The event names the version that failed and why; the app that runs is the previous one.
    expect(fell).toMatchObject({ type: "fallback", app: "broken", version });
    expect(fell.error).toMatch(kind == "404" ? /./ : /e2e: broken in mount/);
    await expect(shell.app("broken").locator(".works")).toHaveText("broken app works: ok");
    await expect(shell.app("broken").getByRole("alert")).toHaveCount(0);
    await shell.expectOnlyMounted("broken");
    // The server counts it against the version that failed.
    await expect.poll(() => server.metric(fallbacks)).toBe(before + 1);
    // Leaving and coming back tries the live version again, and falls back again.
    await shell.clickNav("react");
    const again = await shell.next(["mounted", "fallback", "error"], "broken", () => shell.nav.getByRole("link", { name: "broken", exact: true }).click());
    expect(again).toMatchObject({ type: "fallback", version });
    await expect(shell.app("broken").locator(".works")).toHaveText("broken app works: ok");
  });
