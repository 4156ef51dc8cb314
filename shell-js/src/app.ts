// One app's life in the page, as an explicit state machine:
//
//   IDLE → LOADING → BOOTSTRAPPING → MOUNTING → MOUNTED → UNMOUNTING → IDLE
//                 ↘ (any failure) → BROKEN (error view; Retry → IDLE → LOADING)
//
// An App is told which element it should be mounted in (set) and converges
// to that, one step at a time; a mount that is no longer wanted when a step
// ends is undone quietly. Whatever fails (404, integrity, timeout, a throw
// at evaluation, in bootstrap or in mount) is unmounted, torn down, shown as
// an error view inside the app's own element and reported with
// mfshell:error; it is never thrown into the router.
//
// Versions: the manifest entry is read at each mount, so after a release the
// next mount runs the new version. A mounted app is not yanked mid-use when
// its version changes; it switches the next time it is mounted (the next
// navigation to it from another app).

import { fire } from "./bus";
import { fill, renderRoot, type AppElement } from "./element";
import { errorView } from "./errorview";
import { fragment, loadModule, loadScript } from "./loader";
import { prefix } from "./manifest";
import type { Lifecycles, Manifest, Mfshell, Props } from "./mfshell";
import { as, cancel, later, rawAppend, Res, type Owner } from "./tracker";
import { docSheets, style } from "./styles";

/** State is where an App is in its life; numbers, inlined by esbuild. */
export const enum State {
  IDLE,
  LOADING,
  BOOTSTRAPPING,
  MOUNTING,
  MOUNTED,
  UNMOUNTING,
  BROKEN,
}

/** Options are the shell's timeouts in milliseconds. */
export interface Options {
  /** loadTimeout bounds loading a bundle and its stylesheets. */
  loadTimeout: number;
  /** lifecycleTimeout bounds each of bootstrap, mount and unmount. */
  lifecycleTimeout: number;
}

/** Host is what an App needs from the shell. */
export interface Host {
  readonly manifest: Manifest;
  readonly api: Mfshell;
  readonly opts: Options;
}

type Fn = (p: Props) => unknown;

// Impl is a loaded version: its lifecycles, each a list run in order.
interface Impl {
  v: string;
  b: Fn[];
  m: Fn[];
  u: Fn[];
  /** a classic script that did not register: it runs again on every mount */
  legacy?: boolean;
  /** bootstrapped */
  booted?: boolean;
}

const fns = (x: unknown) => [x ?? []].flat().filter((f): f is Fn => typeof f == "function");

// impl reads single-spa lifecycles from a module namespace (or its default
// export) or from what a script registered.
function impl(x: any, v: string): Impl {
  const l = x?.mount ? x : x?.default;
  const m = fns(l?.mount);
  if (!m.length) throw Error("no mount lifecycle");
  return { v, b: fns(l.bootstrap), m, u: fns(l.unmount) };
}

function within<T>(p: Promise<T>, ms: number) {
  return new Promise<T>((ok, ko) => {
    const t = later(() => ko(Error(`timed out after ${ms} ms`)), ms);
    p.then(ok, ko).finally(() => cancel(t));
  });
}

/** App is one app of the manifest, mounted in at most one element at a time. */
export class App implements Owner {
  state = State.IDLE;
  declare readonly res: Res;
  declare readonly name: string;
  declare private h: Host;
  declare pfx?: string;
  /** The element it is mounted (or broken) in, and the one it should be. */
  el: AppElement | null = null;
  want: AppElement | null = null;
  /** The element the router puts in the stage for it. */
  declare se?: AppElement;
  /** What a classic script registered while it ran. */
  declare reg?: Lifecycles;
  declare private impl?: Impl;
  /** Its queue of mounts and unmounts: settled when the app is where it should be. */
  q: Promise<unknown> = Promise.resolve();
  /** mount was called: unmount is owed */
  private live = false;
  declare private props?: Props;
  declare private root?: HTMLElement;
  declare private sr?: ShadowRoot;
  /** the portal host in body (shadow isolation) */
  declare private ph?: HTMLElement;
  private sheets: CSSStyleSheet[] = [];
  /** sheets adopted by the document while mounted */
  private doc: CSSStyleSheet[] = [];

  constructor(name: string, h: Host) {
    this.name = name;
    this.h = h;
    this.res = new Res();
  }

  /** set makes el the element the app should be mounted in (null: none) and resolves once it is (or failed). */
  set(el: AppElement | null) {
    this.want = el;
    return (this.q = this.q.then(() => this.sync()).catch(reportError));
  }

  /** retry mounts a broken app again. */
  retry = () => {
    if (this.state == State.BROKEN) (this.el = null), this.set(this.want);
  };

  private async sync() {
    for (;;) {
      const s = this.state, w = this.want;
      if ((s == State.MOUNTED || s == State.BROKEN) && this.el != w) await this.unmount();
      else if (s == State.IDLE && w) await this.mount(w);
      else return;
    }
  }

  private life(f: Fn[]) {
    return within(
      (async () => {
        for (const g of f) await as(this, () => g(this.props!));
      })(),
      this.h.opts.lifecycleTimeout,
    );
  }

  // mount mounts the live version in el; when that fails (f, its error),
  // the app's fallback version instead, if it has one.
  private async mount(el: AppElement, f?: unknown): Promise<void> {
    const h = this.h, m = h.manifest, l = m.apps[this.name], e = f ? { ...l, ...l.fallback } : l, v = e?.version, load = h.opts.loadTimeout, t0 = performance.now();
    const iso = e?.isolation, shadow = iso != "scoped" && iso != "none", root = (this.root = renderRoot(el, shadow));
    const detail = { app: this.name, version: l?.version };
    const props = (this.props = { name: this.name, version: v, domElement: root, mfshell: h.api, hydrate: root.childNodes.length > 0 });
    this.el = el;
    this.state = State.LOADING;
    this.sr = shadow ? (root.parentNode as ShadowRoot) : undefined;
    try {
      if (!e) throw Error("not in the manifest");
      const pfx = (this.pfx = e.base ?? prefix(m, this.name, v)), res = this.res;
      // "" checks nothing: only a --dev server gives it, for a dev server's files.
      const sri = (f = "") => e.integrity[f] ?? (() => { throw Error("no integrity for " + f); })();
      let x = this.impl?.v == v ? this.impl : undefined;
      res.snap();
      if (!x) (res.g = new Map()), (res.k = []);
      else if (!x.legacy) res.restore();
      if (!props.hydrate && e.template) fill(root, e.template);
      // Every file's integrity is checked before anything is fetched.
      const css = e.styles.map((f) => (iso == "scoped" ? f.replace(/\.css$/, ".scoped.css") : f)).map((f) => [pfx + f, sri(f)]);
      if (e.format != "html") sri(e.entry);
      const [mod, sheets] = await within(
        Promise.all([!x && e.format == "module" && loadModule(pfx, e), Promise.all(css.map(([u, i]) => style(u, i)))]),
        load,
      );
      if (this.want != el) throw 0;
      this.sheets = sheets.map((s) => s.s);
      this.doc = shadow ? sheets.flatMap((s) => s.f ?? []) : this.sheets;
      this.share();
      docSheets(this.doc, []);
      // An html app has no bundle: its HTML comes from the server, inlined
      // in the page on a full load (hydrate), fetched on client navigation.
      if (e.format == "html") (x ??= { v, b: [], m: [], u: [] }), props.hydrate || fill(root, await within(fragment(this.name), load));
      else if (!x && mod) x = impl(mod, v);
      else if (!x || x.legacy) {
        // A classic script: its first run tells whether it registers; a
        // legacy one runs again, from scratch, on every mount.
        this.reg = undefined;
        await within(loadScript(pfx + e.entry, sri(e.entry)), load);
        x ??= this.reg ? impl(this.reg, v) : { v, b: [], m: [], u: [], legacy: true };
      }
      this.impl = x;
      if (this.want != el) throw 0;
      this.state = State.BOOTSTRAPPING;
      if (!x.booted) await this.life(x.b), (x.booted = true);
      this.state = State.MOUNTING;
      this.live = true;
      await this.life(x.m);
      if (this.want != el) throw 0;
      this.state = State.MOUNTED;
      fire(f ? "fallback" : "mounted", { ...detail, ms: performance.now() - t0, error: f });
      const mark = "mfshell:mounted:" + this.name;
      // One mark per app, the latest: the timeline does not grow with switches.
      performance.clearMarks(mark);
      performance.mark(mark);
    } catch (x) {
      await this.unmount();
      if (this.want != el) return;
      if (!f && l?.fallback) return this.mount(el, x);
      // Both failed: the live version's error is the one to show.
      const error = f ?? x;
      this.state = State.BROKEN;
      this.el = el;
      errorView(root, `${this.name} ${detail.version ?? ""} failed: ${(error as Error)?.message ?? error}`, this.retry);
      fire("error", { ...detail, error });
    }
  }

  private async unmount() {
    const s = this.state, x = this.impl, version = this.props?.version;
    this.state = State.UNMOUNTING;
    if (this.live) {
      this.live = false;
      try {
        await this.life(x!.u);
      } catch (error) {
        fire("error", { app: this.name, version, error });
      }
    }
    const cleaned = this.res.release(!x?.legacy);
    docSheets([], this.doc);
    this.doc = [];
    this.ph?.remove();
    this.ph = this.sr = undefined;
    this.el = null;
    this.root?.replaceChildren();
    this.state = State.IDLE;
    if (s == State.MOUNTED) fire("unmounted", { app: this.name, version, cleaned });
  }

  // share gives the app's sheets to its shadow root and portal root.
  private share() {
    for (const r of [this.sr, this.ph?.shadowRoot]) if (r) r.adoptedStyleSheets = this.sheets;
  }

  /** portal returns the root that takes the app's appends to body under shadow isolation. */
  portal(peek?: unknown) {
    if (!this.sr || peek) return this.ph?.shadowRoot ?? undefined;
    if (!this.ph) {
      const p = (this.ph = document.createElement("div"));
      p.dataset.mfshellPortal = this.name;
      p.attachShadow({ mode: "open" });
      this.share();
      rawAppend(document.body, p);
    }
    return this.ph.shadowRoot!;
  }

  query(selector: string) {
    return this.sr?.querySelector(selector);
  }
}
