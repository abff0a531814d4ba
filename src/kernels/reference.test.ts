/**
 * Checks of the oracle itself: every reference backward kernel against
 * central finite differences of its forward, on a random linear functional
 * L = sum(out * R); backward kernels must also ADD to the gradients they are
 * given. The reference GEMM is checked against a plain triple loop.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../util/rng.js";
import { referenceKernels as ref } from "./reference/index.js";

const rng = new Rng(7);

function rand(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.float() * 2 - 1) * scale;
  return a;
}

function dotF(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/**
 * Central differences of L(x) w.r.t. every element of x (perturbed in place),
 * compared with `analytic` (already computed, initial accumulator removed).
 */
function checkGrad(label: string, x: Float32Array, loss: () => number, analytic: Float32Array, h = 1e-2, tol = 2e-3): void {
  expect(analytic.length).toBe(x.length);
  let worst = 0;
  let scale = 1e-3;
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i] as number;
    x[i] = x0 + h;
    const lp = loss();
    x[i] = x0 - h;
    const lm = loss();
    x[i] = x0;
    const fd = (lp - lm) / (2 * h);
    worst = Math.max(worst, Math.abs(fd - (analytic[i] as number)));
    scale = Math.max(scale, Math.abs(fd));
  }
  expect(worst / scale, `${label}: max |fd - analytic| / max |fd|`).toBeLessThan(tol);
}

/** Runs a backward that accumulates into `init` copies and returns the increments. */
function increments(inits: Float32Array[], run: (grads: Float32Array[]) => void): Float32Array[] {
  const grads = inits.map((g) => g.slice());
  run(grads);
  return grads.map((g, j) => g.map((v, i) => v - ((inits[j] as Float32Array)[i] as number)));
}

describe("reference gemm", () => {
  it("matches a triple loop for every transpose combination, padding, batch, alpha and beta", () => {
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      const M = 5, N = 4, K = 3, batch = 2;
      const lda = (ta ? M : K) + 2, ldb = (tb ? K : N) + 1, ldc = N + 3;
      const sA = (ta ? K : M) * lda, sB = (tb ? N : K) * ldb, sC = M * ldc + 1;
      const A = rand(batch * sA), B = rand(batch * sB), C = rand(batch * sC);
      const expected = C.slice();
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let s = 0;
            for (let p = 0; p < K; p++) {
              const a = ta ? A[b * sA + p * lda + i] : A[b * sA + i * lda + p];
              const bb = tb ? B[b * sB + j * ldb + p] : B[b * sB + p * ldb + j];
              s += (a as number) * (bb as number);
            }
            const c = b * sC + i * ldc + j;
            expected[c] = 0.5 * s + 2 * (C[c] as number);
          }
      ref.gemm(ta, tb, M, N, K, 0.5, A, lda, B, ldb, 2, C, ldc, batch, sA, sB, sC);
      for (let i = 0; i < C.length; i++) expect(C[i]).toBeCloseTo(expected[i] as number, 5);
    }
  });
});

describe("reference backward kernels agree with finite differences of their forwards", () => {
  it("rmsnorm", () => {
    const rows = 3, dim = 5, eps = 1e-5;
    const x = rand(rows * dim), w = rand(dim), R = rand(rows * dim);
    const out = new Float32Array(rows * dim), rstd = new Float32Array(rows);
    const loss = () => {
      ref.rmsnormForward(rows, dim, eps, x, w, out, rstd);
      return dotF(out, R);
    };
    loss();
    const [dx, dw] = increments([rand(rows * dim), rand(dim)], ([gx, gw]) => ref.rmsnormBackward(rows, dim, R, x, w, rstd, gx!, gw!));
    checkGrad("rmsnorm dx", x, loss, dx!);
    checkGrad("rmsnorm dw", w, loss, dw!);
  });

  it("rope (the inverse rotation is the backward)", () => {
    const tokens = 3, heads = 2, D = 6, half = D / 2, maxPos = 9;
    const cos = new Float32Array(maxPos * half), sin = new Float32Array(maxPos * half);
    for (let p = 0; p < maxPos; p++)
      for (let i = 0; i < half; i++) {
        const ang = p / 10000 ** ((2 * i) / D) + 0.3 * p;
        cos[p * half + i] = Math.cos(ang);
        sin[p * half + i] = Math.sin(ang);
      }
    const positions = Int32Array.from([0, 4, 8]);
    const x = rand(tokens * heads * D), R = rand(tokens * heads * D), out = new Float32Array(x.length);
    const loss = () => {
      ref.rope(tokens, heads, D, x, positions, cos, sin, out, 1, false);
      return dotF(out, R);
    };
    const [dx] = increments([rand(x.length)], ([g]) => ref.rope(tokens, heads, D, R, positions, cos, sin, g!, -1, true));
    checkGrad("rope dx", x, loss, dx!);
  });

  it("swiglu", () => {
    const n = 7;
    const gate = rand(n, 3), up = rand(n), R = rand(n), out = new Float32Array(n);
    const loss = () => {
      ref.swigluForward(n, gate, up, out);
      return dotF(out, R);
    };
    const [dg, du] = increments([rand(n), rand(n)], ([a, b]) => ref.swigluBackward(n, gate, up, R, a!, b!, true));
    checkGrad("swiglu dgate", gate, loss, dg!);
    checkGrad("swiglu dup", up, loss, du!);
    const dgW = rand(n), duW = rand(n);
    ref.swigluBackward(n, gate, up, R, dgW, duW, false);
    // writing gives the increments accumulating adds (up to the rounding of init + x - init)
    for (let i = 0; i < n; i++) {
      expect(dgW[i]).toBeCloseTo(dg![i]!, 6);
      expect(duW[i]).toBeCloseTo(du![i]!, 6);
    }
  });

  it("embedding (scatter-add over repeated ids)", () => {
    const V = 4, dim = 3, ids = Int32Array.from([2, 0, 2, 3, 2]);
    const weight = rand(V * dim), R = rand(ids.length * dim), out = new Float32Array(ids.length * dim);
    const loss = () => {
      ref.embeddingForward(ids.length, dim, weight, ids, out);
      return dotF(out, R);
    };
    const [dw] = increments([rand(V * dim)], ([g]) => ref.embeddingBackward(ids.length, dim, R, ids, g!));
    checkGrad("embedding dweight", weight, loss, dw!);
  });

  it("token log-probabilities, with an ignored row", () => {
    const rows = 4, V = 5, targets = Int32Array.from([1, -1, 4, 0]);
    const logits = rand(rows * V, 3), R = rand(rows), logp = new Float32Array(rows), lse = new Float32Array(rows);
    const loss = () => {
      ref.logprobForward(rows, V, logits, targets, logp, lse);
      return dotF(logp, R);
    };
    loss();
    expect(logp[1]).toBe(0);
    const [dl] = increments([rand(rows * V)], ([g]) => ref.logprobBackward(rows, V, logits, targets, lse, R, g!));
    for (let j = 0; j < V; j++) expect(dl![V + j]).toBe(0);
    checkGrad("logprob dlogits", logits, loss, dl!);
  });

  it("softmax", () => {
    const rows = 3, cols = 4;
    const x = rand(rows * cols, 2), R = rand(rows * cols), y = new Float32Array(rows * cols);
    const loss = () => {
      ref.softmaxForward(rows, cols, x, y);
      return dotF(y, R);
    };
    loss();
    const [dx] = increments([rand(rows * cols)], ([g]) => ref.softmaxBackward(rows, cols, y, R, g!));
    checkGrad("softmax dx", x, loss, dx!);
  });

  it("attention with GQA, a key mask, a fully masked query and kvLen < Tk", () => {
    const B = 2, Tq = 3, Tk = 6, kvLen = 5, H = 4, Hkv = 2, D = 3, scale = 0.7;
    const q = rand(B * Tq * H * D), k = rand(B * Tk * Hkv * D), v = rand(B * Tk * Hkv * D), R = rand(B * Tq * H * D);
    // batch 1 masks keys 0..2, so its first query (position 2) sees nothing
    const mask = Uint8Array.from([1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1]);
    const out = new Float32Array(q.length), lse = new Float32Array(B * H * Tq);
    const loss = () => {
      ref.attentionForward(B, Tq, Tk, kvLen, H, Hkv, D, scale, q, k, v, mask, out, lse);
      return dotF(out, R);
    };
    loss();
    expect(lse[(1 * H + 0) * Tq + 0]).toBe(-Infinity);
    for (let d = 0; d < D; d++) expect(out[(1 * Tq + 0) * H * D + d]).toBe(0);
    const [dq, dk, dv] = increments([rand(q.length), rand(k.length), rand(v.length)], ([a, b, c]) =>
      ref.attentionBackward(B, Tq, Tk, kvLen, H, Hkv, D, scale, q, k, v, mask, out, lse, R, a!, b!, c!),
    );
    checkGrad("attention dq", q, loss, dq!);
    checkGrad("attention dk", k, loss, dk!);
    checkGrad("attention dv", v, loss, dv!);
    // keys past kvLen get no gradient
    for (let b = 0; b < B; b++) for (let i = 0; i < Hkv * D; i++) expect(dk![(b * Tk + kvLen) * Hkv * D + i]).toBe(0);
  });
});

describe("reference forward-only kernels", () => {
  it("entropy is log V for uniform logits and ignores -inf entries", () => {
    const logits = Float32Array.from([0.5, 0.5, 0.5, 0.5, 1, -Infinity, 1, -Infinity]);
    const out = new Float32Array(2);
    ref.entropy(2, 4, logits, out);
    expect(out[0]).toBeCloseTo(Math.log(4), 6);
    expect(out[1]).toBeCloseTo(Math.log(2), 6);
  });

  it("AdamW's first step moves each parameter by about lr against the gradient's sign, plus decay", () => {
    const n = 5, lr = 0.01, wd = 0.1;
    const p = rand(n), g = rand(n), m = new Float32Array(n), v = new Float32Array(n), p0 = p.slice();
    ref.adamw(n, p, g, m, v, lr, 0.9, 0.999, 1e-8, wd, 1 - 0.9, 1 - 0.999);
    for (let i = 0; i < n; i++) {
      const expected = (p0[i] as number) - lr * (wd * (p0[i] as number) + Math.sign(g[i] as number));
      expect(p[i]).toBeCloseTo(expected, 5);
      expect(m[i]).toBeCloseTo(0.1 * (g[i] as number), 6);
    }
  });
});
