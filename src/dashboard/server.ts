/**
 * `gvm dashboard`'s HTTP server: the page, its scripts (vega and vega-lite
 * from this package's node_modules), the runs' state as JSON, live updates
 * as server-sent events, and the files of each run directory, read-only.
 *
 * It reads only: GET and HEAD are the only methods, files are opened for
 * reading, and a path that leaves its run directory (`..`, an absolute
 * path, a symbolic link out) is refused with 403 before anything is read.
 *
 * Access follows `gvm serve`: loopback by default; another address needs
 * an API key (or `insecure`, warned about). A browser cannot send a bearer
 * header with EventSource, so the key is also accepted once as `?key=` on
 * the page, which sets an HttpOnly cookie. Without a key, requests must
 * name a loopback host (Host header), so a web page elsewhere cannot read
 * the runs through DNS rebinding.
 */
import { timingSafeEqual } from "node:crypto";
import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { isLoopback } from "../serve/limits.js";
import { ConfigError, GvmError } from "../util/errors.js";
import { defaultLogger, type Logger } from "../util/log.js";
import { resolveInside } from "./files.js";
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from "./page.js";
import { type DashboardUpdate, RunSet, type RunSetOptions } from "./runset.js";

export class DashboardError extends GvmError {}

export interface DashboardOptions extends RunSetOptions {
  /** Run directories, or directories holding run directories. */
  dirs: readonly string[];
  /** Required (bearer header, or the cookie `?key=` sets) when set. */
  apiKey?: string | null;
  /** Listen beyond loopback without an API key (warned about); refused otherwise. */
  insecure?: boolean;
  /** Most pages with a live stream open at once (default 32). */
  maxClients?: number;
}

const COOKIE = "gvm_dashboard_key";
const CSP = "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** A comment on every open stream this often keeps proxies and idle timeouts from closing it. */
const KEEPALIVE_MS = 25_000;
/** A stream this far behind (a stalled client) is dropped rather than buffered without bound. */
const MAX_BACKLOG = 64 << 20;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** vega's and vega-lite's browser bundles, found through the packages' own entry points. */
function browserBundles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const out: Record<string, string> = {};
  for (const [name, pkg, file] of [["vega.min.js", "vega", "vega.min.js"], ["vega-lite.min.js", "vega-lite", "vega-lite.min.js"]] as const) {
    let path: string;
    try {
      path = join(dirname(require.resolve(pkg)), file);
    } catch (err) {
      throw new DashboardError(`gvm dashboard: the ${pkg} package cannot be found (${(err as Error).message}); reinstall gvm's dependencies (npm ci)`);
    }
    if (!existsSync(path)) throw new DashboardError(`gvm dashboard: ${path} is missing: the page draws its charts with it; reinstall the ${pkg} package`);
    out[name] = path;
  }
  return out;
}

export class DashboardServer {
  readonly http: Server;
  readonly runs: RunSet;
  private readonly logger: Logger;
  private readonly bundles: Record<string, string>;
  private readonly clients = new Set<ServerResponse>();
  private keepalive: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private checkHost = true;

  constructor(private readonly o: DashboardOptions) {
    if (o.dirs.length === 0) throw new ConfigError("gvm dashboard: give at least one run directory (or a directory of runs)");
    for (const d of o.dirs) {
      if (!statSync(d, { throwIfNoEntry: false })?.isDirectory()) throw new ConfigError(`gvm dashboard: ${d}: not a directory (expected a run directory, or a directory of them)`);
    }
    this.logger = o.logger ?? defaultLogger();
    this.bundles = browserBundles();
    this.runs = new RunSet(o.dirs, o);
    this.http = createServer((req, res) => {
      try {
        this.handle(req, res);
      } catch (err) {
        this.fail(res, err);
      }
    });
  }

  /**
   * Reads the runs, starts watching them and listens (host defaults to
   * 127.0.0.1; port 0 picks a free one). Beyond loopback it needs an API
   * key, or `insecure` (then it warns).
   */
  async listen(port = 8050, host = "127.0.0.1"): Promise<{ url: string; host: string; port: number }> {
    if (!isLoopback(host) && !this.o.apiKey) {
      if (!this.o.insecure) {
        throw new ConfigError(`gvm dashboard: ${host} is not a loopback address and no API key is set: anyone who can reach it could read these runs. Set an API key, or insecure to serve it open anyway`);
      }
      this.logger.warn(`WARNING: gvm dashboard listens on ${host} without an API key: anyone who can reach this address can read these runs`);
    }
    this.checkHost = isLoopback(host) && !this.o.apiKey;
    this.runs.start();
    this.unsubscribe = this.runs.subscribe((u) => this.broadcast(u));
    this.keepalive = setInterval(() => {
      for (const c of this.clients) c.write(": keepalive\n\n");
    }, KEEPALIVE_MS);
    this.keepalive.unref();
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(port, host, () => {
        this.http.off("error", reject);
        resolve();
      });
    });
    const a = this.http.address() as AddressInfo;
    const h = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return { url: `http://${h}:${a.port}/`, host: a.address, port: a.port };
  }

  close(): Promise<void> {
    this.unsubscribe?.();
    this.runs.stop();
    if (this.keepalive) clearInterval(this.keepalive);
    for (const c of this.clients) c.end();
    this.clients.clear();
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, `${req.method} is not allowed: this dashboard only reads (GET, HEAD)`);
    if (url.pathname === "/health") return this.send(res, 200, "application/json", '{"ok":true}\n');
    if (url.pathname === "/favicon.ico") return void res.writeHead(204).end();
    if (this.checkHost && !isLoopback((req.headers.host ?? "").replace(/:\d+$/, ""))) {
      throw new HttpError(403, `Host ${JSON.stringify(req.headers.host ?? "")} is not this machine's loopback address; open the dashboard at http://127.0.0.1:<port>/`);
    }
    if (this.o.apiKey) {
      const given = url.searchParams.get("key");
      if (given !== null && url.pathname === "/" && this.keyMatches(given)) {
        res.writeHead(303, { location: "/", "set-cookie": `${COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/` });
        return void res.end();
      }
      if (!this.authorized(req)) throw new HttpError(401, "this dashboard needs its API key: open /?key=KEY once in the browser, or send Authorization: Bearer KEY");
    }
    const path = url.pathname;
    if (path === "/" || path === "/index.html") return this.send(res, 200, "text/html; charset=utf-8", PAGE_HTML, { "content-security-policy": CSP });
    if (path === "/assets/dashboard.js") return this.send(res, 200, "text/javascript; charset=utf-8", PAGE_JS);
    if (path === "/assets/dashboard.css") return this.send(res, 200, "text/css; charset=utf-8", PAGE_CSS);
    const bundle = path.startsWith("/assets/") ? this.bundles[path.slice("/assets/".length)] : undefined;
    if (bundle !== undefined) return this.stream(res, bundle, "text/javascript; charset=utf-8", req.method === "HEAD", "public, max-age=3600");
    if (path === "/api/state") return this.send(res, 200, "application/json", JSON.stringify(this.runs.snapshot()));
    if (path === "/api/events") return this.events(req, res);
    // Routed on the raw path: URL's normalising would turn /runs/r0/../../x into /x and hide the attempt.
    if ((req.url ?? "").startsWith("/runs/")) return this.runFile(req, res);
    throw new HttpError(404, `no page ${path}; this dashboard has /, /api/state, /api/events and /runs/<id>/<file>`);
  }

  private keyMatches(got: string): boolean {
    const a = Buffer.from(got);
    const b = Buffer.from(this.o.apiKey ?? "");
    return a.length === b.length && b.length > 0 && timingSafeEqual(a, b);
  }

  private authorized(req: IncomingMessage): boolean {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (bearer !== undefined && this.keyMatches(bearer)) return true;
    for (const part of (req.headers.cookie ?? "").split(";")) {
      const [k, ...v] = part.trim().split("=");
      if (k !== COOKIE) continue;
      try {
        if (this.keyMatches(decodeURIComponent(v.join("=")))) return true;
      } catch {
        // A malformed cookie is no key.
      }
    }
    return false;
  }

  /** /runs/<id>/<path>: a file of that run, or a listing of a directory in it. */
  private runFile(req: IncomingMessage, res: ServerResponse): void {
    const raw = (req.url ?? "").split("?")[0] as string;
    const [, , id, ...rest] = raw.split("/");
    let rel: string;
    try {
      rel = rest.map((s) => decodeURIComponent(s)).join("/");
    } catch {
      throw new HttpError(400, "the path is not valid percent-encoding");
    }
    const run = id === undefined ? undefined : this.runs.run(decodeURIComponent(id));
    if (run === undefined) throw new HttpError(404, `no run ${JSON.stringify(id ?? "")}; /api/state lists the runs and their ids`);
    const r = resolveInside(run.dir, rel === "" ? "." : rel);
    if (r.kind === "outside") throw new HttpError(403, `refused: ${r.reason}; only files inside ${run.dir} are served`);
    if (r.kind === "missing") throw new HttpError(404, `${rel}: no such file in ${run.dir}`);
    if (r.kind === "dir") {
      const entries = readdirSync(r.path, { withFileTypes: true }).map((e) => ({ name: e.name, kind: e.isDirectory() ? "dir" : "file" }));
      return this.send(res, 200, "application/json", JSON.stringify({ run: run.id, path: rel, entries }));
    }
    const type = rel.endsWith(".json") ? "application/json" : /\.(jsonl|txt|sha256)$|(^|\/)(latest|lock)$/.test(rel) ? "text/plain; charset=utf-8" : "application/octet-stream";
    this.stream(res, r.path, type, req.method === "HEAD", "no-cache");
  }

  private events(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= (this.o.maxClients ?? 32)) throw new HttpError(503, `too many live pages open (${this.clients.size}); close one and reload`);
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-content-type-options": "nosniff" });
    res.write("retry: 2000\n\n");
    res.write(`event: state\ndata: ${JSON.stringify(this.runs.snapshot())}\n\n`);
    this.clients.add(res);
    req.on("close", () => this.clients.delete(res));
  }

  private broadcast(u: DashboardUpdate): void {
    const msg = `event: update\ndata: ${JSON.stringify(u)}\n\n`;
    for (const c of this.clients) {
      if (c.writableLength > MAX_BACKLOG) {
        this.logger.warn("dashboard: dropping a page that stopped reading its updates");
        this.clients.delete(c);
        c.destroy();
        continue;
      }
      c.write(msg);
    }
  }

  private send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-cache", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", ...headers });
    res.end(res.req.method === "HEAD" ? undefined : body);
  }

  private stream(res: ServerResponse, path: string, type: string, head: boolean, cache: string): void {
    const size = statSync(path).size;
    res.writeHead(200, { "content-type": type, "content-length": size, "cache-control": cache, "x-content-type-options": "nosniff" });
    if (head) return void res.end();
    const s = createReadStream(path, { flags: "r" });
    s.on("error", (err) => res.destroy(err));
    s.pipe(res);
  }

  private fail(res: ServerResponse, err: unknown): void {
    const status = err instanceof HttpError ? err.status : 500;
    if (status === 500) this.logger.error(`dashboard: ${(err as Error).stack ?? String(err)}`);
    if (res.headersSent) return void res.destroy();
    this.send(res, status, "application/json", `${JSON.stringify({ error: { status, message: (err as Error).message } })}\n`);
  }
}
