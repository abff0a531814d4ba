/**
 * Every op's backward against finite differences, on every kernel backend
 * this process can load.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../util/rng.js";
import { gradcheck } from "./gradcheck.js";
import * as T from "./index.js";
import { availableBackends } from "./testing.js";

const TOL = 2e-2;

function param(shape: number[], rng: Rng, std = 1): T.Tensor {
  return T.randn(shape, rng, std, { requiresGrad: true }).keep();
}

for (const kernels of availableBackends()) {
  describe(`gradients (${kernels.info.backend} kernels)`, () => {
    const within = <R>(fn: () => R): R => T.runtime().withKernels(kernels, fn);

    function expectGrad(f: (xs: readonly T.Tensor[]) => T.Tensor, xs: T.Tensor[], tol = TOL): void {
      const r = within(() => gradcheck(f, xs));
      expect(r.maxError, JSON.stringify(r.worst)).toBeLessThan(tol);
    }

    it("elementwise with broadcasting", () => {
      const rng = new Rng(1);
      const a = param([3, 4], rng);
      const b = param([4], rng);
      const c = param([3, 1], rng);
      expectGrad(([x, y]) => T.add(x as T.Tensor, y as T.Tensor), [a, b]);
      expectGrad(([x, y]) => T.sub(x as T.Tensor, y as T.Tensor), [a, c]);
      expectGrad(([x, y]) => T.mul(x as T.Tensor, y as T.Tensor), [a, b]);
      const pos = T.tensor(Array.from({ length: 4 }, (_, i) => 1.5 + i), [4], { requiresGrad: true }).keep();
      expectGrad(([x, y]) => T.div(x as T.Tensor, y as T.Tensor), [a, pos]);
      expectGrad(([x, y]) => T.add(x as T.Tensor, y as T.Tensor), [a, param([3, 4], rng)]);
    });

    it("minimum, maximum, where, clamp away from kinks", () => {
      const a = T.tensor([0.1, 2, -1, 0.7, -3, 1.2], [2, 3], { requiresGrad: true }).keep();
      const b = T.tensor([1, 0.5, -2, 0.2, 0, 2], [2, 3], { requiresGrad: true }).keep();
      expectGrad(([x, y]) => T.minimum(x as T.Tensor, y as T.Tensor), [a, b]);
      expectGrad(([x, y]) => T.maximum(x as T.Tensor, y as T.Tensor), [a, b]);
      const cond = T.tensor([1, 0, 1, 0, 0, 1], [2, 3]);
      expectGrad(([x, y]) => T.where(cond, x as T.Tensor, y as T.Tensor), [a, b]);
      expectGrad(([x]) => T.clamp(x as T.Tensor, -0.5, 1), [a]);
    });

    it("unary ops", () => {
      const rng = new Rng(2);
      const a = param([2, 5], rng, 0.5);
      const pos = T.tensor([0.5, 1, 1.5, 2, 3], [5], { requiresGrad: true }).keep();
      expectGrad(([x]) => T.exp(x as T.Tensor), [a]);
      expectGrad(([x]) => T.log(x as T.Tensor), [pos]);
      expectGrad(([x]) => T.sqrt(x as T.Tensor), [pos]);
      expectGrad(([x]) => T.square(x as T.Tensor), [a]);
      expectGrad(([x]) => T.sigmoid(x as T.Tensor), [a]);
      expectGrad(([x]) => T.neg(x as T.Tensor), [a]);
      expectGrad(([x]) => T.affine(x as T.Tensor, -2, 3), [a]);
      expectGrad(([x]) => T.powScalar(x as T.Tensor, 1.5), [pos]);
    });

    it("reductions", () => {
      const rng = new Rng(3);
      const a = param([2, 3, 4], rng);
      expectGrad(([x]) => T.sum(x as T.Tensor), [a]);
      expectGrad(([x]) => T.mean(x as T.Tensor), [a]);
      expectGrad(([x]) => T.sum(x as T.Tensor, 1), [a]);
      expectGrad(([x]) => T.mean(x as T.Tensor, -1, true), [a]);
      expectGrad(([x]) => T.sum(x as T.Tensor, 0), [a]);
    });

    it("linear (with and without bias) and matmul", () => {
      const rng = new Rng(4);
      const x = param([2, 3, 5], rng);
      const W = param([4, 5], rng);
      const b = param([4], rng);
      expectGrad(([p, q, r]) => T.linear(p as T.Tensor, q as T.Tensor, r as T.Tensor), [x, W, b]);
      expectGrad(([p, q]) => T.linear(p as T.Tensor, q as T.Tensor), [x, W]);
      const a3 = param([2, 3, 5], rng);
      const b3 = param([2, 5, 4], rng);
      const b2 = param([5, 4], rng);
      expectGrad(([p, q]) => T.matmul(p as T.Tensor, q as T.Tensor), [a3, b3]);
      expectGrad(([p, q]) => T.matmul(p as T.Tensor, q as T.Tensor), [a3, b2]);
      const r = param([2, 3, 4], rng);
      expectGrad(([p, q, s, t]) => T.linear(p as T.Tensor, q as T.Tensor, s as T.Tensor, t as T.Tensor), [x, W, b, r]);
      // a residual stream through two layers, its gradient passed along without copies
      const W2 = param([5, 5], rng);
      expectGrad(
        ([p, q, s]) => {
          const h = T.linear(p as T.Tensor, q as T.Tensor, undefined, p as T.Tensor);
          return T.linear(T.square(h), s as T.Tensor, undefined, h);
        },
        [x, W2, param([5, 5], rng)],
      );
    });

    it("gradients passed through adds and reshapes are shared and copied before they are added to", () => {
      const rng = new Rng(9);
      const p = param([2, 6], rng);
      const q = param([2, 6], rng);
      // the same intermediate twice in one add
      expectGrad(([a]) => {
        const y = T.affine(a as T.Tensor, 2, 1);
        return T.add(y, y);
      }, [p]);
      // both inputs of an add consumed again elsewhere, in both orders
      expectGrad(([a, b]) => {
        const y = T.affine(a as T.Tensor, 2, 1);
        const w = T.square(b as T.Tensor);
        return T.mul(T.add(y, w), T.add(w, y));
      }, [p, q]);
      expectGrad(([a]) => {
        const y = T.affine(a as T.Tensor, -1, 0.5);
        return T.mul(y.reshape([3, 4]), T.add(y, y).reshape([3, 4]));
      }, [p]);
    });

    it("rmsnorm, rope, swiglu, embedding", () => {
      const rng = new Rng(5);
      const x = param([3, 8], rng);
      const w = param([8], rng);
      expectGrad(([p, q]) => T.rmsnorm(p as T.Tensor, q as T.Tensor, 1e-5), [x, w]);
      const table = T.ropeTable(4, 16, 10000);
      const positions = Int32Array.from([0, 5, 11]);
      expectGrad(([p]) => T.rope(p as T.Tensor, positions, table), [x]);
      const g = param([2, 7], rng);
      const u = param([2, 7], rng);
      expectGrad(([p, q]) => T.swiglu(p as T.Tensor, q as T.Tensor), [g, u]);
      expectGrad(([p]) => T.swiglu(p as T.Tensor, p as T.Tensor), [g]);
      // the gate's gradient fresh, the up's already holding a contribution
      expectGrad(([p, q]) => {
        const uq = T.affine(q as T.Tensor, 1.5, 0);
        return T.add(T.swiglu(p as T.Tensor, uq), uq);
      }, [g, u]);
      const E = param([6, 3], rng);
      const ids = Int32Array.from([1, 4, 1, 0]);
      expectGrad(([p]) => T.embedding(p as T.Tensor, ids, [2, 2]), [E]);
    });

    it("attention: causal, GQA, key padding, KV capacity", () => {
      const rng = new Rng(6);
      const B = 2;
      const T_ = 5;
      const H = 4;
      const Hkv = 2;
      const D = 4;
      const q = param([B, T_, H * D], rng);
      const k = param([B, T_, Hkv * D], rng);
      const v = param([B, T_, Hkv * D], rng);
      expectGrad(([a, b, c]) => T.attention(a as T.Tensor, b as T.Tensor, c as T.Tensor, { B, H, Hkv, D }), [q, k, v]);
      // Left padding: the first two keys of batch row 1 are padding.
      const keyMask = Uint8Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 1]);
      expectGrad(([a, b, c]) => T.attention(a as T.Tensor, b as T.Tensor, c as T.Tensor, { B, H, Hkv, D, keyMask }), [q, k, v]);
      // Two queries at the end of a 4-long valid prefix of a 5-slot cache.
      const q2 = param([B, 2, H * D], rng);
      expectGrad(([a, b, c]) => T.attention(a as T.Tensor, b as T.Tensor, c as T.Tensor, { B, H, Hkv, D, Tk: T_, kvLen: 4 }), [q2, k, v]);
    });

    it("attentionPrefixed: prompts read by several continuations, left-padded prompts, right-padded continuations", () => {
      const rng = new Rng(9);
      const H = 4;
      const Hkv = 2;
      const D = 4;
      // prompt 0 (3 rows, the first padding) is read by continuations 0 and 2, prompt 1 by 1
      const layout: T.PrefixLayout = { G: 2, P: 3, B: 3, S: 4, group: Int32Array.from([0, 1, 0]), keyMask: null };
      const R = 2 * 3 + 3 * 4;
      const q = param([1, R, H * D], rng);
      const k = param([1, R, Hkv * D], rng);
      const v = param([1, R, Hkv * D], rng);
      const attend = (l: T.PrefixLayout) => ([a, b, c]: readonly T.Tensor[]) => T.attentionPrefixed(a as T.Tensor, b as T.Tensor, c as T.Tensor, { H, Hkv, D, layout: l });
      expectGrad(attend(layout), [q, k, v]);
      const keyMask = Uint8Array.from([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0]);
      expectGrad(attend({ ...layout, keyMask }), [q, k, v]);
    });

    it("sliceRows copies a range of rows and sends gradients back to them only", () => {
      const rng = new Rng(10);
      const a = param([5, 3], rng);
      expectGrad(([p]) => T.square(T.sliceRows(p as T.Tensor, 1, 4)), [a]);
      expect(() => T.sliceRows(a, 2, 6)).toThrow(/rows \[2, 6\) are not within \(5, 3\)/);
    });

    it("token logprobs, cross-entropy, softmax", () => {
      const rng = new Rng(7);
      const logits = param([2, 3, 6], rng);
      const targets = Int32Array.from([0, 5, -1, 2, 3, 1]);
      expectGrad(([p]) => T.tokenLogprobs(p as T.Tensor, targets), [logits]);
      expectGrad(([p]) => T.crossEntropy(p as T.Tensor, targets), [logits]);
      expectGrad(([p]) => T.softmax(p as T.Tensor), [logits]);
    });

    it("reshape passes gradients through shared storage", () => {
      const rng = new Rng(8);
      const a = param([2, 6], rng);
      expectGrad(([p]) => T.square((p as T.Tensor).reshape([3, -1])), [a]);
    });
  });
}
