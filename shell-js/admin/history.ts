// The history: revisions newest first, each with its actor, reason and a
// readable diff, and a rollback button (admin tokens only, as the server).

import type { Revision, Token } from "./api";
import { h } from "./dom";
import { lines, when } from "./format";

export interface HistoryView {
  revisions: Revision[];
  more: boolean;
  current: number;
  token: Token;
}

export function history(v: HistoryView, rollback: (r: Revision, from: string) => void, more: () => void): HTMLElement {
  const admin = v.token.apps.includes("*");
  return h(
    "section",
    { "aria-labelledby": "history-h" },
    h("h2", { id: "history-h" }, "History"),
    !admin &&
      h("p", { id: "why-rollback", class: "note" }, `Token ${v.token.name} may not roll back: a rollback changes every app and needs an admin token.`),
    h(
      "ol",
      { class: "history" },
      v.revisions.map((r) => {
        const diff = lines(r.changes);
        const id = `rollback-${r.revision}`;
        return h(
          "li",
          { id: `rev-${r.revision}`, tabindex: -1 },
          h("h3", null, `Revision ${r.revision}`, r.revision == v.current && h("span", { class: "tag live" }, "current")),
          h("p", { class: "meta" }, h("time", { datetime: r.time }, when(r.time)), " by ", h("strong", null, r.actor || "unknown")),
          h("p", { class: "reason" }, r.reason ? `Reason: ${r.reason}` : "No reason given."),
          diff.length ? h("ul", { class: "diff" }, diff.map((l) => h("li", null, l))) : h("p", { class: "hint" }, "No change."),
          r.revision != v.current &&
            h(
              "button",
              { type: "button", id, disabled: !admin, "aria-describedby": admin ? null : "why-rollback", onclick: () => rollback(r, id) },
              `Roll back to revision ${r.revision}…`,
            ),
        );
      }),
    ),
    v.more && h("button", { type: "button", id: "more", onclick: more }, "Load older revisions"),
  );
}
