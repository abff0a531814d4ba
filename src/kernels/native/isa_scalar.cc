// The portable kernels: any CPU the addon compiles for, no ISA extensions
// beyond the compiler's baseline.
#include "simd_scalar.h"

#define GVM_NS scalar
#define GVM_TABLE kScalarTable
#define GVM_SIMD_NAME "scalar"
#define GVM_MR 4
#define GVM_NV 4
#define GVM_KC 256
#define GVM_MC 128
#define GVM_NC 2048
#define GVM_PREFETCH_C 1

#include "impl_gemm.h"
#include "impl_layers.h"
#include "impl_softmax.h"
#include "impl_attention.h"
#include "impl_attention_prefixed.h"
#include "impl_table.h"
