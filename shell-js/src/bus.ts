// Events between apps and the shell: fire dispatches the shell's own DOM
// events on window; Bus is the cross-app event bus and the shared store.
// Which app owns a handler (so that it goes when the app unmounts) is the
// tracker's business, not the bus's.

/**
 * fire dispatches mfshell:TYPE on window, the one way the shell tells the
 * page something. What happens to an app (mounted, error, unmounted) also
 * goes to the server as a beacon, for its per-version metrics.
 */
export const fire = (type: string, detail: any) => {
  dispatchEvent(new CustomEvent("mfshell:" + type, { detail, bubbles: true }));
  detail.app && navigator.sendBeacon("/_mfshell/beacon", JSON.stringify({ ...detail, outcome: type, error: void 0 }));
};

type Handler = (...a: any[]) => void;

// call runs every handler; one that throws is reported and does not stop the others.
function call(fs: Set<Handler> | undefined, ...a: unknown[]) {
  for (const f of [...(fs ?? [])])
    try {
      f(...a);
    } catch (e) {
      reportError(e);
    }
}

/** Bus holds the event handlers and the store of all apps. */
export class Bus {
  private h = new Map<string, Set<Handler>>();
  private d = new Map<string, unknown>();
  private s = new Set<Handler>();

  /** on calls f(detail, type) on every emit of type, until the returned function is called. */
  on(type: string, f: Handler) {
    const s = this.h.get(type) ?? new Set();
    this.h.set(type, s.add(f));
    return () => {
      s.delete(f);
    };
  }

  emit(type: string, detail?: unknown) {
    call(this.h.get(type), detail, type);
  }

  get(key: string) {
    return this.d.get(key);
  }

  set(key: string, value: unknown) {
    this.d.set(key, value);
    call(this.s, key, value);
  }

  /** subscribe calls f(key, value) on every set, until the returned function is called. */
  subscribe(f: Handler) {
    this.s.add(f);
    return () => {
      this.s.delete(f);
    };
  }
}
