// The demo as a newcomer sees it, on a server with the demo apps alone:
// a tour with no CSP violation and no uncaught error (the issues fixture
// fails any test that has one), and the path the README suggests, with
// screenshots of each app at 1280x800. `npm run screenshots` (or
// `make screenshots`) writes them to docs/screenshots/; otherwise they go
// to the test's output folder.

import { screenshot } from "../screenshot";
import { demoTest as test, expect } from "../test";

test("the shell page sets a strict CSP with a nonce", async ({ page, server }) => {
  const res = await page.goto(server.url + "/");
  const csp = res!.headers()["content-security-policy"];
  const nonce = /script-src 'nonce-([^']+)' 'strict-dynamic'/.exec(csp)?.[1];
  expect(nonce, csp).toBeTruthy();
  expect(csp).toContain("object-src 'none'");
  expect(csp).toContain("base-uri 'none'");
  // The inline import map and the runtime carry it.
  expect(await page.locator("script[type=importmap]").evaluate((s: HTMLScriptElement) => s.nonce)).toBe(nonce);
  expect(await page.locator("script[type=module][src^='/_mfshell/shell.']").evaluate((s: HTMLScriptElement) => s.nonce)).toBe(nonce);
});

test("a tour of the demo raises no CSP violation and no page error", async ({ shell, page, issues }) => {
  // Every page loaded directly: each inlines its import map and preloads its bundle.
  for (const [p, app] of [["/", "home"], ["/catalog", "catalog"], ["/catalog/teapot", "catalog"], ["/cart", "cart"], ["/legacy", "legacy"]]) {
    await shell.goto(p, app);
    await shell.expectOnlyMounted(app);
  }
  // And moving around inside one page.
  await shell.goto("/", "home");
  for (const app of ["catalog", "cart", "legacy", "home", "legacy", "catalog"]) await shell.clickNav(app);
  await shell.app("catalog").getByRole("button", { name: "Add to cart" }).first().click();
  await shell.clickNav("cart");
  await shell.app("cart").getByRole("button", { name: /Remove one/ }).click();
  await expect(shell.app("cart").getByText("Nothing here yet.")).toBeVisible();
  await shell.mounted("catalog", () => shell.app("cart").getByRole("link", { name: "Browse the catalog" }).click());
  await shell.mounted("cart", () => page.goBack());
  expect((await shell.events()).filter((e) => e.type == "error")).toEqual([]);
  expect(issues.found).toEqual([]);
});

test("a newcomer's tour: home, catalog, add to cart, cart, legacy, home @tour", async ({ shell, page }) => {
  await shell.goto("/", "home");
  const home = shell.app("home");
  await expect(home.getByRole("heading", { name: "One page, many apps" })).toBeVisible();
  await expect(home.getByText("live 1.0.0").first()).toBeVisible();
  await screenshot(page, "home");

  await shell.mounted("catalog", () => home.getByRole("link", { name: "Open catalog →" }).click());
  const catalog = shell.app("catalog");
  const mug = catalog.getByRole("listitem").filter({ hasText: "Stoneware mug" });
  await mug.getByRole("button", { name: "Add to cart" }).click();
  await expect(catalog.getByRole("status")).toHaveText("Stoneware mug is in your cart.");
  await expect(catalog.getByText("In your cart: 1")).toBeVisible();
  await screenshot(page, "catalog");

  await shell.clickNav("cart");
  const cart = shell.app("cart");
  await expect(cart.getByRole("heading", { name: "Your cart" })).toBeVisible();
  await expect(cart.getByRole("listitem")).toHaveCount(1);
  await expect(cart.getByRole("listitem")).toContainText("Stoneware mug");
  await expect(cart.getByRole("listitem")).toContainText("× 1");
  await expect(cart.getByText("1 item", { exact: true })).toBeVisible();
  await screenshot(page, "cart");

  await shell.clickNav("legacy");
  const legacy = shell.app("legacy");
  await expect(legacy.getByRole("heading", { name: "Legacy widget" })).toBeVisible();
  await expect(page.locator("body > .legacy-toast")).toBeVisible();
  await expect(legacy.locator(".legacy-resources")).toContainText("listeners 2");
  await screenshot(page, "legacy");

  await shell.clickNav("home");
  await expect(home.getByRole("heading", { name: "One page, many apps" })).toBeVisible();
  await expect(page.locator(".legacy-toast")).toHaveCount(0);
  await shell.expectOnlyMounted("home");
});
