// BLAS-1 and the transformer's pointwise kernels (RMSNorm, RoPE, SwiGLU,
// embedding, AdamW), written once over the VF type of the including ISA.
// Reductions across rows (sumRows, sumSquares, RMSNorm's dw) sum fixed-size
// chunks in a fixed order, so results do not depend on the thread count.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "impl_common.h"
#include "table.h"

namespace gvm {
namespace GVM_NS {

constexpr int64_t kReduceRows = 32;

static void axpy(int64_t n, float alpha, const float* x, float* y) {
  const VF a = vset(alpha);
  for_chunks(n, [&](int64_t b, int64_t e) {
    int64_t i = b;
    for (; i + W <= e; i += W) vstore(y + i, vfma(a, vload(x + i), vload(y + i)));
    if (i < e) vstoren(y + i, vfma(a, vloadn(x + i, e - i), vloadn(y + i, e - i)), e - i);
  });
}

static void scale(int64_t n, float alpha, float* x) {
  const VF a = vset(alpha);
  for_chunks(n, [&](int64_t b, int64_t e) {
    int64_t i = b;
    for (; i + W <= e; i += W) vstore(x + i, vload(x + i) * a);
    if (i < e) vstoren(x + i, vloadn(x + i, e - i) * a, e - i);
  });
}

static void addBias(int64_t rows, int64_t cols, const float* x, const float* bias, float* out) {
  for_rows(rows, cols, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * cols;
      float* o = out + r * cols;
      int64_t c = 0;
      for (; c + W <= cols; c += W) vstore(o + c, vload(xr + c) + vload(bias + c));
      if (c < cols) vstoren(o + c, vloadn(xr + c, cols - c) + vloadn(bias + c, cols - c), cols - c);
    }
  });
}

// Short rows (decode appends one position per row), so one thread and memcpy.
static void copyRows(int64_t rows, int64_t cols, const float* src, int64_t srcStride, float* dst, int64_t dstStride) {
  for (int64_t r = 0; r < rows; r++) memcpy(dst + r * dstStride, src + r * srcStride, sizeof(float) * cols);
}

// acc[c] += x[r, c] for r in [r0, r1)
static void add_rows(int64_t r0, int64_t r1, int64_t cols, const float* x, float* acc) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * cols;
    int64_t c = 0;
    for (; c + W <= cols; c += W) vstore(acc + c, vload(acc + c) + vload(xr + c));
    if (c < cols) vstoren(acc + c, vloadn(acc + c, cols - c) + vloadn(xr + c, cols - c), cols - c);
  }
}

static void sumRows(int64_t rows, int64_t cols, const float* x, float* out) {
  if (rows <= 0 || cols <= 0) return;
  const int64_t chunks = ceil_div(rows, kReduceRows);
  float* part = scratch(4, static_cast<size_t>(chunks * cols));
  for_tasks(chunks, kReduceRows * cols, [&](int64_t b, int64_t e) {
    for (int64_t ch = b; ch < e; ch++) {
      float* p = part + ch * cols;
      memset(p, 0, sizeof(float) * cols);
      add_rows(ch * kReduceRows, imin(rows, (ch + 1) * kReduceRows), cols, x, p);
    }
  });
  add_rows(0, chunks, cols, part, out);
}

static double sumsq_block(const float* x, int64_t n) {
  VF a0 = vzero(), a1 = vzero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    VF u = vload(x + i), v = vload(x + i + W);
    a0 = vfma(u, u, a0);
    a1 = vfma(v, v, a1);
  }
  for (; i + W <= n; i += W) {
    VF u = vload(x + i);
    a0 = vfma(u, u, a0);
  }
  if (i < n) {
    VF u = vloadn(x + i, n - i);
    a1 = vfma(u, u, a1);
  }
  return static_cast<double>(hsum(a0 + a1));
}

static double sumSquares(int64_t n, const float* x) {
  constexpr int64_t kBlock = 1024;
  const int64_t blocks = ceil_div(n, kBlock);
  if (blocks <= 0) return 0.0;
  double* part = reinterpret_cast<double*>(scratch(4, static_cast<size_t>(2 * blocks)));
  for_tasks(blocks, kBlock, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) part[i] = sumsq_block(x + i * kBlock, imin(kBlock, n - i * kBlock));
  });
  double total = 0.0;
  for (int64_t i = 0; i < blocks; i++) total += part[i];
  return total;
}

static void rmsnormForward(int64_t rows, int64_t dim, float eps, const float* x, const float* w, float* out, float* rstd) {
  for_rows(rows, dim, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * dim;
      float* o = out + r * dim;
      const double ss = sumsq_block(xr, dim);
      const float s = static_cast<float>(1.0 / sqrt(ss / static_cast<double>(dim) + static_cast<double>(eps)));
      rstd[r] = s;
      const VF vs = vset(s);
      int64_t c = 0;
      for (; c + W <= dim; c += W) vstore(o + c, vload(xr + c) * vs * vload(w + c));
      if (c < dim) vstoren(o + c, vloadn(xr + c, dim - c) * vs * vloadn(w + c, dim - c), dim - c);
    }
  });
}

// dx += s dy w - x s^3/dim sum(dy w x);  dw += dy x s
static void rmsnormBackward(int64_t rows, int64_t dim, const float* dy, const float* x, const float* w, const float* rstd,
                            float* dx, float* dw) {
  if (rows <= 0 || dim <= 0) return;
  const int64_t chunks = ceil_div(rows, kReduceRows);
  float* part = scratch(4, static_cast<size_t>(chunks * dim));
  for_tasks(chunks, kReduceRows * dim, [&](int64_t b, int64_t e) {
    for (int64_t ch = b; ch < e; ch++) {
      float* pw = part + ch * dim;
      memset(pw, 0, sizeof(float) * dim);
      for (int64_t r = ch * kReduceRows; r < imin(rows, (ch + 1) * kReduceRows); r++) {
        const float* g = dy + r * dim;
        const float* xr = x + r * dim;
        float* d = dx + r * dim;
        const float s = rstd[r];
        VF acc = vzero();
        int64_t c = 0;
        for (; c + W <= dim; c += W) acc = vfma(vload(g + c) * vload(w + c), vload(xr + c), acc);
        if (c < dim) acc = vfma(vloadn(g + c, dim - c) * vloadn(w + c, dim - c), vloadn(xr + c, dim - c), acc);
        const float k = static_cast<float>(static_cast<double>(hsum(acc)) * s * s * s / static_cast<double>(dim));
        const VF vs = vset(s), vk = vset(k);
        c = 0;
        for (; c + W <= dim; c += W) {
          const VF gv = vload(g + c), xv = vload(xr + c);
          vstore(d + c, vload(d + c) + vs * gv * vload(w + c) - xv * vk);
          vstore(pw + c, vfma(gv * xv, vs, vload(pw + c)));
        }
        if (c < dim) {
          const int64_t t = dim - c;
          const VF gv = vloadn(g + c, t), xv = vloadn(xr + c, t);
          vstoren(d + c, vloadn(d + c, t) + vs * gv * vloadn(w + c, t) - xv * vk, t);
          vstoren(pw + c, vfma(gv * xv, vs, vloadn(pw + c, t)), t);
        }
      }
    }
  });
  add_rows(0, chunks, dim, part, dw);
}

static void rope(int64_t tokens, int64_t heads, int64_t headDim, const float* x, const int32_t* positions, const float* cos,
                 const float* sin, float* out, int sign, bool accumulate) {
  const int64_t half = headDim / 2;
  const VF vsign = vset(static_cast<float>(sign));
  for_rows(tokens, heads * headDim, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
      const float* cs = cos + static_cast<int64_t>(positions[t]) * half;
      const float* sn = sin + static_cast<int64_t>(positions[t]) * half;
      for (int64_t h = 0; h < heads; h++) {
        const int64_t o = (t * heads + h) * headDim;
        const float* xa = x + o;
        const float* xb = xa + half;
        float* ya = out + o;
        float* yb = ya + half;
        int64_t i = 0;
        for (; i + W <= half; i += W) {
          const VF c = vload(cs + i), s = vload(sn + i) * vsign, a = vload(xa + i), b = vload(xb + i);
          VF ra = a * c - b * s, rb = vfma(a, s, b * c);
          if (accumulate) {
            ra = ra + vload(ya + i);
            rb = rb + vload(yb + i);
          }
          vstore(ya + i, ra);
          vstore(yb + i, rb);
        }
        if (i < half) {
          const int64_t n = half - i;
          const VF c = vloadn(cs + i, n), s = vloadn(sn + i, n) * vsign, a = vloadn(xa + i, n), b = vloadn(xb + i, n);
          VF ra = a * c - b * s, rb = vfma(a, s, b * c);
          if (accumulate) {
            ra = ra + vloadn(ya + i, n);
            rb = rb + vloadn(yb + i, n);
          }
          vstoren(ya + i, ra, n);
          vstoren(yb + i, rb, n);
        }
      }
    }
  });
}

// 1 / (1 + e^-g) through a reciprocal estimate and one Newton step (~1 ulp;
// a division is several times slower on the CPUs this targets).
static inline VF vsigmoid(VF g) { return vrecip(vset(1.0f) + vexp(vzero() - g)); }

static void swigluForward(int64_t n, const float* gate, const float* up, float* out) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    int64_t i = b;
    for (; i + W <= e; i += W) {
      const VF g = vload(gate + i);
      vstore(out + i, g * vsigmoid(g) * vload(up + i));
    }
    if (i < e) {
      const VF g = vloadn(gate + i, e - i);
      vstoren(out + i, g * vsigmoid(g) * vloadn(up + i, e - i), e - i);
    }
  });
}

// silu'(g) = s (1 + g (1 - s)), with 1 - s taken as sigmoid(-g): at a
// saturated gate 1 - s would be the reciprocal's rounding error, and g times
// it (g ~ 100) an error of 1e-5 where the exact term is 0.
static inline void swiglu_grad(VF g, VF u, VF d, VF& dg, VF& du) {
  const VF s = vsigmoid(g);
  dg = d * u * s * vfma(g, vsigmoid(vzero() - g), vset(1.0f));
  du = d * g * s;
}

static void swigluBackward(int64_t n, const float* gate, const float* up, const float* dout, float* dgate, float* dup,
                           bool accumulate) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    int64_t i = b;
    VF dg, du;
    if (accumulate) {
      for (; i + W <= e; i += W) {
        swiglu_grad(vload(gate + i), vload(up + i), vload(dout + i), dg, du);
        vstore(dgate + i, vload(dgate + i) + dg);
        vstore(dup + i, vload(dup + i) + du);
      }
    } else {
      for (; i + W <= e; i += W) {
        swiglu_grad(vload(gate + i), vload(up + i), vload(dout + i), dg, du);
        vstore(dgate + i, dg);
        vstore(dup + i, du);
      }
    }
    if (i < e) {
      const int64_t t = e - i;
      swiglu_grad(vloadn(gate + i, t), vloadn(up + i, t), vloadn(dout + i, t), dg, du);
      vstoren(dgate + i, accumulate ? vloadn(dgate + i, t) + dg : dg, t);
      vstoren(dup + i, accumulate ? vloadn(dup + i, t) + du : du, t);
    }
  });
}

static void embeddingForward(int64_t n, int64_t dim, const float* weight, const int32_t* ids, float* out) {
  for_rows(n, dim, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) memcpy(out + i * dim, weight + static_cast<int64_t>(ids[i]) * dim, sizeof(float) * dim);
  });
}

// Threads own column ranges, so repeated ids never race and the order of
// additions per element is the same for any thread count.
static void embeddingBackward(int64_t n, int64_t dim, const float* dout, const int32_t* ids, float* dweight) {
  constexpr int64_t kCols = 64;
  const int64_t chunks = ceil_div(dim, kCols);
  for_tasks(chunks, n * kCols, [&](int64_t b, int64_t e) {
    const int64_t c0 = b * kCols, c1 = imin(dim, e * kCols), m = c1 - c0;
    for (int64_t i = 0; i < n; i++) {
      const float* s = dout + i * dim + c0;
      float* d = dweight + static_cast<int64_t>(ids[i]) * dim + c0;
      int64_t c = 0;
      for (; c + W <= m; c += W) vstore(d + c, vload(d + c) + vload(s + c));
      if (c < m) vstoren(d + c, vloadn(d + c, m - c) + vloadn(s + c, m - c), m - c);
    }
  });
}

static void adamw(const AdamArgs& a) {
  const VF b1 = vset(a.beta1), b2 = vset(a.beta2), nb1 = vset(1.0f - a.beta1), nb2 = vset(1.0f - a.beta2);
  const VF lr = vset(a.lr), eps = vset(a.eps), wd = vset(a.weightDecay), c1 = vset(a.c1), c2 = vset(a.c2);
  auto step = [&](VF p, VF g, VF m, VF v, VF& po, VF& mo, VF& vo) {
    mo = vfma(b1, m, nb1 * g);
    vo = vfma(b2, v, nb2 * g * g);
    po = p - lr * vfma(wd, p, (mo / c1) / (vsqrt(vo / c2) + eps));
  };
  for_chunks(a.n, [&](int64_t b, int64_t e) {
    int64_t i = b;
    VF po, mo, vo;
    for (; i + W <= e; i += W) {
      step(vload(a.param + i), vload(a.grad + i), vload(a.m + i), vload(a.v + i), po, mo, vo);
      vstore(a.param + i, po);
      vstore(a.m + i, mo);
      vstore(a.v + i, vo);
    }
    if (i < e) {
      const int64_t t = e - i;
      step(vloadn(a.param + i, t), vloadn(a.grad + i, t), vloadn(a.m + i, t), vloadn(a.v + i, t), po, mo, vo);
      vstoren(a.param + i, po, t);
      vstoren(a.m + i, mo, t);
      vstoren(a.v + i, vo, t);
    }
  });
}

}  // namespace GVM_NS
}  // namespace gvm
