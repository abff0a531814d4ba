/**
 * Elementwise ops with NumPy broadcasting. These carry the RL losses (ratios,
 * clipping, KL estimators over (B, T) token tensors), so they are written for
 * clarity with fast paths for equal shapes; the model's heavy pointwise work
 * goes through fused kernels instead.
 */
import { check, opResult, outBuffer } from "../create.js";
import { runtime } from "../runtime.js";
import { shapeStr, sizeOf, type Tensor } from "../tensor.js";

/** Broadcast output shape of a and b, or a TensorError naming the op. */
export function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    check(da === db || da === 1 || db === 1, op, () => `shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** For each output element, the index of the input element it reads; null when shapes match. */
function indexMap(inShape: readonly number[], outShape: readonly number[]): Int32Array | null {
  if (inShape.length === outShape.length && inShape.every((d, i) => d === outShape[i])) return null;
  const n = sizeOf(outShape);
  const map = new Int32Array(n);
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = inShape.length - 1; i >= 0; i--) {
    const axis = rank - inShape.length + i;
    strides[axis] = inShape[i] === 1 ? 0 : s;
    s *= inShape[i] as number;
  }
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let k = 0; k < n; k++) {
    map[k] = src;
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax] = (idx[ax] as number) + 1;
      src += strides[ax] as number;
      if ((idx[ax] as number) < (outShape[ax] as number)) break;
      src -= (strides[ax] as number) * (outShape[ax] as number);
      idx[ax] = 0;
    }
  }
  return map;
}

type Fwd = (x: number, y: number) => number;
/** Partial derivatives at (x, y) with output z. */
type Bwd = (x: number, y: number, z: number) => number;

function binary(op: string, a: Tensor, b: Tensor, f: Fwd, dfdx: Bwd, dfdy: Bwd): Tensor {
  const shape = broadcastShape(op, a.shape, b.shape);
  const n = sizeOf(shape);
  const ma = indexMap(a.shape, shape);
  const mb = indexMap(b.shape, shape);
  const A = a.data;
  const B = b.data;
  const out = outBuffer(n);
  for (let i = 0; i < n; i++) out[i] = f(A[ma ? (ma[i] as number) : i] as number, B[mb ? (mb[i] as number) : i] as number);
  const res: Tensor = opResult(out, shape, op, [a, b], (g, sink) => {
    const ga = sink.grad(a);
    const gb = sink.grad(b);
    const Ad = a.data;
    const Bd = b.data;
    const Z = res.data;
    for (let i = 0; i < n; i++) {
      const ia = ma ? (ma[i] as number) : i;
      const ib = mb ? (mb[i] as number) : i;
      const x = Ad[ia] as number;
      const y = Bd[ib] as number;
      const gi = g[i] as number;
      if (ga) ga[ia] = (ga[ia] as number) + gi * dfdx(x, y, Z[i] as number);
      if (gb) gb[ib] = (gb[ib] as number) + gi * dfdy(x, y, Z[i] as number);
    }
  });
  return res;
}

/** a + b (broadcast) */
export function add(a: Tensor, b: Tensor): Tensor {
  if (a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])) {
    const k = runtime().kernels;
    const out = outBuffer(a.size);
    out.set(a.data);
    k.axpy(a.size, 1, b.data, out);
    return opResult(out, a.shape, "add", [a, b], (g, sink) => {
      sink.pass(a, g);
      sink.pass(b, g);
    });
  }
  return binary("add", a, b, (x, y) => x + y, () => 1, () => 1);
}

/** a - b (broadcast) */
export function sub(a: Tensor, b: Tensor): Tensor {
  return binary("sub", a, b, (x, y) => x - y, () => 1, () => -1);
}

/** a * b (broadcast) */
export function mul(a: Tensor, b: Tensor): Tensor {
  return binary("mul", a, b, (x, y) => x * y, (_x, y) => y, (x) => x);
}

/** a / b (broadcast) */
export function div(a: Tensor, b: Tensor): Tensor {
  return binary("div", a, b, (x, y) => x / y, (_x, y) => 1 / y, (x, y) => -x / (y * y));
}

/** Elementwise minimum; the gradient goes to the smaller input (to a on ties). */
export function minimum(a: Tensor, b: Tensor): Tensor {
  return binary("minimum", a, b, (x, y) => (x <= y ? x : y), (x, y) => (x <= y ? 1 : 0), (x, y) => (x <= y ? 0 : 1));
}

/** Elementwise maximum; the gradient goes to the larger input (to a on ties). */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return binary("maximum", a, b, (x, y) => (x >= y ? x : y), (x, y) => (x >= y ? 1 : 0), (x, y) => (x >= y ? 0 : 1));
}

function unary(op: string, a: Tensor, f: (x: number) => number, df: (x: number, y: number) => number): Tensor {
  const n = a.size;
  const A = a.data;
  const out = outBuffer(n);
  for (let i = 0; i < n; i++) out[i] = f(A[i] as number);
  const res: Tensor = opResult(out, a.shape, op, [a], (g, sink) => {
    const ga = sink.grad(a);
    if (!ga) return;
    const Ad = a.data;
    const Z = res.data;
    for (let i = 0; i < n; i++) ga[i] = (ga[i] as number) + (g[i] as number) * df(Ad[i] as number, Z[i] as number);
  });
  return res;
}

export function neg(a: Tensor): Tensor {
  return unary("neg", a, (x) => -x, () => -1);
}

export function exp(a: Tensor): Tensor {
  return unary("exp", a, Math.exp, (_x, y) => y);
}

export function log(a: Tensor): Tensor {
  return unary("log", a, Math.log, (x) => 1 / x);
}

export function sqrt(a: Tensor): Tensor {
  return unary("sqrt", a, Math.sqrt, (_x, y) => 0.5 / y);
}

export function square(a: Tensor): Tensor {
  return unary("square", a, (x) => x * x, (x) => 2 * x);
}

export function abs(a: Tensor): Tensor {
  return unary("abs", a, Math.abs, (x) => (x > 0 ? 1 : x < 0 ? -1 : 0));
}

export function sigmoid(a: Tensor): Tensor {
  return unary("sigmoid", a, (x) => 1 / (1 + Math.exp(-x)), (_x, y) => y * (1 - y));
}

/** a * s + t for scalars s, t. */
export function affine(a: Tensor, s: number, t = 0): Tensor {
  return unary("affine", a, (x) => x * s + t, () => s);
}

export function mulScalar(a: Tensor, s: number): Tensor {
  return affine(a, s, 0);
}

export function addScalar(a: Tensor, t: number): Tensor {
  return affine(a, 1, t);
}

/** x^p for a scalar exponent p. */
export function powScalar(a: Tensor, p: number): Tensor {
  return unary("pow", a, (x) => x ** p, (x) => p * x ** (p - 1));
}

/**
 * Clamps into [lo, hi]; the gradient passes where the input is inside the
 * closed interval (PyTorch's convention), and is zero outside it.
 */
export function clamp(a: Tensor, lo: number, hi: number): Tensor {
  check(!(lo > hi), "clamp", () => `lower bound ${lo} exceeds upper bound ${hi}`);
  return unary("clamp", a, (x) => (x < lo ? lo : x > hi ? hi : x), (x) => (x < lo || x > hi ? 0 : 1));
}

/** cond ? a : b elementwise; cond is a 0/1 mask of the broadcast shape's size or broadcastable. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShape("where", broadcastShape("where", cond.shape, a.shape), b.shape);
  const n = sizeOf(shape);
  const mc = indexMap(cond.shape, shape);
  const ma = indexMap(a.shape, shape);
  const mb = indexMap(b.shape, shape);
  const C = cond.data;
  const A = a.data;
  const B = b.data;
  const out = outBuffer(n);
  for (let i = 0; i < n; i++) {
    out[i] = (C[mc ? (mc[i] as number) : i] as number) !== 0 ? (A[ma ? (ma[i] as number) : i] as number) : (B[mb ? (mb[i] as number) : i] as number);
  }
  return opResult(out, shape, "where", [a, b], (g, sink) => {
    const ga = sink.grad(a);
    const gb = sink.grad(b);
    const Cd = cond.data;
    for (let i = 0; i < n; i++) {
      const take = (Cd[mc ? (mc[i] as number) : i] as number) !== 0;
      if (take && ga) {
        const j = ma ? (ma[i] as number) : i;
        ga[j] = (ga[j] as number) + (g[i] as number);
      } else if (!take && gb) {
        const j = mb ? (mb[i] as number) : i;
        gb[j] = (gb[j] as number) + (g[i] as number);
      }
    }
  });
}
