// Row-wise kernels over a softmax: token log-probabilities, entropy, and a
// plain softmax with its backward; written once over the VF type of the
// including ISA, threaded over rows.
#pragma once
#include <math.h>
#include <stdint.h>

#include "impl_common.h"

namespace gvm {
namespace GVM_NS {

static float row_max(const float* x, int64_t n) {
  const float ninf = -INFINITY;
  VF m0 = vset(ninf), m1 = vset(ninf);
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    m0 = vmax(m0, vload(x + i));
    m1 = vmax(m1, vload(x + i + W));
  }
  for (; i + W <= n; i += W) m0 = vmax(m0, vload(x + i));
  if (i < n) m1 = vmax(m1, vloadn(x + i, n - i, ninf));
  return hmax(vmax(m0, m1));
}

// sum_j exp(x_j - shift)
static float row_sum_exp(const float* x, int64_t n, float shift) {
  const VF sh = vset(shift);
  VF s0 = vzero(), s1 = vzero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 = s0 + vexp(vload(x + i) - sh);
    s1 = s1 + vexp(vload(x + i + W) - sh);
  }
  for (; i + W <= n; i += W) s0 = s0 + vexp(vload(x + i) - sh);
  if (i < n) s1 = s1 + vexp(vloadn(x + i, n - i, -INFINITY) - sh);
  return hsum(s0 + s1);
}

static float row_lse(const float* x, int64_t n) {
  const float m = row_max(x, n);
  if (m == -INFINITY) return -INFINITY;
  return m + static_cast<float>(log(static_cast<double>(row_sum_exp(x, n, m))));
}

static void logprobForward(int64_t rows, int64_t V, const float* logits, const int32_t* targets, float* logp, float* lse) {
  for_rows(rows, V, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* x = logits + r * V;
      const float l = row_lse(x, V);
      lse[r] = l;
      const int32_t t = targets[r];
      logp[r] = t < 0 ? 0.0f : x[t] - l;
    }
  });
}

static void logprobBackward(int64_t rows, int64_t V, const float* logits, const int32_t* targets, const float* lse,
                            const float* dlogp, float* dlogits) {
  for_rows(rows, V, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int32_t t = targets[r];
      const float g = dlogp[r];
      if (t < 0 || g == 0.0f) continue;
      const float* x = logits + r * V;
      float* d = dlogits + r * V;
      const VF l = vset(lse[r]), ng = vset(-g);
      int64_t j = 0;
      for (; j + W <= V; j += W) vstore(d + j, vfma(ng, vexp(vload(x + j) - l), vload(d + j)));
      if (j < V) vstoren(d + j, vfma(ng, vexp(vloadn(x + j, V - j) - l), vloadn(d + j, V - j)), V - j);
      d[t] += g;
    }
  });
}

// H = lse - sum_j p_j x_j, skipping p_j = 0 so that -inf logits add nothing.
static void entropy(int64_t rows, int64_t V, const float* logits, float* out) {
  for_rows(rows, V, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* x = logits + r * V;
      const float l = row_lse(x, V);
      const VF vl = vset(l);
      VF acc = vzero();
      int64_t j = 0;
      for (; j + W <= V; j += W) {
        const VF xv = vload(x + j), p = vexp(xv - vl);
        acc = acc + vselect_pos(p, p * xv);
      }
      if (j < V) {
        const VF xv = vloadn(x + j, V - j, -INFINITY), p = vexp(xv - vl);
        acc = acc + vselect_pos(p, p * xv);
      }
      out[r] = l - hsum(acc);
    }
  });
}

static void softmaxForward(int64_t rows, int64_t cols, const float* x, float* out) {
  for_rows(rows, cols, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * cols;
      float* o = out + r * cols;
      const float m = row_max(xr, cols);
      if (m == -INFINITY) {
        for (int64_t j = 0; j < cols; j++) o[j] = 0.0f;
        continue;
      }
      // exp(x - m) / sum rather than exp(x - lse): one exp per element, exact normalisation
      const float inv = 1.0f / row_sum_exp(xr, cols, m);
      const VF vm = vset(m), vi = vset(inv);
      int64_t j = 0;
      for (; j + W <= cols; j += W) vstore(o + j, vexp(vload(xr + j) - vm) * vi);
      if (j < cols) vstoren(o + j, vexp(vloadn(xr + j, cols - j) - vm) * vi, cols - j);
    }
  });
}

static void softmaxBackward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  for_rows(rows, cols, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* yr = y + r * cols;
      const float* g = dy + r * cols;
      float* d = dx + r * cols;
      VF acc = vzero();
      int64_t j = 0;
      for (; j + W <= cols; j += W) acc = vfma(vload(g + j), vload(yr + j), acc);
      if (j < cols) acc = vfma(vloadn(g + j, cols - j), vloadn(yr + j, cols - j), acc);
      const VF dot = vset(hsum(acc));
      j = 0;
      for (; j + W <= cols; j += W) vstore(d + j, vfma(vload(yr + j), vload(g + j) - dot, vload(d + j)));
      if (j < cols)
        vstoren(d + j, vfma(vloadn(yr + j, cols - j), vloadn(g + j, cols - j) - dot, vloadn(d + j, cols - j)), cols - j);
    }
  });
}

}  // namespace GVM_NS
}  // namespace gvm
