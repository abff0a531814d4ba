/**
 * `gvm export verl | gguf`: hand-offs to other tools. verl: the prompts of
 * an iteration as verl's parquet plus the per-prompt sample sizes the GVM
 * fork of verl consumes. gguf: a checkpoint for llama.cpp and Ollama.
 */
import { readFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { checkVerlExport, DEFAULT_FIELDS, fieldMap, type VerlRecord, writeSampleSizes, writeVerlParquet } from "../data/index.js";
import { GOLD_RULES, type GoldRule, loadProblemSet, PAPER_SYSTEM_PROMPT, PAPER_INSTRUCTION, type EvalProblem, promptMessages } from "../eval/index.js";
import { type GgufTokenizer, type HfTokenizer, loadModelDir, readJsonFile, writeGguf } from "../model/index.js";
import { readIteration } from "../report/index.js";
import type { IterationRecord } from "../train/records.js";
import { ConfigError, DataError } from "../util/errors.js";
import { parseJsonl } from "../util/jsonl.js";
import { type Command, numberOption, parseOptions, usageError } from "./command.js";

const NAME = "export";

/** The reference's training instruction (runs/data_preprocess/numina_process.py: with a final period). */
export const VERL_INSTRUCTION = `${PAPER_INSTRUCTION}.`;

const VERL_OPTIONS = {
  data: { type: "string" },
  "question-field": { type: "string" },
  "answer-field": { type: "string" },
  "id-field": { type: "string" },
  "gold-rule": { type: "string" },
  allocation: { type: "string" },
  n: { type: "string" },
  run: { type: "string" },
  iter: { type: "string" },
  out: { type: "string" },
  "data-source": { type: "string" },
  ability: { type: "string" },
  split: { type: "string" },
  system: { type: "string" },
  "no-system": { type: "boolean" },
  instruction: { type: "string" },
} as const;

const GGUF_OPTIONS = {
  model: { type: "string" },
  out: { type: "string" },
  dtype: { type: "string" },
  name: { type: "string" },
} as const;

const HELP = [
  "Usage: gvm export verl (--data FILE (--allocation FILE | --n N) | --run DIR --iter K [--data FILE]) --out DIR [options]",
  "       gvm export gguf --model DIR --out FILE [--dtype f16|f32] [--name NAME]",
  "",
  "verl: writes DIR/train.parquet (verl's RL dataset: data_source, prompt as chat",
  "messages, ability, reward_model {style: rule, ground_truth}, extra_info {split,",
  "index}) and DIR/sample_sizes.json (the per-prompt sample sizes, entry i for",
  "extra_info.index i), and prints the verl flags that use them with the GVM fork",
  "of verl (RLHFlow/GVM: use_em + sample_sizes_data, rollout.n=1).",
  "  --data FILE            prompts with answers, JSONL or Parquet (optional with --run), with:",
  "    --question-field F     question field (default problem)",
  "    --answer-field F       gold answer field (default answer)",
  "    --id-field F           unique id field (default: line/row number; needed with --run)",
  `    --gold-rule R          ${GOLD_RULES.join(" | ")} (default string)`,
  "  sample sizes, one of:",
  "    --allocation FILE      JSONL from 'gvm allocate': one {\"n\": ...} per prompt in --data order,",
  "                           or {\"id\": ..., \"n\": ...} lines matched by id",
  "    --n N                  the same N for every prompt (uniform)",
  "    --run DIR --iter K     iteration K of a training run (metrics.jsonl 'iteration' record:",
  "                           allocation.n, matched to the prompts by allocation.ids; prompts from",
  "                           --data, else DIR/prompts.jsonl with {id, problem, answer} lines)",
  "  --out DIR              output directory (required)",
  "  --data-source NAME     verl reward routing (default numina_math: math_verify in the GVM fork)",
  "  --ability NAME         (default math); --split NAME (default train)",
  "  --system TEXT | --no-system   system message (default: the paper's)",
  `  --instruction TEXT     appended to each question (default: ${JSON.stringify(VERL_INSTRUCTION)})`,
  "",
  "gguf: writes a checkpoint as GGUF v3 for llama.cpp / Ollama (llama or qwen2",
  "architecture; f16 by default, norms in f32; the tokenizer, GPT-2 style BPE, and",
  "the chat template embedded). gvm's byte-level models get a 256-byte BPE",
  "vocabulary whose ids equal ours.",
  "  --model DIR            checkpoint directory (required)",
  "  --out FILE             output file, e.g. model.gguf (required)",
  "  --dtype f16|f32        weight type (default f16)",
  "  --name NAME            general.name (default: the directory name)",
  "",
  "Examples:",
  "  gvm allocate --jsonl stats.jsonl --budget 4096 > alloc.jsonl",
  "  gvm export verl --data prompts.jsonl --allocation alloc.jsonl --out verl-iter1",
  "  gvm export verl --data prompts.jsonl --id-field uid --run runs/a --iter 3 --out verl-iter3",
  "  gvm export gguf --model runs/a/checkpoints/iter-000040 --out a.gguf",
].join("\n");

const usage = (message: string): ConfigError => usageError(NAME, message);

async function jsonLines(file: string): Promise<Array<{ line: number; value: Record<string, unknown> }>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new DataError(`cannot read ${file}: ${(err as Error).message}`);
  }
  // An input file, not a log: a cut-off last line is as broken as any other.
  return parseJsonl(text, file, { tornTail: "error" }).lines.map(({ line, value }) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new DataError(`${file}:${line}: expected a JSON object`);
    return { line, value: value as Record<string, unknown> };
  });
}

function sizeOf(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new DataError(`${where}: "n" is ${JSON.stringify(v)}; expected an integer >= 0`);
  return v;
}

/** Sample sizes from a `gvm allocate` JSONL: positional, or by id when lines carry one. */
async function allocationSizes(file: string, problems: readonly EvalProblem[]): Promise<number[]> {
  const lines = await jsonLines(file);
  const byId = lines.length > 0 && lines.every((l) => l.value.id !== undefined);
  if (!byId) {
    if (lines.length !== problems.length) throw new DataError(`${file}: ${lines.length} allocation lines for ${problems.length} prompts (lines without "id" are matched by position, so the counts must agree)`);
    return lines.map((l) => sizeOf(l.value.n, `${file}:${l.line}`));
  }
  const n = new Map<string, number>();
  for (const l of lines) n.set(String(l.value.id), sizeOf(l.value.n, `${file}:${l.line}`));
  return problems.map((p) => {
    const v = n.get(p.id);
    if (v === undefined) throw new DataError(`${file}: no allocation for prompt id ${JSON.stringify(p.id)}`);
    return v;
  });
}

/**
 * The prompts and sizes of iteration K of a run: its metrics.jsonl record
 * must carry allocation.ids (the prompt ids, in allocation order) beside
 * allocation.n.
 */
function runIteration(runDir: string, iter: number, problems: readonly EvalProblem[]): { problems: EvalProblem[]; sizes: number[] } {
  const { record, where } = readIteration(runDir, iter);
  const alloc = record.allocation as IterationRecord["allocation"] | undefined;
  if (!Array.isArray(alloc?.n)) throw new DataError(`${where}: iteration ${iter} has no allocation.n list`);
  if (!Array.isArray(alloc.ids)) {
    throw new DataError(`${where}: iteration ${iter} logs allocation.n but not which prompts it applies to (allocation.ids, the prompt ids in allocation order); this run cannot be exported by iteration. Use --allocation or --n with the prompt file instead.`);
  }
  if (alloc.ids.length !== alloc.n.length) throw new DataError(`${where}: allocation.ids has ${alloc.ids.length} entries but allocation.n has ${alloc.n.length}`);
  const byId = new Map(problems.map((p) => [p.id, p]));
  const chosen = alloc.ids.map((id) => {
    const p = byId.get(String(id));
    if (!p) throw new DataError(`${where}: prompt id ${JSON.stringify(id)} of iteration ${iter} is not in the --data file (match ids with --id-field)`);
    return p;
  });
  return { problems: chosen, sizes: alloc.n.map((n, i) => sizeOf(n, `${where}: allocation.n[${i}]`)) };
}

async function exportVerl(argv: readonly string[], io: Parameters<Command["run"]>[1]): Promise<number> {
  const { values } = parseOptions(`${NAME} verl`, argv, VERL_OPTIONS);
  // A run directory may carry its prompt pool as prompts.jsonl ({id, problem, answer}).
  const runPrompts = values.run !== undefined && values.data === undefined ? join(values.run, "prompts.jsonl") : undefined;
  const dataFile = values.data ?? runPrompts;
  if (dataFile === undefined) throw usage("verl needs --data FILE (prompts with answers)");
  if (values.out === undefined) throw usage("verl needs --out DIR");
  const sources = [values.allocation !== undefined, values.n !== undefined, values.run !== undefined].filter(Boolean).length;
  if (sources !== 1) throw usage("verl needs exactly one of --allocation FILE, --n N, or --run DIR --iter K");
  if ((values.run === undefined) !== (values.iter === undefined)) throw usage("--run and --iter go together");
  if (values.system !== undefined && values["no-system"]) throw usage("--system and --no-system are exclusive");
  const gold = (values["gold-rule"] ?? "string") as GoldRule;
  if (!GOLD_RULES.includes(gold)) throw usage(`--gold-rule must be one of ${GOLD_RULES.join(", ")}`);
  const idField = values["id-field"] ?? (runPrompts !== undefined ? "id" : undefined);
  const fields = fieldMap({ question: values["question-field"] ?? DEFAULT_FIELDS.question, answer: values["answer-field"] ?? DEFAULT_FIELDS.answer, id: idField });
  const set = await loadProblemSet(basename(dataFile, extname(dataFile)), dataFile, fields, gold);
  let problems: EvalProblem[] = set.problems;
  let sizes: number[];
  if (values.n !== undefined) {
    const n = numberOption(`${NAME} verl`, "n", values.n) as number;
    if (!Number.isInteger(n) || n < 0) throw usage(`--n must be an integer >= 0, got ${values.n}`);
    sizes = problems.map(() => n);
  } else if (values.allocation !== undefined) {
    sizes = await allocationSizes(values.allocation, problems);
  } else {
    const iter = numberOption(`${NAME} verl`, "iter", values.iter) as number;
    if (!Number.isInteger(iter) || iter < 0) throw usage(`--iter must be an integer >= 0, got ${values.iter}`);
    ({ problems, sizes } = runIteration(values.run as string, iter, problems));
  }
  const template = { system: values["no-system"] ? null : (values.system ?? PAPER_SYSTEM_PROMPT), instruction: values.instruction ?? VERL_INSTRUCTION, chat: "plain" as const };
  const records: VerlRecord[] = problems.map((p, index) => ({
    data_source: values["data-source"] ?? "numina_math",
    prompt: promptMessages(template, p.question),
    ability: values.ability ?? "math",
    reward_model: { style: "rule", ground_truth: p.gold },
    extra_info: { split: values.split ?? "train", index },
  }));
  checkVerlExport(records, sizes);
  const parquet = join(values.out, "train.parquet");
  const sizesFile = join(values.out, "sample_sizes.json");
  writeVerlParquet(parquet, records);
  writeSampleSizes(sizesFile, sizes);
  const total = sizes.reduce((a, b) => a + b, 0);
  io.stderr.write(`gvm export verl: ${records.length} prompts, ${total} responses in all (${sizes.filter((n) => n === 0).length} prompts with none) -> ${parquet}, ${sizesFile}\n`);
  io.stdout.write(
    [
      "# verl (GVM fork, RLHFlow/GVM) flags for these files:",
      `data.train_files="['${parquet}']"`,
      "+actor_rollout_ref.rollout.use_em=True",
      `+actor_rollout_ref.rollout.sample_sizes_data="${sizesFile}"`,
      "actor_rollout_ref.rollout.n=1",
      "",
    ].join("\n"),
  );
  return 0;
}

async function exportGguf(argv: readonly string[], io: Parameters<Command["run"]>[1]): Promise<number> {
  const { values } = parseOptions(`${NAME} gguf`, argv, GGUF_OPTIONS);
  if (values.model === undefined) throw usage("gguf needs --model DIR");
  if (values.out === undefined) throw usage("gguf needs --out FILE");
  const dtype = (values.dtype ?? "f16").toUpperCase();
  if (dtype !== "F16" && dtype !== "F32") throw usage(`--dtype must be f16 or f32, got ${values.dtype}`);
  const m = loadModelDir(values.model);
  const tokenizer: GgufTokenizer =
    m.kind === "byte" ? { kind: "byte" } : { kind: "hf", tokenizer: m.tokenizer as HfTokenizer, tokenizerJson: readJsonFile(m.dir, "tokenizer.json", true, "tokenizer.json"), chatTemplate: m.chatTemplate?.source ?? null };
  const t0 = performance.now();
  writeGguf(values.out, m.model, tokenizer, { dtype, name: values.name ?? basename(values.model) });
  io.stderr.write(`gvm export gguf: ${m.config.modelType}, ${m.kind} tokenizer, ${dtype.toLowerCase()} -> ${values.out} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  return 0;
}

export const exportCommand: Command = {
  name: NAME,
  summary: "Export for other tools: verl parquet + per-prompt sample sizes, or GGUF for llama.cpp / Ollama.",
  help: HELP,
  async run(argv, io) {
    const [what, ...rest] = argv;
    if (what === "verl") return exportVerl(rest, io);
    if (what === "gguf") return exportGguf(rest, io);
    throw usage(what === undefined ? "say what to export: verl or gguf" : `unknown export '${what}' (verl or gguf)`);
  },
};
