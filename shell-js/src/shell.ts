// Shell composes the runtime: the manifest, one App per app, the tracker
// (teardown), the loader and stylesheets, the router, the change feed and
// window.mfshell. It is the delegate of every <NAME-app> element: an element
// in the document is an app to mount, wherever it is; the router only
// decides which element stands in the stage.

import { App, type Options } from "./app";
import { Bus, fire } from "./bus";
import { define, elementClass, type AppElement, type Delegate } from "./element";
import { notFound } from "./errorview";
import { Feed } from "./feed";
import { Loader } from "./loader";
import { fetchManifest, inline, route } from "./manifest";
import type { Manifest, Mfshell } from "./mfshell";
import { Router } from "./router";
import { Styles } from "./styles";
import { Tracker } from "./tracker";

/** Shell is the whole runtime of one page; start and stop are idempotent. */
export class Shell implements Delegate {
  declare manifest: Manifest;
  readonly apps = new Map<string, App>();
  readonly loader = new Loader();
  readonly styles = new Styles();
  readonly bus = new Bus();
  readonly tracker = new Tracker(
    () => this.apps.values(),
    (stack) => (stack.includes(new URL(this.manifest.cdn, location.href).href) ? this.routed : undefined),
  );
  readonly router = new Router((p, stale) => this.show(p, stale), (p) => !!route(this.manifest, p));
  readonly feed = new Feed("/_mfshell/events", (r) => this.update(r));
  declare readonly api: Mfshell;
  /** The app the stage is given to. */
  declare private routed?: App;
  private base = elementClass(this);
  private uq: Promise<unknown> = Promise.resolve();
  private on = false;

  declare readonly opts: Options;
  constructor(opts: Options) {
    this.opts = opts;
    const s = this, t = this.tracker, b = this.bus;
    this.api = {
      navigate: (p) => s.router.navigate(p),
      register: (n, l) => {
        const a = s.apps.get(n);
        if (a) a.reg = l;
      },
      // Handlers run with no current app, so that what they start is
      // attributed to their own app (by stack), not to the emitter.
      on: (type, f) => t.hold(b.on(type, f)),
      emit: (type, d) => t.as(undefined, () => b.emit(type, d)),
      store: {
        get: (k) => b.get(k),
        set: (k, v) => t.as(undefined, () => b.set(k, v)),
        subscribe: (f) => t.hold(b.subscribe(f)),
      },
      get manifest() {
        return s.manifest;
      },
      resources: (n) => s.apps.get(n)?.res.count(),
    };
  }

  async start() {
    if (this.on) return;
    this.on = true;
    this.manifest ??= inline() ?? (await fetchManifest());
    window.mfshell = this.api;
    this.tracker.start();
    this.define();
    this.router.start();
    this.feed.start();
  }

  /** stop ends routing, the feed and the patches; mounted apps stay as they are. */
  stop() {
    this.on = false;
    this.feed.stop();
    this.router.stop();
    this.tracker.stop();
  }

  connected(el: AppElement) {
    this.apps.get(el.localName.slice(0, -4))?.set(el);
  }

  disconnected(el: AppElement) {
    const a = this.apps.get(el.localName.slice(0, -4));
    if (a?.want == el) a.set(null);
  }

  // define gives every app of the manifest an App and its element.
  private define() {
    for (const n in this.manifest.apps) {
      this.apps.has(n) || this.apps.set(n, new App(n, this));
      define(n + "-app", this.base);
    }
  }

  // show gives the stage to the app that owns path: the old app is unmounted
  // and torn down first; the new one is mounted without waiting, so that a
  // newer navigation can overtake a slow load.
  private async show(path: string, stale: () => boolean) {
    const stage = document.getElementById("mfshell-stage");
    const n = route(this.manifest, path), a = n ? this.apps.get(n) : undefined, old = this.routed;
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
        this.define();
        fire("manifest", { revision: m.revision });
        // A path nobody owned may have an owner now.
        if (!this.routed) this.router.go();
      })
      .catch(reportError);
  }
}
