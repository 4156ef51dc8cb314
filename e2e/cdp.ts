// Measurements through the Chrome DevTools Protocol that the page cannot
// make on itself: the event listeners registered on window, document and
// document.body (DOMDebugger.getEventListeners sees every listener, however
// it was added), and the JS heap after a full garbage collection.

import type { CDPSession, Page } from "@playwright/test";

/** ListenerCounts is, per target, the number of listeners by event type. */
export type ListenerCounts = Record<"window" | "document" | "body", Record<string, number>>;

/** Probe holds a CDP session on one page. */
export class Probe {
  declare private cdp: CDPSession;
  private constructor(cdp: CDPSession) {
    this.cdp = cdp;
  }

  static async open(page: Page) {
    return new Probe(await page.context().newCDPSession(page));
  }

  async close() {
    await this.cdp.detach();
  }

  /** listeners counts the listeners on window, document and body. */
  async listeners(): Promise<ListenerCounts> {
    const out = {} as ListenerCounts;
    for (const [name, expression] of [["window", "window"], ["document", "document"], ["body", "document.body"]] as const) {
      const { result } = await this.cdp.send("Runtime.evaluate", { expression, objectGroup: "e2e-listeners" });
      const { listeners } = await this.cdp.send("DOMDebugger.getEventListeners", { objectId: result.objectId! });
      const byType: Record<string, number> = {};
      for (const l of listeners) byType[l.type] = (byType[l.type] ?? 0) + 1;
      out[name] = byType;
    }
    await this.cdp.send("Runtime.releaseObjectGroup", { objectGroup: "e2e-listeners" });
    return out;
  }

  /** heap returns the used JS heap in bytes after collecting garbage. */
  async heap(): Promise<number> {
    // Twice: objects freed by the first collection's finalizers go in the second.
    await this.cdp.send("HeapProfiler.collectGarbage");
    await this.cdp.send("HeapProfiler.collectGarbage");
    return (await this.cdp.send("Runtime.getHeapUsage")).usedSize;
  }
}

/** total sums the counts of each target. */
export function total(c: ListenerCounts) {
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return { window: sum(c.window), document: sum(c.document), body: sum(c.body) };
}
