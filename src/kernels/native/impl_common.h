// Threading helpers shared by the non-GEMM kernels of one ISA file. Small
// calls stay on the calling thread: decode and tiny shapes are bound by
// call overhead, and waking workers would cost more than the work.
#pragma once
#include <stdint.h>

#include "pool.h"

namespace gvm {
namespace GVM_NS {

constexpr int64_t kParallelMinElems = 1 << 15;
constexpr int64_t kChunkElems = 1 << 13;

// f(begin, end) over [0, n) elements, threaded when n is large.
template <class F>
static inline void for_chunks(int64_t n, F&& f) {
  if (n < kParallelMinElems || pool_threads() <= 1) {
    f(int64_t{0}, n);
    return;
  }
  parallel_range(n, kChunkElems, f);
}

// f(begin, end) over [0, rows) rows of `cols` elements each, threaded when large.
template <class F>
static inline void for_rows(int64_t rows, int64_t cols, F&& f) {
  const int64_t c = cols > 0 ? cols : 1;
  if (rows < 2 || rows * c < kParallelMinElems || pool_threads() <= 1) {
    f(int64_t{0}, rows);
    return;
  }
  int64_t grain = kChunkElems / c;
  if (grain < 1) grain = 1;
  parallel_range(rows, grain, f);
}

// f(begin, end) over [0, n) independent tasks of roughly `work` elements each.
template <class F>
static inline void for_tasks(int64_t n, int64_t work, F&& f) {
  if (n < 2 || n * work < kParallelMinElems || pool_threads() <= 1) {
    f(int64_t{0}, n);
    return;
  }
  parallel_range(n, 1, f);
}

}  // namespace GVM_NS
}  // namespace gvm
