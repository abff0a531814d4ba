/**
 * Reductions: sum and mean over everything or one axis. Sums accumulate in
 * double so a loss over many tokens does not drift.
 */
import { check, opResult, outBuffer } from "../create.js";
import { runtime } from "../runtime.js";
import { shapeStr, type Tensor } from "../tensor.js";

function normAxis(op: string, x: Tensor, axis: number): number {
  const ax = axis < 0 ? x.rank + axis : axis;
  check(ax >= 0 && ax < x.rank, op, () => `axis ${axis} is out of range for ${shapeStr(x.shape)}`);
  return ax;
}

// x: (...) -> () when axis is undefined; x: (A, n, C) -> (A, C) or (A, 1, C) with keepDim
function reduceSum(op: string, x: Tensor, axis: number | undefined, keepDim: boolean, scale: (n: number) => number): Tensor {
  if (axis === undefined) {
    const X = x.data;
    let s = 0;
    for (let i = 0; i < X.length; i++) s += X[i] as number;
    const k = scale(x.size);
    const out = outBuffer(1);
    out[0] = s * k;
    return opResult(out, keepDim ? x.shape.map(() => 1) : [], op, [x], (g, sink) => {
      const gx = sink.grad(x);
      if (!gx) return;
      const gv = (g[0] as number) * k;
      for (let i = 0; i < gx.length; i++) gx[i] = (gx[i] as number) + gv;
    });
  }
  const ax = normAxis(op, x, axis);
  const outer = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const n = x.shape[ax] as number;
  const inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const k = scale(n);
  const X = x.data;
  const out = outBuffer(outer * inner);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    for (let j = 0; j < n; j++) {
      const base = (o * n + j) * inner;
      for (let i = 0; i < inner; i++) acc[i] = (acc[i] as number) + (X[base + i] as number);
    }
    for (let i = 0; i < inner; i++) out[o * inner + i] = (acc[i] as number) * k;
  }
  const shape = keepDim ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  return opResult(out, shape, op, [x], (g, sink) => {
    const gx = sink.grad(x);
    if (!gx) return;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n; j++) {
        const base = (o * n + j) * inner;
        for (let i = 0; i < inner; i++) gx[base + i] = (gx[base + i] as number) + (g[o * inner + i] as number) * k;
      }
    }
  });
}

/** Sum of all elements, or along one axis. */
export function sum(x: Tensor, axis?: number, keepDim = false): Tensor {
  return reduceSum("sum", x, axis, keepDim, () => 1);
}

/** Mean of all elements, or along one axis. */
export function mean(x: Tensor, axis?: number, keepDim = false): Tensor {
  return reduceSum("mean", x, axis, keepDim, (n) => (n === 0 ? Number.NaN : 1 / n));
}

/** Sum of squares of all elements (double accumulation), as a number, no graph. */
export function sumSquaresValue(x: Tensor): number {
  return runtime().kernels.sumSquares(x.size, x.data);
}
