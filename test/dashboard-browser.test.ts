/**
 * gvm dashboard in a real browser (Debian's chromium, driven by
 * playwright-core): a short training run is held between two iterations,
 * the page shows it running, and when the run writes its next evaluation
 * the accuracy chart gains a point without a reload. A finished comparison
 * of 3 strategies x 3 seeds draws every chart. Screenshots of both are
 * saved ($GVM_SCREENSHOTS, else a temporary directory; the paths are
 * printed).
 *
 * Skipped, saying why, only when no chromium is installed.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DashboardServer } from "../src/dashboard/index.js";
import { parseTrainConfig } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { Logger } from "../src/util/log.js";
import { writeComparison } from "./dashboard-helpers.js";

const CHROMIUM = [process.env.GVM_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p): p is string => p !== undefined && p !== "" && existsSync(p));
if (CHROMIUM === undefined) {
  // Printed so a skipped run says why; CI installs chromium (.ci/run), so there it runs.
  console.warn("SKIPPED test/dashboard-browser.test.ts: chromium is not installed (apt-get install -y chromium, or set GVM_CHROMIUM to its path)");
}

/** The flags that keep Debian's chromium from reaching for the network it does not have. */
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const quiet = new Logger({ level: "silent" });
const root = mkdtempSync(join(tmpdir(), "gvm-dashboard-browser-"));
const screens = process.env.GVM_SCREENSHOTS ?? join(root, "screens");
let browser: Browser;

async function open(url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction("window.gvmDashboard && window.gvmDashboard.ready === true", null, { timeout: 30_000 });
  expect(errors).toEqual([]);
  expect(await page.evaluate("window.gvmDashboard.errors")).toEqual([]);
  return page;
}

/** Points drawn on a chart (vega's SVG: one path per symbol). */
const points = (page: Page, chart: string) => page.locator(`#chart-${chart} g.mark-symbol.role-mark path`).count();

describe.skipIf(CHROMIUM === undefined)("gvm dashboard in headless Chromium", () => {
  beforeAll(async () => {
    mkdirSync(screens, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM as string, headless: true, args: FLAGS });
  });

  afterAll(async () => {
    await browser?.close();
    console.log(`dashboard screenshots: ${screens}`);
  });

  it("shows a running run and adds the point of its next evaluation live", async () => {
    const runs = join(root, "runs");
    const runDir = join(runs, "raftpp-gvm-s0");
    const c = parseTrainConfig({
      seed: 0,
      runDir,
      model: { hiddenSize: 16, layers: 1, heads: 2, kvHeads: 2, ffn: 32, maxPositions: 512 },
      suite: { trainSize: 24, testSize: 12 },
      warmStart: { steps: 3, cleanSteps: 2, batchSize: 8, cacheDir: join(root, "cache") },
      rl: { strategy: "gvm", promptsPerIter: 6, budget: 24, stage1: 2, stepsPerIter: 1, iterations: 3, maxNewTokens: 24 },
      eval: { every: 1, k: 1 },
    });
    // The run waits at the checkpoints of iterations 2 and 3, before their evaluations: the test says when it goes on.
    const gates = new Map<number, { reached: () => void; release: () => void; at: Promise<void>; open: Promise<void> }>();
    for (const iter of [2, 3]) {
      let reached = () => {};
      let release = () => {};
      const at = new Promise<void>((r) => (reached = r));
      const open = new Promise<void>((r) => (release = r));
      gates.set(iter, { reached, release, at, open });
    }
    const training = train(c, {
      log: quiet,
      progress: false,
      onCheckpoint: async (_dir, iter) => {
        const g = gates.get(iter);
        if (!g) return;
        g.reached();
        await g.open;
      },
    });
    await gates.get(2)?.at;
    const heartbeat = JSON.parse(readFileSync(join(runDir, "heartbeat.json"), "utf8")) as { pid: number; iter: number };
    expect(heartbeat).toMatchObject({ pid: process.pid, iter: 1 });

    const server = new DashboardServer({ dirs: [runs], logger: quiet, debounceMs: 20, minIntervalMs: 0 });
    const { url } = await server.listen(0);
    try {
      const page = await open(url);
      expect(await page.locator("#runs tbody tr").count()).toBe(1);
      expect(await page.locator('#runs tr[data-status="running"] .badge').textContent()).toBe("running");
      // Evaluations before training and after iteration 1.
      expect(await points(page, "accuracy-vs-step")).toBe(2);
      await page.screenshot({ path: join(screens, "running.png"), fullPage: true });

      const rendersBefore = (await page.evaluate("window.gvmDashboard.renders")) as number;
      gates.get(2)?.release();
      await gates.get(3)?.at;
      await expect.poll(() => points(page, "accuracy-vs-step"), { timeout: 30_000 }).toBe(3);
      expect(await page.evaluate("window.gvmDashboard.renders")).toBeGreaterThan(rendersBefore);
      expect(await points(page, "accuracy-vs-samples")).toBe(3);
      await page.screenshot({ path: join(screens, "running-gained-a-point.png"), fullPage: true });

      gates.get(3)?.release();
      const result = await training;
      expect(result.finished).toBe(true);
      await expect.poll(() => page.locator('#runs tr[data-status="finished"]').count(), { timeout: 30_000 }).toBe(1);
      await expect.poll(() => points(page, "accuracy-vs-step"), { timeout: 30_000 }).toBe(4);
      // Sample responses carry their verdicts; the config is the run's own.
      expect(await page.locator("#samples .verdict").count()).toBeGreaterThan(0);
      expect(await page.locator("#config").textContent()).toContain('"strategy": "gvm"');
      await page.close();
    } finally {
      for (const g of gates.values()) g.release();
      await training.catch(() => undefined);
      await server.close();
    }
  }, 180_000);

  it("draws a finished comparison of 3 strategies x 3 seeds: bands, allocation, budget, time, samples", async () => {
    const dir = join(root, "comparison");
    writeComparison(dir, ["uniform", "gvm", "gvm-ponly"], 3, 16);
    const server = new DashboardServer({ dirs: [dir], logger: quiet });
    const { url } = await server.listen(0);
    try {
      const page = await open(url);
      expect(await page.locator('#runs tr[data-status="finished"]').count()).toBe(9);
      for (const chart of ["accuracy-vs-samples", "accuracy-vs-tokens", "accuracy-vs-wallclock", "accuracy-vs-step", "allocation-vs-p", "allocation-vs-g", "budget-by-level", "time-per-iteration", "training-signals"]) {
        expect(await page.locator(`#chart-${chart} svg`).count(), chart).toBe(1);
      }
      // One mean line with its min-max band per method, 9 evaluations each.
      expect(await page.locator("#chart-accuracy-vs-step g.mark-area.role-mark path").count()).toBe(3);
      expect(await points(page, "accuracy-vs-step")).toBe(27);
      expect(await page.locator("#chart-accuracy-vs-step svg").textContent()).toContain("raftpp/gvm (3 seeds)");
      await page.screenshot({ path: join(screens, "comparison-3x3.png"), fullPage: true });
      await page.close();
    } finally {
      await server.close();
    }
  }, 120_000);
});
