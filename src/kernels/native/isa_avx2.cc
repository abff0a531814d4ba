// The kernels for AVX2 + FMA CPUs (Haswell, Zen and later). Built with
// -mavx2 -mfma for this file only; selected at run time by CPUID.
#include "simd_avx2.h"

#define GVM_NS avx2
#define GVM_TABLE kAvx2Table
#define GVM_SIMD_NAME "avx2"
// 6 x 16 register tile: 12 accumulators + 2 B vectors + 1 broadcast of 16 ymm.
#define GVM_MR 6
#define GVM_NV 2
#define GVM_KC 256
#define GVM_MC 144
#define GVM_NC 3072
// Prefetching C's rows during the k loop gains ~3% here (no spills at 6 x 16).
#define GVM_PREFETCH_C 1

#include "impl_gemm.h"
#include "impl_layers.h"
#include "impl_softmax.h"
#include "impl_attention.h"
#include "impl_attention_prefixed.h"
#include "impl_table.h"
