/**
 * Key/value cache for generation: per layer, keys and values of every
 * position so far, preallocated to a fixed capacity so decoding never copies
 * or grows it. Layout (B, capacity, Hkv * D) is exactly what the attention
 * kernel reads, with `length` valid positions and a key mask for padding.
 *
 * The buffers come from the tensor runtime's pool and go back on dispose():
 * a rollout builds a cache per decode batch, and fresh megabytes each time
 * cost page faults and collections that outweigh the decoding itself (fresh
 * ones are mapped in one pass up front, not a page per row at each step).
 * Pooled contents are stale, which is safe: attention reads only the first
 * `length` positions, and every one of them was written.
 */
import { runtime, Tensor } from "../tensor/index.js";
import type { ModelConfig } from "./config.js";
import { ModelError } from "./errors.js";

export class KVCache {
  readonly kvDim: number;
  private rows: number;
  /** Rows the buffers were sized for. */
  private readonly allocated: number;
  /** Valid positions so far (the same for every row; padding is masked, not ragged). */
  length = 0;
  /** (B, capacity): 1 where a real token sits, 0 for padding or unused slots. */
  readonly mask: Uint8Array;
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
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

  /** Rows the cache holds now (fewer than it was built for after keepRows). */
  get batch(): number {
    return this.rows;
  }

  /**
   * Keeps only the given rows (ascending indices into the current batch),
   * moved to the front in that order: the rows that are still generating,
   * so later steps stop paying for finished ones. Only the `length` valid
   * positions move; each row's values are unchanged, so its later outputs
   * are bit for bit what they would have been.
   */
  keepRows(keep: readonly number[]): void {
    for (let i = 0; i < keep.length; i++) {
      const r = keep[i] as number;
      if (!Number.isInteger(r) || r < i || r >= this.rows || (i > 0 && r <= (keep[i - 1] as number))) {
        throw new ModelError(`KV cache: keepRows needs ascending row indices below ${this.rows}, got ${JSON.stringify(keep)}`);
      }
    }
    keep.forEach((r, i) => this.copyRow(r, i));
    this.rows = keep.length;
  }

  /**
   * Row i becomes a copy of row from[i] (from[i] <= i and below the current
   * batch), up to the batch the cache was built for: the samples of one
   * prompt, prefilled once, each get its cache. Rows are written from the
   * last down, so every source is read before anything overwrites it.
   */
  repeatRows(from: readonly number[]): void {
    if (from.length > this.allocated) throw new ModelError(`KV cache: repeatRows asks for ${from.length} rows; built for ${this.allocated}`);
    from.forEach((r, i) => {
      if (!Number.isInteger(r) || r < 0 || r > i || r >= this.rows) {
        throw new ModelError(`KV cache: repeatRows row ${i} copies row ${r}; it must be a row below ${this.rows} and at most ${i}`);
      }
    });
    for (let i = from.length - 1; i >= 0; i--) this.copyRow(from[i] as number, i);
    this.rows = from.length;
  }

  /** Throws unless Tn more positions for a batch of B fit. */
  checkAppend(B: number, Tn: number): void {
    if (B !== this.rows) throw new ModelError(`KV cache: holds a batch of ${this.rows}, got ${B}`);
    if (this.length + Tn > this.capacity) throw new ModelError(`KV cache: ${this.length} + ${Tn} positions exceed capacity ${this.capacity}`);
  }

  /** Records the key mask of Tn new positions ((B, Tn), null = all real); returns the full (B, capacity) mask. */
  appendMask(keyMask: Uint8Array | null, Tn: number): Uint8Array {
    if (keyMask && keyMask.length !== this.rows * Tn) throw new ModelError(`KV cache: key mask has ${keyMask.length} entries, expected ${this.rows * Tn}`);
    for (let b = 0; b < this.rows; b++) {
      for (let t = 0; t < Tn; t++) this.mask[b * this.capacity + this.length + t] = keyMask ? (keyMask[b * Tn + t] as number) : 1;
    }
    return this.mask.subarray(0, this.rows * this.capacity);
  }

  /**
   * Stores layer li's keys and values of Tn new positions (k, v: (B, Tn, kvDim))
   * and returns the whole cache of that layer as borrowed (B, capacity, kvDim) tensors.
   */
  write(li: number, k: Float32Array, v: Float32Array, Tn: number): { k: Tensor; v: Tensor } {
    const K = this.buffer(this.keys, li);
    const V = this.buffer(this.values, li);
    const row = Tn * this.kvDim;
    const at = this.length * this.kvDim;
    const stride = this.capacity * this.kvDim;
    const kernels = runtime().kernels;
    kernels.copyRows(this.rows, row, k, row, at === 0 ? K : K.subarray(at), stride);
    kernels.copyRows(this.rows, row, v, row, at === 0 ? V : V.subarray(at), stride);
    const shape = [this.rows, this.capacity, this.kvDim];
    const n = this.rows * stride;
    return { k: Tensor.borrow(K.subarray(0, n), shape), v: Tensor.borrow(V.subarray(0, n), shape) };
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
    for (const buf of [...this.keys, ...this.values]) pool.release(buf);
  }

  // The valid positions of row `from` (keys, values and mask) into row `to`.
  private copyRow(from: number, to: number): void {
    if (from === to) return;
    const stride = this.capacity * this.kvDim;
    const used = this.length * this.kvDim;
    for (let li = 0; li < this.keys.length; li++) {
      this.buffer(this.keys, li).copyWithin(to * stride, from * stride, from * stride + used);
      this.buffer(this.values, li).copyWithin(to * stride, from * stride, from * stride + used);
    }
    this.mask.copyWithin(to * this.capacity, from * this.capacity, from * this.capacity + this.length);
  }

  private buffer(list: readonly Float32Array[], li: number): Float32Array {
    if (this.disposed) throw new ModelError("KV cache: used after dispose()");
    return list[li] as Float32Array;
  }
}
