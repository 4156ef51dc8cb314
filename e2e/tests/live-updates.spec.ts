// Live updates: a release made through the API reaches an open page through
// the change feed without a reload; the mounted app keeps its version until
// it is mounted again, and that next mount runs the new version.

import { expect, test } from "../test";

test("a release reaches an open page; the next mount runs the new version", async ({ shell, server, page }) => {
  await shell.goto("/catalog", "catalog");
  const catalog = shell.app("catalog");
  await expect(catalog.locator("footer")).toHaveText("catalog 1.0.0");
  await expect(catalog.getByText("new in 1.1.0")).toHaveCount(0);
  // A marker that a reload would lose.
  await page.evaluate(() => ((window as any).e2eSamePage = true));

  const revision = await server.release("catalog", "1.1.0");
  await expect.poll(async () => (await shell.manifest()).apps.catalog.version).toBe("1.1.0");
  expect((await shell.manifest()).revision).toBe(revision);
  expect(await page.evaluate(() => (window as any).e2eSamePage)).toBe(true);
  expect((await shell.events()).filter((e) => e.type == "manifest").at(-1)).toMatchObject({ revision });

  // Not yanked mid-use: the mounted catalog is still 1.0.0.
  await expect(catalog.locator("footer")).toHaveText("catalog 1.0.0");
  await shell.clickNav("home");
  // home renders versions from the live manifest at mount.
  await expect(shell.app("home").getByText("live 1.1.0")).toBeVisible();
  const mounted = await shell.clickNav("catalog");
  expect(mounted.version).toBe("1.1.0");
  await expect(catalog.getByText("new in 1.1.0")).toBeVisible();
  await expect(catalog.locator("footer")).toHaveText("catalog 1.1.0");
  // The 1.1.0 stylesheet came with it: the accent is no longer teal.
  await expect(catalog.locator(".badge")).toHaveCSS("background-color", "rgb(192, 88, 60)");

  // A rollback is a release too.
  const back = (await server.api("POST", "/api/v1/rollback", { revision: server.baseline })).body.revision;
  await expect.poll(async () => (await shell.manifest()).revision).toBe(back);
  await shell.clickNav("home");
  const again = await shell.clickNav("catalog");
  expect(again.version).toBe("1.0.0");
  await expect(catalog.getByText("new in 1.1.0")).toHaveCount(0);
  await expect(catalog.locator("h1")).toHaveCSS("border-bottom-color", "rgb(47, 125, 114)");
});

test("an app added after the page loaded can be navigated to", async ({ shell, server }) => {
  await shell.goto("/", "home");
  const version = "1.0.0-" + Date.now().toString(36);
  await server.publishCopy("late", version, "broken-ok");
  await server.put({ app: "late", version, bundle: "broken-ok", route: "/late", format: "module", isolation: "shadow" });
  await expect.poll(async () => (await shell.manifest()).apps.late?.version).toBe(version);
  await shell.navigate("/late", "late");
  await expect(shell.app("late").locator(".works")).toHaveText(`broken app works: ${version}`);
});
