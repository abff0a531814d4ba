import { describe, expect, it } from "vitest";
import { opResult, outBuffer, tensor } from "./create.js";
import { gradcheck } from "./gradcheck.js";
import type { Tensor } from "./tensor.js";

// y = x^2 with a deliberately wrong backward (dy/dx = x instead of 2x).
function brokenSquare(x: Tensor): Tensor {
  const out = outBuffer(x.size);
  for (let i = 0; i < x.size; i++) out[i] = (x.data[i] as number) ** 2;
  return opResult(out, x.shape, "brokenSquare", [x], (g, sink) => {
    const gx = sink.grad(x);
    if (gx) for (let i = 0; i < x.size; i++) gx[i] = (gx[i] as number) + (g[i] as number) * (x.data[i] as number);
  });
}

describe("gradcheck", () => {
  it("catches a wrong backward", () => {
    const x = tensor([0.5, -1, 2], [3], { requiresGrad: true }).keep();
    const r = gradcheck(([t]) => brokenSquare(t as Tensor), [x]);
    expect(r.maxError).toBeGreaterThan(0.1);
    expect(r.worst?.input).toBe(0);
  });
});
