// The change feed survives a server restart: with a page open, the server
// stops and starts again on the same address and data folder, and a
// release made after that reaches the open page without a reload. Two
// ways to be down, two ways to reconnect (shell-js/src/feed.ts):
//   - nothing listens (connections refused): the browser keeps the stream
//     and reconnects by itself, every 2 s (the server's `retry`);
//   - something answers with an HTTP error, as a proxy in front of a
//     restarting server does: the browser closes the stream for good, and
//     the runtime opens it again after 1, 2, 4, ... s (at most 60).
// The server is the worker's: this file is on its own so that its restarts
// are all its tests' own (the worker's other tests keep the same URL,
// manifest and CDN).

import http from "node:http";
import type { Page, Request, Response } from "@playwright/test";
import type { Server } from "../server";
import type { Shell } from "../shell";
import { expect, test } from "../test";

// reconnect bounds each wait on the feed: several rounds of either backoff.
const reconnect = 30_000;

const isFeed = (r: Request | Response) => new URL(r.url()).pathname == "/_mfshell/events";

// releaseReaches releases catalog 1.1.0 on the (restarted) server and checks
// that the open page learns it without a reload, and that its next mount
// of catalog runs 1.1.0.
async function releaseReaches(shell: Shell, server: Server, page: Page, origin: number) {
  const revision = await server.release("catalog", "1.1.0");
  await expect.poll(async () => (await shell.manifest()).apps.catalog.version, { timeout: reconnect }).toBe("1.1.0");
  expect((await shell.manifest()).revision).toBe(revision);
  expect((await shell.events()).filter((e) => e.type == "manifest").at(-1)).toMatchObject({ revision });
  // The same document: a reload would have a new time origin.
  expect(await page.evaluate(() => performance.timeOrigin)).toBe(origin);
  // The restarted server serves the page as before.
  await expect(shell.app("catalog").locator("footer")).toHaveText("catalog 1.0.0");
  await shell.clickNav("home");
  const mounted = await shell.clickNav("catalog");
  expect(mounted.version).toBe("1.1.0");
  await expect(shell.app("catalog").locator("footer")).toHaveText("catalog 1.1.0");
  expect((await shell.events()).filter((e) => e.type == "error")).toEqual([]);
}

// open loads /catalog and returns the page's time origin.
async function open(shell: Shell) {
  await shell.goto("/catalog", "catalog");
  await expect(shell.app("catalog").locator("footer")).toHaveText("catalog 1.0.0");
  return shell.page.evaluate(() => performance.timeOrigin);
}

test("the feed reconnects after a restart with nothing listening meanwhile", async ({ shell, server, page }) => {
  test.setTimeout(90_000);
  const origin = await open(shell);
  // While the server is down, the page tries the stream again and is refused.
  const refused = page.waitForEvent("requestfailed", { predicate: isFeed, timeout: reconnect });
  try {
    await server.halt();
    expect((await refused).failure()?.errorText).toMatch(/ERR_CONNECTION_REFUSED/);
  } finally {
    await server.resume();
  }
  await releaseReaches(shell, server, page, origin);
});

test("the feed reconnects after a restart with an HTTP error meanwhile", async ({ shell, server, page }) => {
  test.setTimeout(90_000);
  const origin = await open(shell);
  // Every answer of the stand-in to the stream, while it stands in.
  let errors = 0;
  page.on("response", (r) => isFeed(r) && r.status() == 503 && errors++);
  const standIn = http.createServer((_req, res) => {
    res.writeHead(503, { "Content-Type": "text/plain", "Retry-After": "1" });
    res.end("restarting");
  });
  try {
    await server.halt();
    const { hostname, port } = new URL(server.url);
    await new Promise<void>((ok, ko) => standIn.once("error", ko).listen(Number(port), hostname, ok));
    // The browser does not retry after a 503: a second one is the runtime
    // opening the stream again.
    await expect.poll(() => errors, { timeout: reconnect }).toBeGreaterThanOrEqual(2);
  } finally {
    standIn.closeAllConnections();
    await new Promise((done) => standIn.close(done));
    await server.resume();
  }
  await releaseReaches(shell, server, page, origin);
});
