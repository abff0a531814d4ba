/**
 * Outcome advantages, one per response, as pure functions over arrays,
 * looked up by name (SPEC §2).
 *
 * Responses come grouped by prompt: group i is the next groupSizes[i]
 * entries of `rewards` (n_i of them, sizes may differ and may be 0).
 *
 * - raft:    A = 1 for an accepted response, 0 for a rejected one (rewards must be 0 or 1).
 * - grpo:    A = (r - mean_group) / (std_group + epsilon). std is the SAMPLE standard
 *            deviation (divisor n - 1), as verl's compute_grpo_outcome_advantage
 *            (torch.std, unbiased by default). A group of one gets mean 0 and
 *            std 1, as there: A = r / (1 + epsilon).
 * - dr_grpo: A = r - mean_group (Dr. GRPO: no std division; a group of one: A = r).
 */
import { GvmError } from "../util/errors.js";

export class AdvantageInputError extends GvmError {
  constructor(
    message: string,
    /** "rewards", "groupSizes" or "epsilon". */
    readonly field: string,
    /** The offending entry, or null. */
    readonly index: number | null,
  ) {
    super(message);
  }
}

export interface AdvantageInput {
  /** Scalar outcome reward per response, grouped by prompt. */
  readonly rewards: ArrayLike<number>;
  /** Responses per prompt, consecutive in `rewards` (integers >= 0 summing to rewards.length). */
  readonly groupSizes: ArrayLike<number>;
}

export interface AdvantageOptions {
  /** Added to the group std before dividing (grpo); >= 0. */
  readonly epsilon: number;
}

export const DEFAULT_ADVANTAGE_OPTIONS: AdvantageOptions = { epsilon: 1e-6 };

/** Every advantage estimator has this signature. */
export type AdvantageFn = (input: AdvantageInput, options?: Partial<AdvantageOptions>) => Float64Array;

function bad(field: string, index: number | null, message: string): never {
  const where = index === null ? field : `${field}[${index}]`;
  throw new AdvantageInputError(`advantages: ${where} ${message}`, field, index);
}

function validate(input: AdvantageInput): void {
  const { rewards, groupSizes } = input;
  let total = 0;
  for (let i = 0; i < groupSizes.length; i++) {
    const s = groupSizes[i];
    if (typeof s !== "number" || !Number.isSafeInteger(s) || s < 0) bad("groupSizes", i, `= ${String(s)} must be an integer >= 0`);
    total += s;
  }
  if (total !== rewards.length) bad("groupSizes", null, `sum to ${total} but there are ${rewards.length} rewards`);
  for (let i = 0; i < rewards.length; i++) {
    const r = rewards[i];
    if (typeof r !== "number" || !Number.isFinite(r)) bad("rewards", i, `= ${String(r)} must be a finite number`);
  }
}

function resolveOptions(options: Partial<AdvantageOptions> | undefined): AdvantageOptions {
  const o = { ...DEFAULT_ADVANTAGE_OPTIONS, ...options };
  if (!Number.isFinite(o.epsilon) || o.epsilon < 0) bad("epsilon", null, `= ${o.epsilon} must be a finite number >= 0`);
  return o;
}

/** Mean and sample std of each group (a group of one: mean 0, std 1; an empty group: NaN). */
export function groupStats(input: AdvantageInput): { mean: Float64Array; std: Float64Array } {
  validate(input);
  const g = input.groupSizes.length;
  const mean = new Float64Array(g);
  const std = new Float64Array(g);
  let start = 0;
  for (let k = 0; k < g; k++) {
    const size = input.groupSizes[k] as number;
    if (size === 0) {
      mean[k] = Number.NaN;
      std[k] = Number.NaN;
    } else if (size === 1) {
      mean[k] = 0;
      std[k] = 1;
    } else {
      let s = 0;
      for (let i = start; i < start + size; i++) s += input.rewards[i] as number;
      const mu = s / size;
      let ss = 0;
      for (let i = start; i < start + size; i++) ss += ((input.rewards[i] as number) - mu) ** 2;
      mean[k] = mu;
      std[k] = Math.sqrt(ss / (size - 1));
    }
    start += size;
  }
  return { mean, std };
}

function perResponse(input: AdvantageInput, f: (r: number, mean: number, std: number) => number): Float64Array {
  const { mean, std } = groupStats(input);
  const out = new Float64Array(input.rewards.length);
  let i = 0;
  for (let k = 0; k < input.groupSizes.length; k++) {
    const size = input.groupSizes[k] as number;
    for (let j = 0; j < size; j++, i++) out[i] = f(input.rewards[i] as number, mean[k] as number, std[k] as number);
  }
  return out;
}

/** RAFT: 1 accepted, 0 rejected. */
export const raftAdvantages: AdvantageFn = (input) => {
  validate(input);
  const out = new Float64Array(input.rewards.length);
  for (let i = 0; i < out.length; i++) {
    const r = input.rewards[i] as number;
    if (r !== 0 && r !== 1) bad("rewards", i, `= ${r}: raft needs 0 (rejected) or 1 (accepted)`);
    out[i] = r;
  }
  return out;
};

/** GRPO: group-normalised with the sample std. */
export const grpoAdvantages: AdvantageFn = (input, options) => {
  const { epsilon } = resolveOptions(options);
  return perResponse(input, (r, mean, std) => (r - mean) / (std + epsilon));
};

/** Dr. GRPO: group-centred, no std division. */
export const drGrpoAdvantages: AdvantageFn = (input, options) => {
  resolveOptions(options);
  return perResponse(input, (r, mean) => r - mean);
};

export const ADVANTAGES = {
  raft: raftAdvantages,
  grpo: grpoAdvantages,
  dr_grpo: drGrpoAdvantages,
} as const satisfies Record<string, AdvantageFn>;

export type AdvantageName = keyof typeof ADVANTAGES;

export const ADVANTAGE_NAMES = Object.keys(ADVANTAGES) as AdvantageName[];

/** Looks an estimator up by name; GvmError listing the known names otherwise. */
export function getAdvantageFn(name: string): AdvantageFn {
  if (!Object.prototype.hasOwnProperty.call(ADVANTAGES, name)) {
    throw new AdvantageInputError(`unknown advantage estimator '${name}'; known: ${ADVANTAGE_NAMES.join(", ")}`, "name", null);
  }
  return ADVANTAGES[name as AdvantageName];
}

export function computeAdvantages(name: string, input: AdvantageInput, options?: Partial<AdvantageOptions>): Float64Array {
  return getAdvantageFn(name)(input, options);
}
