// Screenshots for the docs: `npm run screenshots` (or `make screenshots`)
// sets E2E_SCREENSHOTS to docs/screenshots/; otherwise they go to the
// test's output folder.

import path from "node:path";
import { test, type Page } from "@playwright/test";

/** screenshot takes a picture of page, without hover state, caret or animations, as NAME.png. */
export async function screenshot(page: Page, name: string) {
  const dir = process.env.E2E_SCREENSHOTS;
  const file = dir ? path.resolve(dir, name + ".png") : test.info().outputPath(name + ".png");
  await page.mouse.move(0, 0); // no hover state in the picture
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: file, animations: "disabled", caret: "hide" });
}
