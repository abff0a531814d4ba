/**
 * Policy-gradient losses over token log-probabilities, as registries of pure
 * functions by name (after verl's core_algos): the policy loss (`vanilla`
 * for RAFT, `plusplus` for RAFT++ / GRPO's clipped objective), the KL
 * estimator to a frozen reference policy, and the loss aggregation mode.
 *
 * Shapes: logp, oldLogp, refLogp, mask: (B, T) token tensors or arrays,
 * B responses by T positions with mask 1 on response tokens; advantages are
 * per response (B) and broadcast over tokens.
 */
import * as T from "../tensor/index.js";
import type { Tensor } from "../tensor/index.js";
import { GvmError } from "../util/errors.js";

export class LossError extends GvmError {}

export type AggMode = "token-mean" | "seq-mean-token-sum" | "seq-mean-token-mean";
export type PolicyLossName = "vanilla" | "plusplus";
export type KlEstimator = "k1" | "k2" | "k3";

export const AGG_MODES: readonly AggMode[] = ["token-mean", "seq-mean-token-sum", "seq-mean-token-mean"];
export const POLICY_LOSS_NAMES: readonly PolicyLossName[] = ["vanilla", "plusplus"];
export const KL_ESTIMATORS: readonly KlEstimator[] = ["k1", "k2", "k3"];

/**
 * Reduces a (B, T) loss matrix to a scalar over masked tokens.
 * token-mean: sum(L * m) / sum(m); seq-mean-token-sum: mean_b sum_t L * m;
 * seq-mean-token-mean: mean_b (sum_t L * m / sum_t m). Rows with no tokens
 * count as zero in the per-sequence modes (never NaN).
 */
export function aggregate(loss: Tensor, mask: Tensor, mode: AggMode): Tensor {
  if (loss.rank !== 2) throw new LossError(`aggregate: loss must be (B, T), got (${loss.shape.join(", ")})`);
  const masked = T.mul(loss, mask);
  const B = loss.dim(0);
  switch (mode) {
    case "token-mean": {
      const count = sumOf(mask.data);
      return T.mulScalar(T.sum(masked), 1 / Math.max(count, 1));
    }
    case "seq-mean-token-sum":
      return T.mulScalar(T.sum(masked), 1 / B);
    case "seq-mean-token-mean": {
      const perSeq = new Float32Array(B);
      const Tn = loss.dim(1);
      for (let b = 0; b < B; b++) perSeq[b] = 1 / Math.max(sumOf(mask.data.subarray(b * Tn, (b + 1) * Tn)), 1);
      return T.mulScalar(T.sum(T.mul(T.sum(masked, 1), T.tensor(perSeq, [B]))), 1 / B);
    }
  }
}

function sumOf(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] as number;
  return s;
}

export interface PolicyLossInput {
  /** Current policy's token log-probs, with graph. (B, T) */
  logp: Tensor;
  /** Log-probs under the policy that generated the samples. (B, T) */
  oldLogp: Tensor;
  /** Per-response advantage. (B) */
  advantages: Float32Array;
  /** 1 on response tokens. (B, T) */
  mask: Tensor;
}

export interface ClipConfig {
  /** Lower clip: ratio >= 1 - epsLow. */
  epsLow: number;
  /** Upper clip ("clip-higher"): ratio <= 1 + epsHigh. */
  epsHigh: number;
  /** Dual-clip bound for negative advantages: loss <= -A * c. */
  dualClipC: number;
}

export interface PolicyLossResult {
  /** Per-token loss matrix (B, T), before aggregation. */
  tokenLoss: Tensor;
  /** Share of response tokens where the upper/lower clip was active. */
  clipFrac: number;
  /** Share of response tokens with negative advantage where the dual clip was active. */
  dualClipFrac: number;
  /** Mean (old - new) log-prob over response tokens (verl's ppo_kl). */
  approxKl: number;
}

export type PolicyLossFn = (input: PolicyLossInput, clip: ClipConfig) => PolicyLossResult;

function advantagesTensor(a: Float32Array, B: number): Tensor {
  if (a.length !== B) throw new LossError(`policy loss: ${a.length} advantages for ${B} responses`);
  for (let i = 0; i < B; i++) if (!Number.isFinite(a[i] as number)) throw new LossError(`policy loss: advantage ${i} is ${a[i]}`);
  return T.tensor(a, [B, 1]);
}

function checkShapes(x: PolicyLossInput): void {
  const s = x.logp.shape;
  for (const [name, t] of [
    ["oldLogp", x.oldLogp],
    ["mask", x.mask],
  ] as const) {
    if (t.shape.length !== s.length || t.shape.some((d, i) => d !== s[i])) throw new LossError(`policy loss: ${name} (${t.shape.join(", ")}) differs from logp (${s.join(", ")})`);
  }
  if (s.length !== 2) throw new LossError(`policy loss: logp must be (B, T), got (${s.join(", ")})`);
}

/** RAFT's loss: -A * log pi per token (A = 1 accepted, 0 rejected). */
export const vanillaLoss: PolicyLossFn = (x) => {
  checkShapes(x);
  const A = advantagesTensor(x.advantages, x.logp.dim(0));
  const approxKl = maskedMeanOf(x.oldLogp.data, x.logp.data, x.mask.data);
  return { tokenLoss: T.neg(T.mul(A, x.logp)), clipFrac: 0, dualClipFrac: 0, approxKl };
};

/**
 * The clipped surrogate with clip-higher and dual-clip (RAFT++, GRPO):
 *   s = exp(logp - oldLogp) (log-ratio clamped to [-20, 20]),
 *   L1 = max(-A s, -A clip(s, 1 - epsLow, 1 + epsHigh)),
 *   L = A < 0 ? min(L1, -A c) : L1.
 */
export const plusPlusLoss: PolicyLossFn = (x, clip) => {
  checkShapes(x);
  if (!(clip.epsLow >= 0 && clip.epsLow < 1 && clip.epsHigh >= 0)) throw new LossError(`policy loss: clip range must satisfy 0 <= epsLow < 1 and epsHigh >= 0, got ${clip.epsLow} / ${clip.epsHigh}`);
  if (!(clip.dualClipC > 1)) throw new LossError(`policy loss: dual-clip c must be > 1, got ${clip.dualClipC}`);
  const B = x.logp.dim(0);
  const A = advantagesTensor(x.advantages, B);
  const negA = T.neg(A);
  const ratio = T.exp(T.clamp(T.sub(x.logp, x.oldLogp), -20, 20));
  const l1 = T.mul(negA, ratio);
  const l2 = T.mul(negA, T.clamp(ratio, 1 - clip.epsLow, 1 + clip.epsHigh));
  const clipped = T.maximum(l1, l2);
  const l3 = T.mulScalar(negA, clip.dualClipC);
  const dual = T.minimum(clipped, l3);
  const negMask = T.tensor(
    Array.from(x.advantages, (a) => (a < 0 ? 1 : 0)),
    [B, 1],
  );
  const tokenLoss = T.where(negMask, dual, clipped);
  const Tn = x.logp.dim(1);
  let tokens = 0;
  let clipCount = 0;
  let negTokens = 0;
  let dualCount = 0;
  const m = x.mask.data;
  for (let i = 0; i < m.length; i++) {
    if ((m[i] as number) === 0) continue;
    tokens++;
    if ((l2.data[i] as number) > (l1.data[i] as number)) clipCount++;
    const a = x.advantages[Math.floor(i / Tn)] as number;
    if (a < 0) {
      negTokens++;
      if ((clipped.data[i] as number) > (l3.data[Math.floor(i / Tn)] as number)) dualCount++;
    }
  }
  return {
    tokenLoss,
    clipFrac: tokens > 0 ? clipCount / tokens : 0,
    dualClipFrac: negTokens > 0 ? dualCount / negTokens : 0,
    approxKl: maskedMeanOf(x.oldLogp.data, x.logp.data, m),
  };
};

export const POLICY_LOSSES: Record<PolicyLossName, PolicyLossFn> = { vanilla: vanillaLoss, plusplus: plusPlusLoss };

function maskedMeanOf(oldLogp: Float32Array, logp: Float32Array, mask: Float32Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if ((mask[i] as number) === 0) continue;
    s += (oldLogp[i] as number) - (logp[i] as number);
    n++;
  }
  return n > 0 ? s / n : 0;
}

/**
 * Per-token KL estimate of the policy from a frozen reference (Schulman's
 * estimators, as verl names them): k1 = logp - ref; k2 = (logp - ref)^2 / 2;
 * k3 ("low_var_kl") = exp(ref - logp) - (ref - logp) - 1 with the log-ratio
 * clamped to [-20, 20] and the result to [-10, 10].
 * logp: (B, T) with graph; refLogp: (B, T) constant -> (B, T)
 */
export function klPenalty(logp: Tensor, refLogp: Tensor, estimator: KlEstimator): Tensor {
  switch (estimator) {
    case "k1":
      return T.sub(logp, refLogp);
    case "k2":
      return T.mulScalar(T.square(T.sub(logp, refLogp)), 0.5);
    case "k3": {
      const kl = T.clamp(T.sub(refLogp, logp), -20, 20);
      return T.clamp(T.sub(T.sub(T.exp(kl), kl), T.scalar(1)), -10, 10);
    }
  }
}
