/** The tensor layer's public surface. */
export { Tensor, type GradNode, type GradSink, shapeStr, sizeOf } from "./tensor.js";
export { runtime, noGrad, tidy, Runtime, BufferPool, sizeClass, PerSampleGrads, TensorError } from "./runtime.js";
export { tensor, scalar, full, zeros, ones, randn, uniform, type TensorOptions } from "./create.js";
export * from "./ops/elementwise.js";
export * from "./ops/reduce.js";
export * from "./ops/linalg.js";
export * from "./ops/nn.js";
export * from "./ops/shape.js";
export * from "./ops/softmax.js";
export * from "./optim/adamw.js";
