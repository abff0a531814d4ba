// The single-thread GEMM, written once over the VF vector type of the
// including ISA file (isa_*.cc defines GVM_NS, GVM_MR, GVM_NV, GVM_KC,
// GVM_MC, GVM_NC and GVM_PREFETCH_C first); impl_gemm.h threads it.
//
// GotoBLAS/BLIS structure: op(B) is packed into KC x NC blocks of NR-wide
// column panels, op(A) into MC x KC blocks of MR-tall row panels; an MR x NR
// register-blocked FMA microkernel runs over the packed panels. Transposes
// are absorbed by the packing, so all four combinations share one kernel.
// C adds one KC block's product at a time, in K order, however a product is
// threaded: that order is what makes every thread count give the same bits.
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

// Asks for n contiguous rows of `bytes` each ahead of use (the GEMM's next
// panel of rows, decode attention's cache rows).
static inline void prefetch_rows(const float* p, int64_t n, int64_t bytes) {
  const char* c = reinterpret_cast<const char*>(p);
  for (int64_t off = 0; off < n * bytes; off += 64) __builtin_prefetch(c + off, 0, 3);
}

// C[mr x nr] (+)= alpha * panel(a) panel(b) over kc, full tile or edge.
static inline void tile(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr, float alpha,
                        float beta) {
  if (mr == MR && nr == NR)
    ukernel(kc, a, b, c, ldc, alpha, beta);
  else
    ukernel_edge(kc, a, b, c, ldc, mr, nr, alpha, beta);
}

}  // namespace GVM_NS
}  // namespace gvm
