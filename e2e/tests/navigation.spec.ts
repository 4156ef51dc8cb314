// Mounting and switching apps: page loads, links in the navigation bar and
// inside apps, mfshell.navigate, back and forward; the old app is unmounted
// before the new one is mounted; a burst of navigations ends on the last.

import { expect, test } from "../test";

test("/ mounts home in the stage", async ({ shell }) => {
  await shell.goto("/", "home");
  await shell.expectOnlyMounted("home");
  await expect(shell.app("home").getByRole("heading", { name: "One page, many apps" })).toBeVisible();
  await expect(shell.nav.getByRole("link", { name: "home", exact: true })).toHaveAttribute("aria-current", "page");
  expect(await shell.events()).toEqual([expect.objectContaining({ type: "mounted", app: "home", version: "1.0.0" })]);
});

test("a nav link unmounts the old app before mounting the new one", async ({ shell, page }) => {
  await shell.goto("/", "home");
  await shell.clickNav("catalog");
  await expect(page).toHaveURL(shell.server.url + "/catalog");
  await expect(shell.app("catalog").getByRole("heading", { name: "Catalog" })).toBeVisible();
  await shell.expectOnlyMounted("catalog");
  const order = (await shell.events()).map((e) => `${e.type} ${e.app}`);
  expect(order).toEqual(["mounted home", "unmounted home", "mounted catalog"]);
  await expect(shell.nav.getByRole("link", { name: "catalog", exact: true })).toHaveAttribute("aria-current", "page");
  await expect(shell.nav.getByRole("link", { name: "home", exact: true })).not.toHaveAttribute("aria-current");
});

test("links inside apps (in a shadow root) route through the shell", async ({ shell, page }) => {
  await shell.goto("/", "home");
  // home's cards link to the other apps from inside its shadow root.
  await shell.mounted("cart", () => shell.app("home").getByRole("link", { name: "Open cart →" }).click());
  await expect(page).toHaveURL(shell.server.url + "/cart");
  // cart's empty view links to the catalog (scoped isolation: light DOM).
  await shell.mounted("catalog", () => shell.app("cart").getByRole("link", { name: "Browse the catalog" }).click());
  // Inside catalog, a product link stays in the app: no unmount, the detail shows.
  const before = (await shell.events()).length;
  await shell.app("catalog").getByRole("link", { name: "Stoneware mug" }).click();
  await expect(page).toHaveURL(shell.server.url + "/catalog/mug");
  await expect(shell.app("catalog").getByRole("link", { name: "← All products" })).toBeVisible();
  expect((await shell.events()).slice(before)).toEqual([]);
  await shell.expectOnlyMounted("catalog");
});

test("mfshell.navigate, back and forward", async ({ shell, page }) => {
  await shell.goto("/", "home");
  await shell.navigate("/legacy", "legacy");
  await expect(page).toHaveURL(shell.server.url + "/legacy");
  await shell.navigate("/cart", "cart");
  await shell.mounted("legacy", () => page.goBack());
  await expect(page).toHaveURL(shell.server.url + "/legacy");
  await shell.mounted("home", () => page.goBack());
  await expect(page).toHaveURL(shell.server.url + "/");
  await shell.mounted("legacy", () => page.goForward());
  await shell.mounted("cart", () => page.goForward());
  await expect(page).toHaveURL(shell.server.url + "/cart");
  await shell.expectOnlyMounted("cart");
  // Every switch unmounted the old app before mounting the new one.
  const order = (await shell.events()).map((e) => `${e.type} ${e.app}`);
  expect(order).toEqual([
    "mounted home",
    ...["legacy", "cart", "legacy", "home", "legacy", "cart"].flatMap((app, i, a) => [`unmounted ${i ? a[i - 1] : "home"}`, `mounted ${app}`]),
  ]);
});

test("10 navigations without waiting end with the last route mounted", async ({ shell, page }) => {
  await shell.goto("/", "home");
  const paths = ["/catalog", "/cart", "/legacy", "/react", "/vue", "/catalog/mug", "/", "/portal", "/cart", "/vue"];
  await shell.mounted("vue", () => page.evaluate((ps) => ps.forEach((p) => window.mfshell.navigate(p)), paths));
  await expect(page).toHaveURL(shell.server.url + "/vue");
  await shell.expectOnlyMounted("vue");
  const events = await shell.events();
  expect(events.at(-1)).toMatchObject({ type: "mounted", app: "vue" });
  expect(events.filter((e) => e.type == "error")).toEqual([]);
  await expect(shell.app("vue").getByRole("heading", { name: "Vue fixture" })).toBeVisible();
});

test("10 navigations, each overtaking a mount in flight, end with the last route mounted", async ({ shell, page }) => {
  await shell.goto("/", "home");
  // Each navigation waits only until the previous app's element is in the
  // stage (its mount has started, nothing more), so every app but the last
  // is overtaken while loading or mounting. /portal, the last, appears once.
  const steps = [
    ["/react", "react"], ["/catalog", "catalog"], ["/vue", "vue"], ["/leaky", "leaky"], ["/cart", "cart"],
    ["/react", "react"], ["/legacy", "legacy"], ["/vue", "vue"], ["/catalog/lamp", "catalog"], ["/portal", "portal"],
  ];
  await shell.mounted("portal", () =>
    page.evaluate(async (steps) => {
      const stage = document.getElementById("mfshell-stage")!;
      for (const [p, app] of steps) {
        const placed = new Promise<void>((done) => {
          const o = new MutationObserver(() => {
            if (stage.firstElementChild?.localName != app + "-app") return;
            o.disconnect();
            done();
          });
          o.observe(stage, { childList: true });
        });
        window.mfshell.navigate(p);
        await placed;
      }
    }, steps),
  );
  await expect(page).toHaveURL(shell.server.url + "/portal");
  await shell.expectOnlyMounted("portal");
  const events = await shell.events();
  expect(events.at(-1)).toMatchObject({ type: "mounted", app: "portal" });
  expect(events.filter((e) => e.type == "error")).toEqual([]);
  // Every app mounted on the way was unmounted before the next one mounted.
  let current = "";
  for (const e of events.filter((e) => e.type != "manifest")) {
    if (e.type == "mounted") expect(current, `mounted ${e.app} while ${current} was`).toBe(""), (current = e.app!);
    else if (e.type == "unmounted") expect(e.app).toBe(current), (current = "");
  }
  await expect(shell.app("portal").getByRole("heading", { name: "Portal fixture" })).toBeVisible();
  // Whatever the overtaken apps had started is released (the leaky script
  // may have run before its mount was dropped).
  for (const app of ["react", "catalog", "vue", "leaky", "cart", "legacy"])
    expect(await shell.resources(app), app).toEqual({ listeners: 0, timers: 0, observers: 0, globals: 0, nodes: 0 });
  await expect(page.locator("#leaky-toast, .legacy-toast")).toHaveCount(0);
});

test("a path no app owns shows the not-found view, and the nav still works", async ({ shell, page }) => {
  const res = await page.goto(shell.server.url + "/no-such-app");
  expect(res?.status()).toBe(404);
  await expect(shell.stage.getByRole("alert")).toContainText("Page not found: /no-such-app");
  await shell.clickNav("catalog");
  await shell.expectOnlyMounted("catalog");
});
