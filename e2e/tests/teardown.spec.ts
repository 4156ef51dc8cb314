// Teardown: what an app leaves behind on window, document, body, timers and
// observers is released when it unmounts; legacy scripts run again safely;
// listener counts and the heap stay flat over a hundred app switches.

import type { Page } from "@playwright/test";
import { Probe, total, type ListenerCounts } from "../cdp";
import { expect, test } from "../test";

const zero = { listeners: 0, timers: 0, observers: 0, globals: 0, nodes: 0 };

// counters reads the leaky fixture's call counters (data-leaky-* on <html>).
const counters = (page: Page) =>
  page.evaluate(() => Object.fromEntries(Object.entries(document.documentElement.dataset).filter(([k]) => k.startsWith("leaky"))));

// settle resolves in the page after two animation frames and then a timeout
// longer than any of the leaky fixture's timers (20 and 25 ms): by then,
// anything still scheduled has run at least once more.
const settle = (page: Page) =>
  page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 100)))));

test("leaky script: everything it leaked is released when it unmounts", async ({ shell, page }) => {
  await shell.goto("/leaky", "leaky");
  const app = shell.app("leaky");
  await expect(app.locator("leaky-widget")).toHaveText("leaky widget ready");
  // Its timers, loop and listeners run while it is mounted.
  await expect.poll(async () => Number((await counters(page)).leakyTicks)).toBeGreaterThan(2);
  await expect.poll(async () => Number((await counters(page)).leakyFrames)).toBeGreaterThan(2);
  await expect.poll(async () => Number((await counters(page)).leakyTimeouts)).toBeGreaterThan(2);
  await app.locator("h1").click();
  await expect.poll(async () => (await counters(page)).leakyClicks).toBe("1");
  expect(await shell.resources("leaky")).toEqual({
    listeners: 3, // window resize, document click, body keydown
    timers: 3, // the interval, the pending timeout, the pending frame
    observers: 2, // MutationObserver, ResizeObserver
    globals: 2, // window.leakyGlobal, var leakyVar
    nodes: 2, // #leaky-toast in body, #leaky-style in head
  });
  await expect(page.locator("body > #leaky-toast")).toHaveCount(1);

  const unmounted = await shell.next("unmounted", "leaky", () => shell.nav.getByRole("link", { name: "home", exact: true }).click());
  expect(unmounted.cleaned).toEqual({ listeners: 3, timers: 3, observers: 2, globals: 2, nodes: 2 });
  expect(await shell.resources("leaky")).toEqual(zero);
  await expect(page.locator("#leaky-toast")).toHaveCount(0);
  await expect(page.locator("#leaky-style")).toHaveCount(0);
  expect(await page.evaluate(() => [(window as any).leakyGlobal, (window as any).leakyVar])).toEqual([undefined, undefined]);

  // Nothing of it runs any more: not its timers, its frame loop, its
  // observers or its listeners, whatever happens in the page.
  const before = await counters(page);
  await page.evaluate(() => document.body.append(Object.assign(document.createElement("p"), { id: "e2e-mutation" })));
  await shell.app("home").locator("h1").click();
  await page.keyboard.press("a");
  await page.setViewportSize({ width: 1000, height: 700 });
  await settle(page);
  await settle(page);
  expect(await counters(page)).toEqual(before);
});

test("leaky script: runs again on every mount, customElements.define included", async ({ shell, page }) => {
  await shell.goto("/leaky", "leaky");
  const first = await shell.resources("leaky");
  for (const run of [2, 3]) {
    await shell.clickNav("home");
    expect(await shell.resources("leaky")).toEqual(zero);
    await shell.clickNav("leaky");
    await expect(shell.app("leaky").locator("leaky-widget")).toHaveText("leaky widget ready");
    expect((await counters(page)).leakyRuns).toBe(String(run));
    // The same holdings each time: nothing piles up across runs. (A top-level
    // var cannot be deleted, only blanked, so it is not new on a rerun.)
    const held = await shell.resources("leaky");
    expect({ ...held, globals: 0 }).toEqual({ ...first, globals: 0 });
  }
  await expect(page.locator("body > #leaky-toast")).toHaveCount(1);
  await expect(page.locator("head > #leaky-style")).toHaveCount(1);
  expect((await shell.events()).filter((e) => e.type == "error")).toEqual([]);
});

test("demo legacy app: leaves nothing behind", async ({ shell, page }) => {
  await shell.goto("/legacy", "legacy");
  await expect(shell.app("legacy").getByRole("heading", { name: "Legacy widget" })).toBeVisible();
  const held = await shell.resources("legacy");
  expect(held).toEqual({ listeners: 2, timers: 1, observers: 0, globals: 1, nodes: 1 });
  await expect(page.locator("body > .legacy-toast")).toHaveCount(1);
  await shell.clickNav("catalog");
  expect(await shell.resources("legacy")).toEqual(zero);
  await expect(page.locator(".legacy-toast")).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).legacyState)).toBeUndefined();
});

// switchLoop makes n switches in the page, each navigating to the next
// [path, app] of cycle and waiting for that app's mfshell:mounted (an
// mfshell:error fails it); it returns the time taken in ms.
async function switchLoop(page: Page, cycle: [string, string][], n: number): Promise<number> {
  return page.evaluate(
    async ({ cycle, n }) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const [path, app] = cycle[i % cycle.length];
        await new Promise<void>((ok, ko) => {
          const done = (e: Event) => {
            const d = (e as CustomEvent).detail;
            if (d.app != app) return;
            removeEventListener("mfshell:mounted", done);
            removeEventListener("mfshell:error", done);
            e.type == "mfshell:error" ? ko(new Error(`switch ${i} to ${app}: ${d.error}`)) : ok();
          };
          addEventListener("mfshell:mounted", done);
          addEventListener("mfshell:error", done);
          window.mfshell.navigate(path);
        });
      }
      return performance.now() - t0;
    },
    { cycle, n },
  );
}

for (const { name, cycle, n } of [
  { name: "react and vue", cycle: [["/vue", "vue"], ["/react", "react"]] as [string, string][], n: 100 },
  { name: "react, vue and the leaky app", cycle: [["/vue", "vue"], ["/leaky", "leaky"], ["/react", "react"]] as [string, string][], n: 102 },
]) {
  test(`${n} switches between ${name}: listeners and heap stay flat`, async ({ shell, page }, testInfo) => {
    await shell.goto("/react", "react");
    // Ten rounds first, so that what is set up once per page load (module
    // state, bootstrap, compiled code) is there before the first measurement.
    await switchLoop(page, cycle, 10 * cycle.length);
    const probe = await Probe.open(page);
    const clearLog = () => page.evaluate(() => (window.__e2e.events.length = 0));
    await clearLog();
    const listeners0 = await probe.listeners(), heap0 = await probe.heap();
    const ms = await switchLoop(page, cycle, n);
    const events = await shell.events();
    expect(events).toHaveLength(2 * n);
    expect(events.filter((e) => e.type == "error")).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: "mounted", app: "react" });
    await expect(shell.stage.locator(":scope > *")).toHaveCount(1);
    await expect(shell.stage.locator(":scope > react-app")).toHaveCount(1);
    await clearLog();
    const listeners1 = await probe.listeners(), heap1 = await probe.heap();
    await probe.close();

    const mb = (b: number) => (b / 2 ** 20).toFixed(2) + " MiB";
    const figures =
      `${n} switches (${name}) in ${ms.toFixed(0)} ms, ${(ms / n).toFixed(1)} ms per switch; ` +
      `listeners window/document/body ${fmt(listeners0)} before, ${fmt(listeners1)} after; ` +
      `heap after GC ${mb(heap0)} before, ${mb(heap1)} after (${heap1 >= heap0 ? "+" : ""}${((heap1 - heap0) / 1024).toFixed(0)} KiB)`;
    console.log(figures);
    testInfo.annotations.push({ type: "figures", description: figures });

    expect(listeners1).toEqual(listeners0);
    // Bounded growth: a leak of one app instance per switch would be far more.
    expect(heap1 - heap0).toBeLessThan(Math.max(2 * 2 ** 20, heap0 * 0.1));
  });
}

function fmt(c: ListenerCounts) {
  const t = total(c);
  return `${t.window}/${t.document}/${t.body}`;
}
