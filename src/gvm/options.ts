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

// Compile-time checks that the documented interfaces and the schemas agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const gvmAgrees: Same<z.output<typeof gvmSchema>, GvmOptions> = true;
const onlineAgrees: Same<z.output<typeof onlineSchema>, GvmOnlineOptions> = true;
void gvmAgrees;
void onlineAgrees;

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
