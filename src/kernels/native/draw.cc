// Plain sampling over rows of logits; see draw.h.
//
// This file is built with the addon's baseline flags (no -mfma): a fused
// multiply-add contracted into exp_v8 or the sums would change their last
// bits, and then the draws, against the reference kernel and Math.exp
// (native.test.ts compares both bit for bit). The AVX2 and AVX-512 forms of
// the exponentials are compiled per function with contraction off too; the
// sums stay one scalar loop in index order.
#include "draw.h"

#include <string.h>

#include "pool.h"

namespace gvm {
namespace {

uint32_t high_word(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return static_cast<uint32_t>(u >> 32);
}

uint32_t low_word(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return static_cast<uint32_t>(u);
}

double from_words(uint32_t hi, uint32_t lo) {
  const uint64_t u = (static_cast<uint64_t>(hi) << 32) | lo;
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

// Must match LOGIT_WINDOW in src/kernels/reference/draw.ts.
constexpr double kLogitWindow = 40;

// The exponential of fdlibm's e_exp.c as V8 compiles it for Math.exp:
//   Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//   Developed at SunSoft, a Sun Microsystems, Inc. business. Permission to
//   use, copy, modify, and distribute this software is freely granted,
//   provided that this notice is preserved.
// exp(x) = 2^k exp(r) with x = k ln2 + r, |r| <= ln2 / 2, and exp(r) from a
// degree-5 rational fit; the draw must see the same doubles as the reference
// kernel in TypeScript, so neither glibc's exp nor a vector exp will do.
double exp_v8(double x) {
  constexpr double kHuge = 1.0e+300, kTwoM1000 = 9.33263618503218878990e-302, kTwo1023 = 8.98846567431157953865e+307;
  constexpr double kOverflow = 7.09782712893383973096e+02, kUnderflow = -7.45133219101941108420e+02;
  constexpr double kLn2Hi[2] = {6.93147180369123816490e-01, -6.93147180369123816490e-01};
  constexpr double kLn2Lo[2] = {1.90821492927058770002e-10, -1.90821492927058770002e-10};
  constexpr double kHalf[2] = {0.5, -0.5};
  constexpr double kInvLn2 = 1.44269504088896338700e+00;
  constexpr double P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03, P3 = 6.61375632143793436117e-05,
                   P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08;
  double hi = 0, lo = 0;
  int k = 0;
  uint32_t hx = high_word(x);
  const int xsb = (hx >> 31) & 1;
  hx &= 0x7fffffff;
  if (hx >= 0x40862E42) {  // |x| >= 709.78...: not finite, or over/underflows
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | low_word(x)) != 0) return x + x;
      return xsb == 0 ? x : 0.0;
    }
    if (x > kOverflow) return kHuge * kHuge;
    if (x < kUnderflow) return kTwoM1000 * kTwoM1000;
  }
  if (hx > 0x3fd62e42) {  // |x| > ln2 / 2: reduce
    if (hx < 0x3FF0A2B2) {
      hi = x - kLn2Hi[xsb];
      lo = kLn2Lo[xsb];
      k = 1 - xsb - xsb;
    } else {
      k = static_cast<int>(kInvLn2 * x + kHalf[xsb]);
      const double t = k;
      hi = x - t * kLn2Hi[0];
      lo = t * kLn2Lo[0];
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {  // |x| < 2^-28
    if (kHuge + x > 1.0) return 1.0 + x;
  }
  const double t = x * x;
  const double twopk = k >= -1021 ? from_words(0x3ff00000 + (k << 20), 0) : from_words(0x3ff00000 + ((k + 1000) << 20), 0);
  const double c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x);
  const double y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) return k == 1024 ? y * 2.0 * kTwo1023 : y * twopk;
  return y * twopk * kTwoM1000;
}

// exp_v8 on eight lanes at once, the same operations in the same order on
// each lane (GCC vector extensions; FMA contraction off, as for the scalar
// code), so every lane is exp_v8 of it bit for bit. Lanes that would leave
// the common paths (|x| >= 709.78, NaN, or 2^k below the normal range) make
// the whole group fall back to exp_v8. Compiled once per ISA below.
typedef double vd8 __attribute__((vector_size(64)));
typedef int64_t vi8 __attribute__((vector_size(64)));

#define GVM_EXP8_BODY                                                                                                        \
  {                                                                                                                          \
    constexpr double P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03, P3 = 6.61375632143793436117e-05,   \
                     P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08;                                    \
    constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;                              \
    constexpr double kInvLn2 = 1.44269504088896338700e+00;                                                                   \
    int64_t j = 0;                                                                                                           \
    for (; j + 8 <= V; j += 8) {                                                                                             \
      vd8 x;                                                                                                                 \
      for (int l = 0; l < 8; l++) x[l] = (static_cast<double>(in[j + l]) - max) * inv;                                      \
      const vi8 bits = (vi8)x;                                                                                               \
      const vi8 hx = (bits >> 32) & 0x7fffffff;                                                                              \
      const vi8 neg = bits < 0;                                                                                              \
      const vd8 sign = neg ? (vd8){} - 1.0 : (vd8){} + 1.0;                                                                  \
      /* |x| > ln2 / 2 and < 1.5 ln2: k = +-1; beyond: k = (int)(x / ln2 +- 0.5) */                                          \
      const vi8 mid = hx < 0x3FF0A2B2;                                                                                       \
      const vi8 kBig = __builtin_convertvector(kInvLn2 * x + 0.5 * sign, vi8);                                               \
      const vi8 k = mid ? (neg ? (vi8){} - 1 : (vi8){} + 1) : kBig;                                                          \
      const vd8 kd = __builtin_convertvector(k, vd8);                                                                        \
      const vd8 hi = mid ? x - sign * kLn2Hi : x - kd * kLn2Hi;                                                              \
      const vd8 lo = mid ? sign * kLn2Lo : kd * kLn2Lo;                                                                      \
      const vd8 r = hi - lo;                                                                                                 \
      const vd8 tr = r * r;                                                                                                  \
      const vd8 cr = r - tr * (P1 + tr * (P2 + tr * (P3 + tr * (P4 + tr * P5))));                                            \
      const vd8 yr = 1.0 - ((lo - (r * cr) / (2.0 - cr)) - hi);                                                              \
      const vd8 twopk = (vd8)((k + 0x3ff) << 52);                                                                            \
      const vd8 reduced = yr * twopk;                                                                                        \
      const vd8 t0 = x * x;                                                                                                  \
      const vd8 c0 = x - t0 * (P1 + t0 * (P2 + t0 * (P3 + t0 * (P4 + t0 * P5))));                                            \
      const vd8 small = 1.0 - ((x * c0) / (c0 - 2.0) - x);                                                                   \
      const vd8 tiny = 1.0 + x;                                                                                              \
      const vi8 odd = (hx >= 0x40862E42) | (k < -1021) | (k > 1023);                                                                    \
      bool any = false;                                                                                                      \
      for (int l = 0; l < 8; l++) any |= odd[l] != 0;                                                                        \
      if (any) {                                                                                                             \
        for (int l = 0; l < 8; l++) out[j + l] = exp_v8(x[l]);                                                               \
        continue;                                                                                                            \
      }                                                                                                                      \
      const vd8 e = hx < 0x3e300000 ? tiny : (hx <= 0x3fd62e42 ? small : reduced);                                          \
      for (int l = 0; l < 8; l++) out[j + l] = e[l];                                                                         \
    }                                                                                                                        \
    for (; j < V; j++) out[j] = exp_v8((static_cast<double>(in[j]) - max) * inv);                                          \
  }

__attribute__((target("avx512f,avx512dq"), optimize("fp-contract=off"))) void exp_row_avx512(const float* in, int64_t V, double max,
                                                                                              double inv, double* out)
    GVM_EXP8_BODY

__attribute__((target("avx2"), optimize("fp-contract=off"))) void exp_row_avx2(const float* in, int64_t V, double max, double inv,
                                                                                double* out) GVM_EXP8_BODY

#undef GVM_EXP8_BODY

void exp_row_scalar(const float* in, int64_t V, double max, double inv, double* out) {
  for (int64_t j = 0; j < V; j++) out[j] = exp_v8((static_cast<double>(in[j]) - max) * inv);
}

}  // namespace

void draw_rows(int64_t n, int64_t V, const float* logits, const int32_t* rows, double temperature, const double* uniforms,
               int32_t* ids, double* shifted, double* exp_sum, DrawSimd simd) {
  const auto exp_row = simd == DrawSimd::kAvx512 ? exp_row_avx512 : simd == DrawSimd::kAvx2 ? exp_row_avx2 : exp_row_scalar;
  auto body = [&](int64_t begin, int64_t end) {
    double* e = reinterpret_cast<double*>(scratch(7, static_cast<size_t>(2 * V)));
    const double inv = 1.0 / temperature;
    for (int64_t i = begin; i < end; i++) {
      const float* x = logits + static_cast<int64_t>(rows[i]) * V;
      int64_t best = 0;
      float top = -__builtin_inff();
      for (int64_t j = 0; j < V; j++)
        if (x[j] > top) {
          top = x[j];
          best = j;
        }
      if (top == -__builtin_inff()) {
        ids[i] = static_cast<int32_t>(best);
        shifted[i] = __builtin_nan("");
        exp_sum[i] = 1;
        continue;
      }
      const double max = top;
      const double limit = max - kLogitWindow * temperature;
      double all = 0, sum = 0;
      exp_row(x, V, max, inv, e);
      for (int64_t j = 0; j < V; j++) {
        const double ej = e[j];
        all += ej;
        if (x[j] >= limit) sum += ej;
      }
      int64_t id = best;
      double u = uniforms[i] * sum;
      for (int64_t j = 0; j < V; j++) {
        if (x[j] < limit) continue;
        u -= e[j];
        if (u <= 0) {
          id = j;
          break;
        }
      }
      ids[i] = static_cast<int32_t>(id);
      shifted[i] = (static_cast<double>(x[id]) - max) * inv;
      exp_sum[i] = all;
    }
  };
  // a row of a small vocabulary costs about a microsecond: a few rows per chunk pay for a dispatch
  const int64_t grain = V >= 4096 ? 1 : (4096 + V - 1) / V;
  parallel_range(n, grain, body);
}

}  // namespace gvm
