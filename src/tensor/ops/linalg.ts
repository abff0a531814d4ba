/** Matrix products on the GEMM kernel: linear layers and (batched) matmul. */
import { check, opResult, outBuffer } from "../create.js";
import { type PerSampleGrads, runtime, TensorError } from "../runtime.js";
import { shapeStr, type Tensor } from "../tensor.js";

/**
 * y = x @ W^T + b (+ residual), the layout of torch.nn.Linear and Hugging
 * Face weights. A residual is added inside the GEMM (beta = 1) and gets the
 * output gradient passed through, so a transformer's skip connection costs
 * no separate add.
 * x: (..., in); W: (out, in); b: (out) or none; residual: like y -> y: (..., out)
 */
export function linear(x: Tensor, W: Tensor, b?: Tensor, residual?: Tensor): Tensor {
  check(W.rank === 2, "linear", () => `weight must be 2-D (out, in), got ${shapeStr(W.shape)}`);
  const [nOut, nIn] = W.shape as [number, number];
  check(x.rank >= 1 && x.dim(-1) === nIn, "linear", () => `input ${shapeStr(x.shape)} does not end in ${nIn} (weight ${shapeStr(W.shape)})`);
  check(!b || (b.rank === 1 && b.dim(0) === nOut), "linear", () => `bias ${shapeStr(b?.shape ?? [])} does not match ${nOut} outputs`);
  const rows = x.size / nIn;
  const shape = [...x.shape.slice(0, -1), nOut];
  check(
    !residual || (residual.rank === shape.length && residual.shape.every((d, i) => d === shape[i])),
    "linear",
    () => `residual ${shapeStr(residual?.shape ?? [])} does not match the output ${shapeStr(shape)}`,
  );
  const k = runtime().kernels;
  const y = outBuffer(rows * nOut);
  if (residual) y.set(residual.data);
  k.gemm(false, true, rows, nOut, nIn, 1, x.data, nIn, W.data, nIn, residual ? 1 : 0, y, nOut, 1, 0, 0, 0);
  if (b) k.addBias(rows, nOut, y, b.data, y);
  const inputs = [x, W];
  if (b) inputs.push(b);
  if (residual) inputs.push(residual);
  return opResult(y, shape, "linear", inputs, (g, sink) => {
    const kk = runtime().kernels;
    const gx = sink.target(x);
    // dx (rows, in) (+)= g (rows, out) @ W (out, in)
    if (gx) kk.gemm(false, false, rows, nIn, nOut, 1, g, nOut, W.data, nIn, gx.overwrite ? 0 : 1, gx.data, nIn, 1, 0, 0, 0);
    const ps = runtime().perSample;
    if (ps?.grads.has(W)) {
      // Per-sample dW_s (out, in) = g_s^T (out, R) @ x_s (R, in): one batched GEMM over samples.
      const R = perSampleRows(ps, rows, "linear");
      kk.gemm(true, false, nOut, nIn, R, 1, g, nOut, x.data, nIn, 1, ps.grads.get(W) as Float32Array, nIn, ps.samples, R * nOut, R * nIn, nOut * nIn);
    } else {
      const gW = sink.target(W);
      // dW (out, in) (+)= g^T (out, rows) @ x (rows, in)
      if (gW) kk.gemm(true, false, nOut, nIn, rows, 1, g, nOut, x.data, nIn, gW.overwrite ? 0 : 1, gW.data, nIn, 1, 0, 0, 0);
    }
    if (b) {
      if (ps?.grads.has(b)) {
        const R = perSampleRows(ps, rows, "linear");
        for (let s = 0; s < ps.samples; s++) kk.sumRows(R, nOut, g.subarray(s * R * nOut, (s + 1) * R * nOut), ps.slice(b, s) as Float32Array);
      } else {
        const gb = sink.grad(b);
        if (gb) kk.sumRows(rows, nOut, g, gb);
      }
    }
    // last: the residual may take g itself
    if (residual) sink.pass(residual, g);
  });
}

/**
 * Matrix product. a: (M, K) or (B, M, K); b: (K, N) or (B, K, N) -> (M, N) or (B, M, N).
 * A 2-D b is shared by every batch entry of a 3-D a.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  check(a.rank === 2 || a.rank === 3, "matmul", () => `a must be 2-D or 3-D, got ${shapeStr(a.shape)}`);
  check(b.rank === 2 || b.rank === 3, "matmul", () => `b must be 2-D or 3-D, got ${shapeStr(b.shape)}`);
  const batch = a.rank === 3 ? a.dim(0) : 1;
  check(b.rank === 2 || (a.rank === 3 && b.dim(0) === batch), "matmul", () => `batch sizes differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`);
  const M = a.dim(-2);
  const K = a.dim(-1);
  const N = b.dim(-1);
  check(b.dim(-2) === K, "matmul", () => `inner dimensions differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`);
  const sB = b.rank === 3 ? K * N : 0;
  const out = outBuffer(batch * M * N);
  runtime().kernels.gemm(false, false, M, N, K, 1, a.data, K, b.data, N, 0, out, N, batch, M * K, sB, M * N);
  const shape = a.rank === 3 ? [batch, M, N] : [M, N];
  return opResult(out, shape, "matmul", [a, b], (g, sink) => {
    const k = runtime().kernels;
    const ga = sink.target(a);
    // da (M, K) (+)= g (M, N) @ b^T (N, K)
    if (ga) k.gemm(false, true, M, K, N, 1, g, N, b.data, N, ga.overwrite ? 0 : 1, ga.data, K, batch, M * N, sB, M * K);
    const gb = sink.target(b);
    if (gb) {
      const beta = gb.overwrite ? 0 : 1;
      if (sB === 0) {
        // db (K, N) (+)= sum_b a_b^T (K, M) @ g_b (M, N): one GEMM over the stacked rows
        k.gemm(true, false, K, N, batch * M, 1, a.data, K, g, N, beta, gb.data, N, 1, 0, 0, 0);
      } else {
        k.gemm(true, false, K, N, M, 1, a.data, K, g, N, beta, gb.data, N, batch, M * K, M * N, K * N);
      }
    }
  });
}

/** Rows per sample of a per-sample pass; the op's rows must split evenly into samples. */
export function perSampleRows(ps: PerSampleGrads, rows: number, op: string): number {
  if (rows !== ps.samples * ps.rowsPerSample) throw new TensorError(`${op}: per-sample gradients expect ${ps.samples} x ${ps.rowsPerSample} rows, got ${rows}`);
  return ps.rowsPerSample;
}
