/**
 * bench:verifier — throughput and latency of the math verifier.
 *
 * 1. The 320 public regression cases (../shared/data/verifier_cases.jsonl),
 *    single-threaded, gold cache cleared before each pass (cold parses);
 *    the median of 5 passes.
 * 2. Typical boxed responses generated from the gold answers of the five
 *    benchmarks: per gold, two correct responses (the gold boxed, and the gold
 *    after a "final answer is") and two wrong ones (a perturbed number),
 *    single-threaded (median of 3 passes), then through the worker pool on
 *    all cores (median of 3 passes, threads already started).
 * Prints one JSON line per measurement. Anchors: Math-Verify ~60-120 checks/s
 * on the public cases and ~450 checks/s on simple boxed answers (issue #3).
 */
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BENCHMARKS, loadBenchmark } from "../src/eval/index.js";
import { clearGoldCache, goldCandidates, verify, VerifierPool, type VerifyOptions } from "../src/verify/index.js";
import { median } from "../src/util/stats.js";
import { errorMessage } from "../src/util/errors.js";
import { parseJsonl } from "../src/util/jsonl.js";

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, "..", "..", "shared", "data");

interface Case {
  gold: string;
  pred: string;
  expected: boolean;
  config?: { float_rounding?: number; strict?: boolean; allow_set_relation_comp?: boolean };
}

function readJsonl<T>(path: string): T[] {
  return parseJsonl(readFileSync(path, "utf8"), path, { tornTail: "error" }).lines.map((l) => l.value as T);
}

/** Every gold of the five benchmarks, by the eval layer's gold rules (Minerva: the last box of the solution). */
async function benchmarkGolds(): Promise<string[]> {
  const golds: string[] = [];
  for (const b of BENCHMARKS) golds.push(...(await loadBenchmark(b.name, join(data, "benchmarks"))).problems.map((p) => p.gold));
  return golds;
}

/** The gold with its first number changed (a typical wrong answer). */
function perturb(gold: string, k: number): string {
  const m = /\d+/.exec(gold);
  if (!m) return `${gold}+${k}`;
  return gold.slice(0, m.index) + String(Number(m[0]) + k) + gold.slice(m.index + m[0].length);
}

function typicalResponses(golds: readonly string[]): Array<{ gold: string; response: string }> {
  const prose = "Let's work through this carefully. First we set up the equations, then we substitute 3 and 4, which gives 12; checking the cases again confirms it.";
  const out: Array<{ gold: string; response: string }> = [];
  for (const gold of golds) {
    // the answer as the verifier reads the gold ("$69$,$84$" -> "69, 84"), written into a response
    const g = goldCandidates(gold)[0]?.text ?? gold;
    out.push({ gold, response: `${prose}\n\nTherefore the answer is $\\boxed{${g}}$.` });
    out.push({ gold, response: `${prose}\n\nFinal Answer: The final answer is $${g}$. I hope it is correct.` });
    out.push({ gold, response: `${prose}\n\nSo we get $\\boxed{${perturb(g, 1)}}$.` });
    out.push({ gold, response: `${prose}\n\nThe answer is \\(\\boxed{${perturb(g, 7)}}\\).` });
  }
  return out;
}

interface Timing {
  /** Per-check wall latencies over all passes. */
  latencies: number[];
  /** Wall-clock and CPU milliseconds of the median pass (by wall time), and the fastest pass's wall time. */
  totalMs: number;
  cpuMs: number;
  bestMs: number;
  correct: number;
}

/**
 * Times `passes` passes over the pairs (gold cache cleared before each when
 * `cold`) and keeps the median pass: on a shared machine single passes are
 * disturbed by other processes, the median much less.
 */
function timeAll(pairs: ReadonlyArray<{ gold: string; response: string; options?: VerifyOptions }>, passes: number, cold: boolean): Timing {
  const latencies: number[] = [];
  const runs: Array<{ wall: number; cpu: number }> = [];
  let correct = 0;
  for (let pass = 0; pass < passes; pass++) {
    if (cold) clearGoldCache();
    const cpu0 = process.cpuUsage();
    let wall = 0;
    for (const p of pairs) {
      const t0 = performance.now();
      const v = verify(p.gold, p.response, p.options);
      const dt = performance.now() - t0;
      latencies.push(dt);
      wall += dt;
      if (pass === 0 && v.correct) correct++;
    }
    const cpu = process.cpuUsage(cpu0);
    runs.push({ wall, cpu: (cpu.user + cpu.system) / 1000 });
  }
  runs.sort((a, b) => a.wall - b.wall);
  const mid = runs[Math.floor(runs.length / 2)] as { wall: number; cpu: number };
  return { latencies, totalMs: mid.wall, cpuMs: mid.cpu, bestMs: (runs[0] as { wall: number }).wall, correct };
}

/** One JSON line. Wall-clock rates suffer on a shared machine; the CPU-time rate is this thread's own cost. */
function report(set: string, checks: number, t: Timing, anchor: string, anchorHigh: number, extra: Record<string, unknown> = {}): void {
  const rate = (checks / t.totalMs) * 1000;
  const cpuRate = (checks / t.cpuMs) * 1000;
  const sorted = [...t.latencies].sort((a, b) => a - b);
  const line = {
    bench: "verifier",
    set,
    checks,
    checksPerSec: Math.round(rate),
    checksPerCpuSec: Math.round(cpuRate),
    checksPerSecBestPass: Math.round((checks / t.bestMs) * 1000),
    medianMs: Number(median(t.latencies).toFixed(4)),
    p99Ms: Number((sorted[Math.floor(sorted.length * 0.99)] ?? NaN).toFixed(3)),
    worstMs: Number((sorted[sorted.length - 1] ?? NaN).toFixed(3)),
    anchor,
    speedupVsAnchorHigh: Number((rate / anchorHigh).toFixed(1)),
    cpuSpeedupVsAnchorHigh: Number((cpuRate / anchorHigh).toFixed(1)),
    loadavg1m: Number(loadavg()[0]?.toFixed(2)),
    ...extra,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const cases = readJsonl<Case>(join(data, "verifier_cases.jsonl"));
  const publicPairs = cases.map((c) => ({
    gold: c.gold,
    response: c.pred,
    options: { floatDigits: c.config?.float_rounding ?? 6, strict: c.config?.strict ?? true, allowSetRelationComp: c.config?.allow_set_relation_comp ?? false },
  }));
  timeAll(publicPairs, 2, true); // warm-up (JIT)
  const pub = timeAll(publicPairs, 5, true);
  report("public-320", publicPairs.length, pub, "Math-Verify ~60-120 checks/s", 120, { agreeing: cases.filter((c, i) => verify(c.gold, c.pred, publicPairs[i]?.options).correct === c.expected).length });

  const golds = await benchmarkGolds();
  const boxed = typicalResponses(golds);
  timeAll(boxed, 1, true); // warm-up (JIT)
  const single = timeAll(boxed, 3, true);
  report("boxed-benchmarks", boxed.length, single, "Math-Verify ~450 checks/s", 450, { golds: golds.length, correct: single.correct });

  const workers = availableParallelism();
  const pool = new VerifierPool({ workers, chunkSize: 64 });
  try {
    await pool.verifyAll(boxed); // warm-up: start the threads, JIT in each
    const rates: number[] = [];
    let correct = 0;
    for (let pass = 0; pass < 3; pass++) {
      const t0 = performance.now();
      const verdicts = await pool.verifyAll(boxed);
      rates.push((boxed.length / (performance.now() - t0)) * 1000);
      correct = verdicts.filter((v) => v.correct).length;
    }
    const rate = median(rates);
    process.stdout.write(
      `${JSON.stringify({ bench: "verifier", set: "boxed-benchmarks-batch", workers, checks: boxed.length, checksPerSec: Math.round(rate), correct, anchor: "Math-Verify ~450 checks/s", speedupVsAnchorHigh: Number((rate / 450).toFixed(1)), loadavg1m: Number(loadavg()[0]?.toFixed(2)) })}\n`,
    );
  } finally {
    await pool.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:verifier: ${errorMessage(err)}\n`);
  process.exitCode = 1;
});
