/**
 * The reference backend: plain TypeScript twins of every native kernel. It is
 * the oracle the native kernels are tested against and the fallback when the
 * addon cannot load.
 */
import type { Kernels } from "../types.js";
import { attentionBackward, attentionDecode, attentionForward } from "./attention.js";
import { attentionPrefixedBackward, attentionPrefixedForward } from "./attention-prefixed.js";
import { drawRows } from "./draw.js";
import { addBias, axpy, copyRows, gemm, scale, sumRows, sumSquares } from "./gemm.js";
import { embeddingBackward, embeddingForward, rmsnormBackward, rmsnormForward, rope, swigluBackward, swigluForward } from "./layers.js";
import { adamw } from "./optim.js";
import { entropy, logprobBackward, logprobForward, softmaxBackward, softmaxForward } from "./softmax.js";

export const referenceKernels: Kernels = {
  info: { backend: "reference", simd: "js", threads: 1 },
  gemm,
  axpy,
  scale,
  addBias,
  sumRows,
  copyRows,
  sumSquares,
  rmsnormForward,
  rmsnormBackward,
  rope,
  swigluForward,
  swigluBackward,
  attentionForward,
  attentionBackward,
  attentionPrefixedForward,
  attentionPrefixedBackward,
  attentionDecode,
  embeddingForward,
  embeddingBackward,
  logprobForward,
  logprobBackward,
  entropy,
  drawRows,
  softmaxForward,
  softmaxBackward,
  adamw,
};
