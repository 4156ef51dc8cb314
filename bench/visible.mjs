// bench/visible.mjs measures how long a release takes to reach an open
// page: a Chromium page on the shell sends PATCH /api/v1/apps/NAME itself
// (fetch from the page), and times, on the page's clock
// (performance.now()), from just before sending to the `mfshell:manifest`
// event that the runtime fires once it holds the new manifest (through the
// server-sent change feed and a fetch of the manifest). Each release makes
// live whichever of two published versions is not, one at a time, after a
// warm-up.
//
//	node bench/visible.mjs MFSHELL_URL TOKEN_FILE APP VERSION_A,VERSION_B COUNT OUT_JSON

import fs from "node:fs";
import { chromium } from "playwright-core";

const [url, tokenFile, app, versions, count, outJSON] = process.argv.slice(2);
if (!outJSON) {
  console.error("usage: node bench/visible.mjs MFSHELL_URL TOKEN_FILE APP VERSION_A,VERSION_B COUNT OUT_JSON");
  process.exit(2);
}
const token = fs.readFileSync(tokenFile, "utf8").trim();
const vs = versions.split(",");
const n = Number(count), warmup = 3;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(url + "/");
  await page.waitForFunction(() => window.mfshell && window.mfshell.manifest);
  const samples = [];
  for (let i = 0; i < warmup + n; i++) {
    const r = await page.evaluate(
      async ({ endpoint, app, token, versions }) => {
        const before = window.mfshell.manifest.revision;
        // Release the version that is not live: releasing the live one
        // writes nothing and so announces nothing.
        const version = window.mfshell.manifest.apps[app]?.version === versions[0] ? versions[1] : versions[0];
        const seen = new Promise((ok, ko) => {
          const timer = setTimeout(() => ko(new Error(`no mfshell:manifest event within 10 s of releasing ${app}@${version}`)), 10_000);
          addEventListener("mfshell:manifest", (e) => (clearTimeout(timer), ok({ t: performance.now(), revision: e.detail.revision })), { once: true });
        });
        const t0 = performance.now();
        const res = await fetch(endpoint, {
          method: "PATCH",
          headers: { Authorization: "Bearer " + token, "Content-Type": "application/json", "Mfshell-Reason": "bench" },
          body: JSON.stringify({ version }),
        });
        const acked = performance.now() - t0;
        const body = await res.json();
        if (res.status !== 200) throw new Error(`PATCH ${endpoint}: ${res.status} ${JSON.stringify(body)}`);
        const ev = await seen;
        if (window.mfshell.manifest.revision !== body.revision)
          throw new Error(`page holds revision ${window.mfshell.manifest.revision} after the event, release wrote ${body.revision} (before: ${before})`);
        return { acked_ms: acked, visible_ms: ev.t - t0, revision: body.revision };
      },
      { endpoint: url + "/api/v1/apps/" + app, app, token, versions: vs },
    );
    if (i >= warmup) samples.push(r);
  }
  const pick = (k) => samples.map((s) => s[k]).sort((a, b) => a - b);
  const rank = (s, p) => s[Math.max(0, Math.min(s.length - 1, Math.ceil(p * s.length) - 1))];
  const sum = (k) => {
    const s = pick(k);
    return { n: s.length, p50_ms: +rank(s, 0.5).toFixed(2), p99_ms: +rank(s, 0.99).toFixed(2), min_ms: +s[0].toFixed(2), max_ms: +s[s.length - 1].toFixed(2) };
  };
  fs.writeFileSync(outJSON, JSON.stringify({ warmup, visible: sum("visible_ms"), acked: sum("acked_ms"), samples }, null, 2));
} finally {
  await browser.close();
}
