// Loading bundles, integrity always checked (BROWSER-NOTES §1-4):
//   - module: the import map's `integrity` is the check. The page's inline
//     map lists every JS file of every version live when it was rendered; a
//     version that arrives later gets its own map appended before import().
//   - script: a classic <script> with `integrity` and `crossorigin`.
// Every element inserted gets the page's nonce (read from .nonce: the
// attribute reads as "" once parsed).

import { trigger } from "./bus";
import type { AppEntry } from "./mfshell";
import { listen, rawAppend, unlisten } from "./tracker";

// Module URLs whose integrity an import map on the page already gives.
let seen: Set<string> | undefined;
// Failed imports by entry URL: Chromium keeps a module whose fetch failed
// (a 404) in its module map, so a retry imports the entry under a new URL.
const fails: Record<string, number> = {};

function insert(setup: (s: HTMLScriptElement) => void) {
  const s = document.createElement("script");
  s.nonce = document.querySelector<HTMLScriptElement>("script[nonce]")?.nonce ?? "";
  setup(s);
  rawAppend(document.head, s);
  return s;
}

/** loadModule imports e's entry under pfx, first adding an import map with the integrity of that version's JS files unless one already has it. */
export function loadModule(pfx: string, e: AppEntry): Promise<unknown> {
  const known = (seen ??= scan()), add: Record<string, string> = {}, entry = pfx + e.entry, n = fails[entry];
  const url = n ? entry + "?mfshell-retry=" + n : entry;
  for (const [f, sri] of Object.entries(e.integrity)) {
    const u = pfx + f;
    if (/\.m?js$/.test(f) && !known.has(u)) known.add(u), (add[u] = sri);
  }
  if (n) add[url] = e.integrity[e.entry!];
  if (Object.keys(add).length)
    insert((s) => {
      s.type = "importmap";
      s.textContent = JSON.stringify({ integrity: add });
    });
  return import(url).catch((x) => {
    fails[entry] = (n || 0) + 1;
    throw x;
  });
}

/** loadScript runs the classic script at url; it rejects if the script fails to load or throws at its top level. */
export function loadScript(url: string, integrity: string) {
  return new Promise<void>((ok, ko) => {
    let thrown: unknown;
    const caught = (x: ErrorEvent) => {
      if (x.filename == url) thrown = x.error ?? Error(x.message);
    };
    const done = (err?: unknown) => {
      unlisten(window, "error", caught);
      s.remove();
      err ?? thrown ? ko(err ?? thrown) : ok();
    };
    listen(window, "error", caught);
    const s = insert((s) => {
      s.src = url;
      s.integrity = integrity;
      s.crossOrigin = "anonymous";
      s.onload = () => done();
      s.onerror = () => done(Error("could not load " + url));
    });
  });
}

/** get fetches url; it rejects on network failure, integrity mismatch or an HTTP error status. */
export async function get(url: string, init?: RequestInit) {
  const r = await fetch(url, init);
  if (!r.ok) throw Error(`${url}: HTTP ${r.status}`);
  return r;
}

/** fragment returns the server-rendered HTML of an html-format app for the current path, after emitting the events of its Mfshell-Trigger. */
export async function fragment(name: string) {
  const r = await get(`/_mfshell/fragment/${name}?path=${encodeURIComponent(location.pathname)}`);
  trigger(r.headers.get("mfshell-trigger"));
  return r.text();
}

// scan collects the integrity keys of the import maps in the page.
function scan() {
  const seen = new Set<string>();
  for (const m of document.querySelectorAll("script[type=importmap]"))
    try {
      for (const k in JSON.parse(m.textContent!).integrity) seen.add(new URL(k, location.href).href);
    } catch {
      // Not JSON: the browser rejected this map too, so it covers nothing.
    }
  return seen;
}
