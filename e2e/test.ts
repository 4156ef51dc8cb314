// The test object every spec uses: Playwright's, with
//   - fixtureServer (one per worker): mfshell serve on its own data folder,
//     the demo apps seeded and the fixture apps published and released;
//   - demoServer (one per worker, started only if a test asks): the demo
//     apps alone, as a newcomer sees them;
//   - server: the worker's fixture server, rolled back to its baseline
//     revision before each test (demoTest gives the demo server instead);
//   - shell: a Shell on the test's page, recording mfshell:* events;
//   - issues (automatic): every CSP violation (securitypolicyviolation, seen
//     in the page) and every uncaught page error fails the test, unless the
//     test allows it with issues.allow(pattern).

import { test as base, expect } from "@playwright/test";
import { Server } from "./server";
import { Shell } from "./shell";

declare global {
  interface Window {
    __e2eReport(kind: string, text: string): void;
  }
}

/** Issues collects what the page reported that no test should see. */
export class Issues {
  readonly found: string[] = [];
  readonly console: string[] = [];
  private allowed: RegExp[] = [];

  /** allow accepts issues matching pattern in this test. */
  allow(pattern: RegExp) {
    this.allowed.push(pattern);
  }

  /** unexpected returns the issues no allow matched. */
  unexpected() {
    return this.found.filter((f) => !this.allowed.some((p) => p.test(f)));
  }
}

// cspListener runs in every document before its own scripts.
function cspListener() {
  document.addEventListener("securitypolicyviolation", (e) =>
    window.__e2eReport(
      "csp",
      `${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"} at ${e.sourceFile}:${e.lineNumber} (${e.disposition})`,
    ),
  );
}

interface TestFixtures {
  server: Server;
  shell: Shell;
  issues: Issues;
}

interface WorkerFixtures {
  fixtureServer: Server;
  demoServer: Server;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  fixtureServer: [
    async ({}, use) => {
      const s = await Server.start({ fixtures: true });
      await use(s);
      await s.stop();
    },
    { scope: "worker", timeout: 60_000 },
  ],
  demoServer: [
    async ({}, use) => {
      const s = await Server.start({ fixtures: false });
      await use(s);
      await s.stop();
    },
    { scope: "worker", timeout: 60_000 },
  ],
  server: async ({ fixtureServer }, use) => {
    await fixtureServer.reset();
    await use(fixtureServer);
  },
  issues: [
    async ({ page }, use, testInfo) => {
      const issues = new Issues();
      await page.exposeBinding("__e2eReport", (_source, kind: string, text: string) => {
        issues.found.push(`${kind}: ${text}`);
      });
      await page.addInitScript(cspListener);
      page.on("pageerror", (e) => issues.found.push(`pageerror: ${e.stack ?? e.message}`));
      page.on("console", (m) => issues.console.push(`${m.type()}: ${m.text()}`));
      await use(issues);
      if (testInfo.status != testInfo.expectedStatus)
        await testInfo.attach("console", { body: issues.console.join("\n"), contentType: "text/plain" });
      expect(issues.unexpected(), "CSP violations and uncaught page errors").toEqual([]);
    },
    { auto: true },
  ],
  shell: async ({ page, server }, use) => {
    await Shell.install(page);
    await use(new Shell(page, server));
  },
});

/** demoTest is test on the demo-only server. */
export const demoTest = test.extend<{}>({
  server: async ({ demoServer }, use) => {
    await demoServer.reset();
    await use(demoServer);
  },
});

export { expect };
