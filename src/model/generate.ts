/**
 * Batched generation: one prefill over left-padded prompts, then one decode
 * step per new token with a KV cache. Each row draws from its own random
 * stream, so a row's sample depends on its seed, not on its batch-mates.
 */
import * as T from "../tensor/index.js";
import { Rng } from "../util/rng.js";
import { ModelError } from "./errors.js";
import { KVCache } from "./kvcache.js";
import type { LlamaModel } from "./llama.js";
import { type SamplingParams, sampleWithLogprob, validateSampling } from "./sampling.js";

export interface GenerateOptions extends SamplingParams {
  /** New tokens per row at most. */
  maxNewTokens: number;
  /** Ids that end a row (included in its output). */
  stopIds: readonly number[];
  /** Id used to left-pad prompts and fill finished rows. */
  padId: number;
  /** One generator per row, or a seed from which row i's stream is derived as seed + i. */
  rngs: readonly Rng[] | number;
  /** Extra stop rule checked after each token (e.g. stop strings); true ends the row with "stop". */
  shouldStop?: (row: number, tokens: readonly number[]) => boolean;
  /** Called after every decode step with the number of rows still running. */
  onStep?: (step: number, running: number) => void;
}

export type FinishReason = "stop" | "length";

export interface Generation {
  /** Generated ids per row (prompt excluded; the stop id included when hit). */
  tokens: number[][];
  /**
   * Log-probability of each generated token under softmax(logits / temperature)
   * (temperature 1 when greedy): the behaviour policy's log-probs that
   * importance ratios need, at no extra forward pass.
   */
  logprobs: number[][];
  finish: FinishReason[];
}

export function generate(model: LlamaModel, prompts: readonly (readonly number[])[], o: GenerateOptions): Generation {
  validateSampling(o);
  const B = prompts.length;
  if (B === 0) return { tokens: [], logprobs: [], finish: [] };
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) throw new ModelError(`generate: maxNewTokens must be an integer >= 0, got ${o.maxNewTokens}`);
  const lens = prompts.map((p) => p.length);
  const P = Math.max(...lens);
  if (Math.min(...lens) === 0) throw new ModelError(`generate: prompt ${lens.indexOf(0)} is empty; start it with a BOS token`);
  if (P + o.maxNewTokens > model.config.maxPositions) throw new ModelError(`generate: prompt length ${P} + maxNewTokens ${o.maxNewTokens} exceeds max_position_embeddings ${model.config.maxPositions}`);
  const rngs = typeof o.rngs === "number" ? prompts.map((_, i) => new Rng(((o.rngs as number) + i) >>> 0)) : o.rngs;
  if (rngs.length !== B) throw new ModelError(`generate: ${rngs.length} random streams for ${B} prompts`);
  const stop = new Set(o.stopIds);
  const tokens: number[][] = prompts.map(() => []);
  const logprobs: number[][] = prompts.map(() => []);
  const finish: FinishReason[] = prompts.map(() => "length");
  const done = new Uint8Array(B);
  if (o.maxNewTokens === 0) return { tokens, logprobs, finish };

  const V = model.config.vocabSize;
  const decoder = new Decoder(model, B, P + o.maxNewTokens);
  const ids = new Int32Array(B * P).fill(o.padId);
  const positions = new Int32Array(B * P);
  const mask = new Uint8Array(B * P);
  for (let b = 0; b < B; b++) {
    const p = prompts[b] as readonly number[];
    const pad = P - p.length;
    for (let t = 0; t < p.length; t++) {
      ids[b * P + pad + t] = p[t] as number;
      positions[b * P + pad + t] = t;
      mask[b * P + pad + t] = 1;
    }
  }
  try {
    const step = new Int32Array(B);
    const stepPos = new Int32Array(B);
    let running = B;
    let logits = decoder.prefill(ids, P, positions, mask);
    for (let s = 0; s < o.maxNewTokens && running > 0; s++) {
      for (let b = 0; b < B; b++) {
        if (done[b]) {
          step[b] = o.padId;
          continue;
        }
        const row = logits.subarray(b * V, (b + 1) * V);
        const { id, logprob } = sampleWithLogprob(row, o, rngs[b] as Rng);
        (tokens[b] as number[]).push(id);
        (logprobs[b] as number[]).push(logprob);
        step[b] = id;
        if (stop.has(id) || (o.shouldStop?.(b, tokens[b] as number[]) ?? false)) {
          done[b] = 1;
          finish[b] = "stop";
          running--;
        }
        stepPos[b] = (lens[b] as number) + s;
      }
      o.onStep?.(s + 1, running);
      if (running === 0 || s + 1 === o.maxNewTokens) break;
      logits = decoder.step(step, stepPos);
    }
  } finally {
    decoder.dispose();
  }
  return { tokens, logprobs, finish };
}

/**
 * Incremental decoding for a fixed batch: a prefill, then one position per
 * step, each returning the last position's logits (B, V) as a copy the
 * caller owns. Every forward runs without a graph and inside its own memory
 * scope, so a long generation allocates nothing after the first steps.
 */
export class Decoder {
  private readonly cache: KVCache;

  constructor(
    private readonly model: LlamaModel,
    readonly batch: number,
    capacity: number,
  ) {
    this.cache = new KVCache(model.config, batch, capacity);
  }

  /** Positions filled so far. */
  get length(): number {
    return this.cache.length;
  }

  /** ids, positions: (B * P); keyMask: (B, P) with 0 on padding. Returns logits (B, V). */
  prefill(ids: Int32Array, P: number, positions: Int32Array, keyMask: Uint8Array | null): Float32Array {
    return T.noGrad(() => T.tidy(() => this.model.forward(ids, this.batch, P, { positions, keyMask, cache: this.cache, lastOnly: true }).data.slice()));
  }

  /** One new token per row at the given positions: (B). Returns logits (B, V). */
  step(ids: Int32Array, positions: Int32Array): Float32Array {
    return T.noGrad(() => T.tidy(() => this.model.forward(ids, this.batch, 1, { positions, cache: this.cache }).data.slice()));
  }

  /** Hands the KV cache's memory back for the next decoder; this one is unusable afterwards. */
  dispose(): void {
    this.cache.dispose();
  }
}
