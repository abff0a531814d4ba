// 8-wide float vectors for AVX2 + FMA. Included only by isa_avx2.cc, which is
// compiled with -mavx2 -mfma; every function has internal linkage so none of
// this code can be picked by the linker for a caller on a CPU without AVX2.
#pragma once
#include <immintrin.h>
#include <stdint.h>

namespace gvm {
namespace avx2 {

constexpr int W = 8;
struct VF {
  __m256 v;
};

static inline VF vzero() { return {_mm256_setzero_ps()}; }
static inline VF vset(float x) { return {_mm256_set1_ps(x)}; }
static inline VF vload(const float* p) { return {_mm256_loadu_ps(p)}; }
static inline void vstore(float* p, VF a) { _mm256_storeu_ps(p, a.v); }

static inline __m256i tailmask(int64_t n) {
  static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + 8 - n));
}
// The first n (< W) lanes from p, the rest `fill`; masked-off lanes are never touched.
static inline VF vloadn(const float* p, int64_t n, float fill = 0.0f) {
  __m256i m = tailmask(n);
  __m256 x = _mm256_maskload_ps(p, m);
  return {_mm256_blendv_ps(_mm256_set1_ps(fill), x, _mm256_castsi256_ps(m))};
}
static inline void vstoren(float* p, VF a, int64_t n) { _mm256_maskstore_ps(p, tailmask(n), a.v); }

static inline VF operator+(VF a, VF b) { return {_mm256_add_ps(a.v, b.v)}; }
static inline VF operator-(VF a, VF b) { return {_mm256_sub_ps(a.v, b.v)}; }
static inline VF operator*(VF a, VF b) { return {_mm256_mul_ps(a.v, b.v)}; }
static inline VF operator/(VF a, VF b) { return {_mm256_div_ps(a.v, b.v)}; }
// a * b + c
static inline VF vfma(VF a, VF b, VF c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
static inline VF vmax(VF a, VF b) { return {_mm256_max_ps(a.v, b.v)}; }
static inline VF vsqrt(VF a) { return {_mm256_sqrt_ps(a.v)}; }
// 1 / a: the 12-bit estimate refined by one Newton step (about 1 ulp for normal a)
static inline VF vrecip(VF a) {
  const __m256 r = _mm256_rcp_ps(a.v);
  return {_mm256_mul_ps(r, _mm256_fnmadd_ps(a.v, r, _mm256_set1_ps(2.0f)))};
}
// lanes where a > 0 keep x, others become 0
static inline VF vselect_pos(VF a, VF x) {
  return {_mm256_and_ps(_mm256_cmp_ps(a.v, _mm256_setzero_ps(), _CMP_GT_OQ), x.v)};
}

static inline float hsum(VF a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
// Lane j of the result is hsum(v[j]) for j < W, bit for bit: the same tree of
// adds (i + 4, i + 2, i + 1) run on 8 vectors at once by shuffles.
static inline VF hsum_lanes(const VF* v) {
  __m256 h[4], t[2];
  for (int i = 0; i < 4; i++) {
    const __m256 a = v[2 * i].v, b = v[2 * i + 1].v;
    h[i] = _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
  }
  for (int i = 0; i < 2; i++)
    t[i] = _mm256_add_ps(_mm256_shuffle_ps(h[2 * i], h[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm256_shuffle_ps(h[2 * i], h[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // lane 4L + e now holds the sum of v[L + 2e]
  const __m256 r = _mm256_add_ps(_mm256_shuffle_ps(t[0], t[1], _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(t[0], t[1], _MM_SHUFFLE(3, 1, 3, 1)));
  return {_mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))};
}
static inline float hmax(VF a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// exp(x) to about 2 ulp (Cephes polynomial). exp(-inf) and anything below
// -87.3 give exactly 0; NaN stays NaN.
static inline VF vexp(VF xv) {
  const __m256 x0 = xv.v;
  __m256 x = _mm256_min_ps(_mm256_set1_ps(88.3762626647949f), _mm256_max_ps(_mm256_set1_ps(-87.3365478515625f), x0));
  __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
  __m256 x2 = _mm256_mul_ps(x, x);
  y = _mm256_fmadd_ps(y, x2, _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  __m256 under = _mm256_cmp_ps(x0, _mm256_set1_ps(-87.3365478515625f), _CMP_LT_OQ);
  return {_mm256_andnot_ps(under, y)};
}

}  // namespace avx2
}  // namespace gvm
