/**
 * The paper's five benchmarks and any other question/answer file, read into
 * evaluation problems with a gold answer string.
 *
 * Gold rules (SPEC §5), one per benchmark:
 *   string      the field as written (MATH500)
 *   last-boxed  the content of the last \boxed{} of a worked solution (Minerva Math)
 *   first       the first element of a list (OlympiadBench)
 *   number      a numeric value, written as an integer when it is one:
 *               27.0 -> "27", "025" -> "25" (AIME24, AMC23)
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Dataset, type DatasetRow, type FieldMap, loadDataset, type SkippedRow } from "../data/index.js";
import { extractLastBoxed } from "../tasks/index.js";
import { ConfigError, DataError, describe } from "../util/errors.js";
import type { Logger } from "../util/log.js";

export type GoldRule = "string" | "last-boxed" | "first" | "number";
export const GOLD_RULES: readonly GoldRule[] = ["string", "last-boxed", "first", "number"];

export interface EvalProblem {
  /** Unique within its set. */
  id: string;
  question: string;
  gold: string;
  /** Difficulty level or category, when the set has one. */
  level: string | null;
}

export interface BenchmarkSpec {
  /** Key used in files and options, e.g. "math500". */
  name: string;
  /** Column title in the paper's table. */
  title: string;
  /** File name inside the benchmarks directory. */
  file: string;
  fields: FieldMap;
  gold: GoldRule;
}

/** The paper's five, in the paper's column order. */
export const BENCHMARKS: readonly BenchmarkSpec[] = [
  { name: "math500", title: "MATH500", file: "math500.jsonl", fields: { question: "problem", answer: "answer", id: "unique_id", level: "level" }, gold: "string" },
  { name: "minerva_math", title: "Minerva Math", file: "minerva_math.jsonl", fields: { question: "problem", answer: "answer", id: "idx" }, gold: "last-boxed" },
  { name: "olympiad_bench", title: "OlympiadBench", file: "olympiad_bench.jsonl", fields: { question: "problem", answer: "answer", id: "id" }, gold: "first" },
  { name: "aime24", title: "AIME24", file: "aime24.jsonl", fields: { question: "problem", answer: "answer", id: "id" }, gold: "number" },
  { name: "amc23", title: "AMC23", file: "amc23.jsonl", fields: { question: "problem", answer: "answer", id: "id" }, gold: "number" },
];

/**
 * The benchmarks the paper's 3-benchmark average is taken over: the first
 * three of its evaluation order (RLHFlow/GVM eval/eval.py: "3 average" is
 * the mean of the first three of math500, minerva_math, olympiad_bench,
 * aime24, amc23).
 */
export const THREE_BENCHMARKS: readonly string[] = ["math500", "minerva_math", "olympiad_bench"];

export const BENCHMARK_NAMES: readonly string[] = BENCHMARKS.map((b) => b.name);

export function benchmarkSpec(name: string): BenchmarkSpec {
  const spec = BENCHMARKS.find((b) => b.name === name);
  if (!spec) throw new ConfigError(`unknown benchmark '${name}'; known: ${BENCHMARK_NAMES.join(", ")}`);
  return spec;
}

/** Applies a gold rule to a stored answer value; DataError when it does not fit. */
export function goldAnswer(value: unknown, rule: GoldRule): string {
  switch (rule) {
    case "string":
      if (typeof value === "string" && value.trim() !== "") return value.trim();
      if (typeof value === "number" && Number.isFinite(value)) return String(value);
      throw new DataError(`gold rule 'string': expected a non-empty string, got ${describe(value)}`);
    case "first": {
      if (!Array.isArray(value) || value.length === 0) throw new DataError(`gold rule 'first': expected a non-empty list, got ${describe(value)}`);
      return goldAnswer(value[0], "string");
    }
    case "last-boxed": {
      if (typeof value !== "string") throw new DataError(`gold rule 'last-boxed': expected a solution string, got ${describe(value)}`);
      const boxed = extractLastBoxed(value);
      if (boxed === null || boxed.trim() === "") throw new DataError(`gold rule 'last-boxed': the solution has no closed, non-empty \\boxed{} (ends ${describe(value.slice(-60))})`);
      return boxed.trim();
    }
    case "number": {
      const x = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value.trim()) : Number.NaN;
      if (!Number.isFinite(x)) throw new DataError(`gold rule 'number': expected a number, got ${describe(value)}`);
      return Number.isInteger(x) ? BigInt(x).toString() : String(x);
    }
  }
}

export interface LoadedSet {
  name: string;
  file: string;
  problems: EvalProblem[];
  skipped: SkippedRow[];
}

export interface LoadSetOptions {
  skipInvalid?: boolean;
  logger?: Logger;
}

/** goldAnswer, its error naming the answer field (the row is named by the dataset reader). */
function goldOfField(value: unknown, field: string, rule: GoldRule): string {
  try {
    return goldAnswer(value, rule);
  } catch (err) {
    if (err instanceof DataError) throw new DataError(`answer field '${field}': ${err.message}`, { cause: err });
    throw err;
  }
}

/** Loads any JSONL/Parquet file with a field mapping and gold rule. */
export async function loadProblemSet(name: string, file: string, fields: FieldMap, gold: GoldRule, options: LoadSetOptions = {}): Promise<LoadedSet> {
  const ds: Dataset<EvalProblem> = await loadDataset(file, {
    fields,
    ...(options.skipInvalid !== undefined ? { skipInvalid: options.skipInvalid } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    map: (row: DatasetRow) => ({ id: row.id, question: row.question, gold: goldOfField(row.answer, fields.answer, gold), level: row.level }),
  });
  if (ds.items.length === 0) throw new DataError(`${file}: no problems${ds.skipped.length > 0 ? ` (all ${ds.skipped.length} rows were invalid)` : ""}`);
  return { name, file, problems: ds.items, skipped: ds.skipped };
}

/** The file of a benchmark: `source` is the benchmarks directory (or the file itself). */
export function benchmarkFile(spec: BenchmarkSpec, source: string): string {
  const file = existsSync(source) && statSync(source).isDirectory() ? join(source, spec.file) : source;
  if (!existsSync(file)) throw new ConfigError(`benchmark ${spec.name}: ${file} does not exist (expected ${spec.file} in the benchmarks directory)`);
  return file;
}

/** Loads one of the paper's benchmarks from its directory. */
export async function loadBenchmark(name: string, source: string, options: LoadSetOptions = {}): Promise<LoadedSet> {
  const spec = benchmarkSpec(name);
  return loadProblemSet(spec.name, benchmarkFile(spec, source), spec.fields, spec.gold, options);
}
