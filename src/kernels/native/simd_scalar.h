// One-lane "vectors" in portable C++: the path for CPUs without AVX2 and for
// non-x86 machines. Same interface as simd_avx2.h, so the kernels are written
// once; the compiler may still auto-vectorize with the baseline ISA.
#pragma once
#include <math.h>
#include <stdint.h>

namespace gvm {
namespace scalar {

constexpr int W = 1;
struct VF {
  float v;
};

static inline VF vzero() { return {0.0f}; }
static inline VF vset(float x) { return {x}; }
static inline VF vload(const float* p) { return {*p}; }
static inline void vstore(float* p, VF a) { *p = a.v; }
// W = 1, so a partial vector has no lanes from memory.
static inline VF vloadn(const float*, int64_t, float fill = 0.0f) { return {fill}; }
static inline void vstoren(float*, VF, int64_t) {}

static inline VF operator+(VF a, VF b) { return {a.v + b.v}; }
static inline VF operator-(VF a, VF b) { return {a.v - b.v}; }
static inline VF operator*(VF a, VF b) { return {a.v * b.v}; }
static inline VF operator/(VF a, VF b) { return {a.v / b.v}; }
static inline VF vfma(VF a, VF b, VF c) { return {a.v * b.v + c.v}; }
static inline VF vmax(VF a, VF b) { return {a.v > b.v ? a.v : b.v}; }
static inline VF vsqrt(VF a) { return {sqrtf(a.v)}; }
static inline VF vrecip(VF a) { return {1.0f / a.v}; }
static inline VF vselect_pos(VF a, VF x) { return {a.v > 0.0f ? x.v : 0.0f}; }
static inline float hsum(VF a) { return a.v; }
static inline float hmax(VF a) { return a.v; }
static inline VF vexp(VF x) { return {expf(x.v)}; }
// Lane j of the result is hsum(v[j]) for j < W (one lane here).
static inline VF hsum_lanes(const VF* v) { return v[0]; }

}  // namespace scalar
}  // namespace gvm
