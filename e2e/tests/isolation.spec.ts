// Style isolation, read from computed styles inside and outside each app:
// shadow (home, catalog, the react fixture), scoped (cart, the vue
// fixture), none (legacy); @font-face under shadow isolation; a portal
// appended to body keeps the app's styles; a rule inserted through the
// CSSOM survives an unmount and a remount.

import type { Locator, Page } from "@playwright/test";
import { expect, test } from "../test";

const css = (l: Locator, prop: string) => l.evaluate((e, p) => getComputedStyle(e).getPropertyValue(p), prop);

// outsider puts <div class="card"><h1>outside</h1></div> in the page, outside
// every app, and returns it: what the page's own markup would be.
async function outsider(page: Page) {
  await page.evaluate(() => {
    const d = document.createElement("div");
    d.className = "card";
    d.id = "e2e-outsider";
    d.innerHTML = "<h1>outside</h1>";
    document.body.prepend(d);
  });
  return page.locator("#e2e-outsider");
}

test("shadow: home's and catalog's .card rules stay in their shadow roots", async ({ shell, page }) => {
  await shell.goto("/", "home");
  const out = await outsider(page);
  const homeCard = shell.app("home").locator(".card").first();
  await expect(homeCard).toHaveCSS("border-left-width", "4px");
  await expect(homeCard).toHaveCSS("border-radius", "10px");
  await expect(out).toHaveCSS("border-left-width", "0px");
  await expect(out).toHaveCSS("border-radius", "0px");
  await expect(out).toHaveCSS("background-color", "rgba(0, 0, 0, 0)");

  await shell.clickNav("catalog");
  const tile = shell.app("catalog").locator(".card").first();
  await expect(tile).toHaveCSS("border-radius", "20px");
  await expect(tile).toHaveCSS("background-color", "rgb(244, 241, 234)");
  await expect(tile).toHaveCSS("border-left-width", "0px"); // home's .card rule does not reach it
  await expect(out).toHaveCSS("border-radius", "0px");
  await expect(out).toHaveCSS("background-color", "rgba(0, 0, 0, 0)");
});

test("shadow: document rules do not leak into an app", async ({ shell, page }) => {
  await shell.goto("/catalog", "catalog");
  await page.addStyleTag({ content: ".card, h1, button { outline: 7px dotted rgb(255, 0, 0); text-transform: lowercase; }" });
  const out = await outsider(page);
  await expect(out).toHaveCSS("outline-width", "7px");
  for (const l of [shell.app("catalog").locator(".card").first(), shell.app("catalog").locator("h1"), shell.app("catalog").getByRole("button").first()]) {
    await expect(l).toHaveCSS("outline-style", "none");
    await expect(l).toHaveCSS("text-transform", /none|uppercase/);
  }
});

test("shadow: the react fixture's styles stay inside, and it works", async ({ shell, page }) => {
  await shell.goto("/react", "react");
  const app = shell.app("react");
  const card = app.locator(".card");
  await expect(card).toHaveCSS("border-top-width", "5px");
  await expect(card).toHaveCSS("background-color", "rgb(32, 35, 42)");
  await expect(app).toHaveCSS("display", "block"); // :host
  const out = await outsider(page);
  await expect(out).toHaveCSS("border-top-width", "0px");
  await expect(out).toHaveCSS("background-color", "rgba(0, 0, 0, 0)");
  // Its state and its window listener (added in useEffect) work.
  await app.getByRole("button", { name: "Click me" }).click();
  await app.getByRole("button", { name: "Click me" }).click();
  await expect(app.locator(".count")).toHaveText("Clicked 2 times");
  await page.keyboard.press("q");
  await expect(app.locator(".key")).toHaveText("Last key: q");
  await expect(app.locator("footer")).toHaveText("react 1.0.0");
  // And nothing of it reaches catalog, mounted next.
  await shell.clickNav("catalog");
  await expect(shell.app("catalog").locator(".card").first()).toHaveCSS("border-top-width", "0px");
});

test("shadow: a relative url() in an app's stylesheet resolves against the stylesheet", async ({ shell, page }) => {
  const images: string[] = [];
  page.on("request", (r) => r.url().endsWith(".svg") && images.push(r.url()));
  await shell.goto("/react", "react");
  const stripe = shell.app("react").locator(".stripe");
  await expect(stripe).toHaveCSS("height", "8px");
  // url(./stripe.svg) in /cdn/react/1.0.0/main.css is /cdn/react/1.0.0/stripe.svg, not /stripe.svg.
  await expect(stripe).toHaveCSS("background-image", `url("${shell.server.url}/cdn/react/1.0.0/stripe.svg")`);
  await expect.poll(() => images).toEqual([shell.server.url + "/cdn/react/1.0.0/stripe.svg"]);
});

test("shadow: @font-face of a shadow app is lifted to the document and used inside", async ({ shell, page }) => {
  const fontRequests: string[] = [];
  page.on("request", (r) => r.url().endsWith(".ttf") && fontRequests.push(r.url()));
  await shell.goto("/react", "react");
  const faces = () =>
    page.evaluate(() => [...document.fonts].filter((f) => f.family.replace(/"/g, "") == "E2E Square").map((f) => f.status));
  // Ignored inside the shadow root, the rule must be in the document's fonts.
  expect(await faces()).toHaveLength(1);
  // The square is drawn, so the face is loaded: wait until it is no longer pending.
  await expect.poll(faces).not.toEqual(["unloaded"]);
  await expect.poll(faces).not.toEqual(["loading"]);
  // url(./square.ttf) is relative to the app's stylesheet, on the CDN.
  expect(fontRequests).toEqual([shell.server.url + "/cdn/react/1.0.0/square.ttf"]);
  expect(await faces()).toEqual(["loaded"]);
  // "iiii" at 20px is 80px wide in E2E Square (1 em per glyph), under 30px in any fallback.
  await expect.poll(() => shell.app("react").locator(".square").evaluate((e) => e.getBoundingClientRect().width)).toBeGreaterThan(75);
  // The lifted rule goes with the app.
  await shell.clickNav("home");
  expect(await faces()).toEqual([]);
});

test("scoped: cart's styles apply inside cart-app only, :root mapped to the element", async ({ shell, page }) => {
  await shell.goto("/cart", "cart");
  const cart = shell.app("cart");
  const out = await outsider(page);
  await expect(cart.locator("h1")).toHaveCSS("color", "rgb(168, 101, 43)");
  await expect(cart.locator(".card")).toHaveCSS("border-radius", "6px");
  await expect(out.locator("h1")).not.toHaveCSS("color", "rgb(168, 101, 43)");
  await expect(out).toHaveCSS("border-radius", "0px");
  // :root { display: block; --accent } became cart-app's.
  await expect(cart).toHaveCSS("display", "block");
  expect((await css(cart, "--accent")).trim()).toBe("#a8652b");
  expect(await css(page.locator("html"), "--accent")).toBe("");
  // The scoped copy is what was loaded.
  const m = await shell.manifest();
  expect(m.apps.cart.isolation).toBe("scoped");
  expect(await page.evaluate(() => document.adoptedStyleSheets.some((s) => [...s.cssRules].some((r) => r.cssText.startsWith("cart-app"))))).toBe(true);
});

test("scoped: the vue fixture (single-spa-vue) mounts, :root and body map to vue-app", async ({ shell, page }) => {
  await shell.goto("/vue", "vue");
  const vue = shell.app("vue");
  await expect(vue.getByRole("heading", { name: "Vue fixture" })).toBeVisible();
  await vue.getByRole("button", { name: "Click me" }).click();
  await expect(vue.locator(".count")).toHaveText("Clicked 1 times");
  await expect(vue.locator("footer")).toHaveText("vue 1.0.0");
  const out = await outsider(page);
  await expect(vue).toHaveCSS("display", "block");
  await expect(vue).toHaveCSS("background-color", "rgb(240, 250, 245)"); // body → vue-app
  await expect(vue).toHaveCSS("padding-top", "12px");
  expect((await css(vue, "--vue-accent")).trim()).toBe("rgb(66, 184, 131)");
  await expect(page.locator("body")).not.toHaveCSS("background-color", "rgb(240, 250, 245)");
  await expect(page.locator("body")).toHaveCSS("padding-top", "0px");
  expect(await css(page.locator("html"), "--vue-accent")).toBe("");
  await expect(vue.locator(".card")).toHaveCSS("border-top-width", "6px");
  await expect(vue.locator(".card")).toHaveCSS("border-top-color", "rgb(66, 184, 131)");
  await expect(vue.locator("h1")).toHaveCSS("letter-spacing", "3px");
  await expect(out).toHaveCSS("border-top-width", "0px");
  await expect(out.locator("h1")).toHaveCSS("letter-spacing", "normal");
  // Gone with the app.
  await shell.clickNav("home");
  await expect(page.locator("#e2e-outsider h1")).toHaveCSS("letter-spacing", "normal");
  expect(await page.evaluate(() => document.adoptedStyleSheets.some((s) => [...s.cssRules].some((r) => r.cssText.startsWith("vue-app"))))).toBe(false);
});

test("none: legacy's global stylesheet applies while it is mounted, and goes with it", async ({ shell, page }) => {
  await shell.goto("/legacy", "legacy");
  await expect(shell.app("legacy").locator(".legacy-title")).toHaveCSS("color", "rgb(255, 255, 255)");
  // Isolation none: its rules reach the page, the toast in body included.
  await page.evaluate(() => {
    const p = document.createElement("p");
    p.className = "legacy-hint";
    p.id = "e2e-hint";
    p.textContent = "page markup with a legacy class";
    document.body.prepend(p);
  });
  await expect(page.locator("#e2e-hint")).toHaveCSS("font-size", /^13\.6\d*px$/); // .85rem
  await expect(page.locator("body > .legacy-toast")).toHaveCSS("position", "fixed");
  await shell.clickNav("home");
  await expect(page.locator("#e2e-hint")).toHaveCSS("font-size", "16px");
  await expect(page.locator(".legacy-toast")).toHaveCount(0);
});

test("portal: a modal appended to body keeps the app's styles and goes on unmount", async ({ shell, page }) => {
  await shell.goto("/portal", "portal");
  await expect(shell.app("portal").locator("h1")).toHaveCSS("color", "rgb(120, 30, 90)");
  await shell.app("portal").getByRole("button", { name: "Open modal" }).click();
  const modal = page.getByRole("dialog");
  await expect(modal).toHaveText(/Portal modal/);
  await expect(modal).toHaveCSS("background-color", "rgb(12, 34, 56)");
  await expect(modal).toHaveCSS("position", "fixed");
  await expect(modal).toHaveCSS("border-radius", "9px");
  // The app's own close (document.body.removeChild) still works.
  await modal.getByRole("button", { name: "Close" }).click();
  await expect(modal).toHaveCount(0);
  // Left open, it goes when the app unmounts.
  await shell.app("portal").getByRole("button", { name: "Open modal" }).click();
  await expect(modal).toBeVisible();
  await shell.clickNav("home");
  await expect(page.getByRole("dialog")).toHaveCount(0);
  expect(await page.evaluate(() => document.body.querySelectorAll(":scope > [data-mfshell-portal]").length)).toBe(0);
});

test("CSSOM: a rule inserted with insertRule survives unmount and remount", async ({ shell, page }) => {
  await shell.goto("/portal", "portal");
  const host = shell.app("portal");
  await expect(host).toHaveCSS("outline-color", "rgb(1, 2, 3)");
  await expect(host).toHaveCSS("outline-width", "4px");
  await shell.clickNav("home");
  await shell.clickNav("portal");
  await expect(host).toHaveCSS("outline-color", "rgb(1, 2, 3)");
  await expect(host).toHaveCSS("outline-width", "4px");
  expect(await page.evaluate(() => document.querySelectorAll("head > style#portal-cssom").length)).toBe(1);
});
