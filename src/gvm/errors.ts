/**
 * Errors of the allocation layer. Input errors carry the prompt index and the
 * field, so a caller that read the stats from a file (the CLI) can turn the
 * index back into a file line.
 */
import { GvmError } from "../util/errors.js";

/** Which per-prompt input (or the budget) was wrong. */
export type AllocationField = "acceptRate" | "gradNorm" | "sampleCount" | "online" | "seed" | "budget" | "prompts";

/** A per-prompt statistic or the budget is missing, NaN, negative or out of range. */
export class AllocationInputError extends GvmError {
  constructor(
    message: string,
    /** The field that was wrong. */
    readonly field: AllocationField,
    /** The prompt index (input order), or null when the error is not about one prompt. */
    readonly index: number | null,
  ) {
    super(message);
  }
}

/** The budget cannot be placed under the per-prompt caps (m * nMin > N or m * nMax < N). */
export class AllocationInfeasibleError extends GvmError {}
