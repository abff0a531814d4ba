// The kernels for AVX-512 CPUs (Skylake-SP, Ice Lake, Zen 4 and later).
// Built with -mavx512f/dq/bw/vl for this file only; selected at run time.
#include "simd_avx512.h"

#define GVM_NS avx512
#define GVM_TABLE kAvx512Table
#define GVM_SIMD_NAME "avx512"
// 12 x 32 register tile: 24 accumulators + 2 B vectors + 1 broadcast of 32 zmm.
#define GVM_MR 12
#define GVM_NV 2
#define GVM_KC 256
#define GVM_MC 192
#define GVM_NC 3072
// No C prefetch: the 12 row addresses it keeps live push GCC into spilling a
// B vector inside the k loop (53 stack accesses in the microkernel), which
// cost 30% of single-thread GEMM throughput on a Zen 5 core.
#define GVM_PREFETCH_C 0

#include "impl_gemm.h"
#include "impl_layers.h"
#include "impl_softmax.h"
#include "impl_attention.h"
#include "impl_attention_prefixed.h"
#include "impl_table.h"
