/**
 * bench:dashboard — is `gvm dashboard` responsive with many long runs?
 *
 * Writes RUNS run directories of about RECORDS metrics records each (the
 * trainer's record mix: 3 steps and an iteration per iteration, an
 * evaluation every second one; 64 prompts per allocation), serves them, and
 * prints JSON lines:
 *   - load:    server start to watching (every file read, charts built), the
 *              /api/state answer (time, bytes), the process's memory;
 *   - update:  one run, or every seed of one method, appends an iteration
 *              with an evaluation: time until a page's event stream has it
 *              (median, p95, max over N), the bytes pushed and the charts
 *              resent;
 *   - idle:    CPU time the server burns over IDLE_S seconds with nothing
 *              written (file-system events, no polling: should be ~0);
 *   - browser: with chromium installed, time for the page to draw every
 *              chart, and from every seed of a method appending to the page
 *              having re-drawn its charts.
 *
 * Env: BENCH_RUNS (20), BENCH_RECORDS (10000), BENCH_UPDATES (20),
 * BENCH_IDLE_S (5), GVM_CHROMIUM (path; default /usr/bin/chromium).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DashboardServer, type DashboardState, type DashboardUpdate } from "../src/dashboard/index.js";
import { Logger } from "../src/util/log.js";
import { SyntheticWriter } from "../test/dashboard-helpers.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000);
const UPDATES = Number(process.env.BENCH_UPDATES ?? 20);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 5);
const CHROMIUM = [process.env.GVM_CHROMIUM, "/usr/bin/chromium"].find((p): p is string => p !== undefined && p !== "" && existsSync(p));

const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number;
const round = (x: number) => Math.round(x * 10) / 10;

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    })
      .on("error", reject)
      .end();
  });
}

/** Update events as they arrive on one stream, with the time each was whole. */
function stream(port: number, onUpdate: (u: DashboardUpdate, bytes: number) => void): () => void {
  // Chunks are kept in a list and joined once an event is whole: events run to megabytes.
  let parts: string[] = [];
  const req = request({ host: "127.0.0.1", port, path: "/api/events" }, (res) => {
    res.setEncoding("utf8");
    res.on("data", (c: string) => {
      let rest = c;
      for (let i = rest.indexOf("\n\n"); i !== -1; i = rest.indexOf("\n\n")) {
        const block = parts.join("") + rest.slice(0, i);
        parts = [];
        rest = rest.slice(i + 2);
        if (!block.startsWith("event: update")) continue;
        const data = block.slice(block.indexOf("data: ") + 6);
        onUpdate(JSON.parse(data) as DashboardUpdate, Buffer.byteLength(block));
      }
      if (rest !== "") parts.push(rest);
    });
  });
  req.end();
  return () => req.destroy();
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "gvm-bench-dashboard-"));
  const strategies = ["uniform", "gvm", "gvm-ponly", "knapsack"];
  // Records per iteration: 3 steps + 1 iteration + 1/2 evaluation.
  const iterations = Math.max(1, Math.floor((RECORDS - 2) / 4.5));
  const writers: SyntheticWriter[] = [];
  const tw = process.hrtime.bigint();
  for (let i = 0; i < RUNS; i++) {
    const strategy = strategies[i % strategies.length] as string;
    const seed = Math.floor(i / strategies.length);
    writers.push(new SyntheticWriter({ dir: join(root, `raftpp-${strategy}-s${seed}`), strategy, seed, iterations, planned: iterations + UPDATES + 10, evalEvery: 2, lockPid: process.pid }).writeAll());
  }
  out({ bench: "dashboard", phase: "write", runs: RUNS, records_per_run: 2 + iterations * 4 + Math.floor(iterations / 2), iterations_per_run: iterations, ms: round(ms(tw)) });

  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const server = new DashboardServer({ dirs: [root], logger: new Logger({ level: "warn" }) });
  const { port, url } = await server.listen(0);
  const startMs = ms(t0);
  const t1 = process.hrtime.bigint();
  const body = await get(port, "/api/state");
  const stateMs = ms(t1);
  const state = JSON.parse(body) as DashboardState;
  const cpu = process.cpuUsage(cpu0);
  out({ bench: "dashboard", phase: "load", runs: state.runs.length, charts: state.charts.length, start_ms: round(startMs), state_ms: round(stateMs), state_bytes: body.length, cpu_ms: round((cpu.user + cpu.system) / 1000), rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20) });

  // Update latency. "one run": one run appends an iteration with an evaluation (its seeds have not
  // caught up, so the curves, means over seeds, keep their points: the table changes). "all seeds":
  // every seed of one method appends one, so its curves gain a point and the charts are resent.
  const byMethod = new Map<string, SyntheticWriter[]>();
  writers.forEach((w, i) => {
    const m = strategies[i % strategies.length] as string;
    byMethod.set(m, [...(byMethod.get(m) ?? []), w]);
  });
  const idOf = (w: SyntheticWriter) => state.runs.find((r) => r.dir === dirname(w.metricsPath))?.id as string;
  /** Appends so each writer's next iteration carries an evaluation (even iterations do). */
  const step = (ws: readonly SyntheticWriter[]) => {
    for (const w of ws) {
      if ((w.iter + 1) % 2 !== 0) w.appendIteration();
      w.appendIteration();
    }
  };
  for (const mode of ["one run", "all seeds"] as const) {
    const lat: number[] = [];
    const bytes: number[] = [];
    const charts: number[] = [];
    let waiting: { ids: Map<string, number>; t0: bigint; done: () => void } | null = null;
    const close = stream(port, (u, b) => {
      const w = waiting;
      if (w === null || ![...w.ids].every(([id, iter]) => (u.runs.find((r) => r.id === id)?.iter ?? 0) >= iter)) return;
      lat.push(ms(w.t0));
      bytes.push(b);
      charts.push(u.charts.length);
      waiting = null;
      w.done();
    });
    await new Promise((r) => setTimeout(r, 300));
    for (let k = 0; k < UPDATES; k++) {
      const ws = mode === "one run" ? [writers[k % writers.length] as SyntheticWriter] : (byMethod.get(strategies[k % strategies.length] as string) as SyntheticWriter[]);
      await new Promise<void>((done) => {
        const t0 = process.hrtime.bigint();
        step(ws);
        waiting = { ids: new Map(ws.map((w) => [idOf(w), w.iter])), t0, done };
      });
      await new Promise((r) => setTimeout(r, 250));
    }
    close();
    out({ bench: "dashboard", phase: "update", mode, updates: lat.length, median_ms: round(pct(lat, 0.5)), p95_ms: round(pct(lat, 0.95)), max_ms: round(Math.max(...lat)), median_bytes: pct(bytes, 0.5), median_charts_resent: pct(charts, 0.5) });
  }

  const idle0 = process.cpuUsage();
  const ti = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const idle = process.cpuUsage(idle0);
  out({ bench: "dashboard", phase: "idle", seconds: IDLE_S, cpu_ms: round((idle.user + idle.system) / 1000), cpu_percent: round((100 * (idle.user + idle.system)) / 1000 / ms(ti)) });

  if (CHROMIUM === undefined) {
    out({ bench: "dashboard", phase: "browser", skipped: "chromium is not installed (apt-get install -y chromium)" });
  } else {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      const tb = process.hrtime.bigint();
      await page.goto(url);
      await page.waitForFunction("window.gvmDashboard && window.gvmDashboard.ready === true", null, { timeout: 120_000 });
      const loadMs = ms(tb);
      const drawn: number[] = [];
      for (let k = 0; k < Math.min(UPDATES, 10); k++) {
        const ws = byMethod.get(strategies[k % strategies.length] as string) as SyntheticWriter[];
        const renders = (await page.evaluate("window.gvmDashboard.renders")) as number;
        const ta = process.hrtime.bigint();
        step(ws);
        await page.waitForFunction(`window.gvmDashboard.renders > ${renders} && window.gvmDashboard.inflight === 0`, null, { timeout: 60_000, polling: 10 });
        drawn.push(ms(ta));
        await new Promise((r) => setTimeout(r, 300));
      }
      out({ bench: "dashboard", phase: "browser", load_ms: round(loadMs), redraw_median_ms: round(pct(drawn, 0.5)), redraw_p95_ms: round(pct(drawn, 0.95)), redraw_max_ms: round(Math.max(...drawn)), updates: drawn.length });
    } finally {
      await browser.close();
    }
  }
  await server.close();
  rmSync(root, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:dashboard failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
