// Dev overrides: on a server run with --dev, ?mfshell-override=APP@URL
// makes this browser load APP from a developer's dev server (here a Node
// http server on loopback) inside the real shell: its module graph, its
// files and its hot-reload socket, under the page's CSP, with no integrity
// and no fallback. The badge says so and Clear ends it. On a server
// without --dev the same link does nothing.

import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Server } from "../server";
import { expect, test } from "../test";

// The dev server's files: an entry with single-spa lifecycles that imports
// a second module by a relative URL, fetches a file, shows an image and
// opens a WebSocket, all on the dev server's origin.
const files: Record<string, [type: string, body: string]> = {
  "/main.js": [
    "text/javascript",
    `import { label, hmr } from "./lib.js";
let socket;
export function mount(props) {
  const p = document.createElement("p");
  p.className = "dev";
  p.textContent = label + " " + props.version;
  const img = document.createElement("img");
  img.className = "dot";
  img.src = new URL("./dot.svg", import.meta.url).href;
  props.domElement.replaceChildren(p, img);
  fetch(new URL("./data.txt", import.meta.url)).then((r) => r.text()).then((t) => (p.dataset.fetched = t));
  socket = hmr(p);
}
export function unmount(props) {
  socket.close();
  props.domElement.replaceChildren();
}
`,
  ],
  "/lib.js": [
    "text/javascript",
    `export const label = "dev build";
export function hmr(el) {
  const ws = new WebSocket(new URL("./hmr", import.meta.url).href.replace(/^http/, "ws"));
  ws.onopen = () => (el.dataset.hmr = "open");
  return ws;
}
`,
  ],
  "/data.txt": ["text/plain", "fetched from the dev server"],
  "/dot.svg": ["image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>`],
};

/** DevServer is a developer's dev server: files, CORS for any origin, and a WebSocket endpoint at /hmr. */
class DevServer {
  /** requests are the paths asked for, in order; "ws /hmr" for a WebSocket. */
  readonly requests: string[] = [];
  declare url: string;
  private sockets = new Set<Socket>();
  private http = http.createServer((req, res) => {
    const path = new URL(req.url!, "http://x").pathname;
    this.requests.push(path);
    const f = files[path];
    res.writeHead(f ? 200 : 404, { "Content-Type": f?.[0] ?? "text/plain", "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" });
    res.end(f?.[1] ?? "not found");
  });

  /** start listens on a free loopback port. */
  static async start() {
    const d = new DevServer();
    d.http.on("connection", (s) => (d.sockets.add(s), s.once("close", () => d.sockets.delete(s))));
    // A WebSocket handshake (RFC 6455 §4.2.2), as a dev server's hot reload answers it.
    d.http.on("upgrade", (req, socket) => {
      d.requests.push("ws " + req.url);
      const accept = crypto
        .createHash("sha1")
        .update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
        .digest("base64");
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    });
    await new Promise<void>((ok) => d.http.listen(0, "127.0.0.1", ok));
    d.url = "http://127.0.0.1:" + (d.http.address() as AddressInfo).port;
    return d;
  }

  /** stop closes the server and every connection. */
  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((ok) => this.http.close(ok));
  }
}

// devTest runs on a second mfshell, started with --dev (one per worker),
// with a dev server of its own.
const devTest = test.extend<{ dev: DevServer }, { devMfshell: Server }>({
  devMfshell: [
    async ({}, use) => {
      const s = await Server.start({ fixtures: true, args: ["--dev"] });
      await use(s);
      await s.stop();
    },
    { scope: "worker", timeout: 60_000 },
  ],
  server: async ({ devMfshell }, use) => {
    await devMfshell.reset();
    await use(devMfshell);
  },
  dev: async ({}, use) => {
    const d = await DevServer.start();
    await use(d);
    await d.stop();
  },
});

const link = (dev: DevServer) => "?mfshell-override=" + encodeURIComponent(`react@${dev.url}/main.js`);

devTest("--dev: a dev override runs the dev server's build in the shell, with a badge that clears it", async ({ shell, page, dev }) => {
  await shell.goto("/react" + link(dev), "react");
  const app = shell.app("react");
  // The module graph of the dev server: the entry and what it imports.
  await expect(app.locator("p.dev")).toHaveText("dev build dev");
  expect(dev.requests).toEqual(expect.arrayContaining(["/main.js", "/lib.js"]));
  const mounted = (await shell.events()).filter((e) => e.type == "mounted");
  expect(mounted).toEqual([expect.objectContaining({ app: "react", version: "dev" })]);
  // Its files and its socket, under the page's CSP (the issues fixture
  // fails the test on any violation).
  await expect(app.locator("p.dev")).toHaveAttribute("data-fetched", "fetched from the dev server");
  await expect(app.locator("p.dev")).toHaveAttribute("data-hmr", "open");
  await expect.poll(() => app.locator("img.dot").evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(8);

  // What the browser got: the dev entry, unchecked, no fallback; the
  // preload of the dev URL; the dev origin in the CSP.
  const e = (await shell.manifest()).apps.react;
  expect(e).toMatchObject({ version: "dev", base: dev.url + "/", entry: "main.js", styles: [], integrity: { "main.js": "" }, route: "/react" });
  expect(e.fallback).toBeUndefined();
  await expect(page.locator("link[rel=modulepreload]")).toHaveAttribute("href", dev.url + "/main.js");
  const csp = (await page.request.get(shell.server.url + "/react")).headers()["content-security-policy"];
  expect(csp).toContain("connect-src 'self' " + dev.url + " " + dev.url.replace("http:", "ws:"));
  expect(csp).toMatch(/script-src 'nonce-[^']+' 'strict-dynamic';/);

  const badge = page.locator("form#mfshell-override[role=status]");
  await expect(badge).toContainText(`Unsigned dev override: react from ${dev.url}/main.js`);
  expect(await page.evaluate(() => document.cookie)).not.toContain("mfshell-override");

  // Another page of the shell keeps it.
  await shell.goto("/react", "react");
  await expect(app.locator("p.dev")).toHaveText("dev build dev");

  // Clear: back to the live version, no badge.
  await badge.getByRole("button", { name: "Clear" }).click();
  await page.waitForURL(/mfshell-override=clear/);
  await page.waitForFunction(() => performance.getEntriesByName("mfshell:mounted:react").length > 0);
  await expect(app.locator("footer")).toHaveText("react 1.0.0");
  await expect(page.locator("#mfshell-override")).toHaveCount(0);
  expect((await shell.manifest()).apps.react.base).toBeUndefined();
});

test("without --dev: the same link is ignored", async ({ shell, page }) => {
  const dev = await DevServer.start();
  try {
    await shell.goto("/react" + link(dev), "react");
    await expect(shell.app("react").locator("footer")).toHaveText("react 1.0.0");
    await expect(page.locator("#mfshell-override")).toHaveCount(0);
    expect((await shell.manifest()).apps.react.version).toBe("1.0.0");
    expect((await page.context().cookies()).map((c) => c.name)).not.toContain("mfshell-override");
    expect(dev.requests).toEqual([]);
  } finally {
    await dev.stop();
  }
});
