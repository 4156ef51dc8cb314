// The custom elements. Custom elements can never be redefined (BROWSER-NOTES
// §8), so each <NAME-app> is defined once, by a trivial subclass of one
// stable class whose callbacks ask a delegate, the shell, what to do: the
// versions of the app are loaded inside the element, never into its class.

/** AppElement is a <NAME-app>; c is its container in the shadow root. */
export type AppElement = HTMLElement & { c?: HTMLElement };

/** Delegate decides what a <NAME-app> element entering or leaving the document means. */
export interface Delegate {
  connected(el: AppElement): void;
  disconnected(el: AppElement): void;
}

/** elementClass returns the stable base class of every app element. */
export function elementClass(d: Delegate): CustomElementConstructor {
  return class extends HTMLElement {
    connectedCallback() {
      d.connected(this);
    }
    disconnectedCallback() {
      d.disconnected(this);
    }
  };
}

/** define defines tag as a subclass of base, unless tag is already defined. */
export function define(tag: string, base: CustomElementConstructor) {
  customElements.get(tag) || customElements.define(tag, class extends base {});
}

/**
 * renderRoot returns where the app renders inside el: under shadow
 * isolation a new container div in el's open shadow root, otherwise el
 * itself. On the first mount, a declarative shadow root from the server is
 * kept, its content moved into the container so it can be hydrated, except
 * the stylesheet links the server put before it, which keep styling it
 * until the app's own sheets are adopted. The container is new on every
 * mount because frameworks mark it (React: "already listening") and
 * teardown removed what the mark stands for.
 */
export function renderRoot(el: AppElement, shadow: boolean): HTMLElement {
  if (!shadow) return el;
  const r = el.shadowRoot ?? el.attachShadow({ mode: "open" }), c = document.createElement("div");
  if (el.c) r.replaceChildren(c);
  else c.append(...[...r.childNodes].filter((n) => n.nodeName != "LINK")), r.append(c);
  el.c = c;
  return c;
}

/** fill replaces root's content with html, which comes from the manifest (trusted). */
export function fill(root: ParentNode, html: string) {
  const t = document.createElement("template");
  t.innerHTML = html;
  root.replaceChildren(t.content);
}
