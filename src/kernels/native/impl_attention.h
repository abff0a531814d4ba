// Causal grouped-query attention, forward and backward, written once over the
// VF type of the including ISA.
//
// Prefill / training: per (batch, head) and block of QB queries, the scores
// S = scale Q K^T, the softmax, and O = P V go through the serial GEMM of
// this file (the register-blocked microkernel does the FLOPs); only keys up
// to the block's last visible position are computed. Backward recomputes P
// from the saved log-sum-exp and runs four GEMMs per block; it is threaded
// over (batch, kv head) so the dk / dv rows each task accumulates are its own.
// Decode (Tq < 4): per query row, dot products against the cache, a softmax
// and a weighted sum of values, threaded over (batch, head).
#pragma once
#include <math.h>
#include <stdint.h>

#include "impl_common.h"
#include "table.h"

namespace gvm {
namespace GVM_NS {

constexpr int64_t QB = 8 * MR;

// Turns raw scaled scores S (mb x nk, query rows t0..) into probabilities in
// place, writing each row's log-sum-exp. Invisible keys get probability 0.
static void softmax_block(const AttnArgs& a, int64_t b, int64_t t0, int64_t mb, int64_t nk, float* S, float* lseRow) {
  const uint8_t* mask = a.keyMask ? a.keyMask + b * a.Tk : nullptr;
  const int64_t off = a.kvLen - a.Tq;
  for (int64_t r = 0; r < mb; r++) {
    float* row = S + r * nk;
    const int64_t limit = imax(0, imin(off + t0 + r + 1, nk));
    for (int64_t s = limit; s < nk; s++) row[s] = -INFINITY;
    if (mask)
      for (int64_t s = 0; s < limit; s++)
        if (mask[s] == 0) row[s] = -INFINITY;
    const float m = limit > 0 ? row_max(row, limit) : -INFINITY;
    if (m == -INFINITY) {
      for (int64_t s = 0; s < nk; s++) row[s] = 0.0f;
      if (lseRow) lseRow[t0 + r] = -INFINITY;
      continue;
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
    for (s = limit; s < nk; s++) row[s] = 0.0f;
    const float sum = hsum(acc);
    const VF inv = vset(1.0f / sum);
    s = 0;
    for (; s + W <= limit; s += W) vstore(row + s, vload(row + s) * inv);
    if (s < limit) vstoren(row + s, vloadn(row + s, limit - s) * inv, limit - s);
    if (lseRow) lseRow[t0 + r] = m + static_cast<float>(log(static_cast<double>(sum)));
  }
}

// Keys a query block can see: those before its last query's position and kvLen.
static inline int64_t block_keys(const AttnArgs& a, int64_t t0, int64_t mb) {
  return imax(0, imin(a.kvLen - a.Tq + t0 + mb, a.kvLen));
}

static void attn_fwd_gemm(const AttnArgs& a, int64_t b, int64_t h) {
  const int64_t g = h / (a.H / a.Hkv);
  const int64_t ldq = a.H * a.D, ldk = a.Hkv * a.D;
  const float* qb = a.q + b * a.Tq * ldq + h * a.D;
  const float* kb = a.k + b * a.Tk * ldk + g * a.D;
  const float* vb = a.v + b * a.Tk * ldk + g * a.D;
  float* ob = a.out + b * a.Tq * ldq + h * a.D;
  float* lseRow = a.lse ? a.lse + (b * a.H + h) * a.Tq : nullptr;
  for (int64_t t0 = 0; t0 < a.Tq; t0 += QB) {
    const int64_t mb = imin(QB, a.Tq - t0);
    const int64_t nk = block_keys(a, t0, mb);
    if (nk == 0) {
      for (int64_t r = 0; r < mb; r++) {
        for (int64_t d = 0; d < a.D; d++) ob[(t0 + r) * ldq + d] = 0.0f;
        if (lseRow) lseRow[t0 + r] = -INFINITY;
      }
      continue;
    }
    float* S = scratch(2, static_cast<size_t>(mb * nk));
    gemm_serial(false, true, mb, nk, a.D, a.scale, qb + t0 * ldq, ldq, kb, ldk, 0.0f, S, nk);
    softmax_block(a, b, t0, mb, nk, S, lseRow);
    gemm_serial(false, false, mb, a.D, nk, 1.0f, S, nk, vb, ldk, 0.0f, ob + t0 * ldq, ldq);
  }
}

static float dot(const float* x, const float* y, int64_t n) {
  VF a0 = vzero(), a1 = vzero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    a0 = vfma(vload(x + i), vload(y + i), a0);
    a1 = vfma(vload(x + i + W), vload(y + i + W), a1);
  }
  for (; i + W <= n; i += W) a0 = vfma(vload(x + i), vload(y + i), a0);
  if (i < n) a1 = vfma(vloadn(x + i, n - i), vloadn(y + i, n - i), a1);
  return hsum(a0 + a1);
}

// One query row against the cache: the decode path.
static void attn_fwd_row(const AttnArgs& a, int64_t b, int64_t h, int64_t t) {
  const int64_t g = h / (a.H / a.Hkv);
  const int64_t ldq = a.H * a.D, ldk = a.Hkv * a.D, D = a.D;
  const float* qr = a.q + (b * a.Tq + t) * ldq + h * D;
  const float* kb = a.k + b * a.Tk * ldk + g * D;
  const float* vb = a.v + b * a.Tk * ldk + g * D;
  float* o = a.out + (b * a.Tq + t) * ldq + h * D;
  float* lse = a.lse ? a.lse + (b * a.H + h) * a.Tq + t : nullptr;
  const uint8_t* mask = a.keyMask ? a.keyMask + b * a.Tk : nullptr;
  const int64_t limit = imax(0, imin(a.kvLen - a.Tq + t + 1, a.kvLen));
  float* sc = scratch(2, static_cast<size_t>(limit > 0 ? limit : 1));
  float m = -INFINITY;
  for (int64_t s = 0; s < limit; s++) {
    if (mask && mask[s] == 0) {
      sc[s] = -INFINITY;
      continue;
    }
    sc[s] = dot(qr, kb + s * ldk, D) * a.scale;
    if (sc[s] > m) m = sc[s];
  }
  for (int64_t d = 0; d < D; d++) o[d] = 0.0f;
  if (m == -INFINITY) {
    if (lse) *lse = -INFINITY;
    return;
  }
  float sum = 0.0f;
  for (int64_t s = 0; s < limit; s++) {
    if (sc[s] == -INFINITY) continue;
    const float p = expf(sc[s] - m);
    sum += p;
    const float* vr = vb + s * ldk;
    const VF vp = vset(p);
    int64_t d = 0;
    for (; d + W <= D; d += W) vstore(o + d, vfma(vp, vload(vr + d), vload(o + d)));
    if (d < D) vstoren(o + d, vfma(vp, vloadn(vr + d, D - d), vloadn(o + d, D - d)), D - d);
  }
  const VF inv = vset(1.0f / sum);
  int64_t d = 0;
  for (; d + W <= D; d += W) vstore(o + d, vload(o + d) * inv);
  if (d < D) vstoren(o + d, vloadn(o + d, D - d) * inv, D - d);
  if (lse) *lse = m + static_cast<float>(log(static_cast<double>(sum)));
}

static void attentionForward(const AttnArgs& a) {
  if (a.B <= 0 || a.H <= 0 || a.Tq <= 0) return;
  const int64_t tasks = a.B * a.H;
  if (a.Tq < 4) {
    for_tasks(tasks, a.Tq * a.kvLen * a.D, [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; i++)
        for (int64_t t = 0; t < a.Tq; t++) attn_fwd_row(a, i / a.H, i % a.H, t);
    });
    return;
  }
  for_tasks(tasks, a.Tq * a.kvLen * a.D, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0; i < b1; i++) attn_fwd_gemm(a, i / a.H, i % a.H);
  });
}

// P = exp(S - lse) for visible keys, 0 elsewhere, in place over raw scaled scores.
static void probs_block(const AttnArgs& a, int64_t b, int64_t t0, int64_t mb, int64_t nk, float* S, const float* lseRow) {
  const uint8_t* mask = a.keyMask ? a.keyMask + b * a.Tk : nullptr;
  const int64_t off = a.kvLen - a.Tq;
  for (int64_t r = 0; r < mb; r++) {
    float* row = S + r * nk;
    const float l = lseRow[t0 + r];
    const int64_t limit = l == -INFINITY ? 0 : imax(0, imin(off + t0 + r + 1, nk));
    const VF vl = vset(l);
    int64_t s = 0;
    for (; s + W <= limit; s += W) vstore(row + s, vexp(vload(row + s) - vl));
    if (s < limit) vstoren(row + s, vexp(vloadn(row + s, limit - s) - vl), limit - s);
    for (s = limit; s < nk; s++) row[s] = 0.0f;
    if (mask)
      for (s = 0; s < limit; s++)
        if (mask[s] == 0) row[s] = 0.0f;
  }
}

static void attn_bwd_group(const AttnArgs& a, int64_t b, int64_t g) {
  const int64_t group = a.H / a.Hkv;
  const int64_t ldq = a.H * a.D, ldk = a.Hkv * a.D, D = a.D;
  const float* kb = a.k + b * a.Tk * ldk + g * D;
  const float* vb = a.v + b * a.Tk * ldk + g * D;
  float* dkb = a.dk + b * a.Tk * ldk + g * D;
  float* dvb = a.dv + b * a.Tk * ldk + g * D;
  for (int64_t h = g * group; h < (g + 1) * group; h++) {
    const float* qb = a.q + b * a.Tq * ldq + h * D;
    const float* ob = a.out + b * a.Tq * ldq + h * D;
    const float* dob = a.dout + b * a.Tq * ldq + h * D;
    float* dqb = a.dq + b * a.Tq * ldq + h * D;
    const float* lseRow = a.lse + (b * a.H + h) * a.Tq;
    for (int64_t t0 = 0; t0 < a.Tq; t0 += QB) {
      const int64_t mb = imin(QB, a.Tq - t0);
      const int64_t nk = block_keys(a, t0, mb);
      if (nk == 0) continue;
      float* P = scratch(2, static_cast<size_t>(mb * nk));
      float* dS = scratch(3, static_cast<size_t>(mb * nk));
      const float* q0 = qb + t0 * ldq;
      const float* do0 = dob + t0 * ldq;
      gemm_serial(false, true, mb, nk, D, a.scale, q0, ldq, kb, ldk, 0.0f, P, nk);
      probs_block(a, b, t0, mb, nk, P, lseRow);
      // dV += P^T dO;  dP = dO V^T
      gemm_serial(true, false, nk, D, mb, 1.0f, P, nk, do0, ldq, 1.0f, dvb, ldk);
      gemm_serial(false, true, mb, nk, D, 1.0f, do0, ldq, vb, ldk, 0.0f, dS, nk);
      // dS = scale P (dP - rowsum(dO o O))
      for (int64_t r = 0; r < mb; r++) {
        const VF c = vset(dot(do0 + r * ldq, ob + (t0 + r) * ldq, D));
        const VF sc = vset(a.scale);
        float* ds = dS + r * nk;
        const float* p = P + r * nk;
        int64_t s = 0;
        for (; s + W <= nk; s += W) vstore(ds + s, vload(p + s) * (vload(ds + s) - c) * sc);
        if (s < nk) vstoren(ds + s, vloadn(p + s, nk - s) * (vloadn(ds + s, nk - s) - c) * sc, nk - s);
      }
      // dQ += dS K;  dK += dS^T Q
      gemm_serial(false, false, mb, D, nk, 1.0f, dS, nk, kb, ldk, 1.0f, dqb + t0 * ldq, ldq);
      gemm_serial(true, false, nk, D, mb, 1.0f, dS, nk, q0, ldq, 1.0f, dkb, ldk);
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
