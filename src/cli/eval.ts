/**
 * `gvm eval`: a model (or several) on the paper's benchmarks, any JSONL or
 * Parquet set, and the built-in suite; k samples per problem, graded,
 * written per problem and summarised in the paper's table. Resumable: the
 * same command after an interruption continues where it stopped.
 */
import { join, resolve } from "node:path";
import {
  BENCHMARK_NAMES,
  CHAT_FORMAT_NAMES,
  type ChatFormat,
  type ChatFormatName,
  defaultLabel,
  EvalDir,
  evalConfigSchema,
  type EvalRunConfig,
  type EvalSet,
  type EvalSummary,
  formatMarkdown,
  GOLD_RULES,
  labelDir,
  levelTable,
  loadEvalSets,
  paperTable,
  resolveChat,
  runEval,
} from "../eval/index.js";
import { loadModelDir } from "../model/index.js";
import { LocalSampler, type Sampler } from "../rollout/index.js";
import { loadConfig } from "../util/config.js";
import type { ConfigError } from "../util/errors.js";
import { VerifierPool } from "../verify/index.js";
import { defaultLogger } from "../util/log.js";
import { type Command, numberOption, parseOptions, usageError } from "./command.js";

const NAME = "eval";

const OPTIONS = {
  model: { type: "string", multiple: true },
  label: { type: "string" },
  benchmarks: { type: "string" },
  only: { type: "string" },
  data: { type: "string" },
  name: { type: "string" },
  "question-field": { type: "string" },
  "answer-field": { type: "string" },
  "id-field": { type: "string" },
  "level-field": { type: "string" },
  "gold-rule": { type: "string" },
  suite: { type: "boolean" },
  "suite-size": { type: "string" },
  "suite-seed": { type: "string" },
  limit: { type: "string" },
  "skip-invalid": { type: "boolean" },
  k: { type: "string" },
  temperature: { type: "string" },
  "top-p": { type: "string" },
  "top-k": { type: "string" },
  "max-tokens": { type: "string" },
  seed: { type: "string" },
  stop: { type: "string", multiple: true },
  system: { type: "string" },
  "no-system": { type: "boolean" },
  instruction: { type: "string" },
  chat: { type: "string" },
  out: { type: "string" },
  chunk: { type: "string" },
  "batch-size": { type: "string" },
  config: { type: "string" },
  set: { type: "string", multiple: true },
  quiet: { type: "boolean" },
} as const;

const HELP = [
  "Usage: gvm eval --model DIR [--model DIR ...] (--benchmarks DIR | --data FILE | --suite) [options]",
  "",
  "Samples k responses per problem, grades them with the math verifier (exact",
  "match on the built-in suite), and writes per-problem records and a summary",
  "in the paper's layout to OUT/<label>/. Rerunning the same command after an",
  "interruption resumes: finished problems are neither redone nor lost.",
  "",
  "Sets (at least one):",
  `  --benchmarks DIR       the paper's five from DIR (${BENCHMARK_NAMES.map((n) => `${n}.jsonl`).join(", ")})`,
  "  --only LIST            comma-separated subset of them",
  "  --data FILE            any JSONL or Parquet set, with:",
  "    --name NAME            its column name (default: the file name)",
  "    --question-field F     question field, dotted paths allowed (default problem)",
  "    --answer-field F       gold answer field (default answer)",
  "    --id-field F           unique id field (default: line/row number)",
  "    --level-field F        level field for per-level accuracy",
  `    --gold-rule R          ${GOLD_RULES.join(" | ")} (default string)`,
  "  --suite                the built-in arithmetic suite's test split (accuracy per level)",
  "  --suite-size N         its size (default 300); --suite-seed S its seed (default 0)",
  "  --limit N              only the first N problems of each set",
  "  --skip-invalid         skip malformed rows (counted and reported) instead of failing",
  "",
  "Sampling (defaults as in the paper's evaluation, except k):",
  "  --k N                  responses per problem (default 1)",
  "  --temperature T        (default 1.0); --top-p P (default 1); --top-k K (default 0 = all)",
  "  --max-tokens N         new tokens per response (default 3072)",
  "  --seed S               base seed; each problem's samples derive from it (default 0)",
  "  --stop STR             end a response at STR (repeatable)",
  "",
  "Prompt (default: the paper's system prompt and instruction):",
  "  --system TEXT | --no-system   system message",
  "  --instruction TEXT     appended to the question after a space",
  `  --chat FORMAT          ${CHAT_FORMAT_NAMES.join(" | ")} | model | auto (default auto: the model's own`,
  "                         chat template when its directory has one, else plain: system, blank line, question)",
  "",
  "Output and run:",
  "  --out DIR              results root (default eval); one subdirectory per model",
  "  --label NAME           table row label (one model only; default from the model path)",
  "  --chunk N              problems per sampling call (default 32)",
  "  --batch-size N         sequences decoded together (default 64)",
  "  --config FILE          YAML/JSON with the same settings (models, benchmarks, sampling.k, prompt.chat, ...)",
  "  --set FIELD=VALUE      override a config field (repeatable), e.g. --set sampling.k=8",
  "  --quiet                no progress bars",
  "",
  "Exit codes: 0 ok, 1 runtime failure (unreadable model or data), 2 bad options or config.",
  "",
  "Examples:",
  "  gvm eval --model runs/a/checkpoints/iter-000040 --benchmarks ../shared/data/benchmarks --k 8",
  "  gvm eval --model ckpt --benchmarks data/bench --only math500,aime24 --k 4 --max-tokens 1024",
  "  gvm eval --model ckpt --suite --k 4 --temperature 1 --max-tokens 64",
  "  gvm eval --model ckpt --data test.parquet --question-field prompt --answer-field reward_model.ground_truth",
  "  gvm eval --config eval.yaml --set sampling.k=16",
].join("\n");

const usage = (message: string): ConfigError => usageError(NAME, message);

/** Turns argv into the validated config (file, then flags, then --set). */
export function resolveEvalConfig(argv: readonly string[]): { config: EvalRunConfig; quiet: boolean } {
  const { values, positionals } = parseOptions(NAME, argv, OPTIONS, true);
  if (positionals.length > 0) throw usage(`unexpected argument '${positionals[0]}'`);
  const num = (flag: keyof typeof OPTIONS) => numberOption(NAME, flag, values[flag] as string | undefined);
  if (values.system !== undefined && values["no-system"]) throw usage("--system and --no-system are exclusive");
  const dataFlags = ["name", "question-field", "answer-field", "id-field", "level-field", "gold-rule"] as const;
  if (values.data === undefined && dataFlags.some((f) => values[f] !== undefined)) throw usage(`--${dataFlags.find((f) => values[f] !== undefined)} needs --data FILE`);
  if (!values.suite && (values["suite-size"] !== undefined || values["suite-seed"] !== undefined)) throw usage("--suite-size and --suite-seed need --suite");
  const flagValues: [string, unknown][] = [
    ["models", values.model],
    ["label", values.label],
    ["benchmarks", values.benchmarks],
    ["only", values.only?.split(",").map((s) => s.trim()).filter((s) => s !== "")],
    ["data.file", values.data],
    ["data.name", values.name],
    ["data.question", values["question-field"]],
    ["data.answer", values["answer-field"]],
    ["data.id", values["id-field"]],
    ["data.level", values["level-field"]],
    ["data.gold", values["gold-rule"]],
    ["suite", values.suite ? {} : undefined],
    ["suite.size", num("suite-size")],
    ["suite.seed", num("suite-seed")],
    ["limit", num("limit")],
    ["skipInvalid", values["skip-invalid"]],
    ["sampling.k", num("k")],
    ["sampling.temperature", num("temperature")],
    ["sampling.topP", num("top-p")],
    ["sampling.topK", num("top-k")],
    ["sampling.maxTokens", num("max-tokens")],
    ["sampling.seed", num("seed")],
    ["sampling.stop", values.stop],
    ["prompt.system", values["no-system"] ? null : values.system],
    ["prompt.instruction", values.instruction],
    ["prompt.chat", values.chat],
    ["out", values.out],
    ["chunk", num("chunk")],
    ["batchSize", num("batch-size")],
  ];
  const config = loadConfig(evalConfigSchema, {
    ...(values.config !== undefined ? { file: values.config } : {}),
    values: flagValues,
    overrides: values.set ?? [],
  });
  if (config.models.length === 0) throw usage("--model DIR is required (or 'models' in the config)");
  if (config.only !== undefined && config.benchmarks === undefined) throw usage("--only needs --benchmarks DIR");
  if (config.benchmarks === undefined && config.data === undefined && config.suite === undefined) throw usage("nothing to evaluate: give --benchmarks DIR, --data FILE or --suite");
  if (config.label !== undefined && config.models.length > 1) throw usage("--label names one model; with several models each is labelled from its path");
  return { config, quiet: values.quiet ?? false };
}

/**
 * The in-process engine on a model directory (its tokenizer.json, or the
 * byte tokenizer for gvm's own models) and the chat format the prompts use.
 */
function localSampler(dir: string, batchSize: number, chat: string): { sampler: Sampler; chat: ChatFormatName | "model"; format?: ChatFormat } {
  const m = loadModelDir(dir);
  const sampler = new LocalSampler(m.model, m.tokenizer, { batchSize });
  const resolved = resolveChat(chat, m.chatTemplate, dir, `gvm ${NAME}: --chat model`);
  return resolved.chat === "model" ? { sampler, chat: "model", format: resolved.format } : { sampler, chat: resolved.chat };
}

export const evalCommand: Command = {
  name: NAME,
  summary: "Evaluate models on the paper's benchmarks, any JSONL/Parquet set or the built-in suite (avg@k, pass@k, maj@k).",
  help: HELP,
  async run(argv, io) {
    const { config, quiet } = resolveEvalConfig(argv);
    const pool = new VerifierPool();
    const summaries: EvalSummary[] = [];
    let sets: EvalSet[];
    try {
      sets = await loadEvalSets(config, pool, defaultLogger());
      for (const model of config.models) {
        const label = config.label ?? defaultLabel(model);
        const local = localSampler(model, config.batchSize, config.prompt.chat);
        const dir = EvalDir.open(join(config.out, labelDir(label)), {
          label,
          model: resolve(model),
          sampling: config.sampling,
          // "model" names the directory's own template (rendered through `format` below, never by name).
          template: { system: config.prompt.system, instruction: config.prompt.instruction, chat: local.chat as ChatFormatName },
        });
        const t0 = performance.now();
        const summary = await runEval({ dir, sampler: local.sampler, sets, chunk: config.chunk, progress: !quiet, ...(local.format ? { format: local.format } : {}) });
        io.stderr.write(`${label}: ${sets.length} set(s), ${sets.reduce((a, s) => a + s.problems.length, 0)} problems, ${((performance.now() - t0) / 1000).toFixed(1)} s this run; results in ${dir.path}\n`);
        summaries.push(summary);
      }
    } finally {
      await pool.close();
    }
    const rows = summaries.map((s) => ({ label: s.label, sets: s.sets }));
    const parts = [formatMarkdown(paperTable(rows))];
    for (const set of sets) {
      const t = levelTable(rows, set.name);
      if (t) parts.push("", formatMarkdown(t));
    }
    io.stdout.write(`${parts.join("\n")}\n`);
    return 0;
  },
};
