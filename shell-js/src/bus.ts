// Events between apps and the shell: fire dispatches the shell's own DOM
// events on window; the rest is the cross-app event bus and the shared store.
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

// The event handlers by type, the store and its subscribers, of all apps.
const handlers = new Map<string, Set<Handler>>();
const data = new Map<string, unknown>();
const subscribers = new Set<Handler>();

/** on calls f(detail, type) on every emit of type, until the returned function is called. */
export function on(type: string, f: Handler) {
  const s = handlers.get(type) ?? new Set();
  handlers.set(type, s.add(f));
  return () => {
    s.delete(f);
  };
}

/** emit calls every handler of type with (detail, type). */
export const emit = (type: string, detail?: unknown) => call(handlers.get(type), detail, type);

/**
 * trigger emits the events of an Mfshell-Trigger: JSON of an object of
 * event types to details, or of an array of such objects; nothing for none.
 */
export const trigger = (json?: string | null) => {
  if (json) for (const o of [JSON.parse(json)].flat()) for (const t in o) emit(t, o[t]);
};

/** get and set read and write the store; set calls every subscriber with (key, value). */
export const get = (key: string) => data.get(key);

export function set(key: string, value: unknown) {
  data.set(key, value);
  call(subscribers, key, value);
}

/** subscribe calls f(key, value) on every set, until the returned function is called. */
export function subscribe(f: Handler) {
  subscribers.add(f);
  return () => {
    subscribers.delete(f);
  };
}
