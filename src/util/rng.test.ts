import { describe, expect, it } from "vitest";
import { GvmError } from "./errors.js";
import { Rng, RngError } from "./rng.js";

describe("Rng", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(xs);
  });

  it("restores from a saved state mid-stream", () => {
    const a = new Rng(7);
    for (let i = 0; i < 100; i++) a.normal();
    const saved = a.state();
    const next = Array.from({ length: 10 }, () => a.float());
    const b = new Rng(saved);
    expect(Array.from({ length: 10 }, () => b.float())).toEqual(next);
  });

  it("draws uniform floats and ints with the right moments", () => {
    const r = new Rng(1);
    const n = 100_000;
    let sum = 0;
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < n; i++) {
      const f = r.float();
      expect(f >= 0 && f < 1).toBe(true);
      sum += f;
      const k = r.int(7);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    for (const c of counts) expect(Math.abs(c / n - 1 / 7)).toBeLessThan(0.01);
  });

  it("draws standard normals", () => {
    const r = new Rng(3);
    const n = 100_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.03);
  });

  it("derives distinct, reproducible streams from a seed and a path", () => {
    const a = Rng.derive(5, 1, 2).u32();
    expect(Rng.derive(5, 1, 2).u32()).toBe(a);
    const others = [Rng.derive(5, 2, 1), Rng.derive(5, 1, 3), Rng.derive(6, 1, 2), Rng.derive(5, 1), Rng.derive(5, 1, 2, 0)].map((r) => r.u32());
    expect(new Set([a, ...others]).size).toBe(6);
  });

  it("rejects a bad range with a typed error naming the value", () => {
    for (const n of [0, -1, 1.5, Number.NaN, 2 ** 32 + 1]) {
      expect(() => new Rng(0).int(n)).toThrow(RngError);
      expect(() => new Rng(0).int(n)).toThrow(GvmError);
      expect(() => new Rng(0).int(n)).toThrow(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    expect(new Rng(0).int(2 ** 32)).toBeLessThan(2 ** 32);
  });
});
