// Two apps mounted at once: every <NAME-app> element in the document is
// mounted, not only the routed one in the stage. The header fixture (not
// routed) is placed in the page beside the busy fixture (routed); both hold
// the same kinds of things, some added from their own callbacks while no
// lifecycle runs (fixtures/holder.js), so only the call stack can tell
// whose they are. Each app must count exactly its own, and each unmount
// must release its own and nothing of the other's.

import type { Page } from "@playwright/test";
import type { Resources } from "../../shell-js/src/mfshell";
import type { Shell } from "../shell";
import { expect, test } from "../test";

const zero: Resources = { listeners: 0, timers: 0, observers: 0, globals: 0, nodes: 0 };

// held is what a holder app holds after mount, its late timeout and
// `clicks` clicks of its button: the resize and focus listeners, two
// intervals and the global, and per click a keydown listener, an interval
// and a node in its portal root.
const held = (clicks: number): Resources => ({
  listeners: 2 + clicks,
  timers: 2 + clicks,
  observers: 0,
  globals: 1,
  nodes: clicks,
});

// counter reads data-NAME-KEY on <html>, where the holder apps count calls.
const counter = (page: Page, key: string) => page.evaluate((k) => Number(document.documentElement.dataset[k] ?? 0), key);

// late waits until app's own timeout has added what it adds after mount.
const late = (page: Page, app: string) =>
  page.waitForFunction((a) => document.documentElement.dataset[a + "Late"] == "1", app);

// more clicks app's button, which adds a listener, an interval and a node
// from a click handler, and waits until the handler ran.
async function more(shell: Shell, app: string) {
  const before = await counter(shell.page, app + "Clicks");
  await shell.app(app).getByRole("button", { name: app + ": more" }).click();
  await expect.poll(() => counter(shell.page, app + "Clicks")).toBe(before + 1);
}

// ticksWhile waits, in the page, until data-NAME-ticks of clock has gone up
// by n (the clock app's 20 ms interval runs), and returns how much each of
// others' counters went up meanwhile.
const ticksWhile = (page: Page, clock: string, n: number, others: string[]) =>
  page.evaluate(
    ([clock, n, others]) => {
      const d = document.documentElement.dataset, read = (k: string) => Number(d[k] ?? 0);
      const from = read(clock), before = others.map(read);
      return new Promise<number[]>((done) => {
        const o = new MutationObserver(() => {
          if (read(clock) < from + n) return;
          o.disconnect();
          done(others.map((k, i) => read(k) - before[i]));
        });
        o.observe(document.documentElement, { attributes: true, attributeFilter: ["data-" + clock.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())] });
      });
    },
    [clock, n, others] as const,
  );

test("a header app beside the routed app: each holds and releases only its own", async ({ shell, page }) => {
  await shell.goto("/busy", "busy");
  await late(page, "busy");
  expect(await shell.resources("busy")).toEqual(held(0));
  expect(await shell.resources("header")).toEqual(zero);

  // The page places <header-app>; its connectedCallback mounts it, outside the stage.
  const mounted = await shell.mounted("header", () => page.evaluate(() => document.body.prepend(document.createElement("header-app"))));
  expect(mounted).toMatchObject({ app: "header", version: "1.0.0" });
  await expect(page.locator("body > header-app")).toHaveCount(1);
  await expect(shell.app("header").locator(".title")).toHaveText("header 1.0.0");
  await expect(shell.stage.locator(":scope > busy-app")).toHaveCount(1);
  await expect(shell.stage.locator("header-app")).toHaveCount(0);
  // Its timeout runs after its mount, while busy is the routed app.
  await late(page, "header");
  expect(await shell.resources("header")).toEqual(held(0));
  expect(await shell.resources("busy")).toEqual(held(0));

  // Clicks: handlers of each app add listeners, intervals and nodes, with
  // no lifecycle running; the other app's click comes in between.
  await more(shell, "header");
  await more(shell, "busy");
  expect(await shell.resources("header")).toEqual(held(1));
  expect(await shell.resources("busy")).toEqual(held(1));
  // Each node went to its own app's portal root.
  await expect(page.locator("[data-mfshell-portal=header] .holder-toast")).toHaveText(["header toast 1"]);
  await expect(page.locator("[data-mfshell-portal=busy] .holder-toast")).toHaveText(["busy toast 1"]);
  expect(await page.evaluate(() => [(window as any).headerGlobal?.app, (window as any).busyGlobal?.app])).toEqual(["header", "busy"]);
  // Every interval of both apps runs.
  for (const app of ["header", "busy"])
    for (const key of ["Ticks", "LateTicks", "ClickTicks"])
      await expect.poll(() => counter(page, app + key), app + key).toBeGreaterThan(await counter(page, app + key));

  // Away from busy: busy's holdings go, the header's stay and keep running.
  const unmounted = await shell.next("unmounted", "busy", () => shell.nav.getByRole("link", { name: "home", exact: true }).click());
  expect(unmounted.cleaned).toEqual(held(1));
  await expect(shell.stage.locator(":scope > *")).toHaveCount(1);
  await expect(shell.stage.locator(":scope > home-app")).toHaveCount(1);
  await expect(shell.app("header").locator(".title")).toHaveText("header 1.0.0");
  expect(await shell.resources("busy")).toEqual(zero);
  expect(await shell.resources("header")).toEqual(held(1));
  expect(await page.evaluate(() => [(window as any).headerGlobal?.app, (window as any).busyGlobal])).toEqual(["header", undefined]);
  await expect(page.locator("[data-mfshell-portal=busy]")).toHaveCount(0);
  await expect(page.locator("[data-mfshell-portal=header] .holder-toast")).toHaveText(["header toast 1"]);
  // The header's intervals run, busy's do not: while the header's
  // 20 ms interval ticks ten times, none of busy's counters moves.
  expect(await ticksWhile(page, "headerTicks", 10, ["busyTicks", "busyLateTicks", "busyClickTicks"])).toEqual([0, 0, 0]);
  for (const key of ["headerLateTicks", "headerClickTicks"])
    await expect.poll(() => counter(page, key), key).toBeGreaterThan(await counter(page, key));
  // Its listeners still listen.
  const keys = await counter(page, "headerKeys"), resizes = await counter(page, "headerResizes");
  await page.keyboard.press("a");
  await expect.poll(() => counter(page, "headerKeys")).toBe(keys + 1);
  await page.setViewportSize({ width: 1100, height: 700 });
  await expect.poll(() => counter(page, "headerResizes")).toBeGreaterThan(resizes);
  expect(await counter(page, "busyKeys")).toBe(0);
  expect(await counter(page, "busyResizes")).toBe(0);

  // With home routed now, a click of the header still adds to the header,
  // not to home.
  const home = await shell.resources("home");
  await more(shell, "header");
  expect(await shell.resources("header")).toEqual(held(2));
  expect(await shell.resources("home")).toEqual(home);
  await expect(page.locator("[data-mfshell-portal=header] .holder-toast")).toHaveText(["header toast 1", "header toast 2"]);

  // The page takes the header out: it is unmounted and all it held released.
  const gone = await shell.next("unmounted", "header", () => page.evaluate(() => document.querySelector("header-app")!.remove()));
  expect(gone.cleaned).toEqual(held(2));
  expect(await shell.resources("header")).toEqual(zero);
  expect(await page.evaluate(() => (window as any).headerGlobal)).toBeUndefined();
  await expect(page.locator("[data-mfshell-portal=header]")).toHaveCount(0);
  // Nothing of it runs any more (the page waits two frames and a timeout
  // longer than any of its intervals), and home is still mounted.
  const ticks = await Promise.all(["headerTicks", "headerLateTicks", "headerClickTicks"].map((k) => counter(page, k)));
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 100)))));
  expect(await Promise.all(["headerTicks", "headerLateTicks", "headerClickTicks"].map((k) => counter(page, k)))).toEqual(ticks);
  await shell.expectOnlyMounted("home");
  expect((await shell.events()).filter((e) => e.type == "error")).toEqual([]);
});
