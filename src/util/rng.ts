/**
 * Seeded pseudo-random numbers: xoshiro128** (period 2^128 - 1), seeded by
 * splitmix32. Same seed, same stream, on every machine; the state is four
 * uint32s so it can be saved in a checkpoint and restored exactly.
 */
import { GvmError } from "./errors.js";

export type RngState = readonly [number, number, number, number];

/** An Rng method called outside its domain (a caller's bug or an unchecked config value). */
export class RngError extends GvmError {}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** seed: any integer (its low 32 bits are used) or a saved state. */
  constructor(seed: number | RngState = 0) {
    if (typeof seed === "number") {
      const sm = splitmix32(seed);
      this.a = sm();
      this.b = sm();
      this.c = sm();
      this.d = sm();
      if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
    } else {
      [this.a, this.b, this.c, this.d] = seed.map((x) => x >>> 0) as [number, number, number, number];
    }
  }

  /** A uniformly random uint32. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    this.c >>>= 0;
    this.b >>>= 0;
    this.a >>>= 0;
    return result;
  }

  /** Uniform in [0, 1) with 53 bits of precision. */
  float(): number {
    const hi = this.u32() >>> 5;
    const lo = this.u32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RngError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.u32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal (Box-Muller; no cached spare, so state() is the whole state). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /**
   * A generator determined by a seed and a path of integers (iteration,
   * prompt, sample, ...), independent of any other generator's use: the way
   * to give every response its own reproducible stream.
   */
  static derive(seed: number, ...path: readonly number[]): Rng {
    let h = mix32(seed >>> 0);
    for (const p of path) h = mix32((h ^ Math.imul((p >>> 0) + 0x7f4a7c15, 0x9e3779b1)) >>> 0);
    return new Rng(h);
  }

  /** An independent generator derived from this one's next outputs and a stream id. */
  fork(stream = 0): Rng {
    return new Rng(this.u32() ^ Math.imul(stream + 1, 0x9e3779b1));
  }

  /** The state, for checkpoints; restoring it continues the exact stream. */
  state(): RngState {
    return [this.a, this.b, this.c, this.d];
  }
}
