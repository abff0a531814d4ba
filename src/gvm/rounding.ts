/**
 * Integer rounding of a continuous allocation to integers that sum exactly
 * to the budget. Ties are always broken by the lower prompt index, so the
 * result is a function of the input alone.
 */
import { GvmError } from "../util/errors.js";
import type { RoundingRule } from "./options.js";

/** Values this close to an integer count as that integer (float noise from normalising). */
const SNAP = 1e-9;

function snap(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - r) <= SNAP * Math.max(1, Math.abs(x)) ? r : x;
}

/** Round half to even, as numpy's np.round (which the reference code uses). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The reference code's rule (RLHFlow/GVM `float_to_int_preserve_sum`):
 * round every x_i half-to-even, then fix the total: if it falls short by
 * e, add 1 to the e prompts with the largest residuals x_i - round(x_i); if
 * it overshoots by e, take 1 from the e prompts with the smallest residuals.
 */
export function roundLargestRemainder(x: readonly number[], budget: number): number[] {
  const xs = x.map(snap);
  const n = xs.map(roundHalfEven);
  let error = budget;
  for (const v of n) error -= v;
  if (error === 0) return n;
  const residual = xs.map((v, i) => v - (n[i] as number));
  const order = xs.map((_, i) => i);
  const sign = error > 0 ? 1 : -1;
  // Largest residuals first when adding, smallest first when taking away.
  order.sort((a, b) => sign * ((residual[b] as number) - (residual[a] as number)) || a - b);
  for (let j = 0; j < Math.abs(error); j++) {
    const i = order[j];
    if (i === undefined) throw new GvmError(`roundLargestRemainder: cannot fix a total off by ${error} over ${x.length} prompts`);
    n[i] = (n[i] as number) + sign;
  }
  return n;
}

/**
 * The paper appendix's rule: floor every x_i, then give the leftover
 * samples one each to the prompts with the lowest acceptance rates among
 * those whose x_i was not already an integer (so no prompt moves by a whole
 * sample or more); ties go to the larger fractional part, then the lower index.
 */
export function roundLowAcceptanceFirst(x: readonly number[], budget: number, acceptRate: readonly number[]): number[] {
  const xs = x.map(snap);
  const n = xs.map(Math.floor);
  let leftover = budget;
  for (const v of n) leftover -= v;
  if (leftover === 0) return n;
  const frac = xs.map((v, i) => v - (n[i] as number));
  const candidates = xs.map((_, i) => i).filter((i) => (frac[i] as number) > 0);
  candidates.sort(
    (a, b) => (acceptRate[a] as number) - (acceptRate[b] as number) || (frac[b] as number) - (frac[a] as number) || a - b,
  );
  if (leftover < 0 || leftover > candidates.length) {
    throw new GvmError(`roundLowAcceptanceFirst: ${leftover} leftover samples for ${candidates.length} fractional prompts`);
  }
  for (let j = 0; j < leftover; j++) {
    const i = candidates[j] as number;
    n[i] = (n[i] as number) + 1;
  }
  return n;
}

/** Rounds by the named rule; `acceptRate` is read only by low-acceptance-first. */
export function roundAllocation(rule: RoundingRule, x: readonly number[], budget: number, acceptRate: readonly number[]): number[] {
  return rule === "largest-remainder" ? roundLargestRemainder(x, budget) : roundLowAcceptanceFirst(x, budget, acceptRate);
}
