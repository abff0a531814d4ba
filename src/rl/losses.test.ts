import { describe, expect, it } from "vitest";
import * as T from "../tensor/index.js";
import { gradcheck } from "../tensor/gradcheck.js";
import { aggregate, klPenalty, plusPlusLoss, vanillaLoss } from "./losses.js";

const clip = { epsLow: 0.2, epsHigh: 0.28, dualClipC: 3 };

describe("aggregate", () => {
  // loss (2, 3), mask with 2 tokens in row 0 and 1 in row 1.
  const loss = T.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const mask = T.tensor([1, 1, 0, 0, 0, 1], [2, 3]);
  it("token-mean, seq-mean-token-sum, seq-mean-token-mean by hand", () => {
    expect(aggregate(loss, mask, "token-mean").item()).toBeCloseTo((1 + 2 + 6) / 3, 6);
    expect(aggregate(loss, mask, "seq-mean-token-sum").item()).toBeCloseTo((3 + 6) / 2, 6);
    expect(aggregate(loss, mask, "seq-mean-token-mean").item()).toBeCloseTo((3 / 2 + 6 / 1) / 2, 6);
  });
  it("an empty row counts as zero, not NaN", () => {
    const m = T.tensor([1, 1, 0, 0, 0, 0], [2, 3]);
    expect(aggregate(loss, m, "seq-mean-token-mean").item()).toBeCloseTo(1.5 / 2, 6);
  });
});

describe("policy losses", () => {
  it("vanilla is -A log pi", () => {
    const logp = T.tensor([-1, -2, -0.5, -3], [2, 2]);
    const r = vanillaLoss({ logp, oldLogp: logp, advantages: Float32Array.from([1, 0]), mask: T.ones([2, 2]) }, clip);
    expect(r.tokenLoss.toArray().map((x) => x + 0)).toEqual([1, 2, 0, 0]);
  });

  it("plusplus clips high for positive and low for negative advantages, with dual clip", () => {
    // Row 0: A = +1, ratios e^0.5 (above 1.28: clipped), 1 (inside).
    // Row 1: A = -1, ratios e^-0.5 (below 0.8: clipped to 0.8), e^2 = 7.39 (dual clip caps the loss at 3).
    const old = T.tensor([0, 0, 0, 0], [2, 2]);
    const logp = T.tensor([0.5, 0, -0.5, 2], [2, 2]);
    const r = plusPlusLoss({ logp, oldLogp: old, advantages: Float32Array.from([1, -1]), mask: T.ones([2, 2]) }, clip);
    const L = r.tokenLoss.toArray();
    expect(L[0]).toBeCloseTo(-1.28, 5); // max(-1.6487, -1.28)
    expect(L[1]).toBeCloseTo(-1, 5);
    expect(L[2]).toBeCloseTo(0.8, 5); // max(0.6065, 0.8)
    expect(L[3]).toBeCloseTo(3, 5); // min(max(7.389, 1.2), 3)
    expect(r.clipFrac).toBeCloseTo(2 / 4, 6);
    expect(r.dualClipFrac).toBeCloseTo(1 / 2, 6);
    expect(r.approxKl).toBeCloseTo((-0.5 + 0 + 0.5 - 2) / 4, 6);
  });

  it("plusplus gradients match finite differences away from the clip kinks", () => {
    const old = T.tensor([-1, -1.2, -0.7, -2, -1, -0.3], [2, 3]);
    const logp = T.tensor([-1.05, -1.1, -0.72, -2.1, -0.9, -0.35], [2, 3], { requiresGrad: true }).keep();
    const mask = T.tensor([1, 1, 1, 1, 1, 0], [2, 3]);
    const adv = Float32Array.from([0.7, -1.3]);
    const r = gradcheck(([lp]) => aggregate(plusPlusLoss({ logp: lp as T.Tensor, oldLogp: old, advantages: adv, mask }, clip).tokenLoss, mask, "token-mean"), [logp], { eps: 1e-3 });
    expect(r.maxError).toBeLessThan(1e-2);
  });

  it("rejects mismatched shapes and bad clip settings with named fields", () => {
    const a = T.zeros([2, 3]);
    expect(() => plusPlusLoss({ logp: a, oldLogp: T.zeros([2, 2]), advantages: Float32Array.from([1, 1]), mask: a }, clip)).toThrow(/oldLogp \(2, 2\) differs from logp \(2, 3\)/);
    expect(() => plusPlusLoss({ logp: a, oldLogp: a, advantages: Float32Array.from([1]), mask: a }, clip)).toThrow(/1 advantages for 2 responses/);
    expect(() => plusPlusLoss({ logp: a, oldLogp: a, advantages: Float32Array.from([1, 1]), mask: a }, { ...clip, dualClipC: 1 })).toThrow(/dual-clip c must be > 1/);
  });
});

describe("KL estimators", () => {
  const logp = T.tensor([-1, -2, -0.5], [1, 3]);
  const ref = T.tensor([-1.5, -2, 0], [1, 3]);
  it("k1, k2, k3 by hand", () => {
    expect(klPenalty(logp, ref, "k1").toArray().map((x) => +x.toFixed(6))).toEqual([0.5, 0, -0.5]);
    expect(klPenalty(logp, ref, "k2").toArray().map((x) => +x.toFixed(6))).toEqual([0.125, 0, 0.125]);
    const k3 = klPenalty(logp, ref, "k3").toArray();
    [-0.5, 0, 0.5].forEach((d, i) => expect(k3[i]).toBeCloseTo(Math.exp(d) - d - 1, 6));
  });
  it("k3 is clamped to [-10, 10]", () => {
    const big = klPenalty(T.tensor([-30], [1, 1]), T.tensor([0], [1, 1]), "k3").item();
    expect(big).toBe(10);
  });
  it("k3 gradients match finite differences", () => {
    const lp = T.tensor([-1, -2, -0.5, -0.1], [2, 2], { requiresGrad: true }).keep();
    const rf = T.tensor([-1.3, -1.8, -0.9, -0.2], [2, 2]);
    const r = gradcheck(([x]) => klPenalty(x as T.Tensor, rf, "k3"), [lp], { eps: 1e-3 });
    expect(r.maxError).toBeLessThan(1e-2);
  });
});
