/**
 * bench:reliability — the long parts of the reliability suite (issue #14 s5);
 * `npm run test:reliability` runs the fast parts (test/reliability-*.test.ts)
 * and then this. Prints one JSON line per trial or measurement and one
 * summary line per part ("part": ...); exits 1 when a part fails its bar.
 *
 *  crash   `gvm train` killed with SIGKILL at a tick of each phase or after a
 *          random delay, then rerun: resumed, metrics, samples and final
 *          weights identical to an uninterrupted run (--trials, default 24).
 *  fuzz    --fuzz verifier cases (default 100,000) in child processes with a
 *          watchdog: exceptions, internal errors, hangs, calls past the
 *          deadline, worst latency (wall and CPU), false positives and
 *          unparsable boxes verified correct.
 *  remote  the remote sampler against a flaky server (30% of calls fail):
 *          every response in place; then SIGKILLed several times and rerun.
 *  serve   `gvm serve` on 127.0.0.1 with 1, 8 and 64 clients: throughput,
 *          p50/p99 latency, shed answers, RSS; oversized requests timed at
 *          rest and under load; alive and stopping cleanly after.
 *
 * Usage: tsx bench/reliability.ts [--only crash,fuzz,remote,serve] [--trials N] [--fuzz N] [--fuzz-procs P] [--seed S] [--level-seconds S]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ByteTokenizer, LlamaModel, parseModelConfig, saveCheckpoint } from "../src/model/index.js";
import { RemoteSampler } from "../src/rollout/index.js";
import { Logger } from "../src/util/log.js";
import { Rng } from "../src/util/rng.js";
import { crashTrials } from "../test/reliability/crash-trials.js";
import { checkResults, flakyRequests, startFlakyServer } from "../test/reliability/flaky-server.js";
import { killedSampler } from "../test/reliability/remote-trials.js";
import { loadLevel, oversized, oversizedOnce, quantile, rssMb, startServe } from "../test/reliability/serve-load.js";
import { emptyStats, type FuzzStats, mergeStats } from "../test/reliability/verifier-fuzz.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    only: { type: "string", default: "crash,fuzz,remote,serve" },
    trials: { type: "string", default: "24" },
    fuzz: { type: "string", default: "100000" },
    "fuzz-procs": { type: "string", default: "2" },
    seed: { type: "string", default: "14" },
    "level-seconds": { type: "string", default: "8" },
  },
});
const parts = new Set(String(values.only).split(","));
const seed = Number(values.seed);
const tmp = mkdtempSync(join(tmpdir(), "gvm-bench-reliability-"));
const emit = (line: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
let failed = false;
/** Numbers of a result rounded to 2 decimals, for printing. */
const round2 = (r: object): Record<string, unknown> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "number" ? round(v, 2) : v]));
emit({ bench: "reliability", cores: availableParallelism(), loadavg: loadavg().map((x) => round(x, 2)), node: process.version });

async function crash(): Promise<void> {
  const t0 = performance.now();
  const r = await crashTrials({ dir: join(tmp, "crash"), trials: Number(values.trials), seed, onTrial: (t) => emit({ part: "crash-trial", ...t, seconds: round(t.seconds) }) });
  const good = r.trials.filter((t) => t.resumed && t.metricsIdentical && t.samplesIdentical && t.weightsIdentical && t.error === undefined);
  const byPhase: Record<string, number> = {};
  for (const t of r.trials) byPhase[t.diedIn] = (byPhase[t.diedIn] ?? 0) + 1;
  const pass = good.length === r.trials.length && r.trials.length >= 20;
  failed ||= !pass;
  emit({ part: "crash-resume", pass, trials: r.trials.length, kills: r.trials.reduce((a, t) => a + t.kills, 0), resumedIdentical: good.length, diedIn: byPhase, ticks: r.ticks, runSeconds: round(r.referenceSeconds, 2), seconds: round((performance.now() - t0) / 1000) });
}

/** Cases [from, to) in a child process; a child silent for `watchdogMs` is killed and its hang recorded, and the range resumes past it. */
async function fuzzRange(from: number, to: number, timeoutMs: number, watchdogMs: number): Promise<{ stats: FuzzStats; hangs: number[] }> {
  let stats = emptyStats();
  const hangs: number[] = [];
  let start = from;
  while (start < to) {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test", "reliability", "fuzz-child.ts"), String(seed), String(start), String(to), String(timeoutMs)], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, GVM_LOG_LEVEL: "silent" } });
    let done = start;
    let last = Date.now();
    let buf = "";
    let got: FuzzStats | null = null;
    child.stdout.on("data", (c: Buffer) => {
      last = Date.now();
      buf += String(c);
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const msg = JSON.parse(buf.slice(0, nl)) as { done?: number; stats?: FuzzStats };
        buf = buf.slice(nl + 1);
        if (msg.done !== undefined) done = msg.done;
        if (msg.stats) got = msg.stats;
      }
    });
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    const dog = setInterval(() => {
      if (Date.now() - last > watchdogMs) child.kill("SIGKILL");
    }, 1000);
    await exited;
    clearInterval(dog);
    if (got) {
      stats = mergeStats(stats, got);
      break;
    }
    // Silent past the watchdog (or crashed): the case after the last report hangs; its 200-case window is skipped.
    hangs.push(done);
    start = done + 200;
  }
  return { stats, hangs };
}

async function fuzz(): Promise<void> {
  const n = Number(values.fuzz);
  const procs = Math.max(1, Number(values["fuzz-procs"]));
  const timeoutMs = 1000;
  const t0 = performance.now();
  const step = Math.ceil(n / procs);
  const ranges = await Promise.all(Array.from({ length: procs }, (_, p) => fuzzRange(p * step, Math.min(n, (p + 1) * step), timeoutMs, 30_000)));
  const stats = ranges.reduce((a, r) => mergeStats(a, r.stats), emptyStats());
  const hangs = ranges.flatMap((r) => r.hangs);
  for (const [kind, k] of Object.entries(stats.byKind)) emit({ part: "fuzz-kind", kind, cases: k.cases, correct: k.correct, worstWallMs: round(k.worstWallMs), reasons: k.reasons });
  for (const f of stats.failures) emit({ part: "fuzz-failure", seed, ...f });
  for (const f of stats.slow) emit({ part: "fuzz-over-deadline", seed, index: f.index, kind: f.kind, shape: f.shape, chars: f.chars, wallMs: round(f.wallMs), cpuMs: round(f.cpuMs), reason: f.reason });
  const pass = stats.cases + hangs.length * 200 >= n && stats.exceptions === 0 && stats.internalErrors === 0 && stats.violations === 0 && hangs.length === 0;
  failed ||= !pass;
  const w = stats.worst;
  emit({
    part: "verifier-fuzz",
    pass,
    seed,
    cases: stats.cases,
    exceptions: stats.exceptions,
    internalErrors: stats.internalErrors,
    hangs: hangs.length,
    violations: stats.violations,
    deadlineMs: timeoutMs,
    overDeadline: stats.overDeadline,
    worstWallMs: round(stats.worstWallMs),
    worstCpuMs: round(stats.worstCpuMs),
    worstCase: w ? { index: w.index, kind: w.kind, shape: w.shape, chars: w.chars, reason: w.reason } : null,
    expectedCorrect: `${stats.expectedCorrectHit}/${stats.expectedCorrect}`,
    procs,
    seconds: round((performance.now() - t0) / 1000),
  });
}

async function remote(): Promise<void> {
  const t0 = performance.now();
  const requests = flakyRequests(1000);
  const server = await startFlakyServer({ failRate: 0.3, seed });
  try {
    const sampler = new RemoteSampler({ baseUrl: server.url, model: "flaky", concurrency: 8, maxNPerRequest: 4, maxRetries: 30, retryDelayMs: 5, maxRetryDelayMs: 100, timeoutMs: 500, logger: new Logger({ level: "silent" }) });
    const got = await sampler.sample(requests, { temperature: 1, topP: 1, topK: 0, maxNewTokens: 16 });
    const problems = checkResults(requests, got);
    const responses = requests.reduce((a, r) => a + r.n, 0);
    emit({ part: "remote-flaky", pass: problems.length === 0, requests: requests.length, responses, received: got.reduce((a, r) => a + r.length, 0), problems: problems.slice(0, 5), calls: { ...server.counts }, choicesServed: server.choicesServed, seconds: round((performance.now() - t0) / 1000) });
    failed ||= problems.length > 0;
  } finally {
    await server.close();
  }
  const t1 = performance.now();
  const killed = await startFlakyServer({ failRate: 0.3, seed: seed + 1, latencyMs: 20 });
  try {
    const r = await killedSampler({ url: killed.url, dir: join(tmp, "remote"), count: 400, kills: 5, seed, growth: 30, timeoutMs: 300_000 });
    const pass = r.finished && r.problems.length === 0 && r.cacheKeys === r.cacheLines && r.kills === 5;
    failed ||= !pass;
    emit({ part: "remote-sigkill", pass, kills: r.kills, runs: r.runs, responses: r.responses, cacheLines: r.cacheLines, cacheKeys: r.cacheKeys, choicesServed: killed.choicesServed, problems: r.problems.slice(0, 5), calls: { ...killed.counts }, seconds: round((performance.now() - t1) / 1000) });
  } finally {
    await killed.close();
  }
}

async function serve(): Promise<void> {
  const t0 = performance.now();
  const modelDir = join(tmp, "serve-model");
  const tok = new ByteTokenizer();
  saveCheckpoint(modelDir, LlamaModel.init(parseModelConfig({ model_type: "llama", vocab_size: tok.vocabSize, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 256, tie_word_embeddings: true }), new Rng(seed)));
  const s = await startServe(modelDir);
  const pid = s.child.pid as number;
  const seconds = Number(values["level-seconds"]);
  try {
    await loadLevel(s.base, pid, 2, 1);
    const rssStart = rssMb(pid);
    emit({ part: "serve-idle", rssMb: round(rssStart) });
    const kinds = ["declared", "streamed", "prompt"] as const;
    for (const kind of kinds) emit({ part: "serve-oversized", ...round2(await oversized(s.base, kind, 10, "at rest")) });
    const levels = [];
    for (const clients of [1, 8, 64]) {
      const r = await loadLevel(s.base, pid, clients, seconds);
      levels.push(r);
      emit({ part: "serve-load", ...round2(r) });
    }
    // Oversized requests while 64 clients keep the queue full (429 is shedding too: before the body is read).
    const busy = loadLevel(s.base, pid, 64, seconds);
    await new Promise((r) => setTimeout(r, 1000));
    for (const kind of kinds) emit({ part: "serve-oversized", ...round2(await oversized(s.base, kind, 10, "64 clients")) });
    const under = await busy;
    emit({ part: "serve-load", ...round2(under), with: "the oversized requests above" });
    // The probe, at rest: 50 concurrent ~1 MB prompts past the prompt limit; /health must answer meanwhile and RSS stay put.
    const rssBefore = rssMb(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(pid))), 50);
    const burst = Promise.all(Array.from({ length: 50 }, () => oversizedOnce(s.base, "prompt")));
    const h0 = performance.now();
    const health = await fetch(`${s.base}/health`);
    const healthMs = performance.now() - h0;
    const shed = await burst;
    clearInterval(sampler);
    const rssEnd = rssMb(pid);
    const alive = s.child.exitCode === null && (await fetch(`${s.base}/health`)).status === 200;
    emit({ part: "serve-burst", prompts: 50, status: [...new Set(shed.map((x) => x.status))], p50Ms: round(quantile(shed.map((x) => x.ms), 0.5)), maxMs: round(Math.max(...shed.map((x) => x.ms))), healthStatus: health.status, healthMs: round(healthMs), rssBeforeMb: round(rssBefore), rssPeakMb: round(rssPeak) });
    const code = await s.stop();
    const rssMax = Math.max(...levels.map((l) => l.rssMaxMb), under.rssMaxMb);
    const errors = levels.reduce((a, l) => a + l.errors, 0) + under.errors;
    const pass = alive && code === 0 && errors === 0 && Math.max(rssMax, rssPeak) < 2 * rssStart;
    failed ||= !pass;
    emit({ part: "serve", pass, crashed: !alive, exitCode: code, errors, rssStartMb: round(rssStart), rssMaxMb: round(Math.max(rssMax, rssPeak)), rssEndMb: round(rssEnd), seconds: round((performance.now() - t0) / 1000) });
  } finally {
    if (s.child.exitCode === null) s.child.kill("SIGKILL");
  }
}

try {
  if (parts.has("crash")) await crash();
  if (parts.has("fuzz")) await fuzz();
  if (parts.has("remote")) await remote();
  if (parts.has("serve")) await serve();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
emit({ bench: "reliability", pass: !failed, loadavg: loadavg().map((x) => round(x, 2)) });
process.exitCode = failed ? 1 : 0;
