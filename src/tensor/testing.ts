/** Test support: the kernel backends this process can run ops on. */
import { referenceKernels } from "../kernels/reference/index.js";
import type { Kernels } from "../kernels/types.js";

export function availableBackends(): Kernels[] {
  return [referenceKernels];
}
