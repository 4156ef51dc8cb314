// The ops API (/api/v1): its JSON shapes and a fetch wrapper that sends the
// token, the reason and If-Match, and turns error answers into ApiError.

export interface Canary {
  version: string;
  percent: number;
  maxErrorRate?: number;
  minMounts?: number;
}

export interface App {
  version: string;
  route: string;
  entry: string;
  styles: string[];
  format: string;
  isolation: string;
  template: string;
  canary?: Canary | null;
  fragment?: string;
}

export interface Manifest {
  revision: number;
  cdn: string;
  apps: Record<string, App>;
}

/** One changed field: compact JSON of the old and new values, "" when absent. */
export interface FieldDiff {
  field: string;
  from: string;
  to: string;
}

export interface Change {
  app: string;
  action: "create" | "update" | "delete";
  fields?: FieldDiff[];
}

export interface Revision {
  revision: number;
  time: string;
  actor: string;
  reason: string;
  summary: string;
  changes: Change[] | null;
}

export interface WriteResult {
  revision: number;
  changed: boolean;
  summary: string;
  changes: Change[];
  /** the answer of a ?dry-run: nothing was written */
  dryRun?: boolean;
}

/** Token is who a token is: apps it may change, ["*"] for all. */
export interface Token {
  name: string;
  apps: string[];
}

export interface Published {
  version: string;
  time: string;
}

export interface Counts {
  mounts: number;
  failed: number;
}

/** Stats are mount counts per app and version. */
export type Stats = Record<string, Record<string, Counts>>;

export class ApiError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface Opts {
  body?: unknown;
  reason?: string;
  /** rev is the revision the change was decided on: sent as If-Match. */
  rev?: number;
}

export type Call = <T>(method: string, path: string, o?: Opts) => Promise<T>;

/** client calls the API with token; path is under /api/v1. */
export function client(token: string): Call {
  return async <T>(method: string, path: string, o: Opts = {}): Promise<T> => {
    const headers: Record<string, string> = { Authorization: "Bearer " + token };
    if (o.body !== undefined) headers["Content-Type"] = "application/json";
    if (o.reason) headers["Mfshell-Reason"] = utf8(o.reason);
    if (o.rev) headers["If-Match"] = `"${o.rev}"`;
    let r: Response;
    try {
      r = await fetch("/api/v1" + path, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "The server did not answer: check the connection and try again.");
    }
    const data = await r.json().catch(() => null);
    if (!r.ok) {
      const e = data as { error?: string; problems?: { field: string; message: string }[] } | null;
      const problems = (e?.problems ?? []).map((p) => `${p.field}: ${p.message}`);
      throw new ApiError(r.status, [e?.error ?? `HTTP ${r.status}`, ...problems].join("; "));
    }
    return data as T;
  };
}

/**
 * utf8 spells s as its UTF-8 bytes, one character each: a header value is
 * sent byte by byte, and the server reads the reason as UTF-8.
 */
export function utf8(s: string): string {
  return String.fromCharCode(...new TextEncoder().encode(s));
}
