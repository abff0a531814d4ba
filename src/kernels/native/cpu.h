#pragma once

namespace gvm {

// What the CPU and the OS (saved register state) support, read once by CPUID.
struct CpuFeatures {
  bool avx2_fma;
  bool avx512;  // F + DQ + BW + VL
};

CpuFeatures detect_cpu();

}  // namespace gvm
