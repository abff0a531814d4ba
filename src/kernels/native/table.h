// The dispatch table: one instance per ISA (scalar, avx2, avx512), chosen
// once at load time by CPUID. Arguments mirror src/kernels/types.ts; sizes
// were validated by the binding before any of these run.
#pragma once
#include <stdint.h>

namespace gvm {

struct GemmArgs {
  bool transA, transB;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;
  int64_t batch, strideA, strideB, strideC;
};

struct AttnArgs {
  int64_t B, Tq, Tk, kvLen, H, Hkv, D;
  float scale;
  const float* q;
  const float* k;
  const float* v;
  const uint8_t* keyMask;  // (B, Tk) or null
  float* out;              // forward output; read-only input of backward
  float* lse;              // (B, H, Tq) or null in forward
  const float* dout;       // backward only
  float* dq;
  float* dk;
  float* dv;
};

// Decode against a shared prompt: query row b reads the P positions of prompt
// group[b] (pk, pv: (G, P, Hkv * D); prefixMask: (G, P) or null), then its
// own first kvLen positions (k, v: (B, Tk, Hkv * D); keyMask: (B, Tk) or null).
struct AttnDecodeArgs {
  int64_t B, H, Hkv, D, P, Tk, kvLen;
  float scale;
  const float* q;  // (B, H * D)
  const float* pk;
  const float* pv;
  const uint8_t* prefixMask;
  const int32_t* group;  // (B)
  const float* k;
  const float* v;
  const uint8_t* keyMask;
  float* out;  // (B, H * D)
};

// Training attention over continuations sharing a prompt: packed rows are G
// prompts of P rows, then B continuations of S rows (R = G * P + B * S);
// q, out, dout, dq: (R, H * D); k, v, dk, dv: (R, Hkv * D); keyMask: (R) or
// null; lse: (B, H, P + S). The binding derives the readers of each prompt:
// order lists continuations by prompt (ascending within one), prompt g's
// readers are order[start[g] .. start[g + 1]), the first of them computes the
// prompt's own rows.
struct AttnPrefixedArgs {
  int64_t G, P, B, S, H, Hkv, D;
  float scale;
  const int32_t* group;  // (B)
  const int32_t* order;  // (B)
  const int32_t* start;  // (G + 1)
  const float* q;
  const float* k;
  const float* v;
  const uint8_t* keyMask;
  float* out;
  float* lse;
  const float* dout;  // backward only
  float* dq;
  float* dk;
  float* dv;
};

struct AdamArgs {
  int64_t n;
  float* param;
  const float* grad;
  float* m;
  float* v;
  float lr, beta1, beta2, eps, weightDecay, c1, c2;
};

struct KernelTable {
  const char* simd;
  void (*gemm)(const GemmArgs&);
  void (*axpy)(int64_t n, float alpha, const float* x, float* y);
  void (*scale)(int64_t n, float alpha, float* x);
  void (*addBias)(int64_t rows, int64_t cols, const float* x, const float* bias, float* out);
  void (*sumRows)(int64_t rows, int64_t cols, const float* x, float* out);
  void (*copyRows)(int64_t rows, int64_t cols, const float* src, int64_t srcStride, float* dst, int64_t dstStride);
  double (*sumSquares)(int64_t n, const float* x);
  void (*rmsnormForward)(int64_t rows, int64_t dim, float eps, const float* x, const float* w, float* out, float* rstd);
  void (*rmsnormBackward)(int64_t rows, int64_t dim, const float* dy, const float* x, const float* w, const float* rstd,
                          float* dx, float* dw);
  void (*rope)(int64_t tokens, int64_t heads, int64_t headDim, const float* x, const int32_t* positions, const float* cos,
               const float* sin, float* out, int sign, bool accumulate);
  void (*swigluForward)(int64_t n, const float* gate, const float* up, float* out);
  void (*swigluBackward)(int64_t n, const float* gate, const float* up, const float* dout, float* dgate, float* dup,
                         bool accumulate);
  void (*attentionForward)(const AttnArgs&);
  void (*attentionBackward)(const AttnArgs&);
  void (*attentionDecode)(const AttnDecodeArgs&);
  void (*attentionPrefixedForward)(const AttnPrefixedArgs&);
  void (*attentionPrefixedBackward)(const AttnPrefixedArgs&);
  void (*embeddingForward)(int64_t n, int64_t dim, const float* weight, const int32_t* ids, float* out);
  void (*embeddingBackward)(int64_t n, int64_t dim, const float* dout, const int32_t* ids, float* dweight);
  void (*logprobForward)(int64_t rows, int64_t V, const float* logits, const int32_t* targets, float* logp, float* lse);
  void (*logprobBackward)(int64_t rows, int64_t V, const float* logits, const int32_t* targets, const float* lse,
                          const float* dlogp, float* dlogits);
  void (*entropy)(int64_t rows, int64_t V, const float* logits, float* out);
  void (*softmaxForward)(int64_t rows, int64_t cols, const float* x, float* out);
  void (*softmaxBackward)(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx);
  void (*adamw)(const AdamArgs&);
  // Benchmark aid: `iters` rounds of independent FMAs in registers; returns the FLOPs done.
  double (*fmaLoop)(int64_t iters);
};

extern const KernelTable kScalarTable;
#if defined(GVM_X86)
extern const KernelTable kAvx2Table;
extern const KernelTable kAvx512Table;
#endif

}  // namespace gvm
