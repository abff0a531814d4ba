/**
 * The training configuration: one typed object, a one-line doc per field,
 * validated once at the edge (config file, CLI overrides) with errors that
 * name the field and the allowed values.
 */
import { z } from "zod";
import { BENCHMARK_NAMES, CHAT_FORMAT_NAMES, GOLD_RULES, type GoldRule, PAPER_INSTRUCTION, PAPER_SYSTEM_PROMPT } from "../eval/index.js";
import { GRAD_SUBSETS, type GradSubset } from "../model/index.js";
import { AGG_MODES, type AggMode, KL_ESTIMATORS, type KlEstimator } from "../rl/losses.js";
import { DEFAULT_FIELDS } from "../data/index.js";
import { STRATEGY_NAMES, type StrategyName } from "../gvm/index.js";
import { LEARNER_NAMES, type LearnerName } from "../rl/learners.js";
import { loadConfig, validateConfig } from "../util/config.js";
import { ConfigError } from "../util/errors.js";

/** The learner (rl/learners.ts). */
export type Method = LearnerName;

/**
 * The allocation strategy of `gvm train` and `gvm demo` when none is named:
 * the one `npm run bench:gvm` showed best. DAPO dynamic sampling ended
 * furthest above uniform beyond noise (GRPO on a pool where most prompts sit
 * at p = 0 or 1, twenty paired seeds: +3.2 points, gvm-ponly +1.5);
 * docs/allocation.md gives the figures.
 */
export const RL_DEFAULT_STRATEGY: StrategyName = "dapo";
export const METHODS: readonly Method[] = LEARNER_NAMES;

const int = (min: number) => z.number().int().min(min);

export const modelSchema = z
  .object({
    /** Width of the residual stream. */
    hiddenSize: int(8).default(128),
    /** Transformer blocks. */
    layers: int(1).default(4),
    /** Query heads. */
    heads: int(1).default(4),
    /** Key/value heads (grouped-query attention). */
    kvHeads: int(1).default(4),
    /** SwiGLU inner width. */
    ffn: int(8).default(344),
    /** Longest sequence (prompt + response) in tokens. */
    maxPositions: int(16).default(160),
  })
  .strict();

export const suiteSchema = z
  .object({
    /** Seed of the problem generator (the suite, not the run). */
    seed: z.number().int().default(1),
    /** RL prompt pool size. */
    trainSize: int(1).default(1000),
    /** Test problems (equal count per level). */
    testSize: int(1).default(300),
    /** Largest running value of an arithmetic chain. */
    maxValue: int(10).default(20),
    /** Prompt-pool regime: the natural level mix or a paper-like pool (mostly trivial or out of reach). */
    regime: z.enum(["natural", "paper-like"]).default("natural"),
  })
  .strict();

export const warmStartSchema = z
  .object({
    /** Supervised steps on demonstrations drawn fresh for every batch outside the test split and the RL pool. */
    steps: int(0).default(1200),
    /** The first this many steps learn from a teacher that never slips; the rest from one that slips at slipRate. */
    cleanSteps: int(0).default(800),
    /** Probability that the teacher of the later steps gets a step's result wrong (a near miss the chain goes on from). */
    slipRate: z.number().min(0).lt(1).default(0.2),
    /** Level weights (1..6) of the demonstrations: levels 1-5; level 6 is left undemonstrated (out of reach for the warm-started policy). */
    demoMix: z.array(z.number().min(0)).length(6).refine((w) => w.some((x) => x > 0), "needs a positive weight").default([1, 1, 1, 1, 1, 0]),
    /** Demonstrations per step. */
    batchSize: int(1).default(32),
    /** Peak learning rate (warmup + cosine). */
    lr: z.number().positive().default(1e-3),
    /** Directory for cached warm-start checkpoints; null = next to the run directory in .cache. */
    cacheDir: z.string().nullable().default(null),
  })
  .strict();

export const rlSchema = z
  .object({
    /** Learner: raft (vanilla loss on accepted), raftpp (clipped ratio), grpo (group advantages + clipped ratio). */
    method: z.enum(LEARNER_NAMES as [LearnerName, ...LearnerName[]]).default("raftpp"),
    /** Allocation strategy from the gvm registry (default RL_DEFAULT_STRATEGY). */
    strategy: z.enum(STRATEGY_NAMES as [StrategyName, ...StrategyName[]]).default(RL_DEFAULT_STRATEGY),
    /** Options passed to the strategy (validated by it). */
    strategyOptions: z.record(z.string(), z.unknown()).default({}),
    /** Prompts per iteration (m). */
    promptsPerIter: int(1).default(64),
    /** Responses per iteration (N). */
    budget: int(1).default(512),
    /** Stage-1 responses per prompt (N') for strategies that estimate p_i and G_i first. */
    stage1: int(1).default(4),
    /** "paper": stage 1 on top of N; "inclusive": stage 1 counts inside N (each prompt keeps at least N'). */
    budgetMode: z.enum(["paper", "inclusive"]).default("inclusive"),
    /** Stage-1 responses count toward n_i and are trained on (else only stage-2 responses are). */
    reuseStage1: z.boolean().default(true),
    /** Prompt mini-batches per iteration (k), each sampled from the current policy and trained on in its turn. */
    stepsPerIter: int(1).default(1),
    /** Optimizer steps on each mini-batch's responses (PPO epochs; the first at ratio 1, later ones clipped). */
    epochs: int(1).default(3),
    /**
     * Peak learning rate. The default is measured on the built-in policy (docs/training.md, "The experiment
     * preset"); billion-parameter models want about 1e-6.
     */
    lr: z.number().positive().default(2e-4),
    /** Optimizer steps of linear learning-rate warmup (a fresh AdamW's first steps move every weight by about lr, whatever its gradient). */
    warmupSteps: int(0).default(0),
    /** AdamW decoupled weight decay. */
    weightDecay: z.number().min(0).default(0),
    /** Clip gradients to this global norm. */
    maxGradNorm: z.number().positive().default(1),
    /** Lower ratio clip (1 - epsLow). */
    epsLow: z.number().min(0).max(0.99).default(0.2),
    /** Upper ratio clip (1 + epsHigh), clip-higher. */
    epsHigh: z.number().min(0).default(0.28),
    /** Dual-clip bound for negative advantages. */
    dualClipC: z.number().gt(1).default(3),
    /** Loss aggregation over tokens. */
    lossAgg: z.enum(AGG_MODES as [AggMode, ...AggMode[]]).default("token-mean"),
    /** KL-to-reference coefficient (0 disables the reference model). */
    klCoef: z.number().min(0).default(0.001),
    /** KL estimator. */
    klEstimator: z.enum(KL_ESTIMATORS as [KlEstimator, ...KlEstimator[]]).default("k3"),
    /** Parameters whose per-sample gradient norm defines G_i. */
    gradSubset: z.enum(GRAD_SUBSETS as [GradSubset, ...GradSubset[]]).default("embedding"),
    /** Sampling temperature for rollouts. */
    temperature: z.number().positive().default(1),
    /** Longest response in tokens. */
    maxNewTokens: int(1).default(96),
    /** Stop after this many iterations. */
    iterations: int(1).default(20),
    /** Stop once this many responses were generated (stage 1 included); 0 = no limit. */
    maxSamples: int(0).default(0),
  })
  .strict();

export const evalSchema = z
  .object({
    /** Evaluate every this many iterations (and before the first and after the last). */
    every: int(1).default(2),
    /** Samples per test problem (avg@k). */
    k: int(1).default(4),
    /** Sampling temperature of the evaluation. */
    temperature: z.number().min(0).default(1),
    /** Seed of the evaluation's samples: the same across runs, so runs compare on common random numbers. */
    seed: z.number().int().default(12345),
  })
  .strict();

export const policySchema = z
  .object({
    /** "builtin": the byte-level model of `model`, warm-started on the suite; "hf": a Hugging Face model directory (no warm start). */
    kind: z.enum(["builtin", "hf"]).default("builtin"),
    /** The model directory (config.json, safetensors, tokenizer files) when kind is "hf". */
    path: z.string().nullable().default(null),
    /** On-disk dtype of the checkpoints of an "hf" run. */
    saveDtype: z.enum(["F32", "BF16", "F16"]).default("F32"),
  })
  .strict();

const fieldMapShape = {
  /** Field with the question text (or a chat message list: its last user message). */
  question: z.string().min(1).default(DEFAULT_FIELDS.question),
  /** Field with the gold answer (the gold rule turns it into a string). */
  answer: z.string().min(1).default(DEFAULT_FIELDS.answer),
  /** Field with a unique id; null = the row number. */
  id: z.string().nullable().default(null),
  /** Field with a difficulty level; null = none. */
  level: z.string().nullable().default(null),
  /** How the answer field becomes the gold string: string | last-boxed | first | number. */
  gold: z.enum(GOLD_RULES as [GoldRule, ...GoldRule[]]).default("string"),
  /** Use only the first this many rows; 0 = all. */
  limit: int(0).default(0),
};

export const trainSetSchema = z
  .object({
    /** JSONL or Parquet file of questions and answers. */
    file: z.string().nullable().default(null),
    ...fieldMapShape,
  })
  .strict();

export const testSetSchema = z
  .object({
    /** One of the paper's benchmarks (math500, minerva_math, ...): its field mapping and gold rule are known; `file` is its file or the benchmarks directory. */
    benchmark: z.string().nullable().default(null),
    /** JSONL or Parquet file (or, with `benchmark`, the benchmarks directory). */
    file: z.string().nullable().default(null),
    ...fieldMapShape,
  })
  .strict();

export const promptsSchema = z
  .object({
    /** "suite": the built-in arithmetic suite (the `suite` section); "dataset": question/answer files, rewards from the math verifier. */
    source: z.enum(["suite", "dataset"]).default("suite"),
    /** The training pool of a dataset run. */
    train: trainSetSchema.default(trainSetSchema.parse({})),
    /** The test set of a dataset run. */
    test: testSetSchema.default(testSetSchema.parse({})),
    /** System message of dataset prompts (null = none); default the paper's. */
    system: z.string().nullable().default(PAPER_SYSTEM_PROMPT),
    /** Appended to each training question; default the paper's training instruction (RLHFlow/GVM numina_process.py, final period included). */
    trainInstruction: z.string().default(`${PAPER_INSTRUCTION}.`),
    /** Appended to each test question; default the paper's evaluation instruction (eval.py, no final period). */
    testInstruction: z.string().default(PAPER_INSTRUCTION),
    /** Chat format of dataset prompts: "auto" (the model's chat template when it has one, else plain), "model", or a named format. */
    chat: z.enum(["auto", "model", ...CHAT_FORMAT_NAMES] as [string, ...string[]]).default("auto"),
  })
  .strict();

export const samplerSchema = z
  .object({
    /** "local": the in-process engine; "remote": an OpenAI-compatible server (/v1/completions) serving the policy. */
    kind: z.enum(["local", "remote"]).default("local"),
    /** Sequences decoded together by the local engine. */
    batchSize: int(1).default(256),
    /** Remote: base URL up to and including /v1, e.g. http://127.0.0.1:8000/v1. */
    baseUrl: z.string().nullable().default(null),
    /** Remote: the model name the server serves. */
    model: z.string().nullable().default(null),
    /** Remote: environment variable holding the API key (the key itself never goes into the run directory); null = none. */
    apiKeyEnv: z.string().nullable().default(null),
    /** Remote: server calls in flight at once. */
    concurrency: int(1).default(8),
    /** Remote: responses per server call at most. */
    maxNPerRequest: int(1).default(64),
    /** Remote: retries of a call after 429, 5xx, timeouts, dropped connections or malformed answers. */
    maxRetries: int(0).default(6),
    /** Remote: per-call time limit in milliseconds. */
    timeoutMs: int(1).default(600_000),
    /** Remote: ask the server for token log-probs (else they are computed in-process). */
    logprobs: z.boolean().default(true),
    /**
     * Remote: shell command run after each checkpoint is written, before it is evaluated
     * (environment: GVM_CHECKPOINT = its directory, GVM_ITER), that makes the server serve it
     * (e.g. restart vLLM on it and wait until it answers); the trainer waits for exit 0. null = the server is never reloaded.
     */
    reloadCommand: z.string().nullable().default(null),
  })
  .strict();

export const trainConfigSchema = z
  .object({
    /** Seed of everything random in the run (init, data order, samples). */
    seed: z.number().int().default(0),
    /** Run directory (config, metrics, checkpoints). */
    runDir: z.string().default("runs/latest"),
    /** Label for reports; default "<method>/<strategy>". */
    label: z.string().nullable().default(null),
    policy: policySchema.default(policySchema.parse({})),
    model: modelSchema.default(modelSchema.parse({})),
    suite: suiteSchema.default(suiteSchema.parse({})),
    warmStart: warmStartSchema.default(warmStartSchema.parse({})),
    rl: rlSchema.default(rlSchema.parse({})),
    eval: evalSchema.default(evalSchema.parse({})),
    prompts: promptsSchema.default(promptsSchema.parse({})),
    sampler: samplerSchema.default(samplerSchema.parse({})),
  })
  .strict();

export type TrainConfig = z.infer<typeof trainConfigSchema>;
export type RlConfig = z.infer<typeof rlSchema>;
export type ModelSection = z.infer<typeof modelSchema>;
export type SuiteConfig = z.infer<typeof suiteSchema>;
export type PolicyConfig = z.infer<typeof policySchema>;
export type PromptsConfig = z.infer<typeof promptsSchema>;
export type SamplerConfig = z.infer<typeof samplerSchema>;

/** Validates a raw config (parsed YAML/JSON with overrides applied); errors name each bad field. */
export function parseTrainConfig(raw: unknown, source = "config"): TrainConfig {
  return checkTrainConfig(validateConfig(trainConfigSchema, raw, source), source);
}

/** Loads a config file (optional) with typed values by dotted path, then `path=value` overrides, validated. */
export function loadTrainConfig(file: string | undefined, overrides: readonly string[] = [], values: ReadonlyArray<readonly [string, unknown]> = []): TrainConfig {
  const c = loadConfig(trainConfigSchema, { ...(file !== undefined ? { file } : {}), values, overrides });
  return checkTrainConfig(c, file ?? "config");
}

/** Constraints between fields that a schema cannot state. */
export function checkTrainConfig(c: TrainConfig, source: string): TrainConfig {
  const fail = (field: string, why: string): never => {
    throw new ConfigError(`${source}: ${field} ${why}`);
  };
  if (c.model.hiddenSize % c.model.heads !== 0) fail("model.hiddenSize", `(${c.model.hiddenSize}) must be divisible by model.heads (${c.model.heads})`);
  if (c.model.heads % c.model.kvHeads !== 0) fail("model.heads", `(${c.model.heads}) must be a multiple of model.kvHeads (${c.model.kvHeads})`);
  if (c.warmStart.cleanSteps > c.warmStart.steps) fail("warmStart.cleanSteps", `(${c.warmStart.cleanSteps}) cannot exceed warmStart.steps (${c.warmStart.steps})`);
  if (c.rl.stepsPerIter > c.rl.promptsPerIter) fail("rl.stepsPerIter", `(${c.rl.stepsPerIter}) cannot exceed rl.promptsPerIter (${c.rl.promptsPerIter})`);
  if (c.rl.budget < c.rl.promptsPerIter) fail("rl.budget", `(${c.rl.budget}) must give every prompt at least one response (rl.promptsPerIter = ${c.rl.promptsPerIter})`);
  if (c.prompts.source === "suite" && c.suite.trainSize < c.rl.promptsPerIter) fail("suite.trainSize", `(${c.suite.trainSize}) must be at least rl.promptsPerIter (${c.rl.promptsPerIter})`);
  if (c.policy.kind === "hf" && (c.policy.path === null || c.policy.path === "")) fail("policy.path", "is required when policy.kind is \"hf\" (a Hugging Face model directory: config.json, *.safetensors, tokenizer.json)");
  if (c.policy.kind === "builtin" && c.policy.path !== null) fail("policy.path", `(${JSON.stringify(c.policy.path)}) is only read when policy.kind is "hf"`);
  if (c.prompts.source === "dataset") {
    if (c.prompts.train.file === null) fail("prompts.train.file", "is required when prompts.source is \"dataset\" (a JSONL or Parquet file of questions and answers)");
    if (c.prompts.test.file === null) fail("prompts.test.file", "is required when prompts.source is \"dataset\" (a JSONL or Parquet file, or with prompts.test.benchmark the benchmarks directory)");
    if (c.prompts.test.benchmark !== null && !BENCHMARK_NAMES.includes(c.prompts.test.benchmark)) fail("prompts.test.benchmark", `${JSON.stringify(c.prompts.test.benchmark)} is not a benchmark; known: ${BENCHMARK_NAMES.join(", ")}`);
  }
  if (c.prompts.chat === "model" && c.policy.kind !== "hf") fail("prompts.chat", "\"model\" needs a Hugging Face policy (policy.kind: hf) with a chat template");
  if (c.sampler.kind === "local" && c.sampler.reloadCommand !== null) fail("sampler.reloadCommand", "is only run when sampler.kind is \"remote\" (the in-process engine always samples the current policy)");
  if (c.sampler.kind === "remote") {
    if (c.sampler.baseUrl === null) fail("sampler.baseUrl", "is required when sampler.kind is \"remote\" (e.g. http://127.0.0.1:8000/v1)");
    if (c.sampler.model === null) fail("sampler.model", "is required when sampler.kind is \"remote\" (the model name the server serves)");
  }
  return c;
}
