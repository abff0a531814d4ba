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

// An idle worker (and a dispatcher waiting for its workers) spins, then
// yields, then sleeps. Spinning catches the next of a run of back-to-back
// kernels; a worker asleep when a job comes joins it late (a futex wake-up
// in a VM), and some of decode's kernels come more than 20 us after the
// last. Spinning 200 us instead of 20 made tiny decode 1.15x faster on a
// quiet machine but 0.78x as fast beside a busy process, whose CPU share
// the spinning worker took. So after kSpin a waiter yields instead of
// pausing, and a yield that comes back late (kYieldGap: another thread ran)
// says the core is contended: it sleeps at once. Quiet, it keeps yielding
// until kYieldSpin. Measured against the plain 20 us spin, paired rounds:
// tiny decode 1.08x and the demo RL iteration 1.04x quiet; 0.99x and 1.04x
// beside a busy process (a plain yield until kYieldSpin: 0.97x there).
constexpr auto kSpin = std::chrono::microseconds(20);
constexpr auto kYieldSpin = std::chrono::microseconds(300);
constexpr auto kYieldGap = std::chrono::microseconds(10);

// Spins, then yields, until ready(); false when the caller should sleep
// instead: the wait outlasted kYieldSpin, or the core is contended.
template <typename Ready>
bool spin_wait(Ready ready) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  int spins = 0;
  bool yielding = false;
  while (!ready()) {
    if (yielding) {
      const auto before = clock::now();
      std::this_thread::yield();
      if (clock::now() - before > kYieldGap) return false;
    } else {
      GVM_PAUSE();
      if (++spins % 256 != 0) continue;
    }
    const auto waited = clock::now() - start;
    if (waited > kYieldSpin) return false;
    yielding = waited > kSpin;
  }
  return true;
}

// A job is open while the dispatching thread works on it; workers join an
// open job, take chunks, and leave. `state` packs the job's serial number, a
// closed bit and the count of workers inside, so joining is one CAS that
// fails once the job is closed. The dispatcher waits only for workers that
// joined: a worker still asleep, or waiting for a core on a busy machine,
// never holds up a job the dispatcher finished alone.
constexpr uint64_t kInside = (uint64_t{1} << 32) - 1;
constexpr uint64_t kClosed = uint64_t{1} << 32;
constexpr int kSerialShift = 33;

struct Pool {
  std::mutex busy;  // held by the dispatching thread for a whole job
  std::vector<std::thread> workers;
  std::atomic<int> threads{1};  // read without the lock by kernels sizing their work

  std::atomic<uint64_t> generation{0};  // bumped per job to wake workers
  std::atomic<uint64_t> state{kClosed};
  uint64_t serial = 0;
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  std::mutex sleep_mutex;
  std::condition_variable wake;
  std::atomic<bool> dispatcher_sleeping{false};
  std::mutex done_mutex;
  std::condition_variable done;  // the last worker out of a closed job wakes a sleeping dispatcher

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

  // Joins the open job, if any, and works on it until its chunks run out.
  void join() {
    uint64_t s = state.load(std::memory_order_acquire);
    do {
      if (s & kClosed) return;
    } while (!state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire));
    run_chunks();
    // seq_cst on both sides of the flag handshake, so a wake-up cannot be lost
    const uint64_t left = state.fetch_sub(1) - 1;
    if ((left & kInside) == 0 && (left & kClosed) && dispatcher_sleeping.load()) {
      { std::lock_guard<std::mutex> lock(done_mutex); }
      done.notify_one();
    }
  }

  // `seen` is the generation when the worker was created: a job published
  // before the thread first runs must still be picked up.
  void worker_loop(uint64_t seen) {
    for (;;) {
      if (!spin_wait([&] { return generation.load(std::memory_order_acquire) != seen || stop.load(std::memory_order_acquire); })) {
        std::unique_lock<std::mutex> lock(sleep_mutex);
        sleepers.fetch_add(1);
        wake.wait(lock, [&] { return generation.load() != seen || stop.load(); });
        sleepers.fetch_sub(1);
      }
      if (stop.load(std::memory_order_acquire)) return;
      seen = generation.load(std::memory_order_acquire);
      join();
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
    serial++;
    state.store(serial << kSerialShift, std::memory_order_release);
    generation.fetch_add(1, std::memory_order_acq_rel);
    if (sleepers.load() > 0) {
      { std::lock_guard<std::mutex> lock(sleep_mutex); }
      wake.notify_all();
    }
    run_chunks();
    // Wait for the workers inside to finish their chunks, as an idle worker
    // waits for a job (spin_wait), so that a worker waiting for a core on a
    // busy machine is not kept from it by this thread.
    if ((state.fetch_or(kClosed, std::memory_order_acq_rel) & kInside) == 0) return;
    if (spin_wait([&] { return (state.load(std::memory_order_acquire) & kInside) == 0; })) return;
    std::unique_lock<std::mutex> lock(done_mutex);
    dispatcher_sleeping.store(true);
    done.wait(lock, [&] { return (state.load() & kInside) == 0; });
    dispatcher_sleeping.store(false);
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
