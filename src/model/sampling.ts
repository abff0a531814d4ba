/**
 * Drawing one token from a row of logits: temperature, top-k, top-p
 * (nucleus), or greedy when the temperature is 0. All randomness comes from
 * the Rng passed in, so a seed fixes the samples.
 */
import { LOGIT_WINDOW } from "../kernels/index.js";
import { runtime } from "../tensor/index.js";
import type { Rng } from "../util/rng.js";
import { ModelError } from "./errors.js";

export interface SamplingParams {
  /** Softmax temperature; 0 = greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens; 0 = no limit. */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p; 1 = no limit. */
  topP: number;
}

export const DEFAULT_SAMPLING: SamplingParams = { temperature: 1, topK: 0, topP: 1 };

export function validateSampling(p: SamplingParams): void {
  if (!(p.temperature >= 0) || !Number.isFinite(p.temperature)) throw new ModelError(`sampling: temperature must be a finite number >= 0, got ${p.temperature}`);
  if (!Number.isInteger(p.topK) || p.topK < 0) throw new ModelError(`sampling: topK must be an integer >= 0, got ${p.topK}`);
  if (!(p.topP > 0 && p.topP <= 1)) throw new ModelError(`sampling: topP must be in (0, 1], got ${p.topP}`);
}

/** Index of the largest logit, the first on ties; 0 when none exceeds -Infinity (all -Infinity or NaN). */
function argmax(logits: Float32Array): number {
  let best = 0;
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) {
    const x = logits[j] as number;
    if (x > max) {
      max = x;
      best = j;
    }
  }
  return best;
}

/** The largest logit as argmax found it: -Infinity when none exceeds it. */
function top(logits: Float32Array, best: number): number {
  const x = logits[best] as number;
  return x > -Infinity ? x : -Infinity;
}

/** Samples an index from logits: (V). */
export function sampleToken(logits: Float32Array, p: SamplingParams, rng: Rng): number {
  const V = logits.length;
  const best = argmax(logits);
  const max = top(logits, best);
  if (p.temperature === 0 || max === -Infinity) return best;
  if (p.topK === 0 && p.topP >= 1) return (drawPlain(logits, V, [0], p.temperature, [rng.float()])[0] as Draw).id;
  const inv = 1 / p.temperature;
  const limit = max - LOGIT_WINDOW * p.temperature;
  const cand: number[] = [];
  for (let j = 0; j < V; j++) if ((logits[j] as number) >= limit) cand.push(j);
  cand.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  const k = p.topK > 0 ? Math.min(p.topK, cand.length) : cand.length;
  const probs = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    probs[i] = Math.exp(((logits[cand[i] as number] as number) - max) * inv);
    sum += probs[i] as number;
  }
  let keep = k;
  if (p.topP < 1) {
    let acc = 0;
    for (let i = 0; i < k; i++) {
      acc += (probs[i] as number) / sum;
      if (acc >= p.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let total = 0;
  for (let i = 0; i < keep; i++) total += probs[i] as number;
  let u = rng.float() * total;
  for (let i = 0; i < keep; i++) {
    u -= probs[i] as number;
    if (u <= 0) return cand[i] as number;
  }
  return cand[keep - 1] as number;
}

/** A drawn id and its log-probability under softmax(logits / temperature) (temperature 1 when greedy). */
export interface Draw {
  id: number;
  logprob: number;
}

/**
 * Plain sampling (temperature > 0, no top-k or top-p) of rows[i] of logits
 * (B, V) with uniforms[i], through the drawRows kernel: every exponential
 * computed once, for the draw's normaliser over the candidates within the
 * window, the draw, and the log-probability's normaliser over the whole row.
 */
function drawPlain(logits: Float32Array, V: number, rows: readonly number[], temperature: number, uniforms: readonly number[]): Draw[] {
  const n = rows.length;
  const ids = new Int32Array(n);
  const shifted = new Float64Array(n);
  const expSum = new Float64Array(n);
  runtime().kernels.drawRows(n, V, logits, Int32Array.from(rows), temperature, Float64Array.from(uniforms), ids, shifted, expSum);
  return Array.from({ length: n }, (_, i) => ({ id: ids[i] as number, logprob: (shifted[i] as number) - Math.log(expSum[i] as number) }));
}

/**
 * sampleToken's draw (the same id for the same rng) plus its log-probability
 * over the whole vocabulary, which generation records for importance ratios.
 */
export function sampleWithLogprob(logits: Float32Array, p: SamplingParams, rng: Rng): Draw {
  if (p.temperature === 0 || p.topK !== 0 || p.topP < 1) {
    const id = sampleToken(logits, p, rng);
    return { id, logprob: logSoftmaxAt(logits, id, p.temperature === 0 ? 1 : p.temperature) };
  }
  const best = argmax(logits);
  if (top(logits, best) === -Infinity) return { id: best, logprob: Number.NaN };
  return drawPlain(logits, logits.length, [0], p.temperature, [rng.float()])[0] as Draw;
}

/**
 * sampleWithLogprob for rows[i] of logits (B, V) with its own stream
 * rngs[i], the same draws row by row; plain sampling takes all rows in one
 * kernel call (threaded in the native backend). One difference in plain
 * sampling: a row with no finite logit (a diverged model) still takes its
 * uniform from its stream.
 */
export function sampleRowsWithLogprob(logits: Float32Array, V: number, rows: readonly number[], p: SamplingParams, rngs: readonly Rng[]): Draw[] {
  if (p.temperature === 0 || p.topK !== 0 || p.topP < 1) return rows.map((r, i) => sampleWithLogprob(logits.subarray(r * V, (r + 1) * V), p, rngs[i] as Rng));
  return drawPlain(logits, V, rows, p.temperature, rngs.map((g) => g.float()));
}

/** The normaliser of log softmax(logits / temperature), in double: its shift `max` and log-sum-exp `lse`. */
export function logSoftmaxNorm(logits: Float32Array, temperature: number): { max: number; lse: number } {
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) if ((logits[j] as number) > max) max = logits[j] as number;
  let sum = 0;
  for (let j = 0; j < logits.length; j++) sum += Math.exp(((logits[j] as number) - max) / temperature);
  return { max, lse: Math.log(sum) };
}

/** log softmax(logits / temperature)[id], in double. */
export function logSoftmaxAt(logits: Float32Array, id: number, temperature: number): number {
  const { max, lse } = logSoftmaxNorm(logits, temperature);
  return ((logits[id] as number) - max) / temperature - lse;
}
