// Stylesheets: each file is fetched once, with its integrity, and built into
// one constructed CSSStyleSheet that every root adopting it shares (as lit
// does). Under shadow isolation the app's sheets are adopted by its shadow
// root; @font-face and @property are ignored inside shadow roots
// (BROWSER-NOTES §6), so those rules are also lifted into a second sheet that
// the document adopts while the app is mounted.
//
// The shell does not rewrite selectors: in a shadow root :root, html and body
// match nothing, so a stylesheet meant for shadow isolation styles the app's
// element with :host. (Scoped isolation gets X.scoped.css from the publish
// step, where those selectors are already mapped to the element.)

import { get } from "./loader";

/** Sheet is one stylesheet file: its rules, and its lifted font rules if any. */
export interface Sheet {
  s: CSSStyleSheet;
  f?: CSSStyleSheet;
}

// The sheets loaded or loading, by URL.
const cache = new Map<string, Promise<Sheet>>();

/** style returns the sheet at url, fetched with integrity once; it rejects on HTTP error, integrity mismatch or network failure. */
export function style(url: string, integrity: string): Promise<Sheet> {
  let p = cache.get(url);
  if (!p) {
    cache.set(url, (p = load(url, integrity)));
    // Not caching a failure lets Retry fetch again; the caller gets the error from p.
    p.catch(() => cache.delete(url));
  }
  return p;
}

async function load(url: string, integrity: string): Promise<Sheet> {
  const s = sheet(url, await (await get(url, { integrity, mode: "cors" })).text());
  const lifted = [...s.cssRules].map((r) => r.cssText).filter((t) => /^@(font-face|property)/.test(t));
  return { s, f: lifted.length ? sheet(url, lifted.join("")) : undefined };
}

// sheet builds a stylesheet whose relative url()s resolve against the file
// at base, not the page: Chromium ignores CSSStyleSheet's baseURL option for
// url(), so they are made absolute first.
function sheet(base: string, text: string) {
  const s = new CSSStyleSheet();
  s.replaceSync(text.replace(/url\(\s*(["']?)([^"')]+)\1\s*\)/g, (_, q, u) => `url(${q}${new URL(u, base)}${q})`));
  return s;
}

/** docSheets removes rm from and adds add to the document's adopted stylesheets. */
export function docSheets(add: CSSStyleSheet[], rm: CSSStyleSheet[]) {
  document.adoptedStyleSheets = [...document.adoptedStyleSheets.filter((s) => !rm.includes(s)), ...add];
}
