// mfshell verify, the release gate: the real `bin/mfshell verify` runs a
// version of a fixture app in the real shell, in its own headless
// Chromium, against the worker's fixture server. The leaky legacy app
// fails with its leaks named; the clean React and Vue apps pass; the
// broken app fails with its error; a version whose colour changed fails
// the visual check, and its diff image shows the change in red; the same
// version against itself passes.

import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Page } from "@playwright/test";
import { bundleDir } from "../fixtures/build";
import { bin, uniqueVersion, type Server } from "../server";
import { expect, test } from "../test";

// A verify starts Chromium and makes tens of app switches.
test.describe.configure({ timeout: 90_000 });

// The CLI must not pick up a developer's MFSHELL_* settings.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MFSHELL_")));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// verify runs `mfshell verify` on server with the admin token; it resolves
// with the exit status and what it printed, whatever the status.
function verify(server: Server, args: string[]): Promise<Run> {
  const token = fs.readFileSync(path.join(server.data, "admin.token"), "utf8").trim();
  return new Promise((ok) =>
    execFile(
      bin,
      ["verify", "--server", server.url, ...args],
      { env: { ...env, MFSHELL_TOKEN: token }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => ok({ code: err ? (typeof err.code == "number" ? err.code : -1) : 0, stdout, stderr }),
    ),
  );
}

// show is a run's output, for failure messages.
const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

// The card's background in the react fixture (app.css, minified to #20232a
// in main.css), and the colour a new version changes it to.
const cardBackground = "#20232a";
const newBackground = "rgb(0, 128, 0)";

// publishRecoloured publishes a copy of the react fixture whose card has
// another background colour, under a new version, and returns it.
async function publishRecoloured(server: Server) {
  const version = uniqueVersion("green");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mfshell-e2e-verify-"));
  try {
    fs.cpSync(bundleDir("react"), dir, { recursive: true });
    const css = path.join(dir, "main.css");
    const text = fs.readFileSync(css, "utf8");
    expect(text).toContain(`background-color:${cardBackground}`);
    fs.writeFileSync(css, text.replace(`background-color:${cardBackground}`, `background-color:${newBackground}`));
    await server.publish("react", version, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return version;
}

// pixel returns the [r, g, b, a] of a PNG file at x, y, decoded in the page.
async function pixel(page: Page, file: string, x: number, y: number): Promise<number[]> {
  const data = fs.readFileSync(file).toString("base64");
  return page.evaluate(
    async ({ data, x, y }) => {
      const img = new Image();
      img.src = "data:image/png;base64," + data;
      await img.decode();
      const c = Object.assign(document.createElement("canvas"), { width: img.width, height: img.height });
      const g = c.getContext("2d")!;
      g.drawImage(img, 0, 0);
      return [...g.getImageData(x, y, 1, 1).data];
    },
    { data, x, y },
  );
}

test("the leaky legacy app fails, with its leaks named", async ({ server }, testInfo) => {
  const r = await verify(server, ["--app", "leaky", "--version", "1.0.0", "--other", "react", "--switches", "10", "--out", testInfo.outputPath("verify")]);
  expect(r.code, show(r)).toBe(1);
  // What it leaves at every unmount, which the shell releases for it.
  expect(r.stdout, show(r)).toContain(
    "FAIL leaks 3 listeners (window resize, document click, body keydown), 3 timers, 2 observers, 1 global (leakyGlobal), " +
      "2 nodes (head > style#leaky-style, body > div#leaky-toast) per unmount",
  );
  expect(r.stdout).toContain("(in 10 of 10 unmounts)");
  // Nothing else: no errors, no visual change against itself (the live version).
  expect(r.stdout).toMatch(/\nErrors\n {2}ok {3}none\n/);
  expect(r.stdout).toContain("\nVerdict: FAIL, 1 failure");
  expect(r.stderr).toContain("mfshell: verify leaky 1.0.0: failed, 1 failure (see the report)");
});

for (const [app, other] of [
  ["react", "vue"],
  ["vue", "react"],
]) {
  test(`the clean ${app} app passes`, async ({ server }, testInfo) => {
    const out = testInfo.outputPath("verify");
    const r = await verify(server, ["--app", app, "--version", "1.0.0", "--other", other, "--switches", "10", "--out", out, "--json"]);
    expect(r.code, show(r)).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ app, version: "1.0.0", other, mounted: true, pass: true, failures: [], errors: [] });
    expect(report.leaks).toMatchObject({ cycles: 10, failures: [], leakyUnmounts: 0, afterMax: { listeners: 0, timers: 0, observers: 0, globals: 0, nodes: 0 } });
    expect(report.leaks.listenersAfter).toEqual(report.leaks.listenersBefore);
    // Against the live version, itself: the same pixels.
    expect(report.visual).toMatchObject({ against: "1.0.0", failures: [], diff: { differing: 0 } });
    for (const f of Object.values(report.visual.files) as string[]) expect(fs.existsSync(f), f).toBe(true);
  });
}

test("the broken app fails with its error", async ({ server }, testInfo) => {
  const r = await verify(server, ["--app", "broken", "--version", "mount", "--other", "react", "--switches", "10", "--out", testInfo.outputPath("verify")]);
  expect(r.code, show(r)).toBe(1);
  // The shell mounted the live version instead: verify says why, and checks nothing on it.
  expect(r.stdout, show(r)).toContain(
    "FAIL mfshell:fallback: broken mount failed, and the shell mounted its fallback version instead: e2e: broken in mount",
  );
  expect(r.stdout).toContain("mounted     no (see Errors)");
  expect(r.stdout).toContain("Leaks: not measured");
  expect(r.stdout).toContain("Visual: not checked");
  expect(r.stderr).toContain("mfshell: verify broken mount: failed, 2 failures (see the report)");
});

test("a version with a changed colour fails the visual check, and its diff image shows the change", async ({ server, page }, testInfo) => {
  const version = await publishRecoloured(server);
  const out = testInfo.outputPath("verify");
  const r = await verify(server, ["--app", "react", "--version", version, "--against", "1.0.0", "--other", "vue", "--switches", "10", "--out", out, "--json"]);
  expect(r.code, show(r)).toBe(1);
  const report = JSON.parse(r.stdout);
  // Only the visual check fails: the new version is as clean as the old one.
  expect(report.leaks.failures).toEqual([]);
  expect(report.errors).toEqual([]);
  expect(report.failures).toHaveLength(1);
  expect(report.failures[0]).toMatch(new RegExp(`^visual: [\\d.]+% of the pixels differ from react 1\\.0\\.0 .*: see ${out}/react-diff\\.png$`));
  expect(report.visual.diff.percent).toBeGreaterThan(50); // the card's background is most of the element
  expect(report.visual.files).toEqual({
    version: path.join(out, `react-${version}.png`),
    against: path.join(out, "react-1.0.0.png"),
    diff: path.join(out, "react-diff.png"),
  });
  for (const f of Object.values(report.visual.files) as string[]) await testInfo.attach(path.basename(f), { path: f, contentType: "image/png" });

  // Inside the card (1rem of margin, a 5px border): the new colour, the
  // old one, and red in the diff; outside it, in the margin, the same
  // pixels, faded to grey in the diff.
  const [x, y] = [report.visual.diff.width / 2, 40];
  expect(await pixel(page, report.visual.files.version, x, y)).toEqual([0, 128, 0, 255]);
  expect(await pixel(page, report.visual.files.against, x, y)).toEqual([0x20, 0x23, 0x2a, 255]);
  expect(await pixel(page, report.visual.files.diff, x, y)).toEqual([255, 0, 0, 255]);
  const margin = await pixel(page, report.visual.files.diff, 4, 4);
  expect(margin[0]).toBe(margin[1]);
  expect(margin[1]).toBe(margin[2]);
});

test("the same version against itself passes the visual check", async ({ server }, testInfo) => {
  const version = await publishRecoloured(server);
  const out = testInfo.outputPath("verify");
  const r = await verify(server, ["--app", "react", "--version", version, "--against", version, "--other", "vue", "--switches", "10", "--out", out]);
  expect(r.code, show(r)).toBe(0);
  expect(r.stdout).toContain(`Visual: against react ${version}`);
  expect(r.stdout).toMatch(/differing pixels +0\.00% \(0 of \d+x\d+; the limit is 0\.5%\)/);
  expect(r.stdout).toContain("\nVerdict: PASS");
  expect(fs.existsSync(path.join(out, `react-${version}.png`))).toBe(true);
  expect(fs.existsSync(path.join(out, `react-${version}-against.png`))).toBe(true);
});
