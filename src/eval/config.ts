/**
 * What a `gvm eval` run is made of: its settings (the config schema, one
 * field per command-line option), the sets they name, and where each
 * model's results go.
 */
import { basename, dirname, extname, resolve } from "node:path";
import { z } from "zod";
import { DEFAULT_FIELDS, fieldMap } from "../data/index.js";
import { ConfigError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { VerifierPool } from "../verify/index.js";
import { BENCHMARK_NAMES, GOLD_RULES, type GoldRule, loadBenchmark, loadProblemSet } from "./benchmarks.js";
import { mathGrader } from "./grade.js";
import { DEFAULT_SAMPLING } from "./harness.js";
import { CHAT_FORMAT_NAMES, PAPER_INSTRUCTION, PAPER_SYSTEM_PROMPT } from "./prompt.js";
import type { EvalSet } from "./store.js";
import { suiteSet } from "./suite.js";

const int = (min: number) => z.number().int("must be an integer").min(min, `must be >= ${min}`);

/** Every option of `gvm eval` as a config field (a config file uses the same names). */
export const evalConfigSchema = z
  .object({
    /** Model directories (Hugging Face layout) to evaluate, one table row each. */
    models: z.array(z.string()).default([]),
    /** Row label (only with one model); default from the model path. */
    label: z.string().optional(),
    /** Directory with the paper's benchmark files. */
    benchmarks: z.string().optional(),
    /** Subset of the benchmarks. */
    only: z.array(z.enum(BENCHMARK_NAMES as [string, ...string[]])).optional(),
    /** Any other question/answer file. */
    data: z
      .object({
        file: z.string(),
        name: z.string().optional(),
        question: z.string().default(DEFAULT_FIELDS.question),
        answer: z.string().default(DEFAULT_FIELDS.answer),
        id: z.string().optional(),
        level: z.string().optional(),
        gold: z.enum(GOLD_RULES as [GoldRule, ...GoldRule[]]).default("string"),
      })
      .strict()
      .optional(),
    /** The built-in suite's test split. */
    suite: z.object({ size: int(1).default(300), seed: z.number().int().default(0) }).strict().optional(),
    /** Only the first N problems of each set. */
    limit: int(1).optional(),
    skipInvalid: z.boolean().default(false),
    sampling: z
      .object({
        k: int(1).default(DEFAULT_SAMPLING.k),
        temperature: z.number().min(0, "must be >= 0").default(DEFAULT_SAMPLING.temperature),
        topP: z.number().gt(0, "must be > 0").max(1, "must be <= 1").default(DEFAULT_SAMPLING.topP),
        topK: int(0).default(DEFAULT_SAMPLING.topK),
        maxTokens: int(1).default(DEFAULT_SAMPLING.maxTokens),
        seed: z.number().int().default(DEFAULT_SAMPLING.seed),
        stop: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
    prompt: z
      .object({
        system: z.string().nullable().default(PAPER_SYSTEM_PROMPT),
        instruction: z.string().default(PAPER_INSTRUCTION),
        /** A named chat format, "model" (the model directory's own chat template) or "auto" (the model's template when it has one, else plain). */
        chat: z.enum(["auto", "model", ...CHAT_FORMAT_NAMES] as [string, ...string[]]).default("auto"),
      })
      .strict()
      .prefault({}),
    out: z.string().default("eval"),
    /** Problems per sampler call. */
    chunk: int(1).default(32),
    /** Sequences decoded together by the in-process engine. */
    batchSize: int(1).default(64),
  })
  .strict();

export type EvalRunConfig = z.output<typeof evalConfigSchema>;

/** "run/iter-000040" for run/checkpoints/iter-000040, else the directory name. */
export function defaultLabel(modelDir: string): string {
  const abs = resolve(modelDir);
  const parent = dirname(abs);
  return basename(parent) === "checkpoints" ? `${basename(dirname(parent))}/${basename(abs)}` : basename(abs);
}

/** A label as a file or directory name: every run of characters other than letters, digits, _ . - becomes one _. */
export function labelDir(label: string): string {
  return label.replace(/[^A-Za-z0-9_.-]+/g, "_");
}

/**
 * The sets a config names, in order: the paper's benchmarks, a data file,
 * the built-in suite's test split, each cut to `limit` problems.
 */
export async function loadEvalSets(config: EvalRunConfig, pool: VerifierPool, logger: Logger): Promise<EvalSet[]> {
  const opts = { skipInvalid: config.skipInvalid, logger };
  const sets: EvalSet[] = [];
  const grader = mathGrader({}, pool);
  const limit = <T>(xs: readonly T[]) => (config.limit === undefined ? xs : xs.slice(0, config.limit));
  if (config.benchmarks !== undefined) {
    for (const name of config.only ?? BENCHMARK_NAMES) {
      const set = await loadBenchmark(name, config.benchmarks, opts);
      if (set.skipped.length > 0) logger.warn(`${name}: skipped ${set.skipped.length} invalid rows`);
      sets.push({ name, problems: limit(set.problems), grader });
    }
  }
  if (config.data !== undefined) {
    const d = config.data;
    const name = labelDir(d.name ?? basename(d.file, extname(d.file)));
    if (sets.some((s) => s.name === name)) throw new ConfigError(`data.name: '${name}' clashes with a benchmark's name; pick another (--name)`);
    const set = await loadProblemSet(name, d.file, fieldMap(d), d.gold, opts);
    sets.push({ name, problems: limit(set.problems), grader });
  }
  if (config.suite !== undefined) {
    const s = suiteSet({ seed: config.suite.seed, testSize: config.suite.size });
    sets.push({ ...s, problems: limit(s.problems) });
  }
  return sets;
}

