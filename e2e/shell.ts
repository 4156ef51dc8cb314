// Shell drives the shell page the way its contract allows: page loads,
// links, mfshell.navigate, back/forward, and waits only on the runtime's own
// signals. A script installed before the page's own records every
// mfshell:* event in order (window.__e2e.events), so a test can wait for the
// next one after an action and check the order of what happened.

import { expect, type Locator, type Page } from "@playwright/test";
// The runtime's public types; importing them also types window.mfshell.
import type { Resources } from "../shell-js/src/mfshell";
import type { Server } from "./server";

/** ShellEvent is one mfshell:* event as the page recorded it. */
export interface ShellEvent {
  type: "mounted" | "fallback" | "unmounted" | "error" | "manifest";
  app?: string;
  version?: string;
  /** the error's message, for mfshell:error and mfshell:fallback */
  error?: string;
  /** whether detail.error was an Error object */
  errorIsError?: boolean;
  cleaned?: Resources;
  revision?: number;
}

declare global {
  interface Window {
    __e2e: { events: ShellEvent[] };
  }
}

// recorder runs in the page before any of its scripts: its listeners are
// the page's, added before the runtime starts, never an app's.
function recorder() {
  const events: ShellEvent[] = [];
  window.__e2e = { events };
  for (const type of ["mounted", "fallback", "unmounted", "error", "manifest"] as const)
    window.addEventListener("mfshell:" + type, (e) => {
      const d = (e as CustomEvent).detail ?? {};
      const err = d.error;
      // Copies only: the log must not keep an app's objects alive.
      events.push({
        type,
        app: d.app,
        version: d.version,
        error: err === undefined ? undefined : String(err?.message ?? err),
        errorIsError: err === undefined ? undefined : err instanceof Error,
        cleaned: d.cleaned ? { ...d.cleaned } : undefined,
        revision: d.revision,
      });
    });
}

export class Shell {
  declare readonly page: Page;
  declare readonly server: Server;
  constructor(page: Page, server: Server) {
    this.page = page;
    this.server = server;
  }

  /** install adds the event recorder to every document the page loads. */
  static async install(page: Page) {
    await page.addInitScript(recorder);
  }

  /** stage is the element the routed app is mounted in. */
  get stage(): Locator {
    return this.page.locator("#mfshell-stage");
  }

  /** app is the element <NAME-app> (locators pierce open shadow roots). */
  app(name: string): Locator {
    return this.page.locator(name + "-app");
  }

  /** nav is the page's navigation bar. */
  get nav(): Locator {
    return this.page.locator("#mfshell-nav");
  }

  /** goto loads path; with app, it waits for the runtime's mark mfshell:mounted:APP. */
  async goto(path: string, app?: string) {
    await this.page.goto(this.server.url + path);
    if (app) await this.page.waitForFunction((a) => performance.getEntriesByName("mfshell:mounted:" + a).length > 0, app);
  }

  /** events returns every mfshell:* event of the current document, in order. */
  events(): Promise<ShellEvent[]> {
    return this.page.evaluate(() => window.__e2e.events);
  }

  /**
   * next runs action and returns the first event of type (or of any of
   * several types) for app recorded after it started (within the same
   * document).
   */
  async next(
    type: ShellEvent["type"] | ShellEvent["type"][],
    app: string | undefined,
    action: () => Promise<unknown>,
    timeout?: number,
  ): Promise<ShellEvent> {
    const types = [type].flat();
    const from = await this.page.evaluate(() => window.__e2e.events.length);
    await action();
    const h = await this.page.waitForFunction(
      ([from, types, app]) => window.__e2e.events.slice(from).find((e) => types.includes(e.type) && (!app || e.app == app)),
      [from, types, app] as const,
      { timeout },
    );
    return (await h.jsonValue()) as ShellEvent;
  }

  /** mounted runs action and waits until app is mounted after it. */
  mounted(app: string, action: () => Promise<unknown>) {
    return this.next("mounted", app, action);
  }

  /** navigate calls mfshell.navigate(path) and waits until app is mounted. */
  navigate(path: string, app: string) {
    return this.mounted(app, () => this.page.evaluate((p) => window.mfshell.navigate(p), path));
  }

  /** click clicks the link in the navigation bar to app and waits until app is mounted. */
  clickNav(name: string, app = name) {
    return this.mounted(app, () => this.nav.getByRole("link", { name, exact: true }).click());
  }

  /** resources returns mfshell.resources(name). */
  resources(name: string) {
    return this.page.evaluate((n) => window.mfshell.resources(n), name);
  }

  /** manifest returns the page's current manifest (mfshell.manifest). */
  manifest() {
    return this.page.evaluate(() => window.mfshell.manifest);
  }

  /** expectOnlyMounted checks, from the event log, that app is the one app mounted now. */
  async expectOnlyMounted(app: string) {
    const held = new Map<string, number>();
    for (const e of await this.events())
      if (e.type == "mounted" || e.type == "fallback" || e.type == "unmounted")
        held.set(e.app!, (held.get(e.app!) ?? 0) + (e.type == "unmounted" ? -1 : 1));
    expect(Object.fromEntries([...held].filter(([, n]) => n != 0))).toEqual({ [app]: 1 });
    await expect(this.stage.locator(":scope > *")).toHaveCount(1);
    await expect(this.stage.locator(":scope > " + app + "-app")).toHaveCount(1);
  }
}
