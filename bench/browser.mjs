// bench/browser.mjs measures the runtime in Chromium (Playwright's library
// API, Debian's /usr/bin/chromium) against a running mfshell:
//
//   - time to first mount: the shell page /react (the React fixture app,
//     published as app "react" at route /react) against a bare page that
//     loads the same bundle (main.js and main.css from mfshell's /cdn/)
//     with an inline module script that imports it, calls bootstrap and
//     mount on a div and marks `bare:mounted`. mfshell cannot serve an
//     arbitrary page, so the bare page comes from a tiny Node server started
//     here on the same host: the bundle is then cross-origin for it (the CDN
//     answers with Access-Control-Allow-Origin: *), and it carries no
//     import map or integrity check. Each load gets a new browser context
//     with the cache disabled (CDP Network.setCacheDisabled); shell and bare
//     loads alternate (ABBA), after warm-up loads that are not counted. The
//     figure of a load is the startTime of the mark, on the page's clock
//     (from navigation start).
//   - app switch: in one page, `mfshell.navigate` between /react and /vue
//     (the Vue fixture app, route /vue), timed on the page from the call to
//     the `mfshell:mounted` event of the app navigated to (the old app's
//     unmount and teardown happen in between); heap used after
//     HeapProfiler.collectGarbage and the listeners on window, document
//     and body (DOMDebugger.getEventListeners) before and after the
//     measured switches.
//
// The fixture apps are e2e/fixtures' React and Vue cases as built into
// e2e/.build/ (built here through e2e/fixtures/build.ts when missing).
//
//	node bench/browser.mjs MFSHELL_URL DATA_DIR MFSHELL_BIN OUT_JSON OUT_ROWS [LOADS] [SWITCHES]
//
// OUT_JSON gets the figures and every sample; OUT_ROWS the rows of the
// table that bench/run.sh prints, in its column order.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const [url, data, bin, outJSON, outRows, loadsArg = "20", switchesArg = "100"] = process.argv.slice(2);
if (!outRows) {
  console.error("usage: node bench/browser.mjs MFSHELL_URL DATA_DIR MFSHELL_BIN OUT_JSON OUT_ROWS [LOADS] [SWITCHES]");
  process.exit(2);
}
const loads = Number(loadsArg), switches = Number(switchesArg);
const warmLoads = 2, warmSwitches = 10;
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const buildRoot = path.join(root, "e2e", ".build");
const token = fs.readFileSync(path.join(data, "admin.token"), "utf8").trim();

// --- fixtures ------------------------------------------------------------------
if (!["react", "vue", "leaky"].every((c) => fs.existsSync(path.join(buildRoot, c, "main.js")))) {
  // build.ts is TypeScript that finds its folders through __dirname:
  // bundle it for Node with __dirname pinned to its own folder, and run it
  // from node_modules/.cache, where its own imports (esbuild) resolve.
  const out = path.join(root, "node_modules", ".cache", "mfshell-bench", "build-fixtures.cjs");
  execFileSync(
    path.join(root, "node_modules", ".bin", "esbuild"),
    [
      path.join(root, "e2e", "fixtures", "build.ts"),
      "--bundle",
      "--platform=node",
      "--format=cjs",
      "--packages=external",
      "--log-level=warning",
      `--define:__dirname=${JSON.stringify(path.join(root, "e2e", "fixtures"))}`,
      "--outfile=" + out,
    ],
    { stdio: "inherit" },
  );
  const { createRequire } = await import("node:module");
  await createRequire(import.meta.url)(out).buildFixtures();
}

async function api(method, p, body) {
  const r = await fetch(url + p, {
    method,
    headers: { Authorization: "Bearer " + token, "Content-Type": "application/json", "Mfshell-Reason": "bench" },
    body: JSON.stringify(body),
  });
  if (r.status >= 400) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
  return r.json();
}
for (const [app, route, format, isolation, template] of [
  ["react", "/react", "module", "shadow", ""],
  ["vue", "/vue", "module", "scoped", ""],
  // A legacy script that leaks one of everything on every run (e2e/fixtures/leaky).
  ["leaky", "/leaky", "script", "none", '<div id="leaky-root"></div>'],
]) {
  execFileSync(bin, ["publish", "--app", app, "--version", "1.0.0", "--cdn", "file://" + path.join(data, "cdn"), path.join(buildRoot, app)]);
  await api("PUT", "/api/v1/apps/" + app, { version: "1.0.0", route, format, isolation, template });
}

// --- the bare page's server ------------------------------------------------------
const bundleURL = url + "/cdn/react/1.0.0/main.js";
const bare = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bare</title>
<link rel="stylesheet" href="${url}/cdn/react/1.0.0/main.css">
<script type="module">
import * as app from ${JSON.stringify(bundleURL)};
const props = { name: "react", version: "1.0.0", domElement: document.getElementById("root") };
if (app.bootstrap) await app.bootstrap(props);
await app.mount(props);
performance.mark("bare:mounted");
</script></head><body><div id="root"></div></body></html>`;
const bareServer = http.createServer((req, res) => {
  if (req.url !== "/") return res.writeHead(404).end();
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Content-Length": Buffer.byteLength(bare), "Cache-Control": "no-store" });
  res.end(bare);
});
await new Promise((ok) => bareServer.listen(0, "127.0.0.1", ok));
const bareURL = `http://127.0.0.1:${bareServer.address().port}/`;

// --- statistics ----------------------------------------------------------------
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const rank = (s, p) => s[Math.max(0, Math.min(s.length - 1, Math.ceil(p * s.length) - 1))];
const median = (xs) => {
  const s = sorted(xs), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const r2 = (x) => +x.toFixed(2);
const summary = (xs) => {
  const s = sorted(xs);
  return { n: s.length, median_ms: r2(median(s)), p50_ms: r2(rank(s, 0.5)), p99_ms: r2(rank(s, 0.99)), min_ms: r2(s[0]), max_ms: r2(s[s.length - 1]) };
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
try {
  // --- time to first mount ---------------------------------------------------------
  // load opens pageURL in a new context with the cache disabled and returns
  // the startTime of the mark, once it exists.
  async function load(pageURL, mark) {
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      const cdp = await ctx.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
      await page.goto(pageURL);
      // The mark is awaited with a buffered PerformanceObserver, evaluated
      // once through CDP: Playwright's waitForFunction would inject its
      // script into the page and poll with requestAnimationFrame during the
      // load, work that is not the page's (and that the shell, which tracks
      // the frames apps request, would pay for).
      const { result, exceptionDetails } = await cdp.send("Runtime.evaluate", {
        expression: `new Promise((ok) => new PerformanceObserver((list, obs) => {
          const e = list.getEntriesByName(${JSON.stringify(mark)})[0];
          if (e) obs.disconnect(), ok(e.startTime);
        }).observe({ type: "mark", buffered: true }))`,
        awaitPromise: true,
        returnByValue: true,
        timeout: 30_000,
      });
      if (exceptionDetails) throw new Error(`${pageURL}: ${exceptionDetails.text}`);
      return result.value;
    } finally {
      await ctx.close();
    }
  }
  const shellURL = url + "/react", shellMark = "mfshell:mounted:react", bareMark = "bare:mounted";
  for (let i = 0; i < warmLoads; i++) {
    await load(shellURL, shellMark);
    await load(bareURL, bareMark);
  }
  const shellTimes = [], bareTimes = [];
  for (let i = 0; i < loads; i++) {
    // ABBA: neither side always goes first.
    if (i % 2 === 0) {
      shellTimes.push(await load(shellURL, shellMark));
      bareTimes.push(await load(bareURL, bareMark));
    } else {
      bareTimes.push(await load(bareURL, bareMark));
      shellTimes.push(await load(shellURL, shellMark));
    }
  }
  const firstMount = {
    shell: { url: shellURL, mark: shellMark, ...summary(shellTimes), samples: shellTimes.map(r2) },
    bare: { url: bareURL, mark: bareMark, bundle: bundleURL, ...summary(bareTimes), samples: bareTimes.map(r2) },
    warmup_loads_each: warmLoads,
  };
  firstMount.ratio = +(firstMount.shell.median_ms / firstMount.bare.median_ms).toFixed(3);

  // --- app switch ----------------------------------------------------------------------
  // A page that switches between the routes of cycle (each [route, app]),
  // with its CDP session for footprints.
  async function switcher(cycle) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    const [first, app] = cycle[cycle.length - 1];
    await page.goto(url + first);
    await page.waitForFunction((a) => performance.getEntriesByName("mfshell:mounted:" + a).length > 0, app);
    // run navigates n times along the cycle, going on from where the last
    // run stopped, and returns each navigate-to-mounted time.
    let at = 0;
    const run = async (n) => {
      const from = at;
      at += n;
      return page.evaluate(
        async ([from, n, cycle]) => {
          const times = [];
          for (let i = from; i < from + n; i++) {
            const [route, app] = cycle[i % cycle.length];
            let done;
            const mounted = new Promise((ok) => (done = ok));
            const on = (e) => e.detail.app === app && done(performance.now());
            addEventListener("mfshell:mounted", on);
            const t0 = performance.now();
            window.mfshell.navigate(route);
            const t1 = await mounted;
            removeEventListener("mfshell:mounted", on);
            times.push(t1 - t0);
          }
          return times;
        },
        [from, n, cycle],
      );
    };
    // footprint collects garbage and returns the heap in use, the part of
    // it that is not compiled code (from a heap snapshot), and the
    // listeners on window, document and body.
    async function footprint() {
      await cdp.send("HeapProfiler.collectGarbage");
      const { usedSize } = await cdp.send("Runtime.getHeapUsage");
      const chunks = [];
      const onChunk = (p) => chunks.push(p.chunk);
      cdp.on("HeapProfiler.addHeapSnapshotChunk", onChunk);
      await cdp.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
      cdp.off("HeapProfiler.addHeapSnapshotChunk", onChunk);
      const snap = JSON.parse(chunks.join(""));
      const fields = snap.snapshot.meta.node_fields, types = snap.snapshot.meta.node_types[0];
      const ti = fields.indexOf("type"), si = fields.indexOf("self_size");
      let code = 0, all = 0;
      for (let i = 0; i < snap.nodes.length; i += fields.length) {
        all += snap.nodes[i + si];
        if (types[snap.nodes[i + ti]] === "code") code += snap.nodes[i + si];
      }
      const listeners = {};
      for (const [name, expr] of [
        ["window", "window"],
        ["document", "document"],
        ["body", "document.body"],
      ]) {
        const { result } = await cdp.send("Runtime.evaluate", { expression: expr });
        listeners[name] = (await cdp.send("DOMDebugger.getEventListeners", { objectId: result.objectId })).listeners.length;
        await cdp.send("Runtime.releaseObject", { objectId: result.objectId });
      }
      return { heap_used_bytes: usedSize, snapshot_bytes: all, code_bytes: code, data_bytes: all - code, listeners };
    }
    return { run, footprint, close: () => ctx.close() };
  }

  // measure warms up, then runs n switches in steps with a footprint after
  // each step, to tell a trend (growth per switch) from one noisy reading;
  // the GCs and snapshots fall between timed switches.
  // Whole cycles only, so that every footprint is taken with the same app
  // mounted as the first.
  async function measure(cycle, n) {
    const whole = (k) => cycle.length * Math.ceil(k / cycle.length);
    n = whole(n);
    const sw = await switcher(cycle);
    await sw.run(whole(warmSwitches));
    const before = await sw.footprint();
    const times = [], checkpoints = [];
    const step = Math.max(cycle.length, cycle.length * Math.round(n / 4 / cycle.length));
    for (let done = 0; done < n; ) {
      const k = Math.min(step, n - done);
      times.push(...(await sw.run(k)));
      done += k;
      checkpoints.push({ switches: done, ...(await sw.footprint()) });
    }
    await sw.close();
    const after = checkpoints[checkpoints.length - 1];
    return {
      routes: cycle.map(([r]) => r),
      warmup_switches: whole(warmSwitches),
      ...summary(times),
      samples: times.map(r2),
      before,
      after,
      checkpoints,
      heap_growth_ratio: +(after.heap_used_bytes / before.heap_used_bytes).toFixed(4),
      data_growth_ratio: +(after.data_bytes / before.data_bytes).toFixed(4),
      listeners_grew: Object.keys(before.listeners).some((k) => after.listeners[k] > before.listeners[k]),
    };
  }
  const appSwitch = await measure([["/vue", "vue"], ["/react", "react"]], switches);
  const withLeaky = await measure([["/vue", "vue"], ["/leaky", "leaky"], ["/react", "react"]], switches);

  // Compiled code is left out of the verdict: V8 keeps compiling functions
  // as they get hot (Maglev, then TurboFan), for thousands of switches, and
  // recompiles a classic script that runs again on every mount; that code
  // is the engine's, bounded by the source, not objects left behind. Both
  // figures are printed.
  const heapSlack = 1.05;
  firstMount.budget = "Time to first mount at most 1.05x a bare page that loads the same bundle from the same server, same run (ratio of medians)";
  firstMount.verdict = firstMount.ratio <= 1.05 ? "met" : "missed";
  appSwitch.budget = "App switch (navigate to mounted, React <-> Vue) at most 2 ms p50, teardown included";
  appSwitch.verdict = appSwitch.p50_ms <= 2 ? "met" : "missed";
  for (const x of [appSwitch, withLeaky]) {
    x.footprint_budget = `No heap or listener growth over ${x.n} switches, even with a leaky app in the loop (listener counts not above; heap data, without V8's compiled code, after GC within ${heapSlack}x, a margin for GC noise)`;
    x.footprint_verdict = !x.listeners_grew && x.data_growth_ratio <= heapSlack ? "met" : "missed";
  }
  fs.writeFileSync(outJSON, JSON.stringify({ chromium: browser.version(), first_mount: firstMount, app_switch: appSwitch, app_switch_with_leaky: withLeaky }, null, 2));

  const f = (x) => x.toFixed(2), fm = firstMount;
  const range = (x) => `median ${f(x.median_ms)} ms (range ${f(x.min_ms)}-${f(x.max_ms)}, n=${x.n})`;
  const l = (x) => `window ${x.listeners.window}, document ${x.listeners.document}, body ${x.listeners.body}`;
  const kb = (b) => (b / 1024).toFixed(0) + " KiB";
  const footprintRow = (x) =>
    `| browser: footprint before/after ${x.n} switches ${x.routes.join(" -> ")} (after GC) | heap data ${kb(x.before.data_bytes)} -> ${kb(x.after.data_bytes)} (x${x.data_growth_ratio.toFixed(3)}; at ${x.checkpoints.map((c) => c.switches).join("/")} switches: ${x.checkpoints.map((c) => kb(c.data_bytes)).join(", ")}); compiled code ${kb(x.before.code_bytes)} -> ${kb(x.after.code_bytes)}; heap used in all ${kb(x.before.heap_used_bytes)} -> ${kb(x.after.heap_used_bytes)} (x${x.heap_growth_ratio.toFixed(3)}); listeners ${l(x.before)} -> ${l(x.after)} | - | - | - | - | ${x.footprint_budget} | ${x.footprint_verdict} |`;
  fs.writeFileSync(
    outRows,
    [
      `| browser: time to first mount, shell ${shellURL.replace(url, "")} (\`${shellMark}\` startTime) vs bare page (\`${bareMark}\`, same bundle from mfshell's /cdn/, cross-origin), cache disabled, new context per load | ${range(fm.shell)} | ${range(fm.bare)} | ${f(fm.ratio)} | - | - | ${fm.budget} | ${fm.verdict} |`,
      `| browser: app switch, ${appSwitch.n} \`mfshell.navigate\` /react <-> /vue to \`mfshell:mounted\` (page clock) | p50 ${f(appSwitch.p50_ms)} ms, p99 ${f(appSwitch.p99_ms)} ms (min ${f(appSwitch.min_ms)}, max ${f(appSwitch.max_ms)}) | - | - | ${f(appSwitch.p50_ms)} | ${f(appSwitch.p99_ms)} | ${appSwitch.budget} | ${appSwitch.verdict} |`,
      footprintRow(appSwitch),
      footprintRow(withLeaky),
    ].join("\n") + "\n",
  );
} finally {
  await browser.close();
  bareServer.close();
}
