/**
 * `gvm allocate`: the allocation as a command, for users who sample
 * elsewhere. Reads per-prompt statistics as JSON lines, writes one
 * {"n": ...} line per prompt to stdout in input order.
 */
import { readFile } from "node:fs/promises";
import {
  AllocationInfeasibleError,
  AllocationInputError,
  getStrategy,
  STRATEGY_NAMES,
  type AllocationInput,
} from "../gvm/index.js";
import { ConfigError, DataError, errorMessage } from "../util/errors.js";
import { parseJsonl } from "../util/jsonl.js";
import { type Command, numberOption, parseOptions } from "./command.js";

const NAME = "allocate";

const OPTIONS = {
  jsonl: { type: "string" },
  budget: { type: "string" },
  strategy: { type: "string" },
  alpha: { type: "string" },
  beta: { type: "string" },
  rounding: { type: "string" },
  "filter-threshold": { type: "string" },
  "filter-insufficient": { type: "string" },
  "n-min": { type: "string" },
  "n-max": { type: "string" },
  "accept-rate-estimate": { type: "string" },
  "p-field": { type: "string" },
  "g-field": { type: "string" },
  "count-field": { type: "string" },
} as const;

/**
 * The default here is full GVM, unlike the trainer's (RL_DEFAULT_STRATEGY,
 * the bench's best, which samples in rounds and so has no allocation from a
 * file): a user of this command brings statistics measured elsewhere,
 * usually with the gradient norms the paper's allocation needs.
 */
const DEFAULT_STRATEGY = "gvm";

/** Strategies that allocate from a file of statistics: not those reading a run's history or sampling in rounds of their own. */
const ONE_SHOT = STRATEGY_NAMES.filter((n) => !getStrategy(n).reads.some((f) => f === "online" || f === "rounds"));

/** GVM's defaults, for the help text: stated once, in the option schema. */
const GVM_DEFAULTS = getStrategy("gvm").parseOptions({});

const HELP = [
  "Usage: gvm allocate --jsonl FILE --budget N [options]",
  "",
  "Splits a sampling budget of N responses over prompts. FILE holds one JSON",
  "object per prompt with its stage-1 acceptance rate and mean gradient norm;",
  'the output is one line {"n": ...} per prompt, in input order, summing to N.',
  "Notes on what happened (filters, caps, fallbacks) go to stderr.",
  "",
  "Options:",
  "  --jsonl FILE                  per-prompt statistics, one JSON object a line (required)",
  "  --budget N                    total responses to allocate, an integer >= 0 (required)",
  `  --strategy NAME               ${ONE_SHOT.join(" | ")} (default ${DEFAULT_STRATEGY})`,
  `  --alpha A                     penalty weight in w = G / sqrt(p + A / p^(B-1)) (default ${GVM_DEFAULTS.alpha})`,
  `  --beta B                      penalty exponent (default ${GVM_DEFAULTS.beta})`,
  `  --rounding RULE               largest-remainder | low-acceptance-first (default ${GVM_DEFAULTS.rounding})`,
  "  --filter-threshold T          drop prompts with acceptance rate above T (default: off)",
  "  --filter-insufficient F       drop prompts expecting fewer than F accepted responses (default: off)",
  `  --n-min a                     at least a responses per prompt (default ${GVM_DEFAULTS.nMin})`,
  "  --n-max b                     at most b responses per prompt (default: no cap)",
  "  --accept-rate-estimate E      empirical | posterior (Beta(1,1) posterior; needs --count-field)",
  "  --p-field NAME                field holding the acceptance rate (default acceptRate)",
  "  --g-field NAME                field holding the gradient norm (default gradNorm)",
  "  --count-field NAME            field holding the stage-1 sample count (default sampleCount)",
  "",
  "Exit codes: 0 ok, 1 unreadable or invalid input file, 2 bad options.",
  "",
  "Examples:",
  "  gvm allocate --jsonl stats.jsonl --budget 512",
  "  gvm allocate --jsonl stats.jsonl --budget 512 --n-max 24 --rounding low-acceptance-first",
  "  gvm allocate --jsonl stats.jsonl --budget 512 --strategy gvm-ponly --p-field p",
  "",
  'With stats.jsonl holding lines like {"acceptRate": 0.25, "gradNorm": 1.7}.',
].join("\n");

interface Row {
  line: number;
  values: Record<string, unknown>;
}

async function readRows(file: string): Promise<Row[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new DataError(`cannot read ${file}: ${errorMessage(err)}`);
  }
  // An input file, not a log: a cut-off last line is as broken as any other.
  return parseJsonl(text, file, { tornTail: "error" }).lines.map(({ line, value }) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new DataError(`${file}:${line}: expected a JSON object, got ${JSON.stringify(value)}`);
    }
    return { line, values: value as Record<string, unknown> };
  });
}

function column(file: string, rows: readonly Row[], field: string): number[] {
  return rows.map((r) => {
    const v = r.values[field];
    if (v === undefined) throw new DataError(`${file}:${r.line}: missing field '${field}'`);
    if (typeof v !== "number") throw new DataError(`${file}:${r.line}: field '${field}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  });
}

export const allocateCommand: Command = {
  name: NAME,
  summary: "Split a sampling budget over prompts (GVM or uniform) from per-prompt stats in JSONL.",
  help: HELP,
  async run(argv, io) {
    const { values } = parseOptions(NAME, argv, OPTIONS);
    if (values.jsonl === undefined) throw new ConfigError(`gvm ${NAME}: --jsonl FILE is required. Run 'gvm ${NAME} --help' for usage.`);
    if (values.budget === undefined) throw new ConfigError(`gvm ${NAME}: --budget N is required. Run 'gvm ${NAME} --help' for usage.`);
    const budget = numberOption(NAME, "budget", values.budget) as number;
    if (!Number.isSafeInteger(budget) || budget < 0) throw new ConfigError(`gvm ${NAME}: --budget must be an integer >= 0, got ${values.budget}`);
    const name = values.strategy ?? DEFAULT_STRATEGY;
    const strategy = getStrategy(name);
    if (strategy.reads.includes("online")) {
      throw new ConfigError(`gvm ${NAME}: strategy '${name}' needs per-prompt history from a training run; use ${ONE_SHOT.join(", ")} here`);
    }
    if (strategy.reads.includes("rounds")) {
      throw new ConfigError(`gvm ${NAME}: strategy '${name}' generates in extra rounds and needs a sampler, so it has no allocation from a file; use it in gvm train (--strategy ${name}), or ${ONE_SHOT.join(", ")} here`);
    }

    const raw: Record<string, unknown> = {};
    const num = (flag: keyof typeof OPTIONS, key: string) => {
      const v = numberOption(NAME, flag, values[flag]);
      if (v !== undefined) raw[key] = v;
    };
    num("alpha", "alpha");
    num("beta", "beta");
    num("filter-threshold", "filterThreshold");
    num("filter-insufficient", "filterInsufficient");
    num("n-min", "nMin");
    num("n-max", "nMax");
    if (values.rounding !== undefined) raw.rounding = values.rounding;
    if (values["accept-rate-estimate"] !== undefined) raw.acceptRateEstimate = values["accept-rate-estimate"];
    let options: unknown;
    try {
      options = strategy.parseOptions(raw);
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`gvm ${NAME}: ${err.message}`);
      throw err;
    }

    const file = values.jsonl;
    const pField = values["p-field"] ?? "acceptRate";
    const gField = values["g-field"] ?? "gradNorm";
    const countField = values["count-field"] ?? "sampleCount";
    const rows = await readRows(file);
    if (rows.length === 0 && budget > 0) throw new DataError(`${file}: no prompts to allocate ${budget} responses to`);
    const reads = strategy.reads;
    const input: AllocationInput = {
      prompts: rows.length,
      ...(reads.includes("acceptRate") ? { acceptRate: column(file, rows, pField) } : {}),
      ...(reads.includes("gradNorm") ? { gradNorm: column(file, rows, gField) } : {}),
      ...(strategy.requires(options).includes("sampleCount") ? { sampleCount: column(file, rows, countField) } : {}),
    };
    const fieldName: Record<string, string> = { acceptRate: pField, gradNorm: gField, sampleCount: countField };

    let result;
    try {
      result = strategy.allocate(input, budget, options);
    } catch (err) {
      if (err instanceof AllocationInputError && err.index !== null) {
        const row = rows[err.index] as Row;
        throw new DataError(`${file}:${row.line}: field '${fieldName[err.field] ?? err.field}': ${err.message}`);
      }
      if (err instanceof AllocationInfeasibleError) throw new ConfigError(`gvm ${NAME}: ${err.message}`);
      throw err;
    }
    io.stdout.write(result.n.map((n) => `${JSON.stringify({ n })}\n`).join(""));
    for (const note of result.notes) io.stderr.write(`gvm ${NAME}: ${note}\n`);
    return 0;
  },
};
