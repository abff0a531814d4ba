// Training attention over continuations that share a prompt (AttnPrefixedArgs),
// on the single-sequence prefill routines of impl_attention.h: a task copies
// one continuation's sequence (its prompt's rows, then its own) out of the
// packed rows into contiguous scratch, runs attn_fwd_head / attn_bwd_group on
// it as a batch of one, and puts the rows back. The copies are small (P + S
// rows of one head) and leave the sequence in L1 for the packing that follows.
// Forward is threaded over (continuation, head); a prompt's output rows are
// written by its first reader only. Backward is threaded over (prompt, kv
// head) and walks the prompt's readers in order, so the prompt rows' dK / dV
// sums are a task's own and come out bit for bit the same on any thread count.
#pragma once
#include <stdint.h>
#include <string.h>

#include "impl_attention.h"
#include "impl_common.h"
#include "table.h"

namespace gvm {
namespace GVM_NS {

// Packed row of position t of continuation b's sequence.
static inline int64_t packed_row(const AttnPrefixedArgs& a, int64_t b, int64_t t) {
  return t < a.P ? a.group[b] * a.P + t : a.G * a.P + b * a.S + (t - a.P);
}

// dst: (P + S, width) <- columns [col, col + width) of continuation b's rows of src (row stride ld).
// Rows are a head's few floats, so the copy is inlined rather than a memcpy call per row.
static void gather_sequence(const AttnPrefixedArgs& a, int64_t b, const float* src, int64_t ld, int64_t col, int64_t width, float* dst) {
  const int64_t T = a.P + a.S;
  for (int64_t t = 0; t < T; t++) {
    const float* s = src + packed_row(a, b, t) * ld + col;
    float* d = dst + t * width;
    int64_t i = 0;
    for (; i + W <= width; i += W) vstore(d + i, vload(s + i));
    if (i < width) vstoren(d + i, vloadn(s + i, width - i), width - i);
  }
}

// Columns [col, col + width) of continuation b's rows of dst (row stride ld) += src: (P + S, width).
static void add_sequence(const AttnPrefixedArgs& a, int64_t b, const float* src, float* dst, int64_t ld, int64_t col, int64_t width) {
  const int64_t T = a.P + a.S;
  for (int64_t t = 0; t < T; t++) {
    float* d = dst + packed_row(a, b, t) * ld + col;
    const float* s = src + t * width;
    int64_t i = 0;
    for (; i + W <= width; i += W) vstore(d + i, vload(d + i) + vload(s + i));
    if (i < width) vstoren(d + i, vloadn(d + i, width - i) + vloadn(s + i, width - i), width - i);
  }
}

// The key mask of continuation b's sequence, or null when every key is real.
static const uint8_t* sequence_mask(const AttnPrefixedArgs& a, int64_t b, uint8_t* dst) {
  if (!a.keyMask) return nullptr;
  const int64_t T = a.P + a.S;
  for (int64_t t = 0; t < T; t++) dst[t] = a.keyMask[packed_row(a, b, t)];
  return dst;
}

static void attentionPrefixedForward(const AttnPrefixedArgs& a) {
  const int64_t T = a.P + a.S, D = a.D;
  if (a.B <= 0 || a.H <= 0 || T <= 0) return;
  const int64_t group = a.H / a.Hkv, ldq = a.H * D, ldk = a.Hkv * D;
  for_tasks(a.B * a.H, T * T * D, [&](int64_t i0, int64_t i1) {
    Arena ar{scratch(5, static_cast<size_t>(4 * T * D + T + 64))};
    float* Qs = ar.take(T * D);
    float* Ks = ar.take(T * D);
    float* Vs = ar.take(T * D);
    float* Os = ar.take(T * D);
    uint8_t* ms = reinterpret_cast<uint8_t*>(ar.take(ceil_div(T, 4)));
    for (int64_t i = i0; i < i1; i++) {
      const int64_t b = i / a.H, h = i % a.H, g = h / group;
      if (i == i0 || h % group == 0) {
        gather_sequence(a, b, a.k, ldk, g * D, D, Ks);
        gather_sequence(a, b, a.v, ldk, g * D, D, Vs);
      }
      gather_sequence(a, b, a.q, ldq, h * D, D, Qs);
      const AttnArgs s{1, T, T, T, 1, 1, D, a.scale, Qs, Ks, Vs, sequence_mask(a, b, ms), Os, a.lse ? a.lse + (b * a.H + h) * T : nullptr,
                       nullptr, nullptr, nullptr, nullptr};
      attn_fwd_head(s, 0, 0);
      // Every reader computes the prompt's rows alike; the first one keeps them.
      const bool first = a.order[a.start[a.group[b]]] == b;
      for (int64_t t = first ? 0 : a.P; t < T; t++)
        memcpy(a.out + packed_row(a, b, t) * ldq + h * D, Os + t * D, static_cast<size_t>(D) * sizeof(float));
    }
  });
}

static void attentionPrefixedBackward(const AttnPrefixedArgs& a) {
  const int64_t T = a.P + a.S, D = a.D;
  if (a.B <= 0 || a.H <= 0 || T <= 0) return;
  const int64_t group = a.H / a.Hkv, ldq = a.H * D, ldk = a.Hkv * D, gD = group * D;
  for_tasks(a.G * a.Hkv, (a.B / imax(a.G, 1)) * group * T * T * D, [&](int64_t i0, int64_t i1) {
    Arena ar{scratch(5, static_cast<size_t>(4 * T * D + 4 * T * gD + T + 128))};
    float* Ks = ar.take(T * D);
    float* Vs = ar.take(T * D);
    float* dKs = ar.take(T * D);
    float* dVs = ar.take(T * D);
    float* Qs = ar.take(T * gD);
    float* Os = ar.take(T * gD);
    float* dOs = ar.take(T * gD);
    float* dQs = ar.take(T * gD);
    uint8_t* ms = reinterpret_cast<uint8_t*>(ar.take(ceil_div(T, 4)));
    for (int64_t i = i0; i < i1; i++) {
      const int64_t p = i / a.Hkv, g = i % a.Hkv;
      for (int64_t r = a.start[p]; r < a.start[p + 1]; r++) {
        const int64_t b = a.order[r];
        gather_sequence(a, b, a.k, ldk, g * D, D, Ks);
        gather_sequence(a, b, a.v, ldk, g * D, D, Vs);
        gather_sequence(a, b, a.q, ldq, g * gD, gD, Qs);
        gather_sequence(a, b, a.out, ldq, g * gD, gD, Os);
        gather_sequence(a, b, a.dout, ldq, g * gD, gD, dOs);
        // The prompt's output rows were read once, through the first reader.
        if (r != a.start[p]) memset(dOs, 0, static_cast<size_t>(a.P * gD) * sizeof(float));
        memset(dQs, 0, static_cast<size_t>(T * gD) * sizeof(float));
        memset(dKs, 0, static_cast<size_t>(T * D) * sizeof(float));
        memset(dVs, 0, static_cast<size_t>(T * D) * sizeof(float));
        const AttnArgs s{1, T, T, T, group, 1, D, a.scale, Qs, Ks, Vs, sequence_mask(a, b, ms), Os, a.lse + (b * a.H + g * group) * T,
                         dOs, dQs, dKs, dVs};
        attn_bwd_group(s, 0, 0);
        add_sequence(a, b, dQs, a.dq, ldq, g * gD, gD);
        add_sequence(a, b, dKs, a.dk, ldk, g * D, D);
        add_sequence(a, b, dVs, a.dv, ldk, g * D, D);
      }
    }
  });
}

}  // namespace GVM_NS
}  // namespace gvm
