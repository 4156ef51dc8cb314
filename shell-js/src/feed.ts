// The change feed: Server-Sent Events that carry the manifest revision. The
// browser reconnects by itself after a network error; if the stream is closed
// for good (an HTTP error), it is opened again with exponential backoff.

import { cancel, later } from "./tracker";

/** Feed starts and stops the stream; start and stop are idempotent. */
export interface Feed {
  start(): void;
  stop(): void;
}

/** feed calls changed(revision) for every revision the server announces at url. */
export function feed(url: string, changed: (revision: number) => void): Feed {
  let es: EventSource | undefined, t: ReturnType<typeof later> | undefined, wait = 1e3;
  const f = {
    start() {
      if (es) return;
      cancel(t);
      const s = (es = new EventSource(url));
      s.addEventListener("manifest", (e) => changed(JSON.parse((e as MessageEvent).data).revision));
      s.onopen = () => (wait = 1e3);
      s.onerror = () => {
        if (s.readyState != 2) return; // CLOSED: the browser gave up
        f.stop();
        t = later(f.start, wait);
        wait = Math.min(wait * 2, 6e4);
      };
    },
    stop() {
      es?.close();
      es = undefined;
      cancel(t);
    },
  };
  return f;
}
