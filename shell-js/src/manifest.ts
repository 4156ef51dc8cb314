// The public manifest: where it comes from and what a path maps to.

import { get } from "./loader";
import type { Manifest } from "./mfshell";

/** inline returns the manifest the server inlined into the page, if any. */
export function inline(): Manifest | undefined {
  const s = document.getElementById("mfshell-manifest");
  return s ? JSON.parse(s.textContent!) : undefined;
}

/** fetchManifest fetches the current manifest, revalidating any cached copy; it rejects on HTTP error. */
export const fetchManifest = async (): Promise<Manifest> =>
  (await get("/_mfshell/manifest.json", { cache: "no-cache" })).json();

/**
 * route returns the app that owns path: the longest route that is path
 * itself or a prefix of it ending at a "/" (/catalog owns /catalog and
 * /catalog/x, not /catalogue; "/" owns only "/"). Apps with route "" are
 * not routed.
 */
export function route(m: Manifest, path: string): string | undefined {
  let best: string | undefined, n = 0;
  for (const [name, a] of Object.entries(m.apps)) {
    const r = a.route;
    if (r && r.length > n && (path == r || path.startsWith(r + "/"))) (best = name), (n = r.length);
  }
  return best;
}

/** prefix returns the absolute URL of app name's version directory on the CDN. */
export const prefix = (m: Manifest, name: string, version: string) =>
  new URL(`${m.cdn}${name}/${version}/`, location.href).href;
