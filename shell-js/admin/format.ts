// Readable text for versions, canaries, counts and diffs.

import type { Canary, Change, Counts } from "./api";

/** pct renders a share, 0.053 → "5.3%". */
export const pct = (x: number): string => `${+(100 * x).toFixed(1)}%`;

/** rate is the failed share of counts, "2.5% (3 failed)". */
export const rate = (c: Counts): string => `${pct(c.failed / c.mounts)} (${c.failed} failed)`;

/** canaryText renders a canary as "1.1.0 at 10%", with its guard if any. */
export function canaryText(c: Canary | null | undefined): string {
  if (!c) return "none";
  const s = `${c.version} at ${c.percent}%`;
  if (c.minMounts) return `${s}; auto-abort above ${pct(c.maxErrorRate ?? 0)} errors once it has ${c.minMounts} mounts`;
  return c.maxErrorRate ? `${s}; max error rate ${pct(c.maxErrorRate)}, no auto-abort without min mounts` : s;
}

/** when renders a timestamp in local time; day only its date. */
export const when = (t: string, day = false): string =>
  t.startsWith("0001") // Go's zero time: not known
    ? "unknown"
    : new Date(t).toLocaleString(undefined, day ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" });

/** value renders the compact JSON of a field's value for people. */
export function value(field: string, json: string): string {
  if (!json) return "none";
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return json; // such as "3 files" for integrity
  }
  if (field == "canary" && v && typeof v == "object") return canaryText(v as Canary);
  const s = Array.isArray(v) ? v.join(", ") : typeof v == "string" ? v : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}… (${s.length} characters)` : s || "none";
}

/** lines renders changes as "catalog version: 1.0.0 → 1.1.0", one per field. */
export function lines(changes: Change[] | null): string[] {
  const out: string[] = [];
  for (const c of changes ?? []) {
    const fs = c.fields ?? [];
    if (c.action == "delete") out.push(`${c.app}: removed (was ${value("version", fs[0]?.from ?? "")})`);
    else if (c.action == "create")
      out.push(`${c.app}: added with ${fs.map((f) => `${f.field} ${value(f.field, f.to)}`).join(", ") || "no fields"}`);
    else for (const f of fs) out.push(`${c.app} ${f.field}: ${value(f.field, f.from)} → ${value(f.field, f.to)}`);
  }
  return out;
}
