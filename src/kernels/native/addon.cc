// The N-API binding. Each kernel is exported with the exact argument list of
// src/kernels/types.ts, bound to one ISA's dispatch table. Hot calls use the
// raw C API (no allocation per call); every size and index is checked against
// the arrays before any kernel runs, so a bad call throws a RangeError that
// names the op and the shapes instead of corrupting memory.
#include <napi.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "args.h"
#include "cpu.h"
#include "draw.h"
#include "pool.h"
#include "table.h"

namespace gvm {
namespace {

using binding::Call;
using binding::extent;

napi_value Gemm(napi_env env, napi_callback_info info) {
  Call c(env, info, "gemm", 17);
  GemmArgs g;
  g.transA = c.flag(0, "transA");
  g.transB = c.flag(1, "transB");
  g.M = c.size(2, "M");
  g.N = c.size(3, "N");
  g.K = c.size(4, "K");
  g.alpha = static_cast<float>(c.num(5, "alpha"));
  g.lda = c.size(7, "lda");
  g.ldb = c.size(9, "ldb");
  g.beta = static_cast<float>(c.num(10, "beta"));
  g.ldc = c.size(12, "ldc");
  g.batch = c.size(13, "batch");
  g.strideA = c.size(14, "strideA");
  g.strideB = c.size(15, "strideB");
  g.strideC = c.size(16, "strideC");
  if (c.failed) return nullptr;
  const int64_t aRows = g.transA ? g.K : g.M, aCols = g.transA ? g.M : g.K;
  const int64_t bRows = g.transB ? g.N : g.K, bCols = g.transB ? g.K : g.N;
  if (aRows > 0 && aCols > 0 && g.lda < aCols)
    c.fail_range("lda = %lld is less than the %lld columns of A (transA = %d)", (long long)g.lda, (long long)aCols, g.transA);
  if (bRows > 0 && bCols > 0 && g.ldb < bCols)
    c.fail_range("ldb = %lld is less than the %lld columns of B (transB = %d)", (long long)g.ldb, (long long)bCols, g.transB);
  if (g.M > 0 && g.N > 0 && g.ldc < g.N) c.fail_range("ldc = %lld is less than N = %lld", (long long)g.ldc, (long long)g.N);
  const bool used = g.M > 0 && g.N > 0 && g.K > 0 && g.alpha != 0.0f;
  g.A = c.f32(6, "A", used ? extent(g.batch, g.strideA, aRows, aCols, g.lda) : 0);
  g.B = c.f32(8, "B", used ? extent(g.batch, g.strideB, bRows, bCols, g.ldb) : 0);
  g.C = c.f32(11, "C", extent(g.batch, g.strideC, g.M, g.N, g.ldc));
  if (c.failed) return nullptr;
  c.table->gemm(g);
  return nullptr;
}

napi_value Axpy(napi_env env, napi_callback_info info) {
  Call c(env, info, "axpy", 4);
  int64_t n = c.size(0, "n");
  float alpha = static_cast<float>(c.num(1, "alpha"));
  const float* x = c.f32(2, "x", n);
  float* y = c.f32(3, "y", n);
  if (c.failed) return nullptr;
  c.table->axpy(n, alpha, x, y);
  return nullptr;
}

napi_value Scale(napi_env env, napi_callback_info info) {
  Call c(env, info, "scale", 3);
  int64_t n = c.size(0, "n");
  float alpha = static_cast<float>(c.num(1, "alpha"));
  float* x = c.f32(2, "x", n);
  if (c.failed) return nullptr;
  c.table->scale(n, alpha, x);
  return nullptr;
}

napi_value AddBias(napi_env env, napi_callback_info info) {
  Call c(env, info, "addBias", 5);
  int64_t rows = c.size(0, "rows"), cols = c.size(1, "cols");
  const float* x = c.f32(2, "x", rows * cols);
  const float* bias = c.f32(3, "bias", cols);
  float* out = c.f32(4, "out", rows * cols);
  if (c.failed) return nullptr;
  c.table->addBias(rows, cols, x, bias, out);
  return nullptr;
}

napi_value SumRows(napi_env env, napi_callback_info info) {
  Call c(env, info, "sumRows", 4);
  int64_t rows = c.size(0, "rows"), cols = c.size(1, "cols");
  const float* x = c.f32(2, "x", rows * cols);
  float* out = c.f32(3, "out", cols);
  if (c.failed) return nullptr;
  c.table->sumRows(rows, cols, x, out);
  return nullptr;
}

napi_value CopyRows(napi_env env, napi_callback_info info) {
  Call c(env, info, "copyRows", 6);
  int64_t rows = c.size(0, "rows"), cols = c.size(1, "cols");
  int64_t srcStride = c.size(3, "srcStride"), dstStride = c.size(5, "dstStride");
  if (!c.failed && rows > 0 && cols > 0 && (srcStride < cols || dstStride < cols))
    c.fail_range("strides %lld and %lld must be at least cols = %lld", (long long)srcStride, (long long)dstStride, (long long)cols);
  const float* src = c.f32(2, "src", extent(1, 0, rows, cols, srcStride));
  float* dst = c.f32(4, "dst", extent(1, 0, rows, cols, dstStride));
  if (c.failed) return nullptr;
  c.table->copyRows(rows, cols, src, srcStride, dst, dstStride);
  return nullptr;
}

napi_value SumSquares(napi_env env, napi_callback_info info) {
  Call c(env, info, "sumSquares", 2);
  int64_t n = c.size(0, "n");
  const float* x = c.f32(1, "x", n);
  if (c.failed) return nullptr;
  napi_value result;
  napi_create_double(env, c.table->sumSquares(n, x), &result);
  return result;
}

napi_value RmsnormForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "rmsnormForward", 7);
  int64_t rows = c.size(0, "rows"), dim = c.size(1, "dim");
  float eps = static_cast<float>(c.num(2, "eps"));
  const float* x = c.f32(3, "x", rows * dim);
  const float* w = c.f32(4, "w", dim);
  float* out = c.f32(5, "out", rows * dim);
  float* rstd = c.f32(6, "rstd", rows);
  if (c.failed) return nullptr;
  c.table->rmsnormForward(rows, dim, eps, x, w, out, rstd);
  return nullptr;
}

napi_value RmsnormBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "rmsnormBackward", 8);
  int64_t rows = c.size(0, "rows"), dim = c.size(1, "dim");
  const float* dy = c.f32(2, "dy", rows * dim);
  const float* x = c.f32(3, "x", rows * dim);
  const float* w = c.f32(4, "w", dim);
  const float* rstd = c.f32(5, "rstd", rows);
  float* dx = c.f32(6, "dx", rows * dim);
  float* dw = c.f32(7, "dw", dim);
  if (c.failed) return nullptr;
  c.table->rmsnormBackward(rows, dim, dy, x, w, rstd, dx, dw);
  return nullptr;
}

napi_value Rope(napi_env env, napi_callback_info info) {
  Call c(env, info, "rope", 10);
  int64_t tokens = c.size(0, "tokens"), heads = c.size(1, "heads"), headDim = c.size(2, "headDim");
  if (!c.failed && headDim % 2 != 0) c.fail_range("headDim = %lld must be even", (long long)headDim);
  const int64_t half = headDim / 2;
  const double n = static_cast<double>(tokens) * heads * headDim;
  const float* x = c.f32(3, "x", n);
  const int32_t* positions = c.i32(4, "positions", tokens);
  size_t cosLen = 0, sinLen = 0;
  const float* cosT = c.f32(5, "cos", 0, &cosLen);
  const float* sinT = c.f32(6, "sin", 0, &sinLen);
  float* out = c.f32(7, "out", n);
  double sign = c.num(8, "sign");
  bool accumulate = c.flag(9, "accumulate");
  if (!c.failed && sign != 1.0 && sign != -1.0) c.fail_range("sign must be 1 or -1, got %g", sign);
  if (c.failed) return nullptr;
  const int64_t maxPos = half > 0 ? static_cast<int64_t>(cosLen < sinLen ? cosLen : sinLen) / half : 0;
  if (half > 0 && heads > 0) {
    for (int64_t t = 0; t < tokens; t++) {
      if (positions[t] < 0 || positions[t] >= maxPos) {
        c.fail_range("positions[%lld] = %d is outside the %lld positions of the cos/sin tables (headDim %lld)",
                     (long long)t, positions[t], (long long)maxPos, (long long)headDim);
        return nullptr;
      }
    }
  }
  c.table->rope(tokens, heads, headDim, x, positions, cosT, sinT, out, sign > 0 ? 1 : -1, accumulate);
  return nullptr;
}

napi_value SwigluForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "swigluForward", 4);
  int64_t n = c.size(0, "n");
  const float* gate = c.f32(1, "gate", n);
  const float* up = c.f32(2, "up", n);
  float* out = c.f32(3, "out", n);
  if (c.failed) return nullptr;
  c.table->swigluForward(n, gate, up, out);
  return nullptr;
}

napi_value SwigluBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "swigluBackward", 7);
  int64_t n = c.size(0, "n");
  const float* gate = c.f32(1, "gate", n);
  const float* up = c.f32(2, "up", n);
  const float* dout = c.f32(3, "dout", n);
  float* dgate = c.f32(4, "dgate", n);
  float* dup = c.f32(5, "dup", n);
  const bool accumulate = c.flag(6, "accumulate");
  if (c.failed) return nullptr;
  c.table->swigluBackward(n, gate, up, dout, dgate, dup, accumulate);
  return nullptr;
}

// H a positive multiple of Hkv, and kvLen within the capacity Tk.
bool heads_and_length_ok(Call& c, int64_t H, int64_t Hkv, int64_t kvLen, int64_t Tk) {
  if (Hkv == 0 || H % Hkv != 0) {
    c.fail_range("H = %lld must be a positive multiple of Hkv = %lld", (long long)H, (long long)Hkv);
    return false;
  }
  if (kvLen > Tk) {
    c.fail_range("kvLen = %lld exceeds the KV capacity Tk = %lld", (long long)kvLen, (long long)Tk);
    return false;
  }
  return true;
}

// Sizes and arrays shared by attention forward and backward.
bool attention_args(Call& c, AttnArgs& a, bool backward) {
  a.B = c.size(0, "B");
  a.Tq = c.size(1, "Tq");
  a.Tk = c.size(2, "Tk");
  a.kvLen = c.size(3, "kvLen");
  a.H = c.size(4, "H");
  a.Hkv = c.size(5, "Hkv");
  a.D = c.size(6, "D");
  a.scale = static_cast<float>(c.num(7, "scale"));
  if (c.failed || !heads_and_length_ok(c, a.H, a.Hkv, a.kvLen, a.Tk)) return false;
  const double nq = static_cast<double>(a.B) * a.Tq * a.H * a.D, nk = static_cast<double>(a.B) * a.Tk * a.Hkv * a.D,
               nl = static_cast<double>(a.B) * a.H * a.Tq;
  a.q = c.f32(8, "q", nq);
  a.k = c.f32(9, "k", nk);
  a.v = c.f32(10, "v", nk);
  a.keyMask = c.is_null(11) ? nullptr : c.u8(11, "keyMask", a.B * a.Tk);
  a.out = c.f32(12, "out", nq);
  a.lse = (!backward && c.is_null(13)) ? nullptr : c.f32(13, "lse", nl);
  if (backward) {
    a.dout = c.f32(14, "dout", nq);
    a.dq = c.f32(15, "dq", nq);
    a.dk = c.f32(16, "dk", nk);
    a.dv = c.f32(17, "dv", nk);
  } else {
    a.dout = nullptr;
    a.dq = a.dk = a.dv = nullptr;
  }
  return !c.failed;
}

napi_value AttentionForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "attentionForward", 14);
  AttnArgs a;
  if (c.failed || !attention_args(c, a, false)) return nullptr;
  c.table->attentionForward(a);
  return nullptr;
}

napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "attentionBackward", 18);
  AttnArgs a;
  if (c.failed || !attention_args(c, a, true)) return nullptr;
  c.table->attentionBackward(a);
  return nullptr;
}

// Ids index rows of a (V, dim) table: V from its length.
bool check_ids(Call& c, const int32_t* ids, int64_t n, int64_t V, const char* name, bool allowNegative) {
  for (int64_t i = 0; i < n; i++) {
    if ((ids[i] < 0 && !allowNegative) || ids[i] >= V) {
      c.fail_range("%s[%lld] = %d is outside [0, %lld)", name, (long long)i, ids[i], (long long)V);
      return false;
    }
  }
  return true;
}

napi_value AttentionDecode(napi_env env, napi_callback_info info) {
  Call c(env, info, "attentionDecode", 18);
  AttnDecodeArgs a;
  a.B = c.size(0, "B");
  a.H = c.size(1, "H");
  a.Hkv = c.size(2, "Hkv");
  a.D = c.size(3, "D");
  a.scale = static_cast<float>(c.num(4, "scale"));
  a.P = c.size(5, "P");
  const int64_t G = c.size(6, "G");
  a.Tk = c.size(7, "Tk");
  a.kvLen = c.size(8, "kvLen");
  if (c.failed || !heads_and_length_ok(c, a.H, a.Hkv, a.kvLen, a.Tk)) return nullptr;
  const double kv = static_cast<double>(a.Hkv) * a.D, nq = static_cast<double>(a.B) * a.H * a.D;
  a.q = c.f32(9, "q", nq);
  a.pk = c.f32(10, "prefixK", G * a.P * kv);
  a.pv = c.f32(11, "prefixV", G * a.P * kv);
  a.prefixMask = c.is_null(12) ? nullptr : c.u8(12, "prefixMask", G * a.P);
  a.group = c.i32(13, "group", a.B);
  a.k = c.f32(14, "k", a.B * a.Tk * kv);
  a.v = c.f32(15, "v", a.B * a.Tk * kv);
  a.keyMask = c.is_null(16) ? nullptr : c.u8(16, "keyMask", a.B * a.Tk);
  a.out = c.f32(17, "out", nq);
  if (c.failed || !check_ids(c, a.group, a.B, G, "group", false)) return nullptr;
  c.table->attentionDecode(a);
  return nullptr;
}

// Sizes and arrays of attentionPrefixed{Forward,Backward}; order and start
// (each prompt's readers, see AttnPrefixedArgs) are built into the vectors.
bool attention_prefixed_args(Call& c, AttnPrefixedArgs& a, bool backward, std::vector<int32_t>& order, std::vector<int32_t>& start) {
  a.G = c.size(0, "G");
  a.P = c.size(1, "P");
  a.B = c.size(2, "B");
  a.S = c.size(3, "S");
  a.H = c.size(4, "H");
  a.Hkv = c.size(5, "Hkv");
  a.D = c.size(6, "D");
  a.scale = static_cast<float>(c.num(7, "scale"));
  if (c.failed || !heads_and_length_ok(c, a.H, a.Hkv, 0, 0)) return false;
  const double R = static_cast<double>(a.G) * a.P + static_cast<double>(a.B) * a.S;
  const double nq = R * a.H * a.D, nk = R * a.Hkv * a.D, nl = static_cast<double>(a.B) * a.H * (a.P + a.S);
  a.group = c.i32(8, "group", a.B);
  a.q = c.f32(9, "q", nq);
  a.k = c.f32(10, "k", nk);
  a.v = c.f32(11, "v", nk);
  a.keyMask = c.is_null(12) ? nullptr : c.u8(12, "keyMask", R);
  a.out = c.f32(13, "out", nq);
  a.lse = (!backward && c.is_null(14)) ? nullptr : c.f32(14, "lse", nl);
  a.dout = backward ? c.f32(15, "dout", nq) : nullptr;
  a.dq = backward ? c.f32(16, "dq", nq) : nullptr;
  a.dk = backward ? c.f32(17, "dk", nk) : nullptr;
  a.dv = backward ? c.f32(18, "dv", nk) : nullptr;
  if (c.failed || !check_ids(c, a.group, a.B, a.G, "group", false)) return false;
  start.assign(static_cast<size_t>(a.G + 1), 0);
  for (int64_t b = 0; b < a.B; b++) start[a.group[b] + 1]++;
  for (int64_t g = 0; g < a.G; g++) {
    if (start[g + 1] == 0) {
      c.fail_range("prompt %lld has no continuation in group", (long long)g);
      return false;
    }
    start[g + 1] += start[g];
  }
  order.assign(static_cast<size_t>(a.B), 0);
  std::vector<int32_t> next(start.begin(), start.end() - 1);
  for (int64_t b = 0; b < a.B; b++) order[next[a.group[b]]++] = static_cast<int32_t>(b);
  a.order = order.data();
  a.start = start.data();
  return true;
}

napi_value AttentionPrefixedForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "attentionPrefixedForward", 15);
  AttnPrefixedArgs a;
  std::vector<int32_t> order, start;
  if (c.failed || !attention_prefixed_args(c, a, false, order, start)) return nullptr;
  c.table->attentionPrefixedForward(a);
  return nullptr;
}

napi_value AttentionPrefixedBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "attentionPrefixedBackward", 19);
  AttnPrefixedArgs a;
  std::vector<int32_t> order, start;
  if (c.failed || !attention_prefixed_args(c, a, true, order, start)) return nullptr;
  c.table->attentionPrefixedBackward(a);
  return nullptr;
}

napi_value EmbeddingForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "embeddingForward", 5);
  int64_t n = c.size(0, "n"), dim = c.size(1, "dim");
  size_t wlen = 0;
  const float* weight = c.f32(2, "weight", 0, &wlen);
  const int32_t* ids = c.i32(3, "ids", n);
  float* out = c.f32(4, "out", n * dim);
  if (c.failed) return nullptr;
  if (dim > 0 && !check_ids(c, ids, n, static_cast<int64_t>(wlen) / dim, "ids", false)) return nullptr;
  c.table->embeddingForward(n, dim, weight, ids, out);
  return nullptr;
}

napi_value EmbeddingBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "embeddingBackward", 5);
  int64_t n = c.size(0, "n"), dim = c.size(1, "dim");
  const float* dout = c.f32(2, "dout", n * dim);
  const int32_t* ids = c.i32(3, "ids", n);
  size_t wlen = 0;
  float* dweight = c.f32(4, "dweight", 0, &wlen);
  if (c.failed) return nullptr;
  if (dim > 0 && !check_ids(c, ids, n, static_cast<int64_t>(wlen) / dim, "ids", false)) return nullptr;
  c.table->embeddingBackward(n, dim, dout, ids, dweight);
  return nullptr;
}

napi_value LogprobForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "logprobForward", 6);
  int64_t rows = c.size(0, "rows"), V = c.size(1, "V");
  const float* logits = c.f32(2, "logits", static_cast<double>(rows) * V);
  const int32_t* targets = c.i32(3, "targets", rows);
  float* logp = c.f32(4, "logp", rows);
  float* lse = c.f32(5, "lse", rows);
  if (c.failed || !check_ids(c, targets, rows, V, "targets", true)) return nullptr;
  c.table->logprobForward(rows, V, logits, targets, logp, lse);
  return nullptr;
}

napi_value LogprobBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "logprobBackward", 7);
  int64_t rows = c.size(0, "rows"), V = c.size(1, "V");
  const float* logits = c.f32(2, "logits", static_cast<double>(rows) * V);
  const int32_t* targets = c.i32(3, "targets", rows);
  const float* lse = c.f32(4, "lse", rows);
  const float* dlogp = c.f32(5, "dlogp", rows);
  float* dlogits = c.f32(6, "dlogits", rows * V);
  if (c.failed || !check_ids(c, targets, rows, V, "targets", true)) return nullptr;
  c.table->logprobBackward(rows, V, logits, targets, lse, dlogp, dlogits);
  return nullptr;
}

napi_value Entropy(napi_env env, napi_callback_info info) {
  Call c(env, info, "entropy", 4);
  int64_t rows = c.size(0, "rows"), V = c.size(1, "V");
  const float* logits = c.f32(2, "logits", static_cast<double>(rows) * V);
  float* out = c.f32(3, "out", rows);
  if (c.failed) return nullptr;
  c.table->entropy(rows, V, logits, out);
  return nullptr;
}

napi_value SoftmaxForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "softmaxForward", 4);
  int64_t rows = c.size(0, "rows"), cols = c.size(1, "cols");
  const float* x = c.f32(2, "x", rows * cols);
  float* out = c.f32(3, "out", rows * cols);
  if (c.failed) return nullptr;
  c.table->softmaxForward(rows, cols, x, out);
  return nullptr;
}

napi_value SoftmaxBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "softmaxBackward", 5);
  int64_t rows = c.size(0, "rows"), cols = c.size(1, "cols");
  const float* y = c.f32(2, "y", rows * cols);
  const float* dy = c.f32(3, "dy", rows * cols);
  float* dx = c.f32(4, "dx", rows * cols);
  if (c.failed) return nullptr;
  c.table->softmaxBackward(rows, cols, y, dy, dx);
  return nullptr;
}

napi_value Adamw(napi_env env, napi_callback_info info) {
  Call c(env, info, "adamw", 12);
  AdamArgs a;
  a.n = c.size(0, "n");
  a.param = c.f32(1, "param", a.n);
  a.grad = c.f32(2, "grad", a.n);
  a.m = c.f32(3, "m", a.n);
  a.v = c.f32(4, "v", a.n);
  a.lr = static_cast<float>(c.num(5, "lr"));
  a.beta1 = static_cast<float>(c.num(6, "beta1"));
  a.beta2 = static_cast<float>(c.num(7, "beta2"));
  a.eps = static_cast<float>(c.num(8, "eps"));
  a.weightDecay = static_cast<float>(c.num(9, "weightDecay"));
  a.c1 = static_cast<float>(c.num(10, "c1"));
  a.c2 = static_cast<float>(c.num(11, "c2"));
  if (c.failed) return nullptr;
  c.table->adamw(a);
  return nullptr;
}

napi_value DrawRows(napi_env env, napi_callback_info info) {
  Call c(env, info, "drawRows", 9);
  int64_t n = c.size(0, "n"), V = c.size(1, "V");
  const double temperature = c.num(4, "temperature");
  if (!c.failed && !(temperature > 0 && temperature < __builtin_inf()))
    c.fail_range("temperature must be a finite number > 0, got %g", temperature);
  if (!c.failed && n > 0 && V == 0) c.fail_range("V must be at least 1");
  size_t logitsLen = 0;
  const float* logits = c.f32(2, "logits", 0, &logitsLen);
  const int32_t* rows = c.i32(3, "rows", static_cast<double>(n));
  const double* uniforms = c.f64(5, "uniforms", static_cast<double>(n));
  int32_t* ids = c.i32_out(6, "ids", static_cast<double>(n));
  double* shifted = c.f64(7, "shifted", static_cast<double>(n));
  double* expSum = c.f64(8, "expSum", static_cast<double>(n));
  if (c.failed) return nullptr;
  for (int64_t i = 0; i < n; i++)
    if (rows[i] < 0 || static_cast<double>(rows[i] + 1) * static_cast<double>(V) > static_cast<double>(logitsLen)) {
      c.fail_range("rows[%lld] = %d is outside the %zu rows of logits", (long long)i, rows[i], V > 0 ? logitsLen / V : 0);
      return nullptr;
    }
  const std::string simd = c.table->simd;
  draw_rows(n, V, logits, rows, temperature, uniforms, ids, shifted, expSum,
            simd == "avx512" ? DrawSimd::kAvx512 : simd == "avx2" ? DrawSimd::kAvx2 : DrawSimd::kScalar);
  return nullptr;
}

struct Entry {
  const char* name;
  napi_callback fn;
};

const Entry kEntries[] = {
    {"gemm", Gemm},
    {"axpy", Axpy},
    {"scale", Scale},
    {"addBias", AddBias},
    {"sumRows", SumRows},
    {"copyRows", CopyRows},
    {"sumSquares", SumSquares},
    {"rmsnormForward", RmsnormForward},
    {"rmsnormBackward", RmsnormBackward},
    {"rope", Rope},
    {"swigluForward", SwigluForward},
    {"swigluBackward", SwigluBackward},
    {"attentionForward", AttentionForward},
    {"attentionBackward", AttentionBackward},
    {"attentionDecode", AttentionDecode},
    {"attentionPrefixedForward", AttentionPrefixedForward},
    {"attentionPrefixedBackward", AttentionPrefixedBackward},
    {"embeddingForward", EmbeddingForward},
    {"embeddingBackward", EmbeddingBackward},
    {"logprobForward", LogprobForward},
    {"logprobBackward", LogprobBackward},
    {"entropy", Entropy},
    {"drawRows", DrawRows},
    {"softmaxForward", SoftmaxForward},
    {"softmaxBackward", SoftmaxBackward},
    {"adamw", Adamw},
};

const KernelTable* table_for(const std::string& simd) {
  static const CpuFeatures cpu = detect_cpu();
  if (simd == "scalar") return &kScalarTable;
#if defined(GVM_X86)
  if (simd == "avx2" && cpu.avx2_fma) return &kAvx2Table;
  if (simd == "avx512" && cpu.avx512) return &kAvx512Table;
#endif
  return nullptr;
}

std::string best_simd() {
  const CpuFeatures cpu = detect_cpu();
  if (cpu.avx512) return "avx512";
  if (cpu.avx2_fma) return "avx2";
  return "scalar";
}

// kernels(simd): an object with every kernel bound to that ISA's table.
Napi::Value Kernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "kernels: expects the SIMD level as a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string simd = info[0].As<Napi::String>().Utf8Value();
  const KernelTable* table = table_for(simd);
  if (!table) {
    Napi::RangeError::New(env, "kernels: this CPU or build does not support SIMD level \"" + simd + "\" (best: " +
                                   best_simd() + ")")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object obj = Napi::Object::New(env);
  for (const Entry& e : kEntries) {
    napi_value fn;
    napi_create_function(env, e.name, NAPI_AUTO_LENGTH, e.fn, const_cast<KernelTable*>(table), &fn);
    obj.Set(e.name, Napi::Value(env, fn));
  }
  return obj;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber() || info[0].As<Napi::Number>().DoubleValue() < 1 ||
      info[0].As<Napi::Number>().DoubleValue() > 1024) {
    Napi::RangeError::New(env, "setThreads: expects an integer thread count in [1, 1024]").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  pool_set_threads(static_cast<int>(info[0].As<Napi::Number>().DoubleValue()));
  return Napi::Number::New(env, pool_threads());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CpuFeatures cpu = detect_cpu();
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("best", best_simd());
  obj.Set("threads", pool_threads());
  obj.Set("avx2", cpu.avx2_fma);
  obj.Set("avx512", cpu.avx512);
  return obj;
}

// measurePeak(simd, seconds): GFLOP/s of an FMA loop on every pool thread at once.
Napi::Value MeasurePeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const KernelTable* table = info.Length() >= 2 && info[0].IsString() && info[1].IsNumber()
                                 ? table_for(info[0].As<Napi::String>().Utf8Value())
                                 : nullptr;
  if (!table) {
    Napi::TypeError::New(env, "measurePeak: expects (simd, seconds) with a supported SIMD level").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double seconds = info[1].As<Napi::Number>().DoubleValue();
  // calibrate one chunk to ~seconds / 16, then give every thread 8 chunks
  int64_t iters = 1 << 16;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    table->fmaLoop(iters);
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dt > seconds / 16 || iters > (int64_t{1} << 40)) break;
    iters *= 2;
  }
  struct Job {
    const KernelTable* table;
    int64_t iters;
    std::atomic<double> flops{0};
  } job{table, iters};
  const int64_t tasks = static_cast<int64_t>(pool_threads()) * 8;
  auto t0 = std::chrono::steady_clock::now();
  parallel_for(
      tasks, 1,
      [](void* ctx, int64_t b, int64_t e) {
        Job& j = *static_cast<Job*>(ctx);
        double f = 0;
        for (int64_t i = b; i < e; i++) f += j.table->fmaLoop(j.iters);
        double cur = j.flops.load();
        while (!j.flops.compare_exchange_weak(cur, cur + f)) {
        }
      },
      &job);
  double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Napi::Number::New(env, job.flops.load() / dt / 1e9);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("measurePeak", Napi::Function::New(env, MeasurePeak, "measurePeak"));
  exports.Set("kernels", Napi::Function::New(env, Kernels, "kernels"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace
}  // namespace gvm

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return gvm::Init(env, exports); }

NODE_API_MODULE(gvm_kernels, InitAddon)
