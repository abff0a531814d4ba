/** Sample allocation: strategies, their options, the online estimator, the round planners. */
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
export * from "./rounds.js";
export { DAPO_PLANNER, dapoGenPrompts, dapoGroupSize, dapoKeepsGroup, planDapo, selectDapo } from "./dapo.js";
export { balancedDownsample, fallbackDownsample, planReinforceAda, REINFORCE_ADA_PLANNER, reinforceAdaResolved, selectReinforceAda } from "./reinforce-ada.js";
export { allocateWeighted, checkCaps, inclusiveOptions, spreadEvenly, uniformCounts } from "./pipeline.js";
export * from "./strategies.js";
