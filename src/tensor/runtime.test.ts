import { describe, expect, it } from "vitest";
import { Rng } from "../util/rng.js";
import * as T from "./index.js";

describe("runtime: scopes, pool, grad mode", () => {
  it("tidy disposes intermediates, keeps the result and kept tensors", () => {
    const rt = T.runtime();
    const w = T.tensor([1, 2, 3], [3], { requiresGrad: true }).keep();
    let inner: T.Tensor | undefined;
    const out = rt.tidy(() => {
      inner = T.square(w);
      return T.sum(inner);
    });
    expect(inner?.disposed).toBe(true);
    expect(out.disposed).toBe(false);
    expect(out.item()).toBe(14);
    expect(w.disposed).toBe(false);
    expect(() => inner?.data).toThrow(/used after it was disposed/);
  });

  it("backward through a disposed intermediate fails loudly instead of reading recycled memory", () => {
    const w = T.tensor([1, 2, 3], [3], { requiresGrad: true }).keep();
    const loss = T.tidy(() => T.sum(T.mul(T.exp(w), w)));
    expect(() => loss.backward()).toThrow(/disposed/);
  });

  it("reuses pooled buffers across steps so memory reaches a steady state", () => {
    const rt = T.runtime();
    const w = T.randn([64, 64], new Rng(9), 0.1, { requiresGrad: true }).keep();
    const step = () =>
      rt.tidy(() => {
        const y = T.linear(w, w);
        const loss = T.mean(T.square(y));
        loss.backward();
        return loss.item();
      });
    step();
    const pooledAfterFirst = rt.pool.pooled;
    for (let i = 0; i < 5; i++) step();
    expect(rt.pool.pooled).toBe(pooledAfterFirst);
  });

  it("allocMapped hands back a recycled buffer of the length, else a fresh zeroed one", () => {
    const pool = new T.BufferPool();
    const fresh = pool.allocMapped(1000);
    expect(fresh.length).toBe(1000);
    expect(fresh.every((v) => v === 0)).toBe(true);
    fresh[3] = 7;
    pool.release(fresh);
    expect(pool.pooled).toBe(1000);
    const again = pool.allocMapped(1000);
    expect(again).toBe(fresh);
    expect(pool.pooled).toBe(0);
    expect(pool.allocMapped(999)).not.toBe(fresh);
  });

  it("rounds long buffers up to size classes, four per doubling, and recycles them across nearby lengths", () => {
    for (const n of [1, 4096, 4097, 5000, 8192, 8193, 123_457, 2 ** 24 + 1]) {
      const c = T.sizeClass(n);
      expect(c, `class of ${n}`).toBeGreaterThanOrEqual(n);
      expect(c, `class of ${n}`).toBeLessThanOrEqual(n <= 4096 ? n : Math.ceil(1.25 * n));
      expect(T.sizeClass(c), `class of class ${c}`).toBe(c);
    }
    expect(new Set([9000, 9500, 10_000, 10_240].map(T.sizeClass)).size).toBe(1);
    const pool = new T.BufferPool();
    const a = pool.alloc(9000);
    expect(a.length).toBe(9000);
    pool.release(a);
    expect(pool.pooled).toBe(T.sizeClass(9000));
    const b = pool.allocMapped(10_000);
    expect(b.length).toBe(10_000);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.pooled).toBe(0);
    // a view the pool did not cut is never taken: its buffer belongs to someone else
    pool.release(new Float32Array(T.sizeClass(9000)).subarray(0, 9000));
    expect(pool.pooled).toBe(0);
  });

  it("when full, makes room by dropping the buffers of the length used least recently", () => {
    const pool = new T.BufferPool(20_000);
    const a = new Float32Array(6000), b = new Float32Array(7000), c = new Float32Array(9000);
    pool.release(a);
    pool.release(b);
    expect(pool.alloc(6000)).toBe(a); // 6000 is now more recent than 7000
    pool.release(a);
    pool.release(c); // 13,000 + 9,000 > 20,000: the 7000 goes
    expect(pool.pooled).toBe(15_000);
    expect(pool.alloc(7000)).not.toBe(b);
    expect(pool.alloc(6000)).toBe(a);
    expect(pool.alloc(9000)).toBe(c);
    pool.release(new Float32Array(20_001)); // larger than the whole pool: not kept
    expect(pool.pooled).toBe(0);
  });

  it("noGrad builds no graph; leaf gradients accumulate across backward calls", () => {
    const w = T.tensor([1, -2], [2], { requiresGrad: true }).keep();
    const y = T.noGrad(() => T.square(w));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    T.tidy(() => T.sum(T.square(w)).backward());
    T.tidy(() => T.sum(T.square(w)).backward());
    expect(Array.from(w.grad ?? [])).toEqual([4, -8]);
  });

  it("reshape views share storage and survive until the last view is disposed", () => {
    const a = T.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = a.reshape([3, 2]);
    a.dispose();
    expect(b.data[5]).toBe(6);
    expect(() => a.reshape([6])).toThrow(/disposed/);
  });

  it("names the op and shapes on bad input", () => {
    const a = T.zeros([2, 3]);
    const b = T.zeros([4, 5]);
    expect(() => T.linear(a, b)).toThrow(/linear: input \(2, 3\) does not end in 5/);
    expect(() => T.add(a, T.zeros([4]))).toThrow(/add: shapes \(2, 3\) and \(4\) do not broadcast/);
    expect(() => T.embedding(b, Int32Array.from([7]))).toThrow(/token id 7 at index 0 is outside the vocabulary \[0, 4\)/);
    expect(() => a.reshape([4, -1])).toThrow(/cannot reshape \(2, 3\)/);
  });
});
