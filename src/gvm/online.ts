/**
 * Per-prompt history for `gvm-online`: p_i and G_i estimated from each
 * prompt's own earlier samples, so allocation needs no stage 1.
 *
 * - p_i: Beta(priorAccept, priorReject) prior; accepted / rejected samples
 *   add to its two counts; the estimate is the posterior mean, never 0 or 1.
 * - Drift: the policy moves, so old evidence is discounted by
 *   0.5^(elapsed / halfLife) on the caller's clock (e.g. iterations); a prompt
 *   unseen for long relaxes back to the prior.
 * - G_i: the decayed mean gradient norm of the prompt's accepted samples,
 *   shrunk towards a prior with weight gradPriorWeight; the prior is the
 *   pooled mean over the prompts being allocated (1 if none has a measured norm).
 * - A prompt never seen is the prior itself (state null).
 * - Two undecayed counters serve the peer strategies (knapsack, greso):
 *   every sample ever drawn, and the run of most recent groups whose rewards
 *   were all equal (GRESO's zero-variance streak).
 *
 * All functions are pure: they return new states and never mutate.
 */
import { AllocationInputError } from "./errors.js";
import type { GvmOnlineOptions } from "./options.js";

/** What is remembered about one prompt. Counts are decayed, hence real-valued. */
export interface OnlinePromptState {
  /** Decayed number of accepted samples. */
  readonly accepted: number;
  /** Decayed number of rejected samples. */
  readonly rejected: number;
  /** Decayed sum of per-sample gradient norms ||grad log pi(y|x)|| over measured accepted samples. */
  readonly gradNormSum: number;
  /** Decayed number of accepted samples whose gradient norm was measured. */
  readonly gradNormCount: number;
  /** Clock value at which the counts above are current. */
  readonly time: number;
  /**
   * Samples ever drawn, undecayed (Knapsack-RL's "enough history" test).
   * Absent in states saved before it existed: read as the decayed count.
   */
  readonly samples?: number;
  /**
   * +k: the last k non-empty groups were all accepted; -k: all rejected;
   * 0: the last group was mixed, or none yet (GRESO's skip rule). Absent: 0.
   */
  readonly streak?: number;
}

/** Samples drawn for one prompt at one time. */
export interface OnlineObservation {
  /** Samples drawn (integer >= 0). */
  readonly total: number;
  /** Of which accepted (integer, 0..total). */
  readonly accepted: number;
  /** Sum of gradient norms over the accepted samples that were measured (>= 0); 0 if none. */
  readonly gradNormSum?: number;
  /** How many accepted samples were measured (integer, 0..accepted). */
  readonly gradNormCount?: number;
}

/** The estimates `gvm-online` allocates with. */
export interface OnlineEstimates {
  /** Posterior mean of p_i per prompt. */
  acceptRate: number[];
  /** Shrunk mean gradient norm per prompt. */
  gradNorm: number[];
  /** The pooled gradient-norm prior used. */
  gradPrior: number;
  /** Decayed sample count behind each p_i (0 for never-seen prompts). */
  evidence: number[];
}

type HalfLife = Pick<GvmOnlineOptions, "halfLife">;

function fail(message: string, index: number | null = null): never {
  throw new AllocationInputError(`online history: ${message}`, "online", index);
}

function checkTime(now: number, what: string): void {
  if (!Number.isFinite(now)) fail(`${what}: time ${now} is not a finite number`);
}

/** The factor that evidence recorded at `from` keeps at `now`. */
export function decayFactor(from: number, now: number, halfLife: number | null): number {
  if (halfLife === null) return 1;
  return Math.pow(0.5, (now - from) / halfLife);
}

/** The state brought forward to `now` (counts discounted). */
export function decayOnlineState(state: OnlinePromptState, now: number, options: HalfLife, index: number | null = null): OnlinePromptState {
  checkTime(now, "decayOnlineState");
  if (now < state.time) fail(`time went backwards: state is at ${state.time}, asked for ${now}`, index);
  const f = decayFactor(state.time, now, options.halfLife);
  return {
    accepted: state.accepted * f,
    rejected: state.rejected * f,
    gradNormSum: state.gradNormSum * f,
    gradNormCount: state.gradNormCount * f,
    time: now,
    samples: samplesOf(state),
    streak: state.streak ?? 0,
  };
}

/** Undecayed samples behind a state (the decayed count for states saved without it). */
export function samplesOf(state: OnlinePromptState): number {
  return state.samples ?? state.accepted + state.rejected;
}

/** The zero-variance streak after one more group: an empty group (a skipped prompt) leaves it as it was. */
function nextStreak(streak: number, total: number, accepted: number): number {
  if (total === 0) return streak;
  if (accepted === total) return streak > 0 ? streak + 1 : 1;
  if (accepted === 0) return streak < 0 ? streak - 1 : -1;
  return 0;
}

/** Adds one observation at `now` to a prompt's state (null: never seen before). */
export function updateOnlineState(
  state: OnlinePromptState | null,
  obs: OnlineObservation,
  now: number,
  options: HalfLife,
): OnlinePromptState {
  checkTime(now, "updateOnlineState");
  const { total, accepted } = obs;
  const gSum = obs.gradNormSum ?? 0;
  const gCount = obs.gradNormCount ?? 0;
  if (!Number.isInteger(total) || total < 0) fail(`observation total ${total} must be an integer >= 0`);
  if (!Number.isInteger(accepted) || accepted < 0 || accepted > total) fail(`observation accepted ${accepted} must be an integer in [0, ${total}]`);
  if (!Number.isInteger(gCount) || gCount < 0 || gCount > accepted) fail(`observation gradNormCount ${gCount} must be an integer in [0, ${accepted}]`);
  if (!Number.isFinite(gSum) || gSum < 0) fail(`observation gradNormSum ${gSum} must be a finite number >= 0`);
  if (gCount === 0 && gSum !== 0) fail(`observation gradNormSum ${gSum} given with gradNormCount 0`);
  const base = state === null ? { accepted: 0, rejected: 0, gradNormSum: 0, gradNormCount: 0, time: now, samples: 0, streak: 0 } : decayOnlineState(state, now, options);
  return {
    accepted: base.accepted + accepted,
    rejected: base.rejected + (total - accepted),
    gradNormSum: base.gradNormSum + gSum,
    gradNormCount: base.gradNormCount + gCount,
    time: now,
    samples: (base.samples ?? 0) + total,
    streak: nextStreak(base.streak ?? 0, total, accepted),
  };
}

/** Posterior mean of p for one prompt at `now` (the prior mean if never seen). */
export function estimateAcceptRate(
  state: OnlinePromptState | null,
  now: number,
  options: Pick<GvmOnlineOptions, "halfLife" | "priorAccept" | "priorReject">,
): number {
  const s = state === null ? null : decayOnlineState(state, now, options);
  const a = options.priorAccept + (s?.accepted ?? 0);
  const b = options.priorReject + (s?.rejected ?? 0);
  return a / (a + b);
}

/** Rejects a state with a missing, non-finite or negative field, naming the prompt. */
export function checkState(s: OnlinePromptState, i: number): void {
  const fields = ["accepted", "rejected", "gradNormSum", "gradNormCount", "time"] as const;
  for (const f of fields) {
    const v = s[f];
    if (typeof v !== "number" || !Number.isFinite(v) || (f !== "time" && v < 0)) {
      fail(`states[${i}].${f} = ${String(v)} must be a finite number${f === "time" ? "" : " >= 0"}`, i);
    }
  }
  if (s.samples !== undefined && (typeof s.samples !== "number" || !Number.isFinite(s.samples) || s.samples < 0)) {
    fail(`states[${i}].samples = ${String(s.samples)} must be a finite number >= 0`, i);
  }
  if (s.streak !== undefined && !Number.isSafeInteger(s.streak)) fail(`states[${i}].streak = ${String(s.streak)} must be an integer`, i);
}

/** p_i and G_i for every prompt of a chunk at `now`. */
export function estimateOnline(
  states: readonly (OnlinePromptState | null)[],
  now: number,
  options: Pick<GvmOnlineOptions, "halfLife" | "priorAccept" | "priorReject" | "gradPriorWeight">,
): OnlineEstimates {
  checkTime(now, "estimateOnline");
  const current = states.map((s, i) => {
    if (s === null) return null;
    checkState(s, i);
    return decayOnlineState(s, now, options, i);
  });
  let pooledSum = 0;
  let pooledCount = 0;
  for (const s of current) {
    if (s === null) continue;
    pooledSum += s.gradNormSum;
    pooledCount += s.gradNormCount;
  }
  const gradPrior = pooledCount > 0 ? pooledSum / pooledCount : 1;
  const k0 = options.gradPriorWeight;
  const acceptRate: number[] = [];
  const gradNorm: number[] = [];
  const evidence: number[] = [];
  for (const s of current) {
    const acc = s?.accepted ?? 0;
    const rej = s?.rejected ?? 0;
    const a = options.priorAccept + acc;
    const b = options.priorReject + rej;
    acceptRate.push(a / (a + b));
    evidence.push(acc + rej);
    const gs = s?.gradNormSum ?? 0;
    const gc = s?.gradNormCount ?? 0;
    gradNorm.push(gc + k0 > 0 ? (gs + k0 * gradPrior) / (gc + k0) : gradPrior);
  }
  return { acceptRate, gradNorm, gradPrior, evidence };
}
