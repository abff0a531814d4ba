/**
 * Reference GEMM and BLAS-1 kernels in plain TypeScript. Written for clarity
 * first; the loop order (i, p, j) streams rows of B and C so V8 keeps it at
 * about a GFLOP/s, which is enough for a fallback.
 */

// C_b = alpha * op(A_b) @ op(B_b) + beta * C_b; op(A_b): (M, K), op(B_b): (K, N), C_b: (M, N)
export function gemm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  beta: number,
  C: Float32Array,
  ldc: number,
  batch: number,
  strideA: number,
  strideB: number,
  strideC: number,
): void {
  const row = new Float64Array(N);
  for (let b = 0; b < batch; b++) {
    const a0 = b * strideA;
    const b0 = b * strideB;
    const c0 = b * strideC;
    for (let i = 0; i < M; i++) {
      row.fill(0);
      for (let p = 0; p < K; p++) {
        const aip = transA ? (A[a0 + p * lda + i] as number) : (A[a0 + i * lda + p] as number);
        if (aip === 0) continue;
        if (transB) {
          for (let j = 0; j < N; j++) row[j] = (row[j] as number) + aip * (B[b0 + j * ldb + p] as number);
        } else {
          const bp = b0 + p * ldb;
          for (let j = 0; j < N; j++) row[j] = (row[j] as number) + aip * (B[bp + j] as number);
        }
      }
      const ci = c0 + i * ldc;
      if (beta === 0) {
        for (let j = 0; j < N; j++) C[ci + j] = alpha * (row[j] as number);
      } else {
        for (let j = 0; j < N; j++) C[ci + j] = alpha * (row[j] as number) + beta * (C[ci + j] as number);
      }
    }
  }
}

// y += alpha * x; x, y: (n)
export function axpy(n: number, alpha: number, x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < n; i++) y[i] = (y[i] as number) + alpha * (x[i] as number);
}

// x *= alpha; x: (n)
export function scale(n: number, alpha: number, x: Float32Array): void {
  for (let i = 0; i < n; i++) x[i] = (x[i] as number) * alpha;
}

// out = x + bias (broadcast over rows); x, out: (rows, cols); bias: (cols)
export function addBias(rows: number, cols: number, x: Float32Array, bias: Float32Array, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) out[o + c] = (x[o + c] as number) + (bias[c] as number);
  }
}

// dst rows r * dstStride <- src rows r * srcStride, cols each
export function copyRows(rows: number, cols: number, src: Float32Array, srcStride: number, dst: Float32Array, dstStride: number): void {
  for (let r = 0; r < rows; r++) {
    const s = r * srcStride;
    const d = r * dstStride;
    for (let c = 0; c < cols; c++) dst[d + c] = src[s + c] as number;
  }
}

// out += column sums of x; x: (rows, cols); out: (cols)
export function sumRows(rows: number, cols: number, x: Float32Array, out: Float32Array): void {
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) acc[c] = (acc[c] as number) + (x[o + c] as number);
  }
  for (let c = 0; c < cols; c++) out[c] = (out[c] as number) + (acc[c] as number);
}

// sum of squares in double precision; x: (n)
export function sumSquares(n: number, x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i] as number;
    s += v * v;
  }
  return s;
}
