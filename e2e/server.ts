// Server runs one real `mfshell serve` for the tests: its own data folder,
// port 0, the URL read from its first line on stdout. It publishes bundles
// with the real `mfshell publish` into that data folder's CDN and drives
// releases through the ops API with the first-run admin token. A test can
// halt it and resume it on the same address and data folder (a restart).

import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { promisify } from "node:util";
import { bundleDir } from "./fixtures/build";
import { live, published, type Release } from "./fixtures/apps";

const run = promisify(execFile);

/** bin is the mfshell binary under test (make e2e builds it). */
export const bin = process.env.MFSHELL_BIN ?? path.join(__dirname, "..", "bin", "mfshell");

// The server must not pick up a developer's MFSHELL_* settings.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MFSHELL_")));

/** APIResult is what the ops API answered. */
export interface APIResult {
  status: number;
  body: any;
}

/** uniqueVersion returns a version name, starting with kind, that no earlier run used. */
export const uniqueVersion = (kind: string) => `${kind}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export class Server {
  /** url is the server's base URL, without a trailing slash. */
  declare url: string;
  /** data is the server's data folder; its CDN is data/cdn. */
  declare readonly data: string;
  /** baseline is the revision every test starts from. */
  baseline = 0;
  declare private token: string;
  declare private readonly args: string[];
  private proc?: ChildProcess;
  private log = "";

  private constructor(data: string, args: string[]) {
    this.data = data;
    this.args = args;
  }

  /**
   * start runs a server on a new data folder (the demo apps are seeded on
   * first run); with fixtures, it also publishes and releases the fixture
   * apps, and takes the resulting revision as the baseline. args are more
   * flags of mfshell serve, such as ["--dev"]. token is the admin token to
   * use when args give a tokens file (--tokens), which makes serve write no
   * first-run admin.token.
   */
  static async start(opts: { fixtures: boolean; args?: string[]; token?: string }): Promise<Server> {
    const s = new Server(fs.mkdtempSync(path.join(os.tmpdir(), "mfshell-e2e-")), opts.args ?? []);
    try {
      await s.serve();
      s.token = opts.token ?? fs.readFileSync(path.join(s.data, "admin.token"), "utf8").trim();
      if (opts.fixtures) {
        for (const r of [...live, ...published]) await s.publish(r.app, r.version, bundleDir(r.bundle));
        for (const r of live) await s.put(r);
      }
      s.baseline = (await s.api("GET", "/api/v1/manifest")).body.revision;
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  // serve runs `mfshell serve` on addr (port 0: any free port) and resolves
  // once it prints the URL it serves.
  private serve(addr = "127.0.0.1:0") {
    const p = (this.proc = spawn(bin, ["serve", "--addr", addr, "--data", this.data, "--access-log=false", ...this.args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    }));
    p.stderr!.on("data", (d) => (this.log += d));
    return new Promise<void>((ok, ko) => {
      const exited = (code: number | null) => ko(new Error(`mfshell serve exited (${code}) before serving:\n${this.log}`));
      p.once("exit", exited);
      p.once("error", ko);
      const lines = readline.createInterface({ input: p.stdout! });
      lines.on("line", (line) => {
        this.log += line + "\n";
        const m = /^mfshell serving (http:\/\/\S+)/.exec(line);
        if (!m) return;
        this.url = m[1].replace(/\/$/, "");
        p.off("exit", exited);
        ok();
      });
    });
  }

  /** stop ends the server (SIGTERM, then waits for it) and removes its data folder. */
  async stop() {
    await this.halt();
    fs.rmSync(this.data, { recursive: true, force: true });
  }

  /** halt ends the server process (SIGTERM, then waits for it) and keeps its data folder, for resume. */
  async halt() {
    const p = this.proc;
    if (p && this.running()) {
      const exited = new Promise((ok) => p.once("exit", ok));
      p.kill("SIGTERM");
      await exited;
    }
  }

  /** running reports whether the server process is up. */
  running() {
    const p = this.proc;
    return !!p && p.exitCode == null && p.signalCode == null;
  }

  /**
   * resume starts the server again after halt: a new `mfshell serve` on the
   * same address and data folder, so that the same URL serves the same
   * manifest and CDN. stop ends it like the first one.
   */
  async resume() {
    if (this.running()) throw new Error("resume: the server is running");
    const url = this.url;
    await this.serve(new URL(url).host);
    if (this.url != url) throw new Error(`resume: serving ${this.url}, not ${url}`);
  }

  /** publish runs `mfshell publish` of dir as app@version into this server's CDN. */
  async publish(app: string, version: string, dir: string) {
    await run(bin, ["publish", "--app", app, "--version", version, "--cdn", "file://" + path.join(this.data, "cdn"), dir], { env });
  }

  /**
   * publishCopy publishes a copy of a fixture bundle as app@version, with a
   * comment naming the version appended to its entry: every call gets
   * bytes (and so an integrity) of its own, which the CDN origin's cache,
   * keyed by integrity, has never seen.
   */
  async publishCopy(app: string, version: string, bundle: string, entry = "main.js") {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mfshell-e2e-bundle-"));
    try {
      fs.cpSync(bundleDir(bundle), tmp, { recursive: true });
      fs.appendFileSync(path.join(tmp, entry), `\n// ${app}@${version}\n`);
      await this.publish(app, version, tmp);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  /** cdnFile is the path of a published file in this server's CDN folder. */
  cdnFile(app: string, version: string, file: string) {
    return path.join(this.data, "cdn", app, version, file);
  }

  /** api calls the ops API as admin; it throws on a status of 400 or more. */
  async api(method: string, p: string, body?: unknown): Promise<APIResult> {
    const r = await fetch(this.url + p, {
      method,
      headers: {
        Authorization: "Bearer " + this.token,
        "Mfshell-Reason": "e2e",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (r.status >= 400) throw new Error(`${method} ${p}: ${r.status} ${text}`);
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  }

  /** put creates or replaces an app's entry. */
  put(r: Release) {
    const { app, version, route, format, isolation, template = "" } = r;
    return this.api("PUT", "/api/v1/apps/" + app, { version, route, format, isolation, template });
  }

  /** release makes version the live version of app; it returns the new revision. */
  async release(app: string, version: string): Promise<number> {
    return (await this.api("PATCH", "/api/v1/apps/" + app, { version })).body.revision;
  }

  /** reset rolls the manifest back to the baseline revision. */
  async reset() {
    await this.api("POST", "/api/v1/rollback", { revision: this.baseline });
  }

  /** metric returns the value of one series of the server's /metrics, such as `mfshell_app_mounts_total{app="x",outcome="mounted",version="1"}`, or 0. */
  async metric(series: string): Promise<number> {
    const text = await (await fetch(this.url + "/metrics")).text();
    const line = text.split("\n").find((l) => l.startsWith(series + " "));
    return line ? Number(line.slice(series.length + 1)) : 0;
  }

  /** serverLog is what the server printed, for failure messages. */
  serverLog() {
    return this.log;
  }
}
