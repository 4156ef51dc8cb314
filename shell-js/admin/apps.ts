// The apps: one card per app with its versions and mount counts, and the
// actions a token may take on it (release, canary, promote, abort).

import type { App, Canary, Manifest, Published, Stats, Token } from "./api";
import type { Action, Plan } from "./dialog";
import { field, h } from "./dom";
import { canaryText, rate, when } from "./format";

export interface AppsView {
  manifest: Manifest;
  stats: Stats;
  /** versions are the published versions per app, newest first; undefined when unknown. */
  versions: Record<string, Published[] | undefined>;
  token: Token;
}

/** Act opens an action; from is the id of the control that opened it. */
export type Act = (a: Action, from: string) => void;

/** may reports whether token may change app. */
export const may = (t: Token, app: string): boolean => t.apps.includes("*") || t.apps.includes(app);

const STYLES: Record<string, string> = { shadow: "styles in a shadow root", scoped: "scoped styles", none: "global styles" };
const SHOWN = 5; // newest published versions listed in a card, besides live, canary and counted ones

export function apps(v: AppsView, act: Act): HTMLElement {
  const names = Object.keys(v.manifest.apps).sort();
  return h(
    "section",
    { "aria-labelledby": "apps-h" },
    h("h2", { id: "apps-h" }, "Apps"),
    names.length ? h("ul", { class: "grid" }, names.map((n) => card(n, v.manifest.apps[n]!, v, act))) : h("p", null, "No apps yet."),
  );
}

function card(name: string, a: App, v: AppsView, act: Act): HTMLElement {
  const pub = v.versions[name];
  const counts = v.stats[name] ?? {};
  const c = a.canary;
  // Rows: published newest first, then versions only counted or forced.
  const all = [...(pub ?? []).map((p) => p.version)];
  for (const x of [a.version, c?.version, ...Object.keys(counts)]) if (x && !all.includes(x)) all.push(x);
  const rows = all.filter((x, i) => i < SHOWN || x == a.version || x == c?.version || counts[x]);
  const published = new Map((pub ?? []).map((p) => [p.version, p.time]));

  const why = may(v.token, name) ? undefined : `why-${name}`;
  const button = (id: string, label: string, make: () => Action, cls?: string) =>
    h(
      "button",
      { type: "button", id: `${id}-${name}`, class: cls, disabled: !!why, "aria-describedby": why, onclick: () => act(make(), `${id}-${name}`) },
      label,
    );
  const others = (pub ?? []).filter((p) => p.version != a.version);

  return h(
    "li",
    { class: "card" },
    h(
      "article",
      { "aria-labelledby": `app-${name}` },
      h("h3", { id: `app-${name}` }, name),
      h(
        "dl",
        null,
        h("dt", null, "Route"),
        h("dd", null, a.route || "not routed"),
        h("dt", null, "Format"),
        h("dd", null, `${a.format}, ${STYLES[a.isolation] ?? a.isolation}`),
        h("dt", null, "Live"),
        h("dd", null, h("strong", null, a.version)),
        h("dt", null, "Canary"),
        h("dd", null, canaryText(c)),
      ),
      h(
        "table",
        null,
        h("caption", null, "Versions, with the mounts this server counted since it started"),
        h(
          "thead",
          null,
          h("tr", null, ["Version", "Published", "Mounts", "Error rate"].map((t) => h("th", { scope: "col" }, t))),
        ),
        h(
          "tbody",
          null,
          rows.map((x) =>
            h(
              "tr",
              null,
              h(
                "th",
                { scope: "row" },
                x,
                x == a.version && h("span", { class: "tag live" }, "live"),
                x == c?.version && h("span", { class: "tag canary" }, `canary ${c.percent}%`),
              ),
              h("td", null, published.has(x) ? h("time", { datetime: published.get(x) }, when(published.get(x)!, true)) : "not published"),
              counts[x]?.mounts
                ? [h("td", { class: "n" }, counts[x].mounts), h("td", null, rate(counts[x]))]
                : h("td", { colspan: 2, class: "hint" }, "no reports"),
            ),
          ),
        ),
      ),
      all.length > rows.length && h("p", { class: "hint" }, `${all.length - rows.length} older versions not listed; Release offers them all.`),
      !pub && h("p", { class: "error" }, "Could not list the published versions."),
      why && h("p", { id: why, class: "note" }, `Token ${v.token.name} may change only ${v.token.apps.join(", ") || "no app"}: these actions are disabled.`),
      h(
        "div",
        { class: "actions" },
        button("release", "Release…", () => release(name, a, others)),
        button("canary", c ? "Change canary…" : "Start canary…", () => canary(name, a, others)),
        c && button("promote", `Promote ${c.version}…`, () => promote(name, c)),
        c && button("abort", "Abort canary…", () => abort(name, c), "danger"),
      ),
    ),
  );
}

const none = "No other version is published: publish one first with mfshell publish.";

// select lists versions, newest first, the canary marked, selected chosen.
function select(id: string, name: string, vs: Published[], a: App, selected?: string): HTMLSelectElement {
  return h(
    "select",
    { id: `${id}-${name}-v`, required: true },
    vs.map((p) =>
      h("option", { value: p.version, selected: p.version == selected }, `${p.version}${p.version == a.canary?.version ? " (canary)" : ""}, ${when(p.time, true)}`),
    ),
  );
}

function release(name: string, a: App, vs: Published[]): Action {
  const s = select("release", name, vs, a);
  return {
    title: `Release a version of ${name}`,
    fields: [field("Version", s, `Live now: ${a.version}.`)],
    plan: () => (s.value ? patch(name, { version: s.value }) : none),
  };
}

function canary(name: string, a: App, vs: Published[]): Action {
  const c = a.canary;
  const s = select("canary", name, vs, a, c?.version);
  const num = (id: string, min: number, max: number, step: string, val: number | undefined, required = false) =>
    h("input", { id: `canary-${name}-${id}`, type: "number", min, max, step, required, value: val || undefined });
  const percent = num("p", 1, 99, "1", c?.percent ?? 10, true);
  const max = num("e", 0, 100, "any", c?.maxErrorRate && +(c.maxErrorRate * 100).toFixed(3));
  const min = num("m", 0, 1e9, "1", c?.minMounts);
  return {
    title: `${c ? "Change the" : "Start a"} canary of ${name}`,
    fields: [
      field("Version", s, `Live now: ${a.version}.`),
      field("Share of browsers, %", percent, "1 to 99."),
      field("Max error rate, % (optional)", max),
      field("Min mounts (optional)", min, "Once the canary has this many mounts, the server aborts it if its failed share is above the max and the live version's."),
    ],
    plan: () => {
      if (!s.value) return none;
      const next: Canary = { version: s.value, percent: +percent.value };
      if (max.value) next.maxErrorRate = +max.value / 100;
      if (min.value) next.minMounts = +min.value;
      return canaryText(c) == canaryText(next) ? "That is the canary already: change something." : patch(name, { canary: next });
    },
  };
}

function promote(name: string, c: Canary): Action {
  return {
    title: `Promote the canary of ${name}`,
    fields: [h("p", null, `${c.version} becomes the live version for every browser, and the canary ends.`)],
    plan: () => patch(name, { version: c.version }),
  };
}

function abort(name: string, c: Canary): Action {
  return {
    title: `Abort the canary of ${name}`,
    fields: [h("p", null, `Every browser gets the live version again instead of ${c.version}.`)],
    plan: () => patch(name, { canary: null }),
  };
}

const patch = (name: string, body: unknown): Plan => ({ method: "PATCH", path: `/apps/${name}`, body });
