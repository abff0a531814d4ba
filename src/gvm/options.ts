/**
 * Typed, validated option objects of the allocation strategies. Each
 * strategy's options are parsed once at the edge (config file, CLI) with
 * defaults filled in; the allocation functions then trust them.
 */
import { z } from "zod";
import { ConfigError } from "../util/errors.js";

/** How a continuous allocation becomes integers that sum exactly to the budget. */
export type RoundingRule = "largest-remainder" | "low-acceptance-first";

export const ROUNDING_RULES: readonly RoundingRule[] = ["largest-remainder", "low-acceptance-first"];

/** `uniform` takes no options. */
export type UniformOptions = Record<string, never>;

/** Options shared by every GVM-weighted strategy. */
export interface GvmCommonOptions {
  /** Penalty weight alpha in w_i = G_i / sqrt(p_i + alpha / p_i^(beta-1)); >= 0. */
  alpha: number;
  /** Penalty exponent beta; >= 1. */
  beta: number;
  /** Integer rounding rule. */
  rounding: RoundingRule;
  /** Drop prompts with p_i > filterThreshold (then renormalise); null turns the filter off. In (0, 1]. */
  filterThreshold: number | null;
  /** Drop prompts whose expected accepted count p_i * share_i * N is below this (then renormalise); 0 turns it off. */
  filterInsufficient: number;
  /** Every prompt gets at least nMin samples (integer >= 0). */
  nMin: number;
  /** No prompt gets more than nMax samples (integer >= 1, >= nMin); null means no cap. */
  nMax: number | null;
}

/** Options of `gvm` and `gvm-ponly` (stage-1 statistics). */
export interface GvmOptions extends GvmCommonOptions {
  /** p_i as measured ("empirical", the paper) or the Beta posterior mean from sampleCount ("posterior"). */
  acceptRateEstimate: "empirical" | "posterior";
  /** Beta prior pseudo-count of accepted samples (used by "posterior"); > 0. */
  priorAccept: number;
  /** Beta prior pseudo-count of rejected samples (used by "posterior"); > 0. */
  priorReject: number;
}

/** Options of `gvm-online` (per-prompt history, no stage 1). */
export interface GvmOnlineOptions extends GvmCommonOptions {
  /** Beta prior pseudo-count of accepted samples; > 0. */
  priorAccept: number;
  /** Beta prior pseudo-count of rejected samples; > 0. */
  priorReject: number;
  /** Old evidence loses half its weight every halfLife time units (the caller's clock, e.g. iterations); null: never decays. */
  halfLife: number | null;
  /** "estimate": G_i from each prompt's measured gradient norms; "ignore": G_i := 1 (the p-only variant). */
  gradNorm: "estimate" | "ignore";
  /** Pseudo-count of the pooled gradient-norm prior that each prompt's mean G_i is shrunk towards; >= 0. */
  gradPriorWeight: number;
}

/** Options of `knapsack` (Knapsack-RL, arXiv 2509.25849): per-prompt history, no stage 1. */
export interface KnapsackOptions {
  /** Samples for a prompt whose p_i is strictly between 0 and 1 before the knapsack adds to it (integer >= 1). */
  nMin: number;
  /** No prompt gets more than nMax samples (integer >= 1, >= every base count); null means no cap. */
  nMax: number | null;
  /** Samples for a prompt whose history has no accepted sample (p_i = 0); null: nMin. */
  nNoneAccepted: number | null;
  /** Samples for a prompt whose history has no rejected sample (p_i = 1); null: nMin. */
  nAllAccepted: number | null;
  /** A prompt with fewer samples ever drawn has no estimate and gets the uniform share N / m (integer >= 0). */
  minSamples: number;
  /** p_i is the decayed acceptance rate; old evidence halves every halfLife clock units; null: never decays. */
  halfLife: number | null;
  /** Confidence of the per-prompt cost ln(1 - c) / ln(max(p, 1 - p)): samples to see both outcomes; in (0, 1). */
  confidence: number;
  /** Budget beyond the mixed prompts' summed cost goes to the p = 0 prompts (else to the other unmixed ones). */
  fallback: boolean;
}

/** Options of `greso` (GRESO, arXiv 2506.02177): skip predicted zero-variance prompts. */
export interface GresoOptions {
  /** A prompt whose last z groups were all accepted is kept with probability max(pEasy^z, minKeep); in (0, 1]. */
  pEasy: number;
  /** A prompt whose last z groups were all rejected is kept with probability max(pHard^z, minKeep); in (0, 1]. */
  pHard: number;
  /** The exploration floor: no prompt is kept with a probability below this; in [0, 1]. */
  minKeep: number;
  /** No kept prompt gets more than nMax samples (integer >= 1); the rest goes to the skipped ones; null: no cap. */
  nMax: number | null;
}

/** Options of `dapo` (DAPO's dynamic sampling: verl recipe/dapo, `algorithm.filter_groups`). */
export interface DapoOptions {
  /** Responses per prompt, every group the same size (`rollout.n`), integer >= 1; null: the largest n with 2 x genPrompts x n <= N, at least 2 (the budget pays for two generation batches). */
  groupSize: number | null;
  /** Prompts per generation batch (`data.gen_batch_size`), integer >= 1; null: m, the groups the update wants (verl's default, gen_batch_size = train_batch_size). */
  genPrompts: number | null;
  /** At most this many generation batches per iteration (`max_num_gen_batches`), integer >= 1; null: no limit but the budget. */
  maxGenBatches: number | null;
}

/** Options of `reinforce-ada` (Reinforce-Ada, arXiv 2510.04996: online successive elimination, then a balanced down-sample). */
export interface ReinforceAdaOptions {
  /** Responses per prompt the update trains on after the down-sample (`rollout.n`, final_keep_per_prompt), integer >= 2. */
  groupSize: number;
  /** Samples for each still-active prompt per round (`round_repeat`), integer >= 1. */
  roundSize: number;
  /** At most this many rounds per iteration (`max_rounds`), integer >= 1. */
  maxRounds: number;
  /** When a prompt leaves the active set (`reinforce_ada_choice`): "balanced", once it has groupSize/2 accepted and groupSize - groupSize/2 rejected; "positive-focused", once it has one accepted. */
  variant: "balanced" | "positive-focused";
}

const finite = z.number().refine(Number.isFinite, "must be a finite number");

const commonShape = {
  alpha: finite.refine((x) => x >= 0, "must be >= 0").default(1e-3),
  beta: finite.refine((x) => x >= 1, "must be >= 1").default(2),
  rounding: z.enum(["largest-remainder", "low-acceptance-first"]).default("largest-remainder"),
  filterThreshold: finite
    .refine((x) => x > 0 && x <= 1, "must be in (0, 1] (or null for no filter)")
    .nullable()
    .default(null),
  filterInsufficient: finite.refine((x) => x >= 0, "must be >= 0").default(0),
  nMin: z.number().int("must be an integer").min(0, "must be >= 0").default(0),
  nMax: z.number().int("must be an integer").min(1, "must be >= 1").nullable().default(null),
};

const priorShape = {
  priorAccept: finite.refine((x) => x > 0, "must be > 0").default(1),
  priorReject: finite.refine((x) => x > 0, "must be > 0").default(1),
};

const capsConsistent = (o: { nMin: number; nMax: number | null }) => o.nMax === null || o.nMax >= o.nMin;
const capsMessage = { message: "nMax must be >= nMin", path: ["nMax"] };

const uniformSchema = z.object({}).strict();

const gvmSchema = z
  .object({
    ...commonShape,
    ...priorShape,
    acceptRateEstimate: z.enum(["empirical", "posterior"]).default("empirical"),
  })
  .strict()
  .refine(capsConsistent, capsMessage);

const onlineSchema = z
  .object({
    ...commonShape,
    ...priorShape,
    halfLife: finite.refine((x) => x > 0, "must be > 0 (or null for no decay)").nullable().default(10),
    gradNorm: z.enum(["estimate", "ignore"]).default("estimate"),
    gradPriorWeight: finite.refine((x) => x >= 0, "must be >= 0").default(1),
  })
  .strict()
  .refine(capsConsistent, capsMessage);

const count = z.number().int("must be an integer").min(0, "must be >= 0");

const knapsackSchema = z
  .object({
    // V(0, p) = V(1, p) = 0: the value is concave only from n = 1 on, where the greedy split is exact.
    nMin: z.number().int("must be an integer").min(1, "must be >= 1").default(2),
    nMax: z.number().int("must be an integer").min(1, "must be >= 1").nullable().default(128),
    nNoneAccepted: count.nullable().default(null),
    nAllAccepted: count.nullable().default(null),
    minSamples: count.default(8),
    halfLife: finite.refine((x) => x > 0, "must be > 0 (or null for no decay)").nullable().default(10),
    confidence: finite.refine((x) => x > 0 && x < 1, "must be in (0, 1)").default(0.9),
    fallback: z.boolean().default(true),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.nMax === null) return;
    for (const key of ["nMin", "nNoneAccepted", "nAllAccepted"] as const) {
      const v = o[key];
      if (v !== null && v > o.nMax) ctx.addIssue({ code: "custom", message: `nMax must be >= ${key} (${v})`, path: ["nMax"] });
    }
  });

const probability = finite.refine((x) => x > 0 && x <= 1, "must be in (0, 1]");

const gresoSchema = z
  .object({
    pEasy: probability.default(0.5),
    pHard: probability.default(0.5),
    minKeep: finite.refine((x) => x >= 0 && x <= 1, "must be in [0, 1]").default(0.01),
    nMax: z.number().int("must be an integer").min(1, "must be >= 1").nullable().default(null),
  })
  .strict();

const positiveInt = z.number().int("must be an integer").min(1, "must be >= 1");

const dapoSchema = z
  .object({
    groupSize: positiveInt.nullable().default(null),
    genPrompts: positiveInt.nullable().default(null),
    // verl's config default is 0 (no limit); its DAPO scripts run with 10.
    maxGenBatches: positiveInt.nullable().default(10),
  })
  .strict();

const reinforceAdaSchema = z
  .object({
    // The reference script's rollout.n; its config's round_repeat and max_rounds.
    groupSize: z.number().int("must be an integer").min(2, "must be >= 2 (a group of one has no baseline)").default(4),
    roundSize: positiveInt.default(8),
    maxRounds: positiveInt.default(4),
    variant: z.enum(["balanced", "positive-focused"]).default("balanced"),
  })
  .strict();

// Compile-time checks that the documented interfaces and the schemas agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const gvmAgrees: Same<z.output<typeof gvmSchema>, GvmOptions> = true;
const onlineAgrees: Same<z.output<typeof onlineSchema>, GvmOnlineOptions> = true;
const knapsackAgrees: Same<z.output<typeof knapsackSchema>, KnapsackOptions> = true;
const gresoAgrees: Same<z.output<typeof gresoSchema>, GresoOptions> = true;
void gvmAgrees;
void onlineAgrees;
void knapsackAgrees;
void gresoAgrees;
const dapoAgrees: Same<z.output<typeof dapoSchema>, DapoOptions> = true;
const reinforceAdaAgrees: Same<z.output<typeof reinforceAdaSchema>, ReinforceAdaOptions> = true;
void dapoAgrees;
void reinforceAdaAgrees;

/** Partial options as a user writes them; omitted fields take their defaults. */
export type GvmOptionsInput = Partial<GvmOptions>;
export type GvmOnlineOptionsInput = Partial<GvmOnlineOptions>;

function parseWith<T>(schema: z.ZodType<T>, raw: unknown, where: string): T {
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => {
    const field = i.path.join(".");
    if (i.code === "unrecognized_keys") return `unknown option(s) ${i.keys.map((k) => `'${k}'`).join(", ")}`;
    return field ? `option '${field}' ${i.message}` : i.message;
  });
  throw new ConfigError(`${where}: ${issues.join("; ")}`);
}

/** Validates `uniform` options (there are none; unknown keys are errors). */
export function parseUniformOptions(raw: unknown, where = "allocation 'uniform'"): UniformOptions {
  return parseWith(uniformSchema, raw, where) as UniformOptions;
}

/** Validates `gvm` / `gvm-ponly` options and fills in defaults. */
export function parseGvmOptions(raw: unknown, where = "allocation 'gvm'"): GvmOptions {
  return parseWith(gvmSchema, raw, where);
}

/** Validates `gvm-online` options and fills in defaults. */
export function parseGvmOnlineOptions(raw: unknown, where = "allocation 'gvm-online'"): GvmOnlineOptions {
  return parseWith(onlineSchema, raw, where);
}

/** Validates `knapsack` options and fills in defaults. */
export function parseKnapsackOptions(raw: unknown, where = "allocation 'knapsack'"): KnapsackOptions {
  return parseWith(knapsackSchema, raw, where);
}

/** Validates `greso` options and fills in defaults. */
export function parseGresoOptions(raw: unknown, where = "allocation 'greso'"): GresoOptions {
  return parseWith(gresoSchema, raw, where);
}

/** Validates `dapo` options and fills in defaults. */
export function parseDapoOptions(raw: unknown, where = "allocation 'dapo'"): DapoOptions {
  return parseWith(dapoSchema, raw, where);
}

/** Validates `reinforce-ada` options and fills in defaults. */
export function parseReinforceAdaOptions(raw: unknown, where = "allocation 'reinforce-ada'"): ReinforceAdaOptions {
  return parseWith(reinforceAdaSchema, raw, where);
}
