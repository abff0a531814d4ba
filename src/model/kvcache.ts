/**
 * Key/value cache for generation: per layer, keys and values of every
 * position so far, preallocated to a fixed capacity so decoding never copies
 * or grows it. Layout (B, capacity, Hkv * D) is exactly what the attention
 * kernel reads, with `length` valid positions and a key mask for padding.
 *
 * Rows that continue the same prompt (a request's n samples) can share it:
 * after a prefill of the distinct prompts, sharePrompts() keeps each
 * prompt's positions once and the rows' own buffers hold only what they
 * generate, so a decode step reads a prompt once per group, not once per
 * row (attentionDecode).
 *
 * The buffers come from the tensor runtime's pool and go back on dispose():
 * a rollout builds a cache per decode batch, and fresh megabytes each time
 * cost page faults and collections that outweigh the decoding itself (fresh
 * ones are mapped in one pass up front, not a page per row at each step).
 * Pooled contents are stale, which is safe: attention reads only the first
 * `length` positions, and every one of them was written.
 */
import { runtime, type SharedPrompt, Tensor } from "../tensor/index.js";
import type { ModelConfig } from "./config.js";
import { ModelError } from "./errors.js";

/** A layer's cache as attention reads it after a write. */
export interface CacheSlot {
  /** (B, Tk, kvDim): the rows' own positions (all of them, unless prompts are shared). */
  k: Tensor;
  v: Tensor;
  Tk: number;
  /** Valid own positions. */
  kvLen: number;
  /** The shared prompts read before the own positions, or null. */
  prompt: SharedPrompt | null;
}

interface Shared {
  /** Per layer: (G, P, kvDim). */
  keys: Float32Array[];
  values: Float32Array[];
  /** (G, P) */
  mask: Uint8Array;
  /** (rows) the prompt of each row. */
  group: Int32Array;
  /** Positions of every prompt (left-padded to one length). */
  P: number;
}

export class KVCache {
  readonly kvDim: number;
  private rows: number;
  /** Rows the buffers were sized for. */
  private readonly allocated: number;
  /** Valid positions so far (the same for every row; padding is masked, not ragged). */
  length = 0;
  /** (B, capacity): 1 where a real token sits, 0 for padding or unused slots (own positions only once prompts are shared). */
  readonly mask: Uint8Array;
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  private shared: Shared | null = null;
  private disposed = false;

  constructor(
    config: ModelConfig,
    batch: number,
    readonly capacity: number,
  ) {
    if (capacity > config.maxPositions) throw new ModelError(`KV cache: capacity ${capacity} exceeds max_position_embeddings ${config.maxPositions}`);
    this.rows = batch;
    this.allocated = batch;
    this.kvDim = config.numKvHeads * config.headDim;
    const n = batch * capacity * this.kvDim;
    const pool = runtime().pool;
    this.keys = Array.from({ length: config.numLayers }, () => pool.allocMapped(n));
    this.values = Array.from({ length: config.numLayers }, () => pool.allocMapped(n));
    this.mask = new Uint8Array(batch * capacity);
  }

  /** Rows the cache holds now. */
  get batch(): number {
    return this.rows;
  }

  /** Positions each row holds itself: all of them, or those after a shared prompt. */
  private get own(): number {
    return this.length - (this.shared?.P ?? 0);
  }

  /**
   * Keeps only the given rows (ascending indices into the current batch),
   * moved to the front in that order: the rows that are still generating,
   * so later steps stop paying for finished ones. Each row's values are
   * unchanged, so its later outputs are bit for bit what they would have
   * been.
   */
  keepRows(keep: readonly number[]): void {
    for (let i = 0; i < keep.length; i++) {
      const r = keep[i] as number;
      if (!Number.isInteger(r) || r < i || r >= this.rows || (i > 0 && r <= (keep[i - 1] as number))) {
        throw new ModelError(`KV cache: keepRows needs ascending row indices below ${this.rows}, got ${JSON.stringify(keep)}`);
      }
    }
    const stride = this.capacity * this.kvDim;
    const used = this.own * this.kvDim;
    for (let li = 0; li < this.keys.length; li++) {
      const K = this.buffer(this.keys, li);
      const V = this.buffer(this.values, li);
      keep.forEach((r, i) => {
        if (r === i) return;
        K.copyWithin(i * stride, r * stride, r * stride + used);
        V.copyWithin(i * stride, r * stride, r * stride + used);
      });
    }
    keep.forEach((r, i) => {
      if (r !== i) this.mask.copyWithin(i * this.capacity, r * this.capacity, r * this.capacity + this.own);
    });
    const shared = this.shared;
    if (shared) shared.group = Int32Array.from(keep, (r) => shared.group[r] as number);
    this.rows = keep.length;
  }

  /**
   * After a prefill of G distinct prompts (rows 0..G-1, `length` positions
   * each), makes them shared: row i of the batch to come continues prompt
   * from[i], and holds only the positions it generates from here on. The
   * batch grows to from.length, at most the rows the cache was built for.
   */
  sharePrompts(from: readonly number[]): void {
    if (this.disposed) throw new ModelError("KV cache: used after dispose()");
    if (this.shared) throw new ModelError("KV cache: prompts are already shared");
    if (this.length === 0) throw new ModelError("KV cache: sharePrompts needs the prompts' prefill first");
    if (from.length > this.allocated) throw new ModelError(`KV cache: sharePrompts asks for ${from.length} rows; built for ${this.allocated}`);
    from.forEach((r, i) => {
      if (!Number.isInteger(r) || r < 0 || r >= this.rows) throw new ModelError(`KV cache: sharePrompts row ${i} continues prompt ${r}; there are ${this.rows}`);
    });
    const G = this.rows;
    const P = this.length;
    const stride = this.capacity * this.kvDim;
    const n = P * this.kvDim;
    const pool = runtime().pool;
    const gather = (list: readonly Float32Array[]) =>
      list.map((buf) => {
        const out = pool.alloc(G * n);
        for (let g = 0; g < G; g++) out.set(buf.subarray(g * stride, g * stride + n), g * n);
        return out;
      });
    const mask = new Uint8Array(G * P);
    for (let g = 0; g < G; g++) mask.set(this.mask.subarray(g * this.capacity, g * this.capacity + P), g * P);
    this.shared = { keys: gather(this.keys), values: gather(this.values), mask, group: Int32Array.from(from), P };
    this.rows = from.length;
  }

  /** Throws unless Tn more positions for a batch of B fit. */
  checkAppend(B: number, Tn: number): void {
    if (B !== this.rows) throw new ModelError(`KV cache: holds a batch of ${this.rows}, got ${B}`);
    if (this.length + Tn > this.capacity) throw new ModelError(`KV cache: ${this.length} + ${Tn} positions exceed capacity ${this.capacity}`);
    if (this.shared && Tn !== 1) throw new ModelError(`KV cache: with shared prompts a step appends one position per row, got ${Tn}`);
  }

  /** Records the key mask of Tn new positions ((B, Tn), null = all real); returns the (B, capacity) mask of the rows' own positions. */
  appendMask(keyMask: Uint8Array | null, Tn: number): Uint8Array {
    if (keyMask && keyMask.length !== this.rows * Tn) throw new ModelError(`KV cache: key mask has ${keyMask.length} entries, expected ${this.rows * Tn}`);
    const at = this.own;
    for (let b = 0; b < this.rows; b++) {
      for (let t = 0; t < Tn; t++) this.mask[b * this.capacity + at + t] = keyMask ? (keyMask[b * Tn + t] as number) : 1;
    }
    return this.mask.subarray(0, this.rows * this.capacity);
  }

  /**
   * Stores layer li's keys and values of Tn new positions (k, v: (B, Tn, kvDim))
   * and returns the layer's cache as attention reads it (tensors borrowed).
   */
  write(li: number, k: Float32Array, v: Float32Array, Tn: number): CacheSlot {
    const K = this.buffer(this.keys, li);
    const V = this.buffer(this.values, li);
    const row = Tn * this.kvDim;
    const at = this.own * this.kvDim;
    const stride = this.capacity * this.kvDim;
    const kernels = runtime().kernels;
    kernels.copyRows(this.rows, row, k, row, at === 0 ? K : K.subarray(at), stride);
    kernels.copyRows(this.rows, row, v, row, at === 0 ? V : V.subarray(at), stride);
    const shape = [this.rows, this.capacity, this.kvDim];
    const n = this.rows * stride;
    const s = this.shared;
    return {
      k: Tensor.borrow(K.subarray(0, n), shape),
      v: Tensor.borrow(V.subarray(0, n), shape),
      Tk: this.capacity,
      kvLen: this.own + Tn,
      prompt: s ? { k: s.keys[li] as Float32Array, v: s.values[li] as Float32Array, mask: s.mask, group: s.group, P: s.P } : null,
    };
  }

  /** Marks Tn more positions valid (after every layer wrote them). */
  advance(Tn: number): void {
    this.length += Tn;
  }

  /** Returns the buffers to the pool; the cache and tensors it lent are unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const pool = runtime().pool;
    for (const buf of [...this.keys, ...this.values, ...(this.shared?.keys ?? []), ...(this.shared?.values ?? [])]) pool.release(buf);
  }

  private buffer(list: readonly Float32Array[], li: number): Float32Array {
    if (this.disposed) throw new ModelError("KV cache: used after dispose()");
    return list[li] as Float32Array;
  }
}
