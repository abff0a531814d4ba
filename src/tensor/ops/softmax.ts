/**
 * Ops over a softmax of the last axis: token log-probabilities (the quantity
 * every RL loss is built from), cross-entropy, softmax, and entropy.
 */
import { check, opResult, outBuffer } from "../create.js";
import { runtime, TensorError } from "../runtime.js";
import { shapeStr, Tensor } from "../tensor.js";

function checkTargets(op: string, logits: Tensor, targets: Int32Array): { rows: number; V: number } {
  check(logits.rank >= 1, op, () => "logits must have a vocabulary axis");
  const V = logits.dim(-1);
  const rows = logits.size / V;
  check(targets.length === rows, op, () => `logits ${shapeStr(logits.shape)} have ${rows} rows but ${targets.length} targets were given`);
  for (let i = 0; i < rows; i++) {
    const t = targets[i] as number;
    if (t >= V) throw new TensorError(`${op}: target ${t} at row ${i} is outside the vocabulary [0, ${V}) (negative targets mean "ignore")`);
  }
  return { rows, V };
}

/**
 * log softmax(logits)[target] per row; negative targets give 0 and no gradient.
 * logits: (..., V); targets: (...) -> (...)
 */
export function tokenLogprobs(logits: Tensor, targets: Int32Array): Tensor {
  const { rows, V } = checkTargets("tokenLogprobs", logits, targets);
  const out = outBuffer(rows);
  const lse = new Tensor(outBuffer(rows), [rows]);
  runtime().kernels.logprobForward(rows, V, logits.data, targets, out, lse.data);
  return opResult(out, logits.shape.slice(0, -1), "tokenLogprobs", [logits], (g, sink) => {
    const gl = sink.grad(logits);
    if (gl) runtime().kernels.logprobBackward(rows, V, logits.data, targets, lse.data, g, gl);
  });
}

/**
 * Mean cross-entropy over rows whose target is not negative.
 * logits: (..., V); targets: (...) -> ()
 */
export function crossEntropy(logits: Tensor, targets: Int32Array): Tensor {
  const { rows, V } = checkTargets("crossEntropy", logits, targets);
  const logp = new Tensor(outBuffer(rows), [rows]);
  const lse = new Tensor(outBuffer(rows), [rows]);
  runtime().kernels.logprobForward(rows, V, logits.data, targets, logp.data, lse.data);
  let count = 0;
  let total = 0;
  const lp = logp.data;
  for (let i = 0; i < rows; i++) {
    if ((targets[i] as number) >= 0) {
      count++;
      total -= lp[i] as number;
    }
  }
  check(count > 0, "crossEntropy", () => "every target is ignored (negative); the mean is undefined");
  const out = outBuffer(1);
  out[0] = total / count;
  return opResult(out, [], "crossEntropy", [logits], (g, sink) => {
    const gl = sink.grad(logits);
    if (!gl) return;
    const pool = runtime().pool;
    const dlogp = pool.alloc(rows);
    dlogp.fill(-(g[0] as number) / count);
    runtime().kernels.logprobBackward(rows, V, logits.data, targets, lse.data, dlogp, gl);
    pool.release(dlogp);
  });
}

/** Softmax over the last axis. x: (..., C) -> (..., C) */
export function softmax(x: Tensor): Tensor {
  check(x.rank >= 1, "softmax", () => "input must have at least one axis");
  const C = x.dim(-1);
  const rows = x.size / C;
  const out = outBuffer(x.size);
  runtime().kernels.softmaxForward(rows, C, x.data, out);
  const res: Tensor = opResult(out, x.shape, "softmax", [x], (g, sink) => {
    const gx = sink.grad(x);
    if (gx) runtime().kernels.softmaxBackward(rows, C, res.data, g, gx);
  });
  return res;
}

/** Entropy of softmax(logits) per row, as plain numbers (a metric: no graph). logits: (..., V) -> (rows) */
export function entropyOf(logits: Tensor): Float32Array {
  const V = logits.dim(-1);
  const rows = logits.size / V;
  const out = new Float32Array(rows);
  runtime().kernels.entropy(rows, V, logits.data, out);
  return out;
}
