/**
 * An evaluation's directory, built so an interrupted evaluation resumes
 * without redoing or losing finished problems:
 *
 *   config.json      what was evaluated and how (a rerun must match it)
 *   <set>.jsonl      one ProblemRecord per finished problem, appended per batch
 *   summary.json     per-set summaries and the paper's averages
 *   table.md         the summary as a table
 *
 * A kill can only tear the last line of a results file; on resume that line
 * is cut off and its problems are evaluated again, with the same seeds, so
 * the final records are those an uninterrupted run would have written.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Sampler } from "../rollout/index.js";
import { atomicWrite } from "../util/atomic.js";
import { ConfigError, DataError, describe, errorMessage } from "../util/errors.js";
import { parseJsonl } from "../util/jsonl.js";
import { defaultLogger, type Logger } from "../util/log.js";
import { ProgressBar } from "../util/progress.js";
import { BENCHMARKS, THREE_BENCHMARKS, type EvalProblem } from "./benchmarks.js";
import type { Grader } from "./grade.js";
import { evaluateProblems, type ProblemRecord, type SamplingSettings } from "./harness.js";
import type { ChatFormat, PromptTemplate } from "./prompt.js";
import { formatMarkdown, levelTable, paperTable, type SetSummary, setAverage, summarizeSet } from "./summary.js";

/** What an evaluation directory was created for; a resumed run must match it. */
export interface EvalConfig {
  /** Row label in tables (model or checkpoint). */
  label: string;
  /** Model directory or endpoint the responses came from. */
  model: string;
  sampling: SamplingSettings;
  template: PromptTemplate;
}

export interface EvalSummary extends EvalConfig {
  sets: Record<string, SetSummary>;
  /** Mean avg@k over the five benchmarks (null unless all five were evaluated). */
  avg5: number | null;
  /** Mean avg@k over MATH500, Minerva Math and OlympiadBench (null unless all three were). */
  avg3: number | null;
  updated: string;
}

export interface EvalSet {
  name: string;
  problems: readonly EvalProblem[];
  grader: Grader;
  /** Template for this set; the config's by default (the built-in suite uses its raw prompts). */
  template?: PromptTemplate;
}

const SET_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * The fields of a stored record that resuming and summarising read: a line
 * that parses but lacks them (an edited or foreign file) is named with the
 * field, rather than summarised as garbage.
 */
function checkRecord(r: unknown, where: string): asserts r is ProblemRecord {
  if (r === null || typeof r !== "object" || Array.isArray(r)) throw new DataError(`${where}: expected a problem record (a JSON object), found ${describe(r)}`);
  const o = r as Record<string, unknown>;
  const bad = (field: string, want: string): never => {
    throw new DataError(`${where}: field "${field}" must be ${want}, found ${describe(o[field])}; the file is damaged: delete it to evaluate the set again`);
  };
  if (typeof o.id !== "string") bad("id", "a string");
  if (typeof o.gold !== "string") bad("gold", "a string");
  const k = o.k;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1) bad("k", "an integer >= 1");
  if (typeof o.correct !== "number" || !Number.isInteger(o.correct) || o.correct < 0 || o.correct > (k as number)) bad("correct", `an integer in [0, ${k}]`);
  if (typeof o.avg !== "number" || !Number.isFinite(o.avg)) bad("avg", "a number");
  if (typeof o.maj !== "boolean") bad("maj", "true or false");
  if (o.pass === null || typeof o.pass !== "object" || Object.values(o.pass).some((v) => typeof v !== "number")) bad("pass", "an object of numbers");
  if (o.level !== null && typeof o.level !== "string") bad("level", "a string or null");
  if (typeof o.seconds !== "number" || !Number.isFinite(o.seconds)) bad("seconds", "a number");
  if (!Array.isArray(o.responses) || o.responses.length !== k) bad("responses", `a list of ${k} responses`);
  (o.responses as unknown[]).forEach((x, j) => {
    const resp = x as Record<string, unknown> | null;
    if (resp === null || typeof resp !== "object" || typeof resp.correct !== "boolean" || typeof resp.tokens !== "number" || typeof resp.finish !== "string") {
      throw new DataError(`${where}: field "responses[${j}]" must be a response record {text, extracted, correct, finish, tokens, ...}, found ${describe(x)}; the file is damaged: delete it to evaluate the set again`);
    }
  });
}

export class EvalDir {
  private constructor(
    readonly path: string,
    readonly config: EvalConfig,
  ) {}

  /** Opens (or creates) an evaluation directory; an existing one must have the same config. */
  static open(path: string, config: EvalConfig): EvalDir {
    mkdirSync(path, { recursive: true });
    const configPath = join(path, "config.json");
    const text = `${JSON.stringify(config, null, 2)}\n`;
    if (existsSync(configPath)) {
      const old = readFileSync(configPath, "utf8");
      if (old !== text) {
        let stored: unknown;
        try {
          stored = JSON.parse(old);
        } catch (err) {
          throw new DataError(`${configPath}: not valid JSON (${(err as Error).message}); restore it, or use another --out`, { cause: err });
        }
        const diffs = diffFields(stored, config, "");
        throw new ConfigError(`${configPath}: this evaluation directory holds results made with different settings (${diffs.slice(0, 6).join("; ")}); use another --out or delete it`);
      }
    } else {
      atomicWrite(configPath, text);
    }
    return new EvalDir(path, config);
  }

  recordsPath(set: string): string {
    if (!SET_NAME.test(set)) throw new ConfigError(`set name ${JSON.stringify(set)} may only use letters, digits, '_', '.', '-'`);
    return join(this.path, `${set}.jsonl`);
  }

  /**
   * The finished records of a set. A torn last line (a kill mid-append) is
   * cut off; records whose problem is not in `problems`, or whose gold
   * differs, mean the set changed since: that is an error, not a skip.
   */
  loadRecords(set: string, problems: readonly EvalProblem[], logger: Logger = defaultLogger()): ProblemRecord[] {
    const path = this.recordsPath(set);
    if (!existsSync(path)) return [];
    const text = readFileSync(path, "utf8");
    const { lines, torn } = parseJsonl(text, path, {
      damaged: (d) => new DataError(`${d.file}:${d.line}: not valid JSON, and not the last line cut short by an interrupted write: the file is damaged; delete it to re-evaluate ${set}`, { cause: d.cause }),
    });
    const records = lines.map(({ line, value }) => {
      const r = value as ProblemRecord;
      checkRecord(r, `${path}:${line}`);
      return r;
    });
    if (torn) {
      logger.warn(`${path}:${torn.line}: dropping a torn last line (an interrupted write); its problems will be evaluated again`);
      // Appends must start on a fresh line.
      atomicWrite(path, text.slice(0, torn.offset));
    }
    const byId = new Map(problems.map((p) => [p.id, p]));
    const seen = new Set<string>();
    for (const r of records) {
      const p = byId.get(r.id);
      if (!p) throw new DataError(`${path}: holds a record for problem ${JSON.stringify(r.id)}, which is not in the ${set} set now; the set changed: use another --out`);
      if (p.gold !== r.gold) throw new DataError(`${path}: problem ${JSON.stringify(r.id)} has gold ${JSON.stringify(r.gold)} in the records but ${JSON.stringify(p.gold)} in the set now; use another --out`);
      if (seen.has(r.id)) throw new DataError(`${path}: problem ${JSON.stringify(r.id)} is recorded twice`);
      seen.add(r.id);
    }
    return records;
  }

  append(set: string, records: readonly ProblemRecord[]): void {
    if (records.length === 0) return;
    // One write per batch: a kill tears at most this batch's last line.
    appendFileSync(this.recordsPath(set), records.map((r) => `${JSON.stringify(r)}\n`).join(""));
  }

  writeSummary(summary: EvalSummary): void {
    atomicWrite(join(this.path, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    const rows = [{ label: summary.label, sets: summary.sets }];
    const parts = [`# Evaluation: ${summary.label}`, "", formatMarkdown(paperTable(rows)), ""];
    for (const set of Object.keys(summary.sets)) {
      const t = levelTable(rows, set);
      if (t) parts.push(`## ${set} by level`, "", formatMarkdown(t), "");
    }
    atomicWrite(join(this.path, "table.md"), parts.join("\n"));
  }
}

/** Reads an evaluation's summary.json. */
export function readEvalSummary(dir: string): EvalSummary {
  const path = join(dir, "summary.json");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new DataError(`${path}: cannot read evaluation summary (${errorMessage(err)})`);
  }
  if (json === null || typeof json !== "object" || typeof (json as EvalSummary).label !== "string" || typeof (json as EvalSummary).sets !== "object") {
    throw new DataError(`${path}: not an evaluation summary (needs "label" and "sets")`);
  }
  return json as EvalSummary;
}

export interface RunEvalOptions {
  dir: EvalDir;
  sampler: Sampler;
  sets: readonly EvalSet[];
  /** Overrides the template's chat format. */
  format?: ChatFormat;
  chunk?: number;
  logger?: Logger;
  /** Draw progress bars (default true). */
  progress?: boolean;
}

/** Evaluates every set, resuming from what the directory already holds; writes and returns the summary. */
export async function runEval(o: RunEvalOptions): Promise<EvalSummary> {
  const logger = o.logger ?? defaultLogger();
  const { config } = o.dir;
  const sets: Record<string, SetSummary> = {};
  const summary = (): EvalSummary => ({
    ...config,
    sets: { ...sets },
    avg5: setAverage(sets, BENCHMARKS.map((b) => b.name)),
    avg3: setAverage(sets, THREE_BENCHMARKS),
    updated: new Date().toISOString(),
  });
  for (const set of o.sets) {
    const done = o.dir.loadRecords(set.name, set.problems, logger);
    const skip = new Set(done.map((r) => r.id));
    const todo = set.problems.length - skip.size;
    if (skip.size > 0) logger.info(`${set.name}: ${skip.size} of ${set.problems.length} problems already evaluated in ${o.dir.path}; ${todo} to go`);
    const bar = new ProgressBar(`eval ${set.name}`, todo * config.sampling.k, { unit: "responses", silent: o.progress === false || todo === 0 });
    const fresh = await evaluateProblems({
      sampler: o.sampler,
      set: set.name,
      problems: set.problems,
      settings: config.sampling,
      template: set.template ?? config.template,
      ...(o.format ? { format: o.format } : {}),
      grader: set.grader,
      ...(o.chunk !== undefined ? { chunk: o.chunk } : {}),
      skip,
      onRecords: (records) => o.dir.append(set.name, records),
      progress: bar,
    });
    sets[set.name] = summarizeSet(set.name, [...done, ...fresh]);
    bar.finish(`acc ${(sets[set.name] as SetSummary).avg.toFixed(3)}`);
    o.dir.writeSummary(summary());
  }
  return summary();
}

function diffFields(a: unknown, b: unknown, prefix: string): string[] {
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffFields((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${prefix || "(root)"}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
}
