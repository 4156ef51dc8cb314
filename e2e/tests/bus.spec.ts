// The event bus and the shared store: an app's mfshell.on handlers and
// store subscriptions are called while it is mounted and end when it
// unmounts, even though it never unsubscribes them (the bus fixture);
// the page's own handlers are not an app's and stay; the function on and
// subscribe return unsubscribes; the store's values outlive mounts.

import type { JSHandle, Page } from "@playwright/test";
import { expect, test } from "../test";

const zero = { listeners: 0, timers: 0, observers: 0, globals: 0, nodes: 0 };

// calls reads the bus fixture's records (data-bus-* on <html>).
const calls = (page: Page) =>
  page.evaluate(() => {
    const d = document.documentElement.dataset, n = (k: string) => Number(d[k] ?? 0);
    return {
      pings: n("busPings"),
      lastPing: d.busLastPing && JSON.parse(d.busLastPing),
      sets: n("busSets"),
      lastSet: d.busLastSet && JSON.parse(d.busLastSet),
      once: n("busOnce"),
    };
  });

// emit and set call mfshell.emit and mfshell.store.set from the page; both
// call every handler before they return.
const emit = (page: Page, type: string, detail?: unknown) => page.evaluate(([t, d]) => window.mfshell.emit(t, d), [type, detail] as const);
const set = (page: Page, key: string, value: unknown) => page.evaluate(([k, v]) => window.mfshell.store.set(k, v), [key, value] as const);
const get = (page: Page, key: string) => page.evaluate((k) => window.mfshell.store.get(k), key);

// Page is the page's own handler of "e2e-ping" and store subscriber, added
// with window.mfshell from outside any app: what they received, and the
// functions on and subscribe returned.
interface PageHandlers {
  pings: unknown[];
  sets: unknown[];
  offPing(): void;
  offStore(): void;
}

const received = (h: JSHandle<PageHandlers>) => h.evaluate((h) => ({ pings: [...h.pings], sets: [...h.sets] }));

test("an app's bus handlers and store subscriptions end when it unmounts", async ({ shell, page }) => {
  await shell.goto("/bus", "bus");
  const app = shell.app("bus");
  await expect(app.locator(".mounts")).toHaveText("mount 1");
  await expect(app.locator(".greeting")).toHaveText("greeting: none");
  // Its two handlers of the bus and its store subscription.
  expect(await shell.resources("bus")).toEqual({ ...zero, listeners: 3 });

  // The page's own handlers, which no app owns.
  const mine: JSHandle<PageHandlers> = await page.evaluateHandle(() => {
    const h = { pings: [] as unknown[], sets: [] as unknown[] } as PageHandlers;
    h.offPing = window.mfshell.on("e2e-ping", (d) => h.pings.push(d));
    h.offStore = window.mfshell.store.subscribe((k, v) => h.sets.push([k, v]));
    return h;
  });
  expect(await shell.resources("bus")).toEqual({ ...zero, listeners: 3 });

  // While it is mounted, its handlers are called, with what was sent.
  await emit(page, "e2e-ping", { n: 1 });
  await set(page, "e2e.greeting", "hello");
  expect(await calls(page)).toEqual({ pings: 1, lastPing: ["e2e-ping", { n: 1 }], sets: 1, lastSet: ["e2e.greeting", "hello"], once: 0 });
  expect(await received(mine)).toEqual({ pings: [{ n: 1 }], sets: [["e2e.greeting", "hello"]] });
  // A handler that calls the function on returned is called once.
  await emit(page, "e2e-once");
  await emit(page, "e2e-once");
  expect((await calls(page)).once).toBe(1);
  expect(await shell.resources("bus")).toEqual({ ...zero, listeners: 2 });

  // Unmounted: teardown ends what it left subscribed.
  const unmounted = await shell.next("unmounted", "bus", () => shell.nav.getByRole("link", { name: "home", exact: true }).click());
  expect(unmounted.cleaned).toEqual({ ...zero, listeners: 2 });
  expect(await shell.resources("bus")).toEqual(zero);
  const before = await calls(page);
  await emit(page, "e2e-ping", { n: 2 });
  await emit(page, "e2e-once");
  await set(page, "e2e.greeting", "bonjour");
  expect(await calls(page)).toEqual(before);
  // The page's handlers were not the app's: they are still called.
  expect(await received(mine)).toEqual({
    pings: [{ n: 1 }, { n: 2 }],
    sets: [["e2e.greeting", "hello"], ["e2e.greeting", "bonjour"]],
  });
  // The store outlives the mount: what the app and the page set is still there.
  expect(await get(page, "e2e.mounts")).toBe(1);
  expect(await get(page, "e2e.greeting")).toBe("bonjour");

  // Mounted again: it reads the store, and its handlers are called once
  // each, not once per mount so far.
  await shell.clickNav("bus");
  await expect(app.locator(".mounts")).toHaveText("mount 2");
  await expect(app.locator(".greeting")).toHaveText("greeting: bonjour");
  expect(await shell.resources("bus")).toEqual({ ...zero, listeners: 3 });
  await emit(page, "e2e-ping", { n: 3 });
  await emit(page, "e2e-once");
  await set(page, "e2e.greeting", "hallo");
  expect(await calls(page)).toEqual({
    pings: before.pings + 1,
    lastPing: ["e2e-ping", { n: 3 }],
    sets: before.sets + 1,
    lastSet: ["e2e.greeting", "hallo"],
    once: before.once + 1,
  });
  expect(await get(page, "e2e.mounts")).toBe(2);

  // The functions on and subscribe return unsubscribe: the app's own
  // (its button ends its store subscription)...
  await app.getByRole("button", { name: "Stop store updates" }).click();
  await expect.poll(() => shell.resources("bus")).toEqual({ ...zero, listeners: 1 });
  const stopped = await calls(page);
  await set(page, "e2e.greeting", "ciao");
  expect((await calls(page)).sets).toBe(stopped.sets);
  expect(await get(page, "e2e.greeting")).toBe("ciao");
  // ...and the page's.
  await mine.evaluate((h) => (h.offPing(), h.offStore()));
  await emit(page, "e2e-ping", { n: 4 });
  await set(page, "e2e.greeting", "hej");
  expect(await received(mine)).toEqual({
    pings: [{ n: 1 }, { n: 2 }, { n: 3 }],
    // (the second mount's count, set by the app, is a set like any other)
    sets: [["e2e.greeting", "hello"], ["e2e.greeting", "bonjour"], ["e2e.mounts", 2], ["e2e.greeting", "hallo"], ["e2e.greeting", "ciao"]],
  });
  // The app's handler that is left is still called.
  expect((await calls(page)).pings).toBe(stopped.pings + 1);

  // Unmounted again: only what it still held is ended.
  const again = await shell.next("unmounted", "bus", () => shell.nav.getByRole("link", { name: "home", exact: true }).click());
  expect(again.cleaned).toEqual({ ...zero, listeners: 1 });
  expect(await shell.resources("bus")).toEqual(zero);
  const last = await calls(page);
  await emit(page, "e2e-ping", { n: 5 });
  expect(await calls(page)).toEqual(last);
  await mine.dispose();
});
