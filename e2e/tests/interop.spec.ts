// Interop with the import-map ecosystem, in real Chromium and with real
// HTTP clients:
//   - a plain HTML page that is not mfshell's shell (a single-spa root
//     config, say) uses mfshell's /_mfshell/importmap.json as its native
//     <script type="importmap">, imports an app by its bare name and mounts
//     it itself;
//   - the import map's "integrity" section makes the browser refuse a
//     bundle changed on the CDN after its release;
//   - a CI script written for single-spa's import-map-deployer releases
//     through mfshell's compatible API (/api/v1/import-map-deployer/) with
//     that tool's request bodies and HTTP basic auth: the release is in the
//     history under the token's name and the real shell mounts it; bad
//     requests change nothing; concurrent releases are all kept.

import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Page } from "@playwright/test";
import { uniqueVersion, type Server } from "../server";
import { expect, test } from "../test";

/** ImportMap is what /_mfshell/importmap.json answers. */
interface ImportMap {
  imports: Record<string, string>;
  integrity: Record<string, string>;
}

/**
 * importMapOf fetches mfshell's import map as a root config page's server
 * would, and makes its URLs absolute. mfshell writes them relative to its
 * own origin ("/cdn/broken/ok/main.js"); an inline import map resolves its
 * URLs, those of "imports" and the keys of "integrity" alike, against the
 * page's URL, so a page on another origin must resolve them against
 * mfshell's URL first, or its imports (and the integrity of them) would
 * point at its own origin.
 */
async function importMapOf(server: Server): Promise<ImportMap> {
  const r = await fetch(server.url + "/_mfshell/importmap.json");
  expect(r.status).toBe(200);
  // Public: pages of any origin may also fetch it from the browser.
  expect(r.headers.get("access-control-allow-origin")).toBe("*");
  const im = (await r.json()) as ImportMap;
  const abs = (u: string) => new URL(u, server.url + "/").href;
  return {
    imports: Object.fromEntries(Object.entries(im.imports).map(([name, u]) => [name, abs(u)])),
    integrity: Object.fromEntries(Object.entries(im.integrity).map(([u, sri]) => [abs(u), sri])),
  };
}

/** Outcome is what the plain page reports once its script has run. */
interface Outcome {
  /** "mounted", or "rejected: " and the error */
  result: string;
  /** import.meta.resolve("broken") and import.meta.resolve("broken/main.js") */
  resolved: string;
  resolvedFolder: string;
}

/**
 * PlainSite is the other origin: a tiny Node http server on loopback that
 * serves one page at "/", the way a root config's server renders its
 * index.html: mfshell's import map inline, then a module script that
 * imports "broken" by its bare name and calls its mount with the props a
 * single-spa root config passes (name, domElement) and the version. The
 * page has a strict CSP of its own: scripts by nonce, and mfshell's CDN;
 * nothing else.
 */
class PlainSite {
  declare url: string;
  private html = "";
  private csp = "";
  private http = http.createServer((req, res) => {
    if (new URL(req.url!, "http://x").pathname != "/") {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": this.csp, "Cache-Control": "no-store" });
    res.end(this.html);
  });

  static async start() {
    const s = new PlainSite();
    await new Promise<void>((ok) => s.http.listen(0, "127.0.0.1", ok));
    s.url = "http://127.0.0.1:" + (s.http.address() as AddressInfo).port;
    return s;
  }

  async stop() {
    this.http.closeAllConnections();
    await new Promise((ok) => this.http.close(ok));
  }

  /**
   * open renders the page with import map im and the version to pass to
   * mount, loads it in page and returns what its script reported.
   */
  async open(page: Page, im: ImportMap, version: string, mfshell: Server): Promise<Outcome> {
    const nonce = crypto.randomBytes(16).toString("base64");
    // JSON inside <script>: "<" escaped so that no "</script>" can end it.
    const json = (v: unknown) => JSON.stringify(v).replaceAll("<", "\\u003c");
    this.csp = `default-src 'none'; script-src 'nonce-${nonce}' ${mfshell.url}/cdn/; base-uri 'none'; form-action 'none'`;
    this.html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>A plain page with mfshell's import map</title>
<script type="importmap" nonce="${nonce}">${json(im)}</script>
</head>
<body>
<main id="root"></main>
<output id="result"></output>
<script type="module" nonce="${nonce}">
const result = document.getElementById("result");
try {
  result.dataset.resolved = import.meta.resolve("broken");
  result.dataset.resolvedFolder = import.meta.resolve("broken/main.js");
  const app = await import("broken");
  await app.mount({ name: "broken", domElement: document.getElementById("root"), version: ${json(version)} });
  result.textContent = "mounted";
} catch (e) {
  result.textContent = "rejected: " + e;
}
</script>
</body>
</html>
`;
    await page.goto(this.url + "/");
    const result = page.locator("#result");
    await expect(result).not.toBeEmpty();
    return {
      result: (await result.textContent())!,
      resolved: (await result.getAttribute("data-resolved"))!,
      resolvedFolder: (await result.getAttribute("data-resolved-folder"))!,
    };
  }
}

const siteTest = test.extend<{ site: PlainSite }>({
  site: async ({}, use) => {
    const s = await PlainSite.start();
    await use(s);
    await s.stop();
  },
});

const sha384 = (bytes: Buffer | string) => "sha384-" + crypto.createHash("sha384").update(bytes).digest("base64");

/** responses records the status of every response page gets, by URL. */
function responses(page: Page) {
  const got = new Map<string, number>();
  page.on("response", (r) => got.set(r.url(), r.status()));
  return got;
}

siteTest("a plain page with mfshell's import map imports an app by its bare name and mounts it", async ({ page, server, site }) => {
  const got = responses(page);
  const im = await importMapOf(server);
  const entry = `${server.url}/cdn/broken/ok/main.js`;
  expect(im.imports).toMatchObject({ broken: entry, "broken/": `${server.url}/cdn/broken/ok/` });
  // The page runs the bundle under its integrity, as the shell does.
  expect(im.integrity[entry]).toMatch(/^sha384-/);
  expect(im.integrity[entry]).toBe(sha384(fs.readFileSync(server.cdnFile("broken", "ok", "main.js"))));

  const out = await site.open(page, im, "ok", server);
  expect(out.result).toBe("mounted");
  await expect(page.locator("#root p.works")).toHaveText("broken app works: ok");
  // The bare name and the folder import resolved through the import map,
  // to mfshell's CDN, which served the bundle.
  expect(out.resolved).toBe(entry);
  expect(out.resolvedFolder).toBe(entry);
  expect(got.get(entry)).toBe(200);
  expect(new URL(page.url()).origin).not.toBe(new URL(server.url).origin);
  // No CSP violation and no page error: the issues fixture checks.
});

siteTest("a bundle changed on the CDN after its release is refused by the import map's integrity", async ({ page, server, site }) => {
  const got = responses(page);
  const logged: string[] = [];
  page.on("console", (m) => logged.push(m.text()));
  const version = uniqueVersion("imap-tampered");
  await server.publishCopy("broken", version, "broken-ok");
  await server.release("broken", version);

  // Change the published entry on the CDN folder, keeping its size (the
  // CDN origin refuses a file whose size is not the published one, which
  // would be a 500, not what this test is about): the comment publishCopy
  // appended becomes a statement that leaves a marker if it ever runs.
  // Nothing has fetched the file yet, so the CDN origin has not cached it.
  const file = server.cdnFile("broken", version, "main.js");
  const clean = fs.readFileSync(file, "utf8");
  const comment = `// broken@${version}`;
  const marker = "globalThis.e2eTamperedRan=1;";
  expect(clean.split(comment)).toHaveLength(2);
  expect(comment.length).toBeGreaterThanOrEqual(marker.length);
  const dirty = clean.replace(comment, marker.padEnd(comment.length, " "));
  expect(dirty.length).toBe(clean.length);
  fs.chmodSync(file, 0o644);
  fs.writeFileSync(file, dirty);

  // The import map of after the release: the new version, with the
  // integrity of the bytes as published, not as they are now.
  const im = await importMapOf(server);
  const entry = `${server.url}/cdn/broken/${version}/main.js`;
  expect(im.imports.broken).toBe(entry);
  expect(im.integrity[entry]).toBe(sha384(clean));
  expect(im.integrity[entry]).not.toBe(sha384(dirty));

  const out = await site.open(page, im, version, server);
  // The CDN served the changed bytes (200), and the browser refused them:
  // the import rejected, and the module never ran.
  expect(got.get(entry)).toBe(200);
  expect(out.result).toMatch(/^rejected: TypeError: Failed to fetch dynamically imported module/);
  expect(out.resolved).toBe(entry);
  expect(logged).toContainEqual(expect.stringContaining(`Failed to find a valid digest in the 'integrity' attribute for resource '${entry}'`));
  expect(await page.evaluate(() => (globalThis as any).e2eTamperedRan)).toBeUndefined();
  await expect(page.locator("#root")).toBeEmpty();
});

// The import-map-deployer API, driven as a CI script written for that
// tool drives it: Node's fetch, its JSON bodies, HTTP basic auth with any
// username and an mfshell token as the password.

const deployer = "/api/v1/import-map-deployer";

/** adminToken is the first-run admin token (named "admin") mfshell serve wrote into its data folder. */
const adminToken = (server: Server) => fs.readFileSync(path.join(server.data, "admin.token"), "utf8").trim();

const basic = (user: string, password: string) => "Basic " + Buffer.from(user + ":" + password).toString("base64");

/** Answer is a deployer API answer: the import map and revision after a write, or an error. */
interface Answer {
  status: number;
  body: any;
  text: string;
}

/** patchService sends PATCH services with body (an object or raw text) and the given Authorization, if any. */
async function patchService(server: Server, body: unknown, opts: { query?: string; auth?: string } = {}): Promise<Answer> {
  const r = await fetch(server.url + deployer + "/services" + (opts.query ?? ""), {
    method: "PATCH",
    headers: { "Content-Type": "application/json", ...(opts.auth ? { Authorization: opts.auth } : {}) },
    body: typeof body == "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: r.status, body: parsed, text };
}

/** live returns the current revision and the live version of broken. */
async function live(server: Server) {
  const m = (await server.api("GET", "/api/v1/manifest")).body;
  return { revision: m.revision as number, version: m.apps.broken.version as string };
}

interface HistoryEntry {
  revision: number;
  actor: string;
  reason: string;
  summary: string;
  changes: { app: string; action: string; fields?: { field: string; from: string; to: string }[] }[];
}

/** history returns the newest limit revisions, newest first. */
async function history(server: Server, limit: number): Promise<HistoryEntry[]> {
  return (await server.api("GET", "/api/v1/history?limit=" + limit)).body.revisions;
}

/** versionTo is the version of broken a revision made live. */
function versionTo(e: HistoryEntry) {
  const f = e.changes.find((c) => c.app == "broken")?.fields?.find((f) => f.field == "version");
  return f ? JSON.parse(f.to) : undefined;
}

test("import-map-deployer's PATCH services releases a version: history, shell, refusals", async ({ server, shell }) => {
  const token = adminToken(server);
  const auth = basic("ci-bot", token);
  const version = uniqueVersion("imd"), other = uniqueVersion("imd-other");
  await server.publishCopy("broken", version, "broken-ok");
  await server.publishCopy("broken", other, "broken-ok");
  const before = await live(server);
  expect(before.version).toBe("ok");

  const res = await patchService(server, { service: "broken", url: `${server.url}/cdn/broken/${version}/main.js` }, { auth });
  expect(res.status, res.text).toBe(200);
  // The answer is the live import map after the write, as the tool's is
  // (mfshell writes its URLs as paths on its own origin), and the revision.
  expect(res.body.imports).toMatchObject({ broken: `/cdn/broken/${version}/main.js`, "broken/": `/cdn/broken/${version}/`, react: "/cdn/react/1.0.0/main.js" });
  expect(res.body.integrity[`/cdn/broken/${version}/main.js`]).toBe(sha384(fs.readFileSync(server.cdnFile("broken", version, "main.js"))));
  expect(res.body).toMatchObject({ revision: before.revision + 1, changed: true });
  expect(await live(server)).toEqual({ revision: before.revision + 1, version });
  // The public import map says the same.
  expect((await (await fetch(server.url + "/_mfshell/importmap.json")).json()).imports.broken).toBe(`/cdn/broken/${version}/main.js`);

  // The history names the token (the first-run admin token, "admin"), not
  // the basic auth username.
  const [top] = await history(server, 1);
  expect(top).toMatchObject({ revision: before.revision + 1, actor: "admin", reason: "import-map-deployer: PATCH services" });
  expect(top.summary).toContain(`version "ok" → "${version}"`);
  expect(versionTo(top)).toBe(version);

  // The real shell mounts it.
  await shell.goto("/broken", "broken");
  await expect(shell.app("broken").locator(".works")).toHaveText(`broken app works: ${version}`);

  // Bad requests: each refused with its 4xx, and nothing changed. Each
  // would be a valid release of `other` (published, not live) but for
  // its one fault.
  const good = { service: "broken", url: `${server.url}/cdn/broken/${other}/main.js` };
  const bad: { name: string; body: unknown; query?: string; auth?: string; status: number; error: RegExp }[] = [
    { name: "a URL on another host", body: { ...good, url: `https://cdn.example.com/cdn/broken/${other}/main.js` }, status: 400, error: /is not on this server's CDN/ },
    { name: "a URL of this server outside its CDN", body: { ...good, url: `${server.url}/static/broken/${other}/main.js` }, status: 400, error: /is not on this server's CDN/ },
    { name: "an unpublished version", body: { ...good, url: `${server.url}/cdn/broken/never-published/main.js` }, status: 409, error: /is not published/ },
    { name: "another app's file", body: { ...good, url: `${server.url}/cdn/react/1.0.0/main.js` }, status: 400, error: /is a file of app "react", not of "broken"/ },
    { name: "an app that does not exist", body: { service: "nope", url: `${server.url}/cdn/nope/1.0.0/main.js` }, status: 404, error: /no app "nope"/ },
    { name: "a script app", body: { service: "leaky", url: `${server.url}/cdn/leaky/1.0.0/leaky.js` }, status: 400, error: /module apps only/ },
    { name: "env=prod", body: good, query: "?env=prod", status: 400, error: /env "prod"/ },
    { name: "malformed JSON", body: `{"service":"broken","url":`, status: 400, error: /bad request body/ },
    { name: "no credentials", body: good, auth: "", status: 401, error: /missing credentials/ },
    { name: "a password that is no token", body: good, auth: basic("ci-bot", "not-a-token"), status: 401, error: /invalid token/ },
  ];
  for (const b of bad) {
    const r = await patchService(server, b.body, { query: b.query, auth: b.auth ?? auth });
    expect(r.status, `${b.name}: ${r.text}`).toBe(b.status);
    expect(r.body?.error, `${b.name}: ${r.text}`).toMatch(b.error);
    expect(await live(server), b.name).toEqual({ revision: before.revision + 1, version });
  }
  expect((await history(server, 1))[0].revision).toBe(before.revision + 1);
  // And the shell still mounts the released version.
  await shell.goto("/broken", "broken");
  await expect(shell.app("broken").locator(".works")).toHaveText(`broken app works: ${version}`);
});

test("50 concurrent import-map-deployer releases all answer 200 and are all kept", async ({ server, shell }) => {
  test.setTimeout(90_000);
  const token = adminToken(server);
  // 50 distinct versions: a release of the version already live is no
  // change (200, "changed": false, no revision), so with a few versions
  // released in turn the number of revisions would depend on the order the
  // server takes the requests in. With one version each, every request must
  // make a revision of its own: a lost one is a lost write.
  const n = 50;
  const versions = Array.from({ length: n }, (_, i) => uniqueVersion(`imd-c${i}`));
  for (let i = 0; i < n; i += 10) await Promise.all(versions.slice(i, i + 10).map((v) => server.publishCopy("broken", v, "broken-ok")));
  const before = await live(server);

  // All at once, half with basic auth as the tool's clients send it, half
  // with a bearer token.
  const answers = await Promise.all(
    versions.map((v, i) =>
      patchService(server, { service: "broken", url: `${server.url}/cdn/broken/${v}/main.js` }, { auth: i % 2 ? "Bearer " + token : basic("ci-" + i, token) }),
    ),
  );
  answers.forEach((a, i) => {
    expect(a.status, `${versions[i]}: ${a.text}`).toBe(200);
    expect(a.body.changed, versions[i]).toBe(true);
    // Each answer is the import map after its own write.
    expect(a.body.imports.broken, versions[i]).toBe(`/cdn/broken/${versions[i]}/main.js`);
  });
  // 50 distinct revisions, right after the one before.
  const revisions = answers.map((a) => a.body.revision as number).sort((a, b) => a - b);
  expect(revisions).toEqual(Array.from({ length: n }, (_, i) => before.revision + 1 + i));

  // The history has the 50, each the release its answer said.
  const h = (await history(server, n + 10)).filter((e) => e.revision > before.revision);
  expect(h).toHaveLength(n);
  const byRevision = new Map(h.map((e) => [e.revision, e]));
  answers.forEach((a, i) => {
    const e = byRevision.get(a.body.revision)!;
    expect(e, `revision ${a.body.revision}`).toMatchObject({ actor: "admin", reason: "import-map-deployer: PATCH services" });
    expect(versionTo(e), `revision ${a.body.revision}`).toBe(versions[i]);
  });
  // Each revision starts from the one before: no write was made on a stale manifest.
  const oldestFirst = [...h].reverse();
  oldestFirst.forEach((e, i) => {
    const from = e.changes.find((c) => c.app == "broken")!.fields!.find((f) => f.field == "version")!.from;
    expect(JSON.parse(from), `revision ${e.revision}`).toBe(i == 0 ? before.version : versionTo(oldestFirst[i - 1]));
  });

  // The live version is the top revision's, and the shell mounts it.
  const final = versionTo(h[0]);
  expect(await live(server)).toEqual({ revision: before.revision + n, version: final });
  expect((await (await fetch(server.url + "/_mfshell/importmap.json")).json()).imports.broken).toBe(`/cdn/broken/${final}/main.js`);
  await shell.goto("/broken", "broken");
  await expect(shell.app("broken").locator(".works")).toHaveText(`broken app works: ${final}`);
});
