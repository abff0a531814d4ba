/** Sample allocation: strategies, their options, the online estimator. */
export * from "./errors.js";
export * from "./options.js";
export * from "./types.js";
export * from "./weights.js";
export * from "./waterfill.js";
export * from "./rounding.js";
export * from "./online.js";
export { allocateKnapsack, greedyKnapsack, knapsackCost, knapsackLogGain, knapsackValue } from "./knapsack.js";
export { allocateGreso, GRESO_STREAM, gresoKeepProbability } from "./greso.js";
export { validateInput, type InputField } from "./input.js";
export { allocateWeighted, checkCaps, spreadEvenly, uniformCounts } from "./pipeline.js";
export * from "./strategies.js";
