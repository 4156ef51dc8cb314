// Server-side fragments (DESIGN.md, "Layout and server-side fragments"),
// on a second mfshell of the worker's own, started with a layout that
// holds <basket-app> beside the stage (--layout) and a fragment budget of
// 500 ms, whose apps' fragments come from a fragment server on loopback
// (a Node http server of this worker), which the tests tell, per app, to
// answer, to hang, or to answer with an Mfshell-Trigger:
//
//   - ssr (route /ssr, module, shadow isolation): a title and a counter
//     button carrying a token unique to each fragment request; its bundle
//     (fixtures/ssr) hydrates that button, or renders its own;
//   - basket (not routed, module, scoped isolation, in the layout): a
//     count of the "cart:added" events it heard (fixtures/basket);
//   - news (route /news, format "html"): no bundle, only its fragment.
//
// Pages: the server's HTML shows, styled, with JavaScript off; the runtime
// hydrates it without a flash; a hanging fragment is cut at the budget and
// the browser renders the app; an html app is fetched through
// /_mfshell/fragment on client-side navigation and inlined on a full load;
// its Mfshell-Trigger reaches the basket either way.

import fs from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import type { Page } from "@playwright/test";
import { bundleDir } from "../fixtures/build";
import { Server } from "../server";
import type { Shell } from "../shell";
import { expect, test } from "../test";

/** Mode is how the fragment server answers an app: its HTML, nothing ever, its HTML with an Mfshell-Trigger, or a 500. */
type Mode = "ok" | "hang" | "trigger" | "fail";

/** FragmentRequest is one request the fragment server received. */
interface FragmentRequest {
  /** the app of the URL path (/ssr, /basket, /news) */
  app: string;
  /** the ?path= of the page */
  path: string;
  /** the Mfshell-App, Mfshell-Version, Accept-Language and Cookie headers */
  headers: { app?: string; version?: string; language?: string; cookie?: string };
  /** unique to this request, in the HTML it answered */
  token: string;
  /** a hanging request was closed by mfshell */
  aborted?: boolean;
}

// The trigger the "trigger" mode sends.
const trigger = { "cart:added": { sku: "A1" } };

// The fragments, as the apps' own servers would render them.
const fragments: Record<string, (r: FragmentRequest) => string> = {
  ssr: (r) =>
    `<p class="ssr-title">ssr rendered on the server for ${r.path}</p>` +
    `<button class="counter" type="button">clicked <span class="n">0</span> times · <span class="token">${r.token}</span></button>`,
  basket: () => `<p class="basket"><span class="count">0</span> added · last <span class="sku">none</span></p>`,
  news: (r) => `<article class="news"><h2>News</h2><p class="token">${r.token}</p><p class="path">for ${r.path}</p></article>`,
};

/** FragmentServer is the apps' fragment server: GET /APP?path=P, answered as modes[APP] says. */
class FragmentServer {
  readonly requests: FragmentRequest[] = [];
  modes: Record<string, Mode> = {};
  declare url: string;
  private n = 0;
  private sockets = new Set<Socket>();
  private http = http.createServer((req, res) => {
    const u = new URL(req.url!, "http://x"), app = u.pathname.slice(1);
    const h = (k: string) => req.headers[k] as string | undefined;
    const r: FragmentRequest = {
      app,
      path: u.searchParams.get("path") ?? "",
      headers: { app: h("mfshell-app"), version: h("mfshell-version"), language: h("accept-language"), cookie: h("cookie") },
      token: `${app}-${++this.n}-${Math.random().toString(36).slice(2, 8)}`,
    };
    this.requests.push(r);
    const render = fragments[app], mode = this.modes[app] ?? "ok";
    if (!render) {
      res.writeHead(404).end();
      return;
    }
    if (mode == "fail") {
      res.writeHead(500, { "Content-Type": "text/plain" }).end("down");
      return;
    }
    if (mode == "hang") {
      // Never answered: mfshell must give up at its budget and close it.
      res.once("close", () => (r.aborted = true));
      return;
    }
    res.writeHead(200, {
      "Content-Type": "text/html; charset=utf-8",
      ...(mode == "trigger" ? { "Mfshell-Trigger": JSON.stringify(trigger) } : {}),
    });
    res.end(render(r));
  });

  /** start listens on a free loopback port. */
  static async start() {
    const f = new FragmentServer();
    f.http.on("connection", (s) => (f.sockets.add(s), s.once("close", () => f.sockets.delete(s))));
    await new Promise<void>((ok) => f.http.listen(0, "127.0.0.1", ok));
    f.url = "http://127.0.0.1:" + (f.http.address() as AddressInfo).port;
    return f;
  }

  /** reset forgets the requests and answers every app with its HTML. */
  reset() {
    this.requests.length = 0;
    this.modes = {};
  }

  /** to returns the requests for app's fragment of the page at path. */
  to(app: string, path: string) {
    return this.requests.filter((r) => r.app == app && r.path == path);
  }

  /** only returns the one request for app's fragment of the page at path; it fails if there were others. */
  only(app: string, path: string) {
    const rs = this.to(app, path);
    expect(rs, `requests for the fragment of ${app} at ${path}`).toHaveLength(1);
    return rs[0];
  }

  /** stop closes the server and every connection, hanging ones included. */
  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((ok) => this.http.close(ok));
  }
}

// The layout: <basket-app> on every page, beside the navigation and the
// stage; the footer's elements, of the classes the apps style, are the
// page's own, which the apps' stylesheets must not reach.
const layout = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>Fragments</title>
<style>body{margin:0;font:16px/1.5 sans-serif}header{padding:.5rem 1rem;background:#eef}</style>
</head>
<body>
<header><basket-app></basket-app></header>
<nav id="mfshell-nav" aria-label="Apps"></nav>
<main id="mfshell-stage"></main>
<footer><p class="ssr-title" id="page-title">the page's own</p><p class="basket" id="page-basket">the page's own</p></footer>
</body>
</html>
`;

const budget = "500ms";

const fragTest = test.extend<{ frag: FragmentServer }, { fragServer: FragmentServer; composed: Server }>({
  fragServer: [
    async ({}, use) => {
      const f = await FragmentServer.start();
      await use(f);
      await f.stop();
    },
    { scope: "worker" },
  ],
  composed: [
    async ({ fragServer }, use) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mfshell-e2e-layout-"));
      const file = path.join(dir, "layout.html");
      fs.writeFileSync(file, layout);
      const s = await Server.start({ fixtures: false, args: ["--layout", file, "--fragment-timeout", budget] });
      try {
        await s.publish("ssr", "1.0.0", bundleDir("ssr"));
        await s.publish("basket", "1.0.0", bundleDir("basket"));
        const put = (app: string, entry: object) => s.api("PUT", "/api/v1/apps/" + app, { version: "1.0.0", ...entry, fragment: `${fragServer.url}/${app}` });
        await put("ssr", { route: "/ssr", format: "module", isolation: "shadow" });
        await put("basket", { route: "", format: "module", isolation: "scoped" });
        // An html app has no bundle: nothing is published for it.
        await put("news", { route: "/news", format: "html", isolation: "none" });
        s.baseline = (await s.api("GET", "/api/v1/manifest")).body.revision;
        await use(s);
      } finally {
        await s.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    { scope: "worker", timeout: 60_000 },
  ],
  server: async ({ composed }, use) => {
    await composed.reset();
    await use(composed);
  },
  frag: async ({ fragServer }, use) => {
    fragServer.reset();
    await use(fragServer);
  },
});

/**
 * watch records what a page of a context of a test's own reports that no
 * test should see, as the issues fixture does for the test's page: console
 * errors (CSP violations among them: Chromium logs every one, with or
 * without JavaScript), uncaught errors, failed requests and error statuses.
 * With JavaScript off, Chromium refuses to fetch scripts (the page's
 * modulepreloads), which it reports as the failure "csp" with no console
 * message: those are expected.
 */
function watch(page: Page, scriptsOff = false) {
  const found: string[] = [];
  page.on("console", (m) => m.type() == "error" && found.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => found.push(`pageerror: ${e.stack ?? e.message}`));
  page.on("requestfailed", (r) => {
    const error = r.failure()?.errorText;
    if (!(scriptsOff && r.resourceType() == "script" && error == "csp")) found.push(`failed: ${r.url()} ${error}`);
  });
  page.on("response", (r) => r.status() >= 400 && found.push(`HTTP ${r.status()}: ${r.url()}`));
  return found;
}

// fragmentFetches records the page's requests to /_mfshell/fragment/.
function fragmentFetches(page: Page) {
  const urls: string[] = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith("/_mfshell/fragment/")) urls.push(u.pathname + u.search);
  });
  return urls;
}

const ssrMounts = (page: Page) => page.evaluate(() => document.documentElement.dataset.ssrMounts ?? "");

// onStage checks, from the event log, that app and the layout's basket are
// the apps mounted now, and that app's element alone is in the stage.
async function onStage(shell: Shell, app: string) {
  const held = new Map<string, number>();
  for (const e of await shell.events())
    if (e.type == "mounted" || e.type == "fallback" || e.type == "unmounted")
      held.set(e.app!, (held.get(e.app!) ?? 0) + (e.type == "unmounted" ? -1 : 1));
  expect(Object.fromEntries([...held].filter(([, n]) => n != 0))).toEqual({ basket: 1, [app]: 1 });
  await expect(shell.stage.locator(":scope > *")).toHaveCount(1);
  await expect(shell.stage.locator(":scope > " + app + "-app")).toHaveCount(1);
}

fragTest("with JavaScript off, the server's HTML is on the page and styled: the routed app's in a declarative shadow root, the layout app's in its element", async ({ browser, server, frag }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, locale: "fr-FR" });
  // A cookie of the page's origin, which fragment servers must not get (no --forward-headers).
  await context.addCookies([{ name: "session", value: "secret", url: server.url }]);
  const page = await context.newPage();
  const problems = watch(page, true);
  try {
    const res = await page.goto(server.url + "/ssr");
    expect(res!.status()).toBe(200);

    // The fragment requests: one per app on the page, for its path, with
    // the app, its version and the browser's language, and no cookie.
    const ssr = frag.only("ssr", "/ssr"), basket = frag.only("basket", "/ssr");
    expect(frag.requests).toHaveLength(2);
    for (const [r, app] of [[ssr, "ssr"], [basket, "basket"]] as const) {
      expect(r.headers).toMatchObject({ app, version: "1.0.0", cookie: undefined });
      expect(r.headers.language).toMatch(/^fr-FR\b/);
    }

    // The routed app: its fragment in the element's open declarative
    // shadow root, after the link to the app's stylesheet, which styles it.
    const app = page.locator("#mfshell-stage > ssr-app");
    await expect(app.locator("p.ssr-title")).toBeVisible();
    await expect(app.locator("p.ssr-title")).toHaveText("ssr rendered on the server for /ssr");
    await expect(app.locator("p.ssr-title")).toHaveCSS("color", "rgb(0, 110, 60)");
    await expect(app.locator("p.ssr-title")).toHaveCSS("font-weight", "700");
    await expect(app.getByRole("button")).toHaveText(`clicked 0 times · ${ssr.token}`);
    await expect(app.getByRole("button")).toHaveCSS("color", "rgb(160, 30, 90)");
    expect(
      await app.evaluate((el) => ({
        light: el.childNodes.length,
        shadow: [...(el.shadowRoot?.children ?? [])].map((c) => c.localName + (c.getAttribute("href") ? " " + c.getAttribute("href") : "")),
      })),
    ).toEqual({ light: 0, shadow: [expect.stringMatching(/^link \S*\/ssr\/1\.0\.0\/main\.css$/), "p", "button"] });
    // No script ran: nothing hydrated the button.
    await expect(app.getByRole("button")).not.toHaveAttribute("data-hydrated");
    // The app's stylesheet stays in its shadow root.
    await expect(page.locator("#page-title")).toHaveCSS("color", "rgb(0, 0, 0)");

    // The layout's app: its fragment inlined as it is (scoped isolation),
    // with the scoped copy of its stylesheet linked in the head (whether
    // that link styles it is the next test's).
    const b = page.locator("header > basket-app > p.basket");
    await expect(b).toBeVisible();
    await expect(b).toHaveText("0 added · last none");
    await expect(page.locator("head link[rel=stylesheet][href$='/basket/1.0.0/main.scoped.css']")).toHaveCount(1);
  } finally {
    await context.close();
  }
  expect(problems, "console errors, page errors, failed requests").toEqual([]);
});

fragTest("with JavaScript off, a scoped app's server HTML is styled by the scoped copy of its stylesheet, and only its own", async ({ browser, server }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const problems = watch(page, true);
  try {
    await page.goto(server.url + "/ssr");
    const link = page.locator("head link[rel=stylesheet][href$='/basket/1.0.0/main.scoped.css']");
    const published = JSON.parse(fs.readFileSync(server.cdnFile("basket", "1.0.0", "mfshell.json"), "utf8"));
    expect.soft(await link.getAttribute("integrity"), "the link's integrity: the scoped copy's").toBe(published.files["main.scoped.css"].integrity);
    await expect.soft(page.locator("header > basket-app > p.basket")).toHaveCSS("color", "rgb(20, 60, 150)", { timeout: 2_000 });
    await expect.soft(page.locator("#page-basket")).toHaveCSS("color", "rgb(0, 0, 0)");
  } finally {
    await context.close();
  }
  expect(problems, "console errors, page errors, failed requests").toEqual([]);
});

// atParse records, in the page, the ssr button of the server's HTML as
// the parser left it, before any script of the page runs (readyState
// "interactive" comes before deferred and module scripts), then checks it
// at every animation frame: still in the document, its token unchanged,
// styled. A frame without it would be a flash of the page without the
// server's HTML.
function atParse() {
  const raf = requestAnimationFrame.bind(window);
  const w = ((window as any).__e2eSsr = { button: null as Element | null, token: "", frames: 0, bad: [] as string[] });
  document.addEventListener("readystatechange", () => {
    if (document.readyState != "interactive") return;
    const b = document.querySelector("ssr-app")?.shadowRoot?.querySelector("button.counter");
    if (!b) return;
    w.button = b;
    w.token = b.querySelector(".token")?.textContent ?? "";
    const check = () => {
      w.frames++;
      const token = b.querySelector(".token")?.textContent ?? "", colour = getComputedStyle(b).color;
      const host = (b.getRootNode() as ShadowRoot).host?.localName;
      if (!b.isConnected || host != "ssr-app" || token != w.token || colour != "rgb(160, 30, 90)")
        w.bad.push(`frame ${w.frames}: connected ${b.isConnected}, in ${host}, token ${token}, colour ${colour}`);
      raf(check);
    };
    raf(check);
  });
}

fragTest("a module app mounted over its server HTML hydrates the server's nodes, with props.hydrate and no flash", async ({ page, shell, frag }) => {
  await page.addInitScript(atParse);
  const fetches = fragmentFetches(page);
  await shell.goto("/ssr", "ssr");
  const token = frag.only("ssr", "/ssr").token;
  const app = shell.app("ssr"), button = app.getByRole("button");

  // Mounted once, told to hydrate.
  expect(await ssrMounts(page)).toBe("hydrate");
  expect((await shell.events()).filter((e) => e.type == "mounted").map((e) => e.app).sort()).toEqual(["basket", "ssr"]);
  // The button is the server's node: the one the parser made, with the
  // token of this page's fragment request, now hydrated.
  await expect(button).toHaveAttribute("data-hydrated", "true");
  await expect(button).toHaveText(`clicked 0 times · ${token}`);
  expect(await button.evaluate((b) => (window as any).__e2eSsr.button === b)).toBe(true);
  expect(await page.evaluate(() => (window as any).__e2eSsr.token)).toBe(token);
  // Nothing rendered beside it: one title, one button, the stylesheet link kept.
  await expect(app.locator("p.ssr-title")).toHaveCount(1);
  await expect(app.locator("p.ssr-title")).toHaveText("ssr rendered on the server for /ssr");
  await expect(app.locator("button")).toHaveCount(1);
  // Still styled after mount (the link the server put in the shadow root,
  // and the app's adopted sheets).
  await expect(app.locator("p.ssr-title")).toHaveCSS("color", "rgb(0, 110, 60)");

  // Its behaviour: the clicks count, on the server's node.
  await button.click();
  await expect(button).toHaveText(`clicked 1 times · ${token}`);
  await button.click();
  await expect(button).toHaveText(`clicked 2 times · ${token}`);
  expect(await button.evaluate((b) => (window as any).__e2eSsr.button === b)).toBe(true);

  // No flash: at every frame from parsing until now the server's button
  // was on the page, with its token and its style.
  const seen = await page.evaluate(() => (window as any).__e2eSsr as { frames: number; bad: string[] });
  expect(seen.bad).toEqual([]);
  expect(seen.frames).toBeGreaterThan(0);
  // The basket too was hydrated; no fragment was fetched by the browser.
  await expect(shell.app("basket").locator("p.basket")).toHaveAttribute("data-hydrated", "true");
  expect(fetches).toEqual([]);
});

fragTest("a hanging fragment is cut at the budget: the page arrives and the browser renders the app", async ({ page, shell, server, frag }) => {
  frag.modes.ssr = "hang";
  const timeouts = 'mfshell_fragments_total{app="ssr",result="timeout"}';
  const before = await server.metric(timeouts);

  const res = await page.goto(server.url + "/ssr");
  expect(res!.status()).toBe(200);
  // The page came although the fragment never does: the server stopped
  // waiting for it (no timing asserted; the request's abort is checked below).
  // The element left empty; the basket's fragment, which came, inlined.
  const body = await res!.text();
  expect(body).toContain("<ssr-app></ssr-app>");
  expect(body).toContain('<basket-app><p class="basket">');
  expect(body).not.toContain("mfshell-trigger");

  // The browser renders it: mounted, not hydrating.
  await page.waitForFunction(() => performance.getEntriesByName("mfshell:mounted:ssr").length > 0);
  expect(await ssrMounts(page)).toBe("render");
  const app = shell.app("ssr"), button = app.getByRole("button");
  await expect(app.locator("p.ssr-title")).toHaveText("ssr rendered in the browser");
  await expect(button).toHaveText("clicked 0 times · client");
  await expect(button).toHaveAttribute("data-hydrated", "false");
  // Styled by the sheets the runtime loaded.
  await expect(app.locator("p.ssr-title")).toHaveCSS("color", "rgb(0, 110, 60)");
  await button.click();
  await expect(button).toHaveText("clicked 1 times · client");
  await expect(shell.app("basket").locator("p.basket")).toHaveAttribute("data-hydrated", "true");

  // mfshell closed the request and counted a timeout.
  const hung = frag.only("ssr", "/ssr");
  await expect.poll(() => hung.aborted).toBe(true);
  await expect.poll(() => server.metric(timeouts)).toBe(before + 1);
});

fragTest("an html app is fetched through /_mfshell/fragment on client-side navigation and inlined on a full page load", async ({ page, shell, frag }) => {
  const fetches = fragmentFetches(page);
  await shell.goto("/ssr", "ssr");
  const news = shell.app("news");

  // Client-side navigation: the runtime asks the server, which asks the
  // news fragment server for /news, and shows what it got.
  await shell.clickNav("news");
  expect(fetches).toEqual(["/_mfshell/fragment/news?path=%2Fnews"]);
  const first = frag.only("news", "/news");
  expect(first.headers).toMatchObject({ app: "news", version: "1.0.0" });
  await expect(news.locator("article.news .token")).toHaveText(first.token);
  await expect(news.locator("article.news .path")).toHaveText("for /news");
  await expect(news.locator("article.news")).toHaveCount(1);
  await onStage(shell, "news");

  // Back to the bundle app, rendered in the browser this time (the server
  // HTML it hydrated was its first mount's).
  await shell.mounted("ssr", () => page.goBack());
  await expect(page).toHaveURL(/\/ssr$/);
  await onStage(shell, "ssr");
  expect(await ssrMounts(page)).toBe("hydrate render");
  await expect(shell.app("ssr").getByRole("button")).toHaveText("clicked 0 times · client");

  // Forth again: a new fetch, a new fragment.
  await shell.mounted("news", () => page.goForward());
  await expect(page).toHaveURL(/\/news$/);
  expect(fetches).toHaveLength(2);
  const second = frag.to("news", "/news")[1];
  expect(second?.token).not.toBe(first.token);
  await expect(news.locator("article.news .token")).toHaveText(second.token);
  await expect(news.locator("article.news")).toHaveCount(1);
  await onStage(shell, "news");

  // A full page load of /news: the server inlines the fragment; the
  // runtime mounts the app over it and fetches nothing.
  fetches.length = 0;
  await shell.goto("/news", "news");
  const third = frag.to("news", "/news");
  expect(third).toHaveLength(3);
  await expect(news.locator("article.news .token")).toHaveText(third[2].token);
  await expect(news.locator("article.news")).toHaveCount(1);
  expect(fetches).toEqual([]);
  expect(frag.to("news", "/news")).toHaveLength(3);
  expect((await shell.events()).filter((e) => e.type == "mounted").map((e) => e.app).sort()).toEqual(["basket", "news"]);
});

fragTest("an html app whose fragment fails shows the error view; Retry shows it once its server is back", async ({ shell, frag }) => {
  await shell.goto("/ssr", "ssr");
  frag.modes.news = "fail";
  const failed = await shell.next("error", "news", () => shell.nav.getByRole("link", { name: "news", exact: true }).click());
  expect(failed.error).toMatch(/HTTP 502/);
  const news = shell.app("news");
  await expect(news.getByRole("alert")).toContainText("news 1.0.0 failed");
  // The rest of the page works.
  await expect(shell.app("basket").locator("p.basket")).toBeVisible();
  frag.modes.news = "ok";
  await shell.mounted("news", () => news.getByRole("button", { name: "Retry" }).click());
  await expect(news.locator("article.news .path")).toHaveText("for /news");
  await expect(news.getByRole("alert")).toHaveCount(0);
});

fragTest("an html app's Mfshell-Trigger reaches an always-present bundle app, on client-side navigation and on a page load", async ({ page, shell, frag }) => {
  frag.modes.news = "trigger";
  const basket = shell.app("basket").locator("p.basket");
  await shell.goto("/ssr", "basket");
  await expect(basket).toHaveText("0 added · last none");

  // Client-side navigation to the html app: the trigger of its fragment
  // response is emitted to the basket, once.
  // (emitted before the html app mounts, so once it has, exactly once)
  await shell.clickNav("news");
  expect(await basket.textContent()).toBe("1 added · last A1");
  // Again, after going back: once more.
  await shell.clickNav("ssr");
  await shell.clickNav("news");
  expect(await basket.textContent()).toBe("2 added · last A1");
  expect(frag.to("news", "/news")).toHaveLength(2);

  // A page load of /news: the trigger is in the page, once, and emitted
  // once the page's apps have mounted: the basket, hydrated over its
  // server HTML, hears it.
  await shell.goto("/news", "news");
  expect(await page.locator("script#mfshell-trigger").textContent()).toBe(JSON.stringify([trigger]));
  await expect(basket).toHaveText("1 added · last A1");
  await expect(basket).toHaveAttribute("data-hydrated", "true");
  expect(frag.to("news", "/news")).toHaveLength(3);
});
