// bench/size.mjs measures the runtime as a running mfshell serves it, beside
// the shipped builds of single-spa (ESM) and qiankun (UMD) from node_modules
// (devDependencies, exact versions): bytes as shipped (minified), gzip -9
// and brotli at maximum quality (Node's zlib), and each one's gzip size as a
// ratio to single-spa's.
//
//	node bench/size.mjs MFSHELL_URL OUT_JSON OUT_ROWS
//
// OUT_JSON gets {"rows": [...]}; OUT_ROWS gets the rows of the table that
// bench/run.sh prints, in its column order.

import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { createRequire } from "node:module";

const [url, outJSON, outRows] = process.argv.slice(2);
if (!url || !outJSON || !outRows) {
  console.error("usage: node bench/size.mjs MFSHELL_URL OUT_JSON OUT_ROWS");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const budgetGzip = 6 * 1024;

async function get(u) {
  const r = await fetch(u, { headers: { "Accept-Encoding": "identity" } });
  if (!r.ok) throw new Error(`GET ${u}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

// The page names the runtime: <script type="module" src="/_mfshell/shell.HASH.js">.
const page = (await get(url + "/")).toString("utf8");
const m = /<script type="module" src="(\/_mfshell\/shell\.[^"]+\.js)"/.exec(page);
if (!m) throw new Error(`GET ${url}/: no <script type="module" src="/_mfshell/shell.*.js"> in the page`);
const runtimePath = m[1];

// pkgFile returns a file of an installed package and the package's version.
function pkgFile(name, file) {
  const dir = path.dirname(require.resolve(name + "/package.json"));
  const version = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version;
  return { version, file: path.join(dir, file), bytes: fs.readFileSync(path.join(dir, file)) };
}
// single-spa's package.json "exports" "." default import; qiankun's UMD build
// (it has no ESM build that carries its dependencies).
const ss = pkgFile("single-spa", "lib/es2015/esm/single-spa.min.js");
const qk = pkgFile("qiankun", "dist/index.umd.min.js");

const sizes = (b) => ({
  minified: b.length,
  gzip: zlib.gzipSync(b, { level: 9 }).length,
  brotli: zlib.brotliCompressSync(b, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length },
  }).length,
});
const items = [
  { name: "mfshell", source: `GET ${runtimePath} (as served)`, ...sizes(await get(url + runtimePath)) },
  { name: `single-spa@${ss.version}`, source: "node_modules/single-spa/lib/es2015/esm/single-spa.min.js", ...sizes(ss.bytes) },
  { name: `qiankun@${qk.version}`, source: "node_modules/qiankun/dist/index.umd.min.js", ...sizes(qk.bytes) },
];
const ref = items[1];
const rows = items.map((it, i) => ({
  ...it,
  gzip_ratio_to_single_spa: +(it.gzip / ref.gzip).toFixed(3),
  brotli_ratio_to_single_spa: +(it.brotli / ref.brotli).toFixed(3),
  budget: i === 0 ? "Runtime at most 6 KiB gzip (6144 B)" : "-",
  verdict: i === 0 ? (it.gzip <= budgetGzip ? "met" : "missed") : "-",
}));
fs.writeFileSync(outJSON, JSON.stringify({ rows }, null, 2));

const kib = (n) => (n / 1024).toFixed(2);
fs.writeFileSync(
  outRows,
  rows
    .map(
      (r) =>
        `| size: ${r.name}, ${r.source} | ${r.minified} B min, **${r.gzip} B gzip -9 (${kib(r.gzip)} KiB)**, ${r.brotli} B brotli | single-spa: ${ref.gzip} B gzip, ${ref.brotli} B brotli | ${r.gzip_ratio_to_single_spa.toFixed(2)} (gzip), ${r.brotli_ratio_to_single_spa.toFixed(2)} (brotli) | - | - | ${r.budget} | ${r.verdict} |`,
    )
    .join("\n") + "\n",
);
