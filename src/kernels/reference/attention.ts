/**
 * Reference causal attention with grouped-query heads, a key padding mask and
 * a KV capacity (Tk) larger than the valid length (kvLen). One query row at a
 * time, scores in double: slow and obviously right.
 *
 * q, out: (B, Tq, H, D); k, v: (B, Tk, Hkv, D); lse: (B, H, Tq); keyMask: (B, Tk)
 */

function visible(s: number, qpos: number, kvLen: number, mask: Uint8Array | null, maskRow: number): boolean {
  return s <= qpos && s < kvLen && (mask === null || mask[maskRow + s] !== 0);
}

export function attentionForward(
  B: number,
  Tq: number,
  Tk: number,
  kvLen: number,
  H: number,
  Hkv: number,
  D: number,
  scale: number,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  keyMask: Uint8Array | null,
  out: Float32Array,
  lse: Float32Array | null,
): void {
  const group = H / Hkv;
  const scores = new Float64Array(Tk);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / group);
      for (let t = 0; t < Tq; t++) {
        const qpos = kvLen - Tq + t;
        const qo = ((b * Tq + t) * H + h) * D;
        let max = -Infinity;
        for (let s = 0; s < Tk; s++) {
          if (!visible(s, qpos, kvLen, keyMask, b * Tk)) continue;
          const ko = ((b * Tk + s) * Hkv + g) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += (q[qo + d] as number) * (k[ko + d] as number);
          scores[s] = dot * scale;
          if ((scores[s] as number) > max) max = scores[s] as number;
        }
        acc.fill(0);
        if (max === -Infinity) {
          for (let d = 0; d < D; d++) out[qo + d] = 0;
          if (lse) lse[(b * H + h) * Tq + t] = -Infinity;
          continue;
        }
        let sum = 0;
        for (let s = 0; s < Tk; s++) {
          if (!visible(s, qpos, kvLen, keyMask, b * Tk)) continue;
          const p = Math.exp((scores[s] as number) - max);
          sum += p;
          const vo = ((b * Tk + s) * Hkv + g) * D;
          for (let d = 0; d < D; d++) acc[d] = (acc[d] as number) + p * (v[vo + d] as number);
        }
        for (let d = 0; d < D; d++) out[qo + d] = (acc[d] as number) / sum;
        if (lse) lse[(b * H + h) * Tq + t] = max + Math.log(sum);
      }
    }
  }
}

/**
 * Decode against a shared prompt: row b's keys are prompt group[b]'s P rows,
 * then its own first kvLen rows, in that order (see Kernels.attentionDecode).
 * prefixK, prefixV: (G, P, Hkv, D); k, v: (B, Tk, Hkv, D); q, out: (B, H, D).
 */
export function attentionDecode(
  B: number,
  H: number,
  Hkv: number,
  D: number,
  scale: number,
  P: number,
  _G: number,
  Tk: number,
  kvLen: number,
  q: Float32Array,
  prefixK: Float32Array,
  prefixV: Float32Array,
  prefixMask: Uint8Array | null,
  group: Int32Array,
  k: Float32Array,
  v: Float32Array,
  keyMask: Uint8Array | null,
  out: Float32Array,
): void {
  const kvDim = Hkv * D;
  const n = P + kvLen;
  const scores = new Float64Array(n);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    const g = group[b] as number;
    // key s < P is the prompt's row s, after it the row's own s - P
    const real = (s: number) => (s < P ? prefixMask === null || prefixMask[g * P + s] !== 0 : keyMask === null || keyMask[b * Tk + s - P] !== 0);
    for (let h = 0; h < H; h++) {
      const off = Math.floor(h / (H / Hkv)) * D;
      const qo = (b * H + h) * D;
      const rowAt = (s: number) => (s < P ? (g * P + s) * kvDim : (b * Tk + s - P) * kvDim) + off;
      let max = -Infinity;
      for (let s = 0; s < n; s++) {
        if (!real(s)) continue;
        const K = s < P ? prefixK : k;
        const o = rowAt(s);
        let dot = 0;
        for (let d = 0; d < D; d++) dot += (q[qo + d] as number) * (K[o + d] as number);
        scores[s] = dot * scale;
        if ((scores[s] as number) > max) max = scores[s] as number;
      }
      acc.fill(0);
      if (max === -Infinity) {
        for (let d = 0; d < D; d++) out[qo + d] = 0;
        continue;
      }
      let sum = 0;
      for (let s = 0; s < n; s++) {
        if (!real(s)) continue;
        const Vs = s < P ? prefixV : v;
        const o = rowAt(s);
        const p = Math.exp((scores[s] as number) - max);
        sum += p;
        for (let d = 0; d < D; d++) acc[d] = (acc[d] as number) + p * (Vs[o + d] as number);
      }
      for (let d = 0; d < D; d++) out[qo + d] = (acc[d] as number) / sum;
    }
  }
}

// P_s = exp(scale q.k_s - lse); dv_s += P_s do; ds_s = P_s (do.v_s - do.o);
// dq += scale sum_s ds_s k_s; dk_s += scale ds_s q
export function attentionBackward(
  B: number,
  Tq: number,
  Tk: number,
  kvLen: number,
  H: number,
  Hkv: number,
  D: number,
  scale: number,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  keyMask: Uint8Array | null,
  out: Float32Array,
  lse: Float32Array,
  dout: Float32Array,
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
): void {
  const group = H / Hkv;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / group);
      for (let t = 0; t < Tq; t++) {
        const l = lse[(b * H + h) * Tq + t] as number;
        if (l === -Infinity) continue;
        const qpos = kvLen - Tq + t;
        const qo = ((b * Tq + t) * H + h) * D;
        let dOdotO = 0;
        for (let d = 0; d < D; d++) dOdotO += (dout[qo + d] as number) * (out[qo + d] as number);
        for (let s = 0; s < Tk; s++) {
          if (!visible(s, qpos, kvLen, keyMask, b * Tk)) continue;
          const ko = ((b * Tk + s) * Hkv + g) * D;
          let dot = 0;
          let dOdotV = 0;
          for (let d = 0; d < D; d++) {
            dot += (q[qo + d] as number) * (k[ko + d] as number);
            dOdotV += (dout[qo + d] as number) * (v[ko + d] as number);
          }
          const p = Math.exp(dot * scale - l);
          const ds = p * (dOdotV - dOdotO) * scale;
          for (let d = 0; d < D; d++) {
            dv[ko + d] = (dv[ko + d] as number) + p * (dout[qo + d] as number);
            dq[qo + d] = (dq[qo + d] as number) + ds * (k[ko + d] as number);
            dk[ko + d] = (dk[ko + d] as number) + ds * (q[qo + d] as number);
          }
        }
      }
    }
  }
}
