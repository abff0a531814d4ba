// Plain sampling over rows of logits (the native twin of
// src/kernels/reference/draw.ts). Compiled once, without FMA contraction, so
// every double matches the reference's bit for bit.
#pragma once
#include <stdint.h>

namespace gvm {

// The instruction set the exponentials may use (the caller's kernel table's):
// the results are the same bits on each.
enum class DrawSimd { kScalar, kAvx2, kAvx512 };

// logits: (B, V); rows, uniforms, ids, shifted, exp_sum: (n). See Kernels.drawRows.
void draw_rows(int64_t n, int64_t V, const float* logits, const int32_t* rows, double temperature, const double* uniforms,
               int32_t* ids, double* shifted, double* exp_sum, DrawSimd simd);

}  // namespace gvm
