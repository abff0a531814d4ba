/**
 * Reading what the report shows: training run directories (metrics.jsonl
 * records of src/train/records.ts) and evaluation directories (summary.json
 * of `gvm eval`). A torn last line (a run killed mid-write, or still
 * running) is tolerated; any other malformed line is an error naming the
 * file and line.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { type EvalSummary, readEvalSummary } from "../eval/index.js";
import type { EvalRecord, IterationRecord, MetricsRecord, RunRecord, StepRecord } from "../train/records.js";
import { DataError, errorMessage } from "../util/errors.js";
import { parseJsonl } from "../util/jsonl.js";
import { defaultLogger, type Logger } from "../util/log.js";

export interface RunData {
  dir: string;
  run: RunRecord;
  steps: StepRecord[];
  iterations: IterationRecord[];
  evals: EvalRecord[];
  /** Evaluations of this run's checkpoints (RUN_DIR/eval/<label>/summary.json). */
  evalSummaries: EvalSummary[];
}

export interface ReportInputs {
  runs: RunData[];
  /** Evaluation summaries given directly (not inside a run). */
  evalSummaries: EvalSummary[];
}

const KINDS = new Set(["run", "step", "iteration", "eval"]);

/**
 * One line of metrics.jsonl as a record; `where` (path:line) names it in
 * errors. Throws SyntaxError for text that is not JSON (the caller decides
 * whether that is a torn last line) and DataError for a foreign record.
 */
export function parseMetricsLine(line: string, where: string): MetricsRecord {
  return metricsRecord(JSON.parse(line), where);
}

/** A parsed line of metrics.jsonl as a record; DataError for a foreign one. */
function metricsRecord(r: unknown, where: string): MetricsRecord {
  const kind = (r as { kind?: unknown } | null)?.kind;
  if (typeof kind !== "string" || !KINDS.has(kind)) throw new DataError(`${where}: expected a record with kind run, step, iteration or eval, got kind ${JSON.stringify(kind)}`);
  return r as MetricsRecord;
}

/** Every record of a run directory's metrics.jsonl, each with the file:line that names it in errors. */
function readRecords(dir: string, logger: Logger): Array<{ record: MetricsRecord; where: string }> {
  const path = join(dir, "metrics.jsonl");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new DataError(`${path}: cannot read (${errorMessage(err)}); is ${dir} a run directory?`);
  }
  const { lines, torn } = parseJsonl(text, path);
  if (torn) logger.warn(`${path}:${torn.line}: ignoring a torn last line (run killed mid-write or still running)`);
  return lines.map(({ line, value }) => ({ record: metricsRecord(value, `${path}:${line}`), where: `${path}:${line}` }));
}

/** Reads one run directory's metrics.jsonl. */
export function readRun(dir: string, logger: Logger = defaultLogger()): RunData {
  const records = readRecords(dir, logger).map((r) => r.record);
  const run = records.find((r): r is RunRecord => r.kind === "run");
  if (!run) throw new DataError(`${join(dir, "metrics.jsonl")}: no "run" record (the first line a training run writes)`);
  const byIter = <T extends { iter: number }>(xs: T[]) => xs.sort((a, b) => a.iter - b.iter);
  return {
    dir,
    run,
    steps: records.filter((r): r is StepRecord => r.kind === "step").sort((a, b) => a.step - b.step),
    iterations: byIter(records.filter((r): r is IterationRecord => r.kind === "iteration")),
    evals: byIter(records.filter((r): r is EvalRecord => r.kind === "eval")),
    evalSummaries: summariesUnder(join(dir, "eval")),
  };
}

/** The iteration record `iter` of a run directory, with the file:line it came from; DataError naming the iterations present when there is none. */
export function readIteration(dir: string, iter: number, logger: Logger = defaultLogger()): { record: IterationRecord; where: string } {
  const iterations = readRecords(dir, logger).filter((r): r is { record: IterationRecord; where: string } => r.record.kind === "iteration");
  const found = iterations.find((r) => r.record.iter === iter);
  if (!found) throw new DataError(`${join(dir, "metrics.jsonl")}: no iteration record with iter ${iter} (iterations present: ${iterations.map((r) => String(r.record.iter)).join(", ") || "none"})`);
  return found;
}

/** Evaluation summaries in dir/<label>/summary.json (none when dir is absent). */
function summariesUnder(dir: string): EvalSummary[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .sort()
    .filter((name) => existsSync(join(dir, name, "summary.json")))
    .map((name) => readEvalSummary(join(dir, name)));
}

/**
 * Sorts report arguments into run directories (metrics.jsonl), evaluation
 * directories (summary.json) and evaluation roots (subdirectories with
 * summary.json, as `gvm eval --out` writes).
 */
export function readInputs(paths: readonly string[], logger: Logger = defaultLogger()): ReportInputs {
  const runs: RunData[] = [];
  const evalSummaries: EvalSummary[] = [];
  for (const p of paths) {
    if (!existsSync(p) || !statSync(p).isDirectory()) throw new DataError(`${p}: not a directory (expected a run directory or an evaluation directory)`);
    if (existsSync(join(p, "metrics.jsonl"))) runs.push(readRun(p, logger));
    else if (existsSync(join(p, "summary.json"))) evalSummaries.push(readEvalSummary(p));
    else {
      const found = summariesUnder(p);
      if (found.length === 0) throw new DataError(`${p}: neither a run directory (no metrics.jsonl) nor an evaluation directory (no summary.json in it or its subdirectories)`);
      evalSummaries.push(...found);
    }
  }
  return { runs, evalSummaries };
}

/** A run's name in legends: its label, and its seed when seeds are grouped. */
export function runName(r: RunData): string {
  return `${r.run.label} (seed ${r.run.seed}, ${basename(r.dir)})`;
}
