// Overrides: a signed link makes one browser run another published
// version of an app, shows a badge while it does, and the badge's Clear
// button ends it. Another browser is not affected; a tampered link does
// nothing.

import { expect, test } from "../test";

test("an override link: this browser runs the other version, with a badge that clears it", async ({ shell, server, page, browser }) => {
  const { body } = await server.api("POST", "/api/v1/overrides", { apps: { catalog: "1.1.0" }, ttl: "1h" });
  const query = (body.url as string).slice(1); // "?mfshell-override=TOKEN"

  await shell.goto("/catalog" + query, "catalog");
  expect(await page.evaluate(() => window.mfshell.manifest.apps.catalog.version)).toBe("1.1.0");
  const badge = page.locator("form#mfshell-override[role=status]");
  await expect(badge).toContainText("Override: catalog 1.1.0");
  // The cookie is HttpOnly: the page cannot read it, and it stays after a
  // navigation in the shell and a reload.
  expect(await page.evaluate(() => document.cookie)).not.toContain("mfshell-override");
  await shell.goto("/catalog", "catalog");
  expect(await page.evaluate(() => window.mfshell.manifest.apps.catalog.version)).toBe("1.1.0");

  // Another browser sees the live version.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await otherPage.goto(server.url + "/catalog");
  await otherPage.waitForFunction(() => performance.getEntriesByName("mfshell:mounted:catalog").length > 0);
  expect(await otherPage.evaluate(() => window.mfshell.manifest.apps.catalog.version)).toBe("1.0.0");
  await expect(otherPage.locator("#mfshell-override")).toHaveCount(0);
  // A tampered link does nothing there.
  await otherPage.goto(server.url + "/catalog" + query.slice(0, -3) + "AAA");
  await otherPage.waitForFunction(() => performance.getEntriesByName("mfshell:mounted:catalog").length > 0);
  expect(await otherPage.evaluate(() => window.mfshell.manifest.apps.catalog.version)).toBe("1.0.0");
  await other.close();

  // Clear: back to the live version, no badge.
  await badge.getByRole("button", { name: "Clear" }).click();
  await page.waitForURL(/mfshell-override=clear/);
  await page.waitForFunction(() => performance.getEntriesByName("mfshell:mounted:catalog").length > 0);
  expect(await page.evaluate(() => window.mfshell.manifest.apps.catalog.version)).toBe("1.0.0");
  await expect(page.locator("#mfshell-override")).toHaveCount(0);
});
