import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { gvm } from "./cli-helpers.js";
import { readInputs, readRun, writeReport } from "../src/report/index.js";
import { parseTrainConfig } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { Logger } from "../src/util/log.js";


const root = mkdtempSync(join(tmpdir(), "gvm-report-"));
const quiet = new Logger({ level: "silent" });
const runs = [
  { dir: join(root, "gvm-s0"), strategy: "gvm", seed: 0 },
  { dir: join(root, "gvm-s1"), strategy: "gvm", seed: 1 },
  { dir: join(root, "uniform-s0"), strategy: "uniform", seed: 0 },
  { dir: join(root, "uniform-s1"), strategy: "uniform", seed: 1 },
];


beforeAll(async () => {
  for (const r of runs) {
    const c = parseTrainConfig({
      seed: r.seed,
      runDir: r.dir,
      model: { hiddenSize: 16, layers: 1, heads: 2, kvHeads: 2, ffn: 32, maxPositions: 512 },
      suite: { trainSize: 24, testSize: 12 },
      warmStart: { steps: 3, cleanSteps: 2, batchSize: 8, cacheDir: join(root, "cache") },
      rl: { strategy: r.strategy, promptsPerIter: 6, budget: 24, stage1: 2, stepsPerIter: 1, iterations: 3, maxNewTokens: 24 },
      eval: { every: 1, k: 1 },
    });
    await train(c, { log: quiet, progress: false });
  }
  // A benchmark evaluation of one checkpoint, where the report looks for it,
  // on a two-problem MATH500-format file the test writes (rows as in the set).
  const benchDir = join(root, "benchmarks");
  mkdirSync(benchDir, { recursive: true });
  const rows = [
    { problem: "What is $1+1$?", answer: "2", unique_id: "test/algebra/1.json", level: 1, subject: "Algebra" },
    { problem: "Compute $\\frac{6}{3}$.", answer: "2", unique_id: "test/prealgebra/2.json", level: 2, subject: "Prealgebra" },
  ];
  writeFileSync(join(benchDir, "math500.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const ckpt = join(runs[0]?.dir as string, "checkpoints", "iter-000003");
  const e = await gvm("eval", "--model", ckpt, "--benchmarks", benchDir, "--only", "math500", "--max-tokens", "4", "--out", join(runs[0]?.dir as string, "eval"), "--quiet");
  if (e.code !== 0) throw new Error(`eval failed: ${e.err}`);
}, 120_000);

describe("gvm report from real training runs", () => {
  it("reads the trainer's records", () => {
    const r = readRun(runs[0]?.dir as string, quiet);
    expect(r.run.label).toBe("raftpp/gvm");
    expect(r.iterations.map((i) => i.iter)).toEqual([1, 2, 3]);
    expect(r.evals.map((e) => e.iter)).toEqual([0, 1, 2, 3]);
    expect(r.evalSummaries).toHaveLength(1);
  });

  it("writes the page, PNG and SVG charts, with one series per method and a point per evaluation", async () => {
    const out = join(root, "report");
    const inputs = readInputs(runs.map((r) => r.dir), quiet);
    const result = await writeReport(inputs, out, { logger: quiet });
    // The chart set gvm dashboard draws too: an accuracy chart per counter the records carry.
    const charts = ["accuracy-vs-samples", "accuracy-vs-tokens", "accuracy-vs-wallclock", "accuracy-vs-step", "allocation-vs-p", "allocation-vs-g", "budget-by-level", "time-per-iteration", "training-signals"];
    expect(result.charts).toEqual(charts);
    for (const c of charts) {
      for (const ext of ["svg", "png", "vl.json"]) expect(existsSync(join(out, `${c}.${ext}`)), `${c}.${ext}`).toBe(true);
      const png = readFileSync(join(out, `${c}.png`));
      expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
      expect(png.readUInt32BE(16)).toBeGreaterThan(400);
    }
    const svg = readFileSync(join(out, "accuracy-vs-samples.svg"), "utf8");
    for (const label of ["raftpp/gvm (2 seeds)", "raftpp/uniform (2 seeds)"]) {
      expect(svg).toContain(`>${label}</text>`);
      // One point per evaluation, at the mean response count of the seeds.
      const data = inputs.runs.filter((r) => `${r.run.label} (2 seeds)` === label);
      for (let i = 0; i < 4; i++) {
        const x = data.reduce((a, r) => a + (r.evals[i]?.samples ?? Number.NaN), 0) / data.length;
        expect(svg, `${label} point ${i}`).toMatch(new RegExp(`aria-label="[^"]*${x.toLocaleString("en-US").replace(/[.,]/g, "\\$&")}[^"]*${label.replace(/[()/]/g, "\\$&")}`));
      }
    }
    expect(svg).toContain("Generated responses (cumulative, stage 1 included)");
    expect(svg).toContain("Test accuracy");
    const budget = readFileSync(join(out, "budget-by-level.svg"), "utf8");
    expect(budget).toContain("Share of responses");
    expect(budget).toContain(">Level</text>");
    const html = readFileSync(join(out, "index.html"), "utf8");
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(html.match(/<svg/g)?.length).toBe(9);
    expect(readFileSync(join(out, "time-per-iteration.svg"), "utf8")).toContain(">sampling</text>");
    expect(readFileSync(join(out, "training-signals.svg"), "utf8")).toContain(">entropy</text>");
    expect(html).toContain("<th>MATH500</th>");
    expect(html).toContain("gvm-s0/iter-000003");
    expect(html).toContain("Built-in suite: test accuracy per difficulty level");
  });

  it("runs as gvm report, with usage errors exit 2 and unreadable runs exit 1", async () => {
    const out = join(root, "cli-report");
    const ok = await gvm("report", ...runs.map((r) => r.dir), "--out", out, "--iteration", "2");
    expect(ok.code).toBe(0);
    expect(ok.out.trim()).toBe(join(out, "index.html"));
    expect(readFileSync(join(out, "index.html"), "utf8")).toContain("iteration 2");
    expect((await gvm("report", "--out", out)).code).toBe(2);
    expect((await gvm("report", runs[0]?.dir as string)).err).toMatch(/--out DIR is required/);
    expect((await gvm("report", runs[0]?.dir as string, "--out", out, "--iteration", "0")).code).toBe(2);
    const missing = await gvm("report", join(root, "nope"), "--out", out);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope: not a directory/);
    const broken = join(root, "broken");
    await gvm("report", runs[0]?.dir as string, "--out", broken);
    const copy = mkdtempSync(join(root, "copy-"));
    const lines = readFileSync(join(runs[0]?.dir as string, "metrics.jsonl"), "utf8").split("\n");
    writeFileSync(join(copy, "metrics.jsonl"), [lines[0], "{not json", ...lines.slice(1)].join("\n"));
    const bad = await gvm("report", copy, "--out", broken);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/metrics\.jsonl:2: not valid JSON/);
    // A torn last line (a run still writing) is tolerated.
    writeFileSync(join(copy, "metrics.jsonl"), lines.join("\n"));
    appendFileSync(join(copy, "metrics.jsonl"), '{"kind":"step","it');
    expect((await gvm("report", copy, "--out", broken)).code).toBe(0);
  });
});
