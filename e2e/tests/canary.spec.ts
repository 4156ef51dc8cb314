// Canaries in real browsers: each browser keeps its bucket (a cookie) and
// so its version across reloads; a canary whose mount throws leaves every
// user with a working app (the fallback) and is aborted by the server's
// guard once enough browsers have reported it.

import { uniqueVersion, type Server } from "../server";
import { Shell } from "../shell";
import { expect, test } from "../test";

// bucketCookie puts a browser in canary bucket n.
const bucketCookie = (server: Server, n: number) => ({ name: "mfshell-bucket", value: String(n), url: server.url });

// works returns the version the broken app says it runs, once mounted.
async function works(shell: Shell) {
  const works = shell.app("broken").locator(".works");
  await expect(works).toHaveText(/^broken app works: /);
  return (await works.textContent())!.replace("broken app works: ", "");
}

test("a browser keeps its canary bucket, and so its version, across reloads", async ({ shell, server, page, context }) => {
  const canary = uniqueVersion("canary-ok");
  await server.publishCopy("broken", canary, "broken-ok");
  await server.api("PATCH", "/api/v1/apps/broken", { canary: { version: canary, percent: 50 } });

  await shell.goto("/broken", "broken");
  const cookie = (await context.cookies()).find((c) => c.name == "mfshell-bucket");
  expect(cookie, "the page gives a bucket").toBeDefined();
  expect(cookie!.httpOnly).toBe(true);
  const bucket = Number(cookie!.value), mine = bucket < 50 ? canary : "ok", other = bucket < 50 ? "ok" : canary;
  expect(await works(shell)).toBe(mine);
  for (let i = 0; i < 3; i++) {
    await page.reload();
    await page.waitForFunction(() => performance.getEntriesByName("mfshell:mounted:broken").length > 0);
    expect(await works(shell)).toBe(mine);
    // The manifest the page fetches (the change feed does) is resolved the same way.
    expect(await page.evaluate(async () => (await (await fetch("/_mfshell/manifest.json")).json()).apps.broken.version)).toBe(mine);
  }
  expect((await context.cookies()).find((c) => c.name == "mfshell-bucket")?.value).toBe(String(bucket));

  // The bucket is what decides: on the other side of the percent, the other version.
  await context.addCookies([bucketCookie(server, bucket < 50 ? 50 + (bucket % 50) : bucket - 50)]);
  await page.reload();
  await page.waitForFunction(() => performance.getEntriesByName("mfshell:mounted:broken").length > 0);
  expect(await works(shell)).toBe(other);
});

test("a canary whose mount throws: every user keeps a working app, and the guard aborts it", async ({ server, browser }) => {
  test.setTimeout(60_000);
  const canary = uniqueVersion("canary-mount"), minMounts = 5;
  await server.publishCopy("broken", canary, "broken-mount");
  await server.api("PATCH", "/api/v1/apps/broken", { canary: { version: canary, percent: 50, maxErrorRate: 0.05, minMounts } });

  // Ten browsers, one after the other, alternately in the canary (buckets
  // 0, 10, .., 40) and out of it (55, 65, ..): the fifth canary browser
  // reaches minMounts.
  const fallbacks = `mfshell_app_mounts_total{app="broken",outcome="fallback",version="${canary}"}`;
  for (let i = 0; i < 2 * minMounts; i++) {
    const inCanary = i % 2 == 0, context = await browser.newContext();
    try {
      await context.addCookies([bucketCookie(server, inCanary ? i * 5 : 50 + i * 5)]);
      const page = await context.newPage();
      await Shell.install(page);
      const shell = new Shell(page, server);
      await shell.goto("/broken");
      // The user sees the live version either way: the canary fell back to it.
      expect(await works(shell)).toBe("ok");
      const outcome = (await shell.events()).find((e) => e.app == "broken" && e.type != "manifest");
      expect(outcome).toMatchObject(inCanary ? { type: "fallback", version: canary } : { type: "mounted", version: "ok" });
      // Its report reached the server (sendBeacon) before the browser goes.
      if (inCanary) await expect.poll(() => server.metric(fallbacks)).toBe(i / 2 + 1);
    } finally {
      await context.close();
    }
  }

  // The reports reach the server by sendBeacon; the guard then aborts.
  await expect.poll(async () => (await server.api("GET", "/api/v1/manifest")).body.apps.broken.canary ?? null).toBeNull();
  const [last] = (await server.api("GET", "/api/v1/history?limit=1")).body.revisions;
  expect(last.actor).toBe("canary-guard");
  expect(last.reason).toContain(`canary ${canary} of broken aborted: ${minMounts} of ${minMounts} mounts failed`);

  // A new browser in a canary bucket now gets the live version directly.
  const context = await browser.newContext();
  await context.addCookies([bucketCookie(server, 0)]);
  const page = await context.newPage();
  await Shell.install(page);
  const shell = new Shell(page, server);
  await shell.goto("/broken", "broken");
  expect(await works(shell)).toBe("ok");
  expect((await shell.events()).filter((e) => e.app == "broken").map((e) => e.type)).toEqual(["mounted"]);
  await context.close();
});
