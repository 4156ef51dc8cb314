// Routing: in-origin link clicks, mfshell.navigate and back/forward all end
// in one serialized queue of transitions; a transition that a newer one has
// overtaken is dropped, so a fast sequence ends on the last path.

import { listen, unlisten } from "./tracker";

/**
 * navigate pushes path and, like single-spa, dispatches popstate: the
 * shell routes on it, and a mounted app's own router sees the new URL.
 */
export function navigate(path: string) {
  const u = new URL(path, location.href);
  if (u.href != location.href) history.pushState(null, "", u);
  dispatchEvent(new PopStateEvent("popstate"));
}

/** Router turns URL changes into calls of show, one at a time. */
export class Router {
  /** Its queue of transitions: settled when the stage shows the last path asked for. */
  q: Promise<unknown> = Promise.resolve();
  private n = 0;
  private running = false;

  /**
   * show makes the page show path and is called one at a time; stale
   * reports whether a newer path is waiting. owns reports whether an app
   * owns path (other links are left to the browser).
   */
  declare private show: (path: string, stale: () => boolean) => Promise<void>;
  declare private owns: (path: string) => boolean;
  constructor(show: (path: string, stale: () => boolean) => Promise<void>, owns: (path: string) => boolean) {
    this.show = show;
    this.owns = owns;
  }

  start() {
    if (this.running) return;
    this.running = true;
    listen(document, "click", this.click);
    listen(window, "popstate", this.go);
    this.go();
  }

  stop() {
    this.running = false;
    unlisten(document, "click", this.click);
    unlisten(window, "popstate", this.go);
  }

  /** go queues a transition to the current path. */
  go = () => {
    const n = ++this.n, p = location.pathname;
    this.q = this.q
      .then(() => {
        if (n == this.n) return this.show(p, () => n != this.n);
      })
      .catch(reportError);
  };

  private click = (m: MouseEvent) => {
    if (m.defaultPrevented || m.button || m.metaKey || m.ctrlKey || m.shiftKey || m.altKey) return;
    // composedPath: the link may be inside an app's shadow root.
    const a = m.composedPath().find((x) => x instanceof HTMLAnchorElement) as HTMLAnchorElement | undefined;
    if (!a || (a.target && a.target != "_self") || a.hasAttribute("download") || !a.href) return;
    const u = new URL(a.href);
    if (u.origin != location.origin || (u.hash && u.pathname == location.pathname) || !this.owns(u.pathname)) return;
    m.preventDefault();
    navigate(u.href);
  };
}
