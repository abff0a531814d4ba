// The persistent thread pool and per-thread scratch memory shared by every
// ISA variant of the kernels. Plain function-pointer interface, so the
// ISA-specific translation units need no C++ library templates from here.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace gvm {

typedef void (*RangeFn)(void* ctx, int64_t begin, int64_t end);

// Threads a parallel_for may use, the calling thread included (>= 1).
int pool_threads();

// Sets the thread count; idle workers beyond it exit, missing ones start.
void pool_set_threads(int n);

// Runs fn(ctx, begin, end) over [0, n) in chunks of `grain` items, on up to
// pool_threads() threads, the caller included; returns when all are done.
// Nested or concurrent calls (another worker_thread's kernel) run serially
// on the calling thread instead of waiting for the pool.
void parallel_for(int64_t n, int64_t grain, RangeFn fn, void* ctx);

// Convenience over parallel_for for a callable f(begin, end).
template <class F>
inline void parallel_range(int64_t n, int64_t grain, F& f) {
  parallel_for(n, grain, [](void* c, int64_t b, int64_t e) { (*static_cast<F*>(c))(b, e); }, &f);
}

// A thread-local, 64-byte aligned buffer of at least `floats` floats for the
// given slot (0..7), kept between calls; contents are unspecified.
float* scratch(int slot, size_t floats);

}  // namespace gvm
