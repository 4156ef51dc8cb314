// DOM helpers. Text always goes in as text nodes: no data ever reaches
// innerHTML, and listeners are attached with addEventListener (the page's
// CSP refuses inline handlers and style attributes).

export type Kid = Node | string | number | null | undefined | false;
type Attr = string | number | boolean | null | undefined | ((e: Event) => void);

/**
 * h makes an element. Attributes: a function is a listener ("onclick" →
 * click), true an empty attribute, false/null/undefined none, anything else
 * its string. Kids: nodes, or text.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Record<string, Attr> | null,
  ...kids: (Kid | Kid[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (typeof v == "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v != null && v !== false) el.setAttribute(k, String(v));
  }
  for (const k of kids.flat()) if (k != null && k !== false) el.append(typeof k == "number" ? String(k) : k);
  return el;
}

/** field labels control (which must have an id), with an optional hint it is described by. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLElement {
  const d = h("div", { class: "field" }, h("label", { for: control.id }, label), control);
  if (hint) {
    const id = control.id + "-hint";
    control.setAttribute("aria-describedby", id);
    d.append(h("p", { id, class: "hint" }, hint));
  }
  return d;
}

/** msg is the text of a thrown value. */
export const msg = (x: unknown): string => (x instanceof Error ? x.message : String(x));
