// The threaded GEMM over impl_gemm_kernel.h's single-thread one. Small
// products stay on one thread; batches of small products take one product
// per thread; a larger product is shared out either as blocks of C's long
// side against the other operand, packed once (gemm_shared_pass), or, for a
// long K over a small C, as ranges of K (gemm_ksplit).
#pragma once
#include <stdint.h>

#include "impl_gemm_kernel.h"
#include "pool.h"
#include "table.h"

namespace gvm {
namespace GVM_NS {

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
// weight gradients ran as 96, 96, 96 and 56 rows on 2 threads before they
// took ranges of K instead). Smaller blocks at
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

// `rows` rows of a row-major op(A) (kc floats each, lda apart) asked for
// ahead of their packing: part `part` of `parts`, so the requests spread
// over the tiles in between. (A transposed op(A), rarer here, gained nothing
// from the same.)
static inline void prefetch_a_rows(const float* A, int64_t lda, int64_t rows, int64_t kc, int64_t part, int64_t parts) {
  for (int64_t r = rows * part / parts; r < rows * (part + 1) / parts; r++) prefetch_rows(A + r * lda, 1, kc * 4);
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
        // rows [o, o + mb) against all of op(B), one MR panel at a time: the
        // panel packs into L1 and meets every B micro-panel (op(B)'s block
        // stays in L2). The next panel's rows are asked for while this one's
        // tiles run, so its packing does not wait on memory.
        const int64_t mb = size;
        float* Ap = scratch(0, static_cast<size_t>(MR * kc));
        const int64_t tiles = ceil_div(g.N, NR);
        for (int64_t ir = 0; ir < mb; ir += MR) {
          const int64_t mr = imin(MR, mb - ir), row = o + ir;
          pack_a(g.transA, g.transA ? s.A + pc * g.lda + row : s.A + row * g.lda + pc, g.lda, mr, kc, Ap);
          const int64_t nextRows = imin(MR, mb - ir - MR);
          for (int64_t t = 0, jr = 0; jr < g.N; jr += NR, t++) {
            if (nextRows > 0 && !g.transA) prefetch_a_rows(s.A + (row + MR) * g.lda + pc, g.lda, nextRows, kc, t, tiles);
            tile(kc, Ap, sh + jr * kc, s.C + row * g.ldc + jr, g.ldc, mr, imin(NR, g.N - jr), g.alpha, betaBlock);
          }
        }
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

// Threaded GEMM over ranges of K for a long K and a small C (weight
// gradients summed over a batch's tokens). Sharing one packed operand there
// means every block streams it back from beyond L2, much of it packed by the
// other core, and two threads ran the demo policy's weight gradients only
// 1.2-1.3x faster than one. Here each range runs gemm_serial on its own slice of
// A and B, both packed where they are used. Range 0 accumulates into C;
// the others keep each KC block's product apart, and C adds them in K order
// afterwards: the same sum, rounded at the same steps, as gemm_serial's
// C = C + alpha * (block product) with alpha == 1, so every thread count
// still gives the same bits.
struct KSplitJob {
  const GemmArgs* g;
  const float *A, *B;
  float* C;
  Blocks ranges;    // range r: K blocks [ranges.start(r), ranges.start(r + 1))
  float* partial;   // block p past range 0 (p >= ranges.start(1)) at partial[p - ranges.start(1)], M x N each
};

static void run_ksplit(void* ctx, int64_t begin, int64_t end) {
  const KSplitJob& s = *static_cast<const KSplitJob*>(ctx);
  const GemmArgs& g = *s.g;
  const int64_t MN = g.M * g.N;
  for (int64_t r = begin; r < end; r++) {
    const int64_t p0 = s.ranges.start(r), p1 = s.ranges.start(r + 1);
    if (r == 0) {
      gemm_serial(g.transA, g.transB, g.M, g.N, imin(g.K, p1 * KC), g.alpha, s.A, g.lda, s.B, g.ldb, g.beta, s.C, g.ldc);
      continue;
    }
    for (int64_t p = p0; p < p1; p++) {
      const int64_t pc = p * KC, kc = imin(KC, g.K - pc);
      gemm_serial(g.transA, g.transB, g.M, g.N, kc, 1.0f, g.transA ? s.A + pc * g.lda : s.A + pc, g.lda,
                  g.transB ? s.B + pc : s.B + pc * g.ldb, g.ldb, 0.0f, s.partial + (p - s.ranges.start(1)) * MN, g.N);
    }
  }
}

static void add_partials(void* ctx, int64_t begin, int64_t end) {
  const KSplitJob& s = *static_cast<const KSplitJob*>(ctx);
  const GemmArgs& g = *s.g;
  const int64_t MN = g.M * g.N, first = s.ranges.start(1);
  for (int64_t i = begin; i < end; i++) {
    float* c = s.C + i * g.ldc;
    for (int64_t p = first; p < s.ranges.len; p++) {
      const float* x = s.partial + (p - first) * MN + i * g.N;
      int64_t j = 0;
      for (; j + W <= g.N; j += W) vstore(c + j, vload(c + j) + vload(x + j));
      for (; j < g.N; j++) c[j] += x[j];
    }
  }
}

// K ranges per thread: more than one, so a thread that loses its core holds
// up a fraction of the product; few, since every block outside range 0 is
// written out and read back.
constexpr int64_t kKSplitRangesPerThread = 2;
// Floats of block products kept apart at most (as for the shared operand).
constexpr int64_t kKSplitMaxPartialFloats = int64_t{1} << 21;

// The ranges of K for gemm_ksplit, or none (count 0) when alpha is not 1
// (the sum in K order is one thread's only then), when K has too few blocks
// for every thread to take two ranges, or when too many floats would be
// kept apart.
static Blocks ksplit_ranges(const GemmArgs& g, int threads) {
  const int64_t blocks = ceil_div(g.K, KC), count = kKSplitRangesPerThread * threads;
  const Blocks r{blocks, 1, blocks / count, blocks % count, count};
  if (g.alpha != 1.0f || blocks < count || (blocks - r.start(1)) * g.M * g.N > kKSplitMaxPartialFloats) return {0, 1, 0, 0, 0};
  return r;
}

static void gemm_ksplit(const GemmArgs& g, const float* A, const float* B, float* C, const Blocks& ranges, int threads) {
  float* partial = scratch(3, static_cast<size_t>((ranges.len - ranges.start(1)) * g.M * g.N));
  KSplitJob s{&g, A, B, C, ranges, partial};
  parallel_for(ranges.count, 1, run_ksplit, &s);
  parallel_for(g.M, imax(1, ceil_div(g.M, 8 * threads)), add_partials, &s);
}

static void gemm_threaded(const GemmArgs& g, const float* A, const float* B, float* C) {
  const int threads = pool_threads();
  const bool splitM = g.N <= g.M;
  const int64_t len = splitM ? g.M : g.N;
  // Every block streams the whole shared operand. When that outgrows L2 (a
  // long K: weight gradients summed over a batch's tokens) each pass is
  // memory traffic: such products take ranges of K where they can, and
  // otherwise blocks grow until each thread takes about two.
  const int64_t blockUnit = splitM ? MR : NR;
  const bool streamed = g.K * (splitM ? g.N : g.M) > kSharedL2Floats;
  const int64_t minUnits = streamed ? imax(2, imin(splitM ? MC / MR : 16, ceil_div(ceil_div(len, blockUnit), 2 * threads))) : 2;
  const int64_t block = splitM ? block_size(len, threads, MR, minUnits, MC / MR) : block_size(len, threads, NR, minUnits, 16);
  const bool fewBlocks = ceil_div(len, block) < 2;
  if (threads <= 1 || g.M * g.N * g.K < kGemmParallelMin || g.K <= 0 || g.alpha == 0.0f) {
    gemm_serial(g.transA, g.transB, g.M, g.N, g.K, g.alpha, A, g.lda, B, g.ldb, g.beta, C, g.ldc);
    return;
  }
  // A long K over a C too small to share out, or a shared operand beyond L2: ranges of K
  if (streamed || fewBlocks) {
    const Blocks ranges = ksplit_ranges(g, threads);
    if (ranges.count > 0) {
      gemm_ksplit(g, A, B, C, ranges, threads);
      return;
    }
  }
  if (fewBlocks) {
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
