// Persistent worker threads that spin briefly between jobs (decode issues
// many small kernel calls back to back) and then sleep on a condition
// variable. One job runs at a time; a call that finds the pool busy runs
// serially, which makes nesting and concurrent worker_threads safe.
#include "pool.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GVM_PAUSE() _mm_pause()
#else
#define GVM_PAUSE() \
  do {              \
  } while (0)
#endif

namespace gvm {
namespace {

// Long enough to catch the next kernel of a run of back-to-back calls, short
// enough that an idle worker does not burn the CPU share a busy machine
// would give our working threads (200 us cost decode ~25% and training ~3%
// with other jobs running; a futex wake-up costs a few us when idle).
constexpr auto kSpin = std::chrono::microseconds(20);

struct Pool {
  std::mutex busy;  // held by the dispatching thread for a whole job
  std::vector<std::thread> workers;
  std::atomic<int> threads{1};  // read without the lock by kernels sizing their work

  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};  // workers that have not finished the current job
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  std::mutex sleep_mutex;
  std::condition_variable wake;

  RangeFn fn = nullptr;
  void* ctx = nullptr;
  int64_t n = 0;
  int64_t grain = 1;
  std::atomic<int64_t> next{0};

  void run_chunks() {
    for (;;) {
      int64_t begin = next.fetch_add(grain, std::memory_order_relaxed);
      if (begin >= n) return;
      int64_t end = begin + grain < n ? begin + grain : n;
      fn(ctx, begin, end);
    }
  }

  // `seen` is the generation when the worker was created: a job published
  // before the thread first runs must still be picked up.
  void worker_loop(uint64_t seen) {
    for (;;) {
      auto start = std::chrono::steady_clock::now();
      int spins = 0;
      while (generation.load(std::memory_order_acquire) == seen && !stop.load(std::memory_order_acquire)) {
        GVM_PAUSE();
        if (++spins % 256 == 0 && std::chrono::steady_clock::now() - start > kSpin) {
          std::unique_lock<std::mutex> lock(sleep_mutex);
          sleepers.fetch_add(1);
          wake.wait(lock, [&] { return generation.load() != seen || stop.load(); });
          sleepers.fetch_sub(1);
          break;
        }
      }
      if (stop.load(std::memory_order_acquire)) return;
      seen = generation.load(std::memory_order_acquire);
      run_chunks();
      pending.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(sleep_mutex);
      stop.store(true);
    }
    wake.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    stop.store(false);
  }

  void resize(int count) {
    std::lock_guard<std::mutex> hold(busy);
    if (count < 1) count = 1;
    if (count == threads.load()) return;
    stop_workers();
    threads.store(count);
    const uint64_t now = generation.load();
    for (int i = 1; i < count; i++) workers.emplace_back([this, now] { worker_loop(now); });
  }

  void dispatch(int64_t count, int64_t chunk, RangeFn f, void* c) {
    fn = f;
    ctx = c;
    n = count;
    grain = chunk;
    next.store(0, std::memory_order_relaxed);
    pending.store(static_cast<int>(workers.size()), std::memory_order_relaxed);
    generation.fetch_add(1);
    if (sleepers.load() > 0) {
      { std::lock_guard<std::mutex> lock(sleep_mutex); }
      wake.notify_all();
    }
    run_chunks();
    int spins = 0;
    while (pending.load(std::memory_order_acquire) != 0) {
      GVM_PAUSE();
      if (++spins > 4096) std::this_thread::yield();
    }
  }
};

// Never destroyed: worker threads may still be parked when the process exits.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

struct Scratch {
  float* ptr[8] = {nullptr};
  size_t size[8] = {0};
  ~Scratch() {
    for (auto* p : ptr) free(p);
  }
};

thread_local Scratch tls_scratch;

}  // namespace

int pool_threads() { return pool().threads.load(std::memory_order_relaxed); }

void pool_set_threads(int n) { pool().resize(n); }

void parallel_for(int64_t n, int64_t grain, RangeFn fn, void* ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  Pool& p = pool();
  if (n <= grain || p.threads.load(std::memory_order_relaxed) <= 1) {
    fn(ctx, 0, n);
    return;
  }
  std::unique_lock<std::mutex> hold(p.busy, std::try_to_lock);
  if (!hold.owns_lock() || p.workers.empty()) {
    fn(ctx, 0, n);
    return;
  }
  p.dispatch(n, grain, fn, ctx);
}

float* scratch(int slot, size_t floats) {
  Scratch& s = tls_scratch;
  if (s.size[slot] < floats) {
    free(s.ptr[slot]);
    size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
    s.ptr[slot] = static_cast<float*>(aligned_alloc(64, bytes));
    if (!s.ptr[slot]) abort();
    s.size[slot] = floats;
  }
  return s.ptr[slot];
}

}  // namespace gvm
