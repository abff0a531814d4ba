/**
 * The allocation strategies, one registry by name. Every strategy is a pure
 * function (input, budget, options) -> AllocationResult with options parsed
 * by its own validator, or, for strategies that generate in rounds (dapo,
 * reinforce-ada), a pure RoundPlanner the trainer drives; the trainer, the
 * CLI and the benchmark all look them up here.
 */
import { ConfigError } from "../util/errors.js";
import { validateInput, type InputField } from "./input.js";
import { DAPO_PLANNER } from "./dapo.js";
import { allocateGreso } from "./greso.js";
import { allocateKnapsack } from "./knapsack.js";
import { estimateOnline } from "./online.js";
import {
  parseDapoOptions,
  parseGresoOptions,
  parseGvmOnlineOptions,
  parseGvmOptions,
  parseKnapsackOptions,
  parseReinforceAdaOptions,
  parseUniformOptions,
  type DapoOptions,
  type GresoOptions,
  type GvmOnlineOptions,
  type GvmOptions,
  type KnapsackOptions,
  type ReinforceAdaOptions,
  type UniformOptions,
} from "./options.js";
import { allocateWeighted, checkOutput, uniformCounts } from "./pipeline.js";
import { REINFORCE_ADA_PLANNER } from "./reinforce-ada.js";
import type { RoundPlanner } from "./rounds.js";
import type { AllocationInput, AllocationResult } from "./types.js";

export interface AllocationStrategy<O> {
  readonly name: string;
  /** One line for help texts. */
  readonly summary: string;
  /** Needs a stage-1 pass (N' samples per prompt) before it can allocate. */
  readonly needsStage1: boolean;
  /** Input fields it reads. */
  readonly reads: readonly InputField[];
  /** Whether the trainer must measure gradient norms for these options. */
  needsGradNorms(options: O): boolean;
  /** The input fields `allocate` fails without under these options (a subset of `reads`). */
  requires(options: O): readonly InputField[];
  /** Validates raw options (config file, CLI) and fills defaults; ConfigError on bad ones. */
  parseOptions(raw: unknown): O;
  /** The allocation itself; pure. Strategies with `rounds` throw a ConfigError: they need a sampler. */
  allocate(input: AllocationInput, budget: number, options: O): AllocationResult;
  /** Set for strategies that generate in rounds (reads "rounds"): the trainer asks it round after round instead of calling allocate. */
  readonly rounds?: RoundPlanner<O>;
  /**
   * Strategies that read "online": how fast the per-prompt history the
   * trainer keeps for them forgets (old evidence halves every this many
   * iterations); absent or null, it never does.
   */
  historyHalfLife?(options: O): number | null;
}

function toArray(values: ArrayLike<number>): number[] {
  return Array.from(values);
}

/** N / m per prompt; the first N mod m prompts get one more. */
export function allocateUniform(input: AllocationInput, budget: number, options: UniformOptions = {}): AllocationResult {
  void options;
  validateInput("uniform", input, budget, []);
  const m = input.prompts;
  const n = uniformCounts(m, budget);
  checkOutput("uniform", n, budget, 0, Number.POSITIVE_INFINITY);
  return {
    strategy: "uniform",
    budget,
    n,
    continuous: n.map(() => budget / m),
    weights: n.map(() => 1),
    acceptRate: input.acceptRate ? toArray(input.acceptRate) : null,
    gradNorm: input.gradNorm ? toArray(input.gradNorm) : null,
    evidence: input.sampleCount ? toArray(input.sampleCount) : null,
    status: n.map(() => "allocated"),
    fallback: "none",
    rounding: "largest-remainder",
    atMin: 0,
    atMax: 0,
    overflow: 0,
    notes: [],
  };
}

function stage1AcceptRate(strategy: string, input: AllocationInput, options: GvmOptions): { p: number[]; evidence: number[] | null } {
  const p = toArray(input.acceptRate ?? []);
  const counts = input.sampleCount ? toArray(input.sampleCount) : null;
  if (options.acceptRateEstimate === "empirical") return { p, evidence: counts };
  if (counts === null) throw new ConfigError(`allocation '${strategy}': acceptRateEstimate "posterior" needs sampleCount`);
  const a0 = options.priorAccept;
  const b0 = options.priorReject;
  return { p: p.map((pi, i) => (a0 + pi * (counts[i] as number)) / (a0 + b0 + (counts[i] as number))), evidence: counts };
}

function requiredFor(base: InputField[], options: GvmOptions): InputField[] {
  return options.acceptRateEstimate === "posterior" ? [...base, "sampleCount"] : base;
}

/** SPEC §1.3 exactly: w_i = G_i / sqrt(p_i + alpha / p_i^(beta-1)), filters, caps, rounding. */
export function allocateGvm(input: AllocationInput, budget: number, options: GvmOptions): AllocationResult {
  validateInput("gvm", input, budget, requiredFor(["acceptRate", "gradNorm"], options));
  const { p, evidence } = stage1AcceptRate("gvm", input, options);
  return allocateWeighted({ strategy: "gvm", budget, acceptRate: p, gradNorm: toArray(input.gradNorm ?? []), evidence, options });
}

/** GVM with G_i := 1: allocation from acceptance rates alone (no gradient-norm pass). */
export function allocateGvmPonly(input: AllocationInput, budget: number, options: GvmOptions): AllocationResult {
  validateInput("gvm-ponly", input, budget, requiredFor(["acceptRate"], options));
  const { p, evidence } = stage1AcceptRate("gvm-ponly", input, options);
  return allocateWeighted({ strategy: "gvm-ponly", budget, acceptRate: p, gradNorm: p.map(() => 1), evidence, options });
}

/** GVM from each prompt's own history (no stage 1): Beta posterior p_i, decayed, shrunk G_i. */
export function allocateGvmOnline(input: AllocationInput, budget: number, options: GvmOnlineOptions): AllocationResult {
  validateInput("gvm-online", input, budget, ["online"]);
  const online = input.online;
  if (online === undefined) throw new ConfigError("allocation 'gvm-online': online history is required");
  const est = estimateOnline(online.states, online.now, options);
  const g = options.gradNorm === "ignore" ? est.gradNorm.map(() => 1) : est.gradNorm;
  const result = allocateWeighted({ strategy: "gvm-online", budget, acceptRate: est.acceptRate, gradNorm: g, evidence: est.evidence, options });
  if (options.gradNorm === "estimate") result.notes.push(`gradient-norm prior (pooled over the chunk): ${est.gradPrior}`);
  return result;
}

const uniform: AllocationStrategy<UniformOptions> = {
  name: "uniform",
  summary: "N / m samples per prompt; no stage 1",
  needsStage1: false,
  reads: [],
  needsGradNorms: () => false,
  requires: () => [],
  parseOptions: (raw) => parseUniformOptions(raw),
  allocate: allocateUniform,
};

const gvm: AllocationStrategy<GvmOptions> = {
  name: "gvm",
  summary: "the paper's allocation: n_i proportional to G_i / sqrt(p_i + alpha / p_i^(beta-1)) from stage 1",
  needsStage1: true,
  reads: ["acceptRate", "gradNorm", "sampleCount"],
  needsGradNorms: () => true,
  requires: (o) => requiredFor(["acceptRate", "gradNorm"], o),
  parseOptions: (raw) => parseGvmOptions(raw, "allocation 'gvm'"),
  allocate: allocateGvm,
};

const gvmPonly: AllocationStrategy<GvmOptions> = {
  name: "gvm-ponly",
  summary: "gvm with G_i := 1: stage-1 acceptance rates only, no gradient norms",
  needsStage1: true,
  reads: ["acceptRate", "sampleCount"],
  needsGradNorms: () => false,
  requires: (o) => requiredFor(["acceptRate"], o),
  parseOptions: (raw) => parseGvmOptions(raw, "allocation 'gvm-ponly'"),
  allocate: allocateGvmPonly,
};

const gvmOnline: AllocationStrategy<GvmOnlineOptions> = {
  name: "gvm-online",
  summary: "gvm from each prompt's own earlier samples (Beta posterior, decay); no stage 1",
  needsStage1: false,
  reads: ["online"],
  needsGradNorms: (o) => o.gradNorm === "estimate",
  requires: () => ["online"],
  parseOptions: (raw) => parseGvmOnlineOptions(raw),
  allocate: allocateGvmOnline,
  historyHalfLife: (o) => o.halfLife,
};

const knapsack: AllocationStrategy<KnapsackOptions> = {
  name: "knapsack",
  summary: "Knapsack-RL: n_i maximising sum (1 - p^n - (1-p)^n) p (1-p)^2 from each prompt's history; no stage 1",
  needsStage1: false,
  reads: ["online"],
  needsGradNorms: () => false,
  requires: () => ["online"],
  parseOptions: (raw) => parseKnapsackOptions(raw),
  allocate: allocateKnapsack,
  historyHalfLife: (o) => o.halfLife,
};

const greso: AllocationStrategy<GresoOptions> = {
  name: "greso",
  summary: "GRESO: skip prompts whose last groups were all right or all wrong (probabilistically), the budget evenly over the rest",
  needsStage1: false,
  reads: ["online"],
  needsGradNorms: () => false,
  requires: () => ["online"],
  parseOptions: (raw) => parseGresoOptions(raw),
  allocate: allocateGreso,
};

/** A strategy that generates in rounds has no one-shot allocation: it needs a sampler. */
function needsSampler(name: string): () => never {
  return () => {
    throw new ConfigError(`allocation '${name}' generates in extra rounds and needs a sampler: use it in gvm train (rl.strategy), not as a one-shot allocation`);
  };
}

const dapo: AllocationStrategy<DapoOptions> = {
  name: "dapo",
  summary: "DAPO dynamic sampling: groups of n, drop those whose rewards are all equal, draw more prompts until m groups are kept (capped batches, the budget)",
  needsStage1: false,
  reads: ["rounds"],
  needsGradNorms: () => false,
  requires: () => ["rounds"],
  parseOptions: (raw) => parseDapoOptions(raw),
  allocate: needsSampler("dapo"),
  rounds: DAPO_PLANNER,
};

const reinforceAda: AllocationStrategy<ReinforceAdaOptions> = {
  name: "reinforce-ada",
  summary: "Reinforce-Ada: rounds of samples for the prompts still lacking enough right and wrong answers, then a balanced down-sample of each group",
  needsStage1: false,
  reads: ["rounds"],
  needsGradNorms: () => false,
  requires: () => ["rounds"],
  parseOptions: (raw) => parseReinforceAdaOptions(raw),
  allocate: needsSampler("reinforce-ada"),
  rounds: REINFORCE_ADA_PLANNER,
};

/** Every strategy by name. */
export const ALLOCATION_STRATEGIES = {
  uniform,
  gvm,
  "gvm-ponly": gvmPonly,
  "gvm-online": gvmOnline,
  knapsack,
  greso,
  dapo,
  "reinforce-ada": reinforceAda,
} as const;

export type StrategyName = keyof typeof ALLOCATION_STRATEGIES;

/** The options type of a strategy. */
export type StrategyOptions<S extends StrategyName> = (typeof ALLOCATION_STRATEGIES)[S] extends AllocationStrategy<infer O> ? O : never;

export const STRATEGY_NAMES = Object.keys(ALLOCATION_STRATEGIES) as StrategyName[];

export function isStrategyName(name: string): name is StrategyName {
  return Object.prototype.hasOwnProperty.call(ALLOCATION_STRATEGIES, name);
}

/** Looks a strategy up by name; ConfigError listing the known names otherwise. */
export function getStrategy<S extends StrategyName>(name: S): AllocationStrategy<StrategyOptions<S>>;
export function getStrategy(name: string): AllocationStrategy<unknown>;
export function getStrategy(name: string): AllocationStrategy<unknown> {
  if (!isStrategyName(name)) {
    throw new ConfigError(`unknown allocation strategy '${name}'; known: ${STRATEGY_NAMES.join(", ")}`);
  }
  return ALLOCATION_STRATEGIES[name] as AllocationStrategy<unknown>;
}

/**
 * Parses `rawOptions` for the named strategy and allocates: the one call the
 * trainer and the CLI need.
 */
export function allocate(name: string, input: AllocationInput, budget: number, rawOptions: unknown = {}): AllocationResult {
  const strategy = getStrategy(name);
  return strategy.allocate(input, budget, strategy.parseOptions(rawOptions));
}
