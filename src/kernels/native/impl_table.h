// Collects one ISA's kernels into its dispatch table (GVM_TABLE, GVM_SIMD_NAME).
#pragma once
#include "table.h"

namespace gvm {
namespace GVM_NS {

// 12 independent chains cover the FMA latency x ports of every target CPU.
static double fmaLoop(int64_t iters) {
  VF acc[12];
  for (int j = 0; j < 12; j++) acc[j] = vset(1e-3f * static_cast<float>(j));
  const VF m = vset(0.999999f), c = vset(1e-7f);
  for (int64_t i = 0; i < iters; i++)
#pragma GCC unroll 12
    for (int j = 0; j < 12; j++) acc[j] = vfma(acc[j], m, c);
  VF s = acc[0];
  for (int j = 1; j < 12; j++) s = s + acc[j];
  volatile float sink = hsum(s);
  (void)sink;
  return 2.0 * W * 12.0 * static_cast<double>(iters);
}

}  // namespace GVM_NS
}  // namespace gvm

namespace gvm {

extern const KernelTable GVM_TABLE;
const KernelTable GVM_TABLE = {
    GVM_SIMD_NAME,
    &GVM_NS::gemm,
    &GVM_NS::axpy,
    &GVM_NS::scale,
    &GVM_NS::addBias,
    &GVM_NS::sumRows,
    &GVM_NS::copyRows,
    &GVM_NS::sumSquares,
    &GVM_NS::rmsnormForward,
    &GVM_NS::rmsnormBackward,
    &GVM_NS::rope,
    &GVM_NS::swigluForward,
    &GVM_NS::swigluBackward,
    &GVM_NS::attentionForward,
    &GVM_NS::attentionBackward,
    &GVM_NS::attentionDecode,
    &GVM_NS::attentionPrefixedForward,
    &GVM_NS::attentionPrefixedBackward,
    &GVM_NS::embeddingForward,
    &GVM_NS::embeddingBackward,
    &GVM_NS::logprobForward,
    &GVM_NS::logprobBackward,
    &GVM_NS::entropy,
    &GVM_NS::softmaxForward,
    &GVM_NS::softmaxBackward,
    &GVM_NS::adamw,
    &GVM_NS::fmaLoop,
};

}  // namespace gvm
