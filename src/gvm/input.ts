/**
 * Validation of allocation inputs. Every bad value is reported with its
 * field and prompt index; nothing is clamped or skipped.
 */
import { AllocationInputError, type AllocationField } from "./errors.js";
import type { AllocationInput } from "./types.js";

/**
 * The input fields a strategy reads; "rounds" marks a strategy that reads
 * no precomputed statistics but the rewards of its own extra rounds of
 * sampling (a RoundPlanner: dapo, reinforce-ada), so it needs a sampler.
 */
export type InputField = "acceptRate" | "gradNorm" | "sampleCount" | "online" | "rounds";

function bad(field: AllocationField, index: number | null, message: string): never {
  const where = index === null ? field : `${field}[${index}]`;
  throw new AllocationInputError(`allocation input: ${where} ${message}`, field, index);
}

/** Checks budget and prompt count, and every field in `required` (present, right length, in range). */
export function validateInput(strategy: string, input: AllocationInput, budget: number, required: readonly InputField[]): void {
  const m = input.prompts;
  if (!Number.isSafeInteger(m) || m < 0) bad("prompts", null, `= ${m} must be an integer >= 0`);
  if (!Number.isSafeInteger(budget) || budget < 0) bad("budget", null, `= ${budget} must be an integer >= 0`);
  if (m === 0 && budget > 0) bad("prompts", null, `= 0: a budget of ${budget} cannot be placed on zero prompts`);
  const arrays: [Exclude<InputField, "online" | "rounds">, (v: number) => boolean, string][] = [
    ["acceptRate", (v) => v >= 0 && v <= 1, "a number in [0, 1]"],
    ["gradNorm", (v) => v >= 0 && Number.isFinite(v), "a finite number >= 0"],
    ["sampleCount", (v) => Number.isSafeInteger(v) && v >= 0, "an integer >= 0"],
  ];
  for (const [field, ok, what] of arrays) {
    const values = input[field];
    if (values === undefined) {
      if (required.includes(field)) bad(field, null, `is required by strategy '${strategy}'`);
      continue;
    }
    if (values.length !== m) bad(field, null, `has ${values.length} entries for ${m} prompts`);
    for (let i = 0; i < m; i++) {
      const v = values[i];
      if (typeof v !== "number" || Number.isNaN(v) || !ok(v)) bad(field, i, `= ${String(v)} must be ${what}`);
    }
  }
  if (input.seed !== undefined && !Number.isSafeInteger(input.seed)) bad("seed", null, `= ${String(input.seed)} must be an integer`);
  if (input.online === undefined) {
    if (required.includes("online")) bad("online", null, `(per-prompt history) is required by strategy '${strategy}'`);
  } else if (input.online.states.length !== m) {
    bad("online", null, `has ${input.online.states.length} states for ${m} prompts`);
  }
}
