// GEMM written once over the VF vector type of the including ISA file
// (isa_*.cc defines GVM_NS, GVM_MR, GVM_NV, GVM_KC, GVM_MC, GVM_NC and
// GVM_PREFETCH_C first).
//
// GotoBLAS/BLIS structure: op(B) is packed into KC x NC blocks of NR-wide
// column panels, op(A) into MC x KC blocks of MR-tall row panels; an MR x NR
// register-blocked FMA microkernel runs over the packed panels. Transposes
// are absorbed by the packing, so all four combinations share one kernel.
// Threads take blocks of C's long side from a shared counter against the
// other operand, packed once (see gemm_threaded).
#pragma once
#include <stdint.h>
#include <string.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "pool.h"
#include "table.h"

namespace gvm {
namespace GVM_NS {

constexpr int MR = GVM_MR;
constexpr int NV = GVM_NV;
constexpr int NR = NV * W;
constexpr int64_t KC = GVM_KC;
constexpr int64_t MC = GVM_MC;
constexpr int64_t NC = GVM_NC;
static_assert(MC % MR == 0 && NC % NR == 0, "blocking must be a multiple of the register tile");

static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// c[MR x NR] = alpha * sum_k a[k][i] b[k][j] + beta * c   (beta == 0: c is not read)
static void ukernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* c, int64_t ldc, float alpha,
                    float beta) {
#if GVM_PREFETCH_C
  // C's rows arrive while the k loop runs instead of stalling the stores after it
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) {
    __builtin_prefetch(c + i * ldc, 1, 3);
    __builtin_prefetch(c + i * ldc + NR - 1, 1, 3);
  }
#endif
  VF acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) acc[i][j] = vzero();
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++) {
    VF bv[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) bv[j] = vload(b + j * W);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      VF av = vset(a[i]);
#pragma GCC unroll 8
      for (int j = 0; j < NV; j++) acc[i][j] = vfma(av, bv[j], acc[i][j]);
    }
    a += MR;
    b += NR;
  }
  VF va = vset(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
      for (int j = 0; j < NV; j++) vstore(c + i * ldc + j * W, acc[i][j] * va);
  } else {
    VF vb = vset(beta);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
      for (int j = 0; j < NV; j++) vstore(c + i * ldc + j * W, vfma(vload(c + i * ldc + j * W), vb, acc[i][j] * va));
  }
}

// A partial tile at the edge of C: full tile into a buffer, then the mr x nr corner.
static void ukernel_edge(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                         float alpha, float beta) {
  alignas(64) float tmp[MR * NR];
  ukernel(kc, a, b, tmp, NR, 1.0f, 0.0f);
  for (int64_t i = 0; i < mr; i++) {
    float* ci = c + i * ldc;
    const float* ti = tmp + i * NR;
    if (beta == 0.0f)
      for (int64_t j = 0; j < nr; j++) ci[j] = alpha * ti[j];
    else
      for (int64_t j = 0; j < nr; j++) ci[j] = alpha * ti[j] + beta * ci[j];
  }
}

#if defined(__AVX2__)
// One full NR-wide panel of op(B) = B^T: NR rows of the stored B, transposed
// 4 k-values at a time. Each ymm holds rows i and i + 4 of an 8-row group
// (two 4x4 blocks side by side), so the transpose stays inside 128-bit lanes,
// which is cheap on every AVX2 core (lane crossings are not on Zen 1).
static void pack_bt_panel(const float* B, int64_t ldb, int64_t kc, float* dst) {
  int64_t k0 = 0;
  for (; k0 + 4 <= kc; k0 += 4) {
    for (int cg = 0; cg < NR / 8; cg++) {
      const float* s = B + cg * 8 * ldb + k0;
      __m256 r[4];
      for (int i = 0; i < 4; i++)
        r[i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(s + i * ldb)), _mm_loadu_ps(s + (i + 4) * ldb), 1);
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      float* d = dst + k0 * NR + cg * 8;
      _mm256_storeu_ps(d, _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)));
      _mm256_storeu_ps(d + NR, _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)));
      _mm256_storeu_ps(d + 2 * NR, _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)));
      _mm256_storeu_ps(d + 3 * NR, _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)));
    }
  }
  for (; k0 < kc; k0++)
    for (int j = 0; j < NR; j++) dst[k0 * NR + j] = B[j * ldb + k0];
}
#define GVM_PACK_BT pack_bt_panel

static_assert(MR % 4 == 0 || MR % 4 == 2, "pack_a_panel handles rows in fours and one pair");

// One full MR-tall panel of a row-major op(A): MR rows, 8 k-values at a time,
// transposed in-lane (4 x 4 blocks, plus a 2-row interleave when MR % 4 == 2).
static void pack_a_panel(const float* A, int64_t lda, int64_t kc, float* dst) {
  int64_t k0 = 0;
  for (; k0 + 8 <= kc; k0 += 8) {
    float* d = dst + k0 * MR;
    int r = 0;
    for (; r + 4 <= MR; r += 4) {
      const float* s = A + r * lda + k0;
      const __m256 a0 = _mm256_loadu_ps(s), a1 = _mm256_loadu_ps(s + lda);
      const __m256 a2 = _mm256_loadu_ps(s + 2 * lda), a3 = _mm256_loadu_ps(s + 3 * lda);
      const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
      const __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
      const __m256 c[4] = {_mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
                           _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2))};
      for (int k = 0; k < 4; k++) {
        _mm_storeu_ps(d + k * MR + r, _mm256_castps256_ps128(c[k]));
        _mm_storeu_ps(d + (k + 4) * MR + r, _mm256_extractf128_ps(c[k], 1));
      }
    }
    if (r < MR) {
      const float* s = A + r * lda + k0;
      const __m256 a0 = _mm256_loadu_ps(s), a1 = _mm256_loadu_ps(s + lda);
      const __m256 u0 = _mm256_unpacklo_ps(a0, a1), u1 = _mm256_unpackhi_ps(a0, a1);
      const __m128 lo0 = _mm256_castps256_ps128(u0), hi0 = _mm256_extractf128_ps(u0, 1);
      const __m128 lo1 = _mm256_castps256_ps128(u1), hi1 = _mm256_extractf128_ps(u1, 1);
      _mm_storel_pi(reinterpret_cast<__m64*>(d + 0 * MR + r), lo0);
      _mm_storeh_pi(reinterpret_cast<__m64*>(d + 1 * MR + r), lo0);
      _mm_storel_pi(reinterpret_cast<__m64*>(d + 2 * MR + r), lo1);
      _mm_storeh_pi(reinterpret_cast<__m64*>(d + 3 * MR + r), lo1);
      _mm_storel_pi(reinterpret_cast<__m64*>(d + 4 * MR + r), hi0);
      _mm_storeh_pi(reinterpret_cast<__m64*>(d + 5 * MR + r), hi0);
      _mm_storel_pi(reinterpret_cast<__m64*>(d + 6 * MR + r), hi1);
      _mm_storeh_pi(reinterpret_cast<__m64*>(d + 7 * MR + r), hi1);
    }
  }
  for (; k0 < kc; k0++)
    for (int r = 0; r < MR; r++) dst[k0 * MR + r] = A[r * lda + k0];
}
#define GVM_PACK_A pack_a_panel
#endif

// op(A)[0:mc, 0:kc] into MR-row panels, k-major, rows past mc zero.
// A points at element (0, 0) of op(A); transA: op(A)(i, k) = A[k * lda + i].
static void pack_a(bool transA, const float* A, int64_t lda, int64_t mc, int64_t kc, float* dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int64_t mr = imin(MR, mc - i0);
    if (transA) {
      const float* s = A + i0;
      if (mr == MR) {
        for (int64_t k = 0; k < kc; k++, s += lda, dst += MR) {
#if defined(__AVX2__)
          static_assert(MR % 2 == 0, "MR rows copy in fours and one pair");
          int r = 0;
#pragma GCC unroll 8
          for (; r + 4 <= MR; r += 4) _mm_storeu_ps(dst + r, _mm_loadu_ps(s + r));
          if (r < MR) _mm_storel_pi(reinterpret_cast<__m64*>(dst + r), _mm_loadl_pi(_mm_setzero_ps(), reinterpret_cast<const __m64*>(s + r)));
#else
#pragma GCC unroll 32
          for (int r = 0; r < MR; r++) dst[r] = s[r];
#endif
        }
      } else {
        for (int64_t k = 0; k < kc; k++, s += lda, dst += MR) {
          for (int64_t r = 0; r < mr; r++) dst[r] = s[r];
          for (int64_t r = mr; r < MR; r++) dst[r] = 0.0f;
        }
      }
    } else {
#if defined(GVM_PACK_A)
      if (mr == MR) {
        GVM_PACK_A(A + i0 * lda, lda, kc, dst);
        dst += kc * MR;
        continue;
      }
#endif
      const float* rows[MR];
      for (int64_t r = 0; r < MR; r++) rows[r] = A + (i0 + (r < mr ? r : 0)) * lda;
      if (mr == MR) {
        for (int64_t k = 0; k < kc; k++, dst += MR)
#pragma GCC unroll 32
          for (int r = 0; r < MR; r++) dst[r] = rows[r][k];
      } else {
        for (int64_t k = 0; k < kc; k++, dst += MR) {
          for (int64_t r = 0; r < mr; r++) dst[r] = rows[r][k];
          for (int64_t r = mr; r < MR; r++) dst[r] = 0.0f;
        }
      }
    }
  }
}

// op(B)[0:kc, 0:nc] into NR-column panels, k-major, columns past nc zero.
// transB: op(B)(k, j) = B[j * ldb + k].
static void pack_b(bool transB, const float* B, int64_t ldb, int64_t kc, int64_t nc, float* dst) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t nr = imin(NR, nc - j0);
    if (!transB) {
      const float* s = B + j0;
      if (nr == NR) {
        for (int64_t k = 0; k < kc; k++, s += ldb, dst += NR)
#pragma GCC unroll 8
          for (int v = 0; v < NV; v++) vstore(dst + v * W, vload(s + v * W));
      } else {
        for (int64_t k = 0; k < kc; k++, s += ldb, dst += NR) {
          for (int64_t j = 0; j < nr; j++) dst[j] = s[j];
          for (int64_t j = nr; j < NR; j++) dst[j] = 0.0f;
        }
      }
    } else {
#if defined(GVM_PACK_BT)
      if (nr == NR) {
        GVM_PACK_BT(B + j0 * ldb, ldb, kc, dst);
        dst += kc * NR;
        continue;
      }
#endif
      for (int64_t j = 0; j < nr; j++) {
        const float* s = B + (j0 + j) * ldb;
        for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = s[k];
      }
      for (int64_t j = nr; j < NR; j++)
        for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = 0.0f;
      dst += kc * NR;
    }
  }
}

static void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    float* c = C + i * ldc;
    if (beta == 0.0f)
      memset(c, 0, sizeof(float) * N);
    else
      for (int64_t j = 0; j < N; j++) c[j] *= beta;
  }
}

// One GEMM on the calling thread. A, B, C point at element (0, 0) of op(A), op(B), C.
static void gemm_serial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                        const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  const int64_t kcMax = imin(KC, K);
  const int64_t ncMax = imin(NC, ceil_div(N, NR) * NR);
  const int64_t mcMax = imin(MC, ceil_div(M, MR) * MR);
  float* Ap = scratch(0, static_cast<size_t>(mcMax * kcMax));
  float* Bp = scratch(1, static_cast<size_t>(ncMax * kcMax));
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = imin(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = imin(KC, K - pc);
      const float betaBlock = pc == 0 ? beta : 1.0f;
      pack_b(transB, transB ? B + jc * ldb + pc : B + pc * ldb + jc, ldb, kc, nc, Bp);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = imin(MC, M - ic);
        pack_a(transA, transA ? A + pc * lda + ic : A + ic * lda + pc, lda, mc, kc, Ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = imin(NR, nc - jr);
          const float* bp = Bp + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = imin(MR, mc - ir);
            float* c = C + (ic + ir) * ldc + jc + jr;
            if (mr == MR && nr == NR)
              ukernel(kc, Ap + ir * kc, bp, c, ldc, alpha, betaBlock);
            else
              ukernel_edge(kc, Ap + ir * kc, bp, c, ldc, mr, nr, alpha, betaBlock);
          }
        }
      }
    }
  }
}

// Work (multiply-adds) below which a GEMM stays on one thread. At 1 << 22 the
// demo policy's decode products (128 x 128 x 128, 2.1M) ran on one core while
// the other idled; split, three of them take ~37 us instead of ~57.
constexpr int64_t kGemmParallelMin = 1 << 20;

// How a side of len elements is cut into blocks: block t starts at panel
// t * base + min(t, extra), so the first `extra` blocks are a panel longer.
// Plain: blocks of `block` elements (the last one short). Even: as many
// blocks of about that size as fit, rounded up to a multiple of the thread
// count and equal to within a panel. Where every block streams a shared
// operand that outgrows L2, blocks are few and large, and an odd one out
// left a thread idle for up to a fifth of the product (the demo policy's
// weight gradients: 96, 96, 96 and 56 rows on 2 threads). Smaller blocks at
// the end would balance as well, but each block is one more pass over the
// shared operand.
struct Blocks {
  int64_t len, unit, base, extra, count;
  int64_t start(int64_t t) const { return imin(len, (t * base + imin(t, extra)) * unit); }
};

static Blocks split_blocks(int64_t len, int64_t block, int64_t unit, int threads, bool even) {
  if (!even) return {len, unit, block / unit, 0, ceil_div(len, block)};
  const int64_t panels = ceil_div(len, unit);
  const int64_t count = imin(panels, ceil_div(ceil_div(len, block), threads) * threads);
  return {len, unit, panels / count, panels % count, count};
}

// Threaded GEMM with one operand packed once and shared. The long side of C
// (rows when N <= M, else columns) is cut into many blocks that threads take
// from a shared counter, so a thread that loses its core to another process
// holds up only the block it is on, not half of the product: this machine is
// often shared. Each block packs its own slice of the other operand, so every
// element of A and B is packed exactly once. Phase 1 packs the shared operand
// (all K blocks) in parallel, phase 2 runs the blocks.
struct SharedJob {
  const GemmArgs* g;
  const float *A, *B;
  float* C;
  bool splitM;     // blocks of rows sharing packed op(B), else blocks of columns sharing packed op(A)
  int64_t pad;     // the shared side rounded up to its panel width (NR for op(B), MR for op(A))
  Blocks blocks;   // block t: rows (or columns) [blocks.start(t), blocks.start(t + 1))
  int64_t chunk;   // panels per packing unit
  int64_t chunks;  // packing units per K block
  float* shared;   // K block p starts at p * KC * pad
};

static void pack_shared(void* ctx, int64_t begin, int64_t end) {
  const SharedJob& s = *static_cast<const SharedJob*>(ctx);
  const GemmArgs& g = *s.g;
  const int64_t unit = s.splitM ? NR : MR;
  for (int64_t u = begin; u < end; u++) {
    const int64_t p = u / s.chunks, q = (u % s.chunks) * s.chunk * unit;
    const int64_t pc = p * KC, kc = imin(KC, g.K - pc);
    float* dst = s.shared + pc * s.pad + q * kc;
    if (s.splitM) {
      const int64_t nc = imin(s.chunk * NR, g.N - q);
      pack_b(g.transB, g.transB ? s.B + q * g.ldb + pc : s.B + pc * g.ldb + q, g.ldb, kc, nc, dst);
    } else {
      const int64_t mc = imin(s.chunk * MR, g.M - q);
      pack_a(g.transA, g.transA ? s.A + pc * g.lda + q : s.A + q * g.lda + pc, g.lda, mc, kc, dst);
    }
  }
}

// C[mr x nr] (+)= alpha * panel(a) panel(b) over kc, full tile or edge (impl_attention.h uses it too).
static inline void tile(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr, float alpha,
                        float beta) {
  if (mr == MR && nr == NR)
    ukernel(kc, a, b, c, ldc, alpha, beta);
  else
    ukernel_edge(kc, a, b, c, ldc, mr, nr, alpha, beta);
}

static void run_shared(void* ctx, int64_t begin, int64_t end) {
  const SharedJob& s = *static_cast<const SharedJob*>(ctx);
  const GemmArgs& g = *s.g;
  for (int64_t t = begin; t < end; t++) {
    const int64_t o = s.blocks.start(t), size = s.blocks.start(t + 1) - o;
    for (int64_t pc = 0; pc < g.K; pc += KC) {
      const int64_t kc = imin(KC, g.K - pc);
      const float betaBlock = pc == 0 ? g.beta : 1.0f;
      const float* sh = s.shared + pc * s.pad;
      if (s.splitM) {
        // rows [o, o + mb) against all of op(B); B micro-panels stay in L1 across the rows
        const int64_t mb = size;
        float* Ap = scratch(0, static_cast<size_t>(ceil_div(mb, MR) * MR * kc));
        pack_a(g.transA, g.transA ? s.A + pc * g.lda + o : s.A + o * g.lda + pc, g.lda, mb, kc, Ap);
        for (int64_t jr = 0; jr < g.N; jr += NR)
          for (int64_t ir = 0; ir < mb; ir += MR)
            tile(kc, Ap + ir * kc, sh + jr * kc, s.C + (o + ir) * g.ldc + jr, g.ldc, imin(MR, mb - ir), imin(NR, g.N - jr), g.alpha,
                 betaBlock);
      } else {
        // columns [o, o + nb) against all of op(A), MC rows at a time so the A block stays in L2
        const int64_t nb = size;
        float* Bp = scratch(1, static_cast<size_t>(ceil_div(nb, NR) * NR * kc));
        pack_b(g.transB, g.transB ? s.B + o * g.ldb + pc : s.B + pc * g.ldb + o, g.ldb, kc, nb, Bp);
        for (int64_t ic = 0; ic < g.M; ic += MC) {
          const int64_t mc = imin(MC, g.M - ic);
          for (int64_t jr = 0; jr < nb; jr += NR)
            for (int64_t ir = 0; ir < mc; ir += MR)
              tile(kc, sh + (ic + ir) * kc, Bp + jr * kc, s.C + (ic + ir) * g.ldc + o + jr, g.ldc, imin(MR, mc - ir), imin(NR, nb - jr),
                   g.alpha, betaBlock);
        }
      }
    }
  }
}

// Floats of packed shared operand per pass: a wider shared side is done in slabs.
constexpr int64_t kSharedMaxFloats = int64_t{1} << 21;
// Floats of shared operand the calling thread packs alone.
constexpr int64_t kSharedSerialFloats = int64_t{1} << 15;

// Block size along a side of `len` elements, a multiple of `unit`: about 8
// equal blocks per thread (so the last blocks taken leave little imbalance),
// each at least minUnits and at most maxUnits panels.
static int64_t block_size(int64_t len, int threads, int64_t unit, int64_t minUnits, int64_t maxUnits) {
  const int64_t panels = ceil_div(len, unit);
  const int64_t blocks = imax(8 * threads, ceil_div(panels, maxUnits));
  return imax(minUnits, imin(maxUnits, ceil_div(panels, blocks))) * unit;
}

// One pass of the shared-operand GEMM over all of g (a slab of the caller's product).
static void gemm_shared_pass(const GemmArgs& g, const float* A, const float* B, float* C, bool splitM, int64_t block, bool even) {
  const Blocks blocks = split_blocks(splitM ? g.M : g.N, block, splitM ? MR : NR, pool_threads(), even);
  SharedJob s{&g, A, B, C, splitM, 0, blocks, 0, 0, nullptr};
  const int64_t unit = splitM ? NR : MR;
  s.pad = ceil_div(splitM ? g.N : g.M, unit) * unit;
  // packing units of about 16K floats
  s.chunk = imax(1, (int64_t{1} << 14) / (unit * imin(KC, g.K)));
  s.chunks = ceil_div(s.pad / unit, s.chunk);
  s.shared = scratch(2, static_cast<size_t>(s.pad * g.K));
  // a small shared operand (decode's few rows) packs faster than a dispatch wakes the pool
  const int64_t units = ceil_div(g.K, KC) * s.chunks;
  if (s.pad * g.K <= kSharedSerialFloats)
    pack_shared(&s, 0, units);
  else
    parallel_for(units, 1, pack_shared, &s);
  parallel_for(blocks.count, 1, run_shared, &s);
}

// Floats of packed shared operand that stay in a core's L2 while blocks stream through it.
constexpr int64_t kSharedL2Floats = int64_t{1} << 17;

static void gemm_threaded(const GemmArgs& g, const float* A, const float* B, float* C) {
  const int threads = pool_threads();
  const bool splitM = g.N <= g.M;
  const int64_t len = splitM ? g.M : g.N;
  // Every block streams the whole shared operand. When that outgrows L2 (a
  // long K: weight gradients summed over a batch's tokens) each pass is
  // memory traffic, so blocks grow until each thread takes about two.
  const int64_t blockUnit = splitM ? MR : NR;
  const bool streamed = g.K * (splitM ? g.N : g.M) > kSharedL2Floats;
  const int64_t minUnits = streamed ? imax(2, imin(splitM ? MC / MR : 16, ceil_div(ceil_div(len, blockUnit), 2 * threads))) : 2;
  const int64_t block = splitM ? block_size(len, threads, MR, minUnits, MC / MR) : block_size(len, threads, NR, minUnits, 16);
  if (threads <= 1 || g.M * g.N * g.K < kGemmParallelMin || g.K <= 0 || g.alpha == 0.0f || ceil_div(len, block) < 2) {
    gemm_serial(g.transA, g.transB, g.M, g.N, g.K, g.alpha, A, g.lda, B, g.ldb, g.beta, C, g.ldc);
    return;
  }
  // slabs of the shared side, each a whole number of panels
  const int64_t unit = splitM ? NR : MR;
  const int64_t side = splitM ? g.N : g.M;
  const int64_t slab = imax(1, kSharedMaxFloats / (g.K * unit)) * unit;
  for (int64_t o = 0; o < side; o += slab) {
    GemmArgs sub = g;
    if (splitM) {
      sub.N = imin(slab, g.N - o);
      gemm_shared_pass(sub, A, g.transB ? B + o * g.ldb : B + o, C + o, true, block, streamed);
    } else {
      sub.M = imin(slab, g.M - o);
      gemm_shared_pass(sub, g.transA ? A + o : A + o * g.lda, B, C + o * g.ldc, false, block, streamed);
    }
  }
}

struct BatchJob {
  const GemmArgs* g;
};

static void run_batch(void* ctx, int64_t begin, int64_t end) {
  const GemmArgs& g = *static_cast<const BatchJob*>(ctx)->g;
  for (int64_t b = begin; b < end; b++)
    gemm_serial(g.transA, g.transB, g.M, g.N, g.K, g.alpha, g.A + b * g.strideA, g.lda, g.B + b * g.strideB, g.ldb, g.beta,
                g.C + b * g.strideC, g.ldc);
}

static void gemm(const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0 || g.batch <= 0) return;
  const int threads = pool_threads();
  const int64_t work = g.M * g.N * g.K;
  // Many small products: one whole product per thread. Otherwise thread each product.
  if (g.batch > 1 && threads > 1 && (g.batch >= 4 * threads || work < 8 * kGemmParallelMin) &&
      work * g.batch >= kGemmParallelMin) {
    BatchJob job{&g};
    parallel_for(g.batch, 1, run_batch, &job);
    return;
  }
  for (int64_t b = 0; b < g.batch; b++) gemm_threaded(g, g.A + b * g.strideA, g.B + b * g.strideB, g.C + b * g.strideC);
}

}  // namespace GVM_NS
}  // namespace gvm
