// The recorder of mfshell verify: evaluated in every document of its tabs
// before the page's own scripts (Page.addScriptToEvaluateOnNewDocument),
// so that its listeners are the page's, added before the runtime starts,
// and never an app's. It records every mfshell:* event (copies only: the
// log must not keep an app's objects alive) and every CSP violation, and
// gives verify a way to switch apps and wait for the runtime's answer.
//
// Its listeners (four on window, one on document) are there from the
// start, so they are in the baseline of the listener counts, never in a
// difference. It uses the timers the page had before the runtime patched
// them, so the shell never counts them as an app's.
//
// To tell what an app left behind from what the shell puts back for it,
// it also notes, during each cycle:
//   - which listeners of window, document and body the shell removed at
//     the app's unmount: EventTarget.prototype.removeEventListener is
//     wrapped (it passes every call on unchanged) and a removal whose call
//     stack shows no code from the CDN is the shell's teardown, not the app;
//   - which globals and which nodes (children of head and body, and of the
//     shell's portal roots) the app's mount added, and which of those are
//     the same values and nodes as at its previous mount: the globals and
//     stylesheets of a module's first evaluation, which the shell saves at
//     unmount and puts back, are not created again, so are no leak.
(() => {
  const later = setTimeout, cancel = clearTimeout, frame = requestAnimationFrame;
  const events = [], problems = [], waiters = [];
  const copy = (type, d) => {
    const err = d.error;
    return {
      type,
      app: d.app ?? "",
      version: d.version ?? "",
      error: err === undefined ? "" : String(err?.message ?? err) || String(err),
      cleaned: d.cleaned ? { ...d.cleaned } : undefined,
      ms: typeof d.ms == "number" ? d.ms : 0,
    };
  };

  // Removals of listeners by the shell, while an unmount of `watched` runs.
  let removals = null, watched = "";
  const name = (t) => (t === window ? "window" : t === document ? "document" : t != null && t === document.body ? "body" : "");
  const cdn = () => {
    try {
      return new URL(window.mfshell.manifest.cdn, location.href).href;
    } catch {
      return "\0";
    }
  };
  const proto = EventTarget.prototype, remove = proto.removeEventListener;
  proto.removeEventListener = function removeEventListener(type, f, o) {
    const n = removals && name(this);
    if (n && !String(Error().stack).includes(cdn())) removals.push(`${n} ${type}`);
    return remove.call(this, type, f, o);
  };

  let released = [];
  for (const type of ["mounted", "fallback", "unmounted", "error"])
    addEventListener("mfshell:" + type, (e) => {
      const d = e.detail ?? {};
      if (type == "unmounted" && d.app == watched && removals) (released = removals), (removals = null);
      events.push(copy(type, d));
      for (const w of [...waiters]) w();
    });
  document.addEventListener("securitypolicyviolation", (e) =>
    problems.push({
      kind: "csp",
      text: `${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"} at ${e.sourceFile || "(page)"}:${e.lineNumber} (${e.disposition})`,
    }),
  );

  // settled resolves with the first event from index from on of app that
  // ends a mount (mounted, fallback or error), or {type: "timeout"}.
  const settled = (app, from, ms) =>
    new Promise((ok) => {
      const check = () => {
        const e = events.slice(from).find((e) => e.app == app && e.type != "unmounted");
        if (!e) return false;
        done(e);
        return true;
      };
      const done = (e) => {
        cancel(t);
        const i = waiters.indexOf(check);
        if (i >= 0) waiters.splice(i, 1);
        ok(e);
      };
      const t = later(() => done({ type: "timeout", app, error: `no mfshell:mounted, mfshell:fallback or mfshell:error of ${app} within ${ms} ms` }), ms);
      waiters.push(check);
      check();
    });

  // go navigates to path and waits until app has mounted there (or failed).
  const go = (path, app, ms) => {
    const from = events.length;
    window.mfshell.navigate(path);
    return settled(app, from, ms);
  };

  const zero = { listeners: 0, timers: 0, observers: 0, globals: 0, nodes: 0 };
  const resources = (app) => ({ ...zero, ...window.mfshell?.resources(app) });

  // The nodes an app can leave: children of head and body (not the
  // shell's portal hosts), and of the portal roots.
  const nodes = () => {
    const out = [];
    for (const [where, p] of [["head", document.head], ["body", document.body]])
      for (const n of p.children) n.hasAttribute("data-mfshell-portal") || out.push([where, n]);
    for (const h of document.querySelectorAll("[data-mfshell-portal]")) for (const n of h.shadowRoot?.children ?? []) out.push(["portal", n]);
    return out;
  };
  const describe = ([where, n]) => `${where} > ${n.localName}${n.id ? "#" + n.id : n.classList[0] ? "." + n.classList[0] : ""}`;
  // What the app's previous mount added, to tell what is put back from
  // what is new. Values of the app's globals are kept one cycle.
  let seenGlobals = new Map(), seenNodes = new WeakSet(), cycles = 0;

  Object.defineProperty(window, "__mfshellVerify", {
    value: {
      // first waits for the first mount of app in this document; it
      // returns its outcome and the events so far, which it drops.
      first: async (app, ms) => {
        const result = await settled(app, 0, ms);
        return { result, events: events.splice(0) };
      },
      // cycle unmounts app (switching to other) and mounts it again; it
      // returns what app held before and after its unmount, the
      // listeners the shell removed for it, what its mount added anew and
      // put back, the two switches' outcomes, and the events since the
      // last call, which it drops so that the log does not grow.
      cycle: async (app, route, other, otherRoute, ms) => {
        const held = resources(app);
        (removals = []), (released = []), (watched = app);
        const away = await go(otherRoute, other, ms);
        removals = null;
        const after = resources(app), shellRemoved = released;
        released = [];
        const keys0 = new Set(Object.keys(window)), nodes0 = new Set(nodes().map(([, n]) => n));
        const back = away.type == "timeout" ? away : await go(route, app, ms);
        const fresh = { globals: [], nodes: [] }, restored = { globals: 0, nodes: 0 };
        if (back.type == "mounted") {
          const globals = new Map();
          for (const k of Object.keys(window)) {
            if (keys0.has(k)) continue;
            const v = window[k];
            globals.set(k, v);
            if (seenGlobals.has(k) ? seenGlobals.get(k) === v : !cycles) restored.globals++;
            else fresh.globals.push(k);
          }
          seenGlobals = globals;
          for (const e of nodes()) {
            if (nodes0.has(e[1])) continue;
            if (seenNodes.has(e[1])) restored.nodes++;
            else if (cycles) fresh.nodes.push(describe(e));
            seenNodes.add(e[1]);
          }
        }
        cycles++;
        return { held, after, released: shellRemoved, fresh, restored, away, back, events: events.splice(0) };
      },
      drain: () => ({ events: events.splice(0), problems: problems.splice(0) }),
      resources,
      // elements counts the elements of the document (shadow roots not
      // included): what no teardown released piles up there.
      elements: () => document.getElementsByTagName("*").length,
      // settle resolves once fonts are loaded and two frames have been drawn.
      settle: async () => {
        await document.fonts.ready;
        await new Promise((ok) => frame(() => frame(ok)));
      },
      // box returns the page rectangle of app's element: the one in the
      // stage, else the first in the document; the stage when the element
      // has no size of its own.
      box: (app) => {
        const el = document.querySelector(`#mfshell-stage > ${app}-app`) ?? document.querySelector(`${app}-app`);
        if (!el) return null;
        let r = el.getBoundingClientRect();
        if (r.width < 1 || r.height < 1) r = document.getElementById("mfshell-stage")?.getBoundingClientRect() ?? r;
        return { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height };
      },
      // hideBadge hides the override badge, which only one of the two
      // screenshots would otherwise show.
      hideBadge: () => {
        const b = document.getElementById("mfshell-override");
        if (b) b.style.display = "none";
      },
    },
  });
})();
