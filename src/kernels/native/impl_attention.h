// Causal grouped-query attention, forward and backward, written once over the
// VF type of the including ISA, on the GEMM's packing routines and register
// microkernel (impl_gemm_kernel.h).
//
// Prefill / training. Keys and values of a head are packed once into the
// microkernel's panel layout; queries go in blocks of QB rows, and within a
// block in strips of MR rows. A strip computes only the score tiles up to the
// last key its last row can see, so above the causal diagonal at most one
// MR x NR tile is wasted per strip, and P V runs over the same visible keys.
// The softmax keeps P unnormalised and scales the MR x D output rows instead.
// Forward is threaded over (batch, head); backward over (batch, kv head), so
// the dK / dV rows a task accumulates into are its own. Each task runs on one
// thread in a fixed order, so results are bitwise the same for any thread
// count.
// Decode (Tq < 4): per batch row, all heads at once: scores against each
// cached key row, a softmax per head, and a weighted sum of value rows, so the
// cache streams through once in address order; threaded over batch rows.
#pragma once
#include <math.h>
#include <stdint.h>

#include "impl_common.h"
#include "table.h"

namespace gvm {
namespace GVM_NS {

constexpr int64_t QB = 8 * MR;
// Heads the decode path handles per batch row; more go through the block path.
constexpr int64_t kMaxDecodeHeads = 256;
static_assert(QB % MR == 0, "query blocks are whole strips");

static inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Keys query row t (0-based in Tq) can see: s < limit (before the key mask).
static inline int64_t row_limit(const AttnArgs& a, int64_t t) { return imax(0, imin(a.kvLen - a.Tq + t + 1, a.kvLen)); }

// Bump allocator over one thread-local scratch slot.
struct Arena {
  float* p;
  float* take(int64_t n) {
    float* r = p;
    p += round_up(n, 16);
    return r;
  }
};

// The lanes of x . y before their horizontal sum: dot() is hsum of it.
static inline VF dot_lanes(const float* x, const float* y, int64_t n) {
  VF a0 = vzero(), a1 = vzero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    a0 = vfma(vload(x + i), vload(y + i), a0);
    a1 = vfma(vload(x + i + W), vload(y + i + W), a1);
  }
  for (; i + W <= n; i += W) a0 = vfma(vload(x + i), vload(y + i), a0);
  if (i < n) a1 = vfma(vloadn(x + i, n - i), vloadn(y + i, n - i), a1);
  return a0 + a1;
}

static float dot(const float* x, const float* y, int64_t n) { return hsum(dot_lanes(x, y, n)); }

static void scale_row(float* x, int64_t n, float s) {
  const VF vs = vset(s);
  int64_t i = 0;
  for (; i + W <= n; i += W) vstore(x + i, vload(x + i) * vs);
  if (i < n) vstoren(x + i, vloadn(x + i, n - i) * vs, n - i);
}

static void zero_row(float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = 0.0f;
}

// Forward softmax of one score row in place: row[s] = exp(row[s] - max) for
// visible keys s < limit, 0 up to `width`. Returns 1 / sum (0 when the query
// sees no key) and writes the log-sum-exp.
static float softmax_row(float* row, int64_t limit, int64_t width, const uint8_t* mask, float* lse) {
  if (mask)
    for (int64_t s = 0; s < limit; s++)
      if (mask[s] == 0) row[s] = -INFINITY;
  const float m = limit > 0 ? row_max(row, limit) : -INFINITY;
  if (m == -INFINITY) {
    zero_row(row, width);
    if (lse) *lse = -INFINITY;
    return 0.0f;
  }
  const VF vm = vset(m);
  VF acc = vzero();
  int64_t s = 0;
  for (; s + W <= limit; s += W) {
    const VF p = vexp(vload(row + s) - vm);
    vstore(row + s, p);
    acc = acc + p;
  }
  if (s < limit) {
    const VF p = vexp(vloadn(row + s, limit - s, -INFINITY) - vm);  // lanes past the tail add 0
    vstoren(row + s, p, limit - s);
    acc = acc + p;
  }
  zero_row(row + limit, width - limit);
  const float sum = hsum(acc);
  if (lse) *lse = m + static_cast<float>(log(static_cast<double>(sum)));
  return 1.0f / sum;
}

static void attn_fwd_head(const AttnArgs& a, int64_t b, int64_t h) {
  const int64_t g = h / (a.H / a.Hkv), D = a.D;
  const int64_t ldq = a.H * D, ldk = a.Hkv * D;
  const float* qb = a.q + b * a.Tq * ldq + h * D;
  const float* kb = a.k + b * a.Tk * ldk + g * D;
  const float* vb = a.v + b * a.Tk * ldk + g * D;
  float* ob = a.out + b * a.Tq * ldq + h * D;
  float* lseRow = a.lse ? a.lse + (b * a.H + h) * a.Tq : nullptr;
  const uint8_t* mask = a.keyMask ? a.keyMask + b * a.Tk : nullptr;
  const int64_t nk = row_limit(a, a.Tq - 1);
  const int64_t ldS = round_up(imax(nk, 1), NR);
  Arena ar{scratch(2, static_cast<size_t>(ldS * D + nk * round_up(D, NR) + QB * D + QB * ldS + QB * ldS + 16 * 8))};
  float* Kp = ar.take(ldS * D);              // K^T: NR-key panels, k = D
  float* Vp = ar.take(nk * round_up(D, NR));  // V: NR-wide panels of D, k = keys
  float* Qp = ar.take(QB * D);
  float* S = ar.take(QB * ldS);
  float* Pp = ar.take(QB * ldS);
  if (nk > 0) {
    pack_b(true, kb, ldk, D, nk, Kp);
    pack_b(false, vb, ldk, nk, D, Vp);
  }
  for (int64_t t0 = 0; t0 < a.Tq; t0 += QB) {
    const int64_t mb = imin(QB, a.Tq - t0);
    pack_a(false, qb + t0 * ldq, ldq, mb, D, Qp);
    for (int64_t ir = 0; ir < mb; ir += MR) {
      const int64_t mr = imin(MR, mb - ir);
      const int64_t ks = row_limit(a, t0 + ir + mr - 1);
      float* o = ob + (t0 + ir) * ldq;
      if (ks == 0) {
        for (int64_t r = 0; r < mr; r++) {
          zero_row(o + r * ldq, D);
          if (lseRow) lseRow[t0 + ir + r] = -INFINITY;
        }
        continue;
      }
      float* Sr = S + ir * ldS;
      for (int64_t jr = 0; jr < ks; jr += NR) ukernel(D, Qp + ir * D, Kp + jr * D, Sr + jr, ldS, a.scale, 0.0f);
      float inv[MR];
      for (int64_t r = 0; r < mr; r++)
        inv[r] = softmax_row(Sr + r * ldS, row_limit(a, t0 + ir + r), ks, mask, lseRow ? lseRow + t0 + ir + r : nullptr);
      pack_a(false, Sr, ldS, mr, ks, Pp);
      for (int64_t dp = 0; dp < D; dp += NR) tile(ks, Pp, Vp + dp * nk, o + dp, ldq, mr, imin(NR, D - dp), 1.0f, 0.0f);
      for (int64_t r = 0; r < mr; r++) scale_row(o + r * ldq, D, inv[r]);
    }
  }
}

// Rows the value pass prefetches ahead of the one it adds. On its own the
// hardware prefetcher left decode attention at ~20 GB/s against ~32 GB/s of
// streaming from memory on the AVX-512 machine (prefetch_rows asks ahead).
constexpr int64_t kPrefetchRows = 16;

// The key and value rows one decode query reads, in key order: the first n0
// at k0 / v0, the rest at k1 / v1, each a row of ldk floats. A plain cache
// row is one span; a row whose prompt is shared with its batch-mates reads
// the prompt's rows, then its own.
struct KeyRows {
  const float *k0, *v0;
  const uint8_t* m0;  // (n0) or null = all real
  int64_t n0;
  const float *k1, *v1;
  const uint8_t* m1;  // or null = all real
  int64_t ldk;
  const float* key(int64_t s) const { return s < n0 ? k0 + s * ldk : k1 + (s - n0) * ldk; }
  const float* value(int64_t s) const { return s < n0 ? v0 + s * ldk : v1 + (s - n0) * ldk; }
  bool masked(int64_t s) const { return s < n0 ? (m0 && m0[s] == 0) : (m1 && m1[s - n0] == 0); }
};

// Heads h0 .. h0 + HB - 1 of one query row: o_h = sum_s p_h[s] v_s over the
// visible keys, D = DV W floats per head, all HB x DV sums in registers (sizes
// known at compile time, so they stay there) and added in key order as the
// plain loop adds them. Several heads at once keep independent FMA chains in
// flight instead of waiting on one.
template <int DV, int HB>
static void pv_heads(const float* sc, int64_t ld, const KeyRows& r, int64_t group, int64_t D, int64_t limit, int64_t h0, float* o) {
  VF acc[HB][DV];
  for (int i = 0; i < HB; i++)
    for (int c = 0; c < DV; c++) acc[i][c] = vzero();
  for (int64_t s = 0; s < limit; s++) {
    const float* vr = r.value(s);
    if (s + kPrefetchRows < limit) prefetch_rows(r.value(s + kPrefetchRows), 1, r.ldk * 4);
    for (int i = 0; i < HB; i++) {
      const float p = sc[(h0 + i) * ld + s];
      if (p == 0.0f) continue;
      const VF vp = vset(p);
      const float* v = vr + ((h0 + i) / group) * D;
      for (int c = 0; c < DV; c++) acc[i][c] = vfma(vp, vload(v + c * W), acc[i][c]);
    }
  }
  for (int i = 0; i < HB; i++)
    for (int c = 0; c < DV; c++) vstore(o + (h0 + i) * D + c * W, acc[i][c]);
}

// All H heads through pv_heads in groups of HB: the most (4, 2 or 1) that
// divides H with HB x DV <= 16 accumulators.
template <int DV>
static void pv_groups(const float* sc, int64_t ld, const KeyRows& r, int64_t H, int64_t group, int64_t D, int64_t limit, float* o) {
  if constexpr (DV * 4 <= 16) {
    if (H % 4 == 0) {
      for (int64_t h = 0; h < H; h += 4) pv_heads<DV, 4>(sc, ld, r, group, D, limit, h, o);
      return;
    }
  }
  if constexpr (DV * 2 <= 16) {
    if (H % 2 == 0) {
      for (int64_t h = 0; h < H; h += 2) pv_heads<DV, 2>(sc, ld, r, group, D, limit, h, o);
      return;
    }
  }
  for (int64_t h = 0; h < H; h++) pv_heads<DV, 1>(sc, ld, r, group, D, limit, h, o);
}

// The outputs of every head through pv_groups; false when D is no small power-of-two multiple of W.
static bool pv_registers(const float* sc, int64_t ld, const KeyRows& r, int64_t H, int64_t group, int64_t D, int64_t limit, float* o) {
  if (D % W != 0) return false;
  switch (D / W) {
    case 1: pv_groups<1>(sc, ld, r, H, group, D, limit, o); return true;
    case 2: pv_groups<2>(sc, ld, r, H, group, D, limit, o); return true;
    case 4: pv_groups<4>(sc, ld, r, H, group, D, limit, o); return true;
    case 8: pv_groups<8>(sc, ld, r, H, group, D, limit, o); return true;
    case 16: pv_groups<16>(sc, ld, r, H, group, D, limit, o); return true;
    default: return false;
  }
}

// One decode query row (H heads of D) against its keys s < limit. Scores
// come W keys at a time for every head, their W dot products summed across
// lanes together (hsum_lanes) rather than one horizontal sum per key; the
// outputs accumulate in registers over the visible value rows (pv_heads).
// Both keep the order of additions of one dot() per key and one running sum
// per output, so results are bit for bit those of the plain loops, however
// the keys are split into spans. A decode batch's cache outgrows the caches
// (tiny: ~43 MB a step), so the keys, then the values, then `next` (the next
// row's first keys) are asked for ahead of use, one stream front to back.
static void attend_row(const KeyRows& r, int64_t limit, const float* q, float* o, float* lse, int64_t lseStride, int64_t H, int64_t D,
                       int64_t group, float scale, const float* next) {
  const VF vscale = vset(scale);
  const int64_t ld = round_up(imax(limit, 1), W);
  float* sc = scratch(2, static_cast<size_t>(H * ld));  // [head][key]
  const int64_t full = limit - limit % W;
  const int64_t rowBytes = r.ldk * 4;
  for (int64_t s = 0; s < imin(kPrefetchRows, limit); s++) prefetch_rows(r.value(s), 1, rowBytes);
  for (int64_t s = 0; s < full; s += W) {
    for (int64_t j = s + 2 * W; j < imin(s + 3 * W, limit); j++) prefetch_rows(r.key(j), 1, rowBytes);
    const float* keys[W];
    for (int j = 0; j < W; j++) keys[j] = r.key(s + j);
    for (int64_t h = 0; h < H; h++) {
      const float* qh = q + h * D;
      const int64_t off = (h / group) * D;
      VF part[W];
      for (int j = 0; j < W; j++) part[j] = dot_lanes(qh, keys[j] + off, D);
      vstore(sc + h * ld + s, hsum_lanes(part) * vscale);
    }
  }
  for (int64_t h = 0; h < H; h++) {
    const float* qh = q + h * D;
    const int64_t off = (h / group) * D;
    float* sh = sc + h * ld;
    for (int64_t s = full; s < limit; s++) sh[s] = dot(qh, r.key(s) + off, D) * scale;
    if (r.m0 || r.m1)
      for (int64_t k = 0; k < limit; k++)
        if (r.masked(k)) sh[k] = -INFINITY;
  }
  if (next) prefetch_rows(next, 2 * W, rowBytes);
  float inv[kMaxDecodeHeads];
  for (int64_t h = 0; h < H; h++) inv[h] = softmax_row(sc + h * ld, limit, limit, nullptr, lse ? lse + h * lseStride : nullptr);
  if (!pv_registers(sc, ld, r, H, group, D, limit, o)) {
    for (int64_t h = 0; h < H; h++) {
      const float* ph = sc + h * ld;
      const int64_t off = (h / group) * D;
      float* oh = o + h * D;
      zero_row(oh, D);
      for (int64_t s = 0; s < limit; s++) {
        const float p = ph[s];
        if (p == 0.0f) continue;
        const VF vp = vset(p);
        const float* vh = r.value(s) + off;
        int64_t d = 0;
        for (; d + W <= D; d += W) vstore(oh + d, vfma(vp, vload(vh + d), vload(oh + d)));
        if (d < D) vstoren(oh + d, vfma(vp, vloadn(vh + d, D - d), vloadn(oh + d, D - d)), D - d);
      }
    }
  }
  for (int64_t h = 0; h < H; h++) scale_row(o + h * D, D, inv[h]);
}

// The decode path of attentionForward: the few query rows of batch row b
// against its cache row.
static void attn_fwd_rows(const AttnArgs& a, int64_t b) {
  const int64_t ldq = a.H * a.D, ldk = a.Hkv * a.D;
  const KeyRows r{a.k + b * a.Tk * ldk, a.v + b * a.Tk * ldk, a.keyMask ? a.keyMask + b * a.Tk : nullptr, a.Tk, nullptr, nullptr, nullptr, ldk};
  const float* next = b + 1 < a.B && a.kvLen >= 2 * W ? r.k0 + a.Tk * ldk : nullptr;
  for (int64_t t = 0; t < a.Tq; t++)
    attend_row(r, row_limit(a, t), a.q + (b * a.Tq + t) * ldq, a.out + (b * a.Tq + t) * ldq, a.lse ? a.lse + b * a.H * a.Tq + t : nullptr,
               a.Tq, a.H, a.D, a.H / a.Hkv, a.scale, next);
}

// One new query per row against a shared prompt and the row's own keys
// (see AttnDecodeArgs), threaded over rows.
static void attentionDecode(const AttnDecodeArgs& a) {
  if (a.B <= 0 || a.H <= 0) return;
  const int64_t ldq = a.H * a.D, ldk = a.Hkv * a.D;
  for_tasks(a.B, a.H * (a.P + a.kvLen) * a.D, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      const int64_t g = a.group[b];
      const KeyRows r{a.pk + g * a.P * ldk, a.pv + g * a.P * ldk, a.prefixMask ? a.prefixMask + g * a.P : nullptr, a.P,
                      a.k + b * a.Tk * ldk, a.v + b * a.Tk * ldk, a.keyMask ? a.keyMask + b * a.Tk : nullptr, ldk};
      const float* next = b + 1 < a.B && a.kvLen >= 2 * W ? r.k1 + a.Tk * ldk : nullptr;
      attend_row(r, a.P + a.kvLen, a.q + b * ldq, a.out + b * ldq, nullptr, 0, a.H, a.D, a.H / a.Hkv, a.scale, next);
    }
  });
}

static void attentionForward(const AttnArgs& a) {
  if (a.B <= 0 || a.H <= 0 || a.Tq <= 0) return;
  const int64_t tasks = a.B * a.H;
  if (a.Tq < 4 && a.H <= kMaxDecodeHeads) {
    for_tasks(a.B, a.H * a.Tq * a.kvLen * a.D, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; b++) attn_fwd_rows(a, b);
    });
    return;
  }
  for_tasks(tasks, a.Tq * a.kvLen * a.D, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0; i < b1; i++) attn_fwd_head(a, i / a.H, i % a.H);
  });
}

static void attn_bwd_group(const AttnArgs& a, int64_t b, int64_t g) {
  const int64_t group = a.H / a.Hkv, D = a.D;
  const int64_t ldq = a.H * D, ldk = a.Hkv * D;
  const int64_t off = a.kvLen - a.Tq;
  const float* kb = a.k + b * a.Tk * ldk + g * D;
  const float* vb = a.v + b * a.Tk * ldk + g * D;
  float* dkb = a.dk + b * a.Tk * ldk + g * D;
  float* dvb = a.dv + b * a.Tk * ldk + g * D;
  const uint8_t* mask = a.keyMask ? a.keyMask + b * a.Tk : nullptr;
  const int64_t nk = row_limit(a, a.Tq - 1);
  if (nk == 0) return;
  const int64_t ldS = round_up(nk, NR), dPad = round_up(D, NR), kPad = round_up(nk, MR);
  Arena ar{scratch(2, static_cast<size_t>(3 * ldS * dPad + 2 * QB * D + 2 * QB * ldS + 2 * kPad * QB + MR * ldS + 2 * QB * dPad +
                                          16 * 16))};
  float* Kp = ar.take(ldS * D);    // K^T: NR-key panels, k = D      (S = Q K^T)
  float* Vt = ar.take(ldS * D);    // V^T: NR-key panels, k = D      (dP = dO V^T)
  float* Kn = ar.take(nk * dPad);  // K: NR-wide panels of D, k = keys (dQ = dS K)
  float* Qa = ar.take(QB * D);
  float* dOa = ar.take(QB * D);
  float* S = ar.take(QB * ldS);   // scores, then P
  float* dS = ar.take(QB * ldS);  // dP, then dS
  float* Pt = ar.take(kPad * QB);
  float* dSt = ar.take(kPad * QB);
  float* Pa = ar.take(MR * ldS);
  float* dOb = ar.take(QB * dPad);
  float* Qb = ar.take(QB * dPad);
  pack_b(true, kb, ldk, D, nk, Kp);
  pack_b(true, vb, ldk, D, nk, Vt);
  pack_b(false, kb, ldk, nk, D, Kn);
  for (int64_t h = g * group; h < (g + 1) * group; h++) {
    const float* qb = a.q + b * a.Tq * ldq + h * D;
    const float* ob = a.out + b * a.Tq * ldq + h * D;
    const float* dob = a.dout + b * a.Tq * ldq + h * D;
    float* dqb = a.dq + b * a.Tq * ldq + h * D;
    const float* lseRow = a.lse + (b * a.H + h) * a.Tq;
    for (int64_t t0 = 0; t0 < a.Tq; t0 += QB) {
      const int64_t mb = imin(QB, a.Tq - t0);
      const int64_t kb_n = row_limit(a, t0 + mb - 1);  // keys the block sees
      if (kb_n == 0) continue;
      pack_a(false, qb + t0 * ldq, ldq, mb, D, Qa);
      pack_a(false, dob + t0 * ldq, ldq, mb, D, dOa);
      for (int64_t ir = 0; ir < mb; ir += MR) {
        const int64_t mr = imin(MR, mb - ir);
        const int64_t ks = row_limit(a, t0 + ir + mr - 1);
        float* Sr = S + ir * ldS;
        float* dSr = dS + ir * ldS;
        for (int64_t jr = 0; jr < ks; jr += NR) {
          ukernel(D, Qa + ir * D, Kp + jr * D, Sr + jr, ldS, a.scale, 0.0f);
          ukernel(D, dOa + ir * D, Vt + jr * D, dSr + jr, ldS, 1.0f, 0.0f);
        }
        // P = exp(S - lse), dS = scale P (dP - rowsum(dO o O)); zero where invisible
        for (int64_t r = 0; r < mr; r++) {
          const int64_t t = t0 + ir + r;
          const float l = lseRow[t];
          const int64_t lim = l == -INFINITY ? 0 : row_limit(a, t);
          float* p = Sr + r * ldS;
          float* ds = dSr + r * ldS;
          const VF vl = vset(l), c = vset(dot(dob + t * ldq, ob + t * ldq, D)), sc = vset(a.scale);
          int64_t s = 0;
          for (; s + W <= lim; s += W) {
            const VF pv = vexp(vload(p + s) - vl);
            vstore(p + s, pv);
            vstore(ds + s, pv * (vload(ds + s) - c) * sc);
          }
          if (s < lim) {
            const int64_t n = lim - s;
            const VF pv = vexp(vloadn(p + s, n) - vl);
            vstoren(p + s, pv, n);
            vstoren(ds + s, pv * (vloadn(ds + s, n) - c) * sc, n);
          }
          if (mask)
            for (s = 0; s < lim; s++)
              if (mask[s] == 0) p[s] = ds[s] = 0.0f;
          zero_row(p + lim, kb_n - lim);
          zero_row(ds + lim, kb_n - lim);
        }
        // dQ[strip] += dS[strip] K
        if (ks > 0) {
          pack_a(false, dSr, ldS, mr, ks, Pa);
          float* dq = dqb + (t0 + ir) * ldq;
          for (int64_t dp = 0; dp < D; dp += NR) tile(ks, Pa, Kn + dp * nk, dq + dp, ldq, mr, imin(NR, D - dp), 1.0f, 1.0f);
        }
      }
      // dV += P^T dO, dK += dS^T Q over the block's keys; key s is seen from query s - off on
      pack_a(true, S, ldS, kb_n, mb, Pt);
      pack_a(true, dS, ldS, kb_n, mb, dSt);
      pack_b(false, dob + t0 * ldq, ldq, mb, D, dOb);
      pack_b(false, qb + t0 * ldq, ldq, mb, D, Qb);
      for (int64_t i0 = 0; i0 < kb_n; i0 += MR) {
        const int64_t mr = imin(MR, kb_n - i0);
        const int64_t k0 = imin(imax(i0 - off - t0, 0), mb);
        if (k0 >= mb) continue;
        const float* pt = Pt + i0 * mb + k0 * MR;
        const float* dst = dSt + i0 * mb + k0 * MR;
        for (int64_t dp = 0; dp < D; dp += NR) {
          const int64_t nr = imin(NR, D - dp);
          tile(mb - k0, pt, dOb + dp * mb + k0 * NR, dvb + i0 * ldk + dp, ldk, mr, nr, 1.0f, 1.0f);
          tile(mb - k0, dst, Qb + dp * mb + k0 * NR, dkb + i0 * ldk + dp, ldk, mr, nr, 1.0f, 1.0f);
        }
      }
    }
  }
}

static void attentionBackward(const AttnArgs& a) {
  if (a.B <= 0 || a.H <= 0 || a.Tq <= 0) return;
  for_tasks(a.B * a.Hkv, (a.H / a.Hkv) * a.Tq * a.kvLen * a.D, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0; i < b1; i++) attn_bwd_group(a, i / a.Hkv, i % a.Hkv);
  });
}

}  // namespace GVM_NS
}  // namespace gvm
