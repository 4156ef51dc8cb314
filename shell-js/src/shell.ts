// Shell composes the runtime: the manifest, one App per app, the tracker
// (teardown), the loader and stylesheets, the router, the change feed and
// window.mfshell. It is the delegate of every <NAME-app> element: an element
// in the document is an app to mount, wherever it is; the router only
// decides which element stands in the stage.
//
// One runtime runs per document, and it patches the document's globals
// (see tracker.ts): the loader, stylesheet cache, bus and tracker keep
// their state in their modules, which is the page's state, not a
// process-wide one.

import { App, type Options } from "./app";
import { emit, fire, get, on, set, subscribe, trigger } from "./bus";
import { define, elementClass, type AppElement, type Delegate } from "./element";
import { notFound } from "./errorview";
import { feed } from "./feed";
import { fetchManifest, inline, route } from "./manifest";
import type { Manifest, Mfshell } from "./mfshell";
import { navigate, Router } from "./router";
import { as, hold, track, untrack } from "./tracker";

/** Shell is the whole runtime of one page; start and stop are idempotent. */
export class Shell implements Delegate {
  declare manifest: Manifest;
  readonly byName = new Map<string, App>();
  readonly router = new Router((p, stale) => this.show(p, stale), (p) => !!route(this.manifest, p));
  readonly feed = feed("/_mfshell/events", (r) => this.update(r));
  declare readonly api: Mfshell;
  /** The app the stage is given to. */
  declare private routed?: App;
  private cls = elementClass(this);
  private uq: Promise<unknown> = Promise.resolve();
  private running = false;

  declare readonly opts: Options;
  constructor(opts: Options) {
    this.opts = opts;
    const s = this;
    this.api = {
      navigate,
      register: (n, l) => {
        const a = s.byName.get(n);
        if (a) a.reg = l;
      },
      // Handlers run with no current app, so that what they start is
      // attributed to their own app (by stack), not to the emitter.
      on: (type, f) => hold(on(type, f)),
      emit: (type, d) => as(undefined, () => emit(type, d)),
      store: {
        get,
        set: (k, v) => as(undefined, () => set(k, v)),
        subscribe: (f) => hold(subscribe(f)),
      },
      get manifest() {
        return s.manifest;
      },
      resources: (n) => s.byName.get(n)?.res.count(),
    };
  }

  async start() {
    if (this.running) return;
    this.running = true;
    this.manifest ??= inline() ?? (await fetchManifest());
    // Tracking starts before anything can reach window.mfshell or an App.
    track(
      () => this.byName.values(),
      (stack) => (stack.includes(new URL(this.manifest.cdn, location.href).href) ? this.routed : undefined),
    );
    window.mfshell = this.api;
    this.defineAll();
    this.router.start();
    this.feed.start();
    // The events of the page's server fragments, once its apps have mounted
    // (or failed), so that they can hear them.
    await this.router.q;
    await Promise.all([...this.byName.values()].map((a) => a.q));
    trigger(document.getElementById("mfshell-trigger")?.textContent);
  }

  /** stop ends routing, the feed and the patches; mounted apps stay as they are. */
  stop() {
    this.running = false;
    this.feed.stop();
    this.router.stop();
    untrack();
  }

  connected(el: AppElement) {
    this.byName.get(el.localName.slice(0, -4))?.set(el);
  }

  disconnected(el: AppElement) {
    const a = this.byName.get(el.localName.slice(0, -4));
    if (a?.want == el) a.set(null);
  }

  // defineAll gives every app of the manifest an App and its element.
  private defineAll() {
    for (const n in this.manifest.apps) {
      this.byName.has(n) || this.byName.set(n, new App(n, this));
      define(n + "-app", this.cls);
    }
  }

  // show gives the stage to the app that owns path: the old app is unmounted
  // and torn down first; the new one is mounted without waiting, so that a
  // newer navigation can overtake a slow load.
  private async show(path: string, stale: () => boolean) {
    const stage = document.getElementById("mfshell-stage");
    const n = route(this.manifest, path), a = n ? this.byName.get(n) : undefined, old = this.routed;
    if (!stage || (a && a == old)) return;
    if (old) await old.set(null), (this.routed = undefined);
    if (stale()) return;
    this.routed = a;
    // The page's navigation shows which app is current.
    for (const l of document.querySelectorAll<HTMLAnchorElement>("#mfshell-nav a"))
      n && route(this.manifest, l.pathname) == n ? l.setAttribute("aria-current", "page") : l.removeAttribute("aria-current");
    const tag = n + "-app";
    stage.replaceChildren(a ? (a.se ??= stage.querySelector<AppElement>(":scope>" + tag) ?? document.createElement(tag)) : notFound(path));
  }

  // update fetches a manifest newer than the page's. Elements are defined
  // for new apps; a mounted app keeps its version until it is mounted again.
  private update(revision: number) {
    this.uq = this.uq
      .then(async () => {
        if (revision <= this.manifest.revision) return;
        const m = await fetchManifest();
        if (m.revision <= this.manifest.revision) return;
        this.manifest = m;
        this.defineAll();
        fire("manifest", { revision: m.revision });
        // A path nobody owned may have an owner now.
        if (!this.routed) this.router.go();
      })
      .catch(reportError);
  }
}
