// The issues fixture, which fails every other test on a CSP violation or an
// uncaught page error, must itself see them: otherwise those tests could
// never fail for that reason.

import { expect, test } from "../test";

test("the issues guard sees CSP violations and uncaught page errors", async ({ shell, page, issues }) => {
  await shell.goto("/", "home");
  issues.allow(/^csp: script-src-attr blocked/);
  issues.allow(/^pageerror: Error: e2e: uncaught on purpose/);
  // An inline event handler attribute: blocked by script-src (no 'unsafe-inline').
  await page.evaluate(() => {
    const b = document.createElement("button");
    b.id = "e2e-inline";
    b.setAttribute("onclick", "window.e2eInlineRan = true");
    document.body.prepend(b);
    b.click();
  });
  await expect.poll(() => issues.found.filter((f) => f.startsWith("csp: script-src-attr blocked"))).toHaveLength(1);
  expect(await page.evaluate(() => (window as any).e2eInlineRan)).toBeUndefined();
  await page.evaluate(() => {
    queueMicrotask(() => {
      throw new Error("e2e: uncaught on purpose");
    });
  });
  await expect.poll(() => issues.found.filter((f) => f.startsWith("pageerror:"))).toHaveLength(1);
  expect(issues.unexpected()).toEqual([]);
});
