// 16-wide float vectors for AVX-512F. Included only by isa_avx512.cc, which
// is compiled with -mavx512f (and friends); internal linkage throughout, as in
// simd_avx2.h, so nothing here leaks into code that runs on older CPUs.
#pragma once
#include <immintrin.h>
#include <stdint.h>

namespace gvm {
namespace avx512 {

constexpr int W = 16;
struct VF {
  __m512 v;
};

static inline VF vzero() { return {_mm512_setzero_ps()}; }
static inline VF vset(float x) { return {_mm512_set1_ps(x)}; }
static inline VF vload(const float* p) { return {_mm512_loadu_ps(p)}; }
static inline void vstore(float* p, VF a) { _mm512_storeu_ps(p, a.v); }

static inline __mmask16 tailmask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
// The first n (< W) lanes from p, the rest `fill`; masked-off lanes are never touched.
static inline VF vloadn(const float* p, int64_t n, float fill = 0.0f) {
  return {_mm512_mask_loadu_ps(_mm512_set1_ps(fill), tailmask(n), p)};
}
static inline void vstoren(float* p, VF a, int64_t n) { _mm512_mask_storeu_ps(p, tailmask(n), a.v); }

static inline VF operator+(VF a, VF b) { return {_mm512_add_ps(a.v, b.v)}; }
static inline VF operator-(VF a, VF b) { return {_mm512_sub_ps(a.v, b.v)}; }
static inline VF operator*(VF a, VF b) { return {_mm512_mul_ps(a.v, b.v)}; }
static inline VF operator/(VF a, VF b) { return {_mm512_div_ps(a.v, b.v)}; }
// a * b + c
static inline VF vfma(VF a, VF b, VF c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
static inline VF vmax(VF a, VF b) { return {_mm512_max_ps(a.v, b.v)}; }
static inline VF vsqrt(VF a) { return {_mm512_sqrt_ps(a.v)}; }
// 1 / a: the 14-bit estimate refined by one Newton step (about 1 ulp for normal a)
static inline VF vrecip(VF a) {
  const __m512 r = _mm512_rcp14_ps(a.v);
  return {_mm512_mul_ps(r, _mm512_fnmadd_ps(a.v, r, _mm512_set1_ps(2.0f)))};
}
// lanes where a > 0 keep x, others become 0
static inline VF vselect_pos(VF a, VF x) {
  return {_mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a.v, _mm512_setzero_ps(), _CMP_GT_OQ), x.v)};
}

static inline float hsum(VF a) {
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a.v),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a.v), 1)));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
// Lane j of the result is hsum(v[j]) for j < W, bit for bit: the same tree of
// adds (i + 8, i + 4, i + 2, i + 1) run on 16 vectors at once by shuffles.
static inline VF hsum_lanes(const VF* v) {
  __m512 h[8], s[4], t[2];
  for (int i = 0; i < 8; i++) {
    const __m512 a = v[2 * i].v, b = v[2 * i + 1].v;
    h[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
  }
  for (int i = 0; i < 4; i++)
    s[i] = _mm512_add_ps(_mm512_shuffle_f32x4(h[2 * i], h[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(h[2 * i], h[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  for (int i = 0; i < 2; i++)
    t[i] = _mm512_add_ps(_mm512_shuffle_ps(s[2 * i], s[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(s[2 * i], s[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // lane 4L + e now holds the sum of v[L + 4e]
  const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(3, 1, 3, 1)));
  return {_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r)};
}
static inline float hmax(VF a) {
  __m256 h = _mm256_max_ps(_mm512_castps512_ps256(a.v),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a.v), 1)));
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// exp(x) to about 2 ulp (Cephes polynomial). exp(-inf) and anything below
// -87.3 give exactly 0; NaN stays NaN.
static inline VF vexp(VF xv) {
  const __m512 x0 = xv.v;
  __m512 x = _mm512_min_ps(_mm512_set1_ps(88.3762626647949f), _mm512_max_ps(_mm512_set1_ps(-87.3365478515625f), x0));
  __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
  __m512 y = _mm512_set1_ps(1.9875691500E-4f);
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507E-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073E-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894E-2f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459E-1f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201E-1f));
  __m512 x2 = _mm512_mul_ps(x, x);
  y = _mm512_fmadd_ps(y, x2, _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
  __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
  y = _mm512_mul_ps(y, _mm512_castsi512_ps(e));
  __mmask16 under = _mm512_cmp_ps_mask(x0, _mm512_set1_ps(-87.3365478515625f), _CMP_LT_OQ);
  return {_mm512_maskz_mov_ps(static_cast<__mmask16>(~under), y)};
}

}  // namespace avx512
}  // namespace gvm
