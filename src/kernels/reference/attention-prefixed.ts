/**
 * Reference attention over continuations that share a prompt (see
 * Kernels.attentionPrefixedForward): each continuation's whole sequence,
 * prompt rows then its own, is copied out into a plain (B, P + S) batch and
 * run through the reference attention; a prompt row's output comes from its
 * first reader, and its gradient gathers every reader's.
 *
 * Packed rows: prompt g's row t at g * P + t, continuation b's row t at
 * G * P + b * S + t. q, out: (R, H, D); k, v: (R, Hkv, D); keyMask: (R).
 */
import { attentionBackward, attentionForward } from "./attention.js";

interface Layout {
  G: number;
  P: number;
  B: number;
  S: number;
  group: Int32Array;
}

// Packed row of position t (0 <= t < P + S) of continuation b's sequence.
function packedRow(l: Layout, b: number, t: number): number {
  return t < l.P ? (l.group[b] as number) * l.P + t : l.G * l.P + b * l.S + (t - l.P);
}

// src: (R, width) -> (B, P + S, width), each continuation's sequence.
function gather(l: Layout, src: Float32Array, width: number): Float32Array {
  const T = l.P + l.S;
  const dst = new Float32Array(l.B * T * width);
  for (let b = 0; b < l.B; b++)
    for (let t = 0; t < T; t++) dst.set(src.subarray(packedRow(l, b, t) * width, (packedRow(l, b, t) + 1) * width), (b * T + t) * width);
  return dst;
}

// keyMask: (R) -> (B, P + S), each continuation's sequence.
function gatherMask(l: Layout, keyMask: Uint8Array): Uint8Array {
  const T = l.P + l.S;
  return Uint8Array.from({ length: l.B * T }, (_, i) => keyMask[packedRow(l, Math.floor(i / T), i % T)] as number);
}

// First continuation reading each prompt.
function firstReaders(l: Layout): Int32Array {
  const first = new Int32Array(l.G).fill(-1);
  for (let b = l.B - 1; b >= 0; b--) first[l.group[b] as number] = b;
  return first;
}

export function attentionPrefixedForward(
  G: number,
  P: number,
  B: number,
  S: number,
  H: number,
  Hkv: number,
  D: number,
  scale: number,
  group: Int32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  keyMask: Uint8Array | null,
  out: Float32Array,
  lse: Float32Array | null,
): void {
  const l = { G, P, B, S, group };
  const T = P + S;
  const mask = keyMask && gatherMask(l, keyMask);
  const full = new Float32Array(B * T * H * D);
  attentionForward(B, T, T, T, H, Hkv, D, scale, gather(l, q, H * D), gather(l, k, Hkv * D), gather(l, v, Hkv * D), mask, full, lse);
  const first = firstReaders(l);
  for (let b = 0; b < B; b++)
    for (let t = first[group[b] as number] === b ? 0 : P; t < T; t++) out.set(full.subarray((b * T + t) * H * D, (b * T + t + 1) * H * D), packedRow(l, b, t) * H * D);
}

export function attentionPrefixedBackward(
  G: number,
  P: number,
  B: number,
  S: number,
  H: number,
  Hkv: number,
  D: number,
  scale: number,
  group: Int32Array,
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
  const l = { G, P, B, S, group };
  const T = P + S;
  const mask = keyMask && gatherMask(l, keyMask);
  // A prompt row's output is read once, so only its first reader sends its gradient back.
  const first = firstReaders(l);
  const dOut = gather(l, dout, H * D);
  for (let b = 0; b < B; b++) if (first[group[b] as number] !== b) dOut.fill(0, b * T * H * D, (b * T + P) * H * D);
  const dQ = new Float32Array(B * T * H * D);
  const dK = new Float32Array(B * T * Hkv * D);
  const dV = new Float32Array(B * T * Hkv * D);
  attentionBackward(B, T, T, T, H, Hkv, D, scale, gather(l, q, H * D), gather(l, k, Hkv * D), gather(l, v, Hkv * D), mask, gather(l, out, H * D), lse, dOut, dQ, dK, dV);
  const scatter = (src: Float32Array, dst: Float32Array, width: number) => {
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const r = packedRow(l, b, t);
        for (let i = 0; i < width; i++) dst[r * width + i] = (dst[r * width + i] as number) + (src[(b * T + t) * width + i] as number);
      }
  };
  scatter(dQ, dq, H * D);
  scatter(dK, dk, Hkv * D);
  scatter(dV, dv, Hkv * D);
}
