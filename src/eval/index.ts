/** Evaluation: benchmarks, prompt templates, graders, the resumable harness and its tables. */
export * from "./metrics.js";
export * from "./benchmarks.js";
export * from "./prompt.js";
export * from "./grade.js";
export * from "./harness.js";
export * from "./summary.js";
export * from "./store.js";
export * from "./suite.js";
export * from "./config.js";
