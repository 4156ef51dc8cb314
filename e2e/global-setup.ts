// Before any worker starts: the binary under test must exist (make e2e
// builds it), and the fixture apps are built once into e2e/.build/.

import fs from "node:fs";
import { buildFixtures } from "./fixtures/build";
import { bin } from "./server";

export default async function globalSetup() {
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run "make build" (or "make e2e", which builds it)`);
  await buildFixtures();
}
