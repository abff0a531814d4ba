/**
 * The native kernels against their reference twins, for every SIMD level this
 * CPU supports, across odd shapes (1, 3, 17, 129 ...), every transpose
 * combination, batch strides, beta = 0 over NaN, GQA, key masks, fully masked
 * queries, kvLen < Tk and the accumulate semantics of backward kernels.
 * The pool runs 3 threads so threaded paths split unevenly.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../util/rng.js";
import { loadKernels, nativeInfo, type SimdLevel } from "./index.js";
import { referenceKernels as ref } from "./reference/index.js";
import type { Kernels } from "./types.js";

const info = nativeInfo();
const levels: SimdLevel[] = info === null ? [] : (["scalar", "avx2", "avx512"] as const).filter((s) => s === "scalar" || info[s]);
const skipReason = info === null ? " (SKIPPED: native addon not built; run `npm run build:native`)" : "";

const rng = new Rng(11);

function rand(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.float() * 2 - 1) * scale;
  return a;
}

/** |a - e| <= atol + rtol * |e| elementwise; infinities and NaN must match exactly. */
function expectClose(label: string, actual: Float32Array, expected: Float32Array, rtol = 1e-4, atol = 1e-5): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number, e = expected[i] as number;
    if (!Number.isFinite(e)) {
      expect(a, `${label}[${i}]`).toBe(e);
      continue;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) expect.fail(`${label}[${i}]: native ${a}, reference ${e}`);
  }
}

function both<T extends Float32Array[]>(...arrays: T): [T, T] {
  return [arrays.map((a) => a.slice()) as T, arrays.map((a) => a.slice()) as T];
}

function ropeTables(maxPos: number, D: number): { cos: Float32Array; sin: Float32Array } {
  const half = D >> 1;
  const cos = new Float32Array(maxPos * half), sin = new Float32Array(maxPos * half);
  for (let p = 0; p < maxPos; p++)
    for (let i = 0; i < half; i++) {
      const ang = p / 10000 ** ((2 * i) / D);
      cos[p * half + i] = Math.cos(ang);
      sin[p * half + i] = Math.sin(ang);
    }
  return { cos, sin };
}

describe.skipIf(info === null)(`native kernels match the reference${skipReason}`, () => {
  for (const simd of levels) {
    describe(simd, () => {
      const nk = (): Kernels => loadKernels({ backend: "native", simd, threads: 3 });

      it("reports its backend and SIMD level", () => {
        expect(nk().info.backend).toBe("native");
        expect(nk().info.simd).toBe(simd);
        expect(nk().info.threads).toBe(3);
      });

      it("gemm: all transposes, odd shapes, padding, batches, alpha and beta (beta = 0 ignores NaN in C)", () => {
        const shapes: [number, number, number, number][] = [
          [1, 1, 1, 1],
          [3, 17, 1, 1],
          [17, 3, 129, 1],
          [129, 17, 3, 2],
          [1, 129, 17, 3],
          [150, 40, 300, 1], // M > MC, K > KC: several blocks, threaded
          [64, 70, 33, 4], // batched products, threaded over the batch
          [3, 3100, 5, 1], // N > NC
          [600, 20, 10, 1], // tall: several MC blocks per thread
          [40, 300, 150, 1], // wide: threads take column blocks against a shared packed A
          [260, 130, 1010, 1], // the shared packed op(B) outgrows L2: few row blocks, evened out over the threads
          [130, 260, 1010, 1], // the same over column blocks
        ];
        for (const [M, N, K, batch] of shapes)
          for (const ta of [false, true])
            for (const tb of [false, true])
              for (const beta of [0, 1.5]) {
                const lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + 1;
                const sA = (ta ? K : M) * lda + 3, sB = (tb ? N : K) * ldb, sC = M * ldc + 2;
                const A = rand(batch * sA), B = rand(batch * sB);
                const C0 = beta === 0 ? new Float32Array(batch * sC).fill(Number.NaN) : rand(batch * sC);
                const [[cn], [cr]] = both(C0);
                nk().gemm(ta, tb, M, N, K, 0.75, A, lda, B, ldb, beta, cn, ldc, batch, sA, sB, sC);
                ref.gemm(ta, tb, M, N, K, 0.75, A, lda, B, ldb, beta, cr, ldc, batch, sA, sB, sC);
                const label = `gemm ${ta ? "T" : "N"}${tb ? "T" : "N"} ${M}x${N}x${K} b${batch} beta ${beta}`;
                const inside = new Uint8Array(cn.length);
                for (let b = 0; b < batch; b++) for (let i = 0; i < M; i++) inside.fill(1, b * sC + i * ldc, b * sC + i * ldc + N);
                for (let i = 0; i < cn.length; i++) {
                  // outside C proper (row and batch padding) nothing may be written
                  if (!inside[i]) expect(Object.is(cn[i], C0[i]), `${label}: padding [${i}] changed`).toBe(true);
                  else if (Number.isNaN(cn[i])) expect.fail(`${label}: NaN at [${i}]`);
                }
                expectClose(label, cn, cr, 1e-4, 2e-5 * Math.sqrt(K));
              }
      });

      it("gemm with a long K: the shared packed operand is split into slabs", () => {
        for (const [M, N, K, ta, tb] of [
          [18, 17, 70000, true, false],
          [25, 26, 70000, false, true],
        ] as const) {
          const A = rand(M * K), B = rand(K * N);
          const [[cn], [cr]] = both(rand(M * N));
          nk().gemm(ta, tb, M, N, K, 0.5, A, ta ? M : K, B, tb ? K : N, 1.5, cn, N, 1, 0, 0, 0);
          ref.gemm(ta, tb, M, N, K, 0.5, A, ta ? M : K, B, tb ? K : N, 1.5, cr, N, 1, 0, 0, 0);
          expectClose(`gemm ${ta ? "T" : "N"}${tb ? "T" : "N"} ${M}x${N}x${K}`, cn, cr, 1e-4, 2e-5 * Math.sqrt(K));
        }
      });

      it("gemm with a long K and a small C (alpha 1): threads take ranges of K, C adds them in order", () => {
        for (const [M, N, K, ta, tb] of [
          [37, 45, 4000, true, false], // edge tiles both ways, K not a multiple of KC
          [130, 70, 2100, true, true],
          [25, 300, 6000, false, false],
          [12, 32, 12000, false, true], // too few columns to share out: only ranges of K split it
        ] as const)
          for (const beta of [0, 1, 0.5]) {
            const lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
            const A = rand((ta ? K : M) * lda), B = rand((tb ? N : K) * ldb);
            const C0 = beta === 0 ? new Float32Array(M * ldc).fill(Number.NaN) : rand(M * ldc);
            const [[cn], [cr]] = both(C0);
            nk().gemm(ta, tb, M, N, K, 1, A, lda, B, ldb, beta, cn, ldc, 1, 0, 0, 0);
            ref.gemm(ta, tb, M, N, K, 1, A, lda, B, ldb, beta, cr, ldc, 1, 0, 0, 0);
            const label = `gemm ${ta ? "T" : "N"}${tb ? "T" : "N"} ${M}x${N}x${K} beta ${beta}`;
            for (let i = 0; i < M; i++)
              for (let j = N; j < ldc; j++) expect(Object.is(cn[i * ldc + j], C0[i * ldc + j]), `${label}: padding (${i}, ${j}) changed`).toBe(true);
            expectClose(label, cn, cr, 1e-4, 2e-5 * Math.sqrt(K));
          }
      });

      it("gemm with K = 0 or alpha = 0 scales C by beta without reading A and B", () => {
        const C = rand(6), expected = C.map((c) => 2 * c);
        nk().gemm(false, false, 2, 3, 0, 1, new Float32Array(0), 0, new Float32Array(0), 3, 2, C, 3, 1, 0, 0, 0);
        expectClose("K = 0", C, expected);
        const D = new Float32Array(6).fill(Number.NaN);
        nk().gemm(false, false, 2, 3, 4, 0, new Float32Array(0), 4, new Float32Array(0), 3, 0, D, 3, 1, 0, 0, 0);
        expectClose("alpha = 0, beta = 0", D, new Float32Array(6));
      });

      it("BLAS-1: axpy, scale, addBias, sumRows, sumSquares", () => {
        for (const n of [1, 3, 17, 129, 70001]) {
          const x = rand(n);
          const [[yn], [yr]] = both(rand(n));
          nk().axpy(n, -0.3, x, yn);
          ref.axpy(n, -0.3, x, yr);
          expectClose(`axpy ${n}`, yn, yr);
          nk().scale(n, 1.7, yn);
          ref.scale(n, 1.7, yr);
          expectClose(`scale ${n}`, yn, yr);
          const ss = ref.sumSquares(n, x);
          expect(Math.abs(nk().sumSquares(n, x) - ss) / ss, `sumSquares ${n}`).toBeLessThan(1e-5);
        }
        for (const [rows, cols] of [
          [1, 1],
          [3, 17],
          [129, 3],
          [1000, 129],
        ] as const) {
          const x = rand(rows * cols), bias = rand(cols);
          const on = new Float32Array(rows * cols), or = new Float32Array(rows * cols);
          nk().addBias(rows, cols, x, bias, on);
          ref.addBias(rows, cols, x, bias, or);
          expectClose(`addBias ${rows}x${cols}`, on, or);
          const [[sn], [sr]] = both(rand(cols));
          nk().sumRows(rows, cols, x, sn);
          ref.sumRows(rows, cols, x, sr);
          expectClose(`sumRows ${rows}x${cols}`, sn, sr, 1e-4, 1e-4);
        }
        // views start at their own element 0 and stop at their own length
        const big = rand(40), ys = new Float32Array(40);
        nk().axpy(5, 2, big.subarray(30), ys.subarray(10, 15));
        expectClose("axpy on views", ys.subarray(9, 16), Float32Array.from([0, ...Array.from(big.subarray(30, 35), (v) => 2 * v), 0]));
        expect(() => nk().axpy(6, 1, big.subarray(35), ys)).toThrow(/axpy: x has 5 elements but the sizes given need 6/);
        const x = rand(37), bias = rand(37);
        const alias = x.slice();
        nk().addBias(1, 37, alias, bias, alias);
        expectClose("addBias in place", alias, x.map((v, i) => v + (bias[i] as number)));
      });

      it("copyRows into a strided layout, leaving the gaps alone, and bounds-checked", () => {
        for (const [rows, cols, srcStride, dstStride] of [
          [1, 1, 1, 1],
          [128, 128, 128, 8192],
          [7, 33, 40, 100],
          [3, 0, 5, 5],
        ] as const) {
          const src = rand(Math.max(1, rows * srcStride));
          const [[dn], [dr]] = both(rand(rows * dstStride));
          nk().copyRows(rows, cols, src, srcStride, dn, dstStride);
          ref.copyRows(rows, cols, src, srcStride, dr, dstStride);
          expect(Array.from(dn), `copyRows ${rows}x${cols}`).toEqual(Array.from(dr));
        }
        expect(() => nk().copyRows(4, 10, rand(40), 10, new Float32Array(39), 10)).toThrow(/copyRows: dst has 39 elements/);
        expect(() => nk().copyRows(2, 10, rand(40), 8, new Float32Array(40), 10)).toThrow(/copyRows: strides 8 and 10 must be at least cols = 10/);
      });

      it("rmsnorm forward and backward (accumulating)", () => {
        for (const [rows, dim] of [
          [1, 1],
          [3, 17],
          [129, 64],
          [257, 129],
        ] as const) {
          const x = rand(rows * dim, 2), w = rand(dim), dy = rand(rows * dim);
          const on = new Float32Array(rows * dim), rn = new Float32Array(rows);
          const or = new Float32Array(rows * dim), rr = new Float32Array(rows);
          nk().rmsnormForward(rows, dim, 1e-5, x, w, on, rn);
          ref.rmsnormForward(rows, dim, 1e-5, x, w, or, rr);
          expectClose(`rmsnorm out ${rows}x${dim}`, on, or);
          expectClose(`rmsnorm rstd ${rows}x${dim}`, rn, rr);
          const [[dxn, dwn], [dxr, dwr]] = both(rand(rows * dim), rand(dim));
          nk().rmsnormBackward(rows, dim, dy, x, w, rr, dxn, dwn);
          ref.rmsnormBackward(rows, dim, dy, x, w, rr, dxr, dwr);
          expectClose(`rmsnorm dx ${rows}x${dim}`, dxn, dxr, 1e-4, 1e-5);
          expectClose(`rmsnorm dw ${rows}x${dim}`, dwn, dwr, 1e-4, 1e-4);
        }
      });

      it("rope forward, inverse, overwrite and accumulate", () => {
        for (const [tokens, heads, D] of [
          [1, 1, 2],
          [3, 2, 6],
          [17, 3, 64],
          [129, 4, 130],
        ] as const) {
          const { cos, sin } = ropeTables(300, D);
          const positions = Int32Array.from({ length: tokens }, () => rng.int(300));
          const x = rand(tokens * heads * D);
          for (const sign of [1, -1] as const)
            for (const accumulate of [false, true]) {
              const [[on], [or]] = both(rand(x.length));
              nk().rope(tokens, heads, D, x, positions, cos, sin, on, sign, accumulate);
              ref.rope(tokens, heads, D, x, positions, cos, sin, or, sign, accumulate);
              expectClose(`rope ${tokens}x${heads}x${D} sign ${sign} acc ${accumulate}`, on, or);
            }
        }
      });

      it("swiglu forward and backward, including saturated gates", () => {
        for (const n of [1, 3, 17, 129, 40001]) {
          const gate = rand(n, 8), up = rand(n), dout = rand(n);
          if (n > 3) {
            gate[0] = 95;
            gate[1] = -95;
            gate[2] = -Infinity;
          }
          const on = new Float32Array(n), or = new Float32Array(n);
          nk().swigluForward(n, gate, up, on);
          ref.swigluForward(n, gate, up, or);
          if (n > 3) or[2] = on[2] = 0; // -inf * sigmoid(-inf) is NaN in both; not a case models produce
          expectClose(`swiglu out ${n}`, on, or, 1e-5, 1e-6);
          if (n > 3) gate[2] = -50;
          for (const accumulate of [true, false]) {
            const [[gn, un], [gr, ur]] = both(rand(n), rand(n));
            nk().swigluBackward(n, gate, up, dout, gn, un, accumulate);
            ref.swigluBackward(n, gate, up, dout, gr, ur, accumulate);
            expectClose(`swiglu dgate ${n} acc ${accumulate}`, gn, gr, 1e-5, 1e-6);
            expectClose(`swiglu dup ${n} acc ${accumulate}`, un, ur, 1e-5, 1e-6);
          }
        }
      });

      it("embedding lookup and scatter-add over repeated ids", () => {
        for (const [n, V, dim] of [
          [1, 1, 1],
          [17, 3, 5],
          [300, 64, 129],
        ] as const) {
          const weight = rand(V * dim), ids = Int32Array.from({ length: n }, () => rng.int(V)), dout = rand(n * dim);
          const on = new Float32Array(n * dim), or = new Float32Array(n * dim);
          nk().embeddingForward(n, dim, weight, ids, on);
          ref.embeddingForward(n, dim, weight, ids, or);
          expectClose(`embedding ${n}`, on, or, 0, 0);
          const [[dn], [dr]] = both(rand(V * dim));
          nk().embeddingBackward(n, dim, dout, ids, dn);
          ref.embeddingBackward(n, dim, dout, ids, dr);
          expectClose(`embedding grad ${n}`, dn, dr);
        }
      });

      it("logprob, entropy and softmax, with ignored targets, -inf logits and all -inf rows", () => {
        for (const [rows, V] of [
          [1, 1],
          [3, 17],
          [17, 3],
          [129, 513],
        ] as const) {
          const logits = rand(rows * V, 6);
          const targets = Int32Array.from({ length: rows }, (_, r) => (r % 5 === 1 ? -1 : rng.int(V)));
          if (V > 3 && rows > 2) {
            logits[V + 2] = -Infinity; // one excluded token
            for (let j = 0; j < V; j++) logits[2 * V + j] = -Infinity; // a row with no finite logit
            targets[2] = -1;
          }
          const [[lpn, lsn], [lpr, lsr]] = both(new Float32Array(rows), new Float32Array(rows));
          nk().logprobForward(rows, V, logits, targets, lpn, lsn);
          ref.logprobForward(rows, V, logits, targets, lpr, lsr);
          expectClose(`logp ${rows}x${V}`, lpn, lpr, 1e-5, 1e-5);
          expectClose(`lse ${rows}x${V}`, lsn, lsr, 1e-5, 1e-5);
          const dlogp = rand(rows);
          const [[dn], [dr]] = both(rand(rows * V));
          nk().logprobBackward(rows, V, logits, targets, lsr, dlogp, dn);
          ref.logprobBackward(rows, V, logits, targets, lsr, dlogp, dr);
          expectClose(`logprob grad ${rows}x${V}`, dn, dr, 1e-5, 1e-5);
          const en = new Float32Array(rows), er = new Float32Array(rows);
          nk().entropy(rows, V, logits, en);
          ref.entropy(rows, V, logits, er);
          expectClose(`entropy ${rows}x${V}`, en, er, 1e-4, 1e-5);
          const yn = new Float32Array(rows * V), yr = new Float32Array(rows * V);
          nk().softmaxForward(rows, V, logits, yn);
          ref.softmaxForward(rows, V, logits, yr);
          expectClose(`softmax ${rows}x${V}`, yn, yr, 1e-5, 1e-7);
          const inPlace = logits.slice();
          nk().softmaxForward(rows, V, inPlace, inPlace);
          expectClose(`softmax in place ${rows}x${V}`, inPlace, yr, 1e-5, 1e-7);
          const dy = rand(rows * V);
          const [[sn], [sr]] = both(rand(rows * V));
          nk().softmaxBackward(rows, V, yr, dy, sn);
          ref.softmaxBackward(rows, V, yr, dy, sr);
          expectClose(`softmax grad ${rows}x${V}`, sn, sr, 1e-5, 1e-6);
        }
      });

      it("drawRows draws the reference's ids with the same doubles (exp as Math.exp), on any thread count", () => {
        for (const [B, V, temperature] of [
          [1, 1, 1],
          [5, 17, 0.3],
          [130, 259, 1],
          [9, 5000, 1.7],
        ] as const) {
          const logits = rand(B * V, 12);
          if (B > 4) {
            for (let j = 0; j < V; j++) logits[2 * V + j] = -Infinity; // no finite logit: argmax 0, NaN
            logits[3 * V + (V >> 1)] = -Infinity;
            logits[4 * V + 1] = 400; // every other candidate falls outside the window
            // row 5: exponents at the edges of exp's paths (|x| < 2^-28, <= ln2/2, < 1.5 ln2, 2^k subnormal, underflow)
            const edges = [3e-9, 0.3465, 0.3467, 1.0396, 1.0398, 708.3, 708.5, 745.2, 800];
            edges.forEach((e, i) => (logits[5 * V + i] = 13 - e * temperature));
            logits[5 * V + edges.length] = 13;
          }
          const rows = Int32Array.from({ length: B }, (_, i) => B - 1 - i);
          const uniforms = Float64Array.from({ length: B }, () => rng.float());
          if (B > 4) uniforms[0] = 0;
          const out = (k: Pick<Kernels, "drawRows">) => {
            const ids = new Int32Array(B), shifted = new Float64Array(B), expSum = new Float64Array(B);
            k.drawRows(B, V, logits, rows, temperature, uniforms, ids, shifted, expSum);
            return { ids: [...ids], shifted: [...shifted], expSum: [...expSum] };
          };
          const want = out(ref);
          expect(out(nk()), `${B}x${V} at ${temperature}`).toEqual(want);
          expect(out(loadKernels({ backend: "native", simd, threads: 1 }))).toEqual(want);
        }
      });

      it("attention forward and backward: GQA, masks, fully masked queries, kvLen < Tk, decode and prefill paths", () => {
        type Case = { B: number; Tq: number; Tk: number; kvLen: number; H: number; Hkv: number; D: number; mask: boolean };
        const cases: Case[] = [
          { B: 1, Tq: 1, Tk: 1, kvLen: 1, H: 1, Hkv: 1, D: 1, mask: false },
          { B: 2, Tq: 17, Tk: 17, kvLen: 17, H: 4, Hkv: 2, D: 16, mask: true }, // prefill path, GQA
          { B: 3, Tq: 1, Tk: 20, kvLen: 13, H: 4, Hkv: 1, D: 24, mask: true }, // decode path, multi-query
          { B: 2, Tq: 3, Tk: 16, kvLen: 12, H: 2, Hkv: 2, D: 3, mask: true }, // row path with Tq > 1
          { B: 3, Tq: 2, Tk: 48, kvLen: 41, H: 4, Hkv: 2, D: 40, mask: true }, // row path: key blocks of W and a tail, D not a multiple of W
          { B: 2, Tq: 1, Tk: 20, kvLen: 19, H: 2, Hkv: 1, D: 300, mask: false }, // row path, D past the register accumulators
          { B: 2, Tq: 1, Tk: 40, kvLen: 37, H: 4, Hkv: 2, D: 32, mask: true }, // row path, outputs in registers, heads in fours
          { B: 2, Tq: 2, Tk: 24, kvLen: 20, H: 6, Hkv: 3, D: 64, mask: true }, // ... heads in pairs
          { B: 1, Tq: 1, Tk: 8, kvLen: 8, H: 3, Hkv: 1, D: 16, mask: false }, // ... one head at a time
          { B: 2, Tq: 5, Tk: 16, kvLen: 12, H: 6, Hkv: 3, D: 17, mask: true }, // chunked prefill into a cache
          { B: 1, Tq: 4, Tk: 4, kvLen: 2, H: 2, Hkv: 1, D: 8, mask: false }, // queries before the first key
          { B: 2, Tq: 129, Tk: 129, kvLen: 129, H: 2, Hkv: 2, D: 64, mask: true }, // several query blocks, threaded
        ];
        for (const c of cases) {
          const label = JSON.stringify(c);
          const scale = 1 / Math.sqrt(c.D);
          const nq = c.B * c.Tq * c.H * c.D, nkv = c.B * c.Tk * c.Hkv * c.D;
          const q = rand(nq, 2), k = rand(nkv, 2), v = rand(nkv), dout = rand(nq);
          let mask: Uint8Array | null = null;
          if (c.mask) {
            mask = Uint8Array.from({ length: c.B * c.Tk }, () => (rng.float() < 0.25 ? 0 : 1));
            for (let s = 0; s < Math.min(c.kvLen - c.Tq + 1, c.Tk); s++) mask[s] = 0; // batch 0's first query sees nothing
          }
          const on = new Float32Array(nq), ln = new Float32Array(c.B * c.H * c.Tq);
          const or = new Float32Array(nq), lr = new Float32Array(c.B * c.H * c.Tq);
          nk().attentionForward(c.B, c.Tq, c.Tk, c.kvLen, c.H, c.Hkv, c.D, scale, q, k, v, mask, on, ln);
          ref.attentionForward(c.B, c.Tq, c.Tk, c.kvLen, c.H, c.Hkv, c.D, scale, q, k, v, mask, or, lr);
          expectClose(`attention out ${label}`, on, or, 1e-4, 1e-5);
          expectClose(`attention lse ${label}`, ln, lr, 1e-5, 1e-5);
          if (c.mask) expect(lr[0], `${label}: a fully masked query`).toBe(-Infinity);
          const noLse = new Float32Array(nq);
          nk().attentionForward(c.B, c.Tq, c.Tk, c.kvLen, c.H, c.Hkv, c.D, scale, q, k, v, mask, noLse, null);
          expectClose(`attention out without lse ${label}`, noLse, or, 1e-4, 1e-5);
          const [[dqn, dkn, dvn], [dqr, dkr, dvr]] = both(rand(nq), rand(nkv), rand(nkv));
          nk().attentionBackward(c.B, c.Tq, c.Tk, c.kvLen, c.H, c.Hkv, c.D, scale, q, k, v, mask, or, lr, dout, dqn, dkn, dvn);
          ref.attentionBackward(c.B, c.Tq, c.Tk, c.kvLen, c.H, c.Hkv, c.D, scale, q, k, v, mask, or, lr, dout, dqr, dkr, dvr);
          expectClose(`attention dq ${label}`, dqn, dqr, 2e-4, 2e-5);
          expectClose(`attention dk ${label}`, dkn, dkr, 2e-4, 2e-5);
          expectClose(`attention dv ${label}`, dvn, dvr, 2e-4, 2e-5);
        }
      });

      it("attentionDecode: a shared prompt then the row's own keys, bit for bit attentionForward on the copied-out rows", () => {
        type Case = { B: number; G: number; P: number; Tk: number; kvLen: number; H: number; Hkv: number; D: number };
        const cases: Case[] = [
          { B: 1, G: 1, P: 1, Tk: 1, kvLen: 0, H: 1, Hkv: 1, D: 1 }, // the prompt alone
          { B: 6, G: 2, P: 5, Tk: 30, kvLen: 23, H: 4, Hkv: 2, D: 32 }, // key blocks straddle the prompt's end, outputs in registers
          { B: 5, G: 3, P: 17, Tk: 9, kvLen: 9, H: 4, Hkv: 1, D: 40 }, // D past a multiple of W
          { B: 4, G: 4, P: 3, Tk: 40, kvLen: 33, H: 2, Hkv: 2, D: 300 }, // outputs past the register accumulators
        ];
        for (const c of cases) {
          const label = JSON.stringify(c);
          const kvDim = c.Hkv * c.D, scale = 1 / Math.sqrt(c.D);
          const q = rand(c.B * c.H * c.D, 2), pk = rand(c.G * c.P * kvDim, 2), pv = rand(c.G * c.P * kvDim), k = rand(c.B * c.Tk * kvDim, 2), v = rand(c.B * c.Tk * kvDim);
          const pmask = Uint8Array.from({ length: c.G * c.P }, (_, i) => (i % c.P === c.P - 1 || rng.float() >= 0.25 ? 1 : 0));
          const kmask = Uint8Array.from({ length: c.B * c.Tk }, () => (rng.float() < 0.25 ? 0 : 1));
          const group = Int32Array.from({ length: c.B }, (_, b) => (b * 7) % c.G);
          const out = new Float32Array(c.B * c.H * c.D), want = new Float32Array(out.length), ours = new Float32Array(out.length);
          nk().attentionDecode(c.B, c.H, c.Hkv, c.D, scale, c.P, c.G, c.Tk, c.kvLen, q, pk, pv, pmask, group, k, v, kmask, out);
          ref.attentionDecode(c.B, c.H, c.Hkv, c.D, scale, c.P, c.G, c.Tk, c.kvLen, q, pk, pv, pmask, group, k, v, kmask, want);
          expectClose(`attentionDecode vs reference ${label}`, out, want, 1e-4, 1e-5);
          // the same keys copied out: prompt rows, then own rows, per batch row
          const T = c.P + c.Tk;
          const fk = new Float32Array(c.B * T * kvDim), fv = new Float32Array(fk.length), fm = new Uint8Array(c.B * T);
          for (let b = 0; b < c.B; b++) {
            const g = group[b] as number;
            fk.set(pk.subarray(g * c.P * kvDim, (g + 1) * c.P * kvDim), b * T * kvDim);
            fv.set(pv.subarray(g * c.P * kvDim, (g + 1) * c.P * kvDim), b * T * kvDim);
            fk.set(k.subarray(b * c.Tk * kvDim, (b + 1) * c.Tk * kvDim), (b * T + c.P) * kvDim);
            fv.set(v.subarray(b * c.Tk * kvDim, (b + 1) * c.Tk * kvDim), (b * T + c.P) * kvDim);
            fm.set(pmask.subarray(g * c.P, (g + 1) * c.P), b * T);
            fm.set(kmask.subarray(b * c.Tk, (b + 1) * c.Tk), b * T + c.P);
          }
          nk().attentionForward(c.B, 1, T, c.P + c.kvLen, c.H, c.Hkv, c.D, scale, q, fk, fv, fm, ours, null);
          expect([...out], label).toEqual([...ours]);
          const bad = Int32Array.from(group, () => c.G);
          expect(() => nk().attentionDecode(c.B, c.H, c.Hkv, c.D, scale, c.P, c.G, c.Tk, c.kvLen, q, pk, pv, pmask, bad, k, v, kmask, out)).toThrow(/group\[0\] = \d+ is outside/);
        }
      });

      it("attentionPrefixed forward and backward: shared prompts read by uneven groups, padding on both sides, the same bits on any thread count", () => {
        type Case = { G: number; P: number; B: number; S: number; H: number; Hkv: number; D: number; mask: boolean };
        const cases: Case[] = [
          { G: 1, P: 0, B: 2, S: 5, H: 2, Hkv: 1, D: 8, mask: false }, // no prompt rows
          { G: 1, P: 3, B: 1, S: 1, H: 1, Hkv: 1, D: 3, mask: false }, // one reader, one own row
          { G: 2, P: 5, B: 6, S: 11, H: 4, Hkv: 2, D: 16, mask: true }, // GQA
          { G: 3, P: 17, B: 7, S: 20, H: 4, Hkv: 4, D: 32, mask: true }, // readers 3, 2, 2; strips cross the prompt's end
          { G: 2, P: 40, B: 3, S: 70, H: 2, Hkv: 1, D: 40, mask: true }, // several query blocks
        ];
        for (const c of cases) {
          const label = JSON.stringify(c);
          const scale = 1 / Math.sqrt(c.D);
          const R = c.G * c.P + c.B * c.S, T = c.P + c.S;
          const nq = R * c.H * c.D, nkv = R * c.Hkv * c.D;
          const q = rand(nq, 2), k = rand(nkv, 2), v = rand(nkv), dout = rand(nq);
          const group = Int32Array.from({ length: c.B }, (_, b) => b % c.G);
          let mask: Uint8Array | null = null;
          if (c.mask) {
            // prompts left-padded (prompt 0 by one row, so its first query sees no key), continuations right-padded
            mask = new Uint8Array(R).fill(1);
            for (let g = 0; g < c.G; g++) for (let t = 0; t < g + 1 && t < c.P; t++) mask[g * c.P + t] = 0;
            for (let b = 0; b < c.B; b++) for (let t = c.S - (b % 3); t < c.S; t++) mask[c.G * c.P + b * c.S + t] = 0;
          }
          const on = new Float32Array(nq), ln = new Float32Array(c.B * c.H * T);
          const or = new Float32Array(nq), lr = new Float32Array(c.B * c.H * T);
          nk().attentionPrefixedForward(c.G, c.P, c.B, c.S, c.H, c.Hkv, c.D, scale, group, q, k, v, mask, on, ln);
          ref.attentionPrefixedForward(c.G, c.P, c.B, c.S, c.H, c.Hkv, c.D, scale, group, q, k, v, mask, or, lr);
          expectClose(`attentionPrefixed out ${label}`, on, or, 1e-4, 1e-5);
          expectClose(`attentionPrefixed lse ${label}`, ln, lr, 1e-5, 1e-5);
          if (c.mask) expect(lr[0], `${label}: a fully masked query`).toBe(-Infinity);
          const [[dqn, dkn, dvn], [dqr, dkr, dvr]] = both(rand(nq), rand(nkv), rand(nkv));
          const [[dq1, dk1, dv1]] = both(dqn, dkn, dvn);
          nk().attentionPrefixedBackward(c.G, c.P, c.B, c.S, c.H, c.Hkv, c.D, scale, group, q, k, v, mask, or, lr, dout, dqn, dkn, dvn);
          ref.attentionPrefixedBackward(c.G, c.P, c.B, c.S, c.H, c.Hkv, c.D, scale, group, q, k, v, mask, or, lr, dout, dqr, dkr, dvr);
          expectClose(`attentionPrefixed dq ${label}`, dqn, dqr, 2e-4, 2e-5);
          expectClose(`attentionPrefixed dk ${label}`, dkn, dkr, 2e-4, 2e-5);
          expectClose(`attentionPrefixed dv ${label}`, dvn, dvr, 2e-4, 2e-5);
          // one thread: each prompt's readers add into its rows in the same order
          const one = loadKernels({ backend: "native", simd, threads: 1 });
          const on1 = new Float32Array(nq), ln1 = new Float32Array(ln.length);
          one.attentionPrefixedForward(c.G, c.P, c.B, c.S, c.H, c.Hkv, c.D, scale, group, q, k, v, mask, on1, ln1);
          one.attentionPrefixedBackward(c.G, c.P, c.B, c.S, c.H, c.Hkv, c.D, scale, group, q, k, v, mask, or, lr, dout, dq1, dk1, dv1);
          loadKernels({ backend: "native", simd, threads: 3 });
          expect([...on1], `${label}: out on 1 thread`).toEqual([...on]);
          expect([...dk1, ...dv1, ...dq1], `${label}: gradients on 1 thread`).toEqual([...dkn, ...dvn, ...dqn]);
        }
        const unread = Int32Array.from([0, 0]);
        expect(() => nk().attentionPrefixedForward(2, 1, 2, 1, 1, 1, 4, 0.5, unread, rand(16), rand(16), rand(16), null, new Float32Array(16), null)).toThrow(/prompt 1 has no continuation/);
      });

      it("adamw", () => {
        for (const n of [1, 3, 17, 70001]) {
          const grad = rand(n);
          const [[pn, mn, vn], [pr, mr, vr]] = both(rand(n), rand(n, 0.1), rand(n, 0.01).map(Math.abs));
          nk().adamw(n, pn, grad, mn, vn, 1e-3, 0.9, 0.95, 1e-8, 0.1, 1 - 0.9 ** 3, 1 - 0.95 ** 3);
          ref.adamw(n, pr, grad, mr, vr, 1e-3, 0.9, 0.95, 1e-8, 0.1, 1 - 0.9 ** 3, 1 - 0.95 ** 3);
          expectClose(`adamw param ${n}`, pn, pr, 1e-5, 1e-6);
          expectClose(`adamw m ${n}`, mn, mr, 1e-5, 1e-7);
          expectClose(`adamw v ${n}`, vn, vr, 1e-5, 1e-8);
        }
      });

      it("reductions do not depend on the thread count", () => {
        const x = rand(300_000), rows = 1000, cols = 300;
        const k1 = loadKernels({ backend: "native", simd, threads: 1 });
        const s1 = k1.sumSquares(x.length, x);
        const r1 = new Float32Array(cols);
        k1.sumRows(rows, cols, x, r1);
        const k3 = loadKernels({ backend: "native", simd, threads: 3 });
        expect(k3.sumSquares(x.length, x)).toBe(s1);
        const r3 = new Float32Array(cols);
        k3.sumRows(rows, cols, x, r3);
        expect(Array.from(r3)).toEqual(Array.from(r1));
      });

      it("gemm gives the same bits on any thread count: small, threaded, and long-K weight-gradient shapes", () => {
        // loading sets the thread count of the one shared pool, so each count loads just before its product
        const on = (threads: number): Kernels => loadKernels({ backend: "native", simd, threads });
        for (const [M, N, K, ta, tb, alpha] of [
          [128, 128, 128, false, true, 1], // decode-sized: below the threading threshold
          [160, 344, 128, false, true, 1], // forward: blocks of rows against a shared packed op(B)
          [160, 128, 344, false, false, 1], // input gradient
          [40, 700, 3000, true, false, 1], // blocks of columns against a shared packed op(A)
          [344, 128, 4096, true, false, 1], // weight gradient: ranges of K summed in order
          [37, 45, 4000, true, false, 1], // the same with edge tiles
          [260, 130, 1010, true, false, 0.75], // alpha != 1: blocks of rows streaming a shared operand beyond L2
        ] as const)
          for (const beta of [0, 1]) {
            const A = rand(M * K), B = rand(K * N), C0 = rand(M * N);
            const outs = [1, 2, 3].map((threads) => {
              const C = C0.slice();
              on(threads).gemm(ta, tb, M, N, K, alpha, A, ta ? M : K, B, tb ? K : N, beta, C, N, 1, 0, 0, 0);
              return Array.from(C);
            });
            expect(outs[1], `${M}x${N}x${K} beta ${beta} on 2 threads`).toEqual(outs[0]);
            expect(outs[2], `${M}x${N}x${K} beta ${beta} on 3 threads`).toEqual(outs[0]);
          }
      });
    });
  }

  describe("bad arguments throw instead of touching memory", () => {
    const k = (): Kernels => loadKernels({ backend: "native", threads: 3 });
    it("names the op, the array and the sizes", () => {
      expect(() => k().gemm(false, false, 4, 4, 4, 1, new Float32Array(15), 4, new Float32Array(16), 4, 0, new Float32Array(16), 4, 1, 0, 0, 0)).toThrow(
        /gemm: A has 15 elements but the sizes given need 16/,
      );
      expect(() => k().gemm(false, true, 2, 3, 4, 1, new Float32Array(8), 3, new Float32Array(12), 4, 0, new Float32Array(6), 3, 1, 0, 0, 0)).toThrow(
        /gemm: lda = 3 is less than the 4 columns of A/,
      );
      expect(() => k().embeddingForward(2, 3, new Float32Array(6), Int32Array.from([0, 2]), new Float32Array(6))).toThrow(
        /embeddingForward: ids\[1\] = 2 is outside \[0, 2\)/,
      );
      expect(() => k().logprobForward(1, 4, new Float32Array(4), Int32Array.from([4]), new Float32Array(1), new Float32Array(1))).toThrow(
        /logprobForward: targets\[0\] = 4 is outside \[0, 4\)/,
      );
      const { cos, sin } = ropeTables(4, 2);
      expect(() => k().rope(1, 1, 2, new Float32Array(2), Int32Array.from([4]), cos, sin, new Float32Array(2), 1, false)).toThrow(
        /rope: positions\[0\] = 4 is outside the 4 positions/,
      );
      expect(() =>
        k().attentionForward(1, 1, 2, 3, 1, 1, 1, 1, new Float32Array(1), new Float32Array(2), new Float32Array(2), null, new Float32Array(1), null),
      ).toThrow(/attentionForward: kvLen = 3 exceeds the KV capacity Tk = 2/);
      const draw = (rows: Int32Array, temperature: number) => () =>
        k().drawRows(1, 4, new Float32Array(8), rows, temperature, new Float64Array(1), new Int32Array(1), new Float64Array(1), new Float64Array(1));
      expect(draw(Int32Array.from([2]), 1)).toThrow(/drawRows: rows\[0\] = 2 is outside the 2 rows of logits/);
      expect(draw(Int32Array.from([0]), 0)).toThrow(/drawRows: temperature must be a finite number > 0, got 0/);
      expect(() => k().axpy(3, 1, new Float64Array(3) as unknown as Float32Array, new Float32Array(3))).toThrow(TypeError);
      expect(() => k().scale(1.5, 1, new Float32Array(3))).toThrow(/scale: n must be a non-negative integer/);
    });
  });
});
