/** Test support: the kernel backends this process can run ops on. */
import { loadKernels, referenceKernels } from "../kernels/index.js";
import type { Kernels } from "../kernels/types.js";

/** The reference kernels, plus the native ones when the addon loads. */
export function availableBackends(): Kernels[] {
  const best = loadKernels({ backend: "auto" });
  return best.info.backend === "native" ? [referenceKernels, best] : [referenceKernels];
}
