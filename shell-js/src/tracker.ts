// Teardown: record the side effects of code we don't own, attribute each to
// an app, and release them when that app unmounts, even if its own unmount
// forgot. Works with native ES modules: no sandbox, only patches of the few
// entry points through which an app reaches the page outside its element.
//
// Attribution (BROWSER-NOTES §5): the "current app" while the shell runs one
// of its lifecycles; otherwise the bundle URL on the call stack (the prefix
// {cdn}{name}/{version}/, which also covers chunks); otherwise, if the stack
// shows code served from the CDN at all (a shared chunk no live version
// claims), the routed app. Code from anywhere else (the page's own scripts,
// test drivers, extensions) is never tracked, so teardown never takes away
// what is not an app's. The stack is only captured when no current app is
// known.
//
// What is tracked, and only at these entry points:
//   - listeners added to window, document and document.body (exact
//     target, type, listener and capture, so they can be removed);
//   - setTimeout/setInterval/requestAnimationFrame (a fired timeout or
//     frame removes itself), Mutation/Resize/Intersection/PerformanceObserver;
//   - nodes appended to document.head and document.body;
//   - own properties added to window (globals), document and body (expandos,
//     such as React's "already listening" marker), diffed from a snapshot
//     taken before each mount; a key several mounted apps lack in their
//     snapshots is the most recently mounted one's;
//   - mfshell.on handlers and store subscriptions (hold).
//
// Portals: under shadow isolation a node an app appends to body (a modal, a
// tooltip) is re-homed into the app's portal root, the shadow root of a host
// element in body that adopts the app's stylesheets; body.removeChild still
// removes it, and the app's body listeners also listen there (events from
// inside a shadow root reach body retargeted to its host). A body listener
// of such an app therefore runs twice for an event from its portal: once
// with the real target, once with the host.
//
// Two more patches make running code again safe: customElements.define of
// a name already defined is ignored, and document.getElementById and
// querySelector look into live apps' shadow roots when the document has no
// match.
//
// Not caught: listeners on other targets (elements, media queries,
// BroadcastChannel), requestIdleCallback, queueMicrotask and promise
// chains, fetch/XHR/WebSocket, workers, storage, nodes inserted by other
// means (innerHTML on body, insertAdjacentElement, before/after), globals
// set with let/const/class at a classic script's top level, and calls
// whose stack shows no CDN code (such as a callback defined in a vendor
// chunk on another host). Side effects of a module's top-level evaluation
// are released at the first unmount and, except globals and stylesheets,
// not re-created, since the module is not evaluated again: do such setup in
// mount.

type Fn = (...a: any[]) => any;
type Listener = [EventTarget, string, EventListenerOrEventListenerObject, boolean];

const ET = EventTarget.prototype;
/**
 * listen adds a listener the shell owns: the prototype method is never
 * patched. f may take the event it listens for (MouseEvent, ErrorEvent).
 */
export const listen = (t: EventTarget, type: string, f: (e: never) => void) => ET.addEventListener.call(t, type, f as EventListener);
export const unlisten = (t: EventTarget, type: string, f: EventListenerOrEventListenerObject | ((e: never) => void), c?: boolean) =>
  ET.removeEventListener.call(t, type, f as EventListener, c);
/** rawAppend appends a node the shell owns to head or body, untracked. */
export const rawAppend = (p: Node, n: Node) => Node.prototype.appendChild.call(p, n);
// The originals, captured before any patch, for the shell's own timers.
export const later = setTimeout;
export const cancel = clearTimeout;
const cancelFrame = cancelAnimationFrame;

const capture = (o: unknown) => (typeof o == "boolean" ? o : !!(o as AddEventListenerOptions)?.capture);
const find = (s: Set<Listener>, t: EventTarget, type: string, f: unknown, c: boolean) => {
  for (const l of s) if (l[0] == t && l[1] == type && l[2] == f && l[3] == c) return l;
};
// The objects whose added own properties are an app's: globals, then expandos.
const targets = () => [window, document, document.body] as any[];

/** Res is what one app holds: the side effects its teardown releases. */
export class Res {
  l = new Set<Listener>();
  /** timeouts and intervals */
  t = new Set<number>();
  /** animation frames */
  r = new Set<number>();
  o = new Set<{ disconnect(): void }>();
  n = new Set<Node>();
  /** undo functions of mfshell.on handlers and store subscriptions */
  u = new Set<() => void>();
  /** own keys of window, document and body before this mount */
  declare b?: Set<string>[];
  /** when b was taken */
  m = 0;
  /** globals saved at unmount, restored before the next mount of the same version */
  g = new Map<string, unknown>();
  /** stylesheet nodes removed at unmount, with the rules they had, put back before the next mount */
  k: [Node, Node, string[] | undefined][] = [];

  /** snap snapshots the own keys of window, document and body, before a mount. */
  snap() {
    this.b = targets().map((t) => new Set(Object.keys(t)));
    this.m = performance.now();
  }

  /** added returns the keys added to targets()[i] since snap; of those, a key that apps mounted later lack too is theirs. */
  private added(i: number) {
    const b = this.b?.[i], later = [...owners()].filter(({ res: r }) => r.b && r.m > this.m);
    return b ? Object.keys(targets()[i]).filter((k) => !b.has(k) && !later.some(({ res: r }) => !r.b![i].has(k))) : [];
  }

  /** count reports what the app holds now. */
  count() {
    return {
      listeners: this.l.size + this.u.size,
      timers: this.t.size + this.r.size,
      observers: this.o.size,
      globals: this.added(0).length,
      nodes: [...this.n].filter((n) => n.isConnected).length,
    };
  }

  /**
   * release removes everything the app holds and returns what that was.
   * With keep (an app whose code is not run again: a module or a registered
   * script), the values of its globals and its stylesheet nodes are saved
   * for restore. A <style> loses rules inserted through the CSSOM when it
   * leaves the document (PEERS B20), so those are saved as text.
   */
  release(keep: boolean) {
    const held = this.count();
    for (const l of this.l) unlisten(...l);
    for (const id of this.t) cancel(id);
    for (const id of this.r) cancelFrame(id);
    for (const o of this.o) o.disconnect();
    for (const f of this.u) f();
    for (const n of this.n) {
      if (!n.isConnected) continue;
      if (keep && (n as Element).matches?.("style,link[rel~=stylesheet]")) {
        const s = (n as HTMLStyleElement).sheet;
        this.k.push([n, n.parentNode!, s ? [...s.cssRules].map((r) => r.cssText) : undefined]);
      }
      (n as ChildNode).remove();
    }
    targets().forEach((t, i) => {
      for (const k of this.added(i)) {
        if (!i && keep) this.g.set(k, t[k]);
        // A `var` of a classic script cannot be deleted: blank it instead.
        Reflect.deleteProperty(t, k) || Reflect.set(t, k, undefined);
      }
    });
    this.l.clear(), this.t.clear(), this.r.clear(), this.o.clear(), this.n.clear();
    this.b = undefined;
    return held;
  }

  /** restore puts back the globals and stylesheets saved by release(true). */
  restore() {
    for (const [k, v] of this.g) Reflect.set(window, k, v);
    for (const [n, p, rules] of this.k) {
      rawAppend(p, n);
      this.n.add(n);
      const s = (n as HTMLStyleElement).sheet;
      if (rules && s && s.cssRules.length != rules.length) {
        while (s.cssRules.length) s.deleteRule(0);
        rules.forEach((r, i) => s.insertRule(r, i));
      }
    }
    this.g = new Map();
    this.k = [];
  }
}

/** Owner is an app as the tracker sees it. */
export interface Owner {
  res: Res;
  /** Absolute URL prefix of the app's loaded version, {cdn}{name}/{version}/. */
  pfx?: string;
  /** portal returns where the app's appends to document.body go (shadow isolation), if not body; with peek, only if it exists. */
  portal(peek?: unknown): ShadowRoot | undefined;
  /** query queries the app's shadow root, for document lookups that found nothing in the document. */
  query(selector: string): Element | null | undefined;
}

// cur is the app whose code the shell is calling right now.
let cur: Owner | undefined;
// Each patch: object, key, previous value, whether it was an own property.
let patches: [any, string, unknown, boolean][] = [];
// The apps, and the app to blame for CDN code no app claims; given to track.
let owners: () => Iterable<Owner>;
let guess: (stack: string) => Owner | undefined;

/** owner returns the app that is calling, or undefined if none can be told. */
function owner(): Owner | undefined {
  if (cur) return cur;
  // In V8, only the frames' URLs are read (prepareStackTrace): the usual
  // stack text would have V8 reparse each script on the stack for line and
  // column numbers (which it still does while DevTools are attached).
  const E = Error as any, limit = E.stackTraceLimit, prep = E.prepareStackTrace;
  E.stackTraceLimit = 8;
  E.prepareStackTrace = (_: unknown, c: any[]) => c.map((f) => f.getFileName()).join(" ");
  const s: string = Error().stack ?? "";
  E.stackTraceLimit = limit;
  E.prepareStackTrace = prep;
  let w: Owner | undefined, at = 1e9;
  // The innermost frame that belongs to an app wins.
  for (const a of owners()) {
    const i = a.pfx ? s.indexOf(a.pfx) : -1;
    if (i >= 0 && i < at) (at = i), (w = a);
  }
  return w ?? guess(s);
}

/** as runs f with o as the current app (undefined: attribute by stack). */
export function as<T>(o: Owner | undefined, f: () => T): T {
  const prev = cur;
  cur = o;
  try {
    return f();
  } finally {
    cur = prev;
  }
}

/** hold makes the calling app own undo (run at its unmount) and returns an undo that also lets go. */
export function hold(undo: () => void): () => void {
  const a = owner();
  if (!a) return undo;
  const off = () => {
    a.res.u.delete(off);
    undo();
  };
  a.res.u.add(off);
  return off;
}

/**
 * track installs the patches (untrack removes them); apps returns every
 * app, fallback the app that CDN code no app's prefix claims belongs to.
 */
export function track(apps: () => Iterable<Owner>, fallback: (stack: string) => Owner | undefined) {
  if (patches.length) return;
  owners = apps;
  guess = fallback;
  const w = window as any, d = document, body = d.body as any;
  const patch = (o: any, k: string, f: (old: any) => unknown) => {
    const old = o[k];
    if (!old) return;
    patches.push([o, k, old, Object.hasOwn(o, k)]);
    o[k] = f(old);
  };
  for (const o of targets()) {
    patch(o, "addEventListener", (add) => function (this: EventTarget, type: string, f: any, opt: any) {
      add.call(this, type, f, opt);
      // A listener that cannot be called (React's probe of passive
      // listener support) holds nothing: no stack to capture.
      const a = (typeof f == "function" || f?.handleEvent) && owner(), c = capture(opt), s: AbortSignal | undefined = opt?.signal;
      if (a && !s?.aborted && !find(a.res.l, this, type, f, c)) {
        const l: Listener = [this, type, f, c];
        a.res.l.add(l);
        s?.addEventListener("abort", () => a.res.l.delete(l));
        // A listener on body also listens in the app's portal root, where
        // events from re-homed nodes still have their real target: React
        // delegates a portal's events to its container, body, and finds
        // nothing at the retargeted host.
        if (this == body) a.portal()?.addEventListener(type, f, opt);
      }
    });
    patch(o, "removeEventListener", (rm) => function (this: EventTarget, type: string, f: any, opt: any) {
      rm.call(this, type, f, opt);
      const c = capture(opt);
      for (const a of apps()) {
        if (this == body) a.portal(1)?.removeEventListener(type, f, opt);
        const l = find(a.res.l, this, type, f, c);
        l && a.res.l.delete(l);
      }
    });
  }

  // A timeout or frame that fires lets go of itself; an interval is held until cleared.
  for (const [k, s, once] of [["setTimeout", "t", 1], ["setInterval", "t", 0], ["requestAnimationFrame", "r", 1]] as const)
    patch(w, k, (orig) => (f: unknown, ...x: unknown[]) => {
      const a = typeof f == "function" && owner();
      if (!a) return orig(f, ...x);
      const ids = a.res[s],
        id: number = orig(
          once
            ? (...y: unknown[]) => {
                ids.delete(id);
                f(...y);
              }
            : f,
          ...x,
        );
      ids.add(id);
      return id;
    });
  for (const [k, s] of [["clearTimeout", "t"], ["clearInterval", "t"], ["cancelAnimationFrame", "r"]] as const)
    patch(w, k, (orig) => (id: number) => {
      orig(id);
      for (const a of apps()) a.res[s].delete(id);
    });

  for (const k of ["Mutation", "Resize", "Intersection", "Performance"])
    patch(w, k + "Observer", (O: any) => class extends O {
      a = owner();
      observe(...x: unknown[]) {
        this.a?.res.o.add(this);
        return super.observe(...x);
      }
      disconnect() {
        this.a?.res.o.delete(this);
        return super.disconnect();
      }
    });

  // Nodes appended to head or body. Under shadow isolation a node appended
  // to body (a modal, a tooltip) goes to the app's portal root instead,
  // where the app's stylesheets apply.
  for (const o of [d.head, body])
    for (const k of ["appendChild", "insertBefore", "append", "prepend"])
      patch(o, k, (orig) => function (this: ParentNode, ...x: any[]) {
        const a = owner();
        if (!a) return orig.apply(this, x);
        const n = a.res.n;
        if (n.size > 64) for (const y of n) y.isConnected || n.delete(y);
        for (const y of k.length > 7 ? [x[0]] : x)
          if (y instanceof DocumentFragment) y.childNodes.forEach((z) => n.add(z));
          else if (y instanceof Node) n.add(y);
        const p: any = this == body && a.portal();
        if (!p) return orig.apply(this, x);
        if (k == "insertBefore" && x[1]?.parentNode != p) x[1] = null;
        return p[k](...x);
      });
  // So that an app's own body.removeChild(node) still works on a re-homed node.
  patch(body, "removeChild", (orig) => function (this: Node, n: Node) {
    const p = n?.parentNode as ShadowRoot | null;
    return p && p != this && (p.host as HTMLElement)?.dataset.mfshellPortal != null ? p.removeChild(n) : orig.call(this, n);
  });

  // Re-running is safe: a name defined again is ignored (legacy scripts
  // run again on every mount; apps define their own elements).
  patch(CustomElementRegistry.prototype, "define", (orig) => function (this: CustomElementRegistry, name: string, ...x: unknown[]) {
    this.get(name) || orig.call(this, name, ...x);
  });

  // A lookup by id or selector that finds nothing in the document also
  // searches the shadow roots of live apps: single-spa-vue mounts on
  // document.querySelector("#single-spa-application\:NAME ..."), legacy
  // scripts on document.getElementById, and both render in a shadow root.
  const pierce = (orig: Fn, sel: (x: string) => string) => function (this: Document, x: string) {
    const r = orig.call(this, x);
    if (r) return r;
    for (const a of apps()) {
      const e = a.query(sel(x));
      if (e) return e;
    }
    return null;
  };
  patch(d, "querySelector", (o) => pierce(o, (x) => x));
  patch(d, "getElementById", (o) => pierce(o, (x) => "#" + CSS.escape(x)));
}

/** untrack removes the patches. */
export function untrack() {
  for (const [o, k, v, own] of patches.reverse()) own ? (o[k] = v) : delete o[k];
  patches = [];
}
