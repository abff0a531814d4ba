/**
 * One run directory as the dashboard holds it in memory: its records (read
 * incrementally from metrics.jsonl), the latest sample responses, the
 * resolved config, the lock and the heartbeat, and a status derived from
 * them. Everything is opened read-only.
 *
 * Memory stays proportional to what the charts need: an iteration's
 * per-prompt ids, p_i and G_i are kept only for the latest iteration (the
 * allocation chart's); older ones keep n_i and levels (the budget chart's).
 */
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { parseMetricsLine, type RunData } from "../report/index.js";
import type { EvalRecord, IterationRecord, MetricsRecord, StepRecord } from "../train/records.js";
import { type Heartbeat, type LockHolder, parseHeartbeat, parseLock, pidAlive, readJsonFile, runStatus, type RunStatus } from "./status.js";
import { JsonlTail } from "./tail.js";

/** What the runs table shows of one run. */
export interface RunSummary {
  id: string;
  /** The directory as given (or found under a directory given). */
  dir: string;
  name: string;
  label: string | null;
  method: string | null;
  strategy: string | null;
  seed: number | null;
  regime: string | null;
  status: RunStatus;
  detail: string;
  /** Iterations completed, and planned per config.json (null: unknown). */
  iter: number;
  planned: number | null;
  step: number;
  samples: number;
  tokens: number | null;
  wallclock: number;
  /** The latest and best test accuracy (null: no evaluation yet). */
  accuracy: number | null;
  best: number | null;
  evals: number;
  records: number;
  heartbeat: Heartbeat | null;
  lock: LockHolder | null;
  /** Lines of metrics.jsonl that could not be read (named by file and line). */
  problems: string[];
}

/** A sample response as samples.jsonl has it: iter, prompt, response, and a verdict (correct, or reward). */
export type SampleRecord = Record<string, unknown>;

export interface RunStateOptions {
  /** Sample responses kept (the newest). */
  samples?: number;
  /** Longest prompt or response text kept, in characters. */
  maxText?: number;
  alive?: (pid: number) => boolean;
  host?: string;
}

const MAX_PROBLEMS = 20;

export class RunState {
  readonly name: string;
  private readonly metrics: JsonlTail;
  private readonly sampleTail: JsonlTail;
  private data: RunData | null = null;
  private records = 0;
  private problems: string[] = [];
  private recent: SampleRecord[] = [];
  private config: Record<string, unknown> | null = null;
  private lock: LockHolder | null = null;
  private heartbeat: Heartbeat | null = null;
  private readonly keep: number;
  private readonly maxText: number;
  private readonly alive: (pid: number) => boolean;
  private readonly host: string;
  /** Bumped whenever the records change (the charts need recomputing). */
  recordsVersion = 0;
  samplesVersion = 0;
  configVersion = 0;

  constructor(
    readonly id: string,
    readonly dir: string,
    o: RunStateOptions = {},
  ) {
    this.name = basename(dir);
    this.metrics = new JsonlTail(join(dir, "metrics.jsonl"));
    this.sampleTail = new JsonlTail(join(dir, "samples.jsonl"));
    this.keep = o.samples ?? 40;
    this.maxText = o.maxText ?? 2000;
    this.alive = o.alive ?? pidAlive;
    this.host = o.host ?? hostname();
  }

  /** The records as the report's chart builders take them; null before the run record is written. */
  runData(): RunData | null {
    return this.data;
  }

  samples(): SampleRecord[] {
    return this.recent;
  }

  resolvedConfig(): Record<string, unknown> | null {
    return this.config;
  }

  /** Reads what changed on disk; true when anything the page shows did. */
  refresh(): boolean {
    const before = [this.recordsVersion, this.samplesVersion, this.configVersion, JSON.stringify([this.lock, this.heartbeat])].join();
    this.readMetrics();
    this.readSamples();
    const config = readJsonFile(join(this.dir, "config.json"));
    if (JSON.stringify(config) !== JSON.stringify(this.config)) {
      this.config = config;
      this.configVersion++;
    }
    this.lock = parseLock(readJsonFile(join(this.dir, "lock")));
    this.heartbeat = parseHeartbeat(readJsonFile(join(this.dir, "heartbeat.json")));
    return before !== [this.recordsVersion, this.samplesVersion, this.configVersion, JSON.stringify([this.lock, this.heartbeat])].join();
  }

  summary(now = Date.now()): RunSummary {
    const d = this.data;
    const lastIt = d?.iterations[d.iterations.length - 1];
    const lastEval = d?.evals[d.evals.length - 1];
    const lastStep = d?.steps[d.steps.length - 1];
    const rl = (this.config?.rl ?? null) as { iterations?: unknown; maxSamples?: unknown } | null;
    const planned = typeof rl?.iterations === "number" ? rl.iterations : null;
    const maxSamples = typeof rl?.maxSamples === "number" ? rl.maxSamples : 0;
    const iter = lastIt?.iter ?? 0;
    const samples = Math.max(lastIt?.samples ?? 0, lastEval?.samples ?? 0, lastStep?.samples ?? 0);
    const tokens = lastIt?.tokens ?? lastEval?.tokens ?? lastStep?.tokens ?? null;
    const wallclock = Math.max(lastIt?.wallclock ?? 0, lastStep?.wallclock ?? 0, lastEval?.wallclock ?? 0);
    const finished = planned !== null && (iter >= planned || (maxSamples > 0 && samples >= maxSamples));
    const s = runStatus({ finished, lock: this.lock, heartbeat: this.heartbeat, iter, planned, iterSeconds: iter > 0 && lastIt ? lastIt.wallclock / iter : null, host: this.host, now, alive: this.alive });
    const detail = d === null && s.status === "running" ? `starting: no records yet; ${s.detail.replace(/^running: /, "")}` : s.detail;
    return {
      id: this.id,
      dir: this.dir,
      name: this.name,
      label: d?.run.label ?? null,
      method: d?.run.method ?? null,
      strategy: d?.run.strategy ?? null,
      seed: d?.run.seed ?? null,
      regime: d?.run.regime ?? null,
      status: s.status,
      detail,
      iter,
      planned,
      step: lastStep?.step ?? lastIt?.step ?? 0,
      samples,
      tokens,
      wallclock,
      accuracy: lastEval?.accuracy ?? null,
      best: d && d.evals.length > 0 ? Math.max(...d.evals.map((e) => e.accuracy)) : null,
      evals: d?.evals.length ?? 0,
      records: this.records,
      heartbeat: this.heartbeat,
      lock: this.lock,
      problems: this.problems,
    };
  }

  private readMetrics(): void {
    const { reset, lines } = this.metrics.read();
    if (reset) {
      this.data = null;
      this.records = 0;
      this.problems = [];
      this.recordsVersion++;
    }
    if (lines.length === 0) return;
    const steps: StepRecord[] = [];
    const iterations: IterationRecord[] = [];
    const evals: EvalRecord[] = [];
    let run = this.data?.run;
    for (const line of lines) {
      let r: MetricsRecord;
      try {
        r = parseMetricsLine(line.text, `${this.metrics.path}:${line.no}`);
      } catch (err) {
        // A complete line that is not a record: shown on the page, never fatal to the others.
        if (this.problems.length < MAX_PROBLEMS) this.problems.push(err instanceof SyntaxError ? `${this.metrics.path}:${line.no}: not valid JSON` : (err as Error).message);
        continue;
      }
      this.records++;
      if (r.kind === "run") run ??= r;
      else if (r.kind === "step") steps.push(r);
      else if (r.kind === "iteration") iterations.push(r);
      else evals.push(r);
    }
    if (run === undefined) {
      if (this.problems.length < MAX_PROBLEMS) this.problems.push(`${this.metrics.path}: no "run" record first (the line a training run writes before any other)`);
      return;
    }
    const d: RunData = this.data ?? { dir: this.dir, run, steps: [], iterations: [], evals: [], evalSummaries: [] };
    append(d.steps, steps, (r) => r.step);
    const previous = d.iterations[d.iterations.length - 1];
    append(d.iterations, iterations, (r) => r.iter);
    // Only the latest iteration's allocation is drawn per prompt; older ones feed the budget shares.
    const newest = d.iterations[d.iterations.length - 1];
    for (const it of [previous, ...iterations]) if (it !== undefined && it !== newest) compact(it);
    append(d.evals, evals, (r) => r.iter);
    this.data = d;
    this.recordsVersion++;
  }

  private readSamples(): void {
    const { reset, lines } = this.sampleTail.read();
    if (reset) {
      this.recent = [];
      this.samplesVersion++;
    }
    if (lines.length === 0) return;
    const fresh: SampleRecord[] = [];
    for (const line of lines.slice(-this.keep)) {
      try {
        const j: unknown = JSON.parse(line.text);
        if (j !== null && typeof j === "object" && !Array.isArray(j)) fresh.push(this.clip(j as SampleRecord));
      } catch {
        // A sample line that cannot be read is skipped: samples are illustrations, not data.
      }
    }
    this.recent = [...this.recent, ...fresh].slice(-this.keep);
    this.samplesVersion++;
  }

  private clip(r: SampleRecord): SampleRecord {
    const out: SampleRecord = {};
    for (const [k, v] of Object.entries(r)) out[k] = typeof v === "string" && v.length > this.maxText ? `${v.slice(0, this.maxText)}…` : v;
    return out;
  }
}

/** Appends records, sorting only when one arrives out of order (the trainer writes in order). */
function append<T>(into: T[], more: readonly T[], key: (r: T) => number): void {
  if (more.length === 0) return;
  const last = into[into.length - 1];
  let ordered = last === undefined || key(more[0] as T) >= key(last);
  for (let i = 1; i < more.length && ordered; i++) ordered = key(more[i] as T) >= key(more[i - 1] as T);
  for (const r of more) into.push(r);
  if (!ordered) into.sort((a, b) => key(a) - key(b));
}

function compact(it: IterationRecord): void {
  const a = it.allocation;
  if (a.ids.length === 0 && a.p.length === 0) return;
  it.allocation = { ids: [], level: a.level, p: [], G: [], n: a.n, status: a.status };
}
