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
import { type Draw, type SamplingParams, sampleRowsWithLogprob, validateSampling } from "./sampling.js";

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
  const loop = new SamplingLoop(model, prompts, o);
  try {
    for (let s = 1; loop.draw().length > 0; s++) {
      o.onStep?.(s, loop.running);
      if (loop.finished) break;
      loop.advance();
    }
  } finally {
    loop.dispose();
  }
  return { tokens: loop.tokens, logprobs: loop.logprobs, finish: loop.finish };
}

/** One row's token from one step of a SamplingLoop. */
export interface RowDraw {
  row: number;
  id: number;
  /** Its log-probability under softmax(logits / temperature) (temperature 1 when greedy). */
  logprob: number;
}

/**
 * Sampling step by step over a batch of prompts: one prefill over the
 * left-padded prompts, then per step a draw for every running row, the
 * stop rules, and a decode step for the next position. `generate` runs it
 * to the end in one go; the server runs it a step at a time, yielding to
 * the event loop in between, so both make exactly the same choices.
 */
export class SamplingLoop {
  /** Generated ids per row (prompt excluded; the stop id included when hit). */
  readonly tokens: number[][];
  /** Behaviour-policy log-probability of each generated token. */
  readonly logprobs: number[][];
  readonly finish: FinishReason[];
  private readonly V: number;
  private readonly lens: number[];
  private readonly rngs: readonly Rng[];
  private readonly stop: Set<number>;
  private readonly done: Uint8Array;
  /** The loop's row in each of the decoder's rows (rows leave as they finish). */
  private slots: number[];
  /** Next id and position per decoder row. */
  private readonly next: Int32Array;
  private readonly nextPos: Int32Array;
  private readonly decoder: Decoder | null;
  private logits: Float32Array | null = null;
  private steps = 0;
  private alive: number;

  constructor(
    model: LlamaModel,
    prompts: readonly (readonly number[])[],
    private readonly o: Omit<GenerateOptions, "onStep">,
  ) {
    validateSampling(o);
    const B = prompts.length;
    this.lens = prompts.map((p) => p.length);
    const P = B === 0 ? 0 : Math.max(...this.lens);
    if (B > 0) {
      if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) throw new ModelError(`generate: maxNewTokens must be an integer >= 0, got ${o.maxNewTokens}`);
      if (Math.min(...this.lens) === 0) throw new ModelError(`generate: prompt ${this.lens.indexOf(0)} is empty; start it with a BOS token`);
      if (P + o.maxNewTokens > model.config.maxPositions) throw new ModelError(`generate: prompt length ${P} + maxNewTokens ${o.maxNewTokens} exceeds max_position_embeddings ${model.config.maxPositions}`);
    }
    this.rngs = typeof o.rngs === "number" ? prompts.map((_, i) => new Rng(((o.rngs as number) + i) >>> 0)) : o.rngs;
    if (B > 0 && this.rngs.length !== B) throw new ModelError(`generate: ${this.rngs.length} random streams for ${B} prompts`);
    this.V = model.config.vocabSize;
    this.stop = new Set(o.stopIds);
    this.tokens = prompts.map(() => []);
    this.logprobs = prompts.map(() => []);
    this.finish = prompts.map(() => "length");
    this.done = new Uint8Array(B);
    this.slots = prompts.map((_, b) => b);
    this.next = new Int32Array(B);
    this.nextPos = new Int32Array(B);
    this.alive = B;
    this.decoder = B === 0 || o.maxNewTokens === 0 ? null : new Decoder(model, B, P + o.maxNewTokens);
    if (!this.decoder) return;
    try {
      this.logits = prefillOnce(this.decoder, prompts, P, o.padId, model.config.vocabSize);
    } catch (err) {
      this.decoder.dispose();
      throw err;
    }
  }

  /** Rows still generating. */
  get running(): number {
    return this.alive;
  }

  /** No row draws again: all stopped, or the last position was drawn. */
  get finished(): boolean {
    return this.alive === 0 || this.steps >= this.o.maxNewTokens;
  }

  /**
   * Draws the next token of every running row from the current logits and
   * applies the stop rules; `inspect` sees each row's logits (V) with its
   * draw (the server reads alternatives there). Returns the draws, none
   * once finished.
   */
  draw(inspect?: (d: RowDraw, logits: Float32Array) => void): RowDraw[] {
    const logits = this.logits;
    if (logits === null || this.finished) return [];
    this.logits = null;
    const out: RowDraw[] = [];
    const s = this.steps++;
    const live: number[] = [];
    const liveSlots: number[] = [];
    this.slots.forEach((b, slot) => {
      if (this.done[b]) this.next[slot] = this.o.padId;
      else {
        live.push(b);
        liveSlots.push(slot);
      }
    });
    const draws = sampleRowsWithLogprob(logits, this.V, liveSlots, this.o, live.map((b) => this.rngs[b] as Rng));
    for (const [i, b] of live.entries()) {
      const { id, logprob } = draws[i] as Draw;
      const slot = liveSlots[i] as number;
      const row = logits.subarray(slot * this.V, (slot + 1) * this.V);
      const toks = this.tokens[b] as number[];
      toks.push(id);
      (this.logprobs[b] as number[]).push(logprob);
      const d = { row: b, id, logprob };
      inspect?.(d, row);
      out.push(d);
      this.next[slot] = id;
      if (this.stop.has(id) || (this.o.shouldStop?.(b, toks) ?? false)) {
        this.done[b] = 1;
        this.finish[b] = "stop";
        this.alive--;
      }
      this.nextPos[slot] = (this.lens[b] as number) + s;
    }
    return out;
  }

  /** Runs the decode step that gives the logits of the next draw. */
  advance(): void {
    if (this.decoder === null || this.finished) throw new ModelError("SamplingLoop: advance() after the last draw");
    if (this.logits !== null) throw new ModelError("SamplingLoop: advance() before draw()");
    this.dropFinished(this.decoder);
    const n = this.slots.length;
    this.logits = this.decoder.step(this.next.subarray(0, n), this.nextPos.subarray(0, n));
  }

  /**
   * Takes finished rows out of the decode batch once they are an eighth of
   * it: a finished row still costs its share of every step's products and
   * all of its cache in attention, and rollouts end unevenly (~27% of the
   * experiment preset's row-steps were finished rows). Moving the live rows'
   * cache costs about one step's attention, hence the threshold. Rows are
   * independent, so this changes no result.
   */
  private dropFinished(decoder: Decoder): void {
    const keep: number[] = [];
    this.slots.forEach((b, slot) => {
      if (!this.done[b]) keep.push(slot);
    });
    const dropped = this.slots.length - keep.length;
    if (dropped === 0 || keep.length === 0 || dropped * 8 < this.slots.length) return;
    decoder.keepRows(keep);
    keep.forEach((slot, i) => {
      this.next[i] = this.next[slot] as number;
      this.nextPos[i] = this.nextPos[slot] as number;
    });
    this.slots = keep.map((slot) => this.slots[slot] as number);
  }

  /** Hands the KV cache back; call once done with the loop. */
  dispose(): void {
    this.decoder?.dispose();
  }
}

/**
 * The prefill of a batch whose prompts repeat (a request's n samples sit
 * side by side): each distinct prompt runs once, left-padded to P, its last
 * logits go to each repeat, and its cache is shared by them for the decode
 * steps (read once per step, not once per row). Rows are independent and
 * attention reads the shared keys in the same order, so every result is
 * the unshared batch's, bit for bit. Returns the logits (B, V).
 */
function prefillOnce(decoder: Decoder, prompts: readonly (readonly number[])[], P: number, padId: number, V: number): Float32Array {
  const firstOf = new Map<string, number>();
  const distinct: (readonly number[])[] = [];
  const from = prompts.map((p) => {
    const key = p.join(",");
    let u = firstOf.get(key);
    if (u === undefined) {
      u = distinct.length;
      firstOf.set(key, u);
      distinct.push(p);
    }
    return u;
  });
  const U = distinct.length;
  const ids = new Int32Array(U * P).fill(padId);
  const positions = new Int32Array(U * P);
  const mask = new Uint8Array(U * P);
  distinct.forEach((p, b) => {
    const pad = P - p.length;
    for (let t = 0; t < p.length; t++) {
      ids[b * P + pad + t] = p[t] as number;
      positions[b * P + pad + t] = t;
      mask[b * P + pad + t] = 1;
    }
  });
  if (U === prompts.length) return decoder.prefill(ids, P, positions, mask);
  // the empty cache's first U rows take the distinct prompts
  decoder.keepRows(distinct.map((_, u) => u));
  const once = decoder.prefill(ids, P, positions, mask);
  decoder.sharePrompts(from);
  const logits = new Float32Array(prompts.length * V);
  from.forEach((u, b) => logits.set(once.subarray(u * V, (u + 1) * V), b * V));
  return logits;
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
    batch: number,
    capacity: number,
  ) {
    this.cache = new KVCache(model.config, batch, capacity);
  }

  /** Rows decoded per step. */
  get batch(): number {
    return this.cache.batch;
  }

  /** Positions filled so far. */
  get length(): number {
    return this.cache.length;
  }

  /** Keeps only these rows (ascending), in this order, for the steps to come. */
  keepRows(keep: readonly number[]): void {
    this.cache.keepRows(keep);
  }

  /** After a prefill of distinct prompts, row i of the steps to come continues prompt from[i] (KVCache.sharePrompts). */
  sharePrompts(from: readonly number[]): void {
    this.cache.sharePrompts(from);
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
