/**
 * The built-in suite: arithmetic chain problems in two disjoint splits,
 * generated deterministically from a seed.
 *
 * - train: the RL prompt pool;
 * - test:  held out for accuracy, overall and per level.
 *
 * Each level has its own random stream, and a level's problems are dealt to
 * test first, then train, never repeating an expression: so the splits are
 * disjoint, and the test set does not change when the train size does.
 * Demonstrations for the warm start are drawn fresh from the same generator
 * outside both splits (demos.ts).
 *
 * Level mixes (weights over levels 1..6), fixed here before any comparison:
 * - "natural":    equal over levels 2..6 and a third of that for level 1,
 *                 which has only about 150 distinct problems: 1:3:3:3:3:3.
 * - "levels":     uniform over levels (equal counts per level; for test sets).
 * - "paper-like": most prompts easy or out of reach for the warm-started
 *                 policy, as in a large pool such as Numina-Math: 40% easy
 *                 (levels 1-2), 40% the undemonstrated level 6, 20% spread
 *                 evenly over levels 3-5. Weights 1:11:2:2:2:12 (out of 30).
 */
import { z } from "zod";
import { ConfigError, GvmError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { MAX_LEVEL, MIN_LEVEL, MAX_VALUE, generateProblem, type ArithProblem } from "./arith.js";

export type Split = "train" | "test";
export type MixName = "natural" | "levels" | "paper-like";
/** A named mix or explicit non-negative weights for levels 1..6. */
export type Mix = MixName | readonly number[];

export const LEVELS: readonly number[] = Array.from({ length: MAX_LEVEL - MIN_LEVEL + 1 }, (_, i) => MIN_LEVEL + i);

const NAMED_MIXES: Record<MixName, readonly number[]> = {
  natural: [1, 3, 3, 3, 3, 3],
  levels: [1, 1, 1, 1, 1, 1],
  "paper-like": [1, 11, 2, 2, 2, 12],
};

export interface SuiteOptions {
  /** Seed of every random choice; the same options give the same suite. */
  seed: number;
  /** Problems in the RL training pool. */
  trainSize: number;
  /** Problems in the test split. */
  testSize: number;
  /** Level mix of the training pool ("natural" or "paper-like" are the two regimes). */
  trainMix: Mix;
  /** Level mix of the test split. */
  testMix: Mix;
  /** Largest running value of a chain (every intermediate result stays in 0..maxValue). */
  maxValue: number;
}

export interface SuiteProblem extends ArithProblem {
  /** Stable within a suite: "<split>-<index>". */
  readonly id: string;
  readonly split: Split;
}

export interface TaskSuite {
  readonly options: SuiteOptions;
  readonly train: readonly SuiteProblem[];
  readonly test: readonly SuiteProblem[];
}

const mixSchema = z.union([
  z.enum(["natural", "levels", "paper-like"]),
  z
    .array(z.number().min(0, "level weights must be >= 0"))
    .length(LEVELS.length, `needs one weight per level ${MIN_LEVEL}..${MAX_LEVEL}`)
    .refine((w) => w.some((x) => x > 0), "needs a positive weight"),
]);
const size = z.number().int("must be an integer").min(0, "must be >= 0");
const optionsSchema = z
  .object({
    seed: z.number().int("must be an integer").default(0),
    trainSize: size.default(1000),
    testSize: size.default(300),
    trainMix: mixSchema.default("natural"),
    testMix: mixSchema.default("levels"),
    maxValue: z.number().int("must be an integer").min(10, "must be >= 10").default(MAX_VALUE),
  })
  .strict();

/** Validates suite options and fills defaults; ConfigError naming the field otherwise. */
export function parseSuiteOptions(raw: unknown): SuiteOptions {
  const r = optionsSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) =>
    i.code === "unrecognized_keys" ? `unknown option(s) ${i.keys.join(", ")}` : `option '${i.path.join(".")}' ${i.message}`,
  );
  throw new ConfigError(`task suite: ${issues.join("; ")}`);
}

/** The level weights of a mix, normalised to sum 1. */
export function mixWeights(mix: Mix): number[] {
  const raw = typeof mix === "string" ? NAMED_MIXES[mix] : mix;
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / total);
}

/** Problems per level for a split of `count`: largest remainder, ties to the lower level. */
export function levelCounts(count: number, mix: Mix): number[] {
  const exact = mixWeights(mix).map((w) => w * count);
  const counts = exact.map(Math.floor);
  let left = count - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((_, i) => i).sort((a, b) => (exact[b] as number) - (counts[b] as number) - ((exact[a] as number) - (counts[a] as number)) || a - b);
  for (const i of order) {
    if (left === 0) break;
    counts[i] = (counts[i] as number) + 1;
    left--;
  }
  return counts;
}

/** A level's stream of distinct problems. */
class LevelStream {
  private readonly rng: Rng;
  private readonly seen = new Set<string>();
  constructor(
    seed: number,
    private readonly level: number,
    private readonly maxValue: number,
  ) {
    this.rng = new Rng(seed).fork(level);
  }
  next(): ArithProblem {
    // Give up only when a level is clearly exhausted (level 1 has about 150 distinct problems).
    for (let attempt = 0; attempt < 20000; attempt++) {
      const p = generateProblem(this.rng, this.level, this.maxValue);
      if (this.seen.has(p.expression)) continue;
      this.seen.add(p.expression);
      return p;
    }
    throw new ConfigError(
      `task suite: level ${this.level} ran out of distinct problems after ${this.seen.size}; ` +
        "lower trainSize/testSize or give this level less weight in the mixes",
    );
  }
}

/** Builds the suite. Same options, same suite, on every machine. */
export function buildSuite(rawOptions: Partial<SuiteOptions> = {}): TaskSuite {
  const options = parseSuiteOptions(rawOptions);
  const splits: [Split, number, Mix][] = [
    ["test", options.testSize, options.testMix],
    ["train", options.trainSize, options.trainMix],
  ];
  const drawn: Record<Split, ArithProblem[]> = { train: [], test: [] };
  LEVELS.forEach((level, li) => {
    const stream = new LevelStream(options.seed, level, options.maxValue);
    for (const [split, count, mix] of splits) {
      const k = levelCounts(count, mix)[li] as number;
      for (let j = 0; j < k; j++) drawn[split].push(stream.next());
    }
  });
  const order = new Rng(options.seed).fork(1000);
  const finish = (split: Split): SuiteProblem[] =>
    order.shuffle(drawn[split]).map((p, i) => ({ ...p, id: `${split}-${i}`, split }));
  return { options, test: finish("test"), train: finish("train") };
}

export interface LevelLengths {
  readonly level: number;
  readonly count: number;
  /** Longest prompt + response in UTF-8 bytes among the problems given. */
  readonly maxBytes: number;
  /** The longest possible prompt + response at this level (see maxBytesBound). */
  readonly boundBytes: number;
}

/** Bytes of prompt + canonical response. */
export function problemBytes(p: ArithProblem): number {
  return Buffer.byteLength(p.prompt + p.response, "utf8");
}

/**
 * Upper bound on prompt + response bytes at a level, from the grammar: the
 * prompt is "Q: " + expression + "\n" with single-digit operands; each
 * response line is left op right "=" result; values stay within maxValue.
 */
export function maxBytesBound(level: number, maxValue: number = MAX_VALUE): number {
  const v = String(maxValue).length;
  const ops = level;
  const expression = 1 + ops * 2 + 2 * (ops - 1);
  const prompt = 3 + expression + 1;
  const firstLine = 1 + 1 + 1 + 1 + v;
  const laterLine = v + 1 + 1 + 1 + v;
  const lines = firstLine + (ops - 1) * laterLine + ops; // ops newlines, the last before \boxed
  const boxed = "\\boxed{}".length + v;
  return prompt + lines + boxed;
}

/** Longest prompt + response per level among `problems`, with the grammar's bound beside it. */
export function lengthStats(problems: readonly ArithProblem[], maxValue: number = MAX_VALUE): LevelLengths[] {
  return LEVELS.map((level) => {
    const here = problems.filter((p) => p.level === level);
    return {
      level,
      count: here.length,
      maxBytes: here.reduce((m, p) => Math.max(m, problemBytes(p)), 0),
      boundBytes: maxBytesBound(level, maxValue),
    };
  });
}

/** Throws if some problem is longer than `limit` bytes (a model's context). */
export function assertFits(problems: readonly ArithProblem[], limit: number): void {
  for (const p of problems) {
    const b = problemBytes(p);
    if (b > limit) throw new GvmError(`task suite: problem ${p.expression} needs ${b} bytes, more than the context of ${limit}`);
  }
}
