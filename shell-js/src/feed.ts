// The change feed: Server-Sent Events that carry the manifest revision. The
// browser reconnects by itself after a network error; if the stream is closed
// for good (an HTTP error), it is opened again with exponential backoff.

import { cancel, later } from "./tracker";

/** Feed calls changed(revision) for every revision the server announces. */
export class Feed {
  declare private es?: EventSource;
  declare private t?: ReturnType<typeof later>;
  private wait = 1e3;

  declare private url: string;
  declare private changed: (revision: number) => void;
  constructor(url: string, changed: (revision: number) => void) {
    this.url = url;
    this.changed = changed;
  }

  start() {
    if (this.es) return;
    cancel(this.t);
    const es = (this.es = new EventSource(this.url));
    es.addEventListener("manifest", (e) => this.changed(JSON.parse((e as MessageEvent).data).revision));
    es.onopen = () => (this.wait = 1e3);
    es.onerror = () => {
      if (es.readyState != 2) return; // CLOSED: the browser gave up
      this.stop();
      this.t = later(() => this.start(), this.wait);
      this.wait = Math.min(this.wait * 2, 6e4);
    };
  }

  stop() {
    this.es?.close();
    this.es = undefined;
    cancel(this.t);
  }
}
