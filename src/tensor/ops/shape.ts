/** Ops that move values without arithmetic. */
import { check, opResult, outBuffer } from "../create.js";
import { runtime } from "../runtime.js";
import { shapeStr, type Tensor } from "../tensor.js";

/**
 * Rows [start, end) of the leading axis, copied.
 * x: (N, ...) -> (end - start, ...)
 */
export function sliceRows(x: Tensor, start: number, end: number): Tensor {
  const N = x.shape[0] ?? 0;
  check(x.shape.length >= 1 && Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= N, "sliceRows", () => `rows [${start}, ${end}) are not within ${shapeStr(x.shape)}`);
  const width = N > 0 ? x.size / N : 0;
  const out = outBuffer((end - start) * width);
  out.set(x.data.subarray(start * width, end * width));
  return opResult(out, [end - start, ...x.shape.slice(1)], "sliceRows", [x], (g, sink) => {
    const gx = sink.grad(x);
    if (gx) runtime().kernels.axpy(g.length, 1, g, gx.subarray(start * width, end * width));
  });
}
