// Collects one ISA's kernels into its dispatch table (GVM_TABLE, GVM_SIMD_NAME).
#pragma once
#include "table.h"

namespace gvm {

extern const KernelTable GVM_TABLE;
const KernelTable GVM_TABLE = {
    GVM_SIMD_NAME,
    &GVM_NS::gemm,
    &GVM_NS::axpy,
    &GVM_NS::scale,
    &GVM_NS::addBias,
    &GVM_NS::sumRows,
    &GVM_NS::sumSquares,
    &GVM_NS::rmsnormForward,
    &GVM_NS::rmsnormBackward,
    &GVM_NS::rope,
    &GVM_NS::swigluForward,
    &GVM_NS::swigluBackward,
    &GVM_NS::attentionForward,
    &GVM_NS::attentionBackward,
    &GVM_NS::embeddingForward,
    &GVM_NS::embeddingBackward,
    &GVM_NS::logprobForward,
    &GVM_NS::logprobBackward,
    &GVM_NS::entropy,
    &GVM_NS::softmaxForward,
    &GVM_NS::softmaxBackward,
    &GVM_NS::adamw,
};

}  // namespace gvm
