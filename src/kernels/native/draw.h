// Plain sampling over rows of logits (the native twin of
// src/kernels/reference/draw.ts). Compiled once, without FMA contraction, so
// every double matches the reference's bit for bit.
#pragma once
#include <stdint.h>

namespace gvm {

// logits: (B, V); rows, uniforms, ids, shifted, exp_sum: (n). See Kernels.drawRows.
void draw_rows(int64_t n, int64_t V, const float* logits, const int32_t* rows, double temperature, const double* uniforms,
               int32_t* ids, double* shifted, double* exp_sum);

}  // namespace gvm
