// The action dialog: the action's inputs and a reason, then a review of the
// exact change (the server's own answer to a dry run of the request) and
// the request, then Confirm. A modal <dialog> keeps focus inside; Escape
// closes it; focus returns to the control that opened it.

import { field, h, msg, type Kid } from "./dom";

/** Plan is one API request. */
export interface Plan {
  method: string;
  path: string;
  body: unknown;
}

export interface Action {
  title: string;
  /** fields are the action's labelled inputs, or text about it. */
  fields?: Kid[];
  /** plan returns the request the inputs make, or why they make none. */
  plan(): Plan | string;
}

/** Send runs a plan decided on revision rev; what it throws is shown in the dialog. */
export type Send = (p: Plan, reason: string, rev: number) => Promise<void>;

/** Preview returns what a plan would change on revision rev, for people, without changing it; what it throws is shown in the dialog. */
export type Preview = (p: Plan, reason: string, rev: number) => Promise<string[]>;

export const dialog = h("dialog", { "aria-labelledby": "dlg-title" });
let opener = ""; // id of the control to focus once the dialog closes
dialog.addEventListener("close", () => document.getElementById(opener)?.focus());

/** open shows action a, opened by the control with id from, on revision rev. */
export function open(a: Action, from: string, rev: number, send: Send, preview: Preview): void {
  opener = from;
  const err = h("p", { role: "alert", class: "error" });
  const reason = h("input", { id: "dlg-reason", type: "text", required: true, maxlength: 500, autocomplete: "off" });
  const cancel = () => h("button", { type: "button", onclick: () => dialog.close() }, "Cancel");
  const change = h("ul", { class: "diff" });
  const req = h("pre");
  const confirm = h("button", { type: "button", class: "primary" }, "Confirm");
  const edit: HTMLFormElement = h(
    "form",
    null,
    a.fields,
    field("Reason (recorded in the history)", reason),
    h("div", { class: "buttons" }, h("button", { class: "primary" }, "Review change"), cancel()),
  );
  const review = h(
    "div",
    { hidden: true },
    h("h3", null, "Change"),
    change,
    h("h3", null, "Request"),
    req,
    h("div", { class: "buttons" }, confirm, h("button", { type: "button", onclick: () => step(false) }, "Back"), cancel()),
  );
  const step = (reviewing: boolean) => {
    edit.hidden = reviewing;
    review.hidden = !reviewing;
    (reviewing ? confirm : reason).focus();
  };
  let plan: Plan | undefined, why = "";

  edit.addEventListener("submit", async (e) => {
    e.preventDefault(); // the CSP has form-action 'none': nothing is submitted
    const p = a.plan();
    why = reason.value.trim();
    err.textContent =
      typeof p == "string" ? p : new TextEncoder().encode(why).length > 500 ? "The reason is longer than 500 bytes." : "";
    if (typeof p == "string" || err.textContent) return;
    let l: string[];
    try {
      l = await preview(p, why, rev);
    } catch (x) {
      err.textContent = msg(x);
      return;
    }
    plan = p;
    change.replaceChildren(...(l.length ? l : ["No change: it is so already."]).map((x) => h("li", null, x)));
    req.textContent = `${p.method} /api/v1${p.path}\nIf-Match: "${rev}"\nMfshell-Reason: ${why}\n\n${JSON.stringify(p.body, null, 2)}`;
    step(true);
  });

  confirm.addEventListener("click", async () => {
    if (!plan) return;
    const buttons = review.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    confirm.textContent = "Sending…";
    err.textContent = "";
    try {
      await send(plan, why, rev);
      dialog.close();
    } catch (x) {
      err.textContent = msg(x);
    }
    buttons.forEach((b) => (b.disabled = false));
    confirm.textContent = "Confirm";
    if (dialog.open) confirm.focus(); // disabling it lost the focus
  });

  dialog.replaceChildren(h("h2", { id: "dlg-title" }, a.title), edit, review, err);
  dialog.showModal();
}
