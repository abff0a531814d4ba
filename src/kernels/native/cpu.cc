// Runtime ISA detection. A feature counts only when the CPU reports it AND the
// OS saves the wider registers (XGETBV), as a VM may hide either.
#include "cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <stdint.h>

namespace gvm {

static uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

CpuFeatures detect_cpu() {
  CpuFeatures f{false, false};
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  bool osxsave = c & (1u << 27);
  bool fma = c & (1u << 12);
  bool avx = c & (1u << 28);
  if (!osxsave || !avx) return f;
  uint64_t xcr0 = xgetbv0();
  bool ymm_saved = (xcr0 & 0x6) == 0x6;
  bool zmm_saved = (xcr0 & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  bool avx2 = b & (1u << 5);
  bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  f.avx2_fma = ymm_saved && avx2 && fma;
  f.avx512 = f.avx2_fma && zmm_saved && avx512f && avx512dq && avx512bw && avx512vl;
  return f;
}

}  // namespace gvm
#else
namespace gvm {
CpuFeatures detect_cpu() { return CpuFeatures{false, false}; }
}  // namespace gvm
#endif
