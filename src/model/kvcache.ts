/**
 * Key/value cache for generation: per layer, keys and values of every
 * position so far, preallocated to a fixed capacity so decoding never copies
 * or grows it. Layout (B, capacity, Hkv * D) is exactly what the attention
 * kernel reads, with `length` valid positions and a key mask for padding.
 */
import { Tensor } from "../tensor/index.js";
import type { ModelConfig } from "./config.js";
import { ModelError } from "./errors.js";

export class KVCache {
  readonly kvDim: number;
  /** Valid positions so far (the same for every row; padding is masked, not ragged). */
  length = 0;
  /** (B, capacity): 1 where a real token sits, 0 for padding or unused slots. */
  readonly mask: Uint8Array;
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];

  constructor(
    config: ModelConfig,
    readonly batch: number,
    readonly capacity: number,
  ) {
    if (capacity > config.maxPositions) throw new ModelError(`KV cache: capacity ${capacity} exceeds max_position_embeddings ${config.maxPositions}`);
    this.kvDim = config.numKvHeads * config.headDim;
    const n = batch * capacity * this.kvDim;
    this.keys = Array.from({ length: config.numLayers }, () => new Float32Array(n));
    this.values = Array.from({ length: config.numLayers }, () => new Float32Array(n));
    this.mask = new Uint8Array(batch * capacity);
  }

  /** Throws unless Tn more positions for a batch of B fit. */
  checkAppend(B: number, Tn: number): void {
    if (B !== this.batch) throw new ModelError(`KV cache: built for batch ${this.batch}, got ${B}`);
    if (this.length + Tn > this.capacity) throw new ModelError(`KV cache: ${this.length} + ${Tn} positions exceed capacity ${this.capacity}`);
  }

  /** Records the key mask of Tn new positions ((B, Tn), null = all real); returns the full (B, capacity) mask. */
  appendMask(keyMask: Uint8Array | null, Tn: number): Uint8Array {
    if (keyMask && keyMask.length !== this.batch * Tn) throw new ModelError(`KV cache: key mask has ${keyMask.length} entries, expected ${this.batch * Tn}`);
    for (let b = 0; b < this.batch; b++) {
      for (let t = 0; t < Tn; t++) this.mask[b * this.capacity + this.length + t] = keyMask ? (keyMask[b * Tn + t] as number) : 1;
    }
    return this.mask;
  }

  /**
   * Stores layer li's keys and values of Tn new positions (k, v: (B, Tn, kvDim))
   * and returns the whole cache of that layer as borrowed (B, capacity, kvDim) tensors.
   */
  write(li: number, k: Float32Array, v: Float32Array, Tn: number): { k: Tensor; v: Tensor } {
    const K = this.keys[li] as Float32Array;
    const V = this.values[li] as Float32Array;
    const row = Tn * this.kvDim;
    for (let b = 0; b < this.batch; b++) {
      const dst = (b * this.capacity + this.length) * this.kvDim;
      K.set(k.subarray(b * row, (b + 1) * row), dst);
      V.set(v.subarray(b * row, (b + 1) * row), dst);
    }
    const shape = [this.batch, this.capacity, this.kvDim];
    return { k: Tensor.borrow(K, shape), v: Tensor.borrow(V, shape) };
  }

  /** Marks Tn more positions valid (after every layer wrote them). */
  advance(Tn: number): void {
    this.length += Tn;
  }
}
