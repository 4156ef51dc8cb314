// The admin page (/_mfshell/admin/): sign in with a token kept in
// sessionStorage, then the apps and the history, refreshed from the change
// feed. Every action is an ops API request; see api.ts.

import { ApiError, client, type Call, type Manifest, type Published, type Revision, type Stats, type Token, type WriteResult } from "./api";
import { apps } from "./apps";
import { dialog, open, type Action, type Plan } from "./dialog";
import { field, h, msg } from "./dom";
import { lines } from "./format";
import { history } from "./history";

const KEY = "mfshell-admin-token";
const PAGE = 20; // revisions per history page
// Re-rendering is not read out: only the status and alert lines are live regions.
const root = document.getElementById("mfshell-admin")!;

interface State {
  call: Call;
  token: Token;
  manifest?: Manifest;
  stats: Stats;
  versions: Record<string, Published[] | undefined>;
  revisions: Revision[];
  more: boolean;
}
let s: State | undefined;
let own = 0; // the revision of this page's last write, not announced as someone else's

const status = h("p", { role: "status", class: "status" });
const alert = h("p", { role: "alert", class: "error" });
const who = h("p", { class: "meta" });
const shown = h("span");
const live = h("span", { class: "feed" });
const body = h("div");

const say = (t: string) => ((alert.textContent = ""), (status.textContent = t));
const shout = (t: string) => ((status.textContent = ""), (alert.textContent = t));

/** fail shows an error; a refused token signs out. */
function fail(x: unknown): void {
  if (x instanceof ApiError && x.status == 401) signIn("Your token was refused: sign in again.");
  else shout(msg(x));
}

function signIn(message = ""): void {
  stop();
  s = undefined;
  sessionStorage.removeItem(KEY);
  const input = h("input", { id: "token", type: "password", autocomplete: "current-password", required: true, spellcheck: "false" });
  const err = h("p", { role: "alert", class: "error" }, message);
  const button = h("button", { class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "signin card", "aria-labelledby": "signin-h" },
    h("h1", { id: "signin-h" }, "mfshell admin"),
    field("Ops API token", input, "Kept in this tab until you sign out or close it."),
    button,
    err,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    button.disabled = true;
    err.textContent = "";
    try {
      await start(input.value.trim());
    } catch (x) {
      err.textContent = x instanceof ApiError && x.status == 401 ? "Token refused: check it and try again." : msg(x);
      button.disabled = false;
      input.focus();
    }
  });
  root.replaceChildren(form);
  input.focus();
}

/** start checks token, keeps it and shows the main view. */
async function start(token: string): Promise<void> {
  const call = client(token);
  const t = await call<Token>("GET", "/token");
  sessionStorage.setItem(KEY, token);
  s = { call, token: t, stats: {}, versions: {}, revisions: [], more: false };
  const admin = t.apps.includes("*");
  who.textContent = `Signed in as ${t.name} · may change ${admin ? "every app" : t.apps.join(", ") || "no app"}`;
  shown.textContent = "";
  status.textContent = alert.textContent = "";
  root.replaceChildren(
    h(
      "header",
      { class: "top" },
      h("h1", null, "mfshell admin"),
      h("div", null, who, h("p", { class: "meta" }, shown, " · ", live)),
      h("button", { type: "button", id: "signout", onclick: () => signIn() }, "Sign out"),
    ),
    status,
    alert,
    body,
    dialog,
  );
  await refresh();
  feed();
  poll = setInterval(refresh, 30e3); // counts change without a new revision
}

let running = false, again = false;

/** refresh reloads the manifest, stats, versions and history; calls while one runs coalesce. */
async function refresh(): Promise<void> {
  if (running) return void (again = true);
  running = true;
  try {
    do {
      again = false;
      await load();
    } while (again);
  } catch (x) {
    fail(x);
  } finally {
    running = false;
  }
}

async function load(): Promise<void> {
  const st = s;
  if (!st) return;
  const { call } = st;
  const limit = Math.min(1000, Math.max(PAGE, st.revisions.length)); // keep the pages loaded
  const [m, stats, hist] = await Promise.all([
    call<Manifest>("GET", "/manifest"),
    call<{ apps: Stats }>("GET", "/stats").catch(() => ({ apps: {} })),
    call<{ revisions: Revision[] }>("GET", `/history?limit=${limit}`),
  ]);
  const names = Object.keys(m.apps);
  const vs = await Promise.all(
    names.map((n) => call<{ versions: Published[] }>("GET", `/apps/${n}/versions`).then((r) => r.versions, () => undefined)),
  );
  if (s != st) return; // signed out meanwhile
  const before = st.manifest?.revision ?? m.revision;
  Object.assign(st, {
    manifest: m,
    stats: stats.apps,
    versions: Object.fromEntries(names.map((n, i) => [n, vs[i]?.sort((a, b) => Date.parse(b.time) - Date.parse(a.time))])),
    revisions: hist.revisions,
    more: older(hist.revisions, limit),
  });
  render();
  const r = hist.revisions[0];
  if (r && m.revision > before && r.revision != own) say(`Revision ${r.revision} by ${r.actor}: ${lines(r.changes).join("; ") || r.summary}`);
}

/** render redraws the apps and history, keeping the focus on the control of the same id. */
function render(): void {
  const st = s;
  if (!st?.manifest) return;
  const focused = document.activeElement?.id;
  const m = st.manifest;
  shown.textContent = `Revision ${m.revision}`;
  body.replaceChildren(
    apps({ manifest: m, stats: st.stats, versions: st.versions, token: st.token }, (a, from) => act(a, from)),
    history({ revisions: st.revisions, more: st.more, current: m.revision, token: st.token }, rollback, more),
  );
  if (focused && document.activeElement != document.getElementById(focused)) document.getElementById(focused)?.focus();
}

/** act opens an action on the revision shown now. */
function act(a: Action, from: string): void {
  if (s?.manifest) open(a, from, s.manifest.revision, send, preview);
}

/** preview asks the server what p would change (a dry run), as lines for people. */
async function preview(p: Plan, reason: string, rev: number): Promise<string[]> {
  if (!s) return [];
  try {
    return lines((await s.call<WriteResult>(p.method, p.path + "?dry-run", { body: p.body, reason, rev })).changes);
  } catch (x) {
    await fallen(x, rev);
    throw x; // shown in the dialog
  }
}

/** send makes a write; on 412 the page reloads instead. */
async function send(p: Plan, reason: string, rev: number): Promise<void> {
  if (!s) return;
  try {
    const r = await s.call<WriteResult>(p.method, p.path, { body: p.body, reason, rev });
    own = r.revision;
    say(r.changed ? `Done: revision ${r.revision}. ${r.summary}` : `No change: revision ${r.revision} has it already.`);
  } catch (x) {
    await fallen(x, rev);
    throw x; // shown in the dialog
  }
  void refresh();
}

/**
 * fallen handles what a request on revision rev failed with, beyond the
 * dialog: a token gone (sign in again), or a manifest changed meanwhile
 * (412: the page reloads, then says so, so that the reload's own news
 * does not hide it).
 */
async function fallen(x: unknown, rev: number): Promise<void> {
  if (x instanceof ApiError && x.status != 401 && x.status != 412) return;
  dialog.close();
  if (!(x instanceof ApiError && x.status == 412)) return fail(x);
  await refresh();
  shout(`Changed meanwhile, reloaded: someone changed the manifest after revision ${rev}. Nothing was changed; look again and retry.`);
}

/** rollback opens a rollback to r; its review lists what it would change. */
function rollback(r: Revision, from: string): void {
  act(
    {
      title: `Roll back to revision ${r.revision}`,
      fields: [h("p", null, `Every app becomes as it was at revision ${r.revision}. The review lists what that changes now.`)],
      plan: () => ({ method: "POST", path: "/rollback", body: { revision: r.revision } }),
    },
    from,
  );
}

/** older reports whether revisions older than a page of limit may exist. */
const older = (page: Revision[], limit: number): boolean => page.length >= limit && (page.at(-1)?.revision ?? 0) > 1;

/** more loads older revisions and focuses the first of them. */
async function more(): Promise<void> {
  const st = s, last = st?.revisions.at(-1);
  if (!st || !last) return;
  try {
    const r = await st.call<{ revisions: Revision[] }>("GET", `/history?limit=${PAGE}&before=${last.revision}`);
    st.revisions.push(...r.revisions);
    st.more = older(r.revisions, PAGE);
    render();
    document.getElementById(`rev-${r.revisions[0]?.revision}`)?.focus();
  } catch (x) {
    fail(x);
  }
}

// The change feed: a manifest event carries the new revision; a newer one
// than shown reloads, debounced. The browser reconnects by itself after a
// network error; a stream closed for good is reopened with backoff.
let es: EventSource | undefined, retry = 0, debounce = 0, poll = 0, wait = 1e3;

function feed(): void {
  const e = (es = new EventSource("/_mfshell/events"));
  const state = (t: string, on = false) => ((live.textContent = `Live updates: ${t}`), live.classList.toggle("on", on));
  state("connecting…");
  e.onopen = () => ((wait = 1e3), state("on", true));
  e.addEventListener("manifest", (m) => {
    const rev = (JSON.parse((m as MessageEvent).data) as { revision: number }).revision;
    if (rev > (s?.manifest?.revision ?? 0)) {
      clearTimeout(debounce);
      debounce = setTimeout(refresh, 200);
    }
  });
  e.onerror = () => {
    if (e.readyState != EventSource.CLOSED) return state("reconnecting…");
    state("off, retrying");
    e.close();
    retry = setTimeout(feed, wait);
    wait = Math.min(2 * wait, 60e3);
  };
}

function stop(): void {
  es?.close();
  es = undefined;
  [retry, debounce].forEach(clearTimeout);
  clearInterval(poll);
  if (dialog.open) dialog.close();
}

const saved = sessionStorage.getItem(KEY);
if (saved) start(saved).catch((x) => signIn(x instanceof ApiError && x.status == 401 ? "Your token was refused: sign in again." : msg(x)));
else signIn();
