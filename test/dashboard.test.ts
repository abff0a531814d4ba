/**
 * gvm dashboard's server, end to end over HTTP (the browser's view of it is
 * test/dashboard-browser.test.ts): state from run directories, live updates
 * as server-sent events when a run appends a record, status from the lock,
 * the same access rules as gvm serve, and read-only file serving that
 * refuses every way out of a run directory.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DashboardServer, type DashboardState, type DashboardUpdate } from "../src/dashboard/index.js";
import { Logger } from "../src/util/log.js";
import { gvm } from "./cli-helpers.js";
import { SyntheticWriter, writeComparison } from "./dashboard-helpers.js";

const quiet = new Logger({ level: "silent" });
const root = mkdtempSync(join(tmpdir(), "gvm-dashboard-"));
const runsDir = join(root, "runs");

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw GET: the path goes out exactly as written (no client-side normalising of `..`). */
function get(port: number, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** An event-stream reader: every event parsed, and a wait for one that matches. */
function events(port: number) {
  const got: { event: string; data: unknown }[] = [];
  const waiters: { test: (e: { event: string; data: unknown }) => boolean; done: (e: { event: string; data: unknown }) => void }[] = [];
  let buf = "";
  const req = request({ host: "127.0.0.1", port, path: "/api/events" }, (res) => {
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf("\n\n"); i !== -1; i = buf.indexOf("\n\n")) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === undefined || data === undefined) continue;
        const e = { event, data: JSON.parse(data) as unknown };
        got.push(e);
        for (const w of [...waiters]) if (w.test(e)) (waiters.splice(waiters.indexOf(w), 1), w.done(e));
      }
    });
  });
  req.end();
  return {
    got,
    next(test: (e: { event: string; data: unknown }) => boolean, ms = 10_000): Promise<{ event: string; data: unknown }> {
      const seen = got.find(test);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching event within ${ms} ms; got ${got.map((g) => g.event).join(", ")}`)), ms);
        waiters.push({ test, done: (e) => (clearTimeout(t), resolve(e)) });
      });
    },
    close: () => req.destroy(),
  };
}

/** Every file under dir with its size and mtime: what "never writes" is checked against. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.push(`${relative(dir, p)} ${st.size} ${st.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

let server: DashboardServer;
let port: number;
let live: SyntheticWriter;

beforeAll(async () => {
  writeComparison(runsDir, ["uniform", "gvm"], 2, 6);
  live = new SyntheticWriter({ dir: join(runsDir, "raftpp-gvm-live"), strategy: "gvm-live", seed: 0, iterations: 3, planned: 10, evalEvery: 1, lockPid: process.pid }).writeAll();
  new SyntheticWriter({ dir: join(runsDir, "raftpp-killed"), strategy: "killed", seed: 0, iterations: 2, planned: 10, lockPid: 2 ** 22 + 12345 }).writeAll();
  writeFileSync(join(root, "secret.txt"), "outside\n");
  symlinkSync(join(root, "secret.txt"), join(runsDir, "raftpp-uniform-s0", "escape.txt"));
  server = new DashboardServer({ dirs: [runsDir], logger: quiet, debounceMs: 10, minIntervalMs: 0 });
  port = (await server.listen(0)).port;
});

afterAll(async () => {
  await server?.close();
});

describe("gvm dashboard server", () => {
  it("lists every run under the directory given, with status from records, lock and heartbeat", async () => {
    const a = await get(port, "/api/state");
    expect(a.status).toBe(200);
    const s = JSON.parse(a.body) as DashboardState;
    const byName = new Map(s.runs.map((r) => [r.name, r]));
    expect([...byName.keys()].sort()).toEqual(["raftpp-gvm-live", "raftpp-gvm-s0", "raftpp-gvm-s1", "raftpp-killed", "raftpp-uniform-s0", "raftpp-uniform-s1"]);
    expect(byName.get("raftpp-gvm-s0")).toMatchObject({ status: "finished", method: "raftpp", strategy: "gvm", seed: 0, regime: "natural", iter: 6, planned: 6 });
    expect(byName.get("raftpp-gvm-live")).toMatchObject({ status: "running", iter: 3, planned: 10 });
    expect(byName.get("raftpp-gvm-live")?.heartbeat?.pid).toBe(process.pid);
    expect(byName.get("raftpp-killed")?.status).toBe("crashed");
    expect(byName.get("raftpp-killed")?.detail).toMatch(/is gone and left its lock \(killed\?\)/);
    // The report's chart set, one accuracy chart per counter the records carry.
    expect(s.charts.map((c) => c.name)).toEqual(["accuracy-vs-samples", "accuracy-vs-tokens", "accuracy-vs-wallclock", "accuracy-vs-step", "allocation-vs-p", "allocation-vs-g", "budget-by-level", "time-per-iteration", "training-signals"]);
    const acc = s.charts[0]?.spec as { config?: unknown; data: { values: { series: string }[] } };
    expect(acc.config).toBeDefined();
    expect(new Set(acc.data.values.map((v) => v.series))).toContain("raftpp/gvm (2 seeds)");
    expect(s.samples[byName.get("raftpp-gvm-live")?.id ?? ""]?.[0]).toMatchObject({ correct: true });
    expect(s.configs[byName.get("raftpp-gvm-live")?.id ?? ""]).toMatchObject({ rl: { iterations: 10 } });
  });

  it("pushes an update with the new point when a run appends an evaluation, and only the charts that changed", async () => {
    const es = events(port);
    const first = (await es.next((e) => e.event === "state")).data as DashboardState;
    const liveId = first.runs.find((r) => r.name === "raftpp-gvm-live")?.id;
    const points = (s: { charts: { name: string; spec: unknown }[] }) => (s.charts.find((c) => c.name === "accuracy-vs-step")?.spec as { data: { values: { series: string }[] } } | undefined)?.data.values.filter((v) => v.series.startsWith("raftpp/gvm-live")).length;
    const before = points(first) as number;
    expect(before).toBe(4);
    const t0 = Date.now();
    live.appendIteration();
    const u = (await es.next((e) => e.event === "update" && points(e.data as DashboardUpdate) !== undefined)).data as DashboardUpdate;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(points(u)).toBe(before + 1);
    expect(u.runs.find((r) => r.id === liveId)?.iter).toBe(4);
    expect(u.samples[liveId ?? ""]?.at(-1)).toMatchObject({ iter: 4, reward: 1 });
    // A new sample response alone changes no chart: none is resent.
    const other = first.runs.find((r) => r.name === "raftpp-uniform-s1")?.id as string;
    appendFileSync(join(runsDir, "raftpp-uniform-s1", "samples.jsonl"), `${JSON.stringify({ iter: 6, prompt: "Q: 1+1\n", response: "\\boxed{3}", reward: 0 })}\n`);
    const v = (await es.next((e) => e.event === "update" && (e.data as DashboardUpdate).samples[other] !== undefined)).data as DashboardUpdate;
    expect(v.charts).toEqual([]);
    expect(v.samples[other]?.at(-1)).toMatchObject({ iter: 6, reward: 0 });
    es.close();
  });

  it("survives a torn line and a malformed one: the torn one waits for its end, the bad one is reported", async () => {
    const es = events(port);
    await es.next((e) => e.event === "state");
    const path = join(runsDir, "raftpp-gvm-live", "metrics.jsonl");
    const e = JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8").trim().split("\n").filter((l) => l.includes('"kind":"eval"')).at(-1) as string), iter: 99, accuracy: 0.9 });
    appendFileSync(path, e.slice(0, 20));
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(path, `${e.slice(20)}\n{not json\n`);
    const u = (await es.next((x) => x.event === "update" && (x.data as DashboardUpdate).runs.some((r) => r.accuracy === 0.9))).data as DashboardUpdate;
    const r = u.runs.find((x) => x.name === "raftpp-gvm-live");
    expect(r?.problems.some((p) => /metrics\.jsonl:\d+: not valid JSON/.test(p))).toBe(true);
    es.close();
  });

  it("picks up a run that appears under the directory while it watches", async () => {
    const es = events(port);
    await es.next((e) => e.event === "state");
    new SyntheticWriter({ dir: join(runsDir, "raftpp-late-s0"), strategy: "late", seed: 0, iterations: 1 }).writeAll();
    await es.next((e) => e.event === "update" && (e.data as DashboardUpdate).runs.some((r) => r.name === "raftpp-late-s0"));
    es.close();
  });

  it("serves a run's files and refuses every path out of its directory", async () => {
    const s = JSON.parse((await get(port, "/api/state")).body) as DashboardState;
    const id = s.runs.find((r) => r.name === "raftpp-uniform-s0")?.id as string;
    const ok = await get(port, `/runs/${id}/config.json`);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ rl: { strategy: "uniform" } });
    expect(JSON.parse((await get(port, `/runs/${id}/`)).body).entries.map((e: { name: string }) => e.name)).toContain("metrics.jsonl");
    for (const path of [
      `/runs/${id}/../../secret.txt`,
      `/runs/${id}/..%2f..%2fsecret.txt`,
      `/runs/${id}/%2e%2e/%2e%2e/secret.txt`,
      `/runs/${id}/%2fetc%2fpasswd`,
      `/runs/${id}/escape.txt`,
      `/runs/${id}/a%00b`,
      `/runs/${id}/../raftpp-gvm-s0/config.json`,
    ]) {
      const a = await get(port, path);
      expect(a.status, path).toBe(403);
      expect(a.body, path).not.toContain("outside");
    }
    expect((await get(port, `/runs/${id}/nope.json`)).status).toBe(404);
    expect((await get(port, "/runs/r999/config.json")).status).toBe(404);
    expect((await get(port, `/runs/${id}/%E0%A4%A`)).status).toBe(400);
  });

  it("only reads: other methods are refused and the run directories are left as they were", async () => {
    const before = tree(join(runsDir, "raftpp-gvm-s0"));
    expect((await get(port, "/api/state", {}, "POST")).status).toBe(405);
    expect((await get(port, "/runs/r0/config.json", {}, "DELETE")).status).toBe(405);
    expect((await get(port, "/runs/r0/config.json", {}, "PUT")).status).toBe(405);
    await get(port, "/api/state");
    await get(port, "/");
    expect(tree(join(runsDir, "raftpp-gvm-s0"))).toEqual(before);
  });

  it("serves the page and vega from this package, and refuses a foreign Host without a key", async () => {
    const page = await get(port, "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.body).toContain('src="assets/vega.min.js"');
    expect(page.body).not.toMatch(/src="https?:/);
    for (const asset of ["/assets/vega.min.js", "/assets/vega-lite.min.js", "/assets/dashboard.js"]) {
      const a = await get(port, asset, {}, "HEAD");
      expect(a.status, asset).toBe(200);
      expect(Number(a.headers["content-length"]), asset).toBeGreaterThan(1000);
    }
    expect((await get(port, "/api/state", { host: "evil.example:80" })).status).toBe(403);
    expect((await get(port, "/api/state", { host: `localhost:${port}` })).status).toBe(200);
  });
});

describe("gvm dashboard access rules (as gvm serve)", () => {
  it("needs its key when one is set: bearer header, or ?key= once, which sets a cookie", async () => {
    const dir = writeComparison(join(root, "keyed"), ["uniform"], 1, 2)[0] as string;
    const s = new DashboardServer({ dirs: [dir], apiKey: "sesame", logger: quiet });
    const p = (await s.listen(0)).port;
    try {
      expect((await get(p, "/api/state")).status).toBe(401);
      expect((await get(p, "/api/state", { authorization: "Bearer nope" })).status).toBe(401);
      expect((await get(p, "/api/state", { authorization: "Bearer sesame" })).status).toBe(200);
      const login = await get(p, "/?key=sesame");
      expect(login.status).toBe(303);
      const cookie = String(login.headers["set-cookie"]).split(";")[0] as string;
      expect(String(login.headers["set-cookie"])).toMatch(/HttpOnly; SameSite=Strict/);
      expect((await get(p, "/api/state", { cookie })).status).toBe(200);
      expect((await get(p, "/?key=wrong")).status).toBe(401);
    } finally {
      await s.close();
    }
  });

  it("refuses a non-loopback host without a key, unless insecure; the CLI says so with exit 2", async () => {
    const dir = join(root, "keyed");
    await expect(new DashboardServer({ dirs: [dir], logger: quiet }).listen(0, "0.0.0.0")).rejects.toThrow(/not a loopback address and no API key/);
    const r = await gvm("dashboard", dir, "--host", "0.0.0.0", "--port", "0");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--api-key KEY .*or --insecure/);
    expect((await gvm("dashboard", join(root, "missing"))).err).toMatch(/missing: not a directory/);
    expect((await gvm("dashboard", dir, "--port", "x")).code).toBe(2);
    expect((await gvm("--help")).out).toMatch(/dashboard/);
  });
});

describe("the trainer's heartbeat and lock, as the dashboard reads them", () => {
  it("a directory that is itself a run directory is one run", async () => {
    const dir = join(root, "single");
    mkdirSync(dir);
    new SyntheticWriter({ dir, strategy: "gvm", seed: 3, iterations: 2 }).writeAll();
    const s = new DashboardServer({ dirs: [dir], logger: quiet });
    const p = (await s.listen(0)).port;
    try {
      const st = JSON.parse((await get(p, "/api/state")).body) as DashboardState;
      expect(st.runs.map((r) => [r.name, r.seed, r.status])).toEqual([["single", 3, "finished"]]);
    } finally {
      await s.close();
    }
  });
});
